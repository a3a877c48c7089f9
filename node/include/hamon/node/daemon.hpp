// The shape every hamon daemon shares (docs/architecture.md, "One daemon shape"):
//
//   main: flags → DaemonStart (node, instance lock, control segment, signals) → its agent →
//         a loop of agent.do_work(now) and one idle strategy, until SIGTERM.
//
// An agent is a class with `int do_work(std::uint64_t now)` (the work done; 0 when idle) and
// `std::uint64_t next_deadline() const` (when it has timed work without a message or a signal).
// It waits in exactly one place, chosen by its idle strategy:
//   - DoorbellIdle: the daemon's inbox doorbell (a futex in the control segment), rung by the
//     daemons that post to it and by its signal handlers — for agents fed by channels (spawner,
//     server);
//   - FdIdle: ppoll on file descriptors (pidfds), with the signals unblocked only inside the wait
//     — for agents that watch processes (master, watcher). The monitor's epoll on pidfds with a
//     deadline is the same strategy, kept inside its agent for its latency.
#ifndef HAMON_NODE_DAEMON_HPP
#define HAMON_NODE_DAEMON_HPP

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "hamon/node/daemon_args.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/signals.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

// The longest an idle daemon sleeps: its heartbeat is stamped at least this often.
inline constexpr std::uint64_t kIdleTurnNs = 20'000'000;

struct DaemonOptions {
  bool attach_control = true;    // false for the master (it creates the segment) and the watcher
  bool accepts_adopt = false;    // --adopt: the watch tree restarting one of its own
  bool doorbell_signals = true;  // signals ring the inbox doorbell (DoorbellIdle); else they are
                                 // blocked outside ppoll (FdIdle)
};

// Called with the control segment before the configuration is read, when --cluster and --node
// name it (as the master starts its daemons): what must not wait for the parse. Not called
// otherwise; the daemon then does the same after construction.
using BeforeConfig = std::function<void(const shm::ControlSegment&)>;

// The steps every daemon's main repeats, in order: parse the command line (exit 100 if bad),
// take the instance lock (exit 111 if another instance holds it), attach the control segment
// (exit 111), load the node (exit 111), install the signal handlers. Without --cluster the node
// is loaded first (the resources' names come from it). Exits with the documented code and a
// message naming the daemon on any failure.
class DaemonStart {
 public:
  DaemonStart(const char* binary, shm::DaemonId self, int argc, char** argv, DaemonOptions options,
              const BeforeConfig& before_config = {});
  // Blocks the signals first: their handler rings the inbox in the control segment, which is
  // unmapped next.
  ~DaemonStart();
  DaemonStart(const DaemonStart&) = delete;
  DaemonStart& operator=(const DaemonStart&) = delete;

  [[nodiscard]] const Node& node() const { return node_; }
  [[nodiscard]] const shm::ControlSegment& control() const { return *ctl_; }
  [[nodiscard]] SignalState& signals() { return signals_; }
  [[nodiscard]] bool adopt() const { return adopt_; }
  // The signal mask to pass to ppoll (FdIdle).
  [[nodiscard]] const sigset_t& wait_mask() const { return wait_mask_; }
  [[nodiscard]] bool stopping() const { return signals_.stop.load(); }

  // Marks the daemon running in its slot (pid, start time, heartbeat) / exited.
  void register_self() const { register_daemon(*ctl_, self_); }
  void unregister_self() const { unregister_daemon(*ctl_, self_); }

  // At most every 100 ms: puts back what the daemon needs in the runtime directory if it was
  // removed — its instance lock's file, its log (runtime_upkeep.hpp). Every loop calls it.
  void tend(std::uint64_t now);

 private:
  const char* binary_;
  std::uint64_t next_tend_ns_ = 0;
  std::string lock_error_;  // said once
  shm::DaemonId self_;
  bool adopt_ = false;
  Node node_;
  int instance_lock_ = -1;
  std::optional<shm::ControlSegment> ctl_;
  SignalState signals_;
  sigset_t wait_mask_{};
};

// Sleeps on the daemon's inbox until `ready()` holds, a signal rings it, or `deadline` passes.
class DoorbellIdle {
 public:
  explicit DoorbellIdle(shm::Doorbell& bell) : bell_(bell) {}
  template <class Ready>
  void idle(std::uint64_t now, std::uint64_t deadline, Ready&& ready) {
    const std::uint64_t wake = std::min(deadline, now + kIdleTurnNs);
    bell_.wait(ready, std::chrono::nanoseconds(wake > now ? wake - now : 0), 256);
  }

 private:
  shm::Doorbell& bell_;
};

// Sleeps in ppoll until one of `fds` is readable, a signal arrives, or `deadline` passes.
class FdIdle {
 public:
  explicit FdIdle(const sigset_t& mask) : mask_(mask) {}
  void idle(std::uint64_t now, std::uint64_t deadline, std::span<const int> fds) const;

 private:
  const sigset_t& mask_;
};

// The loop of a doorbell daemon: stamp the heartbeat, work until there is none, then idle on the
// inbox until `ready()` (its wake-up condition) or the agent's next deadline.
template <class Agent, class Ready, class BeforeWork>
void run_on_doorbell(DaemonStart& d, shm::DaemonId self, Agent& agent, Ready&& ready,
                     BeforeWork&& before_work) {
  DoorbellIdle idle(d.control().daemon(self).inbox);
  while (!d.stopping()) {
    const std::uint64_t now = now_ns();
    daemon_heartbeat(d.control(), self, now);
    d.tend(now);
    before_work(now);
    if (agent.do_work(now) > 0) continue;
    idle.idle(now, agent.next_deadline(), [&] { return ready() || d.stopping(); });
  }
}

}  // namespace hamon::node

#endif  // HAMON_NODE_DAEMON_HPP
