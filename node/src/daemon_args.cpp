#include "hamon/node/daemon_args.hpp"

#include <limits.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>

#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/running_config.hpp"

namespace hamon::node {

Node daemon_startup(const char* prog, int argc, char** argv, bool* adopt) {
  CLI::App app{std::string(prog) + ": a hamon daemon (see docs/architecture.md)"};
  std::string config, node, source;
  app.add_option("--config", config, "the configuration the node runs")->required();
  app.add_option("--source", source,
                 "the operator's file it was validated from, which a reload reads (default: "
                 "--config)");
  app.add_option("--node", node, "this node's id in the configuration");
  if (adopt != nullptr) {
    app.add_flag("--adopt", *adopt, "take over a running node instead of starting one");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::exit(app.exit(e) == 0 ? 0 : kExitUsage);
  }
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
  return std::get<Node>(std::move(loaded));
}

shm::ControlSegment attach_control_or_exit(const char* prog, const Node& node) {
  auto ctl = shm::ControlSegment::attach(node.control_segment(), shm::Access::read_write);
  if (!ctl) {
    std::fprintf(stderr, "%s: %s\n", prog, ctl.error().message.c_str());
    std::exit(kExitSystem);
  }
  return std::move(ctl).value();
}

}  // namespace hamon::node
