// The duplex's operator commands (docs/roles.md): `hamon switchover TENANT... | --all` moves
// tenants to the other node, `hamon tenant activate TENANT --force` takes one here whatever the
// peer and the policy say. Each returns once the role here has changed as asked.
#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "hamon/engine/duration.hpp"
#include "hamon/node/node_view.hpp"
#include "hamon/shm/control_segment.hpp"
#include "node_target.hpp"

namespace hamon::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct RoleOptions {
  NodeOptions node;
  std::vector<std::string> tenants;
  bool all = false;
  bool force = false;
  std::string timeout = "10s";
  bool no_wait = false;
};

std::string role_of(const node::NodeView& v, const std::string& tenant) {
  for (const auto& t : v.tenants) {
    if (t.name == tenant) return t.role;
  }
  return "";
}

// Waits until each tenant's role here is `want(before)`.
int wait_roles(const NodeTarget& target, const std::map<std::string, std::string>& before,
               bool activate, Clock::time_point deadline, const std::string& timeout) {
  auto ctl = shm::ControlSegment::attach(target.control_segment, shm::Access::read_only);
  if (!ctl) {
    std::cerr << "hamon: the node stopped: " << ctl.error().message << '\n';
    return exit_not_running;
  }
  for (;;) {
    const node::NodeView v = node::read_view(*ctl);
    std::vector<std::string> pending;
    for (const auto& [tenant, was] : before) {
      const std::string now = role_of(v, tenant);
      const bool done = activate || was == "standby" ? now == "active" : now == "standby";
      if (!done) pending.push_back(tenant + " (" + now + ")");
    }
    if (pending.empty()) return exit_ok;
    if (Clock::now() >= deadline) {
      std::cerr << "hamon: not done within " << timeout << ":";
      for (const auto& n : pending) std::cerr << ' ' << n;
      std::cerr << "; see `hamon status` and `hamon events`\n";
      return exit_timeout;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void run(const RoleOptions& o, node::Verb verb, int& exit_code) {
  const auto limit = engine::parse_duration(o.timeout);
  if (!limit.ok()) {
    std::cerr << "hamon: --timeout " << o.timeout << ": " << limit.error << '\n';
    exit_code = exit_usage;
    return;
  }
  const auto deadline = Clock::now() + limit.value;
  const auto target = find_node(o.node, exit_code);
  if (!target) return;
  auto ctl = shm::ControlSegment::attach(target->control_segment, shm::Access::read_only);
  if (!ctl) {
    std::cerr << "hamon: " << ctl.error().message << '\n';
    exit_code = exit_not_running;
    return;
  }
  const node::NodeView v = node::read_view(*ctl);
  std::vector<std::string> tenants = o.tenants;
  if (o.all) {
    // --all: every tenant active here moves to the peer.
    for (const auto& t : v.tenants) {
      if (t.role == "active") tenants.push_back(t.name);
    }
  }
  std::map<std::string, std::string> before;
  for (const auto& t : tenants) {
    const std::string role = role_of(v, t);
    if (role.empty()) {
      std::cerr << "hamon: no tenant " << t << " on node " << v.node << '\n';
      exit_code = exit_usage;
      return;
    }
    before[t] = role;
  }
  // One request for them all (comma-separated): the server moves them in one turn.
  std::string all;
  for (const auto& [t, role] : before) {
    (void)role;
    all.append(all.empty() ? "" : ",").append(t);
  }
  if (!server_request(*target, node::Request::on(verb, all), exit_code)) return;
  exit_code = o.no_wait ? exit_ok
                        : wait_roles(*target, before, verb == node::Verb::tenant_activate, deadline,
                                     o.timeout);
}

}  // namespace

void add_role_commands(CLI::App& app, CLI::App& tenant, int& exit_code) {
  {
    CLI::App* c = app.add_subcommand(
        "switchover",
        "Move tenants to the other node: the active side hands over, never two actives");
    auto o = std::make_shared<RoleOptions>();
    c->add_option("TENANT", o->tenants, "Tenants to move (active here, or active on the peer)");
    c->add_flag("--all", o->all, "Every tenant active on this node");
    add_node_options(*c, o->node);
    c->add_option("--timeout", o->timeout, "Give up waiting after this long (default 10s)");
    c->add_flag("--no-wait", o->no_wait, "Return once the server has taken the request");
    c->callback([o, &exit_code] {
      if (o->tenants.empty() == !o->all) {
        std::cerr << "hamon switchover: name the tenants, or --all\n";
        exit_code = exit_usage;
        return;
      }
      run(*o, node::Verb::switchover, exit_code);
    });
  }
  {
    CLI::App* c = tenant.add_subcommand(
        "activate", "Make a tenant active here whatever the peer says (the peer must be dead)");
    auto o = std::make_shared<RoleOptions>();
    o->tenants.emplace_back();
    c->add_option("TENANT", o->tenants[0], "The tenant")->required();
    c->add_flag("--force", o->force, "Required: you know the peer is not serving it")->required();
    add_node_options(*c, o->node);
    c->add_option("--timeout", o->timeout, "Give up waiting after this long (default 10s)");
    c->add_flag("--no-wait", o->no_wait, "Return once the server has taken the request");
    c->callback([o, &exit_code] { run(*o, node::Verb::tenant_activate, exit_code); });
  }
}

}  // namespace hamon::cli
