#include "hamon/node/node.hpp"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "hamon/node/config_file.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

std::string control_segment_name(const std::string& cluster, const std::string& id) {
  return shm::control_segment_name(cluster, id);
}

std::string heartbeat_segment_name(const std::string& cluster, const std::string& id,
                                   const std::string& group) {
  return shm::heartbeat_segment_name(cluster, id, group);
}

std::string runtime_base() {
  if (const char* env = std::getenv("HAMON_RUNTIME_DIR"); env != nullptr && *env != '\0') {
    return env;
  }
  return geteuid() == 0 ? "/run/hamon" : "/tmp/hamon-" + std::to_string(geteuid());
}

std::string runtime_dir(const std::string& cluster, const std::string& id) {
  return runtime_base() + "/" + cluster + "." + id;
}

namespace {

std::string absolute(const std::string& path) {
  char abs[PATH_MAX];
  return ::realpath(path.c_str(), abs) != nullptr ? abs : path;
}

}  // namespace

std::variant<Node, std::string> load_node(const std::string& config_path,
                                          const std::string& node_id,
                                          const std::string& source_path) {
  LoadResult r = load_config_file(config_path);
  if (!r.config) {
    std::string all;
    for (const auto& e : r.errors) all += (all.empty() ? "" : "\n") + e;
    return all;
  }
  Node n;
  n.config = std::move(*r.config);
  n.config_text = std::move(r.text);
  n.config_path = absolute(config_path);
  n.source_path = source_path.empty() ? n.config_path : absolute(source_path);
  if (node_id.empty()) {
    if (n.config.cluster.nodes.size() != 1) {
      std::string ids;
      for (const auto& nc : n.config.cluster.nodes) ids += (ids.empty() ? "" : ", ") + nc.id;
      return config_path + " names " + std::to_string(n.config.cluster.nodes.size()) + " nodes (" +
             ids + "): choose one with --node";
    }
    n.id = n.config.cluster.nodes.front().id;
  } else if (n.config.find_node(node_id) == nullptr) {
    return config_path + " has no node '" + node_id + "'";
  } else {
    n.id = node_id;
  }
  return n;
}

int make_dirs(const std::string& path, unsigned mode) {
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    // Directories on the way may be passed through by anyone (not listed): a tenant's user
    // reaches the server's socket in the runtime directory, which authorizes each request.
    const unsigned m = pos == std::string::npos ? mode : (mode | 0011);
    if (::mkdir(partial.c_str(), m) != 0 && errno != EEXIST) return errno;
  }
  return 0;
}

std::string self_dir() {
  char buf[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<std::size_t>(n));
  return p.substr(0, p.rfind('/'));
}

std::string daemon_dir() {
  const std::string here = self_dir();
  if (::access((here + "/hamon-watcher").c_str(), X_OK) == 0) return here;
  return here + "/" HAMON_DAEMON_DIR_FROM_BIN;
}

void search_first_in(const std::string& dir) {
  const char* path = std::getenv("PATH");
  const std::string now = path != nullptr ? path : "/usr/bin:/bin";
  if (now == dir || now.rfind(dir + ":", 0) == 0) return;
  ::setenv("PATH", (dir + ":" + now).c_str(), 1);
}

}  // namespace hamon::node
