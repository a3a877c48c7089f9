#include "duplex.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>

namespace hamon::test {

namespace {

std::string address_list(const std::string& host, const std::vector<std::uint16_t>& ports) {
  std::string s = ports.size() == 1 ? "" : "[";
  for (std::size_t i = 0; i < ports.size(); ++i) {
    if (i != 0) s.append(", ");
    s.append("\"").append(host).append(":").append(std::to_string(ports[i])).append("\"");
  }
  return ports.size() == 1 ? s : s.append("]");
}

std::string cluster_toml(const std::string& cluster, const std::string& key, const DuplexOptions& o,
                         const std::vector<std::uint16_t>& a_ports,
                         const std::vector<std::uint16_t>& b_ports) {
  // Appended piece by piece: GCC 12 at -O3 warns falsely on `"literal" + std::string&&` (its
  // bug 105651).
  std::string t = "[cluster]\nname = \"";
  t.append(cluster).append("\"\npeer_interval = \"").append(o.peer_interval);
  t.append("\"\npeer_timeout = \"").append(o.peer_timeout);
  t.append("\"\nauth_key_file = \"").append(key).append("\"\n");
  t.append(o.cluster_keys).append("\n");
  t.append("[[cluster.node]]\nid = \"a\"\nside = \"primary\"\naddress = ");
  t.append(address_list(o.host, a_ports)).append("\n\n");
  t.append("[[cluster.node]]\nid = \"b\"\nside = \"secondary\"\naddress = ");
  t.append(address_list(o.host, b_ports)).append("\n");
  return t;
}

}  // namespace

Duplex::Duplex(const std::string& processes, DuplexOptions o) {
  static std::atomic<int> counter{0};
  cluster_ = std::string("d")
                 .append(std::to_string(getpid()))
                 .append("x")
                 .append(std::to_string(counter++));
  key_ = (std::filesystem::temp_directory_path() / ("hamon-it." + cluster_ + ".key")).string();
  std::filesystem::remove(key_);
  for (int i = 0; i < o.links; ++i) {
    a_ports_.push_back(free_port());
    b_ports_.push_back(free_port());
  }
  // What a is told of b: the relays' ports when the test stands between them.
  std::vector<std::uint16_t> b_seen_by_a = b_ports_;
  if (o.relays) {
    for (int i = 0; i < o.links; ++i) {
      relays_.push_back(std::make_unique<TcpRelay>(b_ports_[static_cast<std::size_t>(i)]));
      b_seen_by_a[static_cast<std::size_t>(i)] = relays_.back()->port();
    }
  }
  a_ = std::make_unique<TestNode>(
      processes,
      ClusterSpec{cluster_, "a", cluster_toml(cluster_, key_, o, a_ports_, b_seen_by_a)});
  b_ = std::make_unique<TestNode>(
      processes, ClusterSpec{cluster_, "b", cluster_toml(cluster_, key_, o, a_ports_, b_ports_)});
  const auto made = a_->hamon({"keygen", key_}, false);
  if (made.code != 0) ADD_FAILURE() << "hamon keygen: " << made.err;
}

Duplex::~Duplex() {
  b_.reset();
  a_.reset();
  relays_.clear();
  std::error_code ec;
  std::filesystem::remove(key_, ec);
}

std::optional<node::PeerRow> peer_of(const node::NodeView& v) {
  if (v.peers.empty()) return std::nullopt;
  return v.peers.front();
}

std::optional<node::PeerProcessRow> peer_process(const node::NodeView& v, const std::string& group,
                                                 const std::string& name) {
  if (v.peers.empty()) return std::nullopt;
  for (const auto& p : v.peers.front().processes) {
    if (p.tenant == group && p.name == name) return p;
  }
  return std::nullopt;
}

}  // namespace hamon::test
