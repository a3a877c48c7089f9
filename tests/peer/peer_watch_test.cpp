// The verdict on the peer: up on the first frame, lost only when every link has been silent for
// the timeout, never because one link closed or went quiet.
#include "hamon/peer/peer_watch.hpp"

#include <gtest/gtest.h>

namespace hamon::peer {
namespace {

constexpr std::uint64_t ms = 1'000'000;
constexpr std::uint64_t timeout = 250 * ms;

TEST(PeerWatch, APeerNeverHeardIsNeverSeenAndNeverLost) {
  PeerWatch w(2, timeout);
  EXPECT_EQ(w.verdict(), PeerVerdict::never_seen);
  const auto t = w.tick(10'000 * ms);
  EXPECT_FALSE(t.lost);
  EXPECT_TRUE(t.silent.empty());
  EXPECT_EQ(w.verdict(), PeerVerdict::never_seen);
  EXPECT_EQ(w.next_deadline(), UINT64_MAX);
}

TEST(PeerWatch, TheFirstFrameMakesThePeerUpOnce) {
  PeerWatch w(2, timeout);
  EXPECT_TRUE(w.heard(0, 100 * ms));
  EXPECT_FALSE(w.heard(1, 101 * ms));
  EXPECT_FALSE(w.heard(0, 102 * ms));
  EXPECT_EQ(w.verdict(), PeerVerdict::up);
  EXPECT_EQ(w.last_heard(), 102 * ms);
}

TEST(PeerWatch, ThePeerIsLostExactlyWhenEveryLinkHasBeenSilentForTheTimeout) {
  PeerWatch w(1, timeout);
  (void)w.heard(0, 100 * ms);
  EXPECT_EQ(w.next_deadline(), 100 * ms + timeout);
  EXPECT_FALSE(w.tick(100 * ms + timeout - 1).lost);
  EXPECT_EQ(w.verdict(), PeerVerdict::up);
  const auto t = w.tick(100 * ms + timeout);
  EXPECT_TRUE(t.lost);
  ASSERT_EQ(t.silent.size(), 1u);
  EXPECT_EQ(t.silent[0], 0u);
  EXPECT_EQ(w.verdict(), PeerVerdict::lost);
  EXPECT_FALSE(w.tick(100 * ms + 2 * timeout).lost) << "lost is said once";
}

TEST(PeerWatch, OneSilentLinkOfTwoIsReportedButThePeerStaysUp) {
  PeerWatch w(2, timeout);
  (void)w.heard(0, 0);
  (void)w.heard(1, 0);
  for (std::uint64_t t = 10 * ms; t <= 1000 * ms; t += 10 * ms) {
    (void)w.heard(0, t);  // link 0 keeps talking, link 1 is cut
    const auto r = w.tick(t);
    EXPECT_FALSE(r.lost) << t;
    if (t == timeout) {
      ASSERT_EQ(r.silent.size(), 1u);
      EXPECT_EQ(r.silent[0], 1u);
    } else {
      EXPECT_TRUE(r.silent.empty()) << t;
    }
  }
  EXPECT_EQ(w.verdict(), PeerVerdict::up);
}

TEST(PeerWatch, ALostPeerHeardAgainIsUpAgain) {
  PeerWatch w(1, timeout);
  (void)w.heard(0, 0);
  ASSERT_TRUE(w.tick(timeout).lost);
  EXPECT_TRUE(w.heard(0, timeout + 5 * ms));
  EXPECT_EQ(w.verdict(), PeerVerdict::up);
}

TEST(PeerWatch, ARestoredWatchLosesThePeerAtItsPredecessorsDeadlineNotLater) {
  PeerWatch w(2, timeout);
  w.restore(PeerVerdict::up, 1000 * ms);
  EXPECT_EQ(w.next_deadline(), 1000 * ms + timeout);
  EXPECT_FALSE(w.tick(1000 * ms + timeout - 1).lost);
  EXPECT_TRUE(w.tick(1000 * ms + timeout).lost);
}

TEST(PeerWatch, ARestoredWatchThatHearsThePeerDoesNotSayPeerUpAgain) {
  PeerWatch w(2, timeout);
  w.restore(PeerVerdict::up, 1000 * ms);
  EXPECT_FALSE(w.heard(1, 1010 * ms));
  EXPECT_EQ(w.verdict(), PeerVerdict::up);
}

TEST(PeerWatch, AFrameOnAnUnknownLinkIsIgnored) {
  PeerWatch w(1, timeout);
  EXPECT_FALSE(w.heard(5, 100 * ms));
  EXPECT_EQ(w.verdict(), PeerVerdict::never_seen);
}

}  // namespace
}  // namespace hamon::peer
