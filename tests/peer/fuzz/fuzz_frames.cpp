// libFuzzer target: the frame decoder and the payload decoders on any bytes. Beyond "no crash,
// no undefined behaviour", it checks that a payload that decodes is the one encoding of its
// message, and that snapshot chunks reassemble without going over the limits.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "hamon/peer/frame_decoder.hpp"
#include "hamon/peer/payload.hpp"
#include "hamon/peer/snapshot.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace hamon::peer;
  if (size == 0) return 0;
  // The first byte sets how the stream is cut: the decoder must not care.
  const std::size_t piece = 1 + data[0] % 64;
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  FrameDecoder dec;
  SnapshotAssembler assembler;
  for (std::size_t at = 0; at < stream.size(); at += piece) {
    dec.feed(stream.subspan(at, std::min(piece, stream.size() - at)));
    for (;;) {
      auto next = dec.next();
      if (!next) return 0;
      if (!*next) break;
      const RawFrame& f = **next;
      if (f.payload.size() > max_payload) __builtin_trap();
      Checked<Message> m = decode_payload(f.header.type, f.payload);
      if (!m) continue;
      std::vector<std::uint8_t> again;
      if (!encode_payload(*m, again)) __builtin_trap();
      if (!std::equal(again.begin(), again.end(), f.payload.begin(), f.payload.end())) {
        __builtin_trap();
      }
      if (auto* chunk = std::get_if<SnapshotChunk>(&*m)) {
        auto table = assembler.add(std::move(*chunk));
        if (table && *table && (*table)->processes.size() > 65536) __builtin_trap();
      }
    }
  }
  (void)dec.finish();
  return 0;
}
