// EventStats: what a reader following the node's event ring (shm/event_ring.hpp) learns from it
// over time — events by kind, and two latency distributions as observed on this node:
//
//  - restart: from a process's end (its `exited` or `hung` event) to the `ready` of the
//    incarnation hamon restarted it as (a `restarting` between them), failed starts and the
//    restart delay included. A stop on request or a process given up (`stopped`, `failed`) ends
//    the wait without a sample, as does a start by an operator.
//  - hang silence: how long a process had been silent when it was declared hung (its timeout plus
//    the detection delay; the excess over the timeout is the detection latency).
//
// Both by tenant. A crash's own detection is not here: its moment is not in any event (the
// benchmarks measure it, docs/performance.md). Pure: the caller reads the ring.
#ifndef HAMON_NODE_EVENT_STATS_HPP
#define HAMON_NODE_EVENT_STATS_HPP

#include <array>
#include <cstdint>
#include <map>
#include <string>

#include "hamon/shm/event_ring.hpp"

namespace hamon::node {

// A Prometheus histogram: counts per upper bound (not cumulative; the renderer sums them), the
// sum and the count of what it observed.
struct Histogram {
  // Upper bounds in seconds, from 100 us (a crash restarted at once) to 10 s; +Inf after them.
  static constexpr std::array<double, 16> kBounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                  0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                  1,      2.5,     5,      10};
  std::array<std::uint64_t, kBounds.size() + 1> buckets{};  // the last: above every bound
  double sum = 0;
  std::uint64_t count = 0;

  void observe(double seconds);
};

class EventStats {
 public:
  void observe(const shm::Event& e);
  // Events that went by unread (the reader was lapped).
  void lost(std::uint64_t n) { counts_["lost"] += n; }
  // The node was replaced by another (down and up): no end it saw waits for a ready any more.
  void restart_node() { pending_.clear(); }

  [[nodiscard]] const std::map<std::string, std::uint64_t>& counts() const { return counts_; }
  [[nodiscard]] const std::map<std::string, Histogram>& restart_seconds() const { return restart_; }
  [[nodiscard]] const std::map<std::string, Histogram>& hang_silence_seconds() const {
    return hang_;
  }

 private:
  struct Pending {
    std::uint64_t since_ns = 0;
    std::uint64_t incarnation = 0;
    bool restarting = false;  // hamon scheduled its restart
  };
  std::map<std::string, std::uint64_t> counts_;
  std::map<std::string, Histogram> restart_, hang_;  // by tenant
  std::map<std::string, Pending> pending_;           // by "tenant/process"
};

}  // namespace hamon::node

#endif  // HAMON_NODE_EVENT_STATS_HPP
