// hamon logs [--follow] [DAEMON]: the daemons' log files (node/daemon_log.hpp), merged by time.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "node_target.hpp"
#include "quit_signal.hpp"
#include "hamon/node/node.hpp"

namespace hamon::cli {
namespace {

constexpr const char* kDaemons[] = {"hamon-watcher", "hamon-master", "hamon-spawner",
                                    "hamon-monitor", "hamon-server"};

struct LogsOptions {
  NodeOptions node;
  std::string daemon;
  bool follow = false;
};

// A line's time stamp ("2026-12-01T02:57:25.123Z ...") sorts as text; a line without one (a
// daemon's own message before its log began) keeps the time of the line before it.
struct Line {
  std::string stamp;
  std::size_t file, order;
  std::string text;
};

bool stamped(const std::string& l) {
  return l.size() > 24 && l[4] == '-' && l[10] == 'T' && l[23] == 'Z';
}

// Reads `path` from byte `from`: whole lines only; returns where it stopped.
std::uint64_t read_lines(const std::string& path, std::uint64_t from, std::size_t file,
                         std::vector<Line>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return from;
  in.seekg(static_cast<std::streamoff>(from));
  std::string stamp;
  std::uint64_t at = from;
  for (std::string l; std::getline(in, l);) {
    if (in.eof()) break;  // a line still being written: next time
    at += l.size() + 1;
    if (stamped(l)) stamp = l.substr(0, 24);
    out.push_back({stamp, file, out.size(), std::move(l)});
  }
  return at;
}

std::uint64_t size_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

void print_sorted(std::vector<Line>& lines) {
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.stamp < b.stamp; });
  for (const auto& l : lines) std::cout << l.text << '\n';
  std::cout << std::flush;
  lines.clear();
}

int logs(const LogsOptions& o) {
  int code = exit_ok;
  const auto target = find_node(o.node, code, true);
  if (!target) return code;
  std::vector<std::string> daemons;
  for (const char* d : kDaemons) {
    if (o.daemon.empty() || o.daemon == d || "hamon-" + o.daemon == d) daemons.emplace_back(d);
  }
  if (daemons.empty()) {
    std::cerr << "hamon logs: no daemon is called " << o.daemon
              << " (hamon-watcher, hamon-master, hamon-spawner, hamon-monitor, hamon-server)\n";
    return exit_usage;
  }
  const std::string dir = node::log_dir(target->cluster, target->node) + "/";
  std::vector<std::string> files;
  std::vector<std::uint64_t> read;
  std::vector<ino_t> inode;
  std::vector<Line> lines;
  bool any = false;
  for (const auto& d : daemons) {
    const std::string path = dir + d + ".log";
    any = any || size_of(path) > 0 || ::access(path.c_str(), F_OK) == 0;
    (void)read_lines(path + ".1", 0, files.size(), lines);  // what was moved aside at the cap
    files.push_back(path);
    inode.push_back(inode_of(path));
    read.push_back(read_lines(path, 0, files.size() - 1, lines));
  }
  if (!any) {
    std::cerr << "hamon logs: no log in " << dir
              << " — under systemd the daemons log to the journal: journalctl -u hamon@"
              << target->node << '\n';
    return exit_ok;
  }
  print_sorted(lines);
  if (!o.follow) return exit_ok;
  quit_on({SIGINT, SIGTERM, SIGPIPE});
  while (!quit_asked()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (std::size_t i = 0; i < files.size(); ++i) {
      // Moved aside at its cap: the rest of the file read so far is now FILE.1, and the new
      // file is read from its start.
      if (const ino_t now = inode_of(files[i]); now != inode[i]) {
        if (inode[i] != 0 && inode_of(files[i] + ".1") == inode[i]) {
          (void)read_lines(files[i] + ".1", read[i], i, lines);
        }
        inode[i] = now;
        read[i] = 0;
      }
      read[i] = read_lines(files[i], read[i], i, lines);
    }
    print_sorted(lines);
  }
  return exit_ok;
}

}  // namespace

void add_logs(CLI::App& app, int& exit_code) {
  CLI::App* c = app.add_subcommand(
      "logs", "The daemons' logs, merged by time (under systemd: journalctl -u hamon@NODE)");
  auto o = std::make_shared<LogsOptions>();
  add_node_options(*c, o->node);
  c->add_option("DAEMON", o->daemon, "Only this daemon's (hamon-monitor, or monitor, ...)");
  c->add_flag("--follow,-f", o->follow, "Keep printing lines as they come (Ctrl-C ends)");
  c->callback([o, &exit_code] { exit_code = logs(*o); });
}

}  // namespace hamon::cli
