// Why the peer link refuses what it received. Every rejection ends the connection: the link
// counts it by reason, records an event that says why, drops the socket and keeps serving
// (docs/peer-protocol.md, "Rejections").
//
// Thread-safety: plain values; Counters is for the one thread that owns the link.
#ifndef HAMON_PEER_REJECT_HPP
#define HAMON_PEER_REJECT_HPP

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "hamon/result.hpp"

namespace hamon::peer {

// On the wire in a goodbye (docs/peer-protocol.md): never renumber.
enum class Reason : std::uint16_t {
  bad_magic = 1,        // not a hamon peer frame (another protocol, or garbage)
  unknown_version = 2,  // a protocol version this build does not speak
  unknown_type = 3,     // a frame type this version does not define
  oversize = 4,         // a declared payload length above the maximum, refused before reading it
  truncated = 5,        // the stream ended inside a frame
  malformed = 6,        // a payload that does not parse: short, long, or a field out of range
  wrong_key = 7,        // the handshake's MAC does not verify: the peer has another key
  bad_mac = 8,          // a frame's MAC does not verify after the handshake: forged or corrupt
  replayed = 9,         // a sequence number already seen
  reordered = 10,       // a sequence number that skips ahead: a frame is missing or moved
  wrong_cluster = 11,   // the handshake names another cluster
  unknown_node = 12,    // the handshake names a node that is not the expected peer
  unexpected = 13,      // a frame type not allowed at this point of the conversation
  snapshot_order = 14,  // a snapshot chunk out of order, or chunks that do not add up
};
inline constexpr std::size_t reason_count = 15;  // one past the largest

[[nodiscard]] std::string_view to_string(Reason r) noexcept;  // "bad-magic", "replayed", ...
// Whether v is one of the values above.
[[nodiscard]] bool is_reason(std::uint16_t v) noexcept;

struct Rejection {
  Reason reason = Reason::malformed;
  std::string detail;  // "frame 3: sequence 2 after 5", for the event and the log

  // "replayed: frame 3: sequence 2 after 5"
  [[nodiscard]] std::string message() const;
  [[nodiscard]] base::Error to_error() const;
};

// A value, or the Rejection that ends the connection: base::Result with the reason the link
// counts instead of a base::Errc.
template <class T>
using Checked = base::Result<T, Rejection>;

[[nodiscard]] inline Rejection reject(Reason reason, std::string detail) {
  return Rejection{reason, std::move(detail)};
}

// Rejections so far, by reason.
class Counters {
 public:
  void count(Reason r) noexcept { ++n_[static_cast<std::size_t>(r)]; }
  [[nodiscard]] std::uint64_t operator[](Reason r) const noexcept {
    return n_[static_cast<std::size_t>(r)];
  }
  [[nodiscard]] std::uint64_t total() const noexcept;

 private:
  std::array<std::uint64_t, reason_count> n_{};
};

}  // namespace hamon::peer

#endif  // HAMON_PEER_REJECT_HPP
