// Tenant caps on a pure cgroup v2 machine: which files are written where, and read back.
//
// The kernel's v2 controllers cannot be had on a hybrid machine (this one's are bound to v1, held
// by the host), so these run against a directory standing in for the v2 hierarchy, laid out as
// the kernel lays it out (HAMON_CGROUP_ROOT names it): they check hamon's side — the tenant's level
// of the containment tree, the controllers enabled above it, the files and values written, and
// what `hamon status` reads — not the kernel's enforcement, which tests/integration/
// tenant_caps_test.cpp checks against real controllers wherever a hierarchy offers them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "hamon/node/process_cgroup.hpp"
#include "hamon/node/tenant_caps.hpp"

namespace hamon::node {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), {}};
}

void put(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

// A v2 root offering memory, cpu and pids, with the node's tenant "acme" already made by
// containment (its files as the kernel shows them once the controllers are enabled above it).
class V2Root : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("hamon-v2-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    put(root_ / "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
    put(root_ / "cgroup.subtree_control", "");
    ::setenv("HAMON_CGROUP_ROOT", root_.c_str(), 1);
    node_dir_ = node_cgroup_dir("c", "n");
    for (const fs::path& d : {root_ / "hamon", fs::path(node_dir_)}) {
      fs::create_directories(d);
      put(d / "cgroup.subtree_control", "");
    }
    tenant_ = group_cgroup(node_dir_, "acme");
    fs::create_directories(tenant_);
    put(tenant_ / "memory.max", "max\n");
    put(tenant_ / "memory.swap.max", "max\n");
    put(tenant_ / "memory.current", "41943040\n");
    put(tenant_ / "memory.events", "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\noom_group_kill 0\n");
    put(tenant_ / "pids.max", "max\n");
    put(tenant_ / "pids.current", "3\n");
    put(tenant_ / "cpu.weight", "100\n");
  }
  void TearDown() override {
    ::unsetenv("HAMON_CGROUP_ROOT");
    fs::remove_all(root_);
  }

  fs::path root_;
  std::string node_dir_;
  fs::path tenant_;
};

TEST_F(V2Root, CapsAreHeldInTheV2HierarchyWhereItsRootOffersTheController) {
  EXPECT_EQ(caps_hierarchy("memory"), CapsHierarchy::v2);
  EXPECT_EQ(caps_hierarchy("pids"), CapsHierarchy::v2);
  EXPECT_EQ(tenant_caps_cgroup("pids", "c", "n", "acme"), tenant_.string());
  // The tenant's processes are below its cgroup: the caps hold what they fork too.
  EXPECT_EQ(process_cgroup(node_dir_, "acme/app"), tenant_.string() + "/acme:app");
}

TEST_F(V2Root, ATenantsCapsAreWrittenInItsCgroupWithTheControllersEnabledAboveIt) {
  engine::TenantCaps caps;
  caps.memory = 64ULL << 20;
  caps.cpu_weight = 50;
  caps.pids = 20;
  const PreparedCaps p = prepare_tenant_caps("c", "n", "acme", caps);
  EXPECT_TRUE(p.not_applied.empty()) << p.not_applied.front();
  EXPECT_TRUE(p.joins.empty()) << "v2: its processes start below the tenant's cgroup";
  EXPECT_EQ(read(tenant_ / "memory.max"), "67108864");
  EXPECT_EQ(read(tenant_ / "memory.swap.max"), "0") << "over its cap it is ended, not swapped";
  EXPECT_EQ(read(tenant_ / "cpu.weight"), "50") << "v2's own scale: no translation";
  EXPECT_EQ(read(tenant_ / "pids.max"), "20");
  // Each cgroup above the tenant's enabled a controller for its children (a file standing in
  // for cgroup.subtree_control keeps only the last write).
  for (const fs::path& d : {root_, root_ / "hamon", fs::path(node_dir_)}) {
    EXPECT_EQ(read(d / "cgroup.subtree_control").rfind('+', 0), 0u) << d;
  }

  const TenantCapsUsage u = read_tenant_caps(::getpid(), "c", "n", "acme");
  EXPECT_EQ(u.memory_cap, 64ULL << 20);
  EXPECT_EQ(u.memory_used, 40ULL << 20);
  EXPECT_EQ(u.oom_kills, 2u) << "memory.events' oom_kill";
  EXPECT_EQ(u.pids_cap, 20u);
  EXPECT_EQ(u.pids_used, 3u);
  EXPECT_EQ(u.cpu_weight, 50u);
  EXPECT_TRUE(u.any());
}

