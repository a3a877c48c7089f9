// What the cross-process harnesses share: where hamon's programs are, running one to
// completion, a temporary directory that is always removed, and the machine line printed with
// every result.
#ifndef HAMON_BENCH_HARNESS_HPP
#define HAMON_BENCH_HARNESS_HPP

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "machine.hpp"

extern char** environ;

namespace hamon::bench {

// A program built beside the harness (HAMON_BIN_DIR), as the daemons find each other.
inline std::string bin(const char* name) { return std::string(HAMON_BIN_DIR) + "/" + name; }

// Runs argv to completion, its stdout kept or sent to /dev/null, stderr as it is; its exit code,
// or -1.
inline int run(const std::vector<std::string>& args, bool quiet = false) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  if (quiet) ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct TempDir {
  std::string path =
      (std::filesystem::temp_directory_path() / ("hamon-bench." + std::to_string(::getpid())))
          .string();
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's choice): each node of
// a two-node harness gets its own.
inline std::uint16_t free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

inline void print_machine() {
  std::printf("machine: %s, %ld cores, %s, clocksource %s\n", cpu_model().c_str(), cores(),
              kernel().c_str(), clocksource().c_str());
}

}  // namespace hamon::bench

#endif  // HAMON_BENCH_HARNESS_HPP
