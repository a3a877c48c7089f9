// ControlSegment: the node's control segment, created once per node by its first daemon and
// attached by the others and by the CLI. See control_layout.hpp for the map.
#ifndef HAMON_SHM_CONTROL_SEGMENT_HPP
#define HAMON_SHM_CONTROL_SEGMENT_HPP

#include <string>
#include <string_view>

#include "hamon/shm/control_layout.hpp"
#include "hamon/shm/result.hpp"
#include "hamon/shm/segment.hpp"

namespace hamon::shm {

class ControlSegment {
 public:
  // Creates and initialises the segment, publishing the layout version last. Fails with
  // Errc::exists if the name is taken (stale segments are the caller's decision).
  static Result<ControlSegment> create(const std::string& name, ControlGeometry geometry,
                                       std::string_view cluster, std::string_view node,
                                       unsigned mode = 0600);
  // Attaches and checks magic, version and sizes. Read-only for observers such as the CLI.
  static Result<ControlSegment> attach(const std::string& name, Access access);

  [[nodiscard]] const ControlHeader& header() const noexcept {
    return *reinterpret_cast<const ControlHeader*>(seg_.data());
  }
  // Counts and offsets as checked at attach, never re-read: the header is as writable as the rest
  // to whoever may write the segment.
  [[nodiscard]] std::uint32_t max_processes() const noexcept { return g_.max_processes; }
  [[nodiscard]] std::uint32_t max_groups() const noexcept { return g_.max_groups; }

  // REQUIRES: valid index / id.
  DaemonSlot& daemon(DaemonId id) const noexcept {
    return at<DaemonSlot>(g_.off_daemons())[static_cast<std::size_t>(id)];
  }
  GroupSlot& group(std::uint32_t i) const noexcept { return at<GroupSlot>(g_.off_groups())[i]; }
  ProcessSlot& process(std::uint32_t i) const noexcept {
    return at<ProcessSlot>(g_.off_processes())[i];
  }
  MessageChannel& channel(ChannelId id) const noexcept {
    return at<MessageChannel>(g_.off_channels())[static_cast<std::size_t>(id)];
  }
  [[nodiscard]] EventRing events() const noexcept {
    return EventRing(at<std::byte>(g_.off_events()), kEventCapacity);
  }
  // REQUIRES: i < kMaxPeers.
  PeerSlot peer(std::uint32_t i) const noexcept {
    return PeerSlot(at<std::byte>(g_.off_peers() + std::size_t{i} * g_.peer_bytes()),
                    max_processes(), max_groups());
  }

  // Posts to a channel and rings its consumer's inbox. False when the channel is full.
  [[nodiscard]] bool send(ChannelId id, const Message& m) const noexcept {
    if (!channel(id).queue.push(m)) return false;
    daemon(consumer_of(id)).inbox.ring();
    return true;
  }

  [[nodiscard]] const std::string& name() const noexcept { return seg_.name(); }
  [[nodiscard]] std::size_t size() const noexcept { return seg_.size(); }
  // The file's owner: the user hamon runs as.
  [[nodiscard]] unsigned owner() const noexcept { return seg_.owner(); }

 private:
  ControlSegment(Segment seg, ControlGeometry g) : seg_(std::move(seg)), g_(g) {}
  template <class T>
  T* at(std::uint64_t off) const noexcept {
    return reinterpret_cast<T*>(seg_.data() + off);
  }
  Segment seg_;
  ControlGeometry g_;
};

// The node's segment names (no leading slash; shm_open wants one, Boost adds it).
std::string control_segment_name(std::string_view cluster, std::string_view node);
std::string heartbeat_segment_name(std::string_view cluster, std::string_view node,
                                   std::string_view group);

}  // namespace hamon::shm

#endif  // HAMON_SHM_CONTROL_SEGMENT_HPP
