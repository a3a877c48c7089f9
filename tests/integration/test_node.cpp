#include "test_node.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "hamon/shm/control_segment.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/process_cgroup.hpp"
#include "hamon/node/segment_links.hpp"

extern char** environ;

namespace hamon::test {

namespace fs = std::filesystem;

RunResult run(const std::vector<std::string>& argv, std::chrono::milliseconds limit) {
  RunResult r;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return r;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) {
    close(out[0]);
    close(err[0]);
    r.err = std::string("spawn failed: ") + std::strerror(rc);
    return r;
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(n));
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) close(f.fd);
  }
  if (open_fds > 0) kill(pid, SIGKILL);  // over its time: the pid is ours, we hold it
  int status = 0;
  waitpid(pid, &status, 0);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

namespace {

std::string bin(const char* name) { return std::string(HAMON_BIN_DIR) + "/" + name; }

// Orphaned daemons (hamon up detaches hamon-master) come back to the test to be reaped.
struct Subreaper {
  Subreaper() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
} subreaper;

}  // namespace

void reap_zombies() {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

TestNode::TestNode(const std::string& processes) {
  static std::atomic<int> counter{0};
  // Appended, not `"t" + std::string&&`: GCC 12 -O3 warns falsely on that (its bug 105651).
  cluster_ = std::string("t")
                 .append(std::to_string(getpid()))
                 .append("x")
                 .append(std::to_string(counter++));
  dir_ = (fs::temp_directory_path() / ("hamon-it." + cluster_)).string();
  fs::create_directories(dir_);
  setenv("HAMON_RUNTIME_DIR", (dir_ + "/run").c_str(), 1);
  config_ = dir_ + "/node.toml";
  rewrite(processes);
}

TestNode::TestNode(const std::string& processes, ClusterSpec spec)
    : cluster_(std::move(spec.cluster)),
      id_(std::move(spec.id)),
      cluster_toml_(std::move(spec.cluster_toml)) {
  dir_ = (fs::temp_directory_path() /
          std::string("hamon-it.").append(cluster_).append(".").append(id_))
             .string();
  fs::create_directories(dir_);
  use_runtime_dir();
  config_ = dir_ + "/node.toml";
  rewrite(processes);
}

void TestNode::use_runtime_dir() const { setenv("HAMON_RUNTIME_DIR", (dir_ + "/run").c_str(), 1); }

std::string TestNode::control_segment() const { return shm::control_segment_name(cluster_, id_); }

void TestNode::rewrite(const std::string& processes) {
  const std::string body =
      std::regex_replace(processes, std::regex("@APP@"), bin("hamon-demo-app"));
  if (cluster_toml_) {
    std::ofstream(config_) << *cluster_toml_ << "\n\n" << body;
  } else {
    std::ofstream(config_) << "[cluster]\nname = \"" << cluster_
                           << "\"\n\n[[cluster.node]]\nid = \"a\"\nside = \"primary\"\n"
                              "address = \"127.0.0.1:7401\"\n\n"
                           << body;
  }
  // The groups, for cleaning their segments up whatever happens.
  if (groups_.empty()) groups_.push_back("system");
  std::regex tenant("\\[\\[tenant\\]\\]\\s*name\\s*=\\s*\"([^\"]+)\"");
  for (std::sregex_iterator it(body.begin(), body.end(), tenant), end; it != end; ++it) {
    groups_.push_back((*it)[1]);
  }
}

TestNode::~TestNode() {
  if (shm::ControlSegment::attach(control_segment(), shm::Access::read_only)) {
    down();
  }
  force_cleanup();
  reap_zombies();
  // A sanitizer report in a daemon's log fails the test, even if the daemon was restarted.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir_, ec);
       !ec && it != fs::recursive_directory_iterator(); ++it) {
    const std::string name = it->path().filename().string();
    if (name.rfind("hamon-", 0) != 0 || it->path().extension() != ".log") continue;
    std::ifstream f(it->path());
    const std::string text((std::istreambuf_iterator<char>(f)), {});
    if (text.find("Sanitizer") != std::string::npos ||
        text.find("runtime error:") != std::string::npos) {
      ADD_FAILURE() << it->path() << " has a sanitizer report:\n" << text;
    }
  }
  fs::remove_all(dir_, ec);
}

