#include "hamon/peer/peer_watch.hpp"

#include <algorithm>

namespace hamon::peer {

PeerWatch::PeerWatch(std::size_t links, std::uint64_t timeout_ns)
    : links_(std::max<std::size_t>(links, 1)), timeout_(std::max<std::uint64_t>(timeout_ns, 1)) {}

void PeerWatch::restore(PeerVerdict verdict, std::uint64_t last_heard_ns) noexcept {
  verdict_ = verdict;
  last_heard_ = last_heard_ns;
  // The links' connections died with the predecessor; the peer's liveness carries over.
  for (Link& l : links_) {
    l.last_heard = last_heard_ns;
    l.silent = true;
  }
}

bool PeerWatch::heard(std::size_t link, std::uint64_t now) noexcept {
  if (link >= links_.size()) return false;
  links_[link].last_heard = std::max(links_[link].last_heard, now);
  links_[link].silent = false;
  last_heard_ = std::max(last_heard_, now);
  if (verdict_ == PeerVerdict::up) return false;
  verdict_ = PeerVerdict::up;
  return true;
}

PeerWatch::Tick PeerWatch::tick(std::uint64_t now) {
  Tick t;
  for (std::size_t i = 0; i < links_.size(); ++i) {
    Link& l = links_[i];
    if (!l.silent && now >= l.last_heard + timeout_) {
      l.silent = true;
      t.silent.push_back(i);
    }
  }
  if (verdict_ == PeerVerdict::up && now >= last_heard_ + timeout_) {
    verdict_ = PeerVerdict::lost;
    t.lost = true;
  }
  return t;
}

std::uint64_t PeerWatch::next_deadline() const noexcept {
  std::uint64_t next = UINT64_MAX;
  for (const Link& l : links_) {
    if (!l.silent) next = std::min(next, l.last_heard + timeout_);
  }
  if (verdict_ == PeerVerdict::up) next = std::min(next, last_heard_ + timeout_);
  return next;
}

}  // namespace hamon::peer
