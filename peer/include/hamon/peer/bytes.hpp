// Little-endian fields written and read one by one, by shifts: the peer protocol never copies a
// struct onto the wire, so its format does not depend on the compiler's layout or the host's byte
// order (docs/peer-protocol.md).
//
// Reader is sticky: a read past the end yields zeros and marks the reader failed, so a decoder
// reads every field of a record and checks once, at the end, whether all of them were there.
//
// Thread-safety: none; one Writer or Reader per thread.
#ifndef HAMON_PEER_BYTES_HPP
#define HAMON_PEER_BYTES_HPP

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hamon::peer {

class Writer {
 public:
  explicit Writer(std::vector<std::uint8_t>& out) : out_(out) {}

  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { put(v, 2); }
  void u32(std::uint32_t v) { put(v, 4); }
  void u64(std::uint64_t v) { put(v, 8); }
  void bytes(std::span<const std::uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  // A u8 length, then the bytes. REQUIRES: s.size() <= 255 (the encoders bound every string).
  void str8(std::string_view s) {
    u8(static_cast<std::uint8_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }

  [[nodiscard]] std::size_t size() const noexcept { return out_.size(); }

 private:
  void put(std::uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }

  std::vector<std::uint8_t>& out_;
};

// Writes a little-endian value at p[0..n).
inline void store_le(std::uint8_t* p, std::uint64_t v, int n) noexcept {
  for (int i = 0; i < n; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

// Reads a little-endian value from p[0..n).
[[nodiscard]] inline std::uint64_t load_le(const std::uint8_t* p, int n) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= std::uint64_t{p[i]} << (8 * i);
  return v;
}

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}

  std::uint8_t u8() { return static_cast<std::uint8_t>(get(1)); }
  std::uint16_t u16() { return static_cast<std::uint16_t>(get(2)); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(get(4)); }
  std::uint64_t u64() { return get(8); }
  // Copies out.size() bytes.
  void bytes(std::span<std::uint8_t> out) {
    if (!take(out.size())) return;
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = in_[pos_ - out.size() + i];
  }
  // A u8 length, then that many bytes.
  std::string str8() {
    const std::size_t n = u8();
    if (!take(n)) return {};
    return {reinterpret_cast<const char*>(in_.data() + pos_ - n), n};
  }

  // Every read so far found its bytes.
  [[nodiscard]] bool ok() const noexcept { return ok_; }
  // Every read found its bytes and nothing is left over.
  [[nodiscard]] bool done() const noexcept { return ok_ && pos_ == in_.size(); }
  [[nodiscard]] std::size_t remaining() const noexcept { return in_.size() - pos_; }
  [[nodiscard]] std::size_t position() const noexcept { return pos_; }

 private:
  bool take(std::size_t n) {
    if (!ok_ || n > in_.size() - pos_) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  std::uint64_t get(int n) {
    if (!take(static_cast<std::size_t>(n))) return 0;
    return load_le(in_.data() + pos_ - static_cast<std::size_t>(n), n);
  }

  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace hamon::peer

#endif  // HAMON_PEER_BYTES_HPP
