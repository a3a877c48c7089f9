// CapsKeeper: each tenant's caps (node/tenant_caps.hpp), applied in its cgroups when the first of
// its processes starts and again at each reload, and the files its processes join, held open for
// every later start. One per spawner.
#ifndef HAMON_SPAWNER_CAPS_KEEPER_HPP
#define HAMON_SPAWNER_CAPS_KEEPER_HPP

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "hamon/engine/config.hpp"
#include "hamon/node/tenant_caps.hpp"

namespace hamon::spawner {

class CapsKeeper {
 public:
  // Told, for a tenant, each cap that could not be applied or joined and why.
  using Report = std::function<void(const std::string& tenant, const std::string& why)>;

  CapsKeeper(std::string cluster, std::string node, Report report);
  // Closes what it holds and removes the node's tenant cgroups that no process is in.
  ~CapsKeeper();
  CapsKeeper(const CapsKeeper&) = delete;
  CapsKeeper& operator=(const CapsKeeper&) = delete;

  // What a process of `tenant` joins before its exec (empty: its tenant has no caps). Not the
  // cpu cgroup for a real-time process: CPU shares do not weigh real-time tasks, and where the
  // kernel schedules real-time tasks by group, a new cgroup has no real-time time to give them.
  std::vector<int> join_fds(const engine::TenantConfig& tenant, bool realtime);
  // A process of `tenant` could not join what it was given (`why`): said, and its later starts,
  // until a reload, join nothing — a cap that cannot be held is no reason for an outage.
  void give_up(const std::string& tenant, const std::string& why);
  // The processes no longer start in cgroups of their own (the spawner lost containment): caps
  // held by a tenant's level of the v2 containment tree no longer reach them. Said for each
  // tenant with caps now, and at each later application.
  void uncontained();
  // After a reload: each tenant's caps applied again (to the processes running too: they may have
  // been adopted from a spawner that applied the old ones), caps it no longer has lifted.
  void reload(const engine::Config& config);

 private:
  struct Held {
    engine::TenantCaps caps;
    std::vector<node::PreparedCaps::Join> joins;
  };
  void apply(const std::string& tenant, const engine::TenantCaps& caps, Held& held);

  std::string cluster_, node_;
  Report report_;
  std::map<std::string, Held> held_;
  bool contained_ = true;
};

}  // namespace hamon::spawner

#endif  // HAMON_SPAWNER_CAPS_KEEPER_HPP
