// Commands that act on a running node: start/stop/restart NAME, tenant ..., reload (up and
// down are in cmd_up.cpp and cmd_down.cpp).
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "hamon/node/config_file.hpp"
#include "hamon/engine/duration.hpp"
#include "hamon/node/node_view.hpp"
#include "hamon/shm/control_segment.hpp"
#include "node_target.hpp"

namespace hamon::cli {
namespace {

using Clock = std::chrono::steady_clock;

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
  add_up(app, exit_code);
  add_down(app, exit_code);
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
  CLI::App* tenant =
      app.add_subcommand("tenant", "Act on a tenant: its processes, or its role here");
  tenant->require_subcommand(1);
  add_action(*tenant, "start", node::Verb::tenant_start, "TENANT", "Start a tenant's processes",
             exit_code);
  add_action(*tenant, "stop", node::Verb::tenant_stop, "TENANT", "Stop a tenant's processes",
             exit_code);
  add_action(*tenant, "restart", node::Verb::tenant_restart, "TENANT",
             "Restart a tenant's processes", exit_code);
  add_role_commands(app, *tenant, exit_code);
}

}  // namespace hamon::cli
