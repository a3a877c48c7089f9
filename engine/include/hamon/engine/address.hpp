// A node's peer-link address, "host:port". The host is an IPv4 address or a DNS name, or an
// IPv6 address in brackets ("[::1]:7401"); the port is 1-65535. Nothing is resolved here.
#ifndef HAMON_ENGINE_ADDRESS_HPP
#define HAMON_ENGINE_ADDRESS_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hamon::engine {

struct HostPort {
  std::string host;  // without brackets
  std::uint16_t port = 0;

  // "host:port", bracketing an IPv6 host again.
  [[nodiscard]] std::string to_string() const;

  friend bool operator==(const HostPort&, const HostPort&) = default;
};

// std::nullopt if `text` is not HOST:PORT as described above.
[[nodiscard]] std::optional<HostPort> parse_host_port(std::string_view text);

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_ADDRESS_HPP
