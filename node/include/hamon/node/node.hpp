// Node: one node's identity on this machine — its configuration, its id, and the names derived
// from them (segments, runtime directory, the server's socket).
#ifndef HAMON_NODE_NODE_HPP
#define HAMON_NODE_NODE_HPP

#include <string>
#include <variant>

#include "hamon/engine/config.hpp"

namespace hamon::node {

// The names of a node's resources, from (cluster, node id) alone: every daemon and the CLI derive
// them here, so they always agree.
[[nodiscard]] std::string control_segment_name(const std::string& cluster, const std::string& id);
[[nodiscard]] std::string heartbeat_segment_name(const std::string& cluster, const std::string& id,
                                                 const std::string& group);
// $HAMON_RUNTIME_DIR, else /run/hamon (root) or /tmp/hamon-<uid>: where every node's runtime
// directory is.
[[nodiscard]] std::string runtime_base();
// runtime_base() + "/<cluster>.<node>".
[[nodiscard]] std::string runtime_dir(const std::string& cluster, const std::string& id);
[[nodiscard]] inline std::string server_socket(const std::string& cluster, const std::string& id) {
  return runtime_dir(cluster, id) + "/server.sock";
}
[[nodiscard]] inline std::string log_dir(const std::string& cluster, const std::string& id) {
  return runtime_dir(cluster, id) + "/log";
}
// The configuration the node runs: what `hamon up` or the last successful `hamon reload`
// validated (running_config.hpp). Every daemon is started with it, never the operator's file.
[[nodiscard]] inline std::string running_config(const std::string& cluster, const std::string& id) {
  return runtime_dir(cluster, id) + "/running.toml";
}

struct Node {
  engine::Config config;
  std::string config_path;  // absolute: the file `config` was read from
  std::string config_text;  // the bytes `config` was parsed from
  // Absolute: the operator's file, which `hamon reload` reads. A daemon reads the node's running
  // copy (`config_path`) and is told this one with --source.
  std::string source_path;
  std::string id;

  [[nodiscard]] const std::string& cluster() const { return config.cluster.name; }
  [[nodiscard]] std::string control_segment() const { return control_segment_name(cluster(), id); }
  [[nodiscard]] std::string heartbeat_segment(const std::string& group) const {
    return heartbeat_segment_name(cluster(), id, group);
  }
  [[nodiscard]] std::string runtime_dir() const { return node::runtime_dir(cluster(), id); }
  [[nodiscard]] std::string server_socket() const { return node::server_socket(cluster(), id); }
  [[nodiscard]] std::string log_dir() const { return node::log_dir(cluster(), id); }
  [[nodiscard]] std::string running_config() const { return node::running_config(cluster(), id); }
};

// Loads and validates `config_path` and picks the node: `node_id`, or the only node when it is
// empty. `source_path` is the operator's file it is a copy of (empty: `config_path` itself). On
// failure, the messages to print (one per line).
std::variant<Node, std::string> load_node(const std::string& config_path,
                                          const std::string& node_id,
                                          const std::string& source_path = {});

// mkdir -p: the last directory with `mode`, those on the way with `mode` plus search for group
// and others (so a socket inside can be reached); 0 or errno.
int make_dirs(const std::string& path, unsigned mode);

// The directory holding the running executable: daemons find each other there.
std::string self_dir();

// Where hamon's daemons are, for the `hamon` command: beside it (a build tree), else where an
// installation puts them relative to it (/usr/bin/hamon → /usr/libexec/hamon).
std::string daemon_dir();

// Puts `dir` first in PATH unless it is there already: bare program names in a configuration
// find hamon's own programs (hamon-demo-app) first, however the node was started — by `hamon up`
// or by the systemd unit, whose PATH does not name /usr/libexec/hamon.
void search_first_in(const std::string& dir);

}  // namespace hamon::node

#endif  // HAMON_NODE_NODE_HPP
