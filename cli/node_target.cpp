#include "node_target.hpp"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <vector>

#include "commands.hpp"
#include "hamon/node/control_socket.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/running_config.hpp"

namespace hamon::cli {

void add_node_options(CLI::App& command, NodeOptions& options) {
  command.add_option("--config", options.config, "The node's configuration file");
  command.add_option("--node", options.node, "The node's id (default: the only node)");
}

std::optional<NodeTarget> find_node(const NodeOptions& options, int& exit_code) {
  std::string segment;
  if (!options.config.empty()) {
    auto loaded = node::load_node(options.config, options.node);
    if (std::holds_alternative<std::string>(loaded)) {
      // A bad edit must not lock the operator out of a node that runs: it is found by the
      // running copy made from that file (running_config.hpp).
      char abs[PATH_MAX];
      if (::realpath(options.config.c_str(), abs) != nullptr) {
        if (const std::string copy = node::find_running_copy(abs, options.node); !copy.empty()) {
          if (auto c = node::load_node(copy, options.node, abs);
              std::holds_alternative<node::Node>(c))
            loaded = std::move(c);
        }
      }
    }
    if (auto* err = std::get_if<std::string>(&loaded)) {
      std::cerr << "hamon: " << *err << '\n';
      exit_code = exit_config_invalid;
      return std::nullopt;
    }
    segment = std::get<node::Node>(loaded).control_segment();
  } else {
    // The control segments on this machine: "hamon.<cluster>.<node>.ctl".
    std::vector<std::string> found;
    if (DIR* d = ::opendir("/dev/shm")) {
      while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n.rfind("hamon.", 0) == 0 && n.size() > 4 && n.compare(n.size() - 4, 4, ".ctl") == 0 &&
            (options.node.empty() || n.find("." + options.node + ".ctl") != std::string::npos)) {
          found.push_back(n);
        }
      }
      ::closedir(d);
    }
    if (found.empty()) {
      std::cerr << "hamon: no hamon node is running on this machine\n";
      exit_code = exit_not_running;
      return std::nullopt;
    }
    if (found.size() > 1) {
      std::cerr << "hamon: " << found.size()
                << " nodes run on this machine; name one with --config F --node ID:\n";
      for (const auto& f : found) std::cerr << "  " << f << '\n';
      exit_code = exit_usage;
      return std::nullopt;
    }
    segment = found.front();
  }
  auto ctl = shm::ControlSegment::attach(segment, shm::Access::read_only);
  if (!ctl) {
    std::cerr << "hamon: the node is not running (" << ctl.error().message << ")\n";
    exit_code = exit_not_running;
    return std::nullopt;
  }
  NodeTarget t;
  t.cluster = ctl->header().cluster;
  t.node = ctl->header().node;
  t.control_segment = segment;
  t.runtime_dir = node::runtime_dir(t.cluster, t.node);
  t.socket = node::server_socket(t.cluster, t.node);
  return t;
}

std::optional<node::Reply> server_request(const NodeTarget& node, const node::Request& request,
                                          int& exit_code) {
  const std::string line = node::control_request(node.socket, node::format(request), 10000);
  auto reply = node::parse_reply(line);
  if (reply && reply->ok) return std::move(reply).value();
  const std::string why = reply ? reply->error : reply.error().message;
  std::cerr << "hamon: " << why << '\n';
  exit_code =
      why.find("unable to reach") != std::string::npos || why.find("no reply") != std::string::npos
          ? exit_not_running
          : exit_refused;
  return std::nullopt;
}

}  // namespace hamon::cli
