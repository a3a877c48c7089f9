// Specification of segment creation and attachment: every way an attach can go wrong gives an
// error that names the segment and the reason, never a crash.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/heartbeat_table.hpp"
#include <hamon/heartbeat.hpp>
#include "test_support.hpp"

namespace hamon::shm {
namespace {

using test::ScopedName;

// Writes raw bytes into a new shm object, bypassing hamon, to forge broken segments.
void forge(const std::string& name, const void* bytes, std::size_t n, std::size_t size) {
  int fd = shm_open(("/" + name).c_str(), O_CREAT | O_RDWR | O_EXCL, 0600);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  ASSERT_EQ(ftruncate(fd, static_cast<off_t>(size)), 0);
  ASSERT_EQ(pwrite(fd, bytes, n, 0), static_cast<ssize_t>(n));
  close(fd);
}

void patch_u32(const std::string& name, std::size_t off, std::uint32_t v) {
  int fd = shm_open(("/" + name).c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pwrite(fd, &v, sizeof v, static_cast<off_t>(off)), static_cast<ssize_t>(sizeof v));
  close(fd);
}

TEST(ControlSegment, CreatesAndAttachesWithTheSameGeometry) {
  ScopedName n("ctl");
  auto c = ControlSegment::create(n.str(), ControlGeometry{128, 8}, "cc1", "a");
  ASSERT_TRUE(c) << c.error().message;
  auto a = ControlSegment::attach(n.str(), Access::read_only);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->max_processes(), 128u);
  EXPECT_EQ(a->max_groups(), 8u);
  EXPECT_STREQ(a->header().cluster, "cc1");
  EXPECT_STREQ(a->header().node, "a");
  EXPECT_EQ(a->header().total_size, (ControlGeometry{128, 8}.total_size()));
  EXPECT_EQ(a->header().creator_pid, static_cast<std::uint32_t>(getpid()));
}

TEST(ControlSegment, WritesThroughOneMappingAreSeenThroughAnother) {
  ScopedName n("ctl");
  auto c = ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a");
  ASSERT_TRUE(c);
  auto a = ControlSegment::attach(n.str(), Access::read_write);
  ASSERT_TRUE(a);
  ProcessIdentity id{};
  id.incarnation = 7;
  id.hb_slot = 3;
  std::strcpy(id.name, "acd");
  c->process(15).identity.write(id);
  ProcessIdentity seen{};
  ASSERT_TRUE(a->process(15).identity.read(seen));
  EXPECT_EQ(seen.incarnation, 7u);
  EXPECT_EQ(seen.hb_slot, 3u);
  EXPECT_STREQ(seen.name, "acd");
  c->daemon(DaemonId::monitor).pid.store(1234);
  EXPECT_EQ(a->daemon(DaemonId::monitor).pid.load(), 1234u);
  EXPECT_NE(&a->process(15), &c->process(15)) << "two distinct mappings";
}

TEST(ControlSegment, RefusesToCreateOverAnExistingSegment) {
  ScopedName n("ctl");
  ASSERT_TRUE(ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a"));
  auto again = ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, Errc::exists);
  EXPECT_NE(again.error().message.find("unable to create /dev/shm/" + n.str()), std::string::npos)
      << again.error().message;
}

TEST(ControlSegment, RejectsAnOutOfRangeGeometry) {
  ScopedName n("ctl");
  auto c = ControlSegment::create(n.str(), ControlGeometry{0, 4}, "cc1", "a");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, Errc::bad_argument);
  EXPECT_NE(c.error().message.find("out of range"), std::string::npos);
}

TEST(ControlSegment, AttachToAMissingSegmentSaysItDoesNotExist) {
  ScopedName n("missing");
  auto a = ControlSegment::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::missing);
  EXPECT_EQ(a.error().message,
            "unable to open /dev/shm/" + n.str() + ": No such file or directory");
}

TEST(ControlSegment, AttachToAForeignSegmentSaysWrongMagic) {
  ScopedName n("foreign");
  char junk[512];
  std::memset(junk, 'x', sizeof junk);
  forge(n.str(), junk, sizeof junk, 4096);
  auto a = ControlSegment::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::bad_magic);
  EXPECT_EQ(a.error().message,
            "/dev/shm/" + n.str() + " is not a hamon control segment (wrong magic)");
}

