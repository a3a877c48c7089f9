// Specification of node::RunningConfig on a real directory: the copy is written again when it is
// missing or spoiled, a reload's copy is taken by a follower and put back by the leader only if
// it is not what the leader runs, and a staged copy changes nothing until it is committed.
#include "hamon/node/running_config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "hamon/node/config_file.hpp"

namespace hamon::node {
namespace {

namespace fs = std::filesystem;
using What = RunningConfig::Tended::What;

std::string config_text(const std::string& cluster, const std::string& process) {
  return "[cluster]\nname = \"" + cluster +
         "\"\n\n[[cluster.node]]\nid = \"a\"\nside = \"primary\"\naddress = "
         "\"127.0.0.1:7401\"\n\n[[system.process]]\nname = \"" +
         process + "\"\ncommand = [\"/bin/true\"]\n";
}

std::string read(const std::string& path) {
  std::string out;
  return read_whole_file(path, out) == 0 ? out : "<unreadable>";
}

class RunningConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hamon-rc." + std::to_string(::getpid()));
    fs::remove_all(dir_);
    ::setenv("HAMON_RUNTIME_DIR", dir_.c_str(), 1);
    node_.config_text = config_text("rc", "db");
    node_.config.cluster.name = "rc";
    node_.id = "a";
    // Loaded from the operator's file, as `hamon up` loads it.
    node_.config_path = node_.source_path = "/etc/hamon/node.toml";
    copy_ = running_text(node_.source_path, node_.config_text);
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  Node node_;
  std::string copy_;  // the running copy's text
};

TEST_F(RunningConfigTest, UpWritesTheCopyAndItsDirectory) {
  ASSERT_TRUE(write_running_config(node_));
  EXPECT_EQ(read(node_.running_config()), copy_);
  EXPECT_EQ(fs::status(node_.running_config()).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(RunningConfigTest, AMissingCopyAndItsDirectoryAreWrittenAgainFromMemory) {
  RunningConfig follower(node_, RunningConfig::Role::follow);
  auto t = follower.tend();
  ASSERT_TRUE(t) << t.error().message;
  EXPECT_EQ(t->what, What::rewritten);
  EXPECT_EQ(t->why, "it was missing");
  EXPECT_EQ(read(node_.running_config()), copy_);
  auto again = follower.tend();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->what, What::unchanged);
}

TEST_F(RunningConfigTest, ASpoiledCopyIsPutBack) {
  ASSERT_TRUE(write_running_config(node_));
  RunningConfig follower(node_, RunningConfig::Role::follow);
  std::ofstream(node_.running_config()) << "[cluster\nname = ";
  auto t = follower.tend();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->what, What::rewritten);
  EXPECT_NE(t->why.find("not valid"), std::string::npos) << t->why;
  EXPECT_EQ(read(node_.running_config()), copy_);
  // Another node's configuration, valid as it is, is no copy of this one.
  std::ofstream(node_.running_config()) << config_text("other", "db");
  t = follower.tend();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->what, What::rewritten);
  EXPECT_EQ(t->why, "it was the configuration of another node");
}

TEST_F(RunningConfigTest, AFollowerTakesTheLeadersNewCopyAndTheLeaderKeepsIt) {
  RunningConfig leader(node_, RunningConfig::Role::lead);
  RunningConfig follower(node_, RunningConfig::Role::follow);
  ASSERT_TRUE(leader.tend());
  const std::string next = config_text("rc", "web");
  ASSERT_TRUE(leader.stage(next));
  EXPECT_EQ(read(node_.running_config()), copy_) << "staging changes nothing";
  ASSERT_TRUE(leader.commit());
  const std::string next_copy = running_text(node_.source_path, next);
  EXPECT_EQ(read(node_.running_config()), next_copy);
  auto t = follower.tend();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->what, What::taken);
  EXPECT_EQ(follower.text(), next_copy);
  // The follower, asked to put a removed copy back, writes what it took.
  fs::remove_all(dir_);
  t = follower.tend();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->what, What::rewritten);
  EXPECT_EQ(read(node_.running_config()), next_copy);
  auto l = leader.tend();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->what, What::unchanged) << "the same content, whoever wrote it";
}

