// Helpers for the peer-protocol tests: frames built by hand, records of the largest size, a
// connected pair of sessions.
#ifndef HAMON_TESTS_PEER_TEST_SUPPORT_HPP
#define HAMON_TESTS_PEER_TEST_SUPPORT_HPP

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "hamon/peer/bytes.hpp"
#include "hamon/peer/frame.hpp"
#include "hamon/peer/frame_decoder.hpp"
#include "hamon/peer/messages.hpp"

namespace hamon::peer::test {

using Bytes = std::vector<std::uint8_t>;

// A frame with any header fields, the payload given and a MAC of zeros: for the decoder, which
// does not check MACs. `length` defaults to the payload's size.
inline Bytes raw_frame(std::uint32_t magic, std::uint16_t version, std::uint16_t type,
                       const Bytes& payload, std::uint64_t seq = 1) {
  Bytes out;
  Writer w(out);
  w.u32(magic);
  w.u16(version);
  w.u16(type);
  w.u32(static_cast<std::uint32_t>(payload.size()));
  w.u64(seq);
  w.u64(0);
  w.u64(0);
  w.bytes(payload);
  out.resize(out.size() + mac_size);
  return out;
}

inline Bytes raw_frame(FrameType type, const Bytes& payload, std::uint64_t seq = 1) {
  return raw_frame(frame_magic, protocol_version, static_cast<std::uint16_t>(type), payload, seq);
}

// "<prefix><n>-" padded with 'x' to exactly `length` characters: the longest names make the
// largest records. Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict overlap for
// `"literal" + std::string&&` (its bug 105651).
inline std::string padded(const char* prefix, std::size_t n, std::size_t length = 31) {
  std::string s(prefix);
  s.append(std::to_string(n)).append("-");
  s.resize(length, 'x');
  return s;
}

inline ProcessRecord process_record(std::size_t i, std::size_t name_length = 31) {
  return ProcessRecord{.group = padded("tenant", i % 64, name_length),
                       .name = padded("p", i, name_length),
                       .state = static_cast<ProcessState>(i % (max_process_state + 1)),
                       .ready = i % 2 == 0,
                       .critical = i % 3 == 0,
                       .pid = static_cast<std::int32_t>(1000 + i),
                       .incarnation = 1'000'000'000'000ULL + i,
                       .restarts = static_cast<std::uint32_t>(i % 7)};
}

inline TenantRecord tenant_record(std::size_t i, std::size_t name_length = 31) {
  return TenantRecord{.name = padded("tenant", i, name_length),
                      .role = static_cast<TenantRole>(i % (max_tenant_role + 1)),
                      .epoch = 40 + i,
                      .critical_failures = static_cast<std::uint32_t>(i % 3),
                      .asks = i % 2 == 1};
}

// Every frame in `bytes`; fails the test on a rejection.
inline std::vector<RawFrame> frames_of(FrameDecoder& dec, std::span<const std::uint8_t> bytes) {
  dec.feed(bytes);
  std::vector<RawFrame> out;
  for (;;) {
    auto next = dec.next();
    if (!next) {
      ADD_FAILURE() << next.error().message();
      return out;
    }
    if (!*next) return out;
    out.push_back(**next);
  }
}

}  // namespace hamon::peer::test

#endif  // HAMON_TESTS_PEER_TEST_SUPPORT_HPP
