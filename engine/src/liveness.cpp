#include "hamon/engine/liveness.hpp"

#include <algorithm>

namespace hamon::engine {

const char* to_string(LiveState s) noexcept {
  switch (s) {
    case LiveState::starting: return "starting";
    case LiveState::ready: return "ready";
    case LiveState::running: return "running";
    case LiveState::hung: return "hung";
  }
  return "unknown";
}

std::uint64_t tick_for(std::uint64_t shortest_interval_ns) noexcept {
  constexpr std::uint64_t finest = 100'000, coarsest = 5'000'000;
  return std::clamp<std::uint64_t>(shortest_interval_ns / 2, finest, coarsest);
}

Liveness::Liveness(std::uint64_t incarnation, std::uint64_t spawned_ns,
                   const LivenessParams& params, const BeatReading& baseline,
                   std::uint64_t lost_ns) noexcept
    : incarnation_(incarnation),
      p_(params),
      spawned_(spawned_ns),
      last_count_(baseline.count),
      last_check_(spawned_ns),
      alive_at_(spawned_ns),
      lost_at_alive_(lost_ns) {
  if (p_.ready_mode == Readiness::on_spawn) state_ = LiveState::ready;
}

Liveness::Verdict Liveness::observe(const BeatReading& r, std::uint64_t now,
                                    std::uint64_t lost_ns) noexcept {
  const LiveState before = state_;
  if (state_ == LiveState::hung) return {state_, false, UINT64_MAX};

  // Beats count only once the process has attached as this incarnation.
  const bool mine = r.incarnation == incarnation_;
  if (mine && r.count != last_count_) {
    ++beats_;
    // A plausible stamp bounds the beat to [stamp, stamp + tick]; anything else (a stamp in the
    // future, or older than our last look) says only that it beat since the last look.
    const std::uint64_t bound = r.bound_ns != 0 ? r.bound_ns : r.stamp_ns + p_.tick_ns;
    const bool plausible = r.stamp_ns <= now && bound >= last_check_;
    const bool bounded = plausible && bound < now;
    const std::uint64_t beat_at = bounded ? bound : now;
    excused_ = false;
    if (beat_at > alive_at_) {
      forgiven_ = 0;
      alive_at_ = beat_at;
      lost_at_alive_ = bounded && r.bound_ns != 0 ? std::min(r.lost_at_bound_ns, lost_ns) : lost_ns;
    }
  }
  if (mine) last_count_ = r.count;
  last_check_ = now;

  // Silence counts only for a process that has beaten: one that never attaches (ready = "spawn",
  // a program that does not use the client) is watched for exit alone.
  const bool watched = beats_ > 0 || beaten_before_;
  // The silence's deadline, moved on by the watcher's own stall since the last sign of life.
  const std::uint64_t silent_at =
      alive_at_ + p_.timeout_ns + (lost_ns - lost_at_alive_) + forgiven_;
  const bool silent = watched && now >= silent_at;
  switch (state_) {
    case LiveState::starting: {
      const bool ready_now = mine && ((p_.ready_mode == Readiness::on_heartbeat && beats_ > 0) ||
                                      (p_.ready_mode == Readiness::on_ready_call && r.ready == 1));
      if (silent || (!ready_now && now >= spawned_ + p_.start_timeout_ns)) {
        state_ = LiveState::hung;
      } else if (ready_now) {
        state_ = LiveState::ready;
      }
      break;
    }
    case LiveState::ready:
    case LiveState::running:
      // `ready` is the moment of becoming ready; the next look makes it `running`.
      state_ = silent ? LiveState::hung : LiveState::running;
      hung_silent_ = silent;
      break;
    case LiveState::hung: break;
  }

  const std::uint64_t silence_at = watched ? silent_at : UINT64_MAX;
  std::uint64_t next = UINT64_MAX;
  switch (state_) {
    case LiveState::starting:
      // Readiness is what dependents wait for: look every tick until it comes.
      next = std::min({now + p_.tick_ns, spawned_ + p_.start_timeout_ns, silence_at});
      break;
    case LiveState::ready: next = std::min(now + p_.tick_ns, silence_at); break;
    case LiveState::running:
      next = watched ? silence_at : now + std::max(p_.tick_ns, p_.timeout_ns);
      break;
    case LiveState::hung: break;
  }
  return {state_, state_ != before, next};
}

bool Liveness::forgive(std::uint64_t stalled_ns) noexcept {
  if (state_ != LiveState::hung || !hung_silent_ || stalled_ns <= forgiven_) return false;
  state_ = LiveState::running;
  hung_silent_ = false;
  forgiven_ = stalled_ns;
  return true;
}

bool Liveness::excuse(std::uint64_t now, std::uint64_t lost_ns) noexcept {
  if (state_ != LiveState::hung || !hung_silent_ || excused_) return false;
  state_ = LiveState::running;
  hung_silent_ = false;
  excused_ = true;
  forgiven_ = 0;
  alive_at_ = std::max(alive_at_, now);
  lost_at_alive_ = lost_ns;
  return true;
}

}  // namespace hamon::engine
