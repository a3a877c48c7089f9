// Which running node a command is about: --config F [--node ID], or, without them, the only
// node running on this machine.
#ifndef HAMON_CLI_NODE_TARGET_HPP
#define HAMON_CLI_NODE_TARGET_HPP

#include <optional>
#include <string>

#include "hamon/node/control_protocol.hpp"
#include "hamon/result.hpp"

namespace CLI {
class App;
}

namespace hamon::cli {

struct NodeOptions {
  std::string config;
  std::string node;
};

void add_node_options(CLI::App& command, NodeOptions& options);

struct NodeTarget {
  std::string cluster;
  std::string node;
  std::string control_segment;
  std::string runtime_dir;
  std::string socket;
  std::string config_path;  // the file the node was started from (absolute), if known
};

// On failure prints why and sets `exit_code`. With `broken_config_ok` (commands that need no
// configuration: down, the views), a --config file that cannot be loaded (broken since the node
// started, say) still finds the node `hamon up` started from that very file: the errors are
// printed as a warning, and the running node is acted on.
std::optional<NodeTarget> find_node(const NodeOptions& options, int& exit_code,
                                    bool broken_config_ok = false);

// `hamon up` records which file a node was started from (RUNTIME/config-path), so that the
// node can be found by that file even when it no longer parses.
base::Status record_config_path(const std::string& runtime_dir, const std::string& config_path);

// Sends one request to the node's server. On an error reply, or none, prints why and sets
// `exit_code` (exit_refused when the server said no, exit_not_running when none answered).
std::optional<node::Reply> server_request(const NodeTarget& node, const node::Request& request,
                                          int& exit_code);

}  // namespace hamon::cli

#endif  // HAMON_CLI_NODE_TARGET_HPP
