#include "link.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>

#include "hamon/node/clock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/daemon_watch.hpp"
#include "hamon/peer/crypto.hpp"
#include "hamon/peer/key_file.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::link {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr std::uint64_t kMs = 1'000'000;
constexpr std::uint64_t kFirstRetryNs = 5 * kMs;     // a restarted peer listens again in ~10 ms
constexpr std::uint64_t kMaxRetryNs = 200 * kMs;     // a down peer costs 5 attempts a second
constexpr std::uint64_t kSlowRetryNs = 1000 * kMs;   // a key or an address that is wrong
constexpr std::uint64_t kRescanNs = 1000 * kMs;      // the full comparison's period
constexpr std::uint64_t kVersionScanNs = 100 * kMs;  // the look at every line's sequence word
// Records per delta: each fits a frame with room to spare (a process record is at most 82 B).
constexpr std::size_t kDeltaRecords = 600;
// Accepted connections still in their handshake: beyond this, the oldest is dropped, so a
// stranger opening connections cannot make the link hold more.
constexpr std::size_t kMaxHandshaking = 16;

shm::PeerState to_shm(peer::PeerVerdict v) {
  switch (v) {
    case peer::PeerVerdict::never_seen: return shm::PeerState::never_seen;
    case peer::PeerVerdict::up: return shm::PeerState::up;
    case peer::PeerVerdict::lost: return shm::PeerState::lost;
  }
  return shm::PeerState::never_seen;
}

std::string ms_text(std::uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  return buf;
}

}  // namespace

Link::Link(LinkSettings settings, const shm::ControlSegment& ctl, ChangeFeed& feed)
    : s_(std::move(settings)),
      ctl_(ctl),
      feed_(feed),
      initiator_(s_.self.id < s_.peer.id),
      incarnation_(node::now_ns()),
      feed_fd_(io_),
      tick_timer_(io_),
      table_(ctl),
      sent_(ctl.max_processes()),
      sent_tenants_(ctl.max_groups()),
      slot_versions_(ctl.max_processes()),
      group_versions_(ctl.max_groups()),
      cursor_(ctl.events(), ctl.events().head()),
      view_(ctl.peer(0)),
      watch_(std::min(s_.self.addresses.size(), s_.peer.addresses.size()), s_.timeout_ns) {
  const std::size_t n =
      std::min({s_.self.addresses.size(), s_.peer.addresses.size(), std::size_t{shm::kMaxLinks}});
  links_.resize(n);
  shm::PeerHeader& h = view_.header();
  const std::string held = shm::read_fixed(h.node);
  if (held == s_.peer.id) {
    // A predecessor's verdict stands until the peer is heard again or its deadline passes.
    watch_.restore(h.state == shm::PeerState::up     ? peer::PeerVerdict::up
                   : h.state == shm::PeerState::lost ? peer::PeerVerdict::lost
                                                     : peer::PeerVerdict::never_seen,
                   h.last_heard_ns);
  } else {
    h = shm::PeerHeader{};
    shm::write_fixed(h.node, s_.peer.id);
    h.state_since_ns = node::now_ns();
  }
  h.side = static_cast<std::uint32_t>(s_.peer.side);
  h.auth = s_.auth == engine::PeerAuth::none ? shm::PeerAuth::none : shm::PeerAuth::key;
  h.link_count = static_cast<std::uint32_t>(n);
  for (std::size_t i = 0; i < n; ++i) {
    links_[i].index = i;
    links_[i].peer_address = s_.peer.addresses[i];
    links_[i].own_address = s_.self.addresses[i];
    links_[i].totals = h.links[i];
    shm::write_fixed(links_[i].totals.address, s_.peer.addresses[i].to_string());
    links_[i].totals.state = shm::LinkState::down;
  }
  view_.publish();
  (void)keep_settings(ctl_, s_);
}

Link::~Link() { stop(); }

void Link::start() {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "hamon-link");  // for top -H and the link's CPU figure
    // A handler that throws (an allocation that fails, say) must not take the watch loop's
    // process down with it: say so and go on serving.
    for (bool first = true;; first = false) {
      try {
        if (first) begin();
        io_.run();
        return;
      } catch (const std::exception& e) {
        note(shm::EventKind::note, 0, std::string("peer link: ") + e.what() + " (it goes on)");
      }
    }
  });
  roles_waker_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "hamon-link-wake");
    wake_on_roles();
  });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void Link::stop() {
  if (roles_waker_.joinable()) {
    waker_stop_.store(true, std::memory_order_seq_cst);
    // ring() wakes only a sleeper, and this one may be on its way to sleep: its wait ends
    // within the timeout below at worst.
    ctl_.peer(0).role_outputs().fetch_add(1, std::memory_order_release);
    ctl_.peer(0).link_bell().ring();
    roles_waker_.join();
  }
  if (!thread_.joinable()) return;
  asio::post(io_, [this] { shutdown(); });
  thread_.join();
}