TEST(ControlSegment, AttachToAnUnknownLayoutVersionIsRefused) {
  ScopedName n("ver");
  ASSERT_TRUE(ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a"));
  patch_u32(n.str(), offsetof(ControlHeader, layout_version), 99);
  auto a = ControlSegment::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::bad_version);
  EXPECT_NE(a.error().message.find("control segment layout version 99, but this build knows "
                                   "version " +
                                   std::to_string(kControlLayoutVersion) + " only"),
            std::string::npos)
      << a.error().message;
}

TEST(ControlSegment, AttachToAHalfInitialisedSegmentExplainsVersionZero) {
  ScopedName n("ver0");
  ASSERT_TRUE(ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a"));
  patch_u32(n.str(), offsetof(ControlHeader, layout_version), 0);
  auto a = ControlSegment::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::bad_version);
  EXPECT_NE(a.error().message.find("not initialised"), std::string::npos) << a.error().message;
}

TEST(ControlSegment, AttachToATruncatedSegmentSaysTooSmall) {
  ScopedName n("small");
  ControlHeader h{};
  h.magic = kControlMagic;
  h.layout_version = kControlLayoutVersion;
  h.header_size = kControlHeaderSize;
  h.max_processes = 4096;
  h.max_groups = 64;
  h.total_size = ControlGeometry{}.total_size();
  forge(n.str(), &h, sizeof h, 8192);  // far smaller than declared
  auto a = ControlSegment::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::too_small);
  EXPECT_NE(a.error().message.find("declares " + std::to_string(h.total_size) +
                                   " bytes but 8192 are mapped"),
            std::string::npos)
      << a.error().message;
}

TEST(ControlSegment, AttachToAnEmptyObjectSaysTooSmall) {
  ScopedName n("empty");
  forge(n.str(), "", 0, 0);
  auto a = ControlSegment::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::too_small);
  EXPECT_NE(a.error().message.find("too small to be a hamon segment (0 bytes)"), std::string::npos)
      << a.error().message;
}

TEST(ControlSegment, AttachWithACorruptOffsetIsRefused) {
  ScopedName n("corrupt");
  ASSERT_TRUE(ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a"));
  patch_u32(n.str(), offsetof(ControlHeader, max_groups), 5);
  auto a = ControlSegment::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::bad_version);
  EXPECT_NE(a.error().message.find("inconsistent"), std::string::npos);
}

// Root bypasses file permissions, so the attach runs in a child that gave up root first.
TEST(ControlSegment, AttachWithoutPermissionSaysPermissionDenied) {
  if (getuid() != 0) GTEST_SKIP() << "needs root to create a segment another user cannot open";
  ScopedName n("perm");
  ASSERT_TRUE(ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a", 0600));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  test::Child child([&] {
    close(fds[0]);
    if (setresgid(65534, 65534, 65534) != 0 || setresuid(65534, 65534, 65534) != 0) return 3;
    auto a = ControlSegment::attach(n.str(), Access::read_only);
    const std::string msg = a ? std::string("attached") : a.error().message;
    const int code = a ? -1 : static_cast<int>(a.error().code);
    if (write(fds[1], &code, sizeof code) != sizeof code) return 4;
    if (write(fds[1], msg.data(), msg.size()) != static_cast<ssize_t>(msg.size())) return 5;
    return 0;
  });
  close(fds[1]);
  int code = -2;
  ASSERT_EQ(read(fds[0], &code, sizeof code), static_cast<ssize_t>(sizeof code));
  char buf[512] = {};
  ASSERT_GT(read(fds[0], buf, sizeof buf - 1), 0);
  close(fds[0]);
  EXPECT_EQ(child.wait(), 0);
  EXPECT_EQ(code, static_cast<int>(Errc::permission));
  EXPECT_EQ(std::string(buf), "unable to open /dev/shm/" + n.str() + ": Permission denied");
}

TEST(HeartbeatTable, CreatesWithTheRequestedSlotsAndGroup) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 10);
  ASSERT_TRUE(t) << t.error().message;
  auto a = HeartbeatTable::attach(n.str(), Access::read_only);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->slot_count(), 10u);
  EXPECT_EQ(a->group(), "acme");
  EXPECT_EQ(a->client_name(), "/" + n.str());
}

TEST(HeartbeatTable, RejectsZeroSlotsAndOverlongGroupNames) {
  ScopedName n("hb");
  auto zero = HeartbeatTable::create(n.str(), "acme", 0);
  ASSERT_FALSE(zero);
  EXPECT_EQ(zero.error().code, Errc::bad_argument);
  auto longname = HeartbeatTable::create(n.str(), std::string(40, 'g'), 4);
  ASSERT_FALSE(longname);
  EXPECT_NE(longname.error().message.find("too long"), std::string::npos);
}

