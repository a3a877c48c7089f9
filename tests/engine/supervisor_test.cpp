// Supervisor: hamon-server's decisions, as specified in supervisor.hpp, on small hand-made
// configurations, then on random ones with random events.
#include "hamon/engine/supervisor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config_test_support.hpp"

namespace hamon::engine {
namespace {

constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();
constexpr std::uint64_t t0 = 1'000'000'000'000;

// Wait statuses as waitpid() reports them.
constexpr int exit_status(int code) { return code << 8; }
constexpr int killed_by(int signal) { return signal; }

// A system process: its name, priority, what it depends on (bare names) and extra keys.
struct Spec {
  Spec(std::string n, int p = 50, std::vector<std::string> deps = {}, std::string more = "")
      : name(std::move(n)), priority(p), depends_on(std::move(deps)), extra(std::move(more)) {}
  std::string name;
  int priority;
  std::vector<std::string> depends_on;
  std::string extra;  // TOML lines, e.g. "restart = \"never\"\n"
};

std::string toml_of(const std::vector<Spec>& specs, std::string_view defaults) {
  std::string text = "[defaults]\n" + std::string(defaults);
  for (const Spec& s : specs) {
    text += "[[system.process]]\nname = \"" + s.name + "\"\ncommand = [\"/bin/" + s.name +
            "\"]\npriority = " + std::to_string(s.priority) + "\ndepends_on = [";
    for (std::size_t i = 0; i < s.depends_on.size(); ++i) {
      text += (i > 0 ? ", \"" : "\"") + s.depends_on[i] + "\"";
    }
    text += "]\n" + s.extra;
  }
  return text + std::string(test::valid_cluster);
}

Config config_of(const std::vector<Spec>& specs, std::string_view defaults) {
  ParseResult r = test::parse(toml_of(specs, defaults));
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(test::errors_of(r));
  return r.config ? std::move(*r.config) : Config{};
}

// Restarts are immediate unless a test says otherwise.
constexpr std::string_view quick = "restart_delay = \"0s\"\n";

// A configuration, a Supervisor on it, and shorthands by process name. Holds the Config the
// Supervisor refers to, so it is neither copied nor moved.
class Node {
 public:
  explicit Node(const std::vector<Spec>& specs, std::string_view defaults = quick,
                std::uint64_t first_incarnation = 1)
      : config_(config_of(specs, defaults)), sup(config_, first_incarnation) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  std::size_t id(std::string_view name) const {
    const auto i = config_.process_index("system/" + std::string(name));
    EXPECT_TRUE(i.has_value()) << name;
    return i.value_or(0);
  }
  std::string name(std::size_t i) const { return config_.processes.at(i).name; }
  const Config& config() const { return config_; }
  std::uint64_t inc(std::string_view n) const { return sup.incarnation(id(n)); }
  Phase phase(std::string_view n) const { return sup.phase(id(n)); }

  // The actions since the last call, as "start a", "stop b", "kill c"; each is also checked to
  // name the process's current incarnation.
  std::vector<std::string> acts() {
    last = sup.take_actions();
    std::vector<std::string> out;
    for (const Action& a : last) {
      const char* kind = a.kind == Action::Kind::start  ? "start "
                         : a.kind == Action::Kind::stop ? "stop "
                                                        : "kill ";
      out.push_back(kind + name(a.process));
      EXPECT_EQ(a.incarnation, sup.incarnation(a.process)) << out.back();
    }
    return out;
  }
  // The notes since the last call, as "restarting a", "failed b", ...
  std::vector<std::string> notes() {
    last_notes = sup.take_notes();
    std::vector<std::string> out;
    for (const Note& n : last_notes) {
      const char* kind = n.kind == Note::Kind::restarting ? "restarting "
                         : n.kind == Note::Kind::failed   ? "failed "
                         : n.kind == Note::Kind::stopped  ? "stopped "
                                                          : "stayed_down ";
      out.push_back(kind + name(n.process));
    }
    return out;
  }

  // The k-th action or note of the latest acts() or notes(); a failure if there is none.
  Action action(std::size_t k) const {
    if (k < last.size()) return last[k];
    ADD_FAILURE() << "no action #" << k;
    return {Action::Kind::start, 0, 0, 0};
  }
  Note note(std::size_t k) const {
    if (k < last_notes.size()) return last_notes[k];
    ADD_FAILURE() << "no note #" << k;
    return {Note::Kind::restarting, 0, 0, -1, "(none)"};
  }

  void spawned(std::string_view n, std::uint64_t now) { sup.on_spawned(id(n), inc(n), now); }
  void ready(std::string_view n, std::uint64_t now) { sup.on_ready(id(n), inc(n), now); }
  void hung(std::string_view n, std::uint64_t now) { sup.on_hung(id(n), inc(n), now); }
  void exited(std::string_view n, int status, std::uint64_t now) {
    sup.on_exited(id(n), inc(n), status, now);
  }
  void spawn_failed(std::string_view n, std::uint64_t now) {
    sup.on_spawn_failed(id(n), inc(n), now);
  }

  // Starts everything and makes each process ready as soon as it is started.
  void bring_up(std::uint64_t now) {
    sup.start_all(now);
    for (std::vector<Action> batch = sup.take_actions(); !batch.empty();
         batch = sup.take_actions()) {
      for (const Action& a : batch) {
        EXPECT_EQ(a.kind, Action::Kind::start);
        sup.on_spawned(a.process, a.incarnation, now);
        sup.on_ready(a.process, a.incarnation, now);
      }
    }
    EXPECT_TRUE(sup.all_up());
    (void)sup.take_notes();
  }

 private:
  Config config_;

 public:
  Supervisor sup;
  std::vector<Action> last;
  std::vector<Note> last_notes;
};

using Names = std::vector<std::string>;

// a <- b <- c: c depends on b, b on a. Priorities against the chain, so they cannot decide.
std::vector<Spec> chain() { return {{"a", 10, {}}, {"b", 50, {"a"}}, {"c", 90, {"b"}}}; }

std::vector<Spec> diamond() {
  return {{"top", 50, {}},
          {"left", 40, {"top"}},
          {"right", 60, {"top"}},
          {"bottom", 50, {"left", "right"}}};
}

// ---- start order -------------------------------------------------------------------------------

TEST(Supervisor, StartsAChainOneProcessAtATimeAsEachBecomesReady) {
  Node n(chain());
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.phase("a"), Phase::starting);
  EXPECT_EQ(n.phase("b"), Phase::waiting);
  EXPECT_EQ(n.phase("c"), Phase::waiting);
  n.spawned("a", t0 + 1);
  EXPECT_EQ(n.acts(), Names{});
  n.ready("a", t0 + 2);
  EXPECT_EQ(n.acts(), Names{"start b"});
  n.ready("b", t0 + 3);
  EXPECT_EQ(n.acts(), Names{"start c"});
  EXPECT_FALSE(n.sup.all_up());
  n.ready("c", t0 + 4);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_TRUE(n.sup.all_up());
}

TEST(Supervisor, StartsNothingBeforeItsDependenciesAreReady) {
  Node n(chain());
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.spawned("a", t0 + 1);
  for (std::uint64_t t = t0; t < t0 + 10'000 * ms; t += 100 * ms) n.sup.tick(t);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.phase("b"), Phase::waiting);
  EXPECT_EQ(n.sup.next_deadline(), never);
}

TEST(Supervisor, StartsIndependentProcessesTogetherHighestPriorityFirst) {
  Node n({{"a", 10, {}}, {"b", 90, {}}, {"c", 50, {}}, {"d", 70, {}}, {"e", 50, {}}});
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), (Names{"start b", "start d", "start c", "start e", "start a"}));
}