void Link::wake_on_roles() {
  std::atomic<std::uint64_t>& outputs = ctl_.peer(0).role_outputs();
  std::uint64_t seen = outputs.load(std::memory_order_acquire);
  while (!waker_stop_.load(std::memory_order_relaxed)) {
    const bool changed = ctl_.peer(0).link_bell().wait(
        [&] {
          return outputs.load(std::memory_order_acquire) != seen ||
                 waker_stop_.load(std::memory_order_relaxed);
        },
        std::chrono::milliseconds(100), 0);
    if (!changed || waker_stop_.load(std::memory_order_relaxed)) continue;
    seen = outputs.load(std::memory_order_acquire);
    asio::post(io_, [this] {
      if (stopping_ || !table_ready_) return;
      scan_groups();
      flush();
    });
  }
}

void Link::shutdown() {
  stopping_ = true;
  for (auto& l : links_) {
    if (l.conn) l.conn->close("hamon-monitor stops");
  }
  for (auto& c : handshaking_) c->close("hamon-monitor stops");
  publish();
  io_.stop();
}

void Link::note(shm::EventKind kind, std::int64_t value, const std::string& detail) {
  if (kind == shm::EventKind::frame_rejected) {
    // Anyone who reaches the port can make rejections: count them all, but let them take only a
    // few of the ring's entries, or they would push the node's own events out.
    const std::uint64_t now = node::now_ns();
    if (now >= reject_window_ns_ + 1'000'000'000) {
      if (rejects_unsaid_ > 0) {
        node::post_event(ctl_, shm::DaemonId::monitor,
                         {.kind = kind,
                          .name = s_.peer.id,
                          .detail = std::to_string(rejects_unsaid_) +
                                    " more rejected frames in the last second (counted)"});
      }
      reject_window_ns_ = now;
      rejects_said_ = rejects_unsaid_ = 0;
    }
    if (++rejects_said_ > kRejectEventsPerSecond) {
      ++rejects_unsaid_;
      return;
    }
  }
  node::post_event(ctl_, shm::DaemonId::monitor,
                   {.kind = kind, .name = s_.peer.id, .value = value, .detail = detail});
  std::fprintf(stderr, "hamon-monitor: peer %s: %s%s%s\n", s_.peer.id.c_str(), to_string(kind),
               detail.empty() ? "" : ": ", detail.c_str());
}

bool Link::load_key() {
  if (key_) return true;
  if (s_.auth == engine::PeerAuth::none) {
    // auth = "none": the same protocol under a key everyone knows — frames are still checked
    // for corruption, replay and order, but anyone who can reach the port can forge them.
    const std::array<std::uint8_t, peer::key_size> zero{};
    key_.emplace(std::span<const std::uint8_t, peer::key_size>(zero));
    return true;
  }
  auto k = peer::load_key_file(s_.key_path);
  if (!k) {
    if (!key_noted_) {
      note(shm::EventKind::note, 0,
           "peer link waits for its key: " + k.error().message + " (retried every second)");
      key_noted_ = true;
    }
    return false;
  }
  key_.emplace(std::move(k).value());
  return true;
}

void Link::begin() {
  // Connect first: the peer hears us while the table is read (first_scan_step).
  if (load_key()) {
    for (auto& l : links_) initiator_ ? connect(l) : listen(l);
  }
  asio::post(io_, [this] { first_scan_step(); });
  next_rescan_ns_ = node::now_ns() + kRescanNs;
  arm_feed();
  next_tick_ns_ = node::now_ns();
  schedule_tick();
}

