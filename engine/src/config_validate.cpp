// Checks that relate configuration items to each other: duplicates, timings, dependencies and
// dependency cycles. Each value was already checked on its own by the parser.
#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "config_sources.hpp"
#include "hamon/engine/config_limits.hpp"
#include "hamon/engine/duration.hpp"
#include "hamon/engine/names.hpp"

namespace hamon::engine::internal {
namespace {

// The first item before items[i] with the same `field`, if any.
template <class T, class Field>
std::optional<std::size_t> earlier(const std::vector<T>& items, std::size_t i, Field T::*field) {
  for (std::size_t j = 0; j < i; ++j) {
    if (items[j].*field == items[i].*field) return j;
  }
  return std::nullopt;
}

class Validator {
 public:
  Validator(const Config& config, const ConfigSources& sources, std::vector<ConfigError>& errors)
      : config_(config), sources_(sources), errors_(errors) {}

  void run() {
    check_nodes();
    check_cluster_timing();
    check_tenants();
    check_processes();
    check_capacity();
    check_dependencies();
    check_cycles();
  }

 private:
  // A duration as one side of a timing rule, and where it came from.
  struct Timed {
    std::string_view key;
    std::chrono::nanoseconds value;
    std::optional<SourcePos> own;        // written in the table being checked
    std::optional<SourcePos> inherited;  // written in [defaults]
  };

  // An edge "from depends on to", and which depends_on entry wrote it.
  struct Edge {
    std::size_t to;
    std::size_t entry;
  };

  void error(SourcePos where, std::string_view message) {
    errors_.push_back({std::move(where), printable(message)});
  }

  static std::string origin(const Timed& t) {
    if (t.own) return "";
    return t.inherited ? ", from [defaults]" : ", the default";
  }

  // "owner: later (v) must be longer than earlier (v)", pointing at the more specific key.
  // Checked only where the table wrote one of the two: otherwise its [defaults] were checked.
  void check_order(std::string_view owner, const Timed& later, const Timed& earlier, bool strict) {
    if (!later.own && !earlier.own) return;
    const bool ok = strict ? later.value > earlier.value : later.value >= earlier.value;
    if (ok) return;
    const SourcePos& where = later.own ? *later.own : *earlier.own;
    error(where, std::string(owner) + ": " + std::string(later.key) + " (" +
                     format_duration(later.value) + origin(later) + ") must " +
                     (strict ? "be longer than " : "not be shorter than ") +
                     std::string(earlier.key) + " (" + format_duration(earlier.value) +
                     origin(earlier) + ")");
  }

  void check_settings(std::string_view owner, const ProcessSettings& settings,
                      const SettingsSources& own, const SettingsSources* inherited) {
    const auto timed = [&](std::string_view key, std::chrono::nanoseconds value,
                           std::optional<SourcePos> SettingsSources::*member) {
      return Timed{key, value, own.*member,
                   inherited != nullptr ? inherited->*member : std::nullopt};
    };
    check_order(owner, timed("timeout", settings.timeout, &SettingsSources::timeout),
                timed("interval", settings.interval, &SettingsSources::interval), true);
    check_order(
        owner,
        timed("restart_delay_max", settings.restart_delay_max, &SettingsSources::restart_delay_max),
        timed("restart_delay", settings.restart_delay, &SettingsSources::restart_delay), false);
  }

  void check_cluster_timing() {
    const ClusterConfig& c = config_.cluster;
    check_order(
        "[cluster]", Timed{"peer_timeout", c.peer_timeout, sources_.peer_timeout, std::nullopt},
        Timed{"peer_interval", c.peer_interval, sources_.peer_interval, std::nullopt}, true);
  }

  void check_nodes() {
    const auto& nodes = config_.cluster.nodes;
    // An address is one end of one link: two nodes cannot both listen on it, and a node's two
    // links on one address would be one link.
    std::unordered_map<std::string, std::size_t> owner;  // address -> first node that has it
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (i == max_nodes) {
        error(nodes[i].where, "node " + nodes[i].id +
                                  " is one node too many: a cluster is a "
                                  "duplex of at most " +
                                  std::to_string(max_nodes) +
                                  " nodes (each tenant active on one side, standby on the other)");
      }
      if (const auto j = earlier(nodes, i, &NodeConfig::id)) {
        error(sources_.nodes[i].id, "duplicate node id '" + nodes[i].id + "' (first on line " +
                                        std::to_string(sources_.nodes[*j].id.line) + ")");
      }
      for (std::size_t k = 0; k < nodes[i].addresses.size(); ++k) {
        const std::string address = nodes[i].addresses[k].to_string();
        const auto [it, inserted] = owner.emplace(address, i);
        if (!inserted) {
          error(sources_.nodes[i].addresses[k],
                "address " + address + " is already used by node " + nodes[it->second].id);
        }
      }
      // Link i of a node talks to link i of its peer: a link without a partner never opens.
      if (i > 0 && nodes[i].addresses.size() != nodes[0].addresses.size()) {
        error(sources_.nodes[i].address,
              "node " + nodes[i].id + " has " + count_links(nodes[i]) + ", node " + nodes[0].id +
                  " has " + std::to_string(nodes[0].addresses.size()) +
                  ": link i of a node pairs with link i of its peer, so every node needs the "
                  "same number");
      }
    }
  }

