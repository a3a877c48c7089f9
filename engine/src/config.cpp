#include "hamon/engine/config.hpp"

#include <algorithm>

#include "hamon/engine/names.hpp"

namespace hamon::engine {

std::string_view to_string(Side side) noexcept {
  switch (side) {
    case Side::primary: return "primary";
    case Side::secondary: return "secondary";
  }
  return "?";
}

std::string_view to_string(RestartPolicy policy) noexcept {
  switch (policy) {
    case RestartPolicy::always: return "always";
    case RestartPolicy::on_failure: return "on-failure";
    case RestartPolicy::never: return "never";
  }
  return "?";
}

std::string_view to_string(Readiness readiness) noexcept {
  switch (readiness) {
    case Readiness::on_spawn: return "spawn";
    case Readiness::on_heartbeat: return "heartbeat";
    case Readiness::on_ready_call: return "explicit";
  }
  return "?";
}

std::string_view to_string(Standby standby) noexcept {
  switch (standby) {
    case Standby::hot: return "hot";
    case Standby::cold: return "cold";
  }
  return "?";
}

std::string_view to_string(PeerLostPolicy policy) noexcept {
  switch (policy) {
    case PeerLostPolicy::takeover: return "takeover";
    case PeerLostPolicy::fence: return "fence";
    case PeerLostPolicy::witness: return "witness";
  }
  return "?";
}

std::string_view to_string(Failover failover) noexcept {
  switch (failover) {
    case Failover::budget: return "budget";
    case Failover::immediate: return "immediate";
  }
  return "?";
}

std::string_view to_string(PeerAuth auth) noexcept {
  switch (auth) {
    case PeerAuth::key: return "key";
    case PeerAuth::none: return "none";
  }
  return "?";
}

bool ProcessConfig::is_system() const noexcept { return group == system_group; }

std::optional<std::size_t> Config::process_index(std::string_view qualified) const {
  const std::size_t slash = qualified.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view group = qualified.substr(0, slash);
  const std::string_view name = qualified.substr(slash + 1);
  for (std::size_t i = 0; i < processes.size(); ++i) {
    if (processes[i].group == group && processes[i].name == name) return i;
  }
  return std::nullopt;
}

const ProcessConfig* Config::find_process(std::string_view qualified) const {
  const auto i = process_index(qualified);
  return i ? &processes[*i] : nullptr;
}

const TenantConfig* Config::find_tenant(std::string_view name) const {
  const auto it = std::find_if(tenants.begin(), tenants.end(),
                               [&](const TenantConfig& t) { return t.name == name; });
  return it == tenants.end() ? nullptr : &*it;
}

const NodeConfig* Config::find_node(std::string_view id) const {
  const auto it = std::find_if(cluster.nodes.begin(), cluster.nodes.end(),
                               [&](const NodeConfig& n) { return n.id == id; });
  return it == cluster.nodes.end() ? nullptr : &*it;
}

std::vector<const NodeConfig*> Config::peers_of(std::string_view node_id) const {
  std::vector<const NodeConfig*> peers;
  if (find_node(node_id) == nullptr) return peers;
  for (const NodeConfig& node : cluster.nodes) {
    if (node.id != node_id) peers.push_back(&node);
  }
  return peers;
}

std::vector<std::string> Config::groups() const {
  // processes are already grouped (system first, then tenants in order).
  std::vector<std::string> result;
  for (const ProcessConfig& p : processes) {
    if (result.empty() || result.back() != p.group) result.push_back(p.group);
  }
  return result;
}

}  // namespace hamon::engine
