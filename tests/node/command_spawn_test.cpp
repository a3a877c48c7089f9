// Specification of spawn_command: an operator's helper program gets its input, the added
// environment and no blocked signal, whatever the daemon that runs it has blocked.
#include "hamon/node/command_spawn.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace hamon::node {
namespace {

std::string run_and_read(const CommandSpawn& what, const std::string& out) {
  const pid_t pid = spawn_command(what);
  EXPECT_GT(pid, 0);
  int status = -1;
  if (pid > 0) ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  std::ifstream in(out);
  std::stringstream s;
  s << in.rdbuf();
  std::filesystem::remove(out);
  return s.str();
}

std::string scratch(const char* name) {
  return (std::filesystem::temp_directory_path() /
          ("hamon-spawn-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

TEST(CommandSpawn, TheProgramReadsItsInputAndSeesTheAddedEnvironment) {
  const std::string out = scratch("input");
  ::setenv("HAMON_PEER", "stale", 1);  // replaced, not doubled
  const auto got = run_and_read(
      {.argv = {"/bin/sh", "-c", "cat > " + out + "; env | grep ^HAMON_ | sort >> " + out},
       .input = "action=off\nnodename=b\n",
       .env = {{"HAMON_PEER", "b"}, {"HAMON_NODE", "a"}}},
      out);
  ::unsetenv("HAMON_PEER");
  EXPECT_EQ(got, "action=off\nnodename=b\nHAMON_NODE=a\nHAMON_PEER=b\n");
}

TEST(CommandSpawn, WithoutInputTheProgramReadsEndOfFile) {
  const std::string out = scratch("empty");
  EXPECT_EQ(run_and_read({.argv = {"/bin/sh", "-c", "wc -c > " + out}}, out), "0\n");
}

TEST(CommandSpawn, TheProgramStartsWithNoSignalBlocked) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGCHLD);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  const std::string out = scratch("mask");
  const auto got =
      run_and_read({.argv = {"/bin/sh", "-c", "grep ^SigBlk /proc/self/status > " + out}}, out);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(got, "SigBlk:\t0000000000000000\n");
}

TEST(CommandSpawn, AProgramThatCannotBeFoundIsAnErrorNotAChild) {
  EXPECT_EQ(spawn_command({.argv = {"/nonexistent/fence-agent"}}), -ENOENT);
  EXPECT_EQ(spawn_command({}), -EINVAL);
}

}  // namespace
}  // namespace hamon::node
