#include "hamon/engine/supervisor.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <optional>
#include <utility>

namespace hamon::engine {

const char* to_string(Phase p) noexcept {
  switch (p) {
    case Phase::down: return "down";
    case Phase::waiting: return "waiting";
    case Phase::starting: return "starting";
    case Phase::up: return "up";
    case Phase::stopping: return "stopping";
    case Phase::backoff: return "backoff";
    case Phase::failed: return "failed";
  }
  return "unknown";
}

Supervisor::Supervisor(const Config& config, std::uint64_t next_incarnation)
    : config_(config),
      graph_(config),
      next_incarnation_(std::max<std::uint64_t>(1, next_incarnation)) {
  procs_.reserve(config.processes.size());
  for (const auto& pc : config.processes) procs_.push_back(Proc{.budget = RestartBudget(pc)});
  head_.resize(procs_.size());
  members_.resize(procs_.size());
  for (std::size_t i = 0; i < procs_.size(); ++i) {
    const ProcessConfig& pc = config.processes[i];
    const auto head =
        pc.spare_of.empty() ? std::nullopt : config.process_index(pc.group + "/" + pc.spare_of);
    head_[i] = head.value_or(i);
    if (head) members_[*head].push_back(i);
  }
}

std::vector<std::size_t> Supervisor::instances(std::size_t i) const {
  std::vector<std::size_t> all{head_[i]};
  all.insert(all.end(), members_[head_[i]].begin(), members_[head_[i]].end());
  return all;
}

bool Supervisor::family_up_besides(std::size_t i) const {
  for (std::size_t k : instances(i)) {
    if (k != i && procs_[k].phase == Phase::up && !procs_[k].stop_wanted) return true;
  }
  return false;
}

bool Supervisor::running(const Proc& p) const noexcept {
  return p.phase == Phase::starting || p.phase == Phase::up || p.phase == Phase::stopping;
}

void Supervisor::start_all(std::uint64_t now) {
  std::vector<std::size_t> all(procs_.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  start(all, now);
}

void Supervisor::stop_all(std::uint64_t now) {
  for (std::size_t i = 0; i < procs_.size(); ++i) mark_stop(i, false);
  schedule(now);
}

void Supervisor::start(std::size_t i, std::uint64_t now) {
  start(std::vector<std::size_t>{i}, now);
}

void Supervisor::start(const std::vector<std::size_t>& processes, std::uint64_t now) {
  for (std::size_t i : processes) mark_start(i);
  schedule(now);
}

void Supervisor::mark_start(std::size_t i) {
  // Every dependency is visited, even below a process that is already wanted: one that gave
  // up or stayed down since must be started again, or its dependents would wait forever.
  std::vector<bool> seen(procs_.size(), false);
  std::vector<std::size_t> todo{i};
  while (!todo.empty()) {
    const std::size_t k = todo.back();
    todo.pop_back();
    if (seen[k]) continue;
    seen[k] = true;
    Proc& p = procs_[k];
    if (!p.want || p.phase == Phase::failed || p.phase == Phase::down) {
      p.want = true;
      p.budget.reset();
      if (p.phase == Phase::down || p.phase == Phase::failed) p.phase = Phase::waiting;
    }
    for (std::size_t d : graph_.dependencies(k)) todo.push_back(d);
    if (k == head_[k]) todo.insert(todo.end(), members_[k].begin(), members_[k].end());
  }
}

void Supervisor::stop(std::size_t i, std::uint64_t now) {
  std::vector<bool> seen(procs_.size(), false);  // each process once, however many paths
  std::vector<std::size_t> todo{i};
  while (!todo.empty()) {
    const std::size_t k = todo.back();
    todo.pop_back();
    if (seen[k]) continue;
    seen[k] = true;
    if (!procs_[k].want && procs_[k].stop_wanted) continue;
    mark_stop(k, false);
    for (std::size_t d : graph_.dependents(k)) todo.push_back(d);
    if (k == head_[k]) todo.insert(todo.end(), members_[k].begin(), members_[k].end());
  }
  schedule(now);
}

void Supervisor::restart(std::size_t i, std::uint64_t now) {
  // A process with spares restarts as a whole: every instance.
  const std::vector<std::size_t> all = i == head_[i] ? instances(i) : std::vector<std::size_t>{i};
  bool any = false;
  for (std::size_t k : all) {
    if (!running(procs_[k])) continue;
    any = true;
    mark_stop(k, true);
  }
  mark_start(i);  // what it depends on must run when it starts again (it may be being stopped)
  if (any && (i == head_[i] || !family_up_besides(i))) restart_dependents(head_[i]);
  schedule(now);
}

void Supervisor::mark_stop(std::size_t i, bool then_start) {
  Proc& p = procs_[i];
  p.want = then_start;
  if (running(p)) {
    p.stop_wanted = true;
  } else if (!then_start) {
    // Not running: nothing to stop; a pending restart or start is cancelled.
    if (p.phase == Phase::waiting || p.phase == Phase::backoff) p.phase = Phase::down;
  }
}

void Supervisor::restart_dependents(std::size_t i) {
  std::vector<std::size_t> todo(graph_.dependents(i).begin(), graph_.dependents(i).end());
  while (!todo.empty()) {
    const std::size_t k = todo.back();
    todo.pop_back();
    Proc& p = procs_[k];
    if (!config_.processes[k].restart_with_dependencies || !p.want || p.stop_wanted) continue;
    if (running(p)) {
      mark_stop(k, true);
    } else if (p.phase == Phase::backoff) {
      p.phase = Phase::waiting;  // it will start after its dependency anyway
    } else {
      continue;
    }
    for (std::size_t d : graph_.dependents(k)) todo.push_back(d);
  }
}

void Supervisor::on_spawned(std::size_t i, std::uint64_t inc, std::uint64_t now) {
  Proc& p = procs_[i];
  if (inc != p.incarnation || p.phase != Phase::starting) return;
  p.started_at = now;
}

void Supervisor::on_spawn_failed(std::size_t i, std::uint64_t inc, std::uint64_t now) {
  Proc& p = procs_[i];
  if (inc != p.incarnation || !running(p)) return;
  end(i, 127 << 8, true, now);
}

void Supervisor::on_ready(std::size_t i, std::uint64_t inc, std::uint64_t now) {
  Proc& p = procs_[i];
  if (inc != p.incarnation || p.phase != Phase::starting) return;
  p.phase = Phase::up;
  schedule(now);
}

void Supervisor::on_hung(std::size_t i, std::uint64_t inc, std::uint64_t now) {
  Proc& p = procs_[i];
  if (inc != p.incarnation || (p.phase != Phase::starting && p.phase != Phase::up)) return;
  p.hung = true;
  p.phase = Phase::stopping;
  actions_.push_back({Action::Kind::kill, i, inc, 0});
  schedule(now);
}

void Supervisor::on_exited(std::size_t i, std::uint64_t inc, int status, std::uint64_t now) {
  Proc& p = procs_[i];
  if (inc != p.incarnation || !running(p)) return;
  end(i, status, false, now);
}

void Supervisor::end(std::size_t i, int status, bool spawn_failed, std::uint64_t now) {
  Proc& p = procs_[i];
  const bool requested = p.stop_wanted;
  const bool hung = p.hung;
  p.stop_wanted = false;
  p.hung = false;
  const std::uint64_t uptime = now > p.started_at ? now - p.started_at : 0;

  if (requested) {
    p.phase = p.want ? Phase::waiting : Phase::down;
    if (!p.want) notes_.push_back({Note::Kind::stopped, i, p.incarnation, 0, "stopped on request"});
    schedule(now);
    return;
  }
  EndKind kind = EndKind::failed;
  if (hung) {
    kind = EndKind::hung;
  } else if (!spawn_failed && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    kind = EndKind::exited_ok;
  }
  if (!p.want) {  // ended on its own while nobody wanted it: nothing to decide
    p.phase = Phase::down;
    schedule(now);
    return;
  }
  const auto d = p.budget.on_end(kind, now, uptime);
  switch (d.action) {
    case RestartBudget::Action::restart:
      p.phase = Phase::backoff;
      p.restart_at = d.at_ns;
      notes_.push_back({Note::Kind::restarting, i, p.incarnation,
                        static_cast<std::int64_t>(d.at_ns - now), d.reason});
      // Another instance serves on: to its dependents the process never went away.
      if (!family_up_besides(i)) restart_dependents(head_[i]);
      break;
    case RestartBudget::Action::stay_down:
      p.phase = Phase::down;
      p.want = false;
      notes_.push_back({Note::Kind::stayed_down, i, p.incarnation, 0, d.reason});
      break;
    case RestartBudget::Action::give_up:
      p.phase = Phase::failed;
      p.want = false;
      notes_.push_back({Note::Kind::failed, i, p.incarnation, 0, d.reason});
      break;
  }
  schedule(now);
}

void Supervisor::tick(std::uint64_t now) { schedule(now); }

void Supervisor::schedule(std::uint64_t now) {
  // Restarts whose delay has passed wait for their dependencies like any start.
  for (auto& p : procs_) {
    if (p.phase == Phase::backoff && p.restart_at <= now) p.phase = Phase::waiting;
  }
  // Stops: a process goes once nothing that depends on it, directly or through others (a
  // dependent in between may be down while its own dependents still run), is being stopped
  // and still runs. Those that may go now go in reverse start order, as a stop plan does.
  std::vector<std::uint8_t> memo(procs_.size(), 0);  // 0 unknown, 1 no, 2 yes
  std::vector<std::size_t> stops;
  for (std::size_t i = 0; i < procs_.size(); ++i) {
    const Proc& p = procs_[i];
    if (!p.stop_wanted || (p.phase != Phase::starting && p.phase != Phase::up)) continue;
    if (!dependents_being_stopped(head_[i], memo)) stops.push_back(i);
  }
  std::sort(stops.begin(), stops.end(),
            [this](std::size_t a, std::size_t b) { return graph_.starts_before(b, a); });
  for (std::size_t i : stops) {
    Proc& p = procs_[i];
    p.phase = Phase::stopping;
    actions_.push_back({Action::Kind::stop, i, p.incarnation,
                        static_cast<std::uint64_t>(config_.processes[i].stop_timeout.count())});
  }
  // Starts, by the dependency rule, in start order.
  std::vector<StartState> states(procs_.size());
  for (std::size_t i = 0; i < procs_.size(); ++i) {
    const Proc& p = procs_[i];
    states[i] = p.phase == Phase::waiting                ? StartState::pending
                : p.phase == Phase::up && !p.stop_wanted ? StartState::ready
                                                         : StartState::started;
  }
  // A process with spares is there for its dependents while any of its instances is.
  std::vector<bool> dependable(procs_.size(), false);
  for (std::size_t i = 0; i < procs_.size(); ++i) {
    if (states[i] == StartState::ready) dependable[head_[i]] = true;
  }
  for (std::size_t i : graph_.startable(states, dependable)) {
    Proc& p = procs_[i];
    p.phase = Phase::starting;
    p.incarnation = next_incarnation_++;
    p.started_at = now;
    actions_.push_back({Action::Kind::start, i, p.incarnation, 0});
  }
}

bool Supervisor::dependents_being_stopped(std::size_t i, std::vector<std::uint8_t>& memo) const {
  // Memoised over one schedule() pass: linear in the graph however many paths lead to a
  // process. Recursion depth is bounded by the longest dependency chain (the graph is acyclic).
  if (memo[i] == 0) {
    bool busy = false;
    for (std::size_t d : graph_.dependents(i)) {
      const Proc& q = procs_[d];
      if ((q.stop_wanted && running(q)) || dependents_being_stopped(d, memo)) {
        busy = true;
        break;
      }
    }
    memo[i] = busy ? 2 : 1;
  }
  return memo[i] == 2;
}

std::vector<Action> Supervisor::take_actions() { return std::exchange(actions_, {}); }
std::vector<Note> Supervisor::take_notes() { return std::exchange(notes_, {}); }

std::uint64_t Supervisor::next_deadline() const noexcept {
  std::uint64_t t = UINT64_MAX;
  for (const auto& p : procs_) {
    if (p.phase == Phase::backoff) t = std::min(t, p.restart_at);
  }
  return t;
}

bool Supervisor::all_up() const noexcept {
  bool any = false;
  for (const auto& p : procs_) {
    if (!p.want) continue;
    any = true;
    if (p.phase != Phase::up) return false;
  }
  return any;
}

bool Supervisor::all_down() const noexcept {
  return std::all_of(procs_.begin(), procs_.end(), [](const Proc& p) {
    return p.phase == Phase::down || p.phase == Phase::failed;
  });
}

Supervisor::Snapshot Supervisor::snapshot(std::size_t i) const {
  const Proc& p = procs_[i];
  return {p.phase,       p.want,       p.stop_wanted, p.hung,
          p.incarnation, p.started_at, p.restart_at,  p.budget.state()};
}

void Supervisor::restore(std::size_t i, const Snapshot& s) {
  Proc& p = procs_[i];
  p.phase = s.phase;
  p.want = s.want;
  p.stop_wanted = s.stop_wanted;
  p.hung = s.hung;
  p.incarnation = s.incarnation;
  p.started_at = s.started_at;
  p.restart_at = s.restart_at;
  p.budget = RestartBudget(config_.processes[i], s.budget);
  next_incarnation_ = std::max(next_incarnation_, s.incarnation + 1);
}

}  // namespace hamon::engine
