// Specification of tenant isolation (docs/security.md), on real daemons and a real hostile tenant
// (tests/support/hostile_tenant.c, built with the C client): whatever a tenant does to the memory
// it can reach, the other tenants and the system processes keep their pids, their crashes are
// still restarted and their hangs still detected, and every daemon survives.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "hamon/node/control_socket.hpp"
#include "hamon/node/node.hpp"
#include "hamon/shm/control_segment.hpp"
#include "test_node.hpp"
#include "proc_file.hpp"

namespace hamon::test {
namespace {

using namespace std::chrono_literals;
using shm::EventKind;

const std::string kHostile = std::string(HAMON_BIN_DIR) + "/hamon-hostile-tenant";

const char* kIsolationDefaults = R"(
[defaults]
interval = "20ms"
timeout = "300ms"
restart_delay = "50ms"
)";

std::string tenant(const std::string& name, const std::string& process, const std::string& command,
                   const std::string& extra = "") {
  return "\n[[tenant]]\nname = \"" + name + "\"\n" + extra + "\n[[tenant.process]]\nname = \"" +
         process + "\"\ncommand = [" + command + "]\n";
}

std::string app() { return "\"@APP@\""; }

std::string hostile(const std::vector<std::string>& args) {
  std::string out = "\"" + kHostile + "\"";
  for (const auto& a : args) out += ", \"" + a + "\"";
  return out;
}

// The bystanders: a system process and a well-behaved tenant.
std::string bystanders() {
  return std::string(kIsolationDefaults) +
         "\n[[system.process]]\nname = \"sys\"\ncommand = [\"@APP@\"]\n" +
         tenant("good", "g", app());
}

bool live(const std::optional<node::ProcessRow>& p) {
  return p && p->pid > 0 && (p->state == "running" || p->state == "ready");
}

std::uint64_t daemon_restarts(const TestNode& node, const std::string& name) {
  const auto d = daemon_row(node.view(), name);
  return d ? d->restarts : UINT64_MAX;
}

// The bystanders kept their pids, and one of them, killed now, is restarted: supervision of
// everyone but the hostile tenant goes on.
void expect_bystanders_supervised(const TestNode& node, std::int32_t sys_pid,
                                  std::int32_t good_pid) {
  const auto sys = node.process("system", "sys");
  const auto good = node.process("good", "g");
  ASSERT_TRUE(live(sys) && live(good));
  EXPECT_EQ(sys->pid, sys_pid);
  EXPECT_EQ(good->pid, good_pid);
  ASSERT_EQ(::kill(good_pid, SIGKILL), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto g = node.process("good", "g");
    return live(g) && g->pid != good_pid;
  })) << "good/g was not restarted after its crash";
}

void expect_no_daemon_restarted(const TestNode& node) {
  for (const auto& d : node.view().daemons) {
    EXPECT_EQ(d.restarts, 0u) << d.name << " crashed";
  }
}

// What a process of the node printed.
std::string output_of(const TestNode& node, const std::string& group, const std::string& name) {
  return read_proc_file(node::log_dir(node.cluster(), node.id()) + "/" + group + "." + name +
                        ".log");
}

// What the node says, for a failure's message.
std::string explain(TestNode& node) {
  std::string out = node.hamon({"status"}).out + "\nevents:\n";
  for (const auto& e : node.events()) {
    out +=
        std::string(shm::to_string(e.kind)) + " " + e.group + "/" + e.name + " " + e.detail + "\n";
  }
  return out;
}