void Link::first_scan_step() {
  if (stopping_ || table_ready_) return;
  constexpr std::uint32_t kSlice = 512;
  if (first_scan_at_ == 0) {
    table_.forget_groups();
    for (std::uint32_t g = 0; g < sent_tenants_.size(); ++g) {
      group_versions_[g] = ctl_.group(g).info.version();
      refresh_tenant(g);
    }
  }
  const auto end = static_cast<std::uint32_t>(
      std::min<std::size_t>(sent_.size(), std::size_t{first_scan_at_} + kSlice));
  for (; first_scan_at_ < end; ++first_scan_at_) {
    // The lines' sequences before the look: a write after it shows at the next version scan.
    const shm::ProcessSlot& p = ctl_.process(first_scan_at_);
    slot_versions_[first_scan_at_] = {p.identity.version(), p.spawn.version(), p.watch.version(),
                                      p.supervise.version()};
    refresh_process(first_scan_at_);
  }
  if (first_scan_at_ < sent_.size()) {
    asio::post(io_, [this] { first_scan_step(); });
    return;
  }
  // What the peer is told first, in each connection's snapshot: the whole table as it is now,
  // and nothing before it.
  table_ready_ = true;
  pending_ = {};
  for (auto& l : links_) {
    if (l.conn && l.conn->established() && !l.conn->closed() && !l.conn->told) {
      send_snapshot(*l.conn);
    }
  }
}

std::optional<peer::Session> Link::new_session(peer::End end) {
  if (!key_) return std::nullopt;
  auto s = peer::Session::create(end, {s_.cluster, s_.self.id, {s_.peer.id}, incarnation_}, *key_,
                                 peer::random_nonce());
  if (!s) {
    note(shm::EventKind::note, 0, "peer link: " + s.error().message);
    return std::nullopt;
  }
  return std::move(s).value();
}

void Link::retry_later(LinkSlot& l, std::uint64_t delay_ns, void (Link::*what)(LinkSlot&)) {
  if (stopping_) return;
  if (!l.retry) l.retry = std::make_unique<asio::steady_timer>(io_);
  l.retry->expires_after(std::chrono::nanoseconds(delay_ns));
  l.retry->async_wait([this, &l, what](const boost::system::error_code& ec) {
    if (!ec && !stopping_) (this->*what)(l);
  });
}

void Link::listen(LinkSlot& l) {
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(l.own_address.host, ec);
  if (!ec) {
    bind_and_listen(l, tcp::endpoint(addr, l.own_address.port));
    return;
  }
  // A name: looked up (passive, as for a server), then bound.
  if (!l.resolver) l.resolver = std::make_unique<tcp::resolver>(io_);
  l.resolver->async_resolve(
      l.own_address.host, std::to_string(l.own_address.port), tcp::resolver::passive,
      [this, &l](const boost::system::error_code& rec, tcp::resolver::results_type results) {
        if (stopping_) return;
        if (rec || results.empty()) {
          listen_failed(l, rec ? rec.message() : std::string("no address"));
          return;
        }
        bind_and_listen(l, results.begin()->endpoint());
      });
}

void Link::listen_failed(LinkSlot& l, const std::string& why) {
  if (!l.noted) {
    note(shm::EventKind::note, static_cast<std::int64_t>(l.index),
         "peer link " + std::to_string(l.index) + " cannot listen on " + l.own_address.to_string() +
             ": " + why + " (retried every second)");
    l.noted = true;
  }
  retry_later(l, kSlowRetryNs, &Link::listen);
}

void Link::bind_and_listen(LinkSlot& l, const tcp::endpoint& ep) {
  boost::system::error_code ec;
  auto a = std::make_unique<tcp::acceptor>(io_);
  a->open(ep.protocol(), ec);
  // A restarted monitor binds at once, whatever its predecessor's connections left behind.
  if (!ec) a->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a->bind(ep, ec);
  if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    listen_failed(l, ec.message());
    return;
  }
  l.noted = false;
  l.acceptor = std::move(a);
  accept(l);
}

void Link::accept(LinkSlot& l) {
  l.acceptor->async_accept([this, &l](const boost::system::error_code& ec, tcp::socket socket) {
    if (stopping_) return;
    if (ec) {
      if (ec != asio::error::operation_aborted) retry_later(l, kFirstRetryNs, &Link::accept);
      return;
    }
    if (auto session = new_session(peer::End::responder)) {
      auto c = std::make_shared<Connection>(std::move(socket), std::move(*session), l.index,
                                            node::now_ns(), *this);
      if (handshaking_.size() >= kMaxHandshaking) {
        // Evict the oldest that has not shown the key (its hello's MAC): a stranger opening
        // connections must not push the real peer's out before its proof arrives.
        auto victim = std::find_if(handshaking_.begin(), handshaking_.end(),
                                   [](const auto& h) { return !h->session().can_send(); });
        if (victim == handshaking_.end()) victim = handshaking_.begin();
        (*victim)->close("too many connections waiting for a handshake");
        handshaking_.erase(victim);
      }
      handshaking_.push_back(c);
      c->start();
    }
    accept(l);
  });
}

