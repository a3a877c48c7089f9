// Duplex: two real nodes of one cluster on this machine, a and b, each with its own runtime
// directory and loopback port, sharing a key made by the real `hamon keygen`. Node a (the lower
// id) connects; b listens. With `relays`, a reaches b through in-test TCP relays that can
// blackhole a link (tcp_relay.hpp); `links` = 2 gives each node two addresses.
#ifndef HAMON_TESTS_DUPLEX_HPP
#define HAMON_TESTS_DUPLEX_HPP

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hamon/node/node_view.hpp"
#include "tcp_relay.hpp"
#include "test_node.hpp"

namespace hamon::test {

struct DuplexOptions {
  int links = 1;
  bool relays = false;
  std::string peer_interval = "2ms";
  std::string peer_timeout = "250ms";
  std::string host = "127.0.0.1";  // or a name, such as "localhost"
  std::string cluster_keys = {};   // more [cluster] lines (role settings, say)
};

class Duplex {
 public:
  Duplex(const std::string& processes, DuplexOptions options = {});
  ~Duplex();
  Duplex(const Duplex&) = delete;
  Duplex& operator=(const Duplex&) = delete;

  TestNode& a() { return *a_; }
  TestNode& b() { return *b_; }
  TcpRelay& relay(int link) { return *relays_.at(static_cast<std::size_t>(link)); }
  [[nodiscard]] std::uint16_t b_port(int link) const {
    return b_ports_.at(static_cast<std::size_t>(link));
  }
  [[nodiscard]] const std::string& key_path() const { return key_; }
  [[nodiscard]] const std::string& cluster() const { return cluster_; }

 private:
  std::string cluster_, key_;
  std::vector<std::uint16_t> a_ports_, b_ports_;
  std::vector<std::unique_ptr<TcpRelay>> relays_;
  std::unique_ptr<TestNode> a_, b_;
};

// The peer row of `v` (its only peer), if any.
std::optional<node::PeerRow> peer_of(const node::NodeView& v);
// The process `group/name` in the peer's table as `v` shows it.
std::optional<node::PeerProcessRow> peer_process(const node::NodeView& v, const std::string& group,
                                                 const std::string& name);

}  // namespace hamon::test

#endif  // HAMON_TESTS_DUPLEX_HPP