bool has_note(const TestNode& node, const std::string& text) {
  for (const auto& e : node.events()) {
    if (e.detail.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(Isolation, ATenantThatScribblesItsWholeSegmentHarmsOnlyItselfAcrossEveryDaemonRestart) {
  TestNode node(bystanders() + tenant("evil", "x", hostile({"scribble"})));
  // Not waiting for the vandal to come up for good: it never does.
  (void)node.hamon({"up", "--timeout", "2s"});
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    return live(node.process("system", "sys")) && live(node.process("good", "g"));
  }));
  const auto sys_pid = node.process("system", "sys")->pid;
  const auto good_pid = node.process("good", "g")->pid;
  // The garbage reads as silence: the vandal is restarted once its segment is scribbled.
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto x = node.process("evil", "x");
    return x && x->restarts >= 1;
  }));
  // Its segment's header was garbage: each daemon restarted must still come up, once.
  for (const char* d : {"hamon-server", "hamon-monitor", "hamon-spawner", "hamon-master"}) {
    ASSERT_TRUE(kill_daemon_and_wait_back(node, d)) << d;
    EXPECT_EQ(daemon_restarts(node, d), 1u) << d << " crash-loops after its restart";
  }
  expect_bystanders_supervised(node, sys_pid, good_pid);
  // hamon made the vandal's segment anew, so its next incarnations could start, and said so.
  EXPECT_TRUE(node.wait([&](const node::NodeView&) { return has_note(node, "made anew"); }));
}

TEST(Isolation, ATenantThatTruncatesItsSegmentAgainAndAgainCannotCrashTheMonitor) {
  TestNode node(bystanders() + tenant("evil", "x", hostile({"truncate"})));
  (void)node.hamon({"up", "--timeout", "2s"});
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    return live(node.process("system", "sys")) && live(node.process("good", "g"));
  }));
  const auto sys_pid = node.process("system", "sys")->pid;
  const auto good_pid = node.process("good", "g")->pid;
  // Each incarnation truncates the segment hamon made anew for it.
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto x = node.process("evil", "x");
    return x && x->restarts >= 3;
  })) << "the vandal was not restarted three times\n"
      << explain(node);
  expect_no_daemon_restarted(node);
  expect_bystanders_supervised(node, sys_pid, good_pid);
  EXPECT_TRUE(has_note(node, "made anew"));
}

TEST(Isolation, ARoleSpoofedInATenantSegmentShowsInNoView) {
  TestNode node(bystanders() + tenant("evil", "x", hostile({"spoof-role"})));
  ASSERT_EQ(node.up().code, 0);
  // The spoof is written right after ready: give it time to land, then look.
  ASSERT_TRUE(node.wait([&](const node::NodeView&) { return live(node.process("evil", "x")); }));
  std::this_thread::sleep_for(100ms);  // not a wait for hamon: for the vandal's store
  const auto x = node.process("evil", "x");
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(x->role, "active");
  const auto status = node.hamon({"status", "--json"});
  EXPECT_EQ(status.out.find("standby"), std::string::npos) << status.out;
}

TEST(Isolation, GarbageInTheControlSegmentsEventRingCrashesNoDaemon) {
  // A tenant run as hamon's own user can open the control segment (check-config warns of it):
  // the daemons must still survive what it writes into the event ring's head line.
  TestNode probe(bystanders());
  ASSERT_EQ(probe.up().code, 0);
  auto ctl = shm::ControlSegment::attach(probe.control_segment(), shm::Access::read_only);
  ASSERT_TRUE(ctl);
  const std::string off = std::to_string(ctl->header().off_events);
  const std::string name = probe.control_segment();
  // The same node again, now with the vandal in it.
  ASSERT_EQ(probe.down().code, 0);
  probe.rewrite(bystanders() +
                tenant("evil", "x", hostile({"poke", std::string("/").append(name), off})));
  ASSERT_EQ(probe.up().code, 0);
  const auto sys_pid = probe.process("system", "sys")->pid;
  const auto good_pid = probe.process("good", "g")->pid;
  ASSERT_TRUE(probe.wait([&](const node::NodeView&) {
    return output_of(probe, "evil", "x").find("poked") != std::string::npos;
  })) << output_of(probe, "evil", "x");
  // Let every daemon post and read events past the garbage: a crash and restart each.
  expect_bystanders_supervised(probe, sys_pid, good_pid);
  ASSERT_TRUE(kill_daemon_and_wait_back(probe, "hamon-server"));
  EXPECT_EQ(probe.hamon({"events"}).code, 0);
  for (const auto& d : probe.view().daemons) {
    EXPECT_EQ(d.restarts, d.name == "hamon-server" ? 1u : 0u) << d.name;
  }
}