TEST_F(V2Root, CapsAReloadRemovesAreLifted) {
  engine::TenantCaps caps;
  caps.memory = 64ULL << 20;
  caps.cpu_weight = 50;
  caps.pids = 20;
  (void)prepare_tenant_caps("c", "n", "acme", caps);
  const PreparedCaps p = prepare_tenant_caps("c", "n", "acme", engine::TenantCaps{});
  EXPECT_TRUE(p.not_applied.empty());
  EXPECT_EQ(read(tenant_ / "memory.max"), "max");
  EXPECT_EQ(read(tenant_ / "memory.swap.max"), "max");
  EXPECT_EQ(read(tenant_ / "cpu.weight"), "100");
  EXPECT_EQ(read(tenant_ / "pids.max"), "max");
  const TenantCapsUsage u = read_tenant_caps(::getpid(), "c", "n", "acme");
  EXPECT_FALSE(u.any());
  EXPECT_FALSE(u.memory_used.has_value()) << "usage is shown for what is capped";
}

// On a hybrid machine the v2 root offers what no v1 hierarchy took: the rest is held in v1.
TEST_F(V2Root, AControllerTheV2RootDoesNotOfferIsLeftToV1) {
  put(root_ / "cgroup.controllers", "cpuset io hugetlb\n");
  const bool v1 = !cgroup_v1_home("pids").empty();
  EXPECT_EQ(caps_hierarchy("pids"), v1 ? CapsHierarchy::v1 : CapsHierarchy::none);
  EXPECT_NE(tenant_caps_cgroup("pids", "c", "n", "acme"), tenant_.string());
  const TenantCapsUsage u = read_tenant_caps(::getpid(), "c", "n", "acme");
  EXPECT_FALSE(u.pids_cap.has_value()) << "no v1 cgroup of this tenant: nothing to read";
}

TEST_F(V2Root, AControllerThatCannotBeEnabledAboveTheTenantIsNotHeldAndSaysWhere) {
  // The kernel refuses a controller in a cgroup that holds processes (not the root): here the
  // node's cgroup.subtree_control cannot be written at all.
  fs::remove(fs::path(node_dir_) / "cgroup.subtree_control");
  fs::create_directory(fs::path(node_dir_) / "cgroup.subtree_control");
  engine::TenantCaps caps;
  caps.pids = 20;
  const PreparedCaps p = prepare_tenant_caps("c", "n", "acme", caps);
  ASSERT_EQ(p.not_applied.size(), 1u);
  EXPECT_NE(p.not_applied[0].find("pids 20: cannot enable the pids controller ("),
            std::string::npos)
      << p.not_applied[0];
  EXPECT_NE(p.not_applied[0].find(node_dir_ + "/cgroup.subtree_control"), std::string::npos)
      << "the path last: " << p.not_applied[0];
  EXPECT_EQ(read(tenant_ / "pids.max"), "max\n") << "not written";
}

TEST_F(V2Root, WithoutContainmentACapHeldInV2ReachesNoProcessAndSaysSo) {
  engine::TenantCaps caps;
  caps.pids = 20;
  const PreparedCaps p = prepare_tenant_caps("c", "n", "acme", caps, /*contained=*/false);
  ASSERT_EQ(p.not_applied.size(), 1u);
  EXPECT_EQ(p.not_applied[0].rfind("pids 20: its processes are not in cgroups of their own", 0), 0u)
      << p.not_applied[0];
  EXPECT_EQ(read(tenant_ / "pids.max"), "max\n") << "not written";
}

}  // namespace
}  // namespace hamon::node
