// Connection: one TCP connection of the peer link — the socket, the frame decoder and the
// session (handshake, MACs, sequence numbers), and a send queue. It does what the bytes say and
// tells its owner (the Link) what happened; the owner decides what it means for the peer.
//
// Any rejection ends the connection: the owner hears why (on_closed with the rejection), sends
// nothing more on it, and reconnects or waits to be connected to.
//
// Thread-safety: the link's io_context thread only.
#ifndef HAMON_MONITOR_LINK_CONNECTION_HPP
#define HAMON_MONITOR_LINK_CONNECTION_HPP

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "hamon/peer/frame_decoder.hpp"
#include "hamon/peer/session.hpp"
#include "hamon/peer/snapshot.hpp"

namespace hamon::link {

class Connection;

class ConnectionOwner {
 public:
  // The handshake is done: both ends proved the key; frames may flow.
  virtual void on_established(Connection& c) = 0;
  // A frame accepted after the handshake.
  virtual void on_received(Connection& c, peer::Received received) = 0;
  // The connection is over: `rejection` when this end refused a frame, else `why` says (the peer
  // closed, a socket error, a goodbye). Called once; the connection sends nothing after it.
  virtual void on_closed(Connection& c, const std::string& why,
                         const std::optional<peer::Rejection>& rejection) = 0;

 protected:
  ~ConnectionOwner() = default;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Sending more than this to a peer that does not read ends the connection (it reconnects and
  // gets a snapshot): the link never holds an unbounded backlog.
  static constexpr std::size_t kMaxBacklog = 16u << 20;

  Connection(boost::asio::ip::tcp::socket socket, peer::Session session, std::size_t link,
             std::uint64_t opened_ns, ConnectionOwner& owner);

  // Starts reading; an initiator sends its hello first.
  void start();
  // Queues m for sending. REQUIRES: established() or the session can send.
  void send(const peer::Message& m);
  // Ends the connection; a goodbye is sent first (best effort) when the session can send. The
  // owner's on_closed is called with `why`.
  void close(const std::string& why, std::uint16_t goodbye_reason = 0);

  [[nodiscard]] bool established() const noexcept { return established_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] std::size_t link() const noexcept { return link_; }
  [[nodiscard]] std::uint64_t opened_ns() const noexcept { return opened_ns_; }
  [[nodiscard]] const peer::Session& session() const noexcept { return session_; }
  // The highest tenant epoch this node knows, in the header of every frame sent from now on.
  void set_epoch(std::uint64_t epoch) noexcept { session_.set_epoch(epoch); }
  // The peer's address and port, as connected.
  [[nodiscard]] const std::string& remote() const noexcept { return remote_; }

  // What the owner keeps per connection.
  peer::SnapshotAssembler assembler;
  bool synced = false;                // a whole snapshot has been applied from this connection
  bool told = false;                  // our snapshot went out on it: deltas may follow
  std::uint64_t peer_hb_sent_ns = 0;  // the peer's last heartbeat: its sent_ns ...
  std::uint64_t peer_hb_at_ns = 0;    // ... and when it arrived here
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;

 private:
  void read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void flush();
  void finish(const std::string& why, const std::optional<peer::Rejection>& rejection);

  boost::asio::ip::tcp::socket socket_;
  peer::Session session_;
  peer::FrameDecoder decoder_;
  std::size_t link_;
  std::uint64_t opened_ns_;
  ConnectionOwner& owner_;
  std::vector<std::uint8_t> out_;      // queued, not yet handed to the socket
  std::vector<std::uint8_t> writing_;  // handed to the socket
  std::string remote_;
  bool established_ = false;
  bool closed_ = false;
};

}  // namespace hamon::link

#endif  // HAMON_MONITOR_LINK_CONNECTION_HPP
