#include "caps_keeper.hpp"

#include <unistd.h>

#include <utility>

namespace hamon::spawner {

namespace {

void close_all(std::vector<node::PreparedCaps::Join>& joins) {
  for (const auto& j : std::exchange(joins, {})) ::close(j.fd);
}

}  // namespace

CapsKeeper::CapsKeeper(std::string cluster, std::string node, Report report)
    : cluster_(std::move(cluster)), node_(std::move(node)), report_(std::move(report)) {}

CapsKeeper::~CapsKeeper() {
  for (auto& [tenant, held] : held_) close_all(held.joins);
  node::remove_tenant_caps(cluster_, node_);
}

void CapsKeeper::apply(const std::string& tenant, const engine::TenantCaps& caps, Held& held) {
  close_all(held.joins);
  node::PreparedCaps p = node::prepare_tenant_caps(cluster_, node_, tenant, caps, contained_);
  held.caps = caps;
  held.joins = std::move(p.joins);
  for (const auto& why : p.not_applied) report_(tenant, why);
}

std::vector<int> CapsKeeper::join_fds(const engine::TenantConfig& tenant, bool realtime) {
  if (!tenant.caps.any()) return {};
  auto it = held_.find(tenant.name);
  if (it == held_.end()) {
    it = held_.emplace(tenant.name, Held{}).first;
    apply(tenant.name, tenant.caps, it->second);
  }
  std::vector<int> out;
  for (const auto& j : it->second.joins) {
    if (!(realtime && j.controller == "cpu")) out.push_back(j.fd);
  }
  return out;
}

void CapsKeeper::give_up(const std::string& tenant, const std::string& why) {
  const auto it = held_.find(tenant);
  if (it == held_.end() || it->second.joins.empty()) return;
  close_all(it->second.joins);  // the caps stay recorded: not applied again before a reload
  report_(tenant, why);
}

void CapsKeeper::uncontained() {
  if (!contained_) return;
  contained_ = false;
  for (auto& [tenant, held] : held_) {
    if (held.caps.any()) apply(tenant, held.caps, held);
  }
}

void CapsKeeper::reload(const engine::Config& config) {
  for (const auto& t : config.tenants) {
    auto it = held_.find(t.name);
    if (t.caps.any()) {
      if (it == held_.end()) it = held_.emplace(t.name, Held{}).first;
      apply(t.name, t.caps, it->second);
    } else {
      // Lifted where a cgroup of it is left (by this spawner, or one before it).
      Held lifted;
      apply(t.name, {}, lifted);
      if (it != held_.end()) {
        close_all(it->second.joins);
        held_.erase(it);
      }
    }
  }
}

}  // namespace hamon::spawner