TEST_F(RunningConfigTest, TheLeaderPutsBackAValidCopyItDoesNotRun) {
  RunningConfig leader(node_, RunningConfig::Role::lead);
  ASSERT_TRUE(leader.tend());
  std::ofstream(node_.running_config()) << config_text("rc", "web");
  auto t = leader.tend();
  ASSERT_TRUE(t);
  EXPECT_EQ(t->what, What::rewritten);
  EXPECT_EQ(read(node_.running_config()), copy_);
}

TEST_F(RunningConfigTest, ADiscardedStageLeavesNothingBehind) {
  RunningConfig leader(node_, RunningConfig::Role::lead);
  ASSERT_TRUE(leader.tend());
  ASSERT_TRUE(leader.stage(config_text("rc", "web")));
  leader.discard();
  EXPECT_EQ(leader.text(), copy_);
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(node_.runtime_dir())) ++files;
  EXPECT_EQ(files, 1u) << "a staged file was left";
}

TEST_F(RunningConfigTest, TheCopyParsesAsTheFileDidAndNamesItsSource) {
  ASSERT_TRUE(write_running_config(node_));
  LoadResult r = load_config_file(node_.running_config());
  ASSERT_TRUE(r.config) << r.errors.front();
  EXPECT_EQ(r.config->cluster.name, "rc");
  EXPECT_EQ(find_running_copy(node_.source_path, "a"), node_.running_config());
  EXPECT_EQ(find_running_copy(node_.source_path, ""), node_.running_config());
  EXPECT_EQ(find_running_copy(node_.source_path, "b"), "") << "another node id";
  EXPECT_EQ(find_running_copy("/etc/hamon/other.toml", "a"), "") << "another file";
}

TEST_F(RunningConfigTest, ANodeStartedAfreshRunsWhatItWasGivenNotWhatAnEarlierRunLeft) {
  Node earlier = node_;
  earlier.config_text = config_text("rc", "web");
  ASSERT_TRUE(write_running_config(earlier));
  RunningConfig follower(node_, RunningConfig::Role::follow);
  ASSERT_TRUE(follower.install());
  EXPECT_EQ(read(node_.running_config()), copy_);
}

TEST_F(RunningConfigTest, ACopyThatCannotBeWrittenSaysWhere) {
  // A file where the runtime directory goes.
  fs::create_directories(dir_);
  std::ofstream(node_.runtime_dir()) << "not a directory";
  RunningConfig follower(node_, RunningConfig::Role::follow);
  auto t = follower.tend();
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message.find(node_.runtime_dir()), std::string::npos) << t.error().message;
}

TEST_F(RunningConfigTest, WhatADaemonSaysIsAFailureOnceUntilItChangesAndEachPutBack) {
  fs::create_directories(dir_);
  std::ofstream(node_.runtime_dir()) << "not a directory";
  RunningConfig follower(node_, RunningConfig::Role::follow);
  const std::string failed = follower.tend_and_say();
  EXPECT_EQ(failed.rfind("the running configuration: ", 0), 0U) << failed;
  EXPECT_NE(failed.find(node_.runtime_dir()), std::string::npos) << failed;
  EXPECT_EQ(follower.tend_and_say(), "");  // the same failure, said already

  fs::remove(node_.runtime_dir());
  const std::string put_back = follower.tend_and_say();
  EXPECT_EQ(put_back.rfind(node_.running_config() + ": ", 0), 0U) << put_back;
  EXPECT_NE(put_back.find("; written again"), std::string::npos) << put_back;
  EXPECT_EQ(follower.tend_and_say(), "");  // in place: nothing to say

  // Failing again after a success is said again.
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  std::ofstream(node_.runtime_dir()) << "not a directory";
  EXPECT_EQ(follower.tend_and_say(), failed);
}

}  // namespace
}  // namespace hamon::node