TEST(Supervisor, JoinsADiamondOnlyAfterBothBranchesAreReady) {
  Node n(diamond());
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), Names{"start top"});
  n.ready("top", t0 + 1);
  EXPECT_EQ(n.acts(), (Names{"start right", "start left"}));
  n.ready("right", t0 + 2);
  EXPECT_EQ(n.acts(), Names{});
  n.ready("left", t0 + 3);
  EXPECT_EQ(n.acts(), Names{"start bottom"});
}

TEST(Supervisor, StartsADependentOnceItsOwnDependenciesAreReadyWhateverElseIsStarting) {
  Node n({{"a", 50, {}}, {"slow", 90, {}}, {"b", 10, {"a"}}});
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), (Names{"start slow", "start a"}));
  n.ready("a", t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start b"});  // slow is still starting
}

TEST(Supervisor, StartsSeveralProcessesInPriorityOrderAsAWhole) {
  Node n({{"a", 10, {}}, {"b", 90, {}}, {"c", 50, {}}});
  n.sup.start({n.id("a"), n.id("b")}, t0);
  EXPECT_EQ(n.acts(), (Names{"start b", "start a"}));
  EXPECT_FALSE(n.sup.wanted(n.id("c")));
}

TEST(Supervisor, StartingAProcessAlsoStartsWhatItDependsOnAndNothingElse) {
  std::vector<Spec> specs = chain();
  specs.push_back({"other", 100, {}});
  Node n(specs);
  n.sup.start(n.id("c"), t0);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_TRUE(n.sup.wanted(n.id("a")));
  EXPECT_TRUE(n.sup.wanted(n.id("b")));
  EXPECT_FALSE(n.sup.wanted(n.id("other")));
  n.ready("a", t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start b"});
  n.ready("b", t0 + 2);
  EXPECT_EQ(n.acts(), Names{"start c"});
  n.ready("c", t0 + 3);
  EXPECT_TRUE(n.sup.all_up());
  EXPECT_EQ(n.phase("other"), Phase::down);
}

TEST(Supervisor, StartingAProcessThatIsAlreadyUpDoesNothing) {
  Node n(chain());
  n.bring_up(t0);
  const std::uint64_t b = n.inc("b");
  n.sup.start(n.id("b"), t0 + 1);
  n.sup.start_all(t0 + 2);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.inc("b"), b);
}

TEST(Supervisor, HandsOutIncarnationsFromTheGivenFirstOneAndNeverReusesThem) {
  Node n({{"a", 50, {}}, {"b", 40, {}}}, quick, 100);
  n.sup.start_all(t0);
  (void)n.acts();
  EXPECT_EQ(n.inc("a"), 100u);
  EXPECT_EQ(n.inc("b"), 101u);
  n.ready("a", t0 + 1);
  n.exited("a", exit_status(1), t0 + 2);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.inc("a"), 102u);

  Node zero({{"a", 50, {}}}, quick, 0);  // 0 is never an incarnation
  zero.sup.start_all(t0);
  (void)zero.acts();
  EXPECT_EQ(zero.inc("a"), 1u);
}

// ---- stop order --------------------------------------------------------------------------------

TEST(Supervisor, StopStopsDependentsFirstAndTheProcessLast) {
  std::vector<Spec> specs = chain();
  specs[0].extra = "stop_timeout = \"250ms\"\n";
  Node n(specs);
  n.bring_up(t0);
  n.sup.stop(n.id("a"), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"stop c"});
  EXPECT_EQ(n.action(0).grace_ns, 2'000 * ms);  // the default stop_timeout
  EXPECT_EQ(n.phase("c"), Phase::stopping);
  EXPECT_EQ(n.phase("a"), Phase::up);
  n.exited("c", killed_by(SIGTERM), t0 + 2);
  EXPECT_EQ(n.acts(), Names{"stop b"});
  n.exited("b", killed_by(SIGTERM), t0 + 3);
  EXPECT_EQ(n.acts(), Names{"stop a"});
  EXPECT_EQ(n.action(0).grace_ns, 250 * ms);
  EXPECT_FALSE(n.sup.all_down());
  n.exited("a", killed_by(SIGTERM), t0 + 4);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_TRUE(n.sup.all_down());
  EXPECT_EQ(n.notes(), (Names{"stopped c", "stopped b", "stopped a"}));
  for (const char* p : {"a", "b", "c"}) EXPECT_FALSE(n.sup.wanted(n.id(p))) << p;
}

TEST(Supervisor, StopLeavesWhatTheProcessDependsOnRunning) {
  Node n(chain());
  n.bring_up(t0);
  n.sup.stop(n.id("b"), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"stop c"});
  n.exited("c", killed_by(SIGTERM), t0 + 2);
  EXPECT_EQ(n.acts(), Names{"stop b"});
  n.exited("b", 0, t0 + 3);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.phase("a"), Phase::up);
  EXPECT_TRUE(n.sup.wanted(n.id("a")));
  EXPECT_TRUE(n.sup.all_up());  // a is the only one still wanted
}

TEST(Supervisor, StopWaitsForEveryDependentOfADiamond) {
  Node n(diamond());
  n.bring_up(t0);
  n.sup.stop(n.id("top"), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"stop bottom"});
  n.exited("bottom", 0, t0 + 2);
  EXPECT_EQ(n.acts(), (Names{"stop left", "stop right"}));  // reverse of right, left
  n.exited("left", 0, t0 + 3);
  EXPECT_EQ(n.acts(), Names{});
  n.exited("right", 0, t0 + 4);
  EXPECT_EQ(n.acts(), Names{"stop top"});
}

TEST(Supervisor, StopAllStopsInReverseStartOrder) {
  Node n({{"a", 90, {}}, {"b", 10, {}}, {"c", 50, {}}, {"x", 50, {}}, {"d", 50, {"a"}}});
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), (Names{"start a", "start c", "start x", "start b"}));
  for (const char* p : {"a", "c", "x", "b"}) n.ready(p, t0);
  EXPECT_EQ(n.acts(), Names{"start d"});
  n.ready("d", t0);
  ASSERT_TRUE(n.sup.all_up());
  n.sup.stop_all(t0 + 1);
  // a waits for d; the others go at once, lowest priority first, ties in reverse
  // configuration order.
  EXPECT_EQ(n.acts(), (Names{"stop b", "stop d", "stop x", "stop c"}));
  n.exited("d", 0, t0 + 2);
  EXPECT_EQ(n.acts(), Names{"stop a"});
}

