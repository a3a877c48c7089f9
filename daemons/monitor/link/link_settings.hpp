// LinkSettings: what a node's peer link runs with — who it is, who its peer is, the addresses of
// each link, the timings and the key — taken from the configuration, and kept in the control
// segment's peer region (shm::PeerSettings) so that a restarted hamon-monitor can start its link
// before it has read the configuration. A kill of the monitor then costs the peer a reconnect,
// not the configuration's parse as well (tens of milliseconds at thousands of processes).
#ifndef HAMON_MONITOR_LINK_LINK_SETTINGS_HPP
#define HAMON_MONITOR_LINK_LINK_SETTINGS_HPP

#include <cstdint>
#include <optional>
#include <string>

#include "hamon/engine/config.hpp"
#include "hamon/shm/control_segment.hpp"

namespace hamon::link {

struct LinkSettings {
  std::string cluster;
  engine::NodeConfig self;
  engine::NodeConfig peer;
  std::uint64_t interval_ns = 2'000'000;
  std::uint64_t timeout_ns = 250'000'000;
  engine::PeerAuth auth = engine::PeerAuth::key;
  std::string key_path;  // absolute; unused with auth none
};

// The settings of `node`'s link, or std::nullopt when its cluster has a single node.
[[nodiscard]] std::optional<LinkSettings> link_settings(const engine::Config& config,
                                                        const std::string& node_id,
                                                        const std::string& source_path);

// Whether two settings make the same link (the positions in the file aside).
[[nodiscard]] bool same_link(const LinkSettings& a, const LinkSettings& b);

// Keeps `s` in the control segment for the next monitor; clears what is kept when a field does
// not fit (the next monitor then reads the configuration first). Returns whether it was kept.
bool keep_settings(const shm::ControlSegment& ctl, const LinkSettings& s);

// What the last link of this node ran with, if it was kept and reads back whole.
[[nodiscard]] std::optional<LinkSettings> kept_settings(const shm::ControlSegment& ctl);

}  // namespace hamon::link

#endif  // HAMON_MONITOR_LINK_LINK_SETTINGS_HPP
