// Commands that change a running node: up, down, start/stop/restart NAME, tenant ..., reload.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "hamon/node/config_file.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/engine/duration.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/node.hpp"
#include "node_target.hpp"
#include "hamon/node/node_view.hpp"
#include "hamon/node/proc.hpp"
#include "hamon/node/running_config.hpp"

namespace hamon::cli {
namespace {

using Clock = std::chrono::steady_clock;

bool master_alive(const shm::ControlSegment& ctl) {
  const shm::DaemonSlot& m = ctl.daemon(shm::DaemonId::master);
  return m.state.load() != static_cast<std::uint32_t>(shm::DaemonState::exited) &&
         node::still_runs(m.pid.load(), m.start_ticks.load());
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
  const char* path = std::getenv("PATH");
  ::setenv("PATH", (bin_dir + ":" + (path ? path : "/usr/bin:/bin")).c_str(), 1);
  const std::string watcher = bin_dir + "/hamon-watcher";
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
  if (const pid_t watcher = node::instance_holder(node, "hamon-watcher"); watcher > 0) {
    std::cerr << "hamon: node " << node.id << " of cluster " << node.cluster()
              << " is already running (hamon-watcher pid " << watcher << ")\n";
    return exit_not_running;
  }
  if (auto ctl = shm::ControlSegment::attach(node.control_segment(), shm::Access::read_only);
      ctl && master_alive(*ctl)) {
    std::cerr << "hamon: node " << node.id << " of cluster " << node.cluster()
              << " is already running (hamon-master pid "
              << ctl->daemon(shm::DaemonId::master).pid.load() << ")\n";
    return exit_not_running;
  }
  if (const int e = node::make_dirs(node.log_dir(), 0750); e != 0) {
    std::cerr << "hamon: unable to create " << node.log_dir() << ": " << std::strerror(e) << '\n';
    return exit_io;
  }
  // The daemons read this copy, never the file: it changes with `hamon reload` only.
  if (auto w = node::write_running_config(node); !w) {
    std::cerr << "hamon: " << w.error().message << '\n';
    return exit_io;
  }
  const pid_t watcher = launch_watcher(node);
  if (watcher < 0) {
    std::cerr << "hamon: unable to start hamon-watcher: " << std::strerror(errno) << '\n';
    return exit_io;
  }
  const auto deadline = Clock::now() + limit.value;
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (::waitpid(watcher, nullptr, WNOHANG) == watcher) {
      const std::string log = node.log_dir() + "/hamon-watcher.log";
      std::cerr << "hamon: the node stopped while starting; " << log << " ends with:\n";
      print_log_tail(log);
      return exit_not_running;
    }
    auto ctl = shm::ControlSegment::attach(node.control_segment(), shm::Access::read_only);
    if (!ctl) continue;
    if (ctl->daemon(shm::DaemonId::server).state.load() !=
        static_cast<std::uint32_t>(shm::DaemonState::running)) {
      continue;
    }
    const node::NodeView v = node::read_view(*ctl);
    bool all_up = true;
    for (const auto& p : v.processes) {
      if (p.state == "failed") {
        std::cerr << "hamon: " << p.tenant << "/" << p.name
                  << " failed to start; see `hamon events` and " << node.log_dir() << "/"
                  << p.tenant << "." << p.name << ".log\n";
        return exit_process_failed;
      }
      if (p.wanted && p.state != "ready" && p.state != "running") all_up = false;
    }
    if (all_up) {
      std::cout << node::render_table(v);
      return exit_ok;
    }
  }
  std::cerr << "hamon: the node did not come up within " << o.timeout
            << "; see `hamon status` and `hamon events`\n";
  return exit_timeout;
}

struct DownOptions {
  NodeOptions node;
  std::string timeout = "60s";
};

int down(const DownOptions& o) {
  int code = exit_ok;
  const auto target = find_node(o.node, code);
  if (!target) return code;
  const auto limit = engine::parse_duration(o.timeout);
  if (!limit.ok()) {
    std::cerr << "hamon: --timeout " << o.timeout << ": " << limit.error << '\n';
    return exit_usage;
  }
  const auto deadline = Clock::now() + limit.value;
  auto ctl = shm::ControlSegment::attach(target->control_segment, shm::Access::read_only);
  if (!ctl) return exit_not_running;
  // Processes first, in reverse dependency order (the server's stop plan)...
  if (ctl->daemon(shm::DaemonId::server).state.load() ==
      static_cast<std::uint32_t>(shm::DaemonState::running)) {
    int rc = exit_ok;
    if (!server_request(*target, node::Request::down(), rc)) return rc;
    for (;;) {
      bool any = false;
      for (const auto& p : node::read_view(*ctl).processes) any |= p.pid != 0;
      if (!any) break;
      if (Clock::now() >= deadline) {
        std::cerr << "hamon: processes still run after " << o.timeout << "; see `hamon status`\n";
        return exit_timeout;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // ...then the daemons, and the segments with them: through the watcher when there is one
  // (it stops the master, which stops the rest), else through the master.
  const shm::DaemonSlot& w = ctl->daemon(shm::DaemonId::watcher);
  const int wfd = w.pid.load() > 0 ? node::pidfd_open_checked(static_cast<pid_t>(w.pid.load()),
                                                              w.start_ticks.load())
                                   : -1;
  const auto master = static_cast<pid_t>(ctl->daemon(shm::DaemonId::master).pid.load());
  if (wfd >= 0) {
    node::pidfd_signal(wfd, SIGTERM);
    ::close(wfd);
  } else if (master > 0 && master_alive(*ctl)) {
    ::kill(master, SIGTERM);
  }
  while (shm::ControlSegment::attach(target->control_segment, shm::Access::read_only)) {
    if (Clock::now() >= deadline) {
      std::cerr << "hamon: hamon-master did not stop within " << o.timeout << '\n';
      return exit_timeout;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::cout << "node " << target->node << " of cluster " << target->cluster << " is down\n";
  return exit_ok;
}

struct ActionOptions {
  NodeOptions node;
  std::string name;
  std::string timeout = "60s";
  bool no_wait = false;
};

// Whether what `verb` asked of one process is done (1), failed (-1) or still under way (0).
int settled(node::Verb verb, const node::Acted& a, const node::ProcessRow* row) {
  using node::Verb;
  const bool stopping = verb == Verb::stop || verb == Verb::tenant_stop;
  if (row == nullptr) return stopping ? 1 : -1;  // configured no more
  const bool ready = row->state == "ready" || row->state == "running";
  if (stopping) return !row->wanted && row->pid == 0 && row->state != "stopping" ? 1 : 0;
  if (row->state == "failed") return -1;
  const bool restart = verb == Verb::restart || verb == Verb::tenant_restart;
  // A restart is done once a newer incarnation than the one it replaced is ready.
  const bool current =
      restart ? row->incarnation > a.incarnation : row->incarnation >= a.incarnation;
  return current && ready ? 1 : 0;
}

// Waits until every process the server acted on has reached what was asked, as `up` does.
int wait_settled(const NodeTarget& target, node::Verb verb, const std::vector<node::Acted>& acted,
                 Clock::time_point deadline, const std::string& timeout) {
  auto ctl = shm::ControlSegment::attach(target.control_segment, shm::Access::read_only);
  if (!ctl) {
    std::cerr << "hamon: the node stopped: " << ctl.error().message << '\n';
    return exit_not_running;
  }
  for (;;) {
    const node::NodeView v = node::read_view(*ctl);
    std::vector<std::string> pending;
    for (const node::Acted& a : acted) {
      const node::ProcessRow* row = nullptr;
      for (const auto& p : v.processes) {
        if (p.slot == a.slot && p.tenant + "/" + p.name == a.name) row = &p;
      }
      const int s = settled(verb, a, row);
      if (s < 0) {
        std::cerr << "hamon: " << a.name << " failed to start; see `hamon events` and "
                  << target.runtime_dir << "/log/" << (row ? row->tenant + "." + row->name : a.name)
                  << ".log\n";
        return exit_process_failed;
      }
      if (s == 0) pending.push_back(a.name);
    }
    if (pending.empty()) return exit_ok;
    if (Clock::now() >= deadline) {
      std::cerr << "hamon: not done within " << timeout << ":";
      for (const auto& n : pending) std::cerr << ' ' << n;
      std::cerr << "; see `hamon status`\n";
      return exit_timeout;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

void add_action(CLI::App& parent, const char* verb, node::Verb request, const char* what,
                const char* help, int& exit_code) {
  CLI::App* c = parent.add_subcommand(verb, help);
  auto o = std::make_shared<ActionOptions>();
  c->add_option(
       what, o->name,
       std::string(what) == "TENANT" ? "A tenant" : "A process: group/name, or a unique name")
      ->required();
  add_node_options(*c, o->node);
  c->add_option("--timeout", o->timeout, "Give up waiting after this long (default 60s)");
  c->add_flag("--no-wait", o->no_wait, "Return once the server has taken the request");
  c->callback([o, request, &exit_code] {
    const auto limit = engine::parse_duration(o->timeout);
    if (!limit.ok()) {
      std::cerr << "hamon: --timeout " << o->timeout << ": " << limit.error << '\n';
      exit_code = exit_usage;
      return;
    }
    const auto deadline = Clock::now() + limit.value;
    const auto target = find_node(o->node, exit_code);
    if (!target) return;
    const auto reply = server_request(*target, node::Request::on(request, o->name), exit_code);
    if (!reply) return;
    exit_code =
        o->no_wait ? exit_ok : wait_settled(*target, request, reply->acted, deadline, o->timeout);
  });
}

}  // namespace

void add_node_commands(CLI::App& app, int& exit_code) {
  {
    CLI::App* c = app.add_subcommand(
        "up", "Start the node in the background; return once every process is ready");
    auto o = std::make_shared<UpOptions>();
    c->add_option("--config", o->config, "Configuration file (TOML)")->required();
    c->add_option("--node", o->node, "This node's id (default: the only node in the file)");
    c->add_option("--timeout", o->timeout, "Give up waiting after this long (default 60s)");
    c->callback([o, &exit_code] { exit_code = up(*o); });
  }
  {
    CLI::App* c = app.add_subcommand(
        "down", "Stop the node's processes in reverse dependency order, then its daemons");
    auto o = std::make_shared<DownOptions>();
    add_node_options(*c, o->node);
    c->add_option("--timeout", o->timeout, "Give up waiting after this long (default 60s)");
    c->callback([o, &exit_code] { exit_code = down(*o); });
  }
  add_action(app, "start", node::Verb::start, "NAME", "Start a process (and what it depends on)",
             exit_code);
  add_action(app, "stop", node::Verb::stop, "NAME", "Stop a process (and what depends on it)",
             exit_code);
  add_action(app, "restart", node::Verb::restart, "NAME",
             "Restart a process (and its dependents); return once it is ready again", exit_code);
  {
    CLI::App* c = app.add_subcommand("reload",
                                     "Apply the changed configuration file: start added, restart "
                                     "changed, stop removed processes");
    auto o = std::make_shared<NodeOptions>();
    add_node_options(*c, *o);
    c->callback([o, &exit_code] {
      // A bad file is refused here, with its errors (the node is found by its running copy).
      if (const auto r = node::load_config_file(o->config); !r.config && !o->config.empty()) {
        for (const auto& e : r.errors) std::cerr << e << '\n';
        exit_code = exit_config_invalid;
        return;
      }
      const auto target = find_node(*o, exit_code);
      if (target) (void)server_request(*target, node::Request::reload(), exit_code);
    });
  }
  CLI::App* tenant = app.add_subcommand("tenant", "Act on all processes of a tenant");
  tenant->require_subcommand(1);
  add_action(*tenant, "start", node::Verb::tenant_start, "TENANT", "Start a tenant's processes",
             exit_code);
  add_action(*tenant, "stop", node::Verb::tenant_stop, "TENANT", "Stop a tenant's processes",
             exit_code);
  add_action(*tenant, "restart", node::Verb::tenant_restart, "TENANT",
             "Restart a tenant's processes", exit_code);
}

}  // namespace hamon::cli