  static std::string count_links(const NodeConfig& node) {
    const std::size_t n = node.addresses.size();
    return std::to_string(n) + (n == 1 ? " peer-link address" : " peer-link addresses");
  }

  void check_tenants() {
    const auto& tenants = config_.tenants;
    for (std::size_t i = 0; i < tenants.size(); ++i) {
      if (const auto j = earlier(tenants, i, &TenantConfig::name)) {
        error(sources_.tenant_names[i], "duplicate tenant '" + tenants[i].name +
                                            "' (first on line " +
                                            std::to_string(sources_.tenant_names[*j].line) + ")");
      }
    }
  }

  void check_processes() {
    const auto& processes = config_.processes;
    if (processes.empty()) error(sources_.file_start, "no processes configured");

    check_settings("[defaults]", config_.defaults, sources_.defaults, nullptr);

    std::unordered_map<std::string, std::size_t> first;
    for (std::size_t i = 0; i < processes.size(); ++i) {
      const std::string qualified = processes[i].qualified();
      const auto [it, inserted] = first.emplace(qualified, i);
      if (inserted) {
        index_.emplace(qualified, i);
      } else {
        error(sources_.processes[i].name,
              "duplicate process '" + qualified + "' (first on line " +
                  std::to_string(sources_.processes[it->second].name.line) + ")");
      }
      check_settings(qualified, processes[i], sources_.processes[i].settings, &sources_.defaults);
      check_spares(processes[i], sources_.processes[i]);
    }
  }

  void check_spares(const ProcessConfig& p, const ProcessSources& where) {
    if (p.spares == 0 || !where.spares) return;
    // A member's name is NAME~N: it must fit the segments' 32-byte name fields.
    const std::size_t suffix = 1 + std::to_string(p.spares).size();
    if (p.name.size() + suffix > max_name_length) {
      error(*where.spares, p.qualified() + ": with spares its name must be at most " +
                               std::to_string(max_name_length - suffix) +
                               " characters (its instances are named " + p.name + "~1…)");
    }
    if (p.ready != Readiness::on_ready_call) {
      error(*where.spares, p.qualified() +
                               ": spares need ready = \"explicit\": an instance is ready when it "
                               "parks (hamon_park() / Heartbeat::park()), initialized");
    }
  }

  // What one node's shared-memory tables hold (config_limits.hpp). Beyond it `hamon up` could not
  // place a process or a group; one error, at the first item too many, for each table.
  void check_capacity() {
    const auto& processes = config_.processes;
    // A process with spares counts once per instance.
    std::size_t total = 0;
    for (std::size_t i = 0; i < processes.size(); ++i) {
      const std::size_t before = total;
      total += 1 + processes[i].spares;
      if (before > max_processes || total <= max_processes) continue;
      error(sources_.processes[i].name, processes[i].qualified() +
                                            " is one process too many: a node runs " +
                                            std::to_string(max_processes) + " processes at most");
    }
    std::unordered_map<std::string_view, std::size_t> members;  // group -> processes
    for (std::size_t i = 0; i < processes.size(); ++i) {
      std::size_t& n = members[processes[i].group];
      const std::size_t before = n;
      n += 1 + processes[i].spares;
      if (before > max_group_processes || n <= max_group_processes) continue;
      error(sources_.processes[i].name,
            processes[i].qualified() + " is one process too many for group " + processes[i].group +
                ": a group has " + std::to_string(max_group_processes) + " processes at most");
    }
    std::size_t groups = members.contains(system_group) ? 1 : 0;
    std::unordered_set<std::string_view> counted;
    for (std::size_t t = 0; t < config_.tenants.size(); ++t) {
      const std::string& name = config_.tenants[t].name;
      if (!members.contains(name) || !counted.insert(name).second || ++groups != max_groups + 1)
        continue;
      error(sources_.tenant_names[t],
            "tenant " + name + " is one group too many: a node has " + std::to_string(max_groups) +
                " groups (system and each tenant with processes) at most");
    }
  }

  // Builds edges_ from the dependencies that resolve and are allowed.
  void check_dependencies() {
    std::unordered_set<std::string_view> tenants;
    for (const TenantConfig& t : config_.tenants) tenants.insert(t.name);

    edges_.resize(config_.processes.size());
    for (std::size_t i = 0; i < config_.processes.size(); ++i) {
      const ProcessConfig& p = config_.processes[i];
      const std::string self = p.qualified();
      for (std::size_t e = 0; e < p.depends_on.size(); ++e) {
        const std::string& dep = p.depends_on[e];
        const SourcePos& where = sources_.processes[i].depends_on[e];
        const std::string_view group = std::string_view(dep).substr(0, dep.find('/'));
        const bool to_system = group == system_group;
        if (!to_system && !tenants.contains(group)) {
          error(where, self + " depends on '" + dep + "', but there is no tenant '" +
                           std::string(group) + "'");
        } else if (p.is_system() && !to_system) {
          error(where, "system process " + self + " may not depend on tenant process " + dep +
                           ": system processes run whatever the tenants' roles");
        } else if (!to_system && group != p.group) {
          error(where,
                self + " may not depend on " + dep +
                    ": a tenant's processes may depend only on its own and on system processes");
        } else if (const auto it = index_.find(dep); it == index_.end()) {
          error(where, self + " depends on unknown process '" + dep + "'");
        } else {
          edges_[i].push_back({it->second, e});
        }
      }
    }
  }

