// One peer-link connection's security: the handshake, then a MAC and a strictly increasing
// sequence number on every frame, both ways (docs/peer-protocol.md, "Handshake").
//
//   initiator (connected)                      responder (accepted)
//   write_hello()        ── hello(N_i) ──────▶  receive(): cluster, hello key, node → writes:
//   receive(): cluster,  ◀── welcome(N_r) ───   welcome under K_r→i
//   K_r→i, node
//   write(snapshot…)     ── frames, K_i→r ──▶   receive(): the first one proves the initiator
//                        ◀── frames, K_r→i ──
//
// Any rejection is final: the session returns it again for every later frame, and the
// connection must be dropped. Session does no I/O: it reads RawFrames from a FrameDecoder and
// appends the bytes to send to a caller's buffer.
//
// Thread-safety: none; one Session per connection, used by one thread.
#ifndef HAMON_PEER_SESSION_HPP
#define HAMON_PEER_SESSION_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hamon/peer/crypto.hpp"
#include "hamon/peer/frame.hpp"
#include "hamon/peer/key.hpp"
#include "hamon/peer/messages.hpp"
#include "hamon/peer/reject.hpp"
#include "hamon/result.hpp"

namespace hamon::peer {

// Which end of the TCP connection this is.
enum class End : std::uint8_t { initiator, responder };

struct SessionConfig {
  std::string cluster;             // this cluster's name
  std::string node;                // this node's id
  std::vector<std::string> peers;  // node ids accepted as the other end
  std::uint64_t incarnation = 0;   // this daemon's incarnation, in every header sent
};

struct Received {
  FrameHeader header;
  Message message;
};

class Session {
 public:
  // `nonce` must be fresh for every connection: random_nonce() (tests pass their own). Fails if
  // libsodium cannot initialise or the configuration names are invalid.
  [[nodiscard]] static base::Result<Session> create(End end, SessionConfig config,
                                                    const SharedKey& key, const Nonce& nonce);

  Session(Session&&) noexcept = default;
  Session& operator=(Session&&) noexcept = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session();

  // REQUIRES: initiator, called once, before anything else. Appends the hello to out.
  void write_hello(std::vector<std::uint8_t>& out);

  // Checks one frame from the peer: its MAC, its sequence, that its type may come now, its
  // payload. When a responder accepts the hello, it appends its welcome to out.
  [[nodiscard]] Checked<Received> receive(const RawFrame& frame, std::vector<std::uint8_t>& out);

  // REQUIRES: can_send(). Appends the frame of m (not a hello or welcome, which the session
  // sends itself) to out. Fails, appending nothing, on what encode_payload() refuses.
  [[nodiscard]] base::Status write(const Message& m, std::vector<std::uint8_t>& out);

  // The epoch stamped in the header of every frame from now on.
  void set_epoch(std::uint64_t epoch) noexcept { epoch_ = epoch; }

  [[nodiscard]] End end() const noexcept { return end_; }
  // This end has keys for sending: the handshake is done on this side.
  [[nodiscard]] bool can_send() const noexcept;
  // Both ends proved that they hold the key and saw this connection's nonces.
  [[nodiscard]] bool established() const noexcept { return state_ == State::established; }
  // Set once the hello (responder) or welcome (initiator) was accepted.
  [[nodiscard]] const std::string& peer_node() const noexcept { return peer_node_; }
  [[nodiscard]] std::uint64_t peer_incarnation() const noexcept { return peer_incarnation_; }

 private:
  enum class State : std::uint8_t {
    fresh,             // initiator, hello not written
    awaiting_welcome,  // initiator
    awaiting_hello,    // responder
    awaiting_proof,    // responder: welcome sent, no frame under the session keys yet
    established,
    closed,  // goodbye received
  };

  Session(End end, SessionConfig config, const SharedKey& key, const Nonce& nonce);

  Checked<Received> receive_hello(const RawFrame& frame, std::vector<std::uint8_t>& out);
  Checked<Received> receive_welcome(const RawFrame& frame);
  Checked<Received> receive_keyed(const RawFrame& frame);
  std::optional<Rejection> check_seq(const RawFrame& frame);
  std::optional<Rejection> check_cluster(const RawFrame& frame, const std::string& cluster) const;
  std::optional<Rejection> check_node(const RawFrame& frame, const std::string& node) const;
  // Appends the frame of m under key; on an encoding error, nothing (and uses no seq).
  base::Status seal(FrameType type, const Message& m, const MacKey& key,
                    std::vector<std::uint8_t>& out);
  Checked<Received> fail(Rejection r);

  End end_;
  State state_;
  SessionConfig config_;
  std::optional<SharedKey> shared_;  // until the session keys are derived
  Nonce nonce_;
  MacKey send_key_{};
  MacKey receive_key_{};
  std::uint64_t sent_seq_ = 0;      // of the last frame written
  std::uint64_t received_seq_ = 0;  // of the last frame accepted
  std::uint64_t epoch_ = 0;
  std::string peer_node_;
  std::uint64_t peer_incarnation_ = 0;
  std::optional<Rejection> rejected_;  // sticky
};

}  // namespace hamon::peer

#endif  // HAMON_PEER_SESSION_HPP