TEST(Supervisor, StopWaitsForDependentsBehindOneThatIsDown) {
  // b stayed down after a crash; c, which depends on b, still runs. Stopping a must still wait
  // for c: c depends on a through b.
  Node n({{"a", 50, {}}, {"b", 50, {"a"}, "restart = \"never\"\n"}, {"c", 50, {"b"}}});
  n.bring_up(t0);
  n.exited("b", exit_status(1), t0 + 1);
  EXPECT_EQ(n.notes(), Names{"stayed_down b"});
  EXPECT_EQ(n.acts(), Names{});
  n.sup.stop_all(t0 + 2);
  EXPECT_EQ(n.acts(), Names{"stop c"});
  n.exited("c", 0, t0 + 3);
  EXPECT_EQ(n.acts(), Names{"stop a"});
}

TEST(Supervisor, StopAllCancelsPendingStartsAndRestarts) {
  Node n({{"a", 50, {}}, {"b", 50, {"a"}}, {"r", 50, {}, "restart_delay = \"10ms\"\n"}}, "");
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), (Names{"start a", "start r"}));
  n.ready("r", t0);
  n.exited("r", exit_status(1), t0 + 1);  // first restart: immediate
  EXPECT_EQ(n.acts(), Names{"start r"});
  n.ready("r", t0 + 2);
  n.exited("r", exit_status(1), t0 + 3);  // second: in 10 ms
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.phase("r"), Phase::backoff);
  EXPECT_EQ(n.phase("b"), Phase::waiting);

  n.sup.stop_all(t0 + 4);
  EXPECT_EQ(n.acts(), Names{"stop a"});
  EXPECT_EQ(n.phase("b"), Phase::down);
  EXPECT_EQ(n.phase("r"), Phase::down);
  EXPECT_EQ(n.sup.next_deadline(), never);
  n.exited("a", killed_by(SIGTERM), t0 + 5);
  n.sup.tick(t0 + 1'000 * ms);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_TRUE(n.sup.all_down());
}

TEST(Supervisor, AProcessStoppedWhileStartingIsStoppedAtOnce) {
  Node n(chain());
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.sup.stop(n.id("a"), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"stop a"});
  n.ready("a", t0 + 2);  // late news: it is being stopped
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.phase("a"), Phase::stopping);
  n.exited("a", killed_by(SIGTERM), t0 + 3);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_TRUE(n.sup.all_down());
}

TEST(Supervisor, StartDuringAStopStartsItAgainOnceItHasExited) {
  Node n({{"a", 50, {}}});
  n.bring_up(t0);
  const std::uint64_t first = n.inc("a");
  n.sup.stop(n.id("a"), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"stop a"});
  n.sup.start(n.id("a"), t0 + 2);
  EXPECT_EQ(n.acts(), Names{});
  n.exited("a", killed_by(SIGTERM), t0 + 3);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_GT(n.inc("a"), first);
  EXPECT_EQ(n.notes(), Names{});
}

// ---- restart policy ----------------------------------------------------------------------------

TEST(Supervisor, RestartsACrashedProcessAtOnceWithANewIncarnation) {
  Node n({{"a", 50, {}}});
  n.bring_up(t0);
  const std::uint64_t first = n.inc("a");
  n.exited("a", exit_status(3), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.inc("a"), first + 1);
  EXPECT_EQ(n.phase("a"), Phase::starting);
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  EXPECT_EQ(n.note(0).incarnation, first);
  EXPECT_EQ(n.note(0).value, 0);
  EXPECT_EQ(n.sup.budget(n.id("a")).window_restarts, 1u);
}

TEST(Supervisor, BacksOffFurtherRestartsAndStartsThemWhenTheirTimeComes) {
  Node n({{"a", 50, {}}}, "restart_delay = \"10ms\"\n");
  n.bring_up(t0);
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  n.ready("a", t0 + 2);
  const std::uint64_t t = t0 + 3;
  n.exited("a", exit_status(1), t);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.phase("a"), Phase::backoff);
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  EXPECT_EQ(n.note(0).value, static_cast<std::int64_t>(10 * ms));
  EXPECT_EQ(n.sup.next_deadline(), t + 10 * ms);
  EXPECT_FALSE(n.sup.all_down());
  n.sup.tick(t + 10 * ms - 1);
  EXPECT_EQ(n.acts(), Names{});
  n.sup.tick(t + 10 * ms);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.sup.next_deadline(), never);
}

TEST(Supervisor, LeavesACleanExitDownUnderOnFailure) {
  Node n({{"a", 50, {}, "restart = \"on-failure\"\n"}});
  n.bring_up(t0);
  n.exited("a", exit_status(0), t0 + 1);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.notes(), Names{"stayed_down a"});
  EXPECT_EQ(n.note(0).detail, "exited with status 0 (restart = on-failure)");
  EXPECT_EQ(n.phase("a"), Phase::down);
  EXPECT_FALSE(n.sup.wanted(n.id("a")));
  EXPECT_TRUE(n.sup.all_down());
}

