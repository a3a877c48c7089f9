// The ceilings of a configuration. parse_config() refuses a configuration beyond any of them
// with a located error, so that check-config says what `hamon up` or a reload would otherwise
// fail on later (or crash on). docs/operations.md ("Limits") lists them with their reasons.
#ifndef HAMON_ENGINE_CONFIG_LIMITS_HPP
#define HAMON_ENGINE_CONFIG_LIMITS_HPP

#include <cstddef>

namespace hamon::engine {

// Of the file itself, checked before the TOML parser sees it. toml++ builds (and frees) nested
// tables recursively without a bound, so a key of tens of thousands of dotted parts overflows
// the stack; hamon's own schema never nests deeper than 4.
inline constexpr std::size_t max_config_bytes = std::size_t{16} << 20;  // 65,536 processes fit
inline constexpr std::size_t max_key_parts = 32;  // "a.b.c" has 3, in a key or a [header]
// Tables and arrays one value sits in: its [header]'s parts (+1 for [[...]]), its key's parts,
// and each enclosing inline [ or { with the parts of the key inside it.
inline constexpr std::size_t max_nesting = 32;

// Of the model, set by the shared-memory layouts (tests/shm/limits_test.cpp holds them equal).
inline constexpr std::size_t max_processes = 65536;  // ProcessSlots in the control segment
inline constexpr std::size_t max_groups =
    1024;  // GroupSlots: system and each tenant with processes
// hamon-server sizes a group's heartbeat segment at four times its processes (room for a reload
// to add some), and a heartbeat segment holds 65,536 slots.
inline constexpr std::size_t max_group_processes = 16384;
// Warm spares of one process (each an instance that runs, initialized, beside it).
inline constexpr std::size_t max_spares = 16;
// Linux's MAX_ARG_STRLEN (131,072) less the terminating NUL: execve() fails with E2BIG on a
// longer argument or "NAME=value".
inline constexpr std::size_t max_exec_string = 131071;

}  // namespace hamon::engine

#endif  // HAMON_ENGINE_CONFIG_LIMITS_HPP