TEST(HeartbeatTable, AttachToAControlSegmentSaysWrongMagic) {
  ScopedName n("ctl");
  ASSERT_TRUE(ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a"));
  auto a = HeartbeatTable::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::bad_magic);
  EXPECT_NE(a.error().message.find("is not a hamon heartbeat segment"), std::string::npos);
}

// ---- What whoever else may write a segment can do to it afterwards (docs/security.md)

TEST(HeartbeatTable, ASegmentTruncatedUnderItsMappingReadsAsZerosAndSaysItIsDamaged) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  t->slot(2).beat_count.store(7);
  EXPECT_TRUE(t->intact());
  const int fd = shm_open(("/" + n.str()).c_str(), O_RDWR, 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, 0), 0);
  close(fd);
  // Without the guard this read is a SIGBUS, and the test process dies here.
  EXPECT_EQ(t->snapshot(2).beat_count, 0u);
  t->tick(5);  // a write goes to the private copy, harmlessly
  EXPECT_FALSE(t->intact());
  EXPECT_EQ(t->slot_count(), 4u);
}

TEST(HeartbeatTable, TrustsOnlyTheSlotCountItCheckedWhenItMappedTheSegment) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  patch_u32(n.str(), HAMON_HB_OFF_SLOT_COUNT, 1'000'000);
  EXPECT_EQ(t->slot_count(), 4u);
  EXPECT_FALSE(t->intact());
}

TEST(HeartbeatTable, AScribbledHeaderIsNoLongerIntact) {
  ScopedName n("hb");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  patch_u32(n.str(), HAMON_HB_OFF_MAGIC, 0xA5A5A5A5u);
  EXPECT_FALSE(t->intact());
}

TEST(ControlSegment, TrustsOnlyTheGeometryItCheckedAtAttach) {
  ScopedName n("ctl");
  auto c = ControlSegment::create(n.str(), ControlGeometry{16, 4}, "cc1", "a");
  ASSERT_TRUE(c);
  auto a = ControlSegment::attach(n.str(), Access::read_write);
  ASSERT_TRUE(a);
  // A writer of the segment rewrites the counts and offsets that index everything else.
  patch_u32(n.str(), offsetof(ControlHeader, max_processes), 0xFFFFFFFFu);
  patch_u32(n.str(), offsetof(ControlHeader, max_groups), 0xFFFFFFFFu);
  patch_u32(n.str(), offsetof(ControlHeader, off_events), 0xFFFFFFF0u);
  EXPECT_EQ(a->max_processes(), 16u);
  EXPECT_EQ(a->max_groups(), 4u);
  Event e;
  e.set_detail("still here");
  const auto pos = a->events().post(e);  // at the ring this build placed, not where it says
  Event back;
  ASSERT_EQ(c->events().read(pos, back), EventRing::Read::ok);
  EXPECT_STREQ(back.detail, "still here");
}

TEST(HeartbeatTable, AttachWithForgedSlotCountSaysTooSmall) {
  ScopedName n("hb");
  ASSERT_TRUE(HeartbeatTable::create(n.str(), "acme", 4));
  patch_u32(n.str(), HAMON_HB_OFF_SLOT_COUNT, 1000);
  auto a = HeartbeatTable::attach(n.str(), Access::read_only);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code, Errc::too_small);
  EXPECT_NE(a.error().message.find("1000 slots"), std::string::npos) << a.error().message;
}

TEST(HeartbeatTable, SegmentIsCreatedWithTheRequestedMode) {
  ScopedName n("hb");
  ASSERT_TRUE(HeartbeatTable::create(n.str(), "acme", 4, 0640));
  struct stat st {};
  ASSERT_EQ(stat(("/dev/shm/" + n.str()).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST(Segment, RemoveUnlinksTheNameButKeepsExistingMappings) {
  ScopedName n("rm");
  auto t = HeartbeatTable::create(n.str(), "acme", 4);
  ASSERT_TRUE(t);
  auto client = hamon::Heartbeat::attach(n.slashed().c_str(), 0, 1);
  ASSERT_TRUE(client) << client.error_message();
  EXPECT_TRUE(Segment::remove(n.str()));
  EXPECT_FALSE(Segment::remove(n.str()));
  EXPECT_FALSE(HeartbeatTable::attach(n.str(), Access::read_only));
  t->tick(43);
  client.beat();
  EXPECT_EQ(t->snapshot(0).beat_stamp, 43u) << "both mappings still share the memory";
}

}  // namespace
}  // namespace hamon::shm