void Link::connect(LinkSlot& l) {
  if (stopping_ || l.connecting || (l.conn && !l.conn->closed())) return;
  l.connecting = true;
  l.dial_started_ns = node::now_ns();
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(l.peer_address.host, ec);
  if (!ec) {
    // An address needs no lookup (and must not wait behind another link's).
    dial(l, {tcp::endpoint(addr, l.peer_address.port)});
    return;
  }
  if (!l.resolver) l.resolver = std::make_unique<tcp::resolver>(io_);
  l.resolver->async_resolve(
      l.peer_address.host, std::to_string(l.peer_address.port),
      [this, &l](const boost::system::error_code& rec, tcp::resolver::results_type results) {
        if (stopping_) return;
        if (rec || results.empty()) {
          l.connecting = false;
          if (!l.noted) {
            note(shm::EventKind::note, static_cast<std::int64_t>(l.index),
                 "peer link " + std::to_string(l.index) + ": " + l.peer_address.host + ": " +
                     (rec ? rec.message() : std::string("no address")));
            l.noted = true;
          }
          retry_later(l, kSlowRetryNs, &Link::connect);
          return;
        }
        std::vector<tcp::endpoint> eps;
        for (const auto& r : results) eps.push_back(r.endpoint());
        dial(l, std::move(eps));
      });
}

void Link::dial(LinkSlot& l, std::vector<tcp::endpoint> endpoints) {
  auto socket = std::make_shared<tcp::socket>(io_);
  l.dialing = socket;
  asio::async_connect(
      *socket, endpoints,
      [this, &l, socket](const boost::system::error_code& cec, const tcp::endpoint&) {
        l.connecting = false;
        l.dialing.reset();
        if (stopping_) return;
        if (cec) {
          l.backoff_ns = std::clamp(l.backoff_ns * 2, kFirstRetryNs, kMaxRetryNs);
          retry_later(l, l.backoff_ns, &Link::connect);
          return;
        }
        l.noted = false;
        auto session = new_session(peer::End::initiator);
        if (!session) {
          retry_later(l, kSlowRetryNs, &Link::connect);
          return;
        }
        l.conn = std::make_shared<Connection>(std::move(*socket), std::move(*session), l.index,
                                              node::now_ns(), *this);
        l.totals.state = shm::LinkState::connecting;
        l.conn->start();
      });
}

void Link::arm_feed() {
  if (stopping_) return;
  boost::system::error_code ec;
  const int fd = ::dup(feed_.fd());
  if (fd >= 0) feed_fd_.assign(fd, ec);
  if (fd < 0 || ec) {
    // Without the wake-up, changes still go out every peer_interval (on_tick drains the feed).
    note(shm::EventKind::note, 0,
         "peer link: no wake-up from the watch loop; changes go out "
         "every peer_interval");
    if (fd >= 0 && ec) ::close(fd);
    return;
  }
  // Anything queued before the link first armed; on_feed starts the wait.
  asio::post(io_, [this] { on_feed(); });
}

void Link::on_feed() {
  if (stopping_) return;
  feed_.clear();
  // A bounded batch: a producer that keeps up must not keep the link from its heartbeats.
  constexpr std::size_t kBatch = 4096;
  std::size_t seen = 0;
  bool overflowed = false;
  do {
    overflowed |= feed_.drain(
        [this, &seen](std::uint32_t slot) {
          ++seen;
          refresh_process(slot);
        },
        kBatch - std::min(seen, kBatch - 1));
    if (seen >= kBatch) break;
  } while (!feed_.arm());
  if (overflowed) rescan();
  flush();
  if (seen >= kBatch) {
    asio::post(io_, [this] { on_feed(); });  // the rest after what else is due
    return;
  }
  if (!feed_fd_.is_open()) return;
  feed_fd_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [this](const boost::system::error_code& ec) {
                        if (!ec) on_feed();
                      });
}

void Link::schedule_tick() {
  if (stopping_) return;
  next_tick_ns_ += s_.interval_ns;
  const std::uint64_t now = node::now_ns();
  if (next_tick_ns_ < now) next_tick_ns_ = now;  // late: do not run a burst of ticks
  tick_timer_.expires_after(std::chrono::nanoseconds(next_tick_ns_ - now));
  tick_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) on_tick();
  });
}

