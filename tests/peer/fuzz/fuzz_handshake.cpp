// libFuzzer target: the handshake and the session. The first byte picks what the input is:
//   0: a byte stream to a responder waiting for a hello;
//   1: a byte stream to an initiator that sent its hello and waits for a welcome;
//   2: frames the harness signs with the right session key before handing them to an
//      established responder, so that what lies behind the MAC check (the sequence, the
//      incarnation, the type, the payload) is fuzzed too: records of
//      {u8 type, u8 tweak, u16 length, length bytes of payload}.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "hamon/peer/bytes.hpp"
#include "hamon/peer/crypto.hpp"
#include "hamon/peer/frame_decoder.hpp"
#include "hamon/peer/session.hpp"

namespace {

using namespace hamon::peer;
using Bytes = std::vector<std::uint8_t>;

SharedKey cluster_key() {
  std::array<std::uint8_t, key_size> k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(i * 13 + 1);
  return SharedKey(k);
}

Nonce nonce(std::uint8_t seed) {
  Nonce n{};
  for (std::size_t i = 0; i < n.size(); ++i) n[i] = static_cast<std::uint8_t>(seed + i);
  return n;
}

Session session(End end, const char* self, const char* peer) {
  auto s = Session::create(end, SessionConfig{"fuzz", self, {peer}, 5}, cluster_key(),
                           nonce(end == End::initiator ? 1 : 2));
  if (!s) __builtin_trap();
  return std::move(s).value();
}

// Feeds bytes to a session through a decoder; stops at the first rejection, after which the
// session must keep refusing.
void feed(Session& s, std::span<const std::uint8_t> bytes) {
  FrameDecoder dec;
  dec.feed(bytes);
  Bytes out;
  for (;;) {
    auto next = dec.next();
    if (!next || !*next) return;
    auto r = s.receive(**next, out);
    if (!r) {
      if (s.receive(**next, out)) __builtin_trap();  // rejections are final
      return;
    }
  }
}

void signed_frames(std::span<const std::uint8_t> in) {
  Session a = session(End::initiator, "a", "b");
  Session b = session(End::responder, "b", "a");
  Bytes hello, welcome;
  a.write_hello(hello);
  FrameDecoder to_b, to_a;
  to_b.feed(hello);
  auto h = to_b.next();
  if (!h || !*h || !b.receive(**h, welcome)) __builtin_trap();
  const MacKey key = derive_session_keys(cluster_key(), nonce(1), nonce(2)).initiator_to_responder;

  Reader r(in);
  std::uint64_t seq = 1;
  Bytes stream;
  while (r.remaining() >= 4) {
    const std::uint8_t type = r.u8();
    const std::uint8_t tweak = r.u8();
    std::size_t length = r.u16();
    length = std::min(length, r.remaining());
    Bytes frame(header_size);
    frame.resize(header_size + length);
    r.bytes(std::span<std::uint8_t>(frame.data() + header_size, length));
    seq += (tweak & 1) ? 2 : 1;  // sometimes skip a number
    if (tweak & 2) seq -= 1;     // sometimes repeat one
    Writer w(stream);
    store_le(frame.data(), frame_magic, 4);
    store_le(frame.data() + 4, protocol_version, 2);
    store_le(frame.data() + 6, 1 + type % 7, 2);
    store_le(frame.data() + 8, length, 4);
    store_le(frame.data() + 12, seq, 8);
    store_le(frame.data() + 20, tweak, 8);
    store_le(frame.data() + 28, (tweak & 4) ? 6 : 5, 8);  // sometimes another incarnation
    const Mac mac = compute_mac(key, frame);
    w.bytes(frame);
    w.bytes(mac);
  }
  feed(b, stream);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0: {
      Session b = session(End::responder, "b", "a");
      feed(b, rest);
      break;
    }
    case 1: {
      Session a = session(End::initiator, "a", "b");
      Bytes hello;
      a.write_hello(hello);
      feed(a, rest);
      break;
    }
    case 2: signed_frames(rest); break;
  }
  return 0;
}
