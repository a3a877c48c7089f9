// `hamon down`: every process hamon started for the node is stopped, whatever state its daemons
// are in, or the command fails naming what is left (docs/cli.md).
//
//   1. Through hamon-server, in reverse dependency order, while there is a server to ask: a
//      server being restarted (it crashed a moment ago) is waited for, briefly; one that cannot
//      start, or with no master to restart it, is not.
//   2. The daemons: hamon-watcher is sent SIGTERM (it stops hamon-master, which stops the rest
//      and removes the segments).
//   3. Whatever is left — all of it when there was no server to ask — is stopped by hamon itself
//      (teardown.hpp): no daemon, no configuration file needed; the control segment records
//      what runs.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "hamon/engine/duration.hpp"
#include "hamon/node/config_file.hpp"
#include "hamon/node/control_socket.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/node/recorded_process.hpp"
#include "node_target.hpp"
#include "teardown.hpp"

namespace hamon::cli {
namespace {

using Clock = std::chrono::steady_clock;

// How long a server that its master is restarting gets to come back (it is restarted at once
// after a crash, and takes milliseconds to start).
constexpr auto kServerPatience = std::chrono::seconds(3);
// The grace between SIGTERM and SIGKILL when hamon stops a process itself and the configuration
// cannot tell its stop_timeout: stop_timeout's default.
constexpr auto kDefaultGrace = std::chrono::seconds(2);

bool runs(const shm::DaemonSlot& d) {
  return d.state.load() == static_cast<std::uint32_t>(shm::DaemonState::running) &&
         node::still_runs(d.pid.load(), d.start_ticks.load());
}

std::string list(const std::vector<node::RecordedProcess>& ps) {
  std::string s;
  for (const auto& p : ps) {
    s += (s.empty() ? "" : ", ") + p.name + " (pid " + std::to_string(p.pid) + ")";
  }
  return s;
}

std::string list(const std::vector<std::string>& items, const char* sep) {
  std::string s;
  for (const auto& i : items) s += (s.empty() ? "" : sep) + i;
  return s;
}

// Why `id` (the server, which decides the stops, or the spawner, which carries them out) cannot
// do its part, or "" while it runs or may be back soon: it was restarted at once after a crash,
// and takes milliseconds to start. `missing_since`: since when it has been missing (updated).
std::string unavailable(const NodeTarget& t, const shm::ControlSegment& ctl, shm::DaemonId id,
                        bool missing, Clock::time_point now, Clock::time_point& missing_since) {
  constexpr auto kNever = Clock::time_point::max();
  if (!missing) {
    missing_since = kNever;
    return "";
  }
  if (missing_since == kNever) missing_since = now;
  const shm::DaemonSlot& d = ctl.daemon(id);
  const std::string name = shm::to_string(id);
  // Current once its watcher has seen it end (before that, it may tell of a start long ago).
  const std::uint32_t failed =
      d.state.load() == static_cast<std::uint32_t>(shm::DaemonState::exited)
          ? d.failed_starts.load()
          : 0;
  if (failed > 0) {
    return name + " fails to start (" + std::to_string(failed) + " failed starts in a row; see " +
           t.runtime_dir + "/log/" + name + ".log)";
  }
  if (!runs(ctl.daemon(shm::DaemonId::master)) && !runs(ctl.daemon(shm::DaemonId::watcher))) {
    return name + " is not running, and no hamon-master runs to restart it";
  }
  if (now - missing_since >= kServerPatience) {
    return name + (id == shm::DaemonId::server ? " did not answer" : " did not come back") +
           " within " + std::to_string(kServerPatience.count()) + "s";
  }
  return "";
}

// Step 1: asks the server to stop every process and waits until none runs. A server instance
// that took the request need not be asked again: a successor resumes its decisions. Fails with
// Errc::unreachable saying why the daemons cannot do it, or Errc::timeout.
base::Status stop_through_server(const NodeTarget& t, const shm::ControlSegment& ctl,
                                 Clock::time_point deadline, const std::string& timeout) {
  std::uint64_t asked = 0;  // the start time of the server instance that took the request
  Clock::time_point server_missing = Clock::time_point::max();
  Clock::time_point spawner_missing = Clock::time_point::max();
  for (;;) {
    // While a spawner runs, its records say when each process ended: cheap to read, however many
    // processes there are. Without one, the teardown checks each process itself.
    const auto running = node::recorded_processes(ctl);
    if (running.empty()) return base::ok();
    const auto now = Clock::now();
    const shm::DaemonSlot& s = ctl.daemon(shm::DaemonId::server);
    bool answered = runs(s) && s.start_ticks.load() == asked;
    if (runs(s) && !answered) {
      const auto reply = node::parse_reply(
          node::control_request(t.socket, node::format(node::Request::down()), 2000));
      answered = reply && reply->ok;
      if (answered) asked = s.start_ticks.load();
    }
    std::string why = unavailable(t, ctl, shm::DaemonId::server, !answered, now, server_missing);
    if (why.empty()) {
      why = unavailable(t, ctl, shm::DaemonId::spawner, !runs(ctl.daemon(shm::DaemonId::spawner)),
                        now, spawner_missing);
    }
    if (!why.empty()) return base::Error{base::Errc::unreachable, why};
    if (now >= deadline) {
      return base::Error{base::Errc::timeout,
                         "still running after " + timeout + ": " + list(running)};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Step 2: the watch tree stops itself, through its top — hamon-watcher, else hamon-master — and
// the master removes the segments. True once neither runs.
bool stop_watch_tree(const NodeTarget& t, Clock::time_point deadline) {
  for (const char* top : {"hamon-watcher", "hamon-master"}) {
    const pid_t pid = node::instance_holder(t.runtime_dir, top);
    if (pid <= 0) continue;
    const int fd = node::pidfd_open(pid);
    if (fd < 0) continue;
    // Opened first, checked second: if it still holds the lock, the pidfd names it.
    if (node::instance_holder(t.runtime_dir, top) == pid) (void)node::pidfd_signal(fd, SIGTERM);
    ::close(fd);
    break;
  }
  while (node::instance_holder(t.runtime_dir, "hamon-watcher") > 0 ||
         node::instance_holder(t.runtime_dir, "hamon-master") > 0) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

Teardown::Grace grace_from(const std::string& config_path) {
  auto loaded = std::make_shared<node::LoadResult>();
  if (!config_path.empty()) *loaded = node::load_config_file(config_path);
  return [loaded](const std::string& name) -> std::chrono::nanoseconds {
    if (loaded->config) {
      if (const auto* p = loaded->config->find_process(name)) return p->stop_timeout;
    }
    return kDefaultGrace;
  };
}

struct DownOptions {
  NodeOptions node;
  std::string timeout = "60s";
};

int down(const DownOptions& o) {
  int code = exit_ok;
  const auto limit = engine::parse_duration(o.timeout);
  if (!limit.ok()) {
    std::cerr << "hamon: --timeout " << o.timeout << ": " << limit.error << '\n';
    return exit_usage;
  }
  const auto deadline = Clock::now() + limit.value;
  const auto target = find_node(o.node, code, true);
  if (!target) return code;
  auto attached = shm::ControlSegment::attach(target->control_segment, shm::Access::read_only);
  if (!attached) {
    std::cerr << "hamon: the node is not running (" << attached.error().message << ")\n";
    return exit_not_running;
  }
  // Kept mapped to the end: the records stay readable after the master removed the segment.
  const shm::ControlSegment ctl = std::move(attached).value();
  const std::string node_name = "node " + target->node + " of cluster " + target->cluster;

  // One `hamon up` or `hamon down` of a node at a time.
  pid_t other = 0;
  int cli_lock = -1;
  while ((cli_lock = node::take_instance_lock(target->runtime_dir, "hamon", &other)) < 0) {
    if (Clock::now() >= deadline) {
      std::cerr << "hamon: another hamon up or down of " << node_name << " (pid " << other
                << ") did not finish within " << o.timeout << '\n';
      return exit_timeout;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  struct CloseLock {
    int fd;
    ~CloseLock() { ::close(fd); }
  } close_lock{cli_lock};

  if (auto r = stop_through_server(*target, ctl, deadline, o.timeout); r) {
    // What does not stop by itself here is stopped by the teardown below.
    (void)stop_watch_tree(*target, deadline);
  } else if (r.error().code == base::Errc::unreachable) {
    std::cout << r.error().message << ": hamon stops the processes itself, all at once\n";
  } else {
    std::cerr << "hamon: " << r.error().message << "; see `hamon status`\n";
    return exit_timeout;
  }

  Teardown teardown(*target, ctl);
  if (auto r = teardown.hold_daemons(deadline, o.timeout); !r) {
    std::cerr << "hamon: " << r.error().message << '\n';
    return exit_timeout;
  }
  const auto outcome = teardown.stop_processes(grace_from(target->config_path), deadline);
  for (const auto& s : outcome.stopped) std::cout << "stopped " << s << '\n';
  if (!outcome.left.empty()) {
    std::cerr << "hamon: not stopped within " << o.timeout << ": " << list(outcome.left, ", ")
              << ".\nhamon: the daemons are stopped and the node's segments kept: `hamon down` "
                 "again stops what is left, `hamon up` takes it over\n";
    return exit_timeout;
  }
  teardown.remove_segments();
  std::cout << node_name << " is down\n";
  return exit_ok;
}

}  // namespace

void add_down(CLI::App& app, int& exit_code) {
  CLI::App* c = app.add_subcommand(
      "down", "Stop the node's processes in reverse dependency order, then its daemons");
  auto o = std::make_shared<DownOptions>();
  add_node_options(*c, o->node);
  c->add_option("--timeout", o->timeout, "Give up waiting after this long (default 60s)");
  c->callback([o, &exit_code] { exit_code = down(*o); });
}

}  // namespace hamon::cli
