// Node: one node's identity on this machine — its configuration, its id, and the names derived
// from them (segments, runtime directory, the server's socket). Every daemon and the CLI derive
// names here, so they always agree.
#ifndef HAMON_DAEMONS_NODE_HPP
#define HAMON_DAEMONS_NODE_HPP

#include <string>
#include <variant>

#include "hamon/engine/config.hpp"

namespace hamon::daemons {

struct Node {
  engine::Config config;
  std::string config_path;  // absolute
  std::string id;

  [[nodiscard]] const std::string& cluster() const { return config.cluster.name; }
  [[nodiscard]] std::string control_segment() const;
  [[nodiscard]] std::string heartbeat_segment(const std::string& group) const;
  // $HAMON_RUNTIME_DIR, else /run/hamon (root) or /tmp/hamon-<uid>; then "/<cluster>.<node>".
  [[nodiscard]] std::string runtime_dir() const;
  [[nodiscard]] std::string server_socket() const { return runtime_dir() + "/server.sock"; }
  [[nodiscard]] std::string log_dir() const { return runtime_dir() + "/log"; }
};

// Loads and validates `config_path` and picks the node: `node_id`, or the only node when it is
// empty. On failure, the messages to print (one per line).
std::variant<Node, std::string> load_node(const std::string& config_path,
                                          const std::string& node_id);

// mkdir -p with `mode`; 0 or errno.
int make_dirs(const std::string& path, unsigned mode);

// The directory holding the running executable: daemons find each other there.
std::string self_dir();

}  // namespace hamon::daemons

#endif  // HAMON_DAEMONS_NODE_HPP
