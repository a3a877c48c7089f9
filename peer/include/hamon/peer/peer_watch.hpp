// PeerWatch: decides, from when each link last heard the peer, whether the peer is up or lost,
// and which links have fallen silent. Pure: time is passed in.
//
//   never seen ──heard──▶ up ──every link silent for timeout──▶ lost ──heard──▶ up
//
// A closed connection is not a verdict: only silence is. A link that is silent for the timeout
// is reported once (its connection should be dropped: a blackholed TCP connection stays open
// for minutes), and the peer is lost once every link has been silent that long.
//
// Thread-safety: none; owned by the link's thread.
#ifndef HAMON_PEER_PEER_WATCH_HPP
#define HAMON_PEER_PEER_WATCH_HPP

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hamon::peer {

enum class PeerVerdict : std::uint8_t { never_seen, up, lost };

class PeerWatch {
 public:
  // REQUIRES: links >= 1, timeout_ns > 0.
  PeerWatch(std::size_t links, std::uint64_t timeout_ns);

  // Takes over a predecessor's verdict (a restarted link): the peer stays up until `last_heard`
  // + timeout unless heard again, so restarts cannot postpone the verdict.
  void restore(PeerVerdict verdict, std::uint64_t last_heard_ns) noexcept;

  // A frame was accepted on `link` at `now`. True when this makes the peer up (it was never seen
  // or lost): a peer-up.
  bool heard(std::size_t link, std::uint64_t now) noexcept;

  struct Tick {
    bool lost = false;                // the peer has just been declared lost
    std::vector<std::size_t> silent;  // links that have just gone silent for the timeout
  };
  [[nodiscard]] Tick tick(std::uint64_t now);

  [[nodiscard]] PeerVerdict verdict() const noexcept { return verdict_; }
  // The last frame heard on any link (0: never).
  [[nodiscard]] std::uint64_t last_heard() const noexcept { return last_heard_; }
  [[nodiscard]] std::uint64_t last_heard(std::size_t link) const noexcept {
    return links_[link].last_heard;
  }
  // When tick() may next have something to say: UINT64_MAX if never.
  [[nodiscard]] std::uint64_t next_deadline() const noexcept;

 private:
  struct Link {
    std::uint64_t last_heard = 0;
    bool silent = true;  // reported silent (or never heard)
  };
  std::vector<Link> links_;
  std::uint64_t timeout_;
  std::uint64_t last_heard_ = 0;
  PeerVerdict verdict_ = PeerVerdict::never_seen;
};

}  // namespace hamon::peer

#endif  // HAMON_PEER_PEER_WATCH_HPP
