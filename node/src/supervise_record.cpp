#include "hamon/node/supervise_record.hpp"

namespace hamon::node {

shm::SuperviseRecord to_record(const engine::Supervisor::Snapshot& s) {
  shm::SuperviseRecord r{};
  r.incarnation = s.incarnation;
  r.next_restart_ns = s.restart_at;
  r.window_start_ns = s.budget.window_start_ns;
  r.started_ns = s.started_at;
  r.restarts = s.budget.total;
  r.window_restarts = s.budget.window_restarts;
  r.desired = s.want ? 1 : 0;
  r.phase = static_cast<std::uint32_t>(s.phase);
  r.consecutive = s.budget.consecutive;
  r.flags = (s.stop_wanted ? kStopWanted : 0u) | (s.hung ? kKilledHung : 0u);
  return r;
}

engine::Phase phase_of(const shm::SuperviseRecord& r) {
  return r.phase <= kLastPhase ? static_cast<engine::Phase>(r.phase) : engine::Phase::down;
}

engine::Supervisor::Snapshot from_record(const shm::SuperviseRecord& r) {
  engine::Supervisor::Snapshot s{};
  s.phase = phase_of(r);
  s.want = r.desired != 0;
  s.stop_wanted = (r.flags & kStopWanted) != 0;
  s.hung = (r.flags & kKilledHung) != 0;
  s.incarnation = r.incarnation;
  s.started_at = r.started_ns;
  s.restart_at = r.next_restart_ns;
  s.budget.window_start_ns = r.window_start_ns;
  s.budget.window_restarts = r.window_restarts;
  s.budget.consecutive = r.consecutive;
  s.budget.total = r.restarts;
  return s;
}

}  // namespace hamon::node
