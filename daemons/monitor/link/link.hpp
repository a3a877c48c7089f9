// Link: the peer link of this node — the monitor's broadcast of its table to the peer, and the
// peer's table into the control segment's peer region — on its own thread, with Boost.Asio.
//
//   watch loop ──ChangeFeed (SPSC queue + eventfd)──▶ link thread ──TCP, 1 or 2 links──▶ peer
//   other daemons ──event ring──────────────────────▶     │
//                                                         └──▶ peer region (control segment)
//
// The watch loop never touches a socket and never waits for the link: it pushes the slot it
// changed and goes on. The link rereads that slot from the control segment, compares it with
// what the peer was last told and sends the difference as a delta. Changes made by the other
// daemons (the server's backoff, failure, stop) reach it through the event ring every
// peer_interval, and a full comparison every second catches anything else.
//
// The lower node id connects, the other listens; each configured address pair is an independent
// link; the peer is lost only when every link has been silent for peer_timeout (PeerWatch).
//
// Thread-safety: start() and stop() from the monitor's main thread; everything else runs on the
// link's thread.
#ifndef HAMON_MONITOR_LINK_LINK_HPP
#define HAMON_MONITOR_LINK_LINK_HPP

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "change_feed.hpp"
#include "connection.hpp"
#include "link_settings.hpp"
#include "hamon/engine/config.hpp"
#include "hamon/node/local_table.hpp"
#include "hamon/peer/key.hpp"
#include "hamon/peer/peer_watch.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/event_cursor.hpp"
#include "peer_view_writer.hpp"

namespace hamon::link {

class Link final : public ConnectionOwner {
 public:
  Link(LinkSettings settings, const shm::ControlSegment& ctl, ChangeFeed& feed);
  ~Link();
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // Starts the link's thread (with every signal blocked: they are the main thread's).
  void start();
  // Says goodbye on every connection and joins the thread.
  void stop();

  [[nodiscard]] const LinkSettings& settings() const { return s_; }

 private:
  struct LinkSlot {
    std::size_t index = 0;
    engine::HostPort peer_address;  // where we connect (initiator)
    engine::HostPort own_address;   // where we listen (responder)
    std::shared_ptr<Connection> conn;
    std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor;
    std::unique_ptr<boost::asio::steady_timer> retry;
    std::unique_ptr<boost::asio::ip::tcp::resolver> resolver;
    std::shared_ptr<boost::asio::ip::tcp::socket> dialing;  // the connect in progress, if any
    std::uint64_t dial_started_ns = 0;
    std::uint64_t backoff_ns = 0;
    bool connecting = false;
    bool noted = false;  // a listen/connect failure was said once
    shm::PeerLinkInfo totals{};
  };

  // On the link's thread.
  void begin();
  bool load_key();
  void listen(LinkSlot& l);
  void listen_failed(LinkSlot& l, const std::string& why);
  void bind_and_listen(LinkSlot& l, const boost::asio::ip::tcp::endpoint& ep);
  void dial(LinkSlot& l, std::vector<boost::asio::ip::tcp::endpoint> endpoints);
  void accept(LinkSlot& l);
  void connect(LinkSlot& l);
  void retry_later(LinkSlot& l, std::uint64_t delay_ns, void (Link::*what)(LinkSlot&));
  std::optional<peer::Session> new_session(peer::End end);
  void arm_feed();
  void on_feed();
  void wake_on_roles();  // roles_waker_'s loop
  void schedule_tick();
  void on_tick();
  void shutdown();

  // The local table, told to the peer.
  void refresh_process(std::uint32_t slot);
  void refresh_tenant(std::uint32_t group);
  void rescan();
  // The first look at the whole table, a slice per turn of the link's loop, so that the
  // handshake and the heartbeats go out while it is under way (at thousands of processes it
  // takes tens of milliseconds on a fresh process: every page of the segment is faulted in).
  // Snapshots wait for it.
  void first_scan_step();
  // Refreshes the slots and groups whose lines were written since the last look (four sequence
  // words a slot): what no event announced, such as the server seating processes at start-up.
  void scan_versions();
  void scan_groups();  // the group lines only
  void follow_events(std::uint64_t now);
  void flush();
  void send_snapshot(Connection& c);
  void broadcast(const peer::Message& m);

  // The peer's table, received.
  void on_established(Connection& c) override;
  void on_received(Connection& c, peer::Received received) override;
  void on_closed(Connection& c, const std::string& why,
                 const std::optional<peer::Rejection>& rejection) override;
  void on_heartbeat(Connection& c, const peer::Heartbeat& hb, std::uint64_t now);
  void on_snapshot(Connection& c, peer::SnapshotChunk chunk, std::uint64_t now);
  void on_delta(Connection& c, const peer::Delta& d);
  void reject(Connection& c, const peer::Rejection& r);
  void heard(Connection& c, std::uint64_t now);
  void publish();
  void note(shm::EventKind kind, std::int64_t value, const std::string& detail);

  LinkSettings s_;
  const shm::ControlSegment& ctl_;
  ChangeFeed& feed_;
  bool initiator_;
  std::uint64_t incarnation_;
  boost::asio::io_context io_;
  std::thread thread_;
  // Sleeps on the server's doorbell (role_outputs) and has the link send the tenants' lines at
  // once: a futex cannot be waited on by the io_context.
  std::thread roles_waker_;
  std::atomic<bool> waker_stop_{false};
  std::optional<peer::SharedKey> key_;
  bool key_noted_ = false;
  std::uint64_t next_key_try_ns_ = 0;
  std::vector<LinkSlot> links_;
  std::vector<std::shared_ptr<Connection>> handshaking_;  // accepted, peer not known yet
  boost::asio::posix::stream_descriptor feed_fd_;
  boost::asio::steady_timer tick_timer_;
  std::uint64_t next_tick_ns_ = 0;
  std::uint64_t next_rescan_ns_ = 0;
  std::uint64_t next_version_scan_ns_ = 0;
  bool stopping_ = false;

  node::LocalTable table_;
  std::vector<std::optional<peer::ProcessRecord>> sent_;         // by slot: what the peer knows
  std::vector<std::optional<peer::TenantRecord>> sent_tenants_;  // by group index
  std::vector<std::array<std::uint64_t, 4>> slot_versions_;      // by slot: the lines' sequences
  std::vector<std::uint64_t> group_versions_;
  peer::Delta pending_;
  std::uint64_t seq_ = 1;
  bool table_ready_ = false;         // the first scan is done: the table may be told
  std::uint32_t first_scan_at_ = 0;  // the next slot the first scan reads
  shm::EventCursor cursor_;

  PeerViewWriter view_;
  peer::PeerWatch watch_;
  std::optional<std::uint64_t> table_incarnation_;  // the peer link whose table the view holds
  std::uint64_t table_seq_ = 0;
  bool roles_dirty_ = false;  // the peer's state or tenants changed: tell hamon-server
  std::uint64_t epoch_ = 0;   // the highest tenant epoch told: every frame header carries it

  static constexpr std::uint64_t kRejectEventsPerSecond = 10;
  std::uint64_t reject_window_ns_ = 0;
  std::uint64_t rejects_said_ = 0, rejects_unsaid_ = 0;
};

}  // namespace hamon::link

#endif  // HAMON_MONITOR_LINK_LINK_HPP
