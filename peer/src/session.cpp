#include "hamon/peer/session.hpp"

#include <algorithm>
#include <utility>

#include "hamon/engine/names.hpp"
#include "hamon/peer/payload.hpp"

namespace hamon::peer {

base::Result<Session> Session::create(End end, SessionConfig config, const SharedKey& key,
                                      const Nonce& nonce) {
  if (base::Status s = crypto_init(); !s) return s.error();
  for (const std::string* name : {&config.cluster, &config.node}) {
    if (!engine::is_valid_name(*name)) {
      return base::Error{base::Errc::bad_argument, "peer session: invalid name '" + *name + "' (" +
                                                       std::string(engine::name_rule) + ")"};
    }
  }
  return Session(end, std::move(config), key, nonce);
}

Session::Session(End end, SessionConfig config, const SharedKey& key, const Nonce& nonce)
    : end_(end),
      state_(end == End::initiator ? State::fresh : State::awaiting_hello),
      config_(std::move(config)),
      shared_(key),
      nonce_(nonce) {}

Session::~Session() {
  wipe(send_key_);
  wipe(receive_key_);
}

bool Session::can_send() const noexcept {
  return state_ == State::awaiting_proof || state_ == State::established || state_ == State::closed;
}

base::Status Session::seal(FrameType type, const Message& m, const MacKey& key,
                           std::vector<std::uint8_t>& out) {
  const std::size_t start = out.size();
  out.resize(start + header_size);
  if (base::Status s = encode_payload(m, out); !s) {
    out.resize(start);
    return s;
  }
  const std::size_t length = out.size() - start - header_size;
  const FrameHeader h{.type = type,
                      .length = static_cast<std::uint32_t>(length),
                      .seq = ++sent_seq_,
                      .epoch = epoch_,
                      .incarnation = config_.incarnation};
  encode_header(h, std::span<std::uint8_t, header_size>(out.data() + start, header_size));
  const Mac mac = compute_mac(key, {out.data() + start, header_size + length});
  out.insert(out.end(), mac.begin(), mac.end());
  return base::ok();
}

void Session::write_hello(std::vector<std::uint8_t>& out) {
  MacKey key = hello_key(*shared_);
  // Cannot fail: create() checked the names.
  (void)seal(FrameType::hello, Hello{config_.cluster, config_.node, nonce_}, key, out);
  wipe(key);
  state_ = State::awaiting_welcome;
}

base::Status Session::write(const Message& m, std::vector<std::uint8_t>& out) {
  const FrameType type = type_of(m);
  if (type == FrameType::hello || type == FrameType::welcome || !can_send()) {
    return base::Error{base::Errc::bad_argument,
                       "peer session: cannot send a " + std::string(to_string(type)) +
                           (can_send() ? " (the session sends its own)" : " before the handshake")};
  }
  return seal(type, m, send_key_, out);
}

Checked<Received> Session::fail(Rejection r) {
  rejected_ = std::move(r);
  return *rejected_;
}

std::optional<Rejection> Session::check_seq(const RawFrame& frame) {
  const std::uint64_t seq = frame.header.seq;
  const auto where = [&] {
    return "frame " + std::to_string(frame.index) + ": sequence " + std::to_string(seq);
  };
  if (seq <= received_seq_) {
    return reject(Reason::replayed,
                  where() + ", not above the last accepted " + std::to_string(received_seq_));
  }
  if (seq != received_seq_ + 1) {
    return reject(Reason::reordered,
                  where() + " where " + std::to_string(received_seq_ + 1) + " was due");
  }
  received_seq_ = seq;
  return std::nullopt;
}

std::optional<Rejection> Session::check_cluster(const RawFrame& frame,
                                                const std::string& cluster) const {
  if (cluster == config_.cluster) return std::nullopt;
  return reject(Reason::wrong_cluster, "frame " + std::to_string(frame.index) + ": " +
                                           std::string(to_string(frame.header.type)) +
                                           " from cluster '" + cluster + "', this is '" +
                                           config_.cluster + "'");
}

std::optional<Rejection> Session::check_node(const RawFrame& frame, const std::string& node) const {
  const std::string what = "frame " + std::to_string(frame.index) + ": " +
                           std::string(to_string(frame.header.type)) + " from node '" + node + "'";
  if (node == config_.node) return reject(Reason::unknown_node, what + ", which is this node");
  if (std::find(config_.peers.begin(), config_.peers.end(), node) == config_.peers.end()) {
    return reject(Reason::unknown_node, what + ", not a peer of this node");
  }
  return std::nullopt;
}

Checked<Received> Session::receive(const RawFrame& frame, std::vector<std::uint8_t>& out) {
  if (rejected_) return *rejected_;
  switch (state_) {
    case State::fresh:
      return fail(reject(Reason::unexpected, "frame " + std::to_string(frame.index) + ": " +
                                                 std::string(to_string(frame.header.type)) +
                                                 " before this side's hello"));
    case State::awaiting_hello: return receive_hello(frame, out);
    case State::awaiting_welcome: return receive_welcome(frame);
    case State::awaiting_proof:
    case State::established:
    case State::closed: return receive_keyed(frame);
  }
  return fail(reject(Reason::unexpected, "session in an unknown state"));
}

Checked<Received> Session::receive_hello(const RawFrame& frame, std::vector<std::uint8_t>& out) {
  const FrameType type = frame.header.type;
  if (type != FrameType::hello) {
    return fail(reject(Reason::unexpected, "frame " + std::to_string(frame.index) + ": " +
                                               std::string(to_string(type)) +
                                               " where a hello was due"));
  }
  Checked<Message> m = decode_payload(type, frame.payload);
  if (!m) return fail(m.error());
  const Hello& hello = std::get<Hello>(*m);
  // The cluster first, unauthenticated: another cluster most likely has another key too, and
  // "wrong cluster" says what to fix.
  if (auto r = check_cluster(frame, hello.cluster)) return fail(std::move(*r));
  MacKey key = hello_key(*shared_);
  const bool verified = verify_mac(key, frame.authenticated, frame.mac);
  wipe(key);
  if (!verified) {
    return fail(reject(Reason::wrong_key, "frame " + std::to_string(frame.index) +
                                              ": the hello of node '" + hello.node +
                                              "' is not signed with this cluster's key"));
  }
  if (auto r = check_seq(frame)) return fail(std::move(*r));
  if (auto r = check_node(frame, hello.node)) return fail(std::move(*r));

  peer_node_ = hello.node;
  peer_incarnation_ = frame.header.incarnation;
  SessionKeys keys = derive_session_keys(*shared_, hello.nonce, nonce_);
  send_key_ = keys.responder_to_initiator;
  receive_key_ = keys.initiator_to_responder;
  wipe(keys.responder_to_initiator);
  wipe(keys.initiator_to_responder);
  shared_.reset();
  state_ = State::awaiting_proof;
  (void)seal(FrameType::welcome, Welcome{config_.cluster, config_.node, nonce_}, send_key_, out);
  return Received{frame.header, std::move(*m)};
}

Checked<Received> Session::receive_welcome(const RawFrame& frame) {
  const FrameType type = frame.header.type;
  if (type != FrameType::welcome) {
    return fail(reject(Reason::unexpected, "frame " + std::to_string(frame.index) + ": " +
                                               std::string(to_string(type)) +
                                               " where a welcome was due"));
  }
  Checked<Message> m = decode_payload(type, frame.payload);
  if (!m) return fail(m.error());
  const Welcome& welcome = std::get<Welcome>(*m);
  if (auto r = check_cluster(frame, welcome.cluster)) return fail(std::move(*r));
  SessionKeys keys = derive_session_keys(*shared_, nonce_, welcome.nonce);
  if (!verify_mac(keys.responder_to_initiator, frame.authenticated, frame.mac)) {
    wipe(keys.responder_to_initiator);
    wipe(keys.initiator_to_responder);
    return fail(reject(Reason::wrong_key, "frame " + std::to_string(frame.index) +
                                              ": the welcome of node '" + welcome.node +
                                              "' is not signed with this cluster's key"));
  }
  send_key_ = keys.initiator_to_responder;
  receive_key_ = keys.responder_to_initiator;
  wipe(keys.responder_to_initiator);
  wipe(keys.initiator_to_responder);
  shared_.reset();
  if (auto r = check_seq(frame)) return fail(std::move(*r));
  if (auto r = check_node(frame, welcome.node)) return fail(std::move(*r));

  peer_node_ = welcome.node;
  peer_incarnation_ = frame.header.incarnation;
  state_ = State::established;
  return Received{frame.header, std::move(*m)};
}

Checked<Received> Session::receive_keyed(const RawFrame& frame) {
  // Built only for a rejection: this is the path of every frame.
  const auto where = [&] {
    return "frame " + std::to_string(frame.index) + " (" +
           std::string(to_string(frame.header.type)) + ")";
  };
  if (!verify_mac(receive_key_, frame.authenticated, frame.mac)) {
    return fail(reject(Reason::bad_mac, where() + ": the MAC does not verify"));
  }
  if (auto r = check_seq(frame)) return fail(std::move(*r));
  if (frame.header.incarnation != peer_incarnation_) {
    return fail(reject(Reason::malformed,
                       where() + ": incarnation " + std::to_string(frame.header.incarnation) +
                           " on a connection of incarnation " + std::to_string(peer_incarnation_)));
  }
  const FrameType type = frame.header.type;
  if (state_ == State::closed) {
    return fail(reject(Reason::unexpected, where() + " after the peer's goodbye"));
  }
  if (type == FrameType::hello || type == FrameType::welcome) {
    return fail(reject(Reason::unexpected, where() + " after the handshake"));
  }
  Checked<Message> m = decode_payload(type, frame.payload);
  if (!m) return fail(m.error());
  state_ = type == FrameType::goodbye ? State::closed : State::established;
  return Received{frame.header, std::move(*m)};
}

}  // namespace hamon::peer
