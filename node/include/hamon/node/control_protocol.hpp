// The control protocol between `hamon` and hamon-server: one request line per connection on the
// server's unix socket, one reply line back. Both sides format and parse here, so they cannot
// drift apart. Described in docs/cli.md ("The control socket").
//
//   request:  <verb> [<target>]             verbs: up down reload start stop restart
//                                                  tenant-start tenant-stop tenant-restart
//   reply:    ok [<slot>:<incarnation>:<group>/<name> ...]
//             error <why>
//
// An `ok` reply lists the processes the request acted on, each with its control slot and the
// incarnation it had when the request was carried out; the CLI waits on them (a restart is
// done once the slot runs a newer incarnation that is ready).
#ifndef HAMON_NODE_CONTROL_PROTOCOL_HPP
#define HAMON_NODE_CONTROL_PROTOCOL_HPP

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hamon/result.hpp"

namespace hamon::node {

using base::Errc;
using base::Error;
using base::Result;

enum class Verb : std::uint8_t {
  up,
  down,
  reload,
  start,
  stop,
  restart,
  tenant_start,
  tenant_stop,
  tenant_restart,
  switchover,       // hand a tenant over to the peer (or ask the peer for it)
  tenant_activate,  // take a tenant whatever the peer and the policy say (--force)
};

[[nodiscard]] std::string_view to_string(Verb v) noexcept;
// Whether the verb names a target (a process or a tenant).
[[nodiscard]] bool takes_target(Verb v) noexcept;

struct Request {
  Verb verb = Verb::up;
  std::string target;  // group/name, a unique name, or a tenant; empty for up/down/reload

  [[nodiscard]] static Request up() { return {Verb::up, {}}; }
  [[nodiscard]] static Request down() { return {Verb::down, {}}; }
  [[nodiscard]] static Request reload() { return {Verb::reload, {}}; }
  [[nodiscard]] static Request on(Verb v, std::string target) { return {v, std::move(target)}; }
};

struct Acted {
  std::uint32_t slot = 0;
  std::uint64_t incarnation = 0;  // when the request was carried out
  std::string name;               // group/name
};

struct Reply {
  bool ok = false;
  std::string error;         // why, when !ok
  std::vector<Acted> acted;  // when ok

  [[nodiscard]] static Reply success(std::vector<Acted> acted = {}) {
    return {true, {}, std::move(acted)};
  }
  [[nodiscard]] static Reply failure(std::string why) { return {false, std::move(why), {}}; }
};

// One line, without the newline.
[[nodiscard]] std::string format(const Request& r);
[[nodiscard]] std::string format(const Reply& r);
// What is wrong with the line, when it is not a valid request or reply.
[[nodiscard]] Result<Request> parse_request(std::string_view line);
[[nodiscard]] Result<Reply> parse_reply(std::string_view line);

// The longest request or reply line the server and the client accept.
inline constexpr std::size_t kMaxLine = 64 * 1024;

}  // namespace hamon::node

#endif  // HAMON_NODE_CONTROL_PROTOCOL_HPP
