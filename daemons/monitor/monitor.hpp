// Monitor: the agent of hamon-monitor. Watches every process at that process's own pace: its exit
// through a pidfd (epoll wakes at once), its hang through heartbeat deadlines checked against the
// clock the monitor itself publishes in each heartbeat segment every tick.
//
// Everything it knows about a process comes from the process's identity line in the control
// segment (written by hamon-server before the start it describes) and the spawner's `started`
// message; it has no copy of the configuration. Its tick follows the shortest interval among the
// processes it watches.
//
// It never trusts a heartbeat slot: what it reads there goes through engine::Liveness, which can
// only conclude things about that one process.
//
// Warm spares (docs/spares.md): the instances of a process with spares form a family (the
// identity's `family`); the monitor alone decides which of them serves. When none does, it
// promotes a parked one — at once when the serving instance's pidfd says it ended or it is
// declared hung, else at the first check that finds an instance parked: one store and one futex
// wake in that instance's slot.
#ifndef HAMON_MONITOR_MONITOR_HPP
#define HAMON_MONITOR_MONITOR_HPP

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cpu_sentinels.hpp"
#include "hamon/engine/liveness.hpp"
#include "hamon/engine/stall_log.hpp"
#include "hamon/engine/timer_wheel.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/heartbeat_table.hpp"

namespace hamon::link {
class ChangeFeed;
}

namespace hamon::monitor {

class Monitor {
 public:
  // `feed`, if given, hears of every state the monitor publishes (the peer link's input).
  explicit Monitor(const shm::ControlSegment& control, link::ChangeFeed* feed = nullptr);
  ~Monitor();

  // Takes over the processes that are running (after a monitor restart).
  void adopt(std::uint64_t now);
  // One turn: publish the clock, read messages, run due checks, collect exits. Waits at most
  // until the next tick in epoll (so an exit wakes it at once).
  void run_once();

  [[nodiscard]] std::uint64_t tick_ns() const noexcept { return tick_; }

 private:
  struct Watch {
    std::uint64_t incarnation = 0;
    std::int32_t pid = 0;
    int pidfd = -1;
    std::uint32_t group = 0;
    std::uint32_t hb_slot = 0;
    std::uint64_t interval_ns = 0;
    shm::HeartbeatSlot* beat = nullptr;  // in its group's segment; null if unreachable
    engine::Liveness live;
    std::string group_name, name;
    std::shared_ptr<shm::HeartbeatTable> table;  // keeps `beat` mapped
    std::uint64_t beats_before = 0;  // seen by the monitors before this one (it was adopted)
    std::uint32_t family = 0;        // ProcessIdentity::family: 0 without spares
    shm::SpareState spare = shm::SpareState::none;
    std::uint32_t realtime = 0;  // ProcessIdentity::realtime: applied at its ready
  };
  struct Mapped {
    std::uint32_t generation;  // GroupInfo::generation it was mapped in
    std::shared_ptr<shm::HeartbeatTable> table;
  };

