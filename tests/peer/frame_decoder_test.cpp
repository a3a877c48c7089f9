// The frame layer: the header's bytes, and a decoder that cuts frames out of a byte stream fed
// in pieces of any size, refusing a stream that cannot be the peer protocol as early as it can.
#include "hamon/peer/frame_decoder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "peer_test_support.hpp"

namespace hamon::peer {
namespace {

using test::Bytes;
using test::raw_frame;

Bytes payload_of(std::size_t n) {
  Bytes p(n);
  for (std::size_t i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(i * 7);
  return p;
}

// What next() said: a frame, more bytes needed, or a rejection's reason.
struct Outcome {
  bool frame = false;
  bool need_more = false;
  std::optional<Reason> rejected;
};

Outcome next_of(FrameDecoder& dec) {
  auto next = dec.next();
  if (!next) return {.frame = false, .need_more = false, .rejected = next.error().reason};
  return {.frame = next->has_value(), .need_more = !next->has_value(), .rejected = {}};
}

TEST(FrameHeader, IsLittleEndianFieldByFieldAtTheDocumentedOffsets) {
  const FrameHeader h{.type = FrameType::delta,
                      .length = 0x01020304,
                      .seq = 0x1112131415161718,
                      .epoch = 0x2122232425262728,
                      .incarnation = 0x3132333435363738};
  std::array<std::uint8_t, header_size> bytes{};
  encode_header(h, bytes);
  const std::array<std::uint8_t, header_size> expected{
      'H',  'M',  'N',  'P',                           // magic 0x504e4d48
      2,    0,                                         // version
      5,    0,                                         // type: delta
      0x04, 0x03, 0x02, 0x01,                          // length
      0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11,  // seq
      0x28, 0x27, 0x26, 0x25, 0x24, 0x23, 0x22, 0x21,  // epoch
      0x38, 0x37, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31,  // incarnation
  };
  EXPECT_EQ(bytes, expected);
  EXPECT_EQ(decode_header(bytes), h);
}

TEST(FrameDecoder, ReturnsAFrameWithItsHeaderPayloadAndMac) {
  const Bytes payload = payload_of(10);
  Bytes bytes = raw_frame(FrameType::heartbeat, payload, 42);
  bytes[bytes.size() - 1] = 0xee;  // the MAC's last byte
  FrameDecoder dec;
  dec.feed(bytes);
  auto next = dec.next();
  ASSERT_TRUE(next) << next.error().message();
  ASSERT_TRUE(next->has_value());
  const RawFrame& f = **next;
  EXPECT_EQ(f.header.type, FrameType::heartbeat);
  EXPECT_EQ(f.header.length, 10u);
  EXPECT_EQ(f.header.seq, 42u);
  EXPECT_EQ(f.index, 1u);
  EXPECT_EQ(Bytes(f.payload.begin(), f.payload.end()), payload);
  EXPECT_EQ(f.authenticated.size(), header_size + 10);
  EXPECT_TRUE(std::equal(f.authenticated.begin(), f.authenticated.end(), bytes.begin()));
  EXPECT_EQ(f.mac[mac_size - 1], 0xee);
  EXPECT_EQ(dec.buffered(), 0u);
  EXPECT_TRUE(next_of(dec).need_more);
}

TEST(FrameDecoder, NeedsMoreUntilTheLastByteOfAFrameArrivesOneByteAtATime) {
  const Bytes bytes = raw_frame(FrameType::delta, payload_of(100));
  FrameDecoder dec;
  for (std::size_t i = 0; i + 1 < bytes.size(); ++i) {
    dec.feed({&bytes[i], 1});
    ASSERT_TRUE(next_of(dec).need_more) << "after byte " << i;
  }
  dec.feed({&bytes.back(), 1});
  EXPECT_TRUE(next_of(dec).frame);
}

TEST(FrameDecoder, CutsManyFramesOutOfOneFeedAndAcrossFeeds) {
  Bytes stream;
  for (std::uint64_t seq = 1; seq <= 50; ++seq) {
    const Bytes f = raw_frame(FrameType::heartbeat, payload_of(seq * 13 % 200), seq);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  // In pieces of 97 bytes, which split headers, payloads and MACs everywhere.
  FrameDecoder dec;
  std::uint64_t expected = 1;
  for (std::size_t at = 0; at < stream.size(); at += 97) {
    dec.feed({stream.data() + at, std::min<std::size_t>(97, stream.size() - at)});
    for (;;) {
      auto next = dec.next();
      ASSERT_TRUE(next) << next.error().message();
      if (!*next) break;
      EXPECT_EQ((*next)->header.seq, expected);
      EXPECT_EQ((*next)->index, expected);
      EXPECT_EQ((*next)->payload.size(), expected * 13 % 200);
      ++expected;
    }
  }
  EXPECT_EQ(expected, 51u);
  EXPECT_TRUE(dec.finish());
}

TEST(FrameDecoder, ReceivesStraightIntoItsOwnBuffer) {
  const Bytes bytes = raw_frame(FrameType::snapshot, payload_of(5000));
  FrameDecoder dec;
  std::size_t at = 0;
  int frames = 0;
  while (at < bytes.size()) {
    std::span<std::uint8_t> room = dec.writable(1000);
    ASSERT_GE(room.size(), 1000u);
    const std::size_t n = std::min<std::size_t>(1000, bytes.size() - at);
    std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(at), n, room.begin());
    dec.commit(n);
    at += n;
    const Outcome o = next_of(dec);
    ASSERT_FALSE(o.rejected);
    frames += o.frame;
  }
  EXPECT_EQ(frames, 1);
}

TEST(FrameDecoder, TakesAPayloadOfExactlyTheMaximum) {
  FrameDecoder dec;
  dec.feed(raw_frame(FrameType::snapshot, payload_of(max_payload)));
  EXPECT_TRUE(next_of(dec).frame);
}

TEST(FrameDecoder, RefusesAnotherProtocolAtItsFourthByte) {
  FrameDecoder dec;
  const std::string http = "GET / HTTP/1.1\r\n";
  dec.feed({reinterpret_cast<const std::uint8_t*>(http.data()), 4});
  auto next = dec.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().reason, Reason::bad_magic);
  EXPECT_EQ(next.error().message(),
            "bad-magic: frame 1 (stream byte 0): magic 0x20544547, expected 0x504e4d48");
}

TEST(FrameDecoder, RefusesAnUnknownVersionBeforeTheRestOfTheHeader) {
  FrameDecoder dec;
  const Bytes bytes = raw_frame(frame_magic, 3, 3, {});
  dec.feed({bytes.data(), 6});
  auto next = dec.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().reason, Reason::unknown_version);
  EXPECT_NE(next.error().detail.find("version 3, this build speaks 2"), std::string::npos);
}

TEST(FrameDecoder, RefusesAnUnknownType) {
  for (const std::uint16_t type : {0, 8, 0xffff}) {
    FrameDecoder dec;
    dec.feed(raw_frame(frame_magic, protocol_version, type, {}));
    const Outcome o = next_of(dec);
    EXPECT_EQ(o.rejected, Reason::unknown_type) << type;
  }
}

TEST(FrameDecoder, RefusesAnOversizeLengthBeforeAnyOfItsBytesArrive) {
  Bytes bytes = raw_frame(FrameType::snapshot, {});
  store_le(bytes.data() + 8, max_payload + 1, 4);
  FrameDecoder dec;
  dec.feed({bytes.data(), 12});  // the header up to and with the length: nothing else
  auto next = dec.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().reason, Reason::oversize);
  EXPECT_NE(next.error().detail.find("payload length 65537 above the maximum 65536"),
            std::string::npos);