void Link::on_tick() {
  if (stopping_) return;
  const std::uint64_t now = node::now_ns();
  if (!key_ && now >= next_key_try_ns_) {
    next_key_try_ns_ = now + kSlowRetryNs;
    if (load_key()) {
      for (auto& l : links_) initiator_ ? connect(l) : listen(l);
    }
  }
  // Heartbeats first, before the table work below, which can take a while. On every link that
  // is up — but not for a watch loop that has stopped turning for as long as its master would
  // take it for hung: the peer must not hear "alive" from a node that no longer watches its
  // processes. (Not peer_timeout: adopting thousands of processes
  // after a restart legitimately holds the loop for a while, and so may a loaded machine.)
  const std::uint64_t watch_beat =
      ctl_.daemon(shm::DaemonId::monitor).heartbeat_ns.load(std::memory_order_relaxed);
  const bool watching = watch_beat + node::hang_limit_ns(shm::DaemonId::monitor) > now;
  for (auto& l : links_) {
    if (!watching) break;
    if (!l.conn || !l.conn->established() || l.conn->closed()) continue;
    peer::Heartbeat hb;
    hb.sent_ns = now;
    hb.echo_sent_ns = l.conn->peer_hb_sent_ns;
    hb.echo_held_ns = l.conn->peer_hb_sent_ns != 0 ? now - l.conn->peer_hb_at_ns : 0;
    hb.state_seq = seq_;
    l.conn->send(hb);
  }
  // What the watch loop queued (normally taken at once, on its wake-up), the changes the other
  // daemons made, and the full comparison that catches anything else.
  if (feed_.drain([this](std::uint32_t slot) { refresh_process(slot); }, 4096)) rescan();
  follow_events(now);
  // The tenants' lines every turn (a few dozen words): a role, an epoch, a switchover asked
  // here go out within a peer_interval.
  if (table_ready_) scan_groups();
  if (now >= next_rescan_ns_) {
    rescan();
    next_rescan_ns_ = now + kRescanNs;
  } else if (now >= next_version_scan_ns_ && table_ready_) {
    scan_versions();
    next_version_scan_ns_ = now + kVersionScanNs;
  }
  flush();
  // Silence: a link quiet for peer_timeout is dropped (TCP keeps a blackholed connection open
  // for minutes); the peer is lost when every link is.
  const auto verdict = watch_.tick(now);
  for (const std::size_t i : verdict.silent) {
    if (i < links_.size() && links_[i].conn && !links_[i].conn->closed()) {
      links_[i].conn->close("silent for " + ms_text(now - watch_.last_heard(i)));
    }
  }
  if (verdict.lost) {
    auto& h = view_.header();
    h.state = shm::PeerState::lost;
    h.state_since_ns = now;
    ++h.peer_losses;
    roles_dirty_ = true;
    note(shm::EventKind::peer_lost, static_cast<std::int64_t>(now - watch_.last_heard()),
         "every link silent for " + ms_text(now - watch_.last_heard()));
  }
  // A connect or a name lookup that hangs (a peer whose SYNs are dropped: TCP would try for
  // minutes) is given up after peer_timeout and tried again.
  for (auto& l : links_) {
    if (l.connecting && now - l.dial_started_ns >= s_.timeout_ns) {
      boost::system::error_code ignored;
      if (l.dialing) l.dialing->close(ignored);  // its handler retries, with backoff
      if (l.resolver) l.resolver->cancel();
    }
  }
  // Connections that never finish their handshake.
  auto overdue = [&](const std::shared_ptr<Connection>& c) {
    return c && !c->closed() && !c->established() && now - c->opened_ns() >= s_.timeout_ns;
  };
  for (auto& l : links_) {
    if (overdue(l.conn)) l.conn->close("no handshake within " + ms_text(s_.timeout_ns));
  }
  for (auto& c : std::vector(handshaking_)) {
    if (overdue(c)) c->close("no handshake within " + ms_text(s_.timeout_ns));
  }
  std::erase_if(handshaking_, [](const auto& c) { return c->closed() || c->established(); });
  publish();
  schedule_tick();
}

// ---- the local table ----------------------------------------------------------------------

