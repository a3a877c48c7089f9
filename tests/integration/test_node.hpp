// TestNode: a real hamon node for one test — its own cluster name, runtime directory and
// segments — brought up with the real `hamon up` and always taken down again, even when the test
// fails. Processes are hamon-demo-app. Nothing here is mocked.
#ifndef HAMON_TESTS_TEST_NODE_HPP
#define HAMON_TESTS_TEST_NODE_HPP

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "hamon/shm/event_ring.hpp"
#include "hamon/node/node_view.hpp"

namespace hamon::test {

struct RunResult {
  int code = -1;
  std::string out, err;
};

// Runs a program to completion (killed after `limit`), capturing its output.
RunResult run(const std::vector<std::string>& argv,
              std::chrono::milliseconds limit = std::chrono::seconds(60));

struct EventRow {
  shm::EventKind kind;
  std::string group, name, detail;
  std::int32_t pid;
  std::uint64_t incarnation;
  std::uint64_t t_ns;
  std::int64_t value;  // kind-specific (shm::EventKind)
};

// One node of a cluster that has more than one (a duplex on this machine): the cluster's name,
// this node's id, and the [cluster] table with its [[cluster.node]]s, written as given.
struct ClusterSpec {
  std::string cluster;
  std::string id;
  std::string cluster_toml;
};

class TestNode {
 public:
  // `processes`: TOML for [defaults], [[system.process]] and [[tenant]] sections. "@APP@" is
  // replaced by the path of hamon-demo-app. A one-node cluster "a" of its own.
  explicit TestNode(const std::string& processes);
  // Node `spec.id` of the cluster `spec` describes; its runtime directory is its own.
  TestNode(const std::string& processes, ClusterSpec spec);
  ~TestNode();
  TestNode(const TestNode&) = delete;
  TestNode& operator=(const TestNode&) = delete;

  // Replaces the configuration file's process sections (as the constructor wrote them).
  void rewrite(const std::string& processes);

  RunResult up();
  RunResult down();
  // Runs `hamon ARGS... --config F --node a`.
  RunResult hamon(std::vector<std::string> args, bool with_node = true);

  [[nodiscard]] node::NodeView view() const;
  [[nodiscard]] std::optional<node::ProcessRow> process(const std::string& group,
                                                        const std::string& name) const;
  [[nodiscard]] std::vector<EventRow> events() const;
  // The clock tick hamon-monitor published (0: none, or no node).
  [[nodiscard]] std::uint64_t monitor_tick_ns() const;
  // Polls `pred` on fresh views until it holds or `limit` passes.
  bool wait(const std::function<bool(const node::NodeView&)>& pred,
            std::chrono::milliseconds limit = std::chrono::seconds(20)) const;

  [[nodiscard]] const std::string& config_path() const { return config_; }
  [[nodiscard]] const std::string& cluster() const { return cluster_; }
  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] std::string control_segment() const;

 private:
  void force_cleanup();
  // Every hamon command of this node sees its own runtime directory.
  void use_runtime_dir() const;
  std::string dir_, config_, cluster_, id_ = "a";
  std::optional<std::string> cluster_toml_;
  std::vector<std::string> groups_;
};

// Reaps any exited child or orphan (the test process is a subreaper).
void reap_zombies();

// The row of daemon `name` ("hamon-spawner", ...) in `v`, if any.
std::optional<node::DaemonRow> daemon_row(const node::NodeView& v, const std::string& name);

// SIGKILLs daemon `name` and waits (10 s at most) for its replacement to run: one more restart
// counted and the daemon registered again. Not by a new pid: once the pid space has wrapped (the
// scale test goes through thousands), the replacement may get the pid its predecessor had.
::testing::AssertionResult kill_daemon_and_wait_back(const TestNode& node, const std::string& name);

// The index in `events` of the first event matching, or -1.
int find_event(const std::vector<EventRow>& events, shm::EventKind kind, const std::string& group,
               const std::string& name, std::uint64_t min_incarnation = 0);

}  // namespace hamon::test

#endif  // HAMON_TESTS_TEST_NODE_HPP
