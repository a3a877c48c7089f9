// hamon check-config FILE: validate a configuration without touching the node.
#include <CLI/CLI.hpp>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <memory>
#include <utility>

#include "commands.hpp"
#include "hamon/engine/render.hpp"
#include "hamon/node/key_path.hpp"
#include "hamon/node/tenant_caps.hpp"
#include "hamon/peer/key_file.hpp"

namespace hamon::cli {
namespace {

int check_config(const std::string& path) {
  const LoadedConfig loaded = load_config(path);
  if (!loaded.config) return loaded.exit_code;
  std::cout << path << ": ok (" << engine::render_summary(*loaded.config) << ")\n";
  // The key is the node's, not the file's: a warning, since check-config may run elsewhere.
  const engine::Config& c = *loaded.config;
  if (c.cluster.nodes.size() > 1 && c.cluster.auth == engine::PeerAuth::none) {
    std::cerr << path
              << ": warning: auth = \"none\": the peer link is not authenticated; anyone who "
                 "reaches its port can forge frames (loopback demos only)\n";
  } else if (c.cluster.nodes.size() > 1) {
    const std::string key = node::key_file_path(c, path);
    if (auto k = peer::load_key_file(key); !k) {
      std::cerr << path << ": warning: auth_key_file: " << k.error().message
                << " (the peer link waits until the key can be read; make one with: hamon "
                   "keygen "
                << key << ")\n";
    }
  }
  // Tenants are isolated from each other and from hamon by users (docs/security.md).
  const passwd* self = ::getpwuid(::geteuid());
  const std::string own = self != nullptr ? self->pw_name : std::to_string(::geteuid());
  for (const auto& t : c.tenants) {
    if (t.user && *t.user != own) continue;
    std::cerr << path << ":" << t.where.line << ": warning: tenant " << t.name
              << " runs as hamon's own user (" << own
              << "): its processes can write hamon's control segment and signal its daemons, so "
                 "no isolation is possible; give it a user of its own (user = \"...\")\n";
  }
  // Caps are held by this machine's cgroup controllers (docs/operations.md, "Tenant caps"): a
  // warning, since the node may be another machine.
  for (const auto& t : c.tenants) {
    const std::pair<const char*, bool> wanted[] = {{"memory", t.caps.memory.has_value()},
                                                   {"cpu", t.caps.cpu_weight.has_value()},
                                                   {"pids", t.caps.pids.has_value()}};
    for (const auto& [controller, asked] : wanted) {
      if (!asked || node::caps_hierarchy(controller) != node::CapsHierarchy::none) continue;
      std::cerr << path << ":" << t.where.line << ": warning: tenant " << t.name << ": its "
                << controller << " cap cannot be held here (no cgroup hierarchy offers the "
                << controller << " controller); its processes would run without it\n";
    }
  }
  // On cgroup v2 a cpu weight puts the tenant's processes under the cpu controller; on a kernel
  // that schedules real-time tasks by group (CONFIG_RT_GROUP_SCHED) the kernel then refuses a
  // real-time policy below it, and refuses the controller while a real-time process runs below.
  const bool weighted = std::any_of(c.tenants.begin(), c.tenants.end(),
                                    [](const auto& t) { return t.caps.cpu_weight.has_value(); });
  const auto realtime = std::find_if(c.processes.begin(), c.processes.end(), [](const auto& p) {
    return p.scheduling.sched && (p.scheduling.sched->policy == engine::SchedPolicy::fifo ||
                                  p.scheduling.sched->policy == engine::SchedPolicy::rr);
  });
  if (weighted && realtime != c.processes.end() &&
      node::caps_hierarchy("cpu") == node::CapsHierarchy::v2) {
    std::cerr << path << ": warning: a cpu_weight and a real-time process (" << realtime->group
              << "/" << realtime->name
              << ") on one node: on cgroup v2 with a kernel built with CONFIG_RT_GROUP_SCHED the "
                 "kernel refuses one or the other (docs/operations.md, \"Tenant caps\")\n";
  }
  return exit_ok;
}

}  // namespace

void add_check_config(CLI::App& app, int& exit_code) {
  CLI::App* command =
      app.add_subcommand("check-config", "Validate a configuration file and report every error");
  auto file = std::make_shared<std::string>();
  command->add_option("FILE", *file, "Configuration file (TOML)")->required();
  command->callback([file, &exit_code] { exit_code = check_config(*file); });
}

}  // namespace hamon::cli
