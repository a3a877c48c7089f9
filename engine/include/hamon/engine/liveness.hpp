// Liveness: the monitor's verdict on one incarnation of one process, from what its heartbeat
// slot shows over time. Pure logic: the caller reads the slot and the clock and passes both in.
//
// The slot is written by the process and is never trusted: a garbage count can only make that
// process look alive, a garbage stamp or incarnation only makes it look silent. No input can make
// observe() fail or affect another process.
//
// Timing model. A beat copies the monitor's clock word (updated every `tick`), so a beat stamped
// S happened in [S, S + tick]. The verdict always takes the *latest* time a beat could have
// happened: a process is never declared hung before its full timeout has passed, and at most one
// tick (plus the monitor's wake-up latency) after.
#ifndef HAMON_ENGINE_LIVENESS_HPP
#define HAMON_ENGINE_LIVENESS_HPP

#include <cstdint>

#include "hamon/engine/config.hpp"

namespace hamon::engine {

enum class LiveState : std::uint8_t {
  starting,  // spawned, not ready by its ready mode yet
  ready,     // just became ready
  running,   // ready and beating
  hung,      // silent for its timeout (or never ready within its start timeout); final
};

const char* to_string(LiveState s) noexcept;

// What the monitor read from a heartbeat slot; untrusted.
struct BeatReading {
  std::uint64_t count = 0;
  std::uint64_t stamp_ns = 0;
  std::uint64_t incarnation = 0;
  std::uint32_t ready = 0;
  // When non-zero: the latest time a beat stamped stamp_ns can have happened — the monitor's
  // next clock write after stamp_ns, or now if there was none. A monitor that stalled does not
  // move its clock, so stamp_ns + tick would place a fresh beat too early. Zero: stamp + tick.
  std::uint64_t bound_ns = 0;
  // The watcher's stalled time (observe's lost_ns) as it stood at bound_ns: a beat made before a
  // stall and first seen after it keeps its excuse for the stall.
  std::uint64_t lost_at_bound_ns = 0;
};

// The monitor's clock tick for the shortest interval it watches: half of it, within
// [100 us, 5 ms] (5 ms when it watches nothing). A beat is placed within one tick, so readiness
// and hangs are seen within about a tick; each tick is a wake-up, which on a virtual machine
// costs a timer exit, so no finer than needed.
[[nodiscard]] std::uint64_t tick_for(std::uint64_t shortest_interval_ns) noexcept;

struct LivenessParams {
  std::uint64_t timeout_ns = 0;        // silence after which a ready process is hung
  std::uint64_t start_timeout_ns = 0;  // time to become ready after spawn
  std::uint64_t tick_ns = 0;           // the monitor's clock granularity
  Readiness ready_mode = Readiness::on_heartbeat;
};

class Liveness {
 public:
  // `baseline` is the slot as read at spawn time: beats already counted there are not this
  // incarnation's. `lost_ns`: the watcher's stalled time so far (see observe).
  Liveness(std::uint64_t incarnation, std::uint64_t spawned_ns, const LivenessParams& params,
           const BeatReading& baseline, std::uint64_t lost_ns = 0) noexcept;

  struct Verdict {
    LiveState state;
    bool changed;                 // state differs from the previous verdict
    std::uint64_t next_check_ns;  // when to look again (absent new information)
  };

  // REQUIRES: now_ns and lost_ns never decrease between calls.
  //
  // `lost_ns` is the time the watcher itself could not run, summed since it began (a monitor
  // woken long after it asked to be: a virtual machine paused, the host overloaded). What of a
  // silence falls in that time is excused: a machine that stalled stalled its processes too,
  // and a process must be silent for `timeout` of the watcher's own running time to be hung.
  Verdict observe(const BeatReading& reading, std::uint64_t now_ns,
                  std::uint64_t lost_ns = 0) noexcept;

  // Withdraws a hang verdict of silence the watcher judged the whole machine's, not this
  // process's (most processes fell silent together): it gets one more `timeout` from `now`.
  // Once only until it beats again, so a verdict is at most one timeout late, and a process
  // truly hung beside others truly hung is still found. False (nothing withdrawn) for a
  // verdict that was not of silence, or a second one.
  bool excuse(std::uint64_t now_ns, std::uint64_t lost_ns) noexcept;

  // Withdraws a hang verdict of silence some of which the process's CPU could not run anything
  // (a sentinel on that CPU measured it: engine::StallLog): `stalled_ns`, the stall measured
  // within the silence so far, moves the deadline on — by what it adds to the stall already
  // forgiven since the last beat, so asking again with the same measure forgives nothing. False
  // when nothing new was forgiven, or the verdict was not of silence.
  bool forgive(std::uint64_t stalled_ns) noexcept;

  // Of the silence up to now, how much the watcher's own stall excused (observe's lost_ns).
  [[nodiscard]] std::uint64_t lost_excused_ns(std::uint64_t lost_ns) const noexcept {
    return lost_ns - lost_at_alive_;
  }
  // Of the silence up to now, how much was excused (the watcher's stall since the last beat).
  [[nodiscard]] std::uint64_t excused_ns(std::uint64_t lost_ns) const noexcept {
    return lost_ns - lost_at_alive_ + forgiven_;
  }

  // It was seen beating before this watch began (a restarted monitor took it over): silence
  // counts from the watch's start even before a beat is seen, so a process that hung while no
  // monitor ran is still found hung. Without it, a process never seen beating is watched for its
  // exit alone (a program that does not use the client).
  void beaten_before() noexcept { beaten_before_ = true; }

  // The monitor's tick changed (the set of processes it watches did): looks at the new pace.
  void set_tick(std::uint64_t tick_ns) noexcept { p_.tick_ns = tick_ns; }

  [[nodiscard]] LiveState state() const noexcept { return state_; }
  // The latest time the process is known to have been alive.
  [[nodiscard]] std::uint64_t alive_at_ns() const noexcept { return alive_at_; }
  [[nodiscard]] std::uint64_t beats() const noexcept { return beats_; }

 private:
  std::uint64_t incarnation_;
  LivenessParams p_;
  LiveState state_ = LiveState::starting;
  std::uint64_t spawned_;
  std::uint64_t last_count_;
  std::uint64_t last_check_;
  std::uint64_t alive_at_;
  std::uint64_t beats_ = 0;
  std::uint64_t lost_at_alive_;  // lost_ns when alive_at_ was last moved
  bool beaten_before_ = false;
  bool hung_silent_ = false;    // the hung verdict was of silence (not of a start that never came)
  bool excused_ = false;        // a verdict was withdrawn since the last beat
  std::uint64_t forgiven_ = 0;  // CPU stall forgiven since the last beat (forgive)
};

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_LIVENESS_HPP