TEST(Supervisor, RestartsFailuresAndSignalsUnderOnFailure) {
  Node n({{"a", 50, {}, "restart = \"on-failure\"\n"}});
  n.bring_up(t0);
  n.exited("a", exit_status(2), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.ready("a", t0 + 2);
  n.exited("a", killed_by(SIGSEGV), t0 + 3);
  EXPECT_EQ(n.acts(), Names{"start a"});
}

TEST(Supervisor, AlwaysRestartsEvenACleanExit) {
  Node n({{"a", 50, {}}});
  n.bring_up(t0);
  n.exited("a", exit_status(0), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start a"});
}

TEST(Supervisor, NeverLeavesACrashedProcessDown) {
  Node n({{"a", 50, {}, "restart = \"never\"\n"}});
  n.bring_up(t0);
  n.exited("a", killed_by(SIGKILL), t0 + 1);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.notes(), Names{"stayed_down a"});
  EXPECT_EQ(n.note(0).detail, "restart = never");
  EXPECT_EQ(n.phase("a"), Phase::down);
}

TEST(Supervisor, KillsAHungProcessAndRestartsItOnlyAfterItExits) {
  Node n({{"a", 50, {}, "restart = \"on-failure\"\n"}});
  n.bring_up(t0);
  const std::uint64_t first = n.inc("a");
  n.hung("a", t0 + 1);
  EXPECT_EQ(n.acts(), Names{"kill a"});
  EXPECT_EQ(n.action(0).incarnation, first);
  EXPECT_EQ(n.phase("a"), Phase::stopping);
  n.sup.tick(t0 + 1'000 * ms);
  EXPECT_EQ(n.acts(), Names{});
  // Even a status of 0 after the kill is a hang: restarted under on-failure.
  n.exited("a", exit_status(0), t0 + 2'000 * ms);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  EXPECT_GT(n.inc("a"), first);
}

TEST(Supervisor, KillsAProcessThatHangsWhileStarting) {
  Node n(chain());
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.hung("a", t0 + 1);
  EXPECT_EQ(n.acts(), Names{"kill a"});
  n.exited("a", killed_by(SIGKILL), t0 + 2);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.phase("b"), Phase::waiting);
}

TEST(Supervisor, GivesUpAfterTheRestartBudgetAndStartsNothingMore) {
  Node n({{"a", 50, {}, "restart_budget = 2\n"}, {"b", 50, {"a"}}});
  n.bring_up(t0);
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  EXPECT_EQ(n.acts(), (Names{"stop b", "start a"}));
  n.exited("b", killed_by(SIGTERM), t0 + 2);
  n.exited("a", exit_status(1), t0 + 3);  // before it was ready
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  n.exited("a", exit_status(1), t0 + 10);
  EXPECT_EQ(n.notes(), Names{"failed a"});
  EXPECT_EQ(n.note(0).detail, "restarted 2 times within restart_window");
  EXPECT_EQ(n.phase("a"), Phase::failed);
  EXPECT_FALSE(n.sup.wanted(n.id("a")));
  (void)n.acts();
  for (std::uint64_t t = t0; t < t0 + 3'600'000 * ms; t += 60'000 * ms) n.sup.tick(t);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.sup.next_deadline(), never);
  EXPECT_EQ(n.phase("b"), Phase::waiting);  // wanted, waiting for a
  EXPECT_FALSE(n.sup.all_up());
}

TEST(Supervisor, StartAfterFailureForgetsTheBudget) {
  Node n({{"a", 50, {}, "restart_budget = 1\nrestart_delay = \"5ms\"\n"}}, "");
  n.bring_up(t0);
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.exited("a", exit_status(1), t0 + 2);
  EXPECT_EQ(n.phase("a"), Phase::failed);
  EXPECT_TRUE(n.sup.all_down());
  n.sup.start(n.id("a"), t0 + 3);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.sup.budget(n.id("a")).window_restarts, 0u);
  EXPECT_EQ(n.sup.budget(n.id("a")).consecutive, 0u);
  EXPECT_EQ(n.sup.budget(n.id("a")).total, 1u);
  n.ready("a", t0 + 4);
  n.exited("a", exit_status(1), t0 + 5);
  EXPECT_EQ(n.acts(), Names{"start a"});  // immediate again, and within budget
}

TEST(Supervisor, TreatsAFailedSpawnAsAFailure) {
  Node n({{"a", 50, {}, "restart_budget = 1\nrestart = \"on-failure\"\n"}});
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), Names{"start a"});
  const std::uint64_t first = n.inc("a");
  n.spawn_failed("a", t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  EXPECT_GT(n.inc("a"), first);
  n.spawn_failed("a", t0 + 2);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.notes(), Names{"failed a"});
}

TEST(Supervisor, ASpawnFailureOfAProcessBeingStoppedCompletesTheStop) {
  Node n({{"a", 50, {}}});
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.sup.stop(n.id("a"), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"stop a"});
  n.spawn_failed("a", t0 + 2);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.notes(), Names{"stopped a"});
  EXPECT_TRUE(n.sup.all_down());
}

TEST(Supervisor, MeasuresUptimeFromTheSpawnToTellAStableRun) {
  Node n({{"a", 50, {}}}, "restart_delay = \"1ms\"\nrestart_delay_max = \"100ms\"\n");
  n.bring_up(t0);
  n.exited("a", exit_status(1), t0 + 1);  // first: immediate
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  EXPECT_EQ(n.note(0).value, 0);
  const std::uint64_t start = t0 + 1;
  n.spawned("a", start + 50 * ms);  // the spawn took 50 ms
  n.ready("a", start + 50 * ms);
  // 120 ms after the start request, 70 ms after the spawn: not stable.
  n.exited("a", exit_status(1), start + 120 * ms);
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  EXPECT_EQ(n.note(0).value, static_cast<std::int64_t>(1 * ms));
  n.sup.tick(start + 121 * ms);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.spawned("a", start + 121 * ms);
  n.ready("a", start + 121 * ms);
  // A run of restart_delay_max is stable: immediate again.
  n.exited("a", exit_status(1), start + 221 * ms);
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  EXPECT_EQ(n.note(0).value, 0);
}

// ---- dependents of a restarting process --------------------------------------------------------

TEST(Supervisor, RestartsDependentsOnlyAfterTheirDependencyIsUpAgain) {
  Node n({{"a", 50, {}}, {"b", 50, {"a"}}});
  n.bring_up(t0);
  const std::uint64_t b1 = n.inc("b");
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), (Names{"stop b", "start a"}));
  EXPECT_EQ(n.action(0).incarnation, b1);
  EXPECT_EQ(n.notes(), Names{"restarting a"});  // b's stop is part of a's restart
  n.exited("b", killed_by(SIGTERM), t0 + 2);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.phase("b"), Phase::waiting);
  EXPECT_EQ(n.notes(), Names{});
  n.ready("a", t0 + 3);
  EXPECT_EQ(n.acts(), Names{"start b"});
  EXPECT_GT(n.inc("b"), b1);
  EXPECT_EQ(n.sup.budget(n.id("b")).total, 0u);  // not a failure of b
}

TEST(Supervisor, ADependentStillStoppingWhenItsDependencyIsUpStartsOnceItHasExited) {
  Node n({{"a", 50, {}}, {"b", 50, {"a"}}});
  n.bring_up(t0);
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), (Names{"stop b", "start a"}));
  n.ready("a", t0 + 2);
  EXPECT_EQ(n.acts(), Names{});
  n.exited("b", killed_by(SIGTERM), t0 + 3);
  EXPECT_EQ(n.acts(), Names{"start b"});
}

TEST(Supervisor, DependentsThatOptOutKeepRunningWhenTheirDependencyRestarts) {
  Node n(
      {{"a", 50, {}}, {"b", 50, {"a"}, "restart_with_dependencies = false\n"}, {"c", 50, {"a"}}});
  n.bring_up(t0);
  const std::uint64_t b1 = n.inc("b");
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), (Names{"stop c", "start a"}));
  EXPECT_EQ(n.phase("b"), Phase::up);
  EXPECT_EQ(n.inc("b"), b1);
}

TEST(Supervisor, RestartsTheWholeChainOfDependentsInOrder) {
  Node n(chain());
  n.bring_up(t0);
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), (Names{"stop c", "start a"}));  // b waits for c to exit
  n.exited("c", killed_by(SIGTERM), t0 + 2);
  EXPECT_EQ(n.acts(), Names{"stop b"});
  n.ready("a", t0 + 3);
  EXPECT_EQ(n.acts(), Names{});  // b is still stopping
  n.exited("b", killed_by(SIGTERM), t0 + 4);
  EXPECT_EQ(n.acts(), Names{"start b"});
  n.ready("b", t0 + 5);
  EXPECT_EQ(n.acts(), Names{"start c"});
  n.ready("c", t0 + 6);
  EXPECT_TRUE(n.sup.all_up());
}

