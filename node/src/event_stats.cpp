#include "hamon/node/event_stats.hpp"

#include <algorithm>
#include <cstring>

namespace hamon::node {
namespace {

std::string text(const char* field, std::size_t size) { return {field, ::strnlen(field, size)}; }

}  // namespace

void Histogram::observe(double seconds) {
  std::size_t i = 0;
  while (i < kBounds.size() && seconds > kBounds[i]) ++i;
  ++buckets[i];
  sum += seconds;
  ++count;
}

void EventStats::observe(const shm::Event& e) {
  ++counts_[shm::to_string(e.kind)];
  // Processes only: a daemon's events carry no slot.
  if (e.slot == UINT32_MAX) return;
  const std::string tenant = text(e.group, sizeof e.group);
  const std::string key = tenant + '/' + text(e.name, sizeof e.name);
  switch (e.kind) {
    case shm::EventKind::hung:
      hang_[tenant].observe(static_cast<double>(e.value) / 1e9);
      [[fallthrough]];
    case shm::EventKind::exited:
    case shm::EventKind::restarting: {
      // The end is the first of these: a hung process is killed and its exit follows; the
      // server may decide the restart (from the monitor's news) before the spawner, which
      // reaps the process, posts its exit. `restarting` says hamon brings it back, rather than
      // an operator's later start.
      const auto [it, fresh] = pending_.try_emplace(key, Pending{e.t_ns, e.incarnation, false});
      if (!fresh) it->second.since_ns = std::min(it->second.since_ns, e.t_ns);
      if (e.kind == shm::EventKind::restarting) it->second.restarting = true;
      break;
    }
    case shm::EventKind::ready: {
      const auto it = pending_.find(key);
      if (it == pending_.end() || e.incarnation <= it->second.incarnation) break;
      if (it->second.restarting && e.t_ns >= it->second.since_ns) {
        restart_[tenant].observe(static_cast<double>(e.t_ns - it->second.since_ns) / 1e9);
      }
      pending_.erase(it);
      break;
    }
    case shm::EventKind::stopped:
    case shm::EventKind::failed: pending_.erase(key); break;
    default: break;
  }
}

}  // namespace hamon::node