  FrameDecoder huge;
  store_le(bytes.data() + 8, 0xffffffff, 4);
  huge.feed({bytes.data(), 12});
  EXPECT_EQ(next_of(huge).rejected, Reason::oversize);
}

TEST(FrameDecoder, ReportsAStreamThatEndsInsideAFrameAsTruncated) {
  const Bytes bytes = raw_frame(FrameType::delta, payload_of(30));
  for (const std::size_t cut : {std::size_t{1}, std::size_t{12}, header_size, bytes.size() - 1}) {
    FrameDecoder dec;
    dec.feed({bytes.data(), cut});
    EXPECT_TRUE(next_of(dec).need_more);
    auto end = dec.finish();
    ASSERT_FALSE(end) << cut;
    EXPECT_EQ(end.error().reason, Reason::truncated);
    EXPECT_NE(end.error().detail.find(std::to_string(cut) + " bytes into a frame"),
              std::string::npos);
  }
}

TEST(FrameDecoder, EndsCleanlyBetweenFrames) {
  FrameDecoder dec;
  EXPECT_TRUE(dec.finish());
  dec.feed(raw_frame(FrameType::goodbye, payload_of(3)));
  EXPECT_TRUE(next_of(dec).frame);
  auto end = dec.finish();
  ASSERT_TRUE(end);
  EXPECT_FALSE(end->has_value());
}

TEST(FrameDecoder, RejectionsAreFinalEvenIfValidFramesFollow) {
  FrameDecoder dec;
  Bytes bytes = raw_frame(FrameType::heartbeat, payload_of(32));
  bytes[0] ^= 0xff;
  dec.feed(bytes);
  EXPECT_EQ(next_of(dec).rejected, Reason::bad_magic);
  dec.feed(raw_frame(FrameType::heartbeat, payload_of(32)));
  EXPECT_EQ(next_of(dec).rejected, Reason::bad_magic);
  auto end = dec.finish();
  ASSERT_FALSE(end);
  EXPECT_EQ(end.error().reason, Reason::bad_magic);
}

TEST(FrameDecoder, NamesTheFrameAndStreamOffsetOfARejection) {
  FrameDecoder dec;
  const Bytes good = raw_frame(FrameType::heartbeat, payload_of(32));
  dec.feed(good);
  dec.feed(good);
  Bytes bad = good;
  bad[4] = 9;  // version 9 (not store_le: GCC 12 at -O3 misjudges the vector's size)
  dec.feed(bad);
  EXPECT_TRUE(next_of(dec).frame);
  EXPECT_TRUE(next_of(dec).frame);
  auto next = dec.next();
  ASSERT_FALSE(next);
  EXPECT_EQ(next.error().detail.rfind(
                "frame 3 (stream byte " + std::to_string(2 * good.size()) + "):", 0),
            0u)
      << next.error().detail;
}

}  // namespace
}  // namespace hamon::peer