TEST(Supervisor, ADependentInBackoffWaitsForItsRestartingDependencyInstead) {
  Node n({{"a", 50, {}}, {"b", 50, {"a"}, "restart_delay = \"1s\"\n"}});
  n.bring_up(t0);
  n.exited("b", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start b"});  // first: immediate
  n.ready("b", t0 + 2);
  n.exited("b", exit_status(1), t0 + 3);
  EXPECT_EQ(n.phase("b"), Phase::backoff);
  n.exited("a", exit_status(1), t0 + 4);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.phase("b"), Phase::waiting);
  n.ready("a", t0 + 5);
  EXPECT_EQ(n.acts(), Names{"start b"});
}

TEST(Supervisor, OperatorRestartStopsDependentsFirstThenStartsEverythingBackInOrder) {
  Node n(chain());
  n.bring_up(t0);
  const std::uint64_t a1 = n.inc("a");
  n.sup.restart(n.id("a"), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"stop c"});
  n.exited("c", killed_by(SIGTERM), t0 + 2);
  EXPECT_EQ(n.acts(), Names{"stop b"});
  n.exited("b", killed_by(SIGTERM), t0 + 3);
  EXPECT_EQ(n.acts(), Names{"stop a"});
  EXPECT_EQ(n.action(0).incarnation, a1);
  n.exited("a", killed_by(SIGTERM), t0 + 4);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.ready("a", t0 + 5);
  EXPECT_EQ(n.acts(), Names{"start b"});
  n.ready("b", t0 + 6);
  EXPECT_EQ(n.acts(), Names{"start c"});
  EXPECT_EQ(n.notes(), Names{});  // nothing stopped for good, nothing failed
  EXPECT_EQ(n.sup.budget(n.id("a")).total, 0u);
}

TEST(Supervisor, ADependentDoesNotStartAgainWhileItsDependencyWaitsToBeStopped) {
  Node n({{"a", 50, {}}, {"b", 50, {"a"}}, {"c", 50, {"a"}}});
  n.bring_up(t0);
  n.sup.restart(n.id("a"), t0 + 1);
  EXPECT_EQ(n.acts(), (Names{"stop c", "stop b"}));
  n.exited("c", killed_by(SIGTERM), t0 + 2);
  EXPECT_EQ(n.acts(), Names{});  // a is still up, but on its way down
  EXPECT_EQ(n.phase("c"), Phase::waiting);
  n.exited("b", killed_by(SIGTERM), t0 + 3);
  EXPECT_EQ(n.acts(), Names{"stop a"});
  n.exited("a", killed_by(SIGTERM), t0 + 4);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.ready("a", t0 + 5);
  EXPECT_EQ(n.acts(), (Names{"start b", "start c"}));
}

TEST(Supervisor, RestartOfAProcessThatIsNotRunningStartsIt) {
  Node n(chain());
  n.sup.restart(n.id("b"), t0);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.ready("a", t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start b"});
  EXPECT_FALSE(n.sup.wanted(n.id("c")));
}

TEST(Supervisor, RestartDuringAStopOfItsDependencyStartsTheDependencyAgainToo) {
  Node n({{"a", 50, {}}, {"b", 50, {"a"}}});
  n.bring_up(t0);
  n.sup.stop(n.id("a"), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"stop b"});
  n.sup.restart(n.id("b"), t0 + 2);  // the operator changes their mind about b
  n.exited("b", killed_by(SIGTERM), t0 + 3);
  EXPECT_EQ(n.acts(), Names{"stop a"});
  n.exited("a", killed_by(SIGTERM), t0 + 4);
  EXPECT_EQ(n.acts(), Names{"start a"});
  n.ready("a", t0 + 5);
  EXPECT_EQ(n.acts(), Names{"start b"});
}

TEST(Supervisor, StartingADependentAlsoStartsItsFailedDependency) {
  Node n({{"a", 50, {}, "restart_budget = 1\n"}, {"b", 50, {"a"}}});
  n.bring_up(t0);
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), (Names{"stop b", "start a"}));
  n.exited("b", killed_by(SIGTERM), t0 + 2);
  n.exited("a", exit_status(1), t0 + 3);  // before it was ready: out of budget
  EXPECT_EQ(n.phase("a"), Phase::failed);
  EXPECT_EQ(n.phase("b"), Phase::waiting);
  (void)n.acts();
  n.sup.start(n.id("b"), t0 + 4);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.sup.budget(n.id("a")).window_restarts, 0u);
  n.ready("a", t0 + 5);
  EXPECT_EQ(n.acts(), Names{"start b"});
}

TEST(Supervisor, StartingARunningDependentAlsoStartsADependencyThatStayedDown) {
  Node n({{"a", 50, {}, "restart = \"never\"\n"}, {"b", 50, {"a"}}});
  n.bring_up(t0);
  const std::uint64_t b1 = n.inc("b");
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.notes(), Names{"stayed_down a"});
  EXPECT_EQ(n.acts(), Names{});
  n.sup.start(n.id("b"), t0 + 2);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.inc("b"), b1);
}

// ---- stale and duplicate reports ---------------------------------------------------------------

TEST(Supervisor, IgnoresReportsAboutAnotherIncarnation) {
  Node n(chain());
  n.bring_up(t0);
  const std::size_t a = n.id("a");
  const std::uint64_t cur = n.inc("a");
  for (std::uint64_t other : {cur - 1, cur + 1, std::uint64_t{0}, never}) {
    n.sup.on_spawned(a, other, t0 + 1);
    n.sup.on_ready(a, other, t0 + 1);
    n.sup.on_hung(a, other, t0 + 1);
    n.sup.on_exited(a, other, exit_status(1), t0 + 1);
    n.sup.on_spawn_failed(a, other, t0 + 1);
  }
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.notes(), Names{});
  EXPECT_EQ(n.phase("a"), Phase::up);
  EXPECT_EQ(n.inc("a"), cur);
  EXPECT_EQ(n.sup.budget(a).total, 0u);
}

TEST(Supervisor, IgnoresAnExitReportedTwice) {
  Node n({{"a", 50, {}}});
  n.bring_up(t0);
  const std::size_t a = n.id("a");
  const std::uint64_t first = n.inc("a");
  n.exited("a", exit_status(1), t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.notes(), Names{"restarting a"});
  n.sup.on_exited(a, first, exit_status(1), t0 + 2);  // the same exit again
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.notes(), Names{});
  EXPECT_EQ(n.phase("a"), Phase::starting);
  EXPECT_EQ(n.inc("a"), first + 1);
  EXPECT_EQ(n.sup.budget(a).window_restarts, 1u);
}

TEST(Supervisor, IgnoresAnExitReportedTwiceWhileTheRestartWaits) {
  Node n({{"a", 50, {}}}, "restart_delay = \"10ms\"\n");
  n.bring_up(t0);
  n.exited("a", exit_status(1), t0 + 1);
  (void)n.acts();
  n.ready("a", t0 + 2);
  n.exited("a", exit_status(1), t0 + 3);
  EXPECT_EQ(n.phase("a"), Phase::backoff);
  n.exited("a", exit_status(1), t0 + 4);  // same incarnation, reported again
  EXPECT_EQ(n.phase("a"), Phase::backoff);
  EXPECT_EQ(n.sup.next_deadline(), t0 + 3 + 10 * ms);
  EXPECT_EQ(n.sup.budget(n.id("a")).window_restarts, 2u);
}

