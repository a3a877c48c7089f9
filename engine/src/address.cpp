#include "hamon/engine/address.hpp"

namespace hamon::engine {
namespace {

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A DNS name or a dotted IPv4 address; which one is for the resolver to find out.
bool is_plain_host(std::string_view host) noexcept {
  if (host.empty() || host.size() > 253 || host.front() == '-' || host.front() == '.') return false;
  for (const char c : host) {
    if (!is_alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

// Only the character set: getaddrinfo() has the final word on IPv6 syntax.
bool is_ipv6_host(std::string_view host) noexcept {
  if (host.size() < 2) return false;
  for (const char c : host) {
    if (!is_hex(c) && c != ':' && c != '.') return false;
  }
  return host.find(':') != std::string_view::npos;
}

std::optional<std::uint16_t> parse_port(std::string_view text) noexcept {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string HostPort::to_string() const {
  const bool bracket = host.find(':') != std::string::npos;
  return (bracket ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<HostPort> parse_host_port(std::string_view text) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const auto port = parse_port(text.substr(colon + 1));
  if (!port) return std::nullopt;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    if (!is_ipv6_host(host)) return std::nullopt;
  } else if (!is_plain_host(host)) {
    return std::nullopt;
  }
  return HostPort{std::string(host), *port};
}

}  // namespace hamon::engine