  // One error per strongly connected set of processes: its shortest cycle through the member
  // that comes first in the file. Fixing that may reveal another cycle in the same set, but a
  // dense knot is not reported as hundreds of overlapping cycles.
  void check_cycles() {
    for (const std::vector<std::size_t>& component : strongly_connected_components()) {
      const std::size_t start = *std::min_element(component.begin(), component.end());
      const bool self_loop = std::any_of(edges_[start].begin(), edges_[start].end(),
                                         [&](const Edge& e) { return e.to == start; });
      if (component.size() == 1 && !self_loop) continue;
      report_cycle(start, component);
    }
  }

  void report_cycle(std::size_t start, const std::vector<std::size_t>& component) {
    const std::size_t n = config_.processes.size();
    std::vector<bool> member(n, false);
    for (const std::size_t v : component) member[v] = true;

    // Breadth-first from start, back to start, inside the component.
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::vector<std::size_t> parent(n, none);
    std::vector<std::size_t> queue{start};
    std::size_t last = none;
    for (std::size_t head = 0; head < queue.size() && last == none; ++head) {
      const std::size_t u = queue[head];
      for (const Edge& edge : edges_[u]) {
        if (edge.to == start) {
          last = u;
          break;
        }
        if (member[edge.to] && parent[edge.to] == none && edge.to != start) {
          parent[edge.to] = u;
          queue.push_back(edge.to);
        }
      }
    }

    std::vector<std::size_t> path;  // last, ..., start's successor
    for (std::size_t v = last; v != start; v = parent[v]) path.push_back(v);
    std::reverse(path.begin(), path.end());

    std::string message = "dependency cycle: " + config_.processes[start].qualified();
    for (const std::size_t v : path) message += " -> " + config_.processes[v].qualified();
    message += " -> " + config_.processes[start].qualified();

    const std::size_t next = path.empty() ? start : path.front();
    const auto edge = std::find_if(edges_[start].begin(), edges_[start].end(),
                                   [&](const Edge& e) { return e.to == next; });
    error(sources_.processes[start].depends_on[edge->entry], std::move(message));
  }

  // Tarjan's algorithm, iterative so that a long dependency chain cannot exhaust the stack.
  std::vector<std::vector<std::size_t>> strongly_connected_components() const {
    const std::size_t n = edges_.size();
    constexpr std::size_t unvisited = static_cast<std::size_t>(-1);
    std::vector<std::size_t> index(n, unvisited);
    std::vector<std::size_t> low(n, 0);
    std::vector<bool> on_stack(n, false);
    std::vector<std::size_t> stack;
    std::vector<std::pair<std::size_t, std::size_t>> calls;  // vertex, next edge to follow
    std::vector<std::vector<std::size_t>> components;
    std::size_t counter = 0;

    const auto visit = [&](std::size_t v) {
      index[v] = low[v] = counter++;
      stack.push_back(v);
      on_stack[v] = true;
      calls.emplace_back(v, 0);
    };

    for (std::size_t root = 0; root < n; ++root) {
      if (index[root] != unvisited) continue;
      visit(root);
      while (!calls.empty()) {
        const std::size_t v = calls.back().first;
        const std::size_t k = calls.back().second;
        if (k < edges_[v].size()) {
          ++calls.back().second;
          const std::size_t w = edges_[v][k].to;
          if (index[w] == unvisited) {
            visit(w);
          } else if (on_stack[w]) {
            low[v] = std::min(low[v], index[w]);
          }
          continue;
        }
        if (low[v] == index[v]) {
          std::vector<std::size_t> component;
          std::size_t w = unvisited;
          do {
            w = stack.back();
            stack.pop_back();
            on_stack[w] = false;
            component.push_back(w);
          } while (w != v);
          components.push_back(std::move(component));
        }
        calls.pop_back();
        if (!calls.empty()) low[calls.back().first] = std::min(low[calls.back().first], low[v]);
      }
    }
    return components;
  }

  const Config& config_;
  const ConfigSources& sources_;
  std::vector<ConfigError>& errors_;
  std::unordered_map<std::string, std::size_t> index_;  // qualified name -> first process
  std::vector<std::vector<Edge>> edges_;                // per process, resolved dependencies
};

}  // namespace

void validate(const Config& config, const ConfigSources& sources,
              std::vector<ConfigError>& errors) {
  Validator(config, sources, errors).run();
}

}  // namespace hamon::engine::internal