TEST(Supervisor, IgnoresAReadyOrAHangReportedTwice) {
  Node n(chain());
  n.sup.start_all(t0);
  (void)n.acts();
  n.ready("a", t0 + 1);
  EXPECT_EQ(n.acts(), Names{"start b"});
  n.ready("a", t0 + 2);
  EXPECT_EQ(n.acts(), Names{});
  n.ready("b", t0 + 3);
  (void)n.acts();
  n.hung("b", t0 + 4);
  EXPECT_EQ(n.acts(), Names{"kill b"});
  n.hung("b", t0 + 5);
  n.ready("b", t0 + 5);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.phase("b"), Phase::stopping);
}

TEST(Supervisor, IgnoresReportsAboutAProcessThatWasNeverStarted) {
  Node n({{"a", 50, {}}});
  const std::size_t a = n.id("a");
  n.sup.on_spawned(a, 0, t0);
  n.sup.on_ready(a, 0, t0);
  n.sup.on_hung(a, 0, t0);
  n.sup.on_exited(a, 0, 0, t0);
  n.sup.on_spawn_failed(a, 0, t0);
  EXPECT_EQ(n.acts(), Names{});
  EXPECT_EQ(n.notes(), Names{});
  EXPECT_EQ(n.phase("a"), Phase::down);
}

// ---- summaries ---------------------------------------------------------------------------------

TEST(Supervisor, AllUpOnlyOnceEveryWantedProcessIsReady) {
  Node n({{"a", 50, {}}, {"b", 50, {}}});
  EXPECT_FALSE(n.sup.all_up());  // nothing is wanted
  n.sup.start(n.id("a"), t0);
  EXPECT_FALSE(n.sup.all_up());
  n.ready("a", t0 + 1);
  EXPECT_TRUE(n.sup.all_up());  // b is not wanted
  n.sup.start(n.id("b"), t0 + 2);
  EXPECT_FALSE(n.sup.all_up());
  n.ready("b", t0 + 3);
  EXPECT_TRUE(n.sup.all_up());
  n.exited("b", exit_status(1), t0 + 4);
  EXPECT_FALSE(n.sup.all_up());
}

TEST(Supervisor, AllDownOnlyOnceNothingRunsOrIsAboutToRun) {
  Node n({{"a", 50, {}}, {"b", 50, {"a"}}}, "restart_delay = \"10ms\"\n");
  EXPECT_TRUE(n.sup.all_down());
  n.sup.start_all(t0);
  EXPECT_FALSE(n.sup.all_down());
  n.bring_up(t0);
  n.sup.stop(n.id("b"), t0 + 1);
  (void)n.acts();
  EXPECT_FALSE(n.sup.all_down());  // b is stopping, a runs
  n.exited("b", 0, t0 + 2);
  n.sup.stop(n.id("a"), t0 + 3);
  EXPECT_FALSE(n.sup.all_down());
  n.exited("a", 0, t0 + 4);
  EXPECT_TRUE(n.sup.all_down());
}

TEST(Supervisor, NextDeadlineIsTheEarliestScheduledRestart) {
  Node n({{"a", 50, {}, "restart_delay = \"10ms\"\n"}, {"b", 50, {}, "restart_delay = \"3ms\"\n"}},
         "");
  n.bring_up(t0);
  EXPECT_EQ(n.sup.next_deadline(), never);
  for (const char* p : {"a", "b"}) {
    n.exited(p, exit_status(1), t0 + 1);
    n.ready(p, t0 + 2);
  }
  (void)n.acts();
  const std::uint64_t t = t0 + 3;
  for (const char* p : {"a", "b"}) n.exited(p, exit_status(1), t);
  EXPECT_EQ(n.sup.next_deadline(), t + 3 * ms);
  n.sup.tick(t + 3 * ms);
  EXPECT_EQ(n.acts(), Names{"start b"});
  EXPECT_EQ(n.sup.next_deadline(), t + 10 * ms);
  n.sup.tick(t + 10 * ms);
  EXPECT_EQ(n.acts(), Names{"start a"});
  EXPECT_EQ(n.sup.next_deadline(), never);
}

TEST(Supervisor, PhasesHaveNames) {
  const std::vector<std::pair<Phase, std::string>> names{
      {Phase::down, "down"},    {Phase::waiting, "waiting"},   {Phase::starting, "starting"},
      {Phase::up, "up"},        {Phase::stopping, "stopping"}, {Phase::backoff, "backoff"},
      {Phase::failed, "failed"}};
  for (const auto& [p, s] : names) EXPECT_EQ(std::string(to_string(p)), s);
}

// ---- random configurations, random events ------------------------------------------------------

bool running(Phase p) { return p == Phase::starting || p == Phase::up || p == Phase::stopping; }

// Whether the Supervisor is stopping `k` on request (rather than, say, only killing it because
// it hung): asked on a copy, by reporting its exit there. A stop on request ends in a `stopped`
// note, or in no note at all when it is to start again; any other end gets a restart decision.
bool being_stopped(const Supervisor& s, std::size_t k, std::uint64_t now) {
  Supervisor probe = s;
  (void)probe.take_actions();
  (void)probe.take_notes();
  const bool wanted = probe.wanted(k);
  probe.on_exited(k, probe.incarnation(k), 0, now);
  for (const Note& n : probe.take_notes()) {
    if (n.process == k) return n.kind == Note::Kind::stopped;
  }
  return wanted;
}

// The world as the spawner and the monitor see it: which incarnation of each process is alive.
struct World {
  struct Proc {
    std::uint64_t live = 0;  // incarnation of the running process; 0: none
    bool spawned = false, ready = false, signalled = false;
    std::uint64_t last_start = 0;        // incarnation of the latest start action
    std::vector<std::uint64_t> history;  // every incarnation started
  };

  const Config& config;
  Supervisor& sup;
  DependencyGraph graph;
  std::vector<Proc> procs;
  std::vector<std::vector<std::size_t>> below;  // transitive dependents of each process
  std::uint64_t now = t0;
  std::uint64_t max_incarnation = 0;

  World(const Config& c, Supervisor& s)
      : config(c), sup(s), graph(c), procs(c.processes.size()), below(c.processes.size()) {
    for (std::size_t i = 0; i < procs.size(); ++i) {
      std::vector<bool> seen(procs.size(), false);
      std::vector<std::size_t> todo(graph.dependents(i).begin(), graph.dependents(i).end());
      while (!todo.empty()) {
        const std::size_t k = todo.back();
        todo.pop_back();
        if (seen[k]) continue;
        seen[k] = true;
        below[i].push_back(k);
        for (std::size_t d : graph.dependents(k)) todo.push_back(d);
      }
    }
  }

  std::string what(std::size_t i) const { return config.processes[i].name; }

