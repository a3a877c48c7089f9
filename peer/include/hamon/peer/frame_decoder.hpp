// FrameDecoder cuts a byte stream into frames, checking what can be checked without a key: the
// magic, the version, the type and the declared length, each as soon as its bytes arrive, so
// garbage and an oversize length are refused before anything is buffered for them. The MAC and
// the sequence are the Session's (session.hpp).
//
//   FrameDecoder dec;
//   auto room = dec.writable(16384);              // recv() straight into the buffer
//   dec.commit(::recv(fd, room.data(), room.size(), 0));
//   for (;;) {
//     auto next = dec.next();
//     if (!next) { counters.count(next.error().reason); drop(); break; }
//     if (!*next) break;                          // need more bytes
//     handle(**next);                             // a RawFrame
//   }
//   ... at end of stream: dec.finish() says whether a frame was cut short.
//
// Rejections are final: once next() or finish() has rejected, every later call returns the same
// rejection, and the connection must be dropped.
//
// Thread-safety: none; one decoder per connection, used by one thread.
#ifndef HAMON_PEER_FRAME_DECODER_HPP
#define HAMON_PEER_FRAME_DECODER_HPP

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "hamon/peer/frame.hpp"
#include "hamon/peer/reject.hpp"

namespace hamon::peer {

class FrameDecoder {
 public:
  // Appends bytes received.
  void feed(std::span<const std::uint8_t> bytes);
  // Room for at least n more bytes at the end of the buffer, to receive into; then commit() the
  // number of bytes actually written there. Invalidates frames returned before.
  [[nodiscard]] std::span<std::uint8_t> writable(std::size_t n);
  // REQUIRES: n <= the size of the last writable() span.
  void commit(std::size_t n) noexcept { end_ += n; }

  // The next whole frame; std::nullopt when more bytes are needed; a Rejection when the stream
  // cannot be a peer-protocol stream. The frame's spans stay valid until the next feed() or
  // writable(): several frames can be taken out and handled together.
  [[nodiscard]] Checked<std::optional<RawFrame>> next();
  // At the end of the stream: a rejection (truncated) if it ended inside a frame.
  [[nodiscard]] Checked<std::optional<RawFrame>> finish();

  // Bytes received and not yet returned as frames.
  [[nodiscard]] std::size_t buffered() const noexcept { return end_ - begin_; }

 private:
  Checked<std::optional<RawFrame>> fail(Reason reason, std::string detail);
  void make_room(std::size_t n);

  std::vector<std::uint8_t> buf_;  // [begin_, end_) is unread; size() is the capacity
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::uint64_t frames_ = 0;           // returned so far
  std::uint64_t stream_offset_ = 0;    // of buf_[begin_] in the whole stream
  std::optional<Rejection> rejected_;  // sticky
};

}  // namespace hamon::peer

#endif  // HAMON_PEER_FRAME_DECODER_HPP
