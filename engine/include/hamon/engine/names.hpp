// Naming rules for everything a configuration names: cluster, nodes, tenants, processes.
//
// Names end up in shared-memory segment names, in "group/name" qualified names and on the
// command line, so they are restricted to 1-31 characters of [A-Za-z0-9_.-], starting with a
// letter, a digit or '_' (a leading '-' would read as an option, a leading '.' hides files).
#ifndef HAMON_ENGINE_NAMES_HPP
#define HAMON_ENGINE_NAMES_HPP

#include <cstddef>
#include <string_view>

namespace hamon::engine {

inline constexpr std::size_t max_name_length = 31;  // a 32-byte field in the segments

// The group of processes that run on every node, whatever the tenants' roles.
inline constexpr std::string_view system_group = "system";

[[nodiscard]] bool is_valid_name(std::string_view name) noexcept;

// A process's name as the daemons and the peer link carry it: a valid name, or the name of a
// warm-spare instance parse_config() adds, NAME~K (K = 1..16, docs/spares.md), which no
// configuration can write itself.
[[nodiscard]] bool is_valid_process_name(std::string_view name) noexcept;

// The rule above in words, for error messages.
inline constexpr std::string_view name_rule =
    "1-31 characters of letters, digits, '_', '.', '-', not starting with '.' or '-'";

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_NAMES_HPP
