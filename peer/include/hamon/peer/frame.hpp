// The peer link's frame: a fixed little-endian header, a payload, a MAC. Specified field by field
// in docs/peer-protocol.md; every number here is the protocol's, so changing one needs a new
// `version`.
//
//   offset  size  field
//        0     4  magic        0x504e4d48, the bytes "HMNP"
//        4     2  version      1
//        6     2  type         FrameType
//        8     4  length       payload bytes, at most max_payload
//       12     8  seq          the sender's frame sequence on this connection, from 1
//       20     8  epoch        the highest tenant role epoch the sender knows
//       28     8  incarnation  the sender's daemon incarnation
//       36  length payload
//   36+length  32  mac         HMAC-SHA512-256 of bytes [0, 36+length) under the direction's key
#ifndef HAMON_PEER_FRAME_HPP
#define HAMON_PEER_FRAME_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace hamon::peer {

inline constexpr std::uint32_t frame_magic = 0x504e4d48;
inline constexpr std::uint16_t protocol_version = 2;  // 2: the tenant record's flags
inline constexpr std::size_t header_size = 36;
inline constexpr std::size_t mac_size = 32;
// 64 KiB: small enough that a heartbeat queued behind a full frame waits well under a
// millisecond on a gigabit link, large enough for any delta; snapshots are split into chunks of
// at most this size (snapshot.hpp).
inline constexpr std::size_t max_payload = 65536;
inline constexpr std::size_t max_frame = header_size + max_payload + mac_size;

// On the wire: never renumber.
enum class FrameType : std::uint16_t {
  hello = 1,      // initiator → responder: cluster, node, nonce
  welcome = 2,    // responder → initiator: cluster, node, nonce
  heartbeat = 3,  // every peer_interval, both ways
  snapshot = 4,   // one chunk of the sender's whole table
  delta = 5,      // changes since the previous snapshot or delta
  resync = 6,     // "send me a snapshot"
  goodbye = 7,    // the sender closes, and says why
};

[[nodiscard]] bool is_frame_type(std::uint16_t v) noexcept;
[[nodiscard]] std::string_view to_string(FrameType t) noexcept;

// The header without magic and version, which are constants.
struct FrameHeader {
  FrameType type = FrameType::hello;
  std::uint32_t length = 0;
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
  std::uint64_t incarnation = 0;

  friend bool operator==(const FrameHeader&, const FrameHeader&) = default;
};

// Writes the header_size bytes of h (with magic and version) at out.
void encode_header(const FrameHeader& h, std::span<std::uint8_t, header_size> out) noexcept;
// REQUIRES: the magic, version and type of `in` were checked (FrameDecoder does).
[[nodiscard]] FrameHeader decode_header(std::span<const std::uint8_t, header_size> in) noexcept;

// One whole frame as received; the spans point into the decoder's buffer.
struct RawFrame {
  FrameHeader header;
  std::span<const std::uint8_t> authenticated;  // header and payload: what the MAC covers
  std::span<const std::uint8_t> payload;
  std::span<const std::uint8_t, mac_size> mac;
  std::uint64_t index = 0;  // 1 for the first frame of the stream: for messages
};

}  // namespace hamon::peer

#endif  // HAMON_PEER_FRAME_HPP