  // Applies the actions of the latest call, checking every invariant on the way.
  void absorb(const std::string& event) {
    SCOPED_TRACE(event);
    const std::vector<Action> actions = sup.take_actions();
    for (const Note& n : sup.take_notes()) ASSERT_LT(n.process, procs.size());
    for (const Action& a : actions) {
      ASSERT_LT(a.process, procs.size());
      Proc& p = procs[a.process];
      const std::string who = what(a.process);
      switch (a.kind) {
        case Action::Kind::start:
          ASSERT_EQ(p.live, 0u) << "second start of " << who << " without an exit in between";
          ASSERT_GT(a.incarnation, max_incarnation) << who << ": incarnation reused";
          ASSERT_GT(a.incarnation, p.last_start);
          for (std::size_t d : graph.dependencies(a.process)) {
            const Proc& q = procs[d];
            ASSERT_TRUE(sup.phase(d) == Phase::up && q.live != 0 && q.ready && !q.signalled)
                << who << " started while its dependency " << what(d) << " is not up";
            ASSERT_FALSE(being_stopped(sup, d, now))
                << who << " started while its dependency " << what(d) << " is to be stopped";
          }
          max_incarnation = a.incarnation;
          p = Proc{a.incarnation, false, false, false, a.incarnation, p.history};
          p.history.push_back(a.incarnation);
          break;
        case Action::Kind::stop:
        case Action::Kind::kill:
          ASSERT_NE(p.live, 0u) << "stop or kill of " << who << ", which is not running";
          ASSERT_EQ(a.incarnation, p.live) << who;
          ASSERT_FALSE(p.signalled) << who << " stopped twice";
          if (a.kind == Action::Kind::stop) {
            for (std::size_t k : below[a.process]) {
              if (procs[k].live == 0) continue;
              ASSERT_FALSE(being_stopped(sup, k, now))
                  << who << " stopped while " << what(k) << ", which depends on it and is "
                  << "being stopped, still runs";
            }
          }
          p.signalled = true;
          break;
      }
    }
    // The Supervisor's view matches the world's.
    for (std::size_t i = 0; i < procs.size(); ++i) {
      ASSERT_EQ(running(sup.phase(i)), procs[i].live != 0)
          << what(i) << " is " << to_string(sup.phase(i));
      if (procs[i].live != 0) {
        ASSERT_EQ(sup.incarnation(i), procs[i].live) << what(i);
      }
    }
  }