// A user made for the test (CI runs as root), removed again afterwards.
class TestUser {
 public:
  explicit TestUser(std::string name) : name_(std::move(name)) {
    if (::getpwnam(name_.c_str()) == nullptr) {
      made_ = run({"/usr/sbin/useradd", "--system", "--no-create-home", "--shell",
                   "/usr/sbin/nologin", name_})
                  .code == 0;
    }
    const passwd* pw = ::getpwnam(name_.c_str());
    if (pw != nullptr) uid_ = pw->pw_uid;
  }
  ~TestUser() {
    if (made_) (void)run({"/usr/sbin/userdel", name_});
  }
  TestUser(const TestUser&) = delete;
  TestUser& operator=(const TestUser&) = delete;
  [[nodiscard]] bool ok() const { return uid_ != static_cast<uid_t>(-1); }
  [[nodiscard]] uid_t uid() const { return uid_; }
  [[nodiscard]] gid_t gid() const { return ::getpwuid(uid_)->pw_gid; }

 private:
  std::string name_;
  bool made_ = false;
  uid_t uid_ = static_cast<uid_t>(-1);
};

TEST(Isolation, EachTenantUserOwnsItsSegmentAndTheKernelRefusesItEveryOtherOne) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make users";
  TestUser u1("hamon-it-t1");
  TestUser u2("hamon-it-t2");
  ASSERT_TRUE(u1.ok() && u2.ok());
  // A program the tenants' users may run, wherever the build tree is.
  TestNode node(bystanders());
  const std::string bin = node.dir() + "/hostile";
  std::filesystem::copy_file(kHostile, bin, std::filesystem::copy_options::overwrite_existing);
  ::chmod(bin.c_str(), 0755);
  ::chmod(node.dir().c_str(), 0755);
  const std::string other =
      std::string("/").append(node::heartbeat_segment_name(node.cluster(), "a", "t2"));
  const std::string control = std::string("/").append(node.control_segment());
  auto cmd = [&](const std::vector<std::string>& args) {
    std::string out = "\"" + bin + "\"";
    for (const auto& a : args) out += ", \"" + a + "\"";
    return out;
  };
  node.rewrite(bystanders() +
               tenant("t1", "other", cmd({"open", other}), "user = \"hamon-it-t1\"") +
               "\n[[tenant.process]]\nname = \"control\"\ncommand = [" + cmd({"open", control}) +
               "]\n" + tenant("t2", "p", cmd({"open", other}), "user = \"hamon-it-t2\""));
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  struct stat st {};
  ASSERT_EQ(::stat(("/dev/shm" + other).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, u2.uid());
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const auto p = node.process("t2", "p");
  ASSERT_TRUE(live(p));
  EXPECT_EQ(p->restarts, 0u);
  const std::string logs = node::log_dir(node.cluster(), "a");
  auto said = [&](const std::string& who) { return read_proc_file(logs + "/" + who + ".log"); };
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    return said("t1.other").find('\n') != std::string::npos &&
           said("t1.control").find('\n') != std::string::npos &&
           said("t2.p").find('\n') != std::string::npos;
  }));
  EXPECT_NE(said("t1.other").find("refused: Permission denied"), std::string::npos)
      << said("t1.other");
  EXPECT_NE(said("t1.control").find("refused: Permission denied"), std::string::npos)
      << said("t1.control");
  EXPECT_NE(said("t2.p").find("opened"), std::string::npos) << said("t2.p");  // its own
  // Status says which tenants are isolated and warns of the one that is not.
  const auto status = node.hamon({"status"});
  EXPECT_NE(
      status.out.find("warning: not isolated (run as hamon's own user, docs/security.md): good\n"),
      std::string::npos)
      << status.out;
  const auto json = node.hamon({"status", "--json"});
  EXPECT_NE(json.out.find(R"("name":"t1","role":"active")"), std::string::npos) << json.out;
  for (const char* t : {"t1", "t2", "good"}) {
    const auto at = json.out.find(std::string(R"({"name":")") + t + "\",\"role\"");
    ASSERT_NE(at, std::string::npos) << t;
    const auto isolated = json.out.find("\"isolated\":", at);
    ASSERT_NE(isolated, std::string::npos);
    EXPECT_EQ(json.out.compare(isolated + 11, 4, std::string(t) == "good" ? "fals" : "true"), 0)
        << t << ": " << json.out;
  }
}

