#include "hamon/peer/frame.hpp"

#include "hamon/peer/bytes.hpp"

namespace hamon::peer {

bool is_frame_type(std::uint16_t v) noexcept {
  return v >= static_cast<std::uint16_t>(FrameType::hello) &&
         v <= static_cast<std::uint16_t>(FrameType::goodbye);
}

std::string_view to_string(FrameType t) noexcept {
  switch (t) {
    case FrameType::hello: return "hello";
    case FrameType::welcome: return "welcome";
    case FrameType::heartbeat: return "heartbeat";
    case FrameType::snapshot: return "snapshot";
    case FrameType::delta: return "delta";
    case FrameType::resync: return "resync";
    case FrameType::goodbye: return "goodbye";
  }
  return "unknown";
}

void encode_header(const FrameHeader& h, std::span<std::uint8_t, header_size> out) noexcept {
  std::uint8_t* p = out.data();
  store_le(p + 0, frame_magic, 4);
  store_le(p + 4, protocol_version, 2);
  store_le(p + 6, static_cast<std::uint16_t>(h.type), 2);
  store_le(p + 8, h.length, 4);
  store_le(p + 12, h.seq, 8);
  store_le(p + 20, h.epoch, 8);
  store_le(p + 28, h.incarnation, 8);
}

FrameHeader decode_header(std::span<const std::uint8_t, header_size> in) noexcept {
  const std::uint8_t* p = in.data();
  FrameHeader h;
  h.type = static_cast<FrameType>(load_le(p + 6, 2));
  h.length = static_cast<std::uint32_t>(load_le(p + 8, 4));
  h.seq = load_le(p + 12, 8);
  h.epoch = load_le(p + 20, 8);
  h.incarnation = load_le(p + 28, 8);
  return h;
}

}  // namespace hamon::peer
