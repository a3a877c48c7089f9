// Who may ask hamon-server what, on its control socket (docs/security.md):
//   - root, hamon's own user and members of the `hamon` group: everything;
//   - a tenant's `user` and its `operators`: start, stop, restart, switchover and activate of
//     that tenant and its processes only — never up, down or reload;
//   - anyone else: nothing.
// The caller is who the kernel says connected (SO_PEERCRED), never what the request claims.
#ifndef HAMON_NODE_AUTHORIZE_HPP
#define HAMON_NODE_AUTHORIZE_HPP

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "hamon/engine/config.hpp"
#include "hamon/node/control_protocol.hpp"
#include "hamon/node/control_socket.hpp"

namespace hamon::node {

// The group whose members may do everything.
inline constexpr const char* kAdminGroup = "hamon";

// Why `caller` may not make `request`, or nothing when it may. `groups`: the groups (tenants)
// the request acts on, as the server resolved its target. `self`: the user hamon runs as.
[[nodiscard]] std::optional<std::string> refusal(const Caller& caller, const Request& request,
                                                 const std::vector<std::string>& groups,
                                                 const engine::Config& config, uid_t self);

}  // namespace hamon::node

#endif  // HAMON_NODE_AUTHORIZE_HPP
