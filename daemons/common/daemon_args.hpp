// The command line every daemon takes: --config FILE --node ID. Parsed with CLI11; a bad command
// line exits 100 (usage), a node that cannot be loaded 111 (s6's convention, docs/operations.md).
#ifndef HAMON_DAEMONS_DAEMON_ARGS_HPP
#define HAMON_DAEMONS_DAEMON_ARGS_HPP

#include <string>

#include "node.hpp"

namespace hamon::daemons {

inline constexpr int kExitUsage = 100;
inline constexpr int kExitSystem = 111;

// Parses argv and loads the node; on failure prints why (prefixed by `prog`) and exits.
Node daemon_startup(const char* prog, int argc, char** argv);

}  // namespace hamon::daemons

#endif  // HAMON_DAEMONS_DAEMON_ARGS_HPP
