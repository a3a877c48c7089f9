// Specification of SlotTable: where each process sits in the control segment and in its group's
// heartbeat segment, and how that survives reloads and server restarts.
#include "hamon/engine/slot_table.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "config_test_support.hpp"

namespace hamon::engine::test {
namespace {

Config config_of(const std::vector<std::string>& qualified) {
  std::vector<ProcessSpec> specs;
  for (const auto& q : qualified) specs.push_back({q, 50, {}});
  auto r = parse(toml_of(specs));
  EXPECT_TRUE(r.config.has_value());
  return *r.config;
}

std::uint32_t plenty(const std::string&) { return 64; }

TEST(SlotTable, SeatsEveryProcessInItsOwnSlots) {
  SlotTable t(8);
  const Config c = config_of({"system/a", "system/b", "acme/x", "acme/y"});
  auto p = t.place(c, plenty);
  ASSERT_TRUE(p) << p.error().message;
  std::set<std::uint32_t> slots;
  std::set<std::pair<std::string, std::uint32_t>> hb;
  for (std::size_t i = 0; i < c.processes.size(); ++i) {
    slots.insert(t.slot(i));
    hb.insert({c.processes[i].group, t.hb_slot(i)});
    EXPECT_EQ(t.process_at(t.slot(i)), i);
    EXPECT_FALSE(p->previous[i].has_value());
  }
  EXPECT_EQ(slots.size(), 4u);
  EXPECT_EQ(hb.size(), 4u);
  EXPECT_EQ(t.free_slots(), 4u);
}

TEST(SlotTable, AKeptProcessKeepsItsSeatsAcrossAReload) {
  SlotTable t(8);
  const Config before = config_of({"system/a", "system/b", "acme/x"});
  ASSERT_TRUE(t.place(before, plenty));
  const auto a = t.slot(0), x = t.slot(2), x_hb = t.hb_slot(2);
  // Reordered, one added in front, one removed.
  const Config after = config_of({"system/new", "system/a", "acme/x"});
  auto p = t.place(after, plenty);
  ASSERT_TRUE(p);
  EXPECT_EQ(t.slot(1), a);
  EXPECT_EQ(t.slot(2), x);
  EXPECT_EQ(t.hb_slot(2), x_hb);
  EXPECT_EQ(p->previous[1], 0u);
  EXPECT_EQ(p->previous[2], 2u);
  EXPECT_FALSE(p->previous[0].has_value());
  ASSERT_EQ(p->removed.size(), 1u);  // system/b
}

TEST(SlotTable, ARemovedProcessHoldsItsSeatsUntilReleased) {
  SlotTable t(2);
  ASSERT_TRUE(t.place(config_of({"system/a", "system/b"}), plenty));
  const auto b = t.slot(1);
  auto p = t.place(config_of({"system/a"}), plenty);
  ASSERT_TRUE(p);
  ASSERT_EQ(p->removed, std::vector<std::uint32_t>{b});
  EXPECT_TRUE(t.removed(b));
  EXPECT_FALSE(t.process_at(b).has_value());
  // b may still run: its slot is not given to a newcomer until it is released.
  auto full = t.place(config_of({"system/a", "system/c"}), plenty);
  ASSERT_FALSE(full);
  EXPECT_NE(full.error().message.find("no free process slot for system/c"), std::string::npos);
  t.release(b);
  auto p2 = t.place(config_of({"system/a", "system/c"}), plenty);
  ASSERT_TRUE(p2);
  EXPECT_EQ(t.slot(1), b);
  EXPECT_TRUE(p2->removed.empty()) << "a removal is reported once";
}

TEST(SlotTable, ARemovedProcessKeepsItsHeartbeatSlotFromNewcomers) {
  SlotTable t(4);
  ASSERT_TRUE(t.place(config_of({"acme/x", "acme/y"}), plenty));
  const auto y_hb = t.hb_slot(1);
  ASSERT_TRUE(t.place(config_of({"acme/x", "acme/z"}), plenty));
  EXPECT_NE(t.hb_slot(1), y_hb) << "z would beat into the slot y still beats into";
}

TEST(SlotTable, AFailedPlacementChangesNothing) {
  SlotTable t(8);
  const Config before = config_of({"system/a", "acme/x"});
  ASSERT_TRUE(t.place(before, plenty));
  const auto a = t.slot(0), x = t.slot(1);
  auto two_hb = [](const std::string& g) { return g == "acme" ? 2u : 64u; };
  auto r = t.place(config_of({"system/a", "acme/x", "acme/y", "acme/z"}), two_hb);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("heartbeat slot"), std::string::npos) << r.error().message;
  EXPECT_EQ(t.slot(0), a);
  EXPECT_EQ(t.slot(1), x);
  EXPECT_EQ(t.free_slots(), 6u);
  EXPECT_EQ(t.process_at(a), 0u);
}

TEST(SlotTable, ARestartedServerFindsEveryoneWhereTheyWere) {
  SlotTable t(8);
  t.occupy(5, "system/a", "system", 3);
  t.occupy(2, "acme/x", "acme", 0);
  t.occupy(7, "acme/gone", "acme", 1);
  auto p = t.place(config_of({"system/a", "acme/x", "acme/new"}), plenty);
  ASSERT_TRUE(p);
  EXPECT_EQ(t.slot(0), 5u);
  EXPECT_EQ(t.hb_slot(0), 3u);
  EXPECT_EQ(t.slot(1), 2u);
  EXPECT_EQ(p->removed, std::vector<std::uint32_t>{7});
  EXPECT_NE(t.hb_slot(2), 0u);  // acme's 0 and 1 are held
  EXPECT_NE(t.hb_slot(2), 1u);
  EXPECT_NE(t.slot(2), 7u);
}

TEST(SlotTable, RandomReloadsNeverSeatTwoProcessesTogether) {
  std::mt19937 rng(7);
  SlotTable t(24);
  std::vector<std::uint32_t> held;  // removed, not released yet
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> names;
    for (int k = 0; k < 12; ++k) {
      if (rng() % 2) names.push_back((k % 3 == 0 ? "system/p" : "acme/p") + std::to_string(k));
    }
    const Config c = config_of(names);
    auto p = t.place(c, plenty);
    if (!p) continue;  // out of seats while removed ones still hold theirs
    for (auto s : p->removed) held.push_back(s);
    // A removed process configured again takes its own seat back.
    std::erase_if(held, [&](std::uint32_t s) { return t.process_at(s).has_value(); });
    std::set<std::uint32_t> slots;
    std::set<std::pair<std::string, std::uint32_t>> hb;
    for (std::size_t i = 0; i < c.processes.size(); ++i) {
      ASSERT_TRUE(slots.insert(t.slot(i)).second);
      ASSERT_TRUE(hb.insert({c.processes[i].group, t.hb_slot(i)}).second);
      ASSERT_EQ(t.process_at(t.slot(i)), i);
    }
    for (auto s : held) ASSERT_EQ(slots.count(s), 0u) << "a held slot was given away";
    if (rng() % 3 == 0 && !held.empty()) {
      t.release(held.back());
      held.pop_back();
    }
  }
}

}  // namespace
}  // namespace hamon::engine::test
