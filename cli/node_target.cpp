#include "node_target.hpp"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <vector>

#include "commands.hpp"
#include "hamon/node/config_file.hpp"
#include "hamon/node/control_socket.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/running_config.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::cli {
namespace {

constexpr const char* kConfigRecord = "/config-path";

std::string absolute(const std::string& path) {
  char abs[PATH_MAX];
  return ::realpath(path.c_str(), abs) != nullptr ? abs : path;
}

// The file the node in `runtime_dir` was started from: as `hamon up` recorded it, else (a node
// started by systemd, say) as its hamon-watcher or hamon-master was told on its command line.
std::string recorded_config_path(const std::string& runtime_dir) {
  std::string path;
  if (node::read_whole_file(runtime_dir + kConfigRecord, path, PATH_MAX) == 0) {
    while (!path.empty() && path.back() == '\n') path.pop_back();
    return path;
  }
  for (const char* daemon : {"hamon-watcher", "hamon-master"}) {
    const pid_t pid = node::instance_holder(runtime_dir, daemon);
    std::string cmdline;
    if (pid <= 0 ||
        node::read_whole_file("/proc/" + std::to_string(pid) + "/cmdline", cmdline) != 0) {
      continue;
    }
    std::vector<std::string> args;
    for (std::size_t at = 0; at < cmdline.size();) {
      const std::size_t end = cmdline.find('\0', at);
      args.push_back(cmdline.substr(at, end == std::string::npos ? end : end - at));
      if (end == std::string::npos) break;
      at = end + 1;
    }
    for (std::size_t i = 0; i + 1 < args.size(); ++i) {
      if (args[i] == "--config") return absolute(args[i + 1]);
    }
  }
  return "";
}

// The control segments of the running nodes `hamon up` started from `config_path` (with id
// `node_id`, if given), found through their runtime directories ("CLUSTER.NODE").
std::vector<std::string> nodes_started_from(const std::string& config_path,
                                            const std::string& node_id) {
  const std::string want = absolute(config_path);
  const std::string base = node::runtime_base();
  std::vector<std::string> found;
  DIR* d = ::opendir(base.c_str());
  if (d == nullptr) return found;
  while (const dirent* e = ::readdir(d)) {
    // "CLUSTER.NODE"; names may hold dots themselves, so the directory is not split: the
    // segment's name is made of the same two parts, and its header says which is which.
    const std::string name = e->d_name;
    if (name.front() == '.' || recorded_config_path(base + "/" + name) != want) continue;
    if (!node_id.empty() &&
        (name.size() <= node_id.size() + 1 ||
         name.compare(name.size() - node_id.size() - 1, std::string::npos, "." + node_id) != 0)) {
      continue;
    }
    const std::string segment = "hamon." + name + ".ctl";
    auto ctl = shm::ControlSegment::attach(segment, shm::Access::read_only);
    if (ctl && node::runtime_dir(ctl->header().cluster, ctl->header().node) == base + "/" + name) {
      found.push_back(segment);
    }
  }
  ::closedir(d);
  return found;
}

}  // namespace

base::Status record_config_path(const std::string& runtime_dir, const std::string& config_path) {
  const std::string path = runtime_dir + kConfigRecord;
  const std::string tmp = path + ".new";
  const auto failed = [&](const std::string& file) {
    return base::Error{base::Errc::system, "unable to write " + file + ": " + std::strerror(errno)};
  };
  std::FILE* f = std::fopen(tmp.c_str(), "we");
  if (f == nullptr) return failed(tmp);
  const bool written = std::fprintf(f, "%s\n", config_path.c_str()) > 0;
  if (std::fclose(f) != 0 || !written) return failed(tmp);
  // Renamed into place: a reader never sees half a path.
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return failed(path);
  return base::ok();
}

void add_node_options(CLI::App& command, NodeOptions& options) {
  command.add_option("--config", options.config, "The node's configuration file");
  command.add_option("--node", options.node, "The node's id (default: the only node)");
}

std::optional<NodeTarget> find_node(const NodeOptions& options, int& exit_code,
                                    bool broken_config_ok) {
  std::string segment, config_path;
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
      const auto started = broken_config_ok ? nodes_started_from(options.config, options.node)
                                            : std::vector<std::string>{};
      if (started.size() != 1) {
        std::cerr << "hamon: " << *err << '\n';
        exit_code = exit_config_invalid;
        return std::nullopt;
      }
      // The file broke after the node started from it: the node is still there to act on.
      std::cerr << "hamon: warning: " << *err << '\n'
                << "hamon: acting on the running node started from " << options.config << " ("
                << started.front() << ")\n";
      segment = started.front();
    } else {
      segment = std::get<node::Node>(loaded).control_segment();
      config_path = std::get<node::Node>(loaded).config_path;
    }
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
  t.config_path = config_path.empty() ? recorded_config_path(t.runtime_dir) : config_path;
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
