#include "monitor.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "hamon/node/apply_scheduling.hpp"
#include "hamon/node/clock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/node/supervise_record.hpp"
#include "hamon/shm/fixed_string.hpp"
#include "hamon/shm/futex.hpp"
#include "link/change_feed.hpp"

namespace hamon::monitor {

using shm::ChannelId;
using shm::Message;
using shm::MessageKind;
using shm::ProcessState;

namespace {

// The wheel is finer than the tick: deadlines a quarter tick apart are told apart.
std::uint64_t wheel_granularity(std::uint64_t tick) {
  return std::max<std::uint64_t>(tick / 4, 10'000);
}

// A sentinel wakes every interval of the fastest process watched, not finer than a millisecond
// (a wake per CPU costs a timer exit on a virtual machine), and stalls shorter than its period
// plus its allowance may go unmeasured — a process's own interval of slack.
std::uint64_t sentinel_period(std::uint64_t tick) {
  return std::clamp<std::uint64_t>(2 * tick, 1'000'000, 25'000'000);
}

engine::Readiness to_readiness(shm::ReadyMode m) {
  switch (m) {
    case shm::ReadyMode::spawn: return engine::Readiness::on_spawn;
    case shm::ReadyMode::heartbeat: return engine::Readiness::on_heartbeat;
    case shm::ReadyMode::ready_call: return engine::Readiness::on_ready_call;
  }
  return engine::Readiness::on_heartbeat;  // not a mode this build knows
}

ProcessState to_process_state(engine::LiveState s) {
  switch (s) {
    case engine::LiveState::starting: return ProcessState::starting;
    case engine::LiveState::ready: return ProcessState::ready;
    case engine::LiveState::running: return ProcessState::running;
    case engine::LiveState::hung: return ProcessState::hung;
  }
  return ProcessState::starting;
}

}  // namespace

Monitor::Monitor(const shm::ControlSegment& control, link::ChangeFeed* feed)
    : ctl_(control),
      feed_(feed),
      tick_(engine::tick_for(UINT64_MAX)),
      sentinels_(sentinel_period(tick_)),
      watches_(control.max_processes()),
      due_(wheel_granularity(tick_), 8192, node::now_ns()) {
  epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  ctl_.daemon(shm::DaemonId::monitor).tick_ns.store(tick_, std::memory_order_relaxed);
}

Monitor::~Monitor() {
  for (auto& w : watches_) {
    if (w && w->pidfd >= 0) ::close(w->pidfd);
  }
  if (epfd_ >= 0) ::close(epfd_);
}

std::shared_ptr<shm::HeartbeatTable> Monitor::table(std::uint32_t group) {
  shm::GroupInfo g{};
  if (group >= ctl_.max_groups() || !ctl_.group(group).info.read(g)) return nullptr;
  auto it = tables_.find(group);
  if (it != tables_.end() && it->second.generation == g.generation) return it->second.table;
  if (it != tables_.end()) {
    // hamon-server made the group's segment anew: processes still beating into the old one keep
    // it mapped through their watches (and its clock moving), new ones get the new one.
    retired_.push_back(std::move(it->second.table));
    tables_.erase(it);
  }
  auto t =
      shm::HeartbeatTable::attach(shm::read_fixed(g.heartbeat_segment), shm::Access::read_write);
  if (!t) return nullptr;
  t->tick(node::now_ns());
  auto shared = std::make_shared<shm::HeartbeatTable>(std::move(t).value());
  tables_.emplace(group, Mapped{g.generation, shared});
  return shared;
}

void Monitor::publish_clock(std::uint64_t now) {
  for (auto& [g, t] : tables_) t.table->tick(now);
  for (auto& t : retired_) t->tick(now);
  clock_history_[clock_writes_++ % clock_history_.size()] = now;
}

std::uint64_t Monitor::beat_bound(std::uint64_t stamp, std::uint64_t now) const {
  // The history is in increasing order from the oldest kept entry; find the first write after
  // `stamp`. Older than everything kept: the oldest kept write still bounds it.
  const std::size_t n = std::min(clock_writes_, clock_history_.size());
  std::uint64_t bound = now;
  for (std::size_t k = 0; k < n; ++k) {
    const std::uint64_t t = clock_history_[(clock_writes_ - 1 - k) % clock_history_.size()];
    if (t <= stamp) break;
    bound = t;
  }
  return bound;
}

engine::BeatReading Monitor::reading(const Watch& w, std::uint64_t now) {
  const shm::BeatSnapshot s = read(w);
  const std::uint64_t bound = beat_bound(s.beat_stamp, now);
  return {s.beat_count, s.beat_stamp, s.incarnation, s.ready, bound, lost_at(bound)};
}

std::uint64_t Monitor::lost_at(std::uint64_t t) const {
  // Stalls end in increasing order; the latest that ended after `t` had not happened yet.
  const std::size_t n = std::min(stall_count_, stalls_.size());
  std::uint64_t lost = lost_ns_;
  for (std::size_t k = 0; k < n; ++k) {
    const Stall& s = stalls_[(stall_count_ - 1 - k) % stalls_.size()];
    if (s.ended_ns <= t) break;
    lost = s.lost_before_ns;
  }
  return lost;
}

shm::BeatSnapshot Monitor::read(const Watch& w) {
  if (w.beat == nullptr) return {};
  // The same loads, in the same order, as HeartbeatTable::snapshot (count acquired first).
  shm::BeatSnapshot b{};
  b.beat_count = w.beat->beat_count.load(std::memory_order_acquire);
  b.beat_stamp = w.beat->beat_stamp.load(std::memory_order_relaxed);
  b.incarnation = w.beat->incarnation.load(std::memory_order_acquire);
  b.ready = w.beat->ready.load(std::memory_order_acquire);
  return b;
}

void Monitor::adopt(std::uint64_t now) {
  for (std::uint32_t s = 0; s < ctl_.max_processes(); ++s) {
    shm::SpawnRecord r{};
    if (!ctl_.process(s).spawn.read(r) || r.pid <= 0 || r.exited_ns != 0) continue;
    watch(s, r.incarnation, r.pid, r.start_ticks, now, true);
  }
}

void Monitor::retick(std::uint64_t now) {
  const std::uint64_t tick =
      engine::tick_for(intervals_.empty() ? UINT64_MAX : intervals_.begin()->first);
  if (tick == tick_) return;
  tick_ = tick;
  next_tick_ = std::min(next_tick_, now + tick_);
  due_.set_granularity(wheel_granularity(tick_), now);
  sentinels_.set_period(sentinel_period(tick_));
  for (auto& w : watches_) {
    if (w) w->live.set_tick(tick_);
  }
  ctl_.daemon(shm::DaemonId::monitor).tick_ns.store(tick_, std::memory_order_relaxed);
}

void Monitor::unwatch(std::uint32_t slot, std::uint64_t now) {
  auto& w = watches_[slot];
  if (!w) return;
  if (w->pidfd >= 0) {
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, w->pidfd, nullptr);
    ::close(w->pidfd);
  }
  if (auto it = intervals_.find(w->interval_ns); it != intervals_.end() && --it->second == 0) {
    intervals_.erase(it);
  }
  if (w->family != 0) {
    auto& members = families_[w->family];
    std::erase(members, slot);
    if (members.empty()) families_.erase(w->family);
    if (auto s = serving_.find(w->family); s != serving_.end() && s->second == slot) {
      serving_.erase(s);
    }
  }
  w.reset();
  // A segment made anew is unmapped with the last watch of a process that beat into it.
  std::erase_if(retired_, [](const auto& t) { return t.use_count() == 1; });
  retick(now);
}

void Monitor::watch(std::uint32_t slot, std::uint64_t inc, std::int32_t pid, std::uint64_t ticks,
                    std::uint64_t now, bool adopted) {
  if (slot >= ctl_.max_processes()) return;
  if (watches_[slot]) {
    if (watches_[slot]->incarnation >= inc) return;  // duplicate or stale news
    // Its successor started: it ended, even if its pidfd has not said so yet (and if it served,
    // another instance serves now).
    exited(slot, now);
  }
  // The identity is written before the start request it describes, so it is this start's (or,
  // if the server has already moved on, a newer one's: then this incarnation is about to go).
  // An older one is a slot cleared since (a reload removed the process): nothing describes it
  // any more, and its interval must not set the pace.
  shm::ProcessIdentity id{};
  if (!ctl_.process(slot).identity.read(id) || id.incarnation < inc) return;
  shm::GroupInfo g{};
  if (id.group >= ctl_.max_groups() || !ctl_.group(id.group).info.read(g)) return;
  const std::string group_name(g.name, strnlen(g.name, sizeof g.name));
  const std::string name(id.name, strnlen(id.name, sizeof id.name));
  ++intervals_[id.interval_ns];
  retick(now);
  engine::LivenessParams lp;
  lp.timeout_ns = id.timeout_ns;
  lp.tick_ns = tick_;
  lp.start_timeout_ns = std::max<std::uint64_t>(id.timeout_ns, 10'000'000'000ULL);
  lp.ready_mode = to_readiness(id.ready_mode);

  std::shared_ptr<shm::HeartbeatTable> t = table(id.group);
  if (t != nullptr && id.hb_slot >= t->slot_count()) t = nullptr;
  shm::HeartbeatSlot* beat = t != nullptr ? &t->slot(id.hb_slot) : nullptr;
  Watch w{inc,        pid,
          -1,         id.group,
          id.hb_slot, id.interval_ns,
          beat,       engine::Liveness(inc, now, lp, engine::BeatReading{}, lost_ns_),
          group_name, name,
          t};
  const engine::BeatReading baseline = reading(w, now);
  bool was_running = false;
  bool must_beat = false;
  std::uint64_t prev_beats = 0;
  if (adopted) {
    // It ran before this monitor did: its beats so far are not news, and it had been ready if
    // the previous monitor said so.
    shm::WatchRecord prev{};
    (void)ctl_.process(slot).watch.read(prev);
    if (prev.incarnation == inc &&
        (prev.state == ProcessState::ready || prev.state == ProcessState::running)) {
      lp.ready_mode = engine::Readiness::on_spawn;
      // Shown as it was: a monitor's restart is no news about the process, and a flip to
      // "ready" would go out to the peer as a change of every process on the node.
      was_running = prev.state == ProcessState::running;
      // It beat for the previous monitor: it must go on beating for this one. So must one ready
      // at its spawn whose beats no change of state recorded, but its slot holds.
      prev_beats = prev.beat_count;
      must_beat = prev_beats > 0 || (baseline.incarnation == inc && baseline.count > 0);
    }
  }
  w.live = engine::Liveness(inc, now, lp, baseline, lost_ns_);
  w.beats_before = prev_beats;
  w.family = id.family;
  w.realtime = id.realtime;
  // A monitor that restarts finds the instance it promoted by the word it wrote in its slot.
  if (w.family != 0 && beat != nullptr &&
      beat->promoted.load(std::memory_order_acquire) == static_cast<std::uint32_t>(inc) &&
      baseline.incarnation == inc) {
    w.spare = shm::SpareState::serving;
  } else if (w.family != 0 && parked(w)) {
    w.spare = shm::SpareState::parked;
  }
  // Not without a slot to read beats from: silence nobody can hear is no hang.
  if (must_beat && beat != nullptr) w.live.beaten_before();
  w.pidfd = node::pidfd_open_checked(pid, ticks);
  if (w.pidfd < 0) {  // already gone
    watches_[slot].emplace(std::move(w));
    exited(slot, now);
    return;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = slot;
  ::epoll_ctl(epfd_, EPOLL_CTL_ADD, w.pidfd, &ev);
  const bool spawn_ready = w.live.state() == engine::LiveState::ready;
  if (w.family != 0) {
    families_[w.family].push_back(slot);
    if (w.spare == shm::SpareState::serving && !serving_.contains(w.family)) {
      serving_[w.family] = slot;
    } else if (w.spare == shm::SpareState::serving) {
      w.spare = shm::SpareState::none;  // one serves already: never two
    }
  }
  auto& stored = watches_[slot].emplace(std::move(w));
  publish(slot, stored,
          was_running   ? ProcessState::running
          : spawn_ready ? ProcessState::ready
                        : ProcessState::starting,
          now);
  if (spawn_ready && !adopted) {
    (void)ctl_.send(ChannelId::monitor_to_server,
                    Message::state_change(slot, inc, pid,
                                          static_cast<std::uint32_t>(ProcessState::ready), now));
    node::post_event(ctl_, shm::DaemonId::monitor,
                     {.kind = shm::EventKind::ready,
                      .group = stored.group_name,
                      .name = stored.name,
                      .slot = slot,
                      .incarnation = inc,
                      .pid = pid,
                      .detail = "ready at spawn"});
  }
  due_.add(now, slot, inc);
}

void Monitor::publish(std::uint32_t slot, const Watch& w, ProcessState state, std::uint64_t now) {
  ctl_.process(slot).watch.write(
      {w.incarnation, now, w.live.alive_at_ns(), w.beats_before + w.live.beats(), state, w.spare});
  if (feed_ != nullptr) feed_->changed(slot);
}

void Monitor::check(std::uint32_t slot, std::uint64_t inc, std::uint64_t now) {
  if (slot >= watches_.size() || !watches_[slot] || watches_[slot]->incarnation != inc) return;
  Watch& w = *watches_[slot];
  auto v = w.live.observe(reading(w, now), now, lost_ns_);
  if (v.changed && v.state == engine::LiveState::hung &&
      (w.live.forgive(cpu_stall(w, now)) ||
       (stalled_with_others(slot, w, now) && w.live.excuse(now, lost_ns_)))) {
    v = w.live.observe(reading(w, now), now, lost_ns_);
  }
  if (v.changed) {
    if (v.state == engine::LiveState::ready && w.realtime != 0) apply_realtime(slot, w);
    publish(slot, w, to_process_state(v.state), now);
    if (v.state == engine::LiveState::ready || v.state == engine::LiveState::hung) {
      (void)ctl_.send(
          ChannelId::monitor_to_server,
          Message::state_change(slot, inc, w.pid,
                                static_cast<std::uint32_t>(to_process_state(v.state)), now));
      const bool hung = v.state == engine::LiveState::hung;
      const std::uint64_t silence = now - w.live.alive_at_ns();
      node::post_event(ctl_, shm::DaemonId::monitor,
                       {.kind = hung ? shm::EventKind::hung : shm::EventKind::ready,
                        .group = w.group_name,
                        .name = w.name,
                        .slot = slot,
                        .incarnation = inc,
                        .pid = w.pid,
                        .value = hung ? static_cast<std::int64_t>(silence) : 0,
                        .detail = hung ? hang_detail(w, silence) : ""});
    }
  }
  if (w.family == 0 && w.beat != nullptr && parked(w)) {
    // Parked, and no family: started as an instance of a process whose spares a reload has
    // removed since. Nothing else would ever promote it.
    release_from_park(w);
  } else if (w.family != 0) {
    if (v.changed && v.state == engine::LiveState::hung && w.spare == shm::SpareState::serving) {
      // The one serving hung: a parked instance takes over now, before the kill.
      demote(slot, w);
      publish(slot, w, ProcessState::hung, now);
      promote_in(w.family, slot, now, "the one serving hung", now);
    } else {
      follow_spare(slot, w, now);
    }
  }
  if (v.next_check_ns != UINT64_MAX) due_.add(v.next_check_ns, slot, inc);
}

void Monitor::apply_realtime(std::uint32_t slot, const Watch& w) {
  // Not ours to reap: its pid names it only while its pidfd says it runs.
  pollfd p{w.pidfd, POLLIN, 0};
  if (w.pidfd < 0 || ::poll(&p, 1, 0) != 0) return;
  std::string detail;
  if (node::apply_realtime(w.pid, w.realtime, detail) == 0) return;
  node::post_event(ctl_, shm::DaemonId::monitor,
                   {.kind = shm::EventKind::note,
                    .group = w.group_name,
                    .name = w.name,
                    .slot = slot,
                    .incarnation = w.incarnation,
                    .pid = w.pid,
                    .detail = "its real-time policy, due at its ready, was refused: " + detail});
}

void Monitor::release_from_park(const Watch& w) {
  w.beat->promoted.store(static_cast<std::uint32_t>(w.incarnation), std::memory_order_release);
  (void)shm::futex_wake(w.beat->promoted, INT_MAX);
}

bool Monitor::parked(const Watch& w) const {
  if (w.beat == nullptr) return false;
  // Not the pid: a program started through a wrapper that does not exec attaches as its child.
  return w.beat->parked.load(std::memory_order_acquire) ==
             static_cast<std::uint32_t>(w.incarnation) &&
         w.beat->incarnation.load(std::memory_order_acquire) == w.incarnation;
}

void Monitor::demote(std::uint32_t slot, Watch& w) {
  w.spare = shm::SpareState::none;
  // Its word no longer names it: a monitor that restarts must not find two serving.
  if (w.beat != nullptr) w.beat->promoted.store(0, std::memory_order_release);
  if (auto s = serving_.find(w.family); s != serving_.end() && s->second == slot) {
    serving_.erase(s);
  }
}

bool Monitor::being_stopped(std::uint32_t slot, const Watch& w) const {
  shm::SuperviseRecord r{};
  return ctl_.process(slot).supervise.read(r) && r.incarnation == w.incarnation &&
         (r.flags & node::kStopWanted) != 0;
}

void Monitor::follow_spare(std::uint32_t slot, Watch& w, std::uint64_t now) {
  if (w.spare == shm::SpareState::serving || w.live.state() == engine::LiveState::hung) return;
  const bool is_parked = parked(w);
  const auto was = w.spare;
  w.spare = is_parked ? shm::SpareState::parked : shm::SpareState::none;
  if (is_parked && !serving_.contains(w.family) && !being_stopped(slot, w)) {
    promote(slot, now, "none served", now);
  } else if (w.spare != was) {
    publish(slot, w, to_process_state(w.live.state()), now);
  }
}

void Monitor::promote_in(std::uint32_t family, std::uint32_t except, std::uint64_t trigger_ns,
                         const char* why, std::uint64_t now) {
  const auto f = families_.find(family);
  if (f == families_.end() || serving_.contains(family)) return;
  for (const std::uint32_t s : f->second) {
    if (s == except || !watches_[s]) continue;
    const Watch& w = *watches_[s];
    if (w.live.state() == engine::LiveState::hung || !parked(w) || being_stopped(s, w)) continue;
    promote(s, trigger_ns, why, now);
    return;
  }
}

void Monitor::promote(std::uint32_t slot, std::uint64_t trigger_ns, const char* why,
                      std::uint64_t now) {
  Watch& w = *watches_[slot];
  // The wake first: everything else can wait until the instance serves.
  release_from_park(w);
  w.spare = shm::SpareState::serving;
  serving_[w.family] = slot;
  publish(slot, w, to_process_state(w.live.state()), now);
  node::post_event(ctl_, shm::DaemonId::monitor,
                   {.kind = shm::EventKind::promoted,
                    .group = w.group_name,
                    .name = w.name,
                    .slot = slot,
                    .incarnation = w.incarnation,
                    .pid = w.pid,
                    .value = static_cast<std::int64_t>(now > trigger_ns ? now - trigger_ns : 0),
                    .detail = std::string("serves: ") + why});
}

bool Monitor::stalled_with_others(std::uint32_t slot, const Watch& w, std::uint64_t now) {
  // The others that should have beaten at least twice in this silence, up to kWitnesses of
  // them, taken after this slot in turn: how many have not beaten for two of their own
  // intervals either?
  constexpr std::size_t kWitnesses = 16;
  const std::uint64_t since = w.live.alive_at_ns();
  const std::uint64_t silence = now > since ? now - since : 0;
  std::size_t asked = 0, silent = 0;
  for (std::size_t k = 1; k < watches_.size() && asked < kWitnesses; ++k) {
    const auto& o = watches_[(slot + k) % watches_.size()];
    if (!o || o->beat == nullptr || o->live.state() != engine::LiveState::running ||
        o->interval_ns == 0 || 2 * o->interval_ns > silence) {
      continue;
    }
    const engine::BeatReading r = reading(*o, now);
    if (r.incarnation != o->incarnation) continue;
    ++asked;
    if (r.bound_ns + 2 * o->interval_ns < now) ++silent;
  }
  // Most of at least three fell silent with it: the machine stalled (a pause the monitor slept
  // through), not this process.
  return asked >= 3 && 2 * silent > asked;
}

std::uint64_t Monitor::cpu_stalled(std::size_t cpu, std::uint64_t from, std::uint64_t now) const {
  const engine::StallLog* log = cpu < cpu_stalls_.size() ? &cpu_stalls_[cpu] : nullptr;
  std::uint64_t t = log != nullptr ? log->measure(from, now) : 0;
  if (const std::uint64_t since = cpu < stalled_since_.size() ? stalled_since_[cpu] : 0;
      since != 0) {
    // In progress: the part of [since, now) the log does not hold already (the monitor's own
    // stalls are in it too).
    const std::uint64_t start = std::max(since, from);
    if (now > start) t += now - start - (log != nullptr ? log->measure(start, now) : 0);
  }
  return t;
}

void Monitor::look_at_cpus(std::uint64_t now) {
  // The stalls in progress first, then the finished ones: a stall that ends in between is then
  // seen as one or the other (or both: the measure counts it once), never as neither.
  stalled_since_.resize(sentinels_.cpu_limit());
  for (std::size_t cpu = 0; cpu < stalled_since_.size(); ++cpu) {
    stalled_since_[cpu] = sentinels_.stalled_since(cpu, now);
  }
  sentinels_.collect(cpu_stalls_);
}

std::vector<int> Monitor::cpus_of(const Watch& w) const {
  // Every CPU it may run on: the one a thread of it is queued on now is not enough — the kernel
  // moves a real-time task that woke on a stalled CPU to one that runs.
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  const bool known = ::sched_getaffinity(w.pid, sizeof set, &set) == 0;
  for (std::size_t cpu = 0; cpu < sentinels_.cpu_limit() && cpu < CPU_SETSIZE; ++cpu) {
    if (!known || CPU_ISSET(cpu, &set)) cpus.push_back(static_cast<int>(cpu));
  }
  return cpus;
}

std::uint64_t Monitor::cpu_stall(const Watch& w, std::uint64_t now) {
  look_at_cpus(now);
  const std::uint64_t from = w.live.alive_at_ns();
  bool any = false;
  for (std::size_t cpu = 0; cpu < sentinels_.cpu_limit() && !any; ++cpu) {
    any = cpu_stalled(cpu, from, now) != 0;
  }
  if (!any) return 0;
  std::uint64_t most = 0;
  for (const int cpu : cpus_of(w)) {
    most = std::max(most, cpu_stalled(static_cast<std::size_t>(cpu), from, now));
  }
  if (most == 0) return 0;
  // Once its CPU runs again, it needs one of its intervals to beat.
  most += w.interval_ns;
  const std::uint64_t own = w.live.lost_excused_ns(lost_ns_);
  return most > own ? most - own : 0;
}

std::string Monitor::hang_detail(const Watch& w, std::uint64_t silence) const {
  if (w.beats_before + w.live.beats() == 0) return "never ready";
  std::string out = "silent " + std::to_string(silence / 1000) + "us";
  const std::uint64_t own = w.live.lost_excused_ns(lost_ns_);
  if (own != 0) {
    out += ", " + std::to_string(own / 1000) + "us of it excused: the monitor could not run";
  }
  if (const std::uint64_t cpu = w.live.excused_ns(lost_ns_) - own; cpu != 0) {
    out += ", " + std::to_string(cpu / 1000) + "us of it excused: its CPU could not run it";
  }
  // Where it may run, and what those CPUs' sentinels saw of the silence.
  const std::uint64_t now = last_now_;
  const std::uint64_t from = now > silence ? now - silence : 0;
  std::string where;
  for (const int cpu : cpus_of(w)) {
    where += where.empty() ? "; its CPUs: " : ", ";
    where += std::to_string(cpu) + " (stalled " +
             std::to_string(cpu_stalled(static_cast<std::size_t>(cpu), from, now) / 1000) + "us)";
  }
  return out + where;
}

void Monitor::exited(std::uint32_t slot, std::uint64_t now) {
  if (slot >= watches_.size() || !watches_[slot]) return;
  Watch& w = *watches_[slot];
  if (w.spare == shm::SpareState::serving) {
    // The one serving ended: a parked instance serves before anything else is done.
    demote(slot, w);
    promote_in(w.family, slot, now, "the one serving exited", now);
  }
  publish(slot, w, ProcessState::exited, now);
  unwatch(slot, now);
}

void Monitor::handle_messages(std::uint64_t now) {
  // A bounded batch per turn: a burst of starts (a node coming up with thousands of processes)
  // must not hold the clock and the due checks back.
  Message m;
  for (int n = 0; n < 128 && ctl_.channel(ChannelId::spawner_to_monitor).pop(m); ++n) {
    if (m.kind == MessageKind::started) watch(m.slot, m.incarnation, m.pid, m.arg, now, false);
  }
  // The server's reload notice needs nothing here: a watch's identity line is always current.
  while (ctl_.channel(ChannelId::server_to_monitor).pop(m)) {
  }
}

std::uint64_t Monitor::clock() {
  const std::uint64_t now = node::now_ns();
  // Read within a turn, or after a wait that was to end at waiting_until_: later than that by
  // more than twice the tick (at least a millisecond: a timer's ordinary lateness on a busy
  // virtual machine), the monitor was not running — and neither, most likely, were the
  // processes it watches.
  const std::uint64_t allowance = std::max<std::uint64_t>(2 * tick_, 1'000'000);
  const std::uint64_t expected = std::max(last_now_, waiting_until_) + allowance;
  if (last_now_ != 0 && now > expected) {
    stalls_[stall_count_++ % stalls_.size()] = {now, lost_ns_};
    lost_ns_ += now - expected;
    // Every CPU's too: what a CPU's sentinel also saw is then not excused twice.
    cpu_stalls_.resize(sentinels_.cpu_limit());
    for (auto& log : cpu_stalls_) log.add(expected, now);
  }
  last_now_ = std::max(last_now_, now);
  waiting_until_ = 0;
  return now;
}

void Monitor::run_once() {
  std::uint64_t now = clock();
  look_at_cpus(now);
  // The clock is written every turn (a store per segment), so a stamp is never older than one
  // turn; the tick only paces the turns.
  publish_clock(now);
  if (now >= next_tick_) {
    node::daemon_heartbeat(ctl_, shm::DaemonId::monitor, now);
    next_tick_ = now + tick_;
  }
  handle_messages(now);
  now = clock();
  publish_clock(now);
  expired_.clear();
  due_.expire(now, expired_);
  // Touch every due slot's line first: the misses overlap instead of queueing one by one.
  for (const auto& e : expired_) {
    if (e.slot < watches_.size() && watches_[e.slot] && watches_[e.slot]->beat != nullptr) {
      __builtin_prefetch(watches_[e.slot]->beat);
    }
  }
  for (const auto& e : expired_) check(e.slot, e.incarnation, now);
  // Deadlines closer together than a twentieth of a tick are served by one wake-up.
  const std::uint64_t wake = std::max(due_.next(next_tick_), now + tick_ / 20);
  timespec ts{};
  const std::uint64_t wait = wake > now ? wake - now : 0;
  ts.tv_sec = static_cast<time_t>(wait / 1'000'000'000);
  ts.tv_nsec = static_cast<long>(wait % 1'000'000'000);
  epoll_event evs[64];
  waiting_until_ = wake;
  const int n = ::epoll_pwait2(epfd_, evs, 64, &ts, nullptr);
  now = clock();
  for (int i = 0; i < n; ++i) exited(static_cast<std::uint32_t>(evs[i].data.u64), now);
}

}  // namespace hamon::monitor
