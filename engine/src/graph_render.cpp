#include <algorithm>
#include <string>

#include "hamon/engine/render.hpp"

namespace hamon::engine {
namespace {

std::string count(std::size_t n, std::string_view singular, std::string_view plural) {
  return std::to_string(n) + " " + std::string(n == 1 ? singular : plural);
}

// Names cannot contain quotes or backslashes, but a Config need not come from parse_config().
std::string escaped(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// A dot double-quoted string. Appended piece by piece: GCC 12 at -O3 reports a false
// -Wrestrict overlap for `"literal" + std::string&&` (its bug 105651).
std::string quoted(std::string_view text) {
  std::string out(1, '"');
  out += escaped(text);
  out += '"';
  return out;
}

}  // namespace

std::string render_summary(const Config& config) {
  return count(config.processes.size(), "process", "processes") + " in " +
         count(config.groups().size(), "group", "groups") + ", " +
         count(config.cluster.nodes.size(), "node", "nodes");
}

std::string render_plan_text(const Config& config, const Plan& plan) {
  std::size_t width = 0;
  for (const ProcessConfig& p : config.processes) width = std::max(width, p.qualified().size());

  std::string out = "start plan for cluster " + config.cluster.name + " (" +
                    count(plan.process_count(), "process", "processes") + ", " +
                    count(plan.waves.size(), "wave", "waves") + ")\n";
  for (std::size_t w = 0; w < plan.waves.size(); ++w) {
    out += "wave " + std::to_string(w + 1) + "\n";
    for (const std::size_t i : plan.waves[w]) {
      const ProcessConfig& p = config.processes[i];
      std::string line = "  " + p.qualified();
      line.resize(2 + width, ' ');
      std::string priority = "priority " + std::to_string(p.priority);
      priority.resize(std::string_view("priority 100").size(), ' ');
      line += "  " + priority + "  " + (p.critical ? "critical" : "        ");
      if (!p.depends_on.empty()) {
        line += "  after ";
        for (std::size_t d = 0; d < p.depends_on.size(); ++d)
          line += (d > 0 ? ", " : "") + p.depends_on[d];
      }
      line.erase(line.find_last_not_of(' ') + 1);
      out += line + "\n";
    }
  }
  return out;
}

std::string render_dot(const Config& config) {
  std::string out = "// Dependency graph of hamon cluster " + config.cluster.name +
                    ".\n"
                    "// An edge A -> B means B depends on A: A starts first, B stops first.\n"
                    "// A double border marks a critical process.\n"
                    "digraph " +
                    quoted(config.cluster.name) +
                    " {\n"
                    "  rankdir=LR;\n"
                    "  node [shape=box];\n";

  for (const std::string& group : config.groups()) {
    std::string label = group;
    if (const TenantConfig* tenant = config.find_tenant(group)) {
      label = "tenant " + group + " (" + std::string(to_string(tenant->standby)) + " standby)";
    }
    out += "  subgraph " + quoted("cluster_" + group) + " {\n";
    out += "    label=" + quoted(label) + ";\n";
    for (const ProcessConfig& p : config.processes) {
      if (p.group != group) continue;
      out += "    " + quoted(p.qualified()) + " [label=\"" + escaped(p.name) + "\\npriority " +
             std::to_string(p.priority) + "\"";
      out += p.critical ? ", peripheries=2];\n" : "];\n";
    }
    out += "  }\n";
  }

  for (const ProcessConfig& p : config.processes) {
    for (const std::string& dependency : p.depends_on) {
      out += "  " + quoted(dependency) + " -> " + quoted(p.qualified()) + ";\n";
    }
  }
  return out + "}\n";
}

}  // namespace hamon::engine
