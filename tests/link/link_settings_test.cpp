// Specification of the link's kept settings: a restarted hamon-monitor starts its peer link from
// what the control segment says its predecessor ran with, so what it reads back must be exactly
// what was kept, and anything else in those bytes must be refused, never half-used.
#include "link_settings.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "hamon/shm/fixed_string.hpp"
#include "test_support.hpp"

namespace hamon::link {
namespace {

using test::ScopedName;

LinkSettings two_links() {
  return {.cluster = "cc",
          .self = {.id = "a",
                   .side = engine::Side::primary,
                   .addresses = {{"10.0.0.1", 7401}, {"node-a.example", 7402}},
                   .where = {}},
          .peer = {.id = "b",
                   .side = engine::Side::secondary,
                   .addresses = {{"::1", 7401}, {"10.1.0.2", 7402}},
                   .where = {}},
          .interval_ns = 1'000'000,
          .timeout_ns = 300'000'000,
          .auth = engine::PeerAuth::key,
          .key_path = "/etc/hamon/peer.key"};
}

struct KeptSettings : ::testing::Test {
  ScopedName name{"kept"};
  shm::ControlSegment ctl =
      shm::ControlSegment::create(name.str(), shm::ControlGeometry{16, 4}, "cc", "a").value();
};

TEST_F(KeptSettings, NothingIsKeptInAFreshSegment) { EXPECT_FALSE(kept_settings(ctl)); }

TEST_F(KeptSettings, WhatIsKeptReadsBackTheSameLink) {
  const LinkSettings s = two_links();
  ASSERT_TRUE(keep_settings(ctl, s));
  const auto back = kept_settings(ctl);
  ASSERT_TRUE(back);
  EXPECT_TRUE(same_link(*back, s));
  EXPECT_EQ(back->peer.addresses[0].host, "::1");
  EXPECT_EQ(back->self.addresses[1].host, "node-a.example");
  EXPECT_EQ(back->key_path, "/etc/hamon/peer.key");
}

TEST_F(KeptSettings, AnyDifferenceIsAnotherLink) {
  const LinkSettings s = two_links();
  auto other = s;
  other.timeout_ns += 1;
  EXPECT_FALSE(same_link(s, other));
  other = s;
  other.peer.addresses[1].port = 7403;
  EXPECT_FALSE(same_link(s, other));
  other = s;
  other.key_path = "/etc/hamon/other.key";
  EXPECT_FALSE(same_link(s, other));
  other = s;
  other.self.where = {"elsewhere.toml", 9, 1};  // where it was written is not the link
  EXPECT_TRUE(same_link(s, other));
}

TEST_F(KeptSettings, SettingsThatDoNotFitAreNotKeptAndClearWhatWas) {
  ASSERT_TRUE(keep_settings(ctl, two_links()));
  auto s = two_links();
  s.key_path = std::string(shm::kKeyPathMax, 'k').insert(0, 1, '/');
  EXPECT_FALSE(keep_settings(ctl, s));
  // The predecessor's settings must not stand in for ones that could not be kept.
  EXPECT_FALSE(kept_settings(ctl));
}

TEST_F(KeptSettings, DamagedBytesAreRefused) {
  ASSERT_TRUE(keep_settings(ctl, two_links()));
  auto& settings = ctl.peer(0).settings();
  shm::PeerSettings k{};
  ASSERT_TRUE(settings.read(k));
  auto damaged = [&](auto change) {
    shm::PeerSettings d = k;
    change(d);
    settings.write(d);
    return !kept_settings(ctl).has_value();
  };
  EXPECT_TRUE(damaged([](shm::PeerSettings& d) { d.address_count = 3; }));
  EXPECT_TRUE(damaged([](shm::PeerSettings& d) { d.address_count = 0; }));
  EXPECT_TRUE(damaged([](shm::PeerSettings& d) { d.interval_ns = 0; }));
  EXPECT_TRUE(damaged([](shm::PeerSettings& d) { d.auth = 7; }));
  EXPECT_TRUE(damaged([](shm::PeerSettings& d) { d.peer_side = 2; }));
  EXPECT_TRUE(damaged([](shm::PeerSettings& d) { d.written = 1; }));
  EXPECT_TRUE(damaged([](shm::PeerSettings& d) { shm::write_fixed(d.peer, "a"); }));
  EXPECT_TRUE(damaged([](shm::PeerSettings& d) { shm::write_fixed(d.peer_address[1], "x"); }));
  // Unterminated fields are read to their end, never past it.
  EXPECT_TRUE(damaged(
      [](shm::PeerSettings& d) { std::memset(d.self_address[0], '7', sizeof d.self_address[0]); }));
  settings.write(k);
  EXPECT_TRUE(kept_settings(ctl).has_value());
}

}  // namespace
}  // namespace hamon::link
