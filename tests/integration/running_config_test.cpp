// Specification of the configuration a node runs: the one `hamon up` or a successful `hamon
// reload` validated, kept in the runtime directory. A daemon that restarts takes that one, never
// the operator's file as it happens to be on disk: a bad edit never stops supervision, and an
// edit that was never reloaded never takes effect behind the operator's back.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "hamon/node/node.hpp"
#include "test_node.hpp"

extern char** environ;

namespace hamon::test {
namespace {

const char* kRunningConfig = R"(
[defaults]
interval = "20ms"
timeout = "400ms"

[[system.process]]
name = "db"
command = ["@APP@"]

[[system.process]]
name = "extra"
command = ["@APP@"]
)";

bool held_back(const std::vector<EventRow>& events) {
  for (const auto& e : events) {
    if (e.kind == shm::EventKind::daemon_exited &&
        e.detail.find("failed starts in a row") != std::string::npos) {
      return true;
    }
  }
  return false;
}

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(RunningConfig, ABadEditOnDiskNeverStopsARestartedDaemon) {
  TestNode node(kRunningConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto db = node.process("system", "db");
  ASSERT_TRUE(db.has_value());
  write_file(node.config_path(), "[cluster\nname = \"broken");
  const auto reload = node.hamon({"reload"});
  EXPECT_NE(reload.code, 0) << "a reload of a bad file is refused";
  for (const char* d : {"hamon-server", "hamon-spawner", "hamon-monitor", "hamon-master",
                        "hamon-watcher", "hamon-server"}) {
    ASSERT_TRUE(kill_daemon_and_wait_back(node, d));
  }
  for (const auto& e : node.events()) {
    EXPECT_FALSE(e.kind == shm::EventKind::daemon_exited &&
                 e.detail.find("exited with status") != std::string::npos)
        << e.name << " failed to start: " << e.detail;
  }
  for (const auto& d : node.view().daemons) {
    EXPECT_LE(d.restarts, 2u) << d.name << " restarted " << d.restarts << " times";
  }
  EXPECT_EQ(node.process("system", "db")->pid, db->pid) << "a daemon's restart touched db";
  // Supervision goes on with the running configuration: a crash is repaired.
  ASSERT_EQ(::kill(db->pid, SIGKILL), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "db");
    return p && p->pid > 0 && p->pid != db->pid && p->state == "running";
  })) << node::render_table(node.view());
}

TEST(RunningConfig, AnEditNeverReloadedTakesNoEffectWhenADaemonRestarts) {
  TestNode node(kRunningConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto extra = node.process("system", "extra");
  const auto db = node.process("system", "db");
  ASSERT_TRUE(extra && db);
  // Valid, but never reloaded: `extra` removed, `added` added, db's program changed to one that
  // cannot run.
  node.rewrite(R"(
[defaults]
interval = "20ms"
timeout = "400ms"

[[system.process]]
name = "db"
command = ["/nonexistent/program"]

[[system.process]]
name = "added"
command = ["@APP@"]
)");
  ASSERT_TRUE(kill_daemon_and_wait_back(node, "hamon-server"));
  ASSERT_TRUE(kill_daemon_and_wait_back(node, "hamon-spawner"));
  // A restarted server seats what its configuration names before it registers.
  EXPECT_FALSE(node.process("system", "added").has_value()) << "an unreloaded edit took effect";
  EXPECT_FALSE(node.wait(
      [&](const node::NodeView&) {
        const auto e = node.process("system", "extra");
        return !e || e->pid != extra->pid;
      },
      std::chrono::milliseconds(500)))
      << "a process the unreloaded edit removed was stopped";
  // db restarts with the command the node runs, not the one on disk.
  ASSERT_EQ(::kill(db->pid, SIGKILL), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "db");
    return p && p->pid > 0 && p->pid != db->pid && p->state == "running";
  })) << node::render_table(node.view());
  // And `reload` is how the edit takes effect.
  node.rewrite(R"(
[defaults]
interval = "20ms"
timeout = "400ms"

[[system.process]]
name = "db"
command = ["@APP@"]

[[system.process]]
name = "added"
command = ["@APP@"]
)");
  const auto reload = node.hamon({"reload"});
  ASSERT_EQ(reload.code, 0) << reload.err;
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto a = node.process("system", "added");
    return a && a->state == "running" && !node.process("system", "extra");
  })) << node::render_table(node.view());
}

TEST(RunningConfig, AReloadedConfigurationIsWhatARestartedDaemonRuns) {
  TestNode node(kRunningConfig);
  ASSERT_EQ(node.up().code, 0);
  node.rewrite(std::string(kRunningConfig) +
               "\n[[system.process]]\nname = \"added\"\ncommand = [\"@APP@\"]\n");
  const auto reload = node.hamon({"reload"});
  ASSERT_EQ(reload.code, 0) << reload.err;
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    const auto a = node.process("system", "added");
    return a && a->state == "running";
  }));
  // The file is then broken on disk: what runs is what was reloaded.
  write_file(node.config_path(), "garbage = [");
  ASSERT_TRUE(kill_daemon_and_wait_back(node, "hamon-server"));
  ASSERT_TRUE(kill_daemon_and_wait_back(node, "hamon-spawner"));
  const auto added = node.process("system", "added");
  ASSERT_TRUE(added.has_value()) << "the restarted server forgot the reload";
  ASSERT_EQ(::kill(added->pid, SIGKILL), 0);
  EXPECT_TRUE(node.wait([&](const node::NodeView&) {
    const auto p = node.process("system", "added");
    return p && p->pid > 0 && p->pid != added->pid && p->state == "running";
  })) << "the restarted spawner cannot start a reloaded process\n"
      << node::render_table(node.view());
}

