#include "hamon/node/running_config.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hamon/engine/config_limits.hpp"
#include "hamon/engine/parse_config.hpp"
#include "hamon/node/config_file.hpp"

namespace hamon::node {
namespace {

base::Error system_error(const std::string& what, const std::string& path, int err) {
  return base::Error{base::Errc::system,
                     "unable to " + what + " " + path + ": " + std::strerror(err)};
}

std::string parent(const std::string& path) {
  const auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// `text` into a new file at `path`, on disk when this returns.
base::Status write_synced(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return system_error("create", path, errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return system_error("write", path, err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return system_error("sync", path, err);
  }
  ::close(fd);
  return base::ok();
}

// Renames `from` over `to` and syncs the directory, so the new name survives a crash.
base::Status publish(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    const int err = errno;
    ::unlink(from.c_str());
    return system_error("rename " + from + " to", to, err);
  }
  const std::string dir = parent(to);
  if (const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
    (void)::fsync(fd);
    ::close(fd);
  }
  return base::ok();
}

}  // namespace

base::Status write_file_atomically(const std::string& path, std::string_view text) {
  const std::string tmp = path + ".new." + std::to_string(::getpid());
  if (auto r = write_synced(tmp, text); !r) return r;
  return publish(tmp, path);
}

namespace {

constexpr std::string_view kMarker = "# hamon: the running configuration, validated from ";

// What the node runs, as the running copy holds it: a node loaded from the operator's file gets
// the first line; one loaded from a copy has it.
std::string copy_text(const Node& node) {
  return node.config_path == node.source_path ? running_text(node.source_path, node.config_text)
                                              : node.config_text;
}

}  // namespace

std::string running_text(const std::string& source_path, std::string_view text) {
  std::string out(kMarker);
  out += source_path;
  out += '\n';
  out += text;
  return out;
}

base::Status write_running_config(const Node& node) {
  if (const int e = make_dirs(node.runtime_dir(), 0751); e != 0) {
    return system_error("create", node.runtime_dir(), e);
  }
  return write_file_atomically(node.running_config(), copy_text(node));
}

std::string find_running_copy(const std::string& source_path, const std::string& node_id) {
  const std::string base = runtime_base();
  const std::string marker = std::string(kMarker) + source_path + "\n";
  std::vector<std::string> found;
  DIR* d = ::opendir(base.c_str());
  if (d == nullptr) return "";
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!node_id.empty() &&
        (name.size() <= node_id.size() + 1 ||
         name.compare(name.size() - node_id.size() - 1, std::string::npos, "." + node_id) != 0)) {
      continue;
    }
    const std::string copy = base + "/" + name + "/running.toml";
    std::string head;
    if (read_whole_file(copy, head, marker.size()) == 0 && head == marker) found.push_back(copy);
  }
  ::closedir(d);
  return found.size() == 1 ? found.front() : "";
}

RunningConfig::RunningConfig(const Node& node, Role role)
    : cluster_(node.cluster()),
      id_(node.id),
      source_(node.source_path),
      role_(role),
      path_(node.running_config()),
      dir_(node.runtime_dir()),
      text_(copy_text(node)) {}

base::Status RunningConfig::install() { return rewrite(); }

std::string RunningConfig::wrong_with(const std::string& content) const {
  if (role_ == Role::lead) {
    return content == text_ ? "" : "it was not the configuration hamon-server runs";
  }
  if (content == text_) return "";
  const engine::ParseResult parsed = engine::parse_config(content, path_);
  if (!parsed.config) {
    return "it was not valid (" +
           (parsed.errors.empty() ? std::string("no configuration")
                                  : parsed.errors.front().to_string()) +
           ")";
  }
  if (parsed.config->cluster.name != cluster_ || parsed.config->find_node(id_) == nullptr) {
    return "it was the configuration of another node";
  }
  return "";
}

void RunningConfig::remember() {
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    seen_ = Identity{};
    return;
  }
  seen_ = Identity{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

base::Status RunningConfig::rewrite() {
  // The runtime directory itself may be what was removed.
  if (const int e = make_dirs(dir_, 0751); e != 0) return system_error("create", dir_, e);
  auto r = write_file_atomically(path_, text_);
  remember();
  return r;
}

std::string RunningConfig::tend_and_say() {
  auto t = tend();
  if (!t) {
    if (t.error().message == said_error_) return {};
    said_error_ = t.error().message;
    return "the running configuration: " + said_error_;
  }
  said_error_.clear();
  if (t->what != Tended::What::rewritten) return {};
  return path_ + ": " + t->why + "; written again";
}

base::Result<RunningConfig::Tended> RunningConfig::tend() {
  Tended t;
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) {
    t.why = errno == ENOENT ? "it was missing"
                            : std::string("it could not be read: ") + std::strerror(errno);
  } else {
    const Identity now{st.st_dev, st.st_ino, st.st_size, st.st_mtim};
    if (now.dev == seen_.dev && now.ino == seen_.ino && now.size == seen_.size &&
        now.mtime.tv_sec == seen_.mtime.tv_sec && now.mtime.tv_nsec == seen_.mtime.tv_nsec) {
      return t;
    }
    std::string content;
    if (const int e = read_whole_file(path_, content, engine::max_config_bytes + 1); e != 0) {
      t.why = std::string("it could not be read: ") + std::strerror(e);
    } else {
      t.why = wrong_with(content);
      if (t.why.empty()) {
        // Who replaced it validated it: a reload. It is the configuration the node runs now.
        if (content != text_) {
          text_ = std::move(content);
          t.what = Tended::What::taken;
        }
        seen_ = now;
        return t;
      }
    }
  }
  if (auto r = rewrite(); !r) return r.error();
  t.what = Tended::What::rewritten;
  return t;
}

base::Status RunningConfig::stage(std::string_view text) {
  discard();
  if (const int e = make_dirs(dir_, 0751); e != 0) return system_error("create", dir_, e);
  staged_path_ = path_ + ".staged." + std::to_string(::getpid());
  std::string copy = running_text(source_, text);
  if (auto r = write_synced(staged_path_, copy); !r) {
    staged_path_.clear();
    return r;
  }
  staged_text_ = std::move(copy);
  return base::ok();
}

base::Status RunningConfig::commit() {
  text_ = std::move(staged_text_);
  staged_text_.clear();
  auto r = publish(staged_path_, path_);
  staged_path_.clear();
  remember();
  // The staged file went with its directory, say: what the server runs is in memory.
  if (!r) return rewrite();
  return r;
}

void RunningConfig::discard() {
  if (!staged_path_.empty()) ::unlink(staged_path_.c_str());
  staged_path_.clear();
  staged_text_.clear();
}

}  // namespace hamon::node
