#include "hamon/node/metrics.hpp"

#include <array>
#include <cstdio>
#include <sstream>

namespace hamon::node {
namespace {

constexpr std::array kProcessStates{"waiting", "starting",   "ready",    "running", "hung",
                                    "exited",  "restarting", "stopping", "down",    "failed"};
constexpr std::array kRoles{"active", "standby", "taking-over", "stepping-down", "none"};

class Exposition {
 public:
  // Each family once, with its help and type, before its samples.
  void family(const char* name, const char* type, const char* help) {
    o_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const char* name, const std::string& labels, double value) {
    char num[64];
    std::snprintf(num, sizeof num, "%.17g", value);
    o_ << name;
    if (!labels.empty()) o_ << '{' << labels << '}';
    o_ << ' ' << num << '\n';
  }
  [[nodiscard]] std::string str() const { return o_.str(); }

 private:
  std::ostringstream o_;
};

std::string label(const char* key, const std::string& value) {
  return std::string(key) + "=\"" + prometheus_label(value) + '"';
}

std::string process_labels(const ProcessRow& p) {
  return label("tenant", p.tenant) + ',' + label("name", p.name);
}

bool is_up(const std::string& state) { return state == "running" || state == "ready"; }

}  // namespace

std::string prometheus_label(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string render_metrics(const NodeView& v, const EventCounts* events) {
  Exposition e;
  e.family("hamon_node_info", "gauge", "The node this exposition describes (always 1).");
  e.sample("hamon_node_info", label("cluster", v.cluster) + ',' + label("node", v.node), 1);

  e.family("hamon_daemon_up", "gauge", "Whether the hamon daemon runs (1) or not (0).");
  for (const auto& d : v.daemons) {
    e.sample("hamon_daemon_up", label("daemon", d.name), d.state == "running" ? 1 : 0);
  }
  e.family("hamon_daemon_restarts_total", "counter",
           "Times the daemon was started again after it ended.");
  for (const auto& d : v.daemons) {
    e.sample("hamon_daemon_restarts_total", label("daemon", d.name), d.restarts);
  }

  e.family("hamon_process_up", "gauge", "Whether the process runs and is ready (1) or not (0).");
  for (const auto& p : v.processes) {
    e.sample("hamon_process_up", process_labels(p), is_up(p.state) ? 1 : 0);
  }
  e.family("hamon_process_state", "gauge", "The process's state: 1 for the current one.");
  for (const auto& p : v.processes) {
    for (const char* s : kProcessStates) {
      e.sample("hamon_process_state", process_labels(p) + ',' + label("state", s),
               p.state == s ? 1 : 0);
    }
  }
  e.family("hamon_process_restarts_total", "counter", "Times hamon restarted the process.");
  for (const auto& p : v.processes) {
    e.sample("hamon_process_restarts_total", process_labels(p), p.restarts);
  }
  e.family("hamon_process_incarnation", "gauge",
           "The process's incarnation: grows with each start.");
  for (const auto& p : v.processes) {
    e.sample("hamon_process_incarnation", process_labels(p), static_cast<double>(p.incarnation));
  }
  e.family("hamon_process_heartbeat_age_seconds", "gauge",
           "Time since the process's latest heartbeat (absent: no beat to age).");
  for (const auto& p : v.processes) {
    if (p.heartbeat_age_us) {
      e.sample("hamon_process_heartbeat_age_seconds", process_labels(p),
               static_cast<double>(*p.heartbeat_age_us) / 1e6);
    }
  }
  e.family("hamon_process_tree_processes", "gauge",
           "Processes in the process's cgroup: itself and all it forked (absent: no cgroup).");
  for (const auto& p : v.processes) {
    if (p.tree) e.sample("hamon_process_tree_processes", process_labels(p), *p.tree);
  }

  e.family("hamon_tenant_role", "gauge", "The tenant's duplex role on this node: 1 for it.");
  for (const auto& t : v.tenants) {
    for (const char* r : kRoles) {
      e.sample("hamon_tenant_role", label("tenant", t.name) + ',' + label("role", r),
               t.role == r ? 1 : 0);
    }
  }
  e.family("hamon_tenant_epoch", "gauge", "The tenant's term: grows with each change of role.");
  for (const auto& t : v.tenants) {
    e.sample("hamon_tenant_epoch", label("tenant", t.name), static_cast<double>(t.epoch));
  }
  e.family("hamon_tenant_critical_failures", "gauge",
           "The tenant's critical processes that cannot be kept up.");
  for (const auto& t : v.tenants) {
    e.sample("hamon_tenant_critical_failures", label("tenant", t.name), t.critical_failures);
  }

  e.family("hamon_peer_up", "gauge", "Whether the peer node is heard (1) or lost or never seen.");
  for (const auto& p : v.peers) {
    e.sample("hamon_peer_up", label("peer", p.node), p.state == "up" ? 1 : 0);
  }
  e.family("hamon_peer_rtt_seconds", "gauge", "The last round trip measured on a peer link.");
  for (const auto& p : v.peers) {
    for (std::size_t i = 0; i < p.links.size(); ++i) {
      if (!p.links[i].rtt_us) continue;
      e.sample("hamon_peer_rtt_seconds",
               label("peer", p.node) + ',' + label("link", std::to_string(i)) + ',' +
                   label("address", p.links[i].address),
               static_cast<double>(*p.links[i].rtt_us) / 1e6);
    }
  }
  e.family("hamon_peer_frames_rejected_total", "counter",
           "Frames from the peer the link refused (each dropped the connection).");
  for (const auto& p : v.peers) {
    e.sample("hamon_peer_frames_rejected_total", label("peer", p.node),
             static_cast<double>(p.rejected));
  }

  if (events != nullptr) {
    e.family("hamon_events_total", "counter",
             "Events the node posted, by kind, since this exporter started.");
    for (const auto& [kind, n] : *events) {
      e.sample("hamon_events_total", label("kind", kind), static_cast<double>(n));
    }
  }
  return e.str();
}

}  // namespace hamon::node