// Starts hamon-watcher on the operator's file as init does (packaging/hamon@.service), in its
// own session; the test, as subreaper, reaps it.
pid_t start_as_init(const TestNode& node) {
  const std::string bin = std::string(HAMON_BIN_DIR) + "/hamon-watcher";
  std::vector<std::string> args{bin, "--config", node.config_path(), "--node", "a"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, bin.c_str(), &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

TEST(RunningConfig, InitRestartingTheWatchTreeOnABadFileTakesUpTheRunningNode) {
  TestNode node(kRunningConfig);
  ASSERT_EQ(node.up().code, 0);
  const auto before = node.view();
  const auto watcher = daemon_row(before, "hamon-watcher");
  const auto master = daemon_row(before, "hamon-master");
  ASSERT_TRUE(watcher && master);
  write_file(node.config_path(), "[cluster\nname = \"broken");
  // The top of the watch tree dies whole (frozen first, so neither restarts the other).
  ASSERT_EQ(::kill(watcher->pid, SIGSTOP), 0);
  ASSERT_EQ(::kill(master->pid, SIGKILL), 0);
  ASSERT_EQ(::kill(watcher->pid, SIGKILL), 0);
  ASSERT_TRUE(node.wait([&](const node::NodeView&) {
    reap_zombies();
    return ::kill(watcher->pid, 0) != 0 && ::kill(master->pid, 0) != 0;
  }));
  ASSERT_GT(start_as_init(node), 0);
  ASSERT_TRUE(node.wait(
      [&](const node::NodeView& v) {
        const auto w = daemon_row(v, "hamon-watcher");
        const auto m = daemon_row(v, "hamon-master");
        return w && m && w->pid != watcher->pid && m->pid != master->pid && w->state == "running" &&
               m->state == "running";
      },
      std::chrono::seconds(10)))
      << "init could not restart the watch tree on a bad file:\n"
      << node::render_table(node.view());
  for (const auto& p : before.processes) {
    EXPECT_EQ(node.process(p.tenant, p.name)->pid, p.pid) << p.name << " was restarted";
  }
  ASSERT_TRUE(kill_daemon_and_wait_back(node, "hamon-server"));
  // The operator still reaches the node by its file's name, bad as the file is.
  const auto status = node.hamon({"status"});
  EXPECT_EQ(status.code, 0) << status.err;
  const auto reload = node.hamon({"reload"});
  EXPECT_EQ(reload.code, 1) << "a reload of the bad file is refused with its errors";
  const auto down = node.hamon({"down"});
  EXPECT_EQ(down.code, 0) << down.err;
}

TEST(RunningConfig, ADaemonThatCannotStartIsShownInBackoffByStatus) {
  TestNode node(kRunningConfig);
  ASSERT_EQ(node.up().code, 0);
  // A directory where the server's socket goes: every new server fails to listen and exits.
  // The master is frozen meanwhile, so no new server is quicker than the directory.
  const std::string sock = node::server_socket(node.cluster(), "a");
  const auto server = daemon_row(node.view(), "hamon-server");
  const auto master = daemon_row(node.view(), "hamon-master");
  ASSERT_TRUE(server && master);
  ASSERT_EQ(::kill(master->pid, SIGSTOP), 0);
  ASSERT_EQ(::kill(server->pid, SIGKILL), 0);
  ::unlink(sock.c_str());
  const int made = ::mkdir(sock.c_str(), 0700);
  ASSERT_EQ(::kill(master->pid, SIGCONT), 0);
  ASSERT_EQ(made, 0);
  // The pauses grow to seconds: `hamon status` soon shows the server held back.
  RunResult status;
  ASSERT_TRUE(node.wait(
      [&](const node::NodeView&) {
        status = node.hamon({"status"});
        return status.code == 0 && status.out.find("backoff") != std::string::npos;
      },
      std::chrono::seconds(20)))
      << status.out;
  const auto json = node.hamon({"status", "--json"});
  const auto at = json.out.find("{\"name\":\"hamon-server\"");
  ASSERT_NE(at, std::string::npos) << json.out;
  const std::string server_json = json.out.substr(at, json.out.find('}', at) - at);
  EXPECT_EQ(server_json.find("\"failed_starts\":0"), std::string::npos) << server_json;
  EXPECT_TRUE(held_back(node.events()));
  ASSERT_EQ(::rmdir(sock.c_str()), 0);
  EXPECT_TRUE(node.wait(
      [&](const node::NodeView& v) {
        const auto d = daemon_row(v, "hamon-server");
        return d && d->state == "running";
      },
      std::chrono::seconds(15)));
}

}  // namespace
}  // namespace hamon::test