// Sends `line` to the node's hamon-server from a child process that is `user` and nothing else:
// the server learns who asks from the kernel, as it would from any client.
std::string ask_as(const TestNode& node, const TestUser& user, const std::string& line) {
  int out[2];
  if (::pipe(out) != 0) return "pipe failed";
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(out[0]);
    if (::setgroups(0, nullptr) != 0 || ::setgid(user.gid()) != 0 || ::setuid(user.uid()) != 0) {
      ::_exit(3);
    }
    const std::string reply =
        node::control_request(node::server_socket(node.cluster(), node.id()), line, 5000);
    (void)!::write(out[1], reply.data(), reply.size());
    ::_exit(0);
  }
  ::close(out[1]);
  std::string reply;
  char buf[512];
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) {
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  return reply;
}

TEST(Isolation, TheControlSocketLetsATenantsUserActOnItsOwnTenantOnly) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to make users";
  TestUser owner("hamon-it-t4");
  TestUser stranger("hamon-it-t3");
  ASSERT_TRUE(owner.ok() && stranger.ok());
  TestNode node(bystanders() + tenant("t1", "p", app(), "user = \"hamon-it-t4\""));
  const auto up = node.up();
  ASSERT_EQ(up.code, 0) << up.err;
  const auto sys_pid = node.process("system", "sys")->pid;

  EXPECT_EQ(ask_as(node, owner, "restart t1/p").rfind("ok", 0), 0u);
  const auto other = ask_as(node, owner, "restart system/sys");
  EXPECT_NE(other.find("refused: user hamon-it-t4"), std::string::npos) << other;
  EXPECT_NE(other.find("may not restart in system: only in t1"), std::string::npos) << other;
  const auto down = ask_as(node, owner, "down");
  EXPECT_NE(down.find("only root and group hamon may"), std::string::npos) << down;
  const auto stranger_says = ask_as(node, stranger, "restart t1/p");
  EXPECT_NE(stranger_says.find("may not use hamon-server"), std::string::npos) << stranger_says;

  // Nothing refused was done, and every refusal is on record with who asked.
  EXPECT_EQ(node.process("system", "sys")->pid, sys_pid);
  int refused = 0;
  for (const auto& e : node.events()) {
    if (e.kind != EventKind::refused) continue;
    ++refused;
    EXPECT_TRUE(e.value == static_cast<std::int64_t>(owner.uid()) ||
                e.value == static_cast<std::int64_t>(stranger.uid()))
        << e.value;
  }
  EXPECT_EQ(refused, 3);
  // Root still may.
  EXPECT_EQ(node.hamon({"restart", "system/sys"}).code, 0);
}

TEST(Isolation, CheckConfigWarnsThatATenantWithoutItsOwnUserCannotBeIsolated) {
  TestNode node(bystanders());
  const auto r = run({std::string(HAMON_BIN_DIR) + "/hamon", "check-config", node.config_path()});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE((r.out + r.err).find("tenant good runs as hamon's own user"), std::string::npos)
      << r.out << r.err;
}

}  // namespace
}  // namespace hamon::test