  // Lets every started process become ready, every stopped one exit, every restart come due.
  void settle() {
    for (int round = 0; round < 10'000; ++round) {
      bool progress = false;
      for (std::size_t i = 0; i < procs.size(); ++i) {
        Proc& p = procs[i];
        if (p.live == 0) continue;
        if (!p.spawned) {
          p.spawned = true;
          sup.on_spawned(i, p.live, now);
        } else if (p.signalled) {
          const std::uint64_t inc = p.live;
          p.live = 0;
          sup.on_exited(i, inc, killed_by(SIGTERM), now);
        } else if (!p.ready) {
          p.ready = true;
          sup.on_ready(i, p.live, now);
        } else {
          continue;
        }
        progress = true;
        absorb("settling");
        if (::testing::Test::HasFatalFailure()) return;
      }
      if (!progress) {
        if (sup.next_deadline() == never) return;
        now = std::max(now, sup.next_deadline());
        sup.tick(now);
        absorb("settling: tick");
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    FAIL() << "does not settle";
  }

  // Whether a wanted process that waits is held back by something nobody wants.
  bool blocked(std::size_t i) const {
    for (std::size_t d : graph.dependencies(i)) {
      if (!sup.wanted(d)) return true;
      if (sup.phase(d) == Phase::waiting && blocked(d)) return true;
    }
    return false;
  }

  // Once settled, everything is where it belongs.
  void check_settled() {
    for (std::size_t i = 0; i < procs.size(); ++i) {
      const Phase ph = sup.phase(i);
      if (!sup.wanted(i)) {
        ASSERT_TRUE(ph == Phase::down || ph == Phase::failed) << what(i) << ": " << to_string(ph);
        continue;
      }
      ASSERT_TRUE(ph == Phase::up || ph == Phase::waiting) << what(i) << ": " << to_string(ph);
      if (ph == Phase::waiting) {
        ASSERT_TRUE(blocked(i)) << what(i) << " waits for nothing";
      }
      if (ph == Phase::up) {
        ASSERT_FALSE(being_stopped(sup, i, now)) << what(i) << ": stuck stop";
      }
    }
  }

  void expect_up_with_dependencies(std::size_t i) {
    ASSERT_EQ(sup.phase(i), Phase::up) << what(i);
    for (std::size_t d : graph.dependencies(i)) expect_up_with_dependencies(d);
  }
};

// Up to 9 system processes in a random DAG, with random priorities and restart settings.
std::vector<Spec> random_specs(std::mt19937& rng) {
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  const int n = 2 + pick(8);
  const bool all_follow = pick(3) != 0;  // most configurations keep restart_with_dependencies
  std::vector<int> rank(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) rank[static_cast<std::size_t>(i)] = i;
  std::shuffle(rank.begin(), rank.end(), rng);
  std::vector<Spec> specs;
  const char* policies[] = {"always", "always", "on-failure", "never"};
  const char* delays[] = {"0s", "1ms", "2ms"};
  for (int i = 0; i < n; ++i) {
    // Appended, not `"p" + std::to_string(i)`: GCC 12 -O3 false -Wrestrict (its bug 105651).
    Spec s{std::string("p").append(std::to_string(i)), 10 + 40 * pick(3), {}, ""};
    for (int j = 0; j < n; ++j) {
      if (rank[static_cast<std::size_t>(j)] < rank[static_cast<std::size_t>(i)] && pick(3) == 0) {
        s.depends_on.push_back(std::string("p").append(std::to_string(j)));
      }
    }
    s.extra = "restart = \"" + std::string(policies[pick(4)]) + "\"\nrestart_delay = \"" +
              delays[pick(3)] +
              "\"\nrestart_delay_max = \"4ms\"\nrestart_budget = " + std::to_string(1 + pick(4)) +
              "\nrestart_window = \"50ms\"\n" +
              (all_follow || pick(2) == 0 ? "" : "restart_with_dependencies = false\n");
    specs.push_back(std::move(s));
  }
  return specs;
}

TEST(Supervisor, RandomEventsOnRandomConfigurationsKeepEveryInvariant) {
  std::mt19937 rng(20240611);
  auto pick = [&](std::size_t n) {
    return static_cast<std::size_t>(std::uniform_int_distribution<std::size_t>(0, n - 1)(rng));
  };
  for (int run = 0; run < 300; ++run) {
    SCOPED_TRACE("configuration " + std::to_string(run));
    Node node(random_specs(rng), "");
    Supervisor& sup = node.sup;
    World w(node.config(), sup);
    const std::size_t n = sup.size();
    sup.start_all(w.now);
    w.absorb("start_all");
    for (int step = 0; step < 300 && !::testing::Test::HasFatalFailure(); ++step) {
      const std::size_t i = pick(n);
      World::Proc& p = w.procs[i];
      const std::string who = w.what(i);
      switch (pick(20)) {
        case 0:
          sup.start(i, w.now);
          w.absorb("start " + who);
          break;
        case 1:
          sup.stop(i, w.now);
          w.absorb("stop " + who);
          break;
        case 2:
          sup.restart(i, w.now);
          w.absorb("restart " + who);
          break;
        case 3:
          if (pick(3) == 0) {
            sup.start_all(w.now);
            w.absorb("start_all");
          } else if (pick(2) == 0) {
            sup.stop_all(w.now);
            w.absorb("stop_all");
          } else {
            std::vector<std::size_t> some;
            for (std::size_t k = 0; k < n; ++k) {
              if (pick(2) == 0) some.push_back(k);
            }
            sup.start(some, w.now);
            w.absorb("start several");
          }
          break;
        case 4:
        case 5: {  // time passes
          w.now += pick(2) == 0 && sup.next_deadline() != never
                       ? std::max(w.now, sup.next_deadline()) - w.now
                       : pick(3 * ms);
          sup.tick(w.now);
          w.absorb("tick");
          break;
        }
        case 6: {  // a stale or duplicate report
          if (p.history.empty()) break;
          std::uint64_t old = p.history[pick(p.history.size())];
          if (old == p.live) old = pick(2) == 0 ? 0 : w.max_incarnation + 1 + pick(1000);
          const Phase before = sup.phase(i);
          const std::uint64_t inc_before = sup.incarnation(i);
          switch (pick(5)) {
            case 0: sup.on_spawned(i, old, w.now); break;
            case 1: sup.on_ready(i, old, w.now); break;
            case 2: sup.on_hung(i, old, w.now); break;
            case 3: sup.on_exited(i, old, exit_status(1), w.now); break;
            default: sup.on_spawn_failed(i, old, w.now); break;
          }
          ASSERT_TRUE(sup.take_actions().empty()) << "acted on a stale report about " << who;
          ASSERT_TRUE(sup.take_notes().empty());
          ASSERT_EQ(sup.phase(i), before);
          ASSERT_EQ(sup.incarnation(i), inc_before);
          break;
        }
        default: {  // news about a running process
          if (p.live == 0) break;
          const std::uint64_t inc = p.live;
          if (!p.spawned) {
            if (pick(6) == 0) {
              p.live = 0;
              sup.on_spawn_failed(i, inc, w.now);
              w.absorb("spawn of " + who + " failed");
            } else {
              p.spawned = true;
              sup.on_spawned(i, inc, w.now);
              w.absorb("spawned " + who);
            }
          } else if (p.signalled && pick(2) == 0) {
            p.live = 0;
            sup.on_exited(i, inc, killed_by(SIGTERM), w.now);
            w.absorb(who + " exited as asked");
          } else if (!p.ready && pick(2) == 0) {
            p.ready = true;
            sup.on_ready(i, inc, w.now);
            w.absorb(who + " ready");
          } else if (pick(3) == 0) {
            sup.on_hung(i, inc, w.now);
            w.absorb(who + " hung");
          } else {
            const int statuses[] = {exit_status(0), exit_status(1), killed_by(SIGKILL)};
            p.live = 0;
            sup.on_exited(i, inc, statuses[pick(3)], w.now);
            w.absorb(who + " crashed");
          }
          break;
        }
      }
      if (step % 50 == 49) {
        w.settle();
        w.check_settled();
      }
    }
    if (::testing::Test::HasFatalFailure()) return;
    w.settle();
    w.check_settled();
    // Whatever happened, a start brings a process and what it depends on up...
    const std::size_t s = pick(n);
    sup.start(s, w.now);
    w.absorb("final start");
    w.settle();
    w.expect_up_with_dependencies(s);
    // ...and so does a restart...
    const std::size_t r = pick(n);
    sup.restart(r, w.now);
    w.absorb("final restart");
    w.settle();
    w.expect_up_with_dependencies(r);
    // ...and stop_all brings everything down.
    sup.stop_all(w.now);
    w.absorb("final stop_all");
    w.settle();
    ASSERT_TRUE(sup.all_down());
    for (const World::Proc& q : w.procs) ASSERT_EQ(q.live, 0u);
  }
}

// Warm spares: a process with spares is a family of instances (svc, svc~1, ...).
constexpr std::string_view explicit_ready = "ready = \"explicit\"\nspares = 1\n";

TEST(SupervisorSpares, ItsDependentStartsOnceAnyInstanceIsReady) {
  Node n({{"svc", 50, {}, std::string(explicit_ready)}, {"dep", 50, {"svc"}}});
  n.sup.start_all(t0);
  EXPECT_EQ(n.acts(), (std::vector<std::string>{"start svc", "start svc~1"}));
  n.spawned("svc", t0);
  n.spawned("svc~1", t0);
  n.ready("svc~1", t0 + ms);
  EXPECT_EQ(n.acts(), std::vector<std::string>{"start dep"});
}

TEST(SupervisorSpares, AnInstanceThatEndsWhileAnotherIsUpRestartsAloneItsDependentsStay) {
  Node n({{"svc", 50, {}, std::string(explicit_ready)}, {"dep", 50, {"svc"}}});
  n.bring_up(t0);
  n.exited("svc", killed_by(SIGKILL), t0 + ms);
  EXPECT_EQ(n.acts(), std::vector<std::string>{"start svc"});
  EXPECT_EQ(n.phase("dep"), Phase::up);
}

TEST(SupervisorSpares, WhenNoInstanceIsLeftUpItsDependentsRestartWithIt) {
  Node n({{"svc", 50, {}, std::string(explicit_ready)}, {"dep", 50, {"svc"}}});
  n.bring_up(t0);
  n.exited("svc~1", killed_by(SIGKILL), t0 + ms);
  (void)n.acts();
  n.exited("svc", killed_by(SIGKILL), t0 + 2 * ms);
  const auto acts = n.acts();
  EXPECT_NE(std::find(acts.begin(), acts.end(), "stop dep"), acts.end());
}

TEST(SupervisorSpares, StoppingTheProcessStopsEveryInstanceAfterItsDependents) {
  Node n({{"svc", 50, {}, std::string(explicit_ready)}, {"dep", 50, {"svc"}}});
  n.bring_up(t0);
  n.sup.stop(n.id("svc"), t0 + ms);
  EXPECT_EQ(n.acts(), std::vector<std::string>{"stop dep"});
  n.exited("dep", 0, t0 + 2 * ms);
  EXPECT_EQ(n.acts(), (std::vector<std::string>{"stop svc~1", "stop svc"}));  // reverse start order
  n.sup.start(n.id("svc"), t0 + 3 * ms);
  EXPECT_EQ(n.acts(), std::vector<std::string>{});  // still stopping
  n.exited("svc", 0, t0 + 4 * ms);
  n.exited("svc~1", 0, t0 + 4 * ms);
  EXPECT_EQ(n.acts(), (std::vector<std::string>{"start svc", "start svc~1"}));
}

}  // namespace
}  // namespace hamon::engine