void Link::refresh_process(std::uint32_t slot) {
  if (slot >= sent_.size()) return;
  peer::ProcessRecord r;
  const auto look = table_.process(slot, r);
  if (look == node::LocalTable::Look::unreadable) return;  // not a change: the next look decides
  std::optional<peer::ProcessRecord> now;
  if (look == node::LocalTable::Look::present) now = std::move(r);
  auto& was = sent_[slot];
  if (now == was) return;
  // The peer knows processes by name: a slot that now holds another (a reload reseated it) or
  // none means the old one is gone there.
  if (was && (!now || now->group != was->group || now->name != was->name)) {
    peer::ProcessRecord gone = *was;
    gone.state = peer::ProcessState::removed;
    pending_.processes.push_back(std::move(gone));
  }
  if (now) pending_.processes.push_back(*now);
  was = std::move(now);
}

void Link::refresh_tenant(std::uint32_t group) {
  if (group >= sent_tenants_.size()) return;
  auto now = table_.tenant(group);
  if (now == sent_tenants_[group]) return;
  // A tenant record has no "removed" on the wire: a tenant that went is left out of the next
  // snapshot.
  if (now) {
    pending_.tenants.push_back(*now);
    if (now->epoch > epoch_) {
      // Every frame carries the highest epoch this node knows (docs/peer-protocol.md).
      epoch_ = now->epoch;
      for (auto& l : links_) {
        if (l.conn) l.conn->set_epoch(epoch_);
      }
    }
  }
  sent_tenants_[group] = std::move(now);
}

void Link::rescan() {
  if (!table_ready_) {
    first_scan_at_ = 0;  // the first scan starts over: what it read may have changed
    return;
  }
  table_.forget_groups();  // a reload may have added or renamed groups
  for (std::uint32_t g = 0; g < sent_tenants_.size(); ++g) refresh_tenant(g);
  for (std::uint32_t s = 0; s < sent_.size(); ++s) refresh_process(s);
}

void Link::scan_groups() {
  for (std::uint32_t g = 0; g < group_versions_.size(); ++g) {
    const std::uint64_t v = ctl_.group(g).info.version();
    if (v != group_versions_[g]) {
      group_versions_[g] = v;
      table_.forget_groups();  // a group's name may have changed with it
      refresh_tenant(g);
    }
  }
}

void Link::scan_versions() {
  scan_groups();
  for (std::uint32_t s = 0; s < slot_versions_.size(); ++s) {
    const shm::ProcessSlot& p = ctl_.process(s);
    const std::array<std::uint64_t, 4> v{p.identity.version(), p.spawn.version(), p.watch.version(),
                                         p.supervise.version()};
    if (v != slot_versions_[s]) {
      slot_versions_[s] = v;
      refresh_process(s);
    }
  }
}

void Link::follow_events(std::uint64_t now) {
  shm::Event e;
  bool everything = false;
  bool tenants = false;
  for (int n = 0; n < 4096; ++n) {
    const auto step = cursor_.next(e, now);
    if (step.kind == shm::EventCursor::Kind::caught_up ||
        step.kind == shm::EventCursor::Kind::pending) {
      break;
    }
    if (step.kind == shm::EventCursor::Kind::lost) {
      // The ring lapped us: changes we did not see. Our own record of what the peer knows is
      // whole, so comparing everything again sends exactly what changed.
      everything = true;
      continue;
    }
    if (e.kind == shm::EventKind::config_loaded) {
      everything = true;
    } else if (e.kind == shm::EventKind::role_changed) {
      tenants = true;  // a role, an epoch: the tenants' records only
    } else if (e.slot != UINT32_MAX && !everything) {
      refresh_process(e.slot);
    }
  }
  if (everything) {
    rescan();  // once, however many events asked for it
  } else if (tenants) {
    for (std::uint32_t g = 0; g < sent_tenants_.size(); ++g) refresh_tenant(g);
  }
}

void Link::flush() {
  // Before the first scan is done, nothing has been told: the snapshot will hold it all.
  if (!table_ready_ || (pending_.processes.empty() && pending_.tenants.empty())) return;
  std::size_t p = 0, t = 0;
  while (p < pending_.processes.size() || t < pending_.tenants.size()) {
    peer::Delta d;
    d.state_seq = ++seq_;
    while (t < pending_.tenants.size() && d.tenants.size() < kDeltaRecords) {
      d.tenants.push_back(std::move(pending_.tenants[t++]));
    }
    while (p < pending_.processes.size() && d.tenants.size() + d.processes.size() < kDeltaRecords) {
      d.processes.push_back(std::move(pending_.processes[p++]));
    }
    broadcast(d);
  }
  pending_ = {};
}

void Link::broadcast(const peer::Message& m) {
  for (auto& l : links_) {
    if (l.conn && l.conn->established() && !l.conn->closed() && l.conn->told) l.conn->send(m);
  }
}

