// `hamon up`: starts the node in the background (hamon-watcher, which starts the rest) and returns
// once its processes are up, or have failed, by the rules of up_progress.hpp.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "hamon/engine/duration.hpp"
#include "hamon/node/clock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/node_view.hpp"
#include "hamon/node/running_config.hpp"
#include "hamon/shm/control_segment.hpp"
#include "node_target.hpp"
#include "up_progress.hpp"

namespace hamon::cli {
namespace {

using Clock = std::chrono::steady_clock;

// The longest a ready process is watched before it counts as up (up_progress.hpp): a process
// with a long heartbeat timeout does not hold `up` back for all of it.
constexpr std::chrono::nanoseconds kSettleMax = std::chrono::seconds(10);

bool runs(const shm::DaemonSlot& d) {
  return d.state.load() == static_cast<std::uint32_t>(shm::DaemonState::running) &&
         node::still_runs(d.pid.load(), d.start_ticks.load());
}

void print_log_tail(const std::string& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(f, l);) lines.push_back(l);
  const std::size_t from = lines.size() > 10 ? lines.size() - 10 : 0;
  for (std::size_t i = from; i < lines.size(); ++i) std::cerr << "  " << lines[i] << '\n';
}

// Starts hamon-watcher (which starts hamon-master, which starts the rest) in its own session,
// stdio to its log. Returns its pid, or -1.
pid_t launch_watcher(const node::Node& node) {
  const std::string bin_dir = node::self_dir();
  const std::string daemons = node::daemon_dir();
  const std::string log = node.log_dir() + "/hamon-watcher.log";
  const pid_t child = ::fork();
  if (child != 0) return child;
  ::setsid();
  const int in = ::open("/dev/null", O_RDONLY);
  const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
  ::dup2(in, 0);
  ::dup2(out, 1);
  ::dup2(out, 2);
  // Bare program names in the configuration find hamon's own programs first.
  node::search_first_in(bin_dir);
  node::search_first_in(daemons);
  const std::string watcher = daemons + "/hamon-watcher";
  const std::string running = node.running_config();
  ::execl(watcher.c_str(), watcher.c_str(), "--config", running.c_str(), "--source",
          node.config_path.c_str(), "--node", node.id.c_str(), static_cast<char*>(nullptr));
  ::_exit(127);
}

struct UpOptions {
  std::string config, node, timeout = "60s";
};

int up(const UpOptions& o) {
  auto loaded = node::load_node(o.config, o.node);
  if (auto* err = std::get_if<std::string>(&loaded)) {
    std::cerr << "hamon: " << *err << '\n';
    return exit_config_invalid;
  }
  const node::Node node = std::get<node::Node>(std::move(loaded));
  const auto limit = engine::parse_duration(o.timeout);
  if (!limit.ok()) {
    std::cerr << "hamon: --timeout " << o.timeout << ": " << limit.error << '\n';
    return exit_usage;
  }
  const auto deadline = Clock::now() + limit.value;
  const std::string node_name = "node " + node.id + " of cluster " + node.cluster();
  if (const int e = node::make_dirs(node.log_dir(), 0750); e != 0) {
    std::cerr << "hamon: unable to create " << node.log_dir() << ": " << std::strerror(e) << '\n';
    return exit_io;
  }
  // One `hamon up` or `hamon down` of a node at a time: two at once would both find the node
  // not running and both start it.
  pid_t other = 0;
  const int cli_lock = node::take_instance_lock(node.runtime_dir(), "hamon", &other);
  if (cli_lock < 0) {
    std::cerr << "hamon: " << node_name << " is being started or taken down by another hamon"
              << (other > 0 ? " (pid " + std::to_string(other) + ")" : "") << '\n';
    return exit_not_running;
  }
  // Held until the watcher we start holds its own instance lock: from then on that refuses a
  // second `up`, and a `down` may stop the node even while this `up` still waits.
  struct CliLock {
    int fd;
    void release() {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
    ~CliLock() { release(); }
  } lock{cli_lock};
  if (const pid_t watcher = node::instance_holder(node, "hamon-watcher"); watcher > 0) {
    std::cerr << "hamon: " << node_name << " is already running (hamon-watcher pid " << watcher
              << ")\n";
    return exit_not_running;
  }
  bool adopting = false;
  if (auto ctl = shm::ControlSegment::attach(node.control_segment(), shm::Access::read_only)) {
    if (runs(ctl->daemon(shm::DaemonId::master))) {
      std::cerr << "hamon: " << node_name << " is already running (hamon-master pid "
                << ctl->daemon(shm::DaemonId::master).pid.load() << ")\n";
      return exit_not_running;
    }
    // Its processes still run: the watcher takes them over (docs/operations.md, "Stale state").
    adopting = node::has_live_parts(*ctl);
  }
  if (auto r = record_config_path(node.runtime_dir(), node.config_path); !r) {
    std::cerr << "hamon: warning: " << r.error().message << '\n';
  }
  // The daemons read this copy, never the file: it changes with `hamon reload` only. A node
  // taken over keeps the copy it runs with, so an edit never reloaded does not slip in.
  if (!adopting || ::access(node.running_config().c_str(), R_OK) != 0) {
    if (auto w = node::write_running_config(node); !w) {
      std::cerr << "hamon: " << w.error().message << '\n';
      return exit_io;
    }
  }
  const pid_t watcher = launch_watcher(node);
  if (watcher < 0) {
    std::cerr << "hamon: unable to start hamon-watcher: " << std::strerror(errno) << '\n';
    return exit_io;
  }
  UpProgress progress(
      [&node](const std::string& name) -> std::uint64_t {
        const auto* p = node.config.find_process(name);
        const auto timeout = p != nullptr ? p->timeout : engine::ProcessSettings{}.timeout;
        return static_cast<std::uint64_t>(
            std::min<std::chrono::nanoseconds>(2 * timeout, kSettleMax).count());
      },
      adopting);
  bool looked = false;
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (::waitpid(watcher, nullptr, WNOHANG) == watcher) {
      const std::string log = node.log_dir() + "/hamon-watcher.log";
      std::cerr << "hamon: the node stopped while starting; " << log << " ends with:\n";
      print_log_tail(log);
      return exit_not_running;
    }
    if (lock.fd >= 0 && node::instance_holder(node, "hamon-watcher") == watcher) lock.release();
    auto ctl = shm::ControlSegment::attach(node.control_segment(), shm::Access::read_only);
    if (!ctl) continue;
    // Only the segment our watcher registered in is this node's: one left by a node that died
    // may still say its processes run.
    if (ctl->daemon(shm::DaemonId::watcher).pid.load() != static_cast<std::uint32_t>(watcher) ||
        !runs(ctl->daemon(shm::DaemonId::watcher)) || !runs(ctl->daemon(shm::DaemonId::server))) {
      continue;
    }
    looked = true;
    const node::NodeView v = node::read_view(*ctl);
    const UpProgress::Verdict verdict = progress.observe(v, node::now_ns());
    if (verdict.outcome == UpProgress::Outcome::up) {
      std::cout << node::render_table(v);
      return exit_ok;
    }
    if (verdict.outcome == UpProgress::Outcome::failed) {
      std::cerr << "hamon: " << verdict.message << "; see `hamon events` and the logs in "
                << node.log_dir() << '\n';
      return exit_process_failed;
    }
  }
  if (!looked) {
    std::cerr << "hamon: the node's daemons did not come up within " << o.timeout << "; see "
              << node.log_dir() << '\n';
    return exit_timeout;
  }
  const UpProgress::Verdict verdict = progress.at_deadline();
  if (verdict.outcome == UpProgress::Outcome::failed) {
    std::cerr << "hamon: after " << o.timeout << ", " << verdict.message
              << "; see `hamon events` and the logs in " << node.log_dir() << '\n';
    return exit_process_failed;
  }
  std::cerr << "hamon: after " << o.timeout << ", " << verdict.message
            << "; see `hamon status` and `hamon events`\n";
  return exit_timeout;
}

}  // namespace

void add_up(CLI::App& app, int& exit_code) {
  CLI::App* c =
      app.add_subcommand("up", "Start the node in the background; return once every process is up");
  auto o = std::make_shared<UpOptions>();
  c->add_option("--config", o->config, "Configuration file (TOML)")->required();
  c->add_option("--node", o->node, "This node's id (default: the only node in the file)");
  c->add_option("--timeout", o->timeout, "Give up waiting after this long (default 60s)");
  c->callback([o, &exit_code] { exit_code = up(*o); });
}

}  // namespace hamon::cli
