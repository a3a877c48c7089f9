#include "link_settings.hpp"

#include <algorithm>

#include "hamon/engine/address.hpp"
#include "hamon/node/key_path.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::link {

namespace {

// Marks kept settings of this layout (and not the zeroes of a fresh segment).
constexpr std::uint32_t kWritten = 0x4c4e4b31;  // "LNK1"

template <std::size_t N>
bool fits(const std::string& s) {
  return s.size() < N;
}

bool same_node(const engine::NodeConfig& a, const engine::NodeConfig& b) {
  return a.id == b.id && a.side == b.side && a.addresses == b.addresses;
}

}  // namespace

std::optional<LinkSettings> link_settings(const engine::Config& config, const std::string& node_id,
                                          const std::string& source_path) {
  const engine::NodeConfig* self = config.find_node(node_id);
  const auto peers = config.peers_of(node_id);
  if (self == nullptr || peers.empty()) return std::nullopt;
  LinkSettings s;
  s.cluster = config.cluster.name;
  s.self = *self;
  s.peer = *peers.front();  // a duplex: one peer (shm::kMaxPeers)
  s.interval_ns = static_cast<std::uint64_t>(config.cluster.peer_interval.count());
  s.timeout_ns = static_cast<std::uint64_t>(config.cluster.peer_timeout.count());
  s.auth = config.cluster.auth;
  s.key_path = node::key_file_path(config, source_path);
  return s;
}

bool same_link(const LinkSettings& a, const LinkSettings& b) {
  return a.cluster == b.cluster && same_node(a.self, b.self) && same_node(a.peer, b.peer) &&
         a.interval_ns == b.interval_ns && a.timeout_ns == b.timeout_ns && a.auth == b.auth &&
         (a.auth == engine::PeerAuth::none || a.key_path == b.key_path);
}

bool keep_settings(const shm::ControlSegment& ctl, const LinkSettings& s) {
  shm::PeerSettings k{};
  const std::size_t n = std::min(s.self.addresses.size(), s.peer.addresses.size());
  bool ok = n >= 1 && n <= shm::kMaxLinks && fits<shm::kPeerNameMax>(s.cluster) &&
            fits<shm::kPeerNameMax>(s.self.id) && fits<shm::kPeerNameMax>(s.peer.id) &&
            fits<shm::kKeyPathMax>(s.key_path);
  for (std::size_t i = 0; ok && i < n; ++i) {
    const std::string own = s.self.addresses[i].to_string();
    const std::string far = s.peer.addresses[i].to_string();
    ok = fits<shm::kAddressMax>(own) && fits<shm::kAddressMax>(far);
    if (ok) {
      shm::write_fixed(k.self_address[i], own);
      shm::write_fixed(k.peer_address[i], far);
    }
  }
  if (ok) {
    k.written = kWritten;
    k.auth = static_cast<std::uint32_t>(s.auth == engine::PeerAuth::none ? shm::PeerAuth::none
                                                                         : shm::PeerAuth::key);
    k.self_side = static_cast<std::uint32_t>(s.self.side);
    k.peer_side = static_cast<std::uint32_t>(s.peer.side);
    k.address_count = static_cast<std::uint32_t>(n);
    k.interval_ns = s.interval_ns;
    k.timeout_ns = s.timeout_ns;
    shm::write_fixed(k.cluster, s.cluster);
    shm::write_fixed(k.self, s.self.id);
    shm::write_fixed(k.peer, s.peer.id);
    shm::write_fixed(k.key_path, s.key_path);
  } else {
    k = shm::PeerSettings{};
  }
  ctl.peer(0).settings().write(k);
  return ok;
}

std::optional<LinkSettings> kept_settings(const shm::ControlSegment& ctl) {
  shm::PeerSettings k{};
  if (!ctl.peer(0).settings().read(k) || k.written != kWritten) return std::nullopt;
  if (k.address_count < 1 || k.address_count > shm::kMaxLinks || k.interval_ns == 0 ||
      k.timeout_ns == 0 || k.self_side > 1 || k.peer_side > 1 || k.auth > 1) {
    return std::nullopt;
  }
  LinkSettings s;
  s.cluster = shm::read_fixed(k.cluster);
  s.self.id = shm::read_fixed(k.self);
  s.peer.id = shm::read_fixed(k.peer);
  s.self.side = static_cast<engine::Side>(k.self_side);
  s.peer.side = static_cast<engine::Side>(k.peer_side);
  for (std::uint32_t i = 0; i < k.address_count; ++i) {
    auto own = engine::parse_host_port(shm::read_fixed(k.self_address[i]));
    auto far = engine::parse_host_port(shm::read_fixed(k.peer_address[i]));
    if (!own || !far) return std::nullopt;
    s.self.addresses.push_back(std::move(*own));
    s.peer.addresses.push_back(std::move(*far));
  }
  s.interval_ns = k.interval_ns;
  s.timeout_ns = k.timeout_ns;
  s.auth = k.auth == static_cast<std::uint32_t>(shm::PeerAuth::none) ? engine::PeerAuth::none
                                                                     : engine::PeerAuth::key;
  s.key_path = shm::read_fixed(k.key_path);
  if (s.cluster.empty() || s.self.id.empty() || s.peer.id.empty() || s.self.id == s.peer.id) {
    return std::nullopt;
  }
  return s;
}

}  // namespace hamon::link