void Link::send_snapshot(Connection& c) {
  if (!table_ready_) return;  // first_scan_step sends it when the table is whole
  flush();                    // the snapshot is the state as of seq_: nothing may be pending
  peer::Table t;
  t.state_seq = seq_;
  for (const auto& r : sent_tenants_) {
    if (r) t.tenants.push_back(*r);
  }
  for (const auto& r : sent_) {
    if (r) t.processes.push_back(*r);
  }
  for (auto& chunk : peer::split_snapshot(t)) c.send(chunk);
  c.told = true;
}

// ---- the peer's side ----------------------------------------------------------------------

void Link::on_established(Connection& c) {
  const std::uint64_t now = node::now_ns();
  if (c.link() >= links_.size()) return;
  LinkSlot& l = links_[c.link()];
  // An accepted connection becomes the link's; the one it replaces is from the peer's
  // predecessor, or stale.
  auto it = std::find_if(handshaking_.begin(), handshaking_.end(),
                         [&](const auto& h) { return h.get() == &c; });
  if (it != handshaking_.end()) {
    auto fresh = *it;
    handshaking_.erase(it);
    if (l.conn && l.conn.get() != &c && !l.conn->closed()) {
      l.conn->close("replaced by a new connection from the peer");
    }
    l.conn = std::move(fresh);
  }
  // A connection that completed its handshake now comes from a live peer; one on another link
  // from another incarnation of the peer's link comes from its dead predecessor: what it may
  // still deliver must not replace the live one's table.
  for (auto& other : links_) {
    if (other.conn && other.conn.get() != &c && !other.conn->closed() &&
        other.conn->established() &&
        other.conn->session().peer_incarnation() != c.session().peer_incarnation()) {
      other.conn->close("the peer restarted: its predecessor's connection");
    }
  }
  c.set_epoch(epoch_);
  l.totals.state = shm::LinkState::up;
  l.totals.up_since_ns = now;
  ++l.totals.connects;
  heard(c, now);
  note(shm::EventKind::link_up, static_cast<std::int64_t>(c.link()),
       "link " + std::to_string(c.link()) + (initiator_ ? " connected to " : " accepted from ") +
           c.remote());
  send_snapshot(c);
}

void Link::heard(Connection& c, std::uint64_t now) {
  if (c.link() >= links_.size()) return;
  links_[c.link()].totals.last_heard_ns = now;
  if (watch_.heard(c.link(), now)) {
    auto& h = view_.header();
    h.state = shm::PeerState::up;
    h.state_since_ns = now;
    note(shm::EventKind::peer_up, static_cast<std::int64_t>(c.link()),
         "heard on link " + std::to_string(c.link()));
    roles_dirty_ = true;
    publish();
  }
}

void Link::on_received(Connection& c, peer::Received received) {
  const std::uint64_t now = node::now_ns();
  heard(c, now);
  std::visit(
      [&](auto&& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, peer::Heartbeat>) {
          on_heartbeat(c, m, now);
        } else if constexpr (std::is_same_v<T, peer::SnapshotChunk>) {
          on_snapshot(c, std::forward<decltype(m)>(m), now);
        } else if constexpr (std::is_same_v<T, peer::Delta>) {
          on_delta(c, m);
        } else if constexpr (std::is_same_v<T, peer::Resync>) {
          send_snapshot(c);
        }
      },
      received.message);
}

void Link::on_heartbeat(Connection& c, const peer::Heartbeat& hb, std::uint64_t now) {
  c.peer_hb_sent_ns = hb.sent_ns;
  c.peer_hb_at_ns = now;
  LinkSlot& l = links_[c.link()];
  if (hb.echo_sent_ns != 0 && now >= hb.echo_sent_ns + hb.echo_held_ns) {
    l.totals.rtt_ns = now - hb.echo_sent_ns - hb.echo_held_ns;
  }
  // The peer is further along than anything this connection brought: a delta went missing.
  if (c.synced && !c.assembler.in_progress() &&
      table_incarnation_ == c.session().peer_incarnation() && hb.state_seq > table_seq_) {
    c.synced = false;
    c.send(peer::Resync{table_seq_});
  }
}

