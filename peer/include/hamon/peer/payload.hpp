// The payload of each frame type, encoded and decoded field by field (docs/peer-protocol.md,
// "Payloads"). Decoding is strict: a missing or extra byte, a name that breaks the naming rule,
// an enum value or flag bit this version does not define — each is a `malformed` rejection that
// says which record and field.
//
// Thread-safety: pure functions.
#ifndef HAMON_PEER_PAYLOAD_HPP
#define HAMON_PEER_PAYLOAD_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hamon/peer/frame.hpp"
#include "hamon/peer/messages.hpp"
#include "hamon/peer/reject.hpp"
#include "hamon/result.hpp"

namespace hamon::peer {

// Encoded sizes of the records, with names of the longest length allowed (31 characters).
inline constexpr std::size_t max_tenant_record_size = 1 + 31 + 1 + 8 + 4 + 1;                // 46
inline constexpr std::size_t max_process_record_size = 1 + 31 + 1 + 31 + 1 + 1 + 4 + 8 + 4;  // 82
// The fixed part of a snapshot chunk and of a delta, before their records.
inline constexpr std::size_t snapshot_fixed_size = 8 + 4 + 4 + 2 + 2;  // 20
inline constexpr std::size_t delta_fixed_size = 8 + 2 + 2;             // 12

[[nodiscard]] std::size_t encoded_size(const TenantRecord& t) noexcept;
[[nodiscard]] std::size_t encoded_size(const ProcessRecord& p) noexcept;

// Appends m's payload to out. Fails (bad_argument, saying what) on what the peer would reject:
// an invalid name, a record list longer than a frame holds, a goodbye text too long.
[[nodiscard]] base::Status encode_payload(const Message& m, std::vector<std::uint8_t>& out);

// The message a frame of type `type` carries in `payload`.
[[nodiscard]] Checked<Message> decode_payload(FrameType type,
                                              std::span<const std::uint8_t> payload);

}  // namespace hamon::peer

#endif  // HAMON_PEER_PAYLOAD_HPP
