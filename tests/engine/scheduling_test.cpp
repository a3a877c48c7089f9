// A process's scheduling settings (engine/scheduling.hpp): what `sched`, `nice`, `cpus` and
// `oom_score_adjust` accept, what they refuse and with which words, and that [defaults] sets them
// for every process as any other setting.
#include "hamon/engine/scheduling.hpp"

#include <gtest/gtest.h>

#include "config_test_support.hpp"

namespace hamon::engine {
namespace {

using Errors = std::vector<std::string>;
using test::errors_of;
using test::parse;
using test::parse_with_cluster;

TEST(Scheduling, ThePoliciesAndTheirRealTimePriorities) {
  EXPECT_EQ(std::get<Sched>(parse_sched("other")), (Sched{SchedPolicy::other, 0}));
  EXPECT_EQ(std::get<Sched>(parse_sched("batch")), (Sched{SchedPolicy::batch, 0}));
  EXPECT_EQ(std::get<Sched>(parse_sched("idle")), (Sched{SchedPolicy::idle, 0}));
  EXPECT_EQ(std::get<Sched>(parse_sched("fifo:10")), (Sched{SchedPolicy::fifo, 10}));
  EXPECT_EQ(std::get<Sched>(parse_sched("rr:99")), (Sched{SchedPolicy::rr, 99}));
  EXPECT_EQ(to_string(Sched{SchedPolicy::fifo, 10}), "fifo:10");
}

TEST(Scheduling, APolicyWrittenWrongSaysWhatIsExpected) {
  EXPECT_EQ(std::get<std::string>(parse_sched("fifo")),
            "fifo needs a real-time priority from 1 to 99, as \"fifo:10\"");
  EXPECT_EQ(std::get<std::string>(parse_sched("rr:0")),
            "rr needs a real-time priority from 1 to 99, as \"rr:10\"");
  EXPECT_EQ(std::get<std::string>(parse_sched("fifo:100")),
            "fifo needs a real-time priority from 1 to 99, as \"fifo:10\"");
  EXPECT_EQ(std::get<std::string>(parse_sched("fifo:x")),
            "fifo needs a real-time priority from 1 to 99, as \"fifo:10\"");
  EXPECT_EQ(std::get<std::string>(parse_sched("batch:3")),
            "only fifo and rr take a priority: expected \"other\", \"batch\", \"idle\", "
            "\"fifo:N\" or \"rr:N\"");
  EXPECT_EQ(std::get<std::string>(parse_sched("realtime")),
            "expected \"other\", \"batch\", \"idle\", \"fifo:N\" or \"rr:N\"");
}

TEST(Scheduling, CpusAreAListOfCpusAndRanges) {
  EXPECT_EQ(std::get<std::vector<int>>(parse_cpus("0")), (std::vector<int>{0}));
  EXPECT_EQ(std::get<std::vector<int>>(parse_cpus("0-3,6")), (std::vector<int>{0, 1, 2, 3, 6}));
  EXPECT_EQ(std::get<std::vector<int>>(parse_cpus("6,1-2,2")), (std::vector<int>{1, 2, 6}));
  EXPECT_EQ(std::get<std::vector<int>>(parse_cpus("1023")), (std::vector<int>{1023}));
}

TEST(Scheduling, CpusWrittenWrongSayWhichPartIsWrong) {
  EXPECT_EQ(std::get<std::string>(parse_cpus("")),
            "'' is not a CPU or a range of CPUs: expected a list such as \"0-3,6\"");
  EXPECT_EQ(std::get<std::string>(parse_cpus("0,,1")),
            "'' is not a CPU or a range of CPUs: expected a list such as \"0-3,6\"");
  EXPECT_EQ(std::get<std::string>(parse_cpus("0-x")),
            "'0-x' is not a CPU or a range of CPUs: expected a list such as \"0-3,6\"");
  EXPECT_EQ(std::get<std::string>(parse_cpus("3-1")),
            "'3-1': CPUs are numbered from 0 to 1023, a range from low to high");
  EXPECT_EQ(std::get<std::string>(parse_cpus("1024")),
            "'1024': CPUs are numbered from 0 to 1023, a range from low to high");
  EXPECT_EQ(std::get<std::string>(parse_cpus("-1")),
            "'-1' is not a CPU or a range of CPUs: expected a list such as \"0-3,6\"");
}

TEST(Scheduling, AProcessTakesItsSettingsOverItsDefaults) {
  const ParseResult r = parse_with_cluster(R"([defaults]
nice = 5
oom_score_adjust = 100

[[system.process]]
name = "plain"
command = ["plain"]

[[system.process]]
name = "beater"
command = ["beater"]
sched = "fifo:10"
cpus = "0-1"
oom_score_adjust = -900
)");
  ASSERT_TRUE(r.errors.empty()) << errors_of(r).front();
  const auto& plain = r.config->processes[0].scheduling;
  EXPECT_EQ(plain.nice, 5);
  EXPECT_EQ(plain.oom_score_adjust, 100);
  EXPECT_FALSE(plain.sched);
  EXPECT_TRUE(plain.cpus.empty());
  const auto& beater = r.config->processes[1].scheduling;
  EXPECT_EQ(beater.sched, (Sched{SchedPolicy::fifo, 10}));
  EXPECT_EQ(beater.cpus, (std::vector<int>{0, 1}));
  EXPECT_EQ(beater.oom_score_adjust, -900);
  EXPECT_EQ(beater.nice, 5);
}

TEST(Scheduling, WrongSettingsAreRefusedWhereTheyAreWritten) {
  const ParseResult r = parse_with_cluster(R"([[system.process]]
name = "x"
command = ["x"]
sched = "fifo:0"
nice = -21
cpus = "2-1"
oom_score_adjust = 1001
)");
  EXPECT_EQ(errors_of(r),
            (Errors{"test.toml:4:9: error: invalid sched 'fifo:0': fifo needs a real-time "
                    "priority from 1 to 99, as \"fifo:10\"",
                    "test.toml:5:8: error: nice -21 is out of range -20..19",
                    "test.toml:6:8: error: invalid cpus '2-1': '2-1': CPUs are numbered from 0 to "
                    "1023, a range from low to high",
                    "test.toml:7:20: error: oom_score_adjust 1001 is out of range -1000..1000"}));
}

TEST(Scheduling, TheDaemonsOwnSettingsAreInTheClusterTable) {
  const ParseResult r = parse(R"([cluster]
name = "c"
daemon_sched = "rr:20"
daemon_nice = -5
daemon_cpus = "1"
daemon_oom_score_adjust = -1000
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7000"
[[system.process]]
name = "x"
command = ["x"]
)");
  ASSERT_TRUE(r.errors.empty()) << errors_of(r).front();
  const Scheduling& d = r.config->cluster.daemon_scheduling;
  EXPECT_EQ(d.sched, (Sched{SchedPolicy::rr, 20}));
  EXPECT_EQ(d.nice, -5);
  EXPECT_EQ(d.cpus, (std::vector<int>{1}));
  EXPECT_EQ(d.oom_score_adjust, -1000);
  // Not the processes': theirs stay inherited.
  EXPECT_FALSE(r.config->processes[0].scheduling.any());
  const ParseResult bad = parse(R"([cluster]
name = "c"
daemon_sched = "fifo"
[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7000"
)");
  EXPECT_EQ(errors_of(bad),
            (Errors{"test.toml:1:1: error: no processes configured",
                    "test.toml:3:16: error: invalid daemon_sched 'fifo': fifo needs a real-time "
                    "priority from 1 to 99, as \"fifo:10\""}));
}

}  // namespace
}  // namespace hamon::engine
