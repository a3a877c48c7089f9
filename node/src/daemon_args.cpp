#include "hamon/node/daemon_args.hpp"

#include <limits.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>

#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/running_config.hpp"

namespace hamon::node {

DaemonArgs parse_daemon_args(const char* prog, int argc, char** argv, bool* adopt) {
  CLI::App app{std::string(prog) + ": a hamon daemon (see docs/architecture.md)"};
  app.set_version_flag("--version", std::string(prog) + " " + HAMON_VERSION);
  DaemonArgs a;
  app.add_option("--config", a.config, "the configuration the node runs")->required();
  app.add_option("--source", a.source,
                 "the operator's file it was validated from, which a reload reads (default: "
                 "--config)");
  app.add_option("--node", a.node, "this node's id in the configuration");
  app.add_option("--cluster", a.cluster,
                 "the node's cluster, as the configuration names it (with --node: the node's "
                 "resources are found before the configuration is read)");
  if (adopt != nullptr) {
    app.add_flag("--adopt", *adopt, "take over a running node instead of starting one");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : kExitUsage);
  }
  return a;
}

Node load_daemon_node(const char* prog, const DaemonArgs& args) {
  const std::string& config = args.config;
  const std::string& node = args.node;
  const std::string& source = args.source;
  auto loaded = load_node(config, node, source);
  if (auto* err = std::get_if<std::string>(&loaded)) {
    std::fprintf(stderr, "%s: %s\n", prog, err->c_str());
    // Started on the operator's file (by init, restarting the top of the watch tree) while the
    // file is not valid: a node that runs goes on with what it runs (running_config.hpp).
    char abs[PATH_MAX];
    const std::string copy = source.empty() && ::realpath(config.c_str(), abs) != nullptr
                                 ? find_running_copy(abs, node)
                                 : "";
    if (copy.empty()) std::exit(kExitSystem);
    loaded = load_node(copy, node, abs);
    if (auto* again = std::get_if<std::string>(&loaded)) {
      std::fprintf(stderr, "%s: %s\n", prog, again->c_str());
      std::exit(kExitSystem);
    }
    // Only a node that runs: one that does not is started from the file, or not at all.
    auto ctl = shm::ControlSegment::attach(std::get<Node>(loaded).control_segment(),
                                           shm::Access::read_only);
    if (!ctl || !has_live_parts(*ctl)) std::exit(kExitSystem);
    std::fprintf(stderr, "%s: runs on the node's running configuration %s\n", prog, copy.c_str());
  }
  Node n = std::get<Node>(std::move(loaded));
  if (!args.cluster.empty() && n.cluster() != args.cluster) {
    std::fprintf(stderr, "%s: %s is the configuration of cluster %s, not %s\n", prog,
                 n.config_path.c_str(), n.cluster().c_str(), args.cluster.c_str());
    std::exit(kExitSystem);
  }
  return n;
}

shm::ControlSegment attach_control_or_exit(const char* prog, const std::string& cluster,
                                           const std::string& id) {
  auto ctl =
      shm::ControlSegment::attach(control_segment_name(cluster, id), shm::Access::read_write);
  if (!ctl) {
    std::fprintf(stderr, "%s: %s\n", prog, ctl.error().message.c_str());
    std::exit(kExitSystem);
  }
  return std::move(ctl).value();
}

}  // namespace hamon::node
