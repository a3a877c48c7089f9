#include "hamon/node/metrics.hpp"

#include <array>
#include <cstdio>
#include <map>
#include <optional>
#include <sstream>

namespace hamon::node {
namespace {

constexpr std::array kProcessStates{"waiting", "starting",   "ready",    "running", "hung",
                                    "exited",  "restarting", "stopping", "down",    "failed"};
constexpr std::array kRoles{"active", "standby", "taking-over", "stepping-down", "none"};

std::string label(const char* key, const std::string& value) {
  return std::string(key) + "=\"" + prometheus_label(value) + '"';
}

std::string process_labels(const ProcessRow& p) {
  return label("tenant", p.tenant) + ',' + label("name", p.name);
}

class Exposition {
 public:
  // Each family once, with its help and type, before its samples.
  void family(const char* name, const char* type, const char* help) {
    o_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const std::string& name, const std::string& labels, double value) {
    char num[64];
    std::snprintf(num, sizeof num, "%.17g", value);
    o_ << name;
    if (!labels.empty()) o_ << '{' << labels << '}';
    o_ << ' ' << num << '\n';
  }
  // A gauge or counter with one sample per process, where `value` gives one.
  template <class Value>
  void per_process(const NodeView& v, const char* name, const char* type, const char* help,
                   Value value) {
    family(name, type, help);
    for (const auto& p : v.processes) {
      const std::optional<double> x = value(p);
      if (x) sample(name, process_labels(p), *x);
    }
  }
  // A histogram by tenant: cumulative buckets up to +Inf, then the sum and the count.
  void histograms(const char* name, const char* help,
                  const std::map<std::string, Histogram>& by_tenant) {
    family(name, "histogram", help);
    const std::string base = name;
    for (const auto& [tenant, h] : by_tenant) {
      const std::string t = label("tenant", tenant);
      std::uint64_t below = 0;
      for (std::size_t i = 0; i < Histogram::kBounds.size(); ++i) {
        below += h.buckets[i];
        char le[32];
        std::snprintf(le, sizeof le, "%g", Histogram::kBounds[i]);
        sample(base + "_bucket", t + ',' + label("le", le), static_cast<double>(below));
      }
      sample(base + "_bucket", t + ",le=\"+Inf\"", static_cast<double>(h.count));
      sample(base + "_sum", t, h.sum);
      sample(base + "_count", t, static_cast<double>(h.count));
    }
  }
  [[nodiscard]] std::string str() const { return o_.str(); }

 private:
  std::ostringstream o_;
};

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

std::string render_metrics(const NodeView& v, const EventStats* events) {
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

  using Sample = std::optional<double>;
  e.per_process(v, "hamon_process_up", "gauge",
                "Whether the process runs and is ready (1) or not (0).",
                [](const ProcessRow& p) -> Sample { return is_up(p.state) ? 1 : 0; });
  e.family("hamon_process_state", "gauge", "The process's state: 1 for the current one.");
  for (const auto& p : v.processes) {
    for (const char* s : kProcessStates) {
      e.sample("hamon_process_state", process_labels(p) + ',' + label("state", s),
               p.state == s ? 1 : 0);
    }
  }
  e.per_process(v, "hamon_process_restarts_total", "counter", "Times hamon restarted the process.",
                [](const ProcessRow& p) -> Sample { return p.restarts; });
  e.per_process(v, "hamon_process_incarnation", "gauge",
                "The process's incarnation: grows with each start.",
                [](const ProcessRow& p) -> Sample { return static_cast<double>(p.incarnation); });
  e.per_process(v, "hamon_process_heartbeat_age_seconds", "gauge",
                "Time since the process's latest heartbeat (absent: no beat to age).",
                [](const ProcessRow& p) -> Sample {
                  if (!p.heartbeat_age_us) return std::nullopt;
                  return static_cast<double>(*p.heartbeat_age_us) / 1e6;
                });
  e.per_process(v, "hamon_process_tree_processes", "gauge",
                "Processes in the process's cgroup: itself and all it forked (absent: no cgroup).",
                [](const ProcessRow& p) -> Sample {
                  if (!p.tree) return std::nullopt;
                  return *p.tree;
                });

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

  // A tenant's caps (tenant_caps.hpp): only tenants with caps, and only what their cgroups say.
  const auto per_capped_tenant = [&](const char* name, const char* type, const char* help,
                                     auto value) {
    e.family(name, type, help);
    for (const auto& t : v.tenants) {
      const std::optional<double> x = value(t.caps);
      if (x) e.sample(name, label("tenant", t.name), *x);
    }
  };
  const auto number = [](const auto& x) -> Sample {
    if (!x) return std::nullopt;
    return static_cast<double>(*x);
  };
  per_capped_tenant("hamon_tenant_memory_bytes", "gauge",
                    "Memory the tenant's processes use (absent: no memory cap).",
                    [&](const TenantCapsUsage& c) { return number(c.memory_used); });
  per_capped_tenant("hamon_tenant_memory_cap_bytes", "gauge", "The tenant's memory cap.",
                    [&](const TenantCapsUsage& c) { return number(c.memory_cap); });
  per_capped_tenant("hamon_tenant_memory_cap_kills_total", "counter",
                    "The tenant's processes the kernel ended at its memory cap.",
                    [&](const TenantCapsUsage& c) { return number(c.oom_kills); });
  per_capped_tenant("hamon_tenant_pids", "gauge",
                    "Processes and threads of the tenant (absent: no pids cap).",
                    [&](const TenantCapsUsage& c) { return number(c.pids_used); });
  per_capped_tenant("hamon_tenant_pids_cap", "gauge", "The tenant's cap on processes and threads.",
                    [&](const TenantCapsUsage& c) { return number(c.pids_cap); });
  per_capped_tenant("hamon_tenant_cpu_weight", "gauge",
                    "The tenant's CPU weight, 1-10000 (100: a process's own; absent: none set).",
                    [&](const TenantCapsUsage& c) { return number(c.cpu_weight); });

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
    for (const auto& [kind, n] : events->counts()) {
      e.sample("hamon_events_total", label("kind", kind), static_cast<double>(n));
    }
    e.histograms("hamon_restart_seconds",
                 "From a process's exit or hang to the ready of the incarnation hamon restarted.",
                 events->restart_seconds());
    e.histograms("hamon_hang_silence_seconds",
                 "How long a process had been silent when it was declared hung.",
                 events->hang_silence_seconds());
  }
  return e.str();
}

}  // namespace hamon::node
