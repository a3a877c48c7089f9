#include "hamon/peer/frame_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <string>

#include "hamon/peer/bytes.hpp"

namespace hamon::peer {
namespace {

std::string hex(std::uint64_t v, int digits) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s = "0x";
  for (int i = digits - 1; i >= 0; --i) s += kDigits[(v >> (4 * i)) & 0xf];
  return s;
}

}  // namespace

void FrameDecoder::make_room(std::size_t n) {
  if (begin_ == end_) begin_ = end_ = 0;
  if (buf_.size() - end_ >= n) return;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (buf_.size() - end_ < n) buf_.resize(std::max(end_ + n, 2 * buf_.size()));
}

void FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (bytes.empty()) return;
  make_room(bytes.size());
  std::memcpy(buf_.data() + end_, bytes.data(), bytes.size());
  end_ += bytes.size();
}

std::span<std::uint8_t> FrameDecoder::writable(std::size_t n) {
  make_room(n);
  return {buf_.data() + end_, buf_.size() - end_};
}

Checked<std::optional<RawFrame>> FrameDecoder::fail(Reason reason, std::string detail) {
  rejected_ = reject(reason, "frame " + std::to_string(frames_ + 1) + " (stream byte " +
                                 std::to_string(stream_offset_) + "): " + std::move(detail));
  return *rejected_;
}

Checked<std::optional<RawFrame>> FrameDecoder::next() {
  if (rejected_) return *rejected_;
  const std::uint8_t* p = buf_.data() + begin_;
  const std::size_t have = end_ - begin_;
  // Each field is checked as soon as it has arrived: a peer speaking another protocol is told
  // apart at its 4th byte, not after it has sent a "length" worth of bytes.
  if (have >= 4 && load_le(p, 4) != frame_magic) {
    return fail(Reason::bad_magic,
                "magic " + hex(load_le(p, 4), 8) + ", expected " + hex(frame_magic, 8));
  }
  if (have >= 6 && load_le(p + 4, 2) != protocol_version) {
    return fail(Reason::unknown_version, "version " + std::to_string(load_le(p + 4, 2)) +
                                             ", this build speaks " +
                                             std::to_string(protocol_version));
  }
  if (have >= 8 && !is_frame_type(static_cast<std::uint16_t>(load_le(p + 6, 2)))) {
    return fail(Reason::unknown_type, "type " + std::to_string(load_le(p + 6, 2)));
  }
  if (have >= 12 && load_le(p + 8, 4) > max_payload) {
    return fail(Reason::oversize, "payload length " + std::to_string(load_le(p + 8, 4)) +
                                      " above the maximum " + std::to_string(max_payload));
  }
  if (have < header_size) return std::optional<RawFrame>{};
  const std::size_t length = load_le(p + 8, 4);
  const std::size_t total = header_size + length + mac_size;
  if (have < total) return std::optional<RawFrame>{};

  RawFrame f{
      .header = decode_header(std::span<const std::uint8_t, header_size>(p, header_size)),
      .authenticated = {p, header_size + length},
      .payload = {p + header_size, length},
      .mac = std::span<const std::uint8_t, mac_size>(p + header_size + length, mac_size),
      .index = ++frames_,
  };
  begin_ += total;
  stream_offset_ += total;
  return std::optional<RawFrame>{f};
}

Checked<std::optional<RawFrame>> FrameDecoder::finish() {
  if (rejected_) return *rejected_;
  if (begin_ != end_) {
    return fail(Reason::truncated,
                "the stream ended " + std::to_string(end_ - begin_) + " bytes into a frame");
  }
  return std::optional<RawFrame>{};
}

}  // namespace hamon::peer