void TestNode::force_cleanup() {
  // Whatever `hamon down` left (a failed test may leave anything): kill by the pids the node's
  // own segment holds, then remove the segments.
  auto ctl = shm::ControlSegment::attach(control_segment(), shm::Access::read_only);
  if (ctl) {
    for (std::size_t d = 0; d < static_cast<std::size_t>(shm::DaemonId::count); ++d) {
      const auto pid = static_cast<pid_t>(ctl->daemon(static_cast<shm::DaemonId>(d)).pid.load());
      if (pid > 0 && ctl->daemon(static_cast<shm::DaemonId>(d)).state.load() !=
                         static_cast<std::uint32_t>(shm::DaemonState::exited)) {
        kill(pid, SIGKILL);
      }
    }
    for (std::uint32_t s = 0; s < ctl->max_processes(); ++s) {
      shm::SpawnRecord r{};
      if (ctl->process(s).spawn.read(r) && r.pid > 0 && r.exited_ns == 0) kill(-r.pid, SIGKILL);
    }
  }
  // And any daemon that holds its instance lock for this node, registered or not.
  node::Node names;
  names.config.cluster.name = cluster_;
  names.id = id_;
  for (const char* d :
       {"hamon-watcher", "hamon-master", "hamon-spawner", "hamon-monitor", "hamon-server"}) {
    if (const pid_t holder = node::instance_holder(names, d); holder > 0) kill(holder, SIGKILL);
  }
  // And any process this node started that no segment names any more (a test that removed the
  // control segment, say): its environment names this test's own runtime directory.
  const std::string runtime = "HAMON_RUNTIME_DIR=" + dir_ + "/run";
  std::error_code proc_error;
  for (const auto& entry : fs::directory_iterator("/proc", proc_error)) {
    const auto pid = static_cast<pid_t>(std::atoi(entry.path().filename().c_str()));
    if (pid <= 0 || pid == getpid()) continue;
    std::ifstream f(entry.path() / "environ");
    const std::string env((std::istreambuf_iterator<char>(f)), {});
    if (env.find(runtime + '\0') != std::string::npos) kill(pid, SIGKILL);
  }
  // The node's process cgroups (node/process_cgroup.hpp), with whatever is still in them.
  (void)node::cgroup_remove_node(node::node_cgroup_dir(cluster_, id_), 2000);
  // The segments' names and their hidden second names (node/segment_links.hpp).
  std::vector<std::string> segments{control_segment()};
  for (const auto& g : groups_) segments.push_back(shm::heartbeat_segment_name(cluster_, id_, g));
  for (const auto& n : segments) {
    shm::Segment::remove(n);
    node::remove_keep_link(n);
  }
  // A copy of the control segment a daemon killed mid-rescue left (segment_links.hpp).
  const std::string staging = control_segment() + ".rescue.";
  for (const auto& entry : fs::directory_iterator("/dev/shm", proc_error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(staging, 0) == 0) shm::Segment::remove(name);
  }
}

RunResult TestNode::up() {
  use_runtime_dir();
  return run({bin("hamon"), "up", "--config", config_, "--node", id_, "--timeout", "30s"});
}

RunResult TestNode::down() {
  use_runtime_dir();
  return run({bin("hamon"), "down", "--config", config_, "--node", id_, "--timeout", "30s"});
}

RunResult TestNode::hamon(std::vector<std::string> args, bool with_node) {
  use_runtime_dir();
  args.insert(args.begin(), bin("hamon"));
  if (with_node) {
    for (const char* a : {"--config", config_.c_str(), "--node", id_.c_str()}) args.emplace_back(a);
  }
  return run(args);
}

node::NodeView TestNode::view() const {
  auto ctl = shm::ControlSegment::attach(control_segment(), shm::Access::read_only);
  if (!ctl) return {};
  return node::read_view(*ctl);
}

std::optional<node::ProcessRow> TestNode::process(const std::string& group,
                                                  const std::string& name) const {
  for (const auto& p : view().processes) {
    if (p.tenant == group && p.name == name) return p;
  }
  return std::nullopt;
}

std::vector<EventRow> TestNode::events() const {
  std::vector<EventRow> out;
  auto ctl = shm::ControlSegment::attach(control_segment(), shm::Access::read_only);
  if (!ctl) return out;
  const auto ring = ctl->events();
  for (std::uint64_t pos = ring.oldest(); pos < ring.head(); ++pos) {
    shm::Event e;
    if (ring.read(pos, e) != shm::EventRing::Read::ok) continue;
    out.push_back({e.kind, std::string(e.group, strnlen(e.group, sizeof e.group)),
                   std::string(e.name, strnlen(e.name, sizeof e.name)),
                   std::string(e.detail, strnlen(e.detail, sizeof e.detail)), e.pid, e.incarnation,
                   e.t_ns, e.value});
  }
  return out;
}

std::uint64_t TestNode::monitor_tick_ns() const {
  auto ctl = shm::ControlSegment::attach(control_segment(), shm::Access::read_only);
  return ctl ? ctl->daemon(shm::DaemonId::monitor).tick_ns.load(std::memory_order_relaxed) : 0;
}

bool TestNode::wait(const std::function<bool(const node::NodeView&)>& pred,
                    std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred(view())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred(view());
}

int find_event(const std::vector<EventRow>& events, shm::EventKind kind, const std::string& group,
               const std::string& name, std::uint64_t min_incarnation) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (e.kind == kind && e.group == group && e.name == name && e.incarnation >= min_incarnation) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

std::optional<node::DaemonRow> daemon_row(const node::NodeView& v, const std::string& name) {
  for (const auto& d : v.daemons) {
    if (d.name == name) return d;
  }
  return std::nullopt;
}

::testing::AssertionResult kill_daemon_and_wait_back(const TestNode& node,
                                                     const std::string& name) {
  const auto before = daemon_row(node.view(), name);
  if (!before || before->pid <= 0) return ::testing::AssertionFailure() << name << " not running";
  if (::kill(before->pid, SIGKILL) != 0) return ::testing::AssertionFailure() << "kill " << name;
  const bool back = node.wait(
      [&](const node::NodeView& v) {
        const auto d = daemon_row(v, name);
        return d && d->pid > 0 && d->restarts > before->restarts && d->state == "running";
      },
      std::chrono::seconds(10));
  reap_zombies();
  if (back) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << name << " did not come back:\n"
                                       << node::render_table(node.view());
}

}  // namespace hamon::test
