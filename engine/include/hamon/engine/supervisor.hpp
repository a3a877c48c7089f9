// Supervisor: hamon-server's decisions, as pure logic. It is told what happened (a process was
// spawned, became ready, hung, exited; an operator asked for a start or stop; time passed) and
// answers with actions for the spawner (start, stop, kill) and notes for the event log.
//
// Rules (DESIGN.md, docs/configuration.md):
//  - a wanted process starts once everything it depends on is up; among those that may start,
//    higher priority first; independent ones together;
//  - a process is stopped only after everything that depends on it, directly or not, and is being
//    stopped with it is down, so stops run in reverse dependency order; those that may stop at
//    the same moment are stopped in reverse start order (lower priority first);
//  - an ended process is restarted by its RestartBudget; when it restarts, its dependents that
//    have restart_with_dependencies are stopped and started again after it is up;
//  - every report names the incarnation it is about; a report about an incarnation that is no
//    longer current is ignored, so duplicated or late reports do no harm;
//  - a process with spares is a family of instances (ProcessConfig::spares): it is up for its
//    dependents while any instance is up, an instance's end restarts that instance alone (its
//    dependents only when no instance is left up), and starting, stopping or restarting the
//    process does so to every instance; its dependents stop before any instance does.
//
// Not thread-safe; the server calls it from its one loop.
#ifndef HAMON_ENGINE_SUPERVISOR_HPP
#define HAMON_ENGINE_SUPERVISOR_HPP

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "hamon/engine/config.hpp"
#include "hamon/engine/plan.hpp"
#include "hamon/engine/restart.hpp"

namespace hamon::engine {

enum class Phase : std::uint8_t {
  down,      // not running and not wanted (or stayed down by its restart policy)
  waiting,   // wanted; waiting for its dependencies to be up
  starting,  // start requested or spawned; not ready yet
  up,        // ready
  stopping,  // stop or kill requested; waiting for it to exit
  backoff,   // ended; restart scheduled
  failed,    // restart budget exhausted; stays down until started by an operator
};
const char* to_string(Phase p) noexcept;

struct Action {
  enum class Kind : std::uint8_t { start, stop, kill };
  Kind kind;
  std::size_t process;
  std::uint64_t incarnation;
  std::uint64_t grace_ns;  // stop: SIGTERM, then SIGKILL after this long
};

struct Note {
  enum class Kind : std::uint8_t { restarting, failed, stopped, stayed_down };
  Kind kind;
  std::size_t process;
  std::uint64_t incarnation;
  std::int64_t value;  // restarting: delay in ns
  std::string detail;
};

class Supervisor {
 public:
  // `next_incarnation`: the first incarnation to hand out (a restarted server continues above
  // every incarnation it finds in use).
  Supervisor(const Config& config, std::uint64_t next_incarnation);

  // Operator commands.
  void start_all(std::uint64_t now);
  void stop_all(std::uint64_t now);
  // Also starts what it depends on (even below a process that is already wanted).
  void start(std::size_t i, std::uint64_t now);
  // Several at once: all are wanted before any starts, so priority orders them as a whole.
  void start(const std::vector<std::size_t>& processes, std::uint64_t now);
  void stop(std::size_t i, std::uint64_t now);     // also stops what depends on it
  void restart(std::size_t i, std::uint64_t now);  // stop, then start again (as start() does)

  // Reports from the spawner and the monitor.
  void on_spawned(std::size_t i, std::uint64_t incarnation, std::uint64_t now);
  void on_spawn_failed(std::size_t i, std::uint64_t incarnation, std::uint64_t now);
  void on_ready(std::size_t i, std::uint64_t incarnation, std::uint64_t now);
  void on_hung(std::size_t i, std::uint64_t incarnation, std::uint64_t now);
  void on_exited(std::size_t i, std::uint64_t incarnation, int wait_status, std::uint64_t now);

  // Starts what is due (restarts whose delay passed, processes whose dependencies came up).
  void tick(std::uint64_t now);

  [[nodiscard]] std::vector<Action> take_actions();
  [[nodiscard]] std::vector<Note> take_notes();
  // The earliest time tick() has something to do; UINT64_MAX if nothing is scheduled.
  [[nodiscard]] std::uint64_t next_deadline() const noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return procs_.size(); }
  [[nodiscard]] Phase phase(std::size_t i) const { return procs_[i].phase; }
  [[nodiscard]] std::uint64_t incarnation(std::size_t i) const { return procs_[i].incarnation; }
  [[nodiscard]] const RestartBudget::State& budget(std::size_t i) const {
    return procs_[i].budget.state();
  }
  [[nodiscard]] bool wanted(std::size_t i) const { return procs_[i].want; }
  // Every wanted process is up (and at least one is wanted).
  [[nodiscard]] bool all_up() const noexcept;
  // The instances of i's family, its first first (i itself alone when it has no spares).
  [[nodiscard]] std::vector<std::size_t> instances(std::size_t i) const;
  // Whether an instance of i's family other than i is up (and not being stopped).
  [[nodiscard]] bool family_up_besides(std::size_t i) const;
  // Nothing is running or about to run.
  [[nodiscard]] bool all_down() const noexcept;

  // A process's whole state, to carry it into a Supervisor built for a changed configuration
  // (`hamon reload`) or a restarted server.
  struct Snapshot {
    Phase phase;
    bool want, stop_wanted, hung;
    std::uint64_t incarnation, started_at, restart_at;
    RestartBudget::State budget;
  };
  [[nodiscard]] Snapshot snapshot(std::size_t i) const;
  // REQUIRES: before any other call about process i.
  void restore(std::size_t i, const Snapshot& s);
  // The incarnation the next start will take.
  [[nodiscard]] std::uint64_t next_incarnation() const noexcept { return next_incarnation_; }

 private:
  struct Proc {
    Phase phase = Phase::down;
    bool want = false;         // should be running
    bool stop_wanted = false;  // must be stopped (then started again if `want`)
    bool hung = false;         // killed because it hung
    std::uint64_t incarnation = 0;
    std::uint64_t started_at = 0;
    std::uint64_t restart_at = 0;
    RestartBudget budget;
  };

  void schedule(std::uint64_t now);
  void end(std::size_t i, int wait_status, bool spawn_failed, std::uint64_t now);
  void restart_dependents(std::size_t i);
  void mark_stop(std::size_t i, bool then_start);
  void mark_start(std::size_t i);
  [[nodiscard]] bool running(const Proc& p) const noexcept;
  // Whether something that depends on `i`, directly or not, is being stopped and still runs.
  // `memo` (one entry per process, 0 = not known yet) is shared across one schedule() pass.
  [[nodiscard]] bool dependents_being_stopped(std::size_t i, std::vector<std::uint8_t>& memo) const;

  const Config& config_;
  DependencyGraph graph_;
  std::vector<Proc> procs_;
  std::vector<std::size_t> head_;                  // by process: its family's first instance
  std::vector<std::vector<std::size_t>> members_;  // by head: its spare instances
  std::uint64_t next_incarnation_;
  std::vector<Action> actions_;
  std::vector<Note> notes_;
};

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_SUPERVISOR_HPP