  void handle_messages(std::uint64_t now);
  void watch(std::uint32_t slot, std::uint64_t incarnation, std::int32_t pid, std::uint64_t ticks,
             std::uint64_t now, bool adopted);
  void check(std::uint32_t slot, std::uint64_t incarnation, std::uint64_t now);
  void exited(std::uint32_t slot, std::uint64_t now);
  // Whether `w` is parked now, by its slot (its own incarnation's park, not a predecessor's).
  [[nodiscard]] bool parked(const Watch& w) const;
  // Its slot's word names its incarnation, and hamon_park() returns in it: one store, one wake.
  static void release_from_park(const Watch& w);
  // Promotes a parked instance of `family` other than `except`, if there is one.
  void promote_in(std::uint32_t family, std::uint32_t except, std::uint64_t trigger_ns,
                  const char* why, std::uint64_t now);
  void promote(std::uint32_t slot, std::uint64_t trigger_ns, const char* why, std::uint64_t now);
  // The instance in `slot` serves no more (it ended or hung).
  void demote(std::uint32_t slot, Watch& w);
  // Whether hamon-server is stopping this incarnation (its supervise record says so).
  [[nodiscard]] bool being_stopped(std::uint32_t slot, const Watch& w) const;
  // Keeps `w`'s spare state in step with its slot; promotes it when its family has none serving.
  void follow_spare(std::uint32_t slot, Watch& w, std::uint64_t now);
  // Gives a process that became ready the real-time policy that waited for it.
  void apply_realtime(std::uint32_t slot, const Watch& w);
  // Forgets a watch: its pidfd and its part in the tick.
  void unwatch(std::uint32_t slot, std::uint64_t now);
  // Follows the shortest interval watched: the tick, the wheel's granularity, every verdict's pace.
  void retick(std::uint64_t now);
  void publish(std::uint32_t slot, const Watch& w, shm::ProcessState state, std::uint64_t now);
  // The group's current heartbeat segment, mapped again when hamon-server made it anew.
  std::shared_ptr<shm::HeartbeatTable> table(std::uint32_t group);
  shm::BeatSnapshot read(const Watch& w);
  engine::BeatReading reading(const Watch& w, std::uint64_t now);
  // The time now, for the turn's decisions; a reading later than the turn or the wait before it
  // explains adds the difference to lost_ns_.
  std::uint64_t clock();
  // lost_ns_ as it stood at time `t` (older than the stalls kept: before the oldest of them).
  [[nodiscard]] std::uint64_t lost_at(std::uint64_t t) const;
  void publish_clock(std::uint64_t now);
  // Whether most of the other processes that should have beaten during `w`'s silence did not
  // either (then its hang verdict is withdrawn once: engine::Liveness::excuse).
  bool stalled_with_others(std::uint32_t slot, const Watch& w, std::uint64_t now);
  // How much of `w`'s silence the CPUs it may run on could not run (their sentinels' stalls, in
  // progress ones included) plus one of its intervals to beat once they run again, beyond the
  // monitor's own stall already excused: 0 without a system call when no CPU stalled in it.
  std::uint64_t cpu_stall(const Watch& w, std::uint64_t now);
  // What `cpu`'s sentinel saw it stall in [from, now).
  [[nodiscard]] std::uint64_t cpu_stalled(std::size_t cpu, std::uint64_t from,
                                          std::uint64_t now) const;
  // Reads what the sentinels saw: the stalls in progress (stalled_since_) and those that ended.
  void look_at_cpus(std::uint64_t now);
  // The CPUs `w` may run on (its affinity); every CPU when that cannot be read.
  [[nodiscard]] std::vector<int> cpus_of(const Watch& w) const;
  // What a hung event says: the silence, and what of it was excused.
  [[nodiscard]] std::string hang_detail(const Watch& w, std::uint64_t silence) const;
  // The latest time a beat stamped `stamp` can have happened: our next clock write after it.
  [[nodiscard]] std::uint64_t beat_bound(std::uint64_t stamp, std::uint64_t now) const;

  const shm::ControlSegment& ctl_;
  link::ChangeFeed* feed_;
  std::uint64_t tick_;
  std::uint64_t next_tick_ = 0;
  // The time this monitor could not run, summed: woken later than it asked, beyond what a
  // timer's ordinary lateness explains (engine::Liveness::observe excuses silences by it).
  std::uint64_t lost_ns_ = 0;
  // The latest stalls: when each ended, and lost_ns_ before it (lost_at()).
  struct Stall {
    std::uint64_t ended_ns = 0;
    std::uint64_t lost_before_ns = 0;
  };
  std::array<Stall, 16> stalls_{};
  std::size_t stall_count_ = 0;
  // Witnesses on every CPU, and what each saw its CPU stall (by CPU; the monitor's own
  // stalls in each too).
  CpuSentinels sentinels_;
  std::vector<engine::StallLog> cpu_stalls_;
  std::vector<std::uint64_t> stalled_since_;        // by CPU, at the last look_at_cpus(); 0: none
  std::uint64_t last_now_ = 0;                      // the latest clock() reading
  std::uint64_t waiting_until_ = 0;                 // while waiting: when the wait is to end
  std::array<std::uint64_t, 256> clock_history_{};  // recent clock writes, a ring
  std::size_t clock_writes_ = 0;
  int epfd_ = -1;
  std::map<std::uint32_t, Mapped> tables_;  // by group index
  // Segments made anew since, still mapped by the watches of processes that beat into them.
  std::vector<std::shared_ptr<shm::HeartbeatTable>> retired_;
  std::vector<std::optional<Watch>> watches_;                     // by process slot
  std::map<std::uint32_t, std::vector<std::uint32_t>> families_;  // family → slots watched
  std::map<std::uint32_t, std::uint32_t> serving_;                // family → the slot serving
  std::map<std::uint64_t, std::uint32_t> intervals_;  // interval → how many watches have it
  engine::TimerWheel due_;
  std::vector<engine::TimerWheel::Entry> expired_;
};

}  // namespace hamon::monitor

#endif  // HAMON_MONITOR_MONITOR_HPP