void Link::on_snapshot(Connection& c, peer::SnapshotChunk chunk, std::uint64_t now) {
  auto done = c.assembler.add(std::move(chunk));
  if (!done) {
    reject(c, done.error());
    return;
  }
  if (!*done) return;
  peer::Table& t = **done;
  const std::uint64_t inc = c.session().peer_incarnation();
  if (table_incarnation_ != inc || t.state_seq > table_seq_) {
    view_.replace(t);
    table_incarnation_ = inc;
    table_seq_ = t.state_seq;
    auto& h = view_.header();
    h.incarnation = inc;
    h.snapshot_ns = now;
    roles_dirty_ = true;
    ++h.snapshots;
    publish();
  }
  c.synced = true;
}

void Link::on_delta(Connection& c, const peer::Delta& d) {
  if (!c.synced || table_incarnation_ != c.session().peer_incarnation()) return;
  if (d.state_seq <= table_seq_) return;  // already applied from the other link
  if (d.state_seq != table_seq_ + 1) {
    c.synced = false;
    c.send(peer::Resync{table_seq_});
    return;
  }
  view_.apply(d);
  table_seq_ = d.state_seq;
  ++view_.header().deltas;
  roles_dirty_ |= !d.tenants.empty();
  publish();
}

void Link::reject(Connection& c, const peer::Rejection& r) {
  // Counted and said by on_closed, which close() calls.
  c.close(r.message(), static_cast<std::uint16_t>(r.reason));
  auto& h = view_.header();
  ++h.rejected;
  shm::write_fixed(h.last_reject, r.message());
  note(shm::EventKind::frame_rejected, static_cast<std::int64_t>(r.reason),
       r.message() + " from " + c.remote());
}

void Link::on_closed(Connection& c, const std::string& why,
                     const std::optional<peer::Rejection>& rejection) {
  const std::uint64_t now = node::now_ns();
  if (rejection) {
    auto& h = view_.header();
    ++h.rejected;
    shm::write_fixed(h.last_reject, rejection->message());
    note(shm::EventKind::frame_rejected, static_cast<std::int64_t>(rejection->reason),
         rejection->message() + " from " + c.remote());
  }
  if (c.link() >= links_.size()) return;
  LinkSlot& l = links_[c.link()];
  if (l.conn.get() != &c) return;  // a handshaking or replaced connection: not the link's
  l.totals.frames_in += c.frames_in;
  l.totals.frames_out += c.frames_out;
  l.totals.bytes_in += c.bytes_in;
  l.totals.bytes_out += c.bytes_out;
  const bool was_up = c.established();
  l.totals.state = shm::LinkState::down;
  if (was_up && !stopping_) {
    note(shm::EventKind::link_down, static_cast<std::int64_t>(c.link()),
         "link " + std::to_string(c.link()) + ": " + (rejection ? rejection->message() : why));
  }
  // Keep the object alive until the handlers running now return.
  asio::post(io_, [old = std::move(l.conn)] {});
  if (initiator_ && !stopping_) {
    // At once after a connection that served for a while (the peer restarted); with backoff
    // after one that ended soon after its handshake, or never made it: the peer refuses us, and
    // reconnecting at the speed of a round trip would only spin.
    const bool served = was_up && now - l.totals.up_since_ns >= s_.timeout_ns;
    l.backoff_ns = served ? 0 : std::clamp(l.backoff_ns * 2, kFirstRetryNs, kMaxRetryNs);
    if (l.backoff_ns == 0) {
      asio::post(io_, [this, &l] { connect(l); });
    } else {
      retry_later(l, l.backoff_ns, &Link::connect);
    }
  }
  publish();
}

void Link::publish() {
  auto& h = view_.header();
  h.state = to_shm(watch_.verdict());
  h.last_heard_ns = watch_.last_heard();
  for (std::size_t i = 0; i < links_.size(); ++i) {
    const LinkSlot& l = links_[i];
    shm::PeerLinkInfo info = l.totals;
    if (l.conn && !l.conn->closed()) {
      info.state = l.conn->established() ? shm::LinkState::up : shm::LinkState::connecting;
      info.frames_in += l.conn->frames_in;
      info.frames_out += l.conn->frames_out;
      info.bytes_in += l.conn->bytes_in;
      info.bytes_out += l.conn->bytes_out;
    } else if (l.connecting) {
      info.state = shm::LinkState::connecting;
    } else {
      info.state = shm::LinkState::down;
    }
    h.links[i] = info;
  }
  view_.publish();
  if (std::exchange(roles_dirty_, false)) {
    // What hamon-server decides roles on changed: it reads the region again at once.
    ctl_.peer(0).role_inputs().fetch_add(1, std::memory_order_release);
    ctl_.daemon(shm::DaemonId::server).inbox.ring();
  }
}

}  // namespace hamon::link
