// The supervise record (control_layout.hpp, SuperviseRecord): hamon-server's whole decision state
// for one process, so a restarted server resumes where its predecessor stopped. The codec between
// it and engine::Supervisor::Snapshot, with the stored values pinned: a change to engine::Phase
// that would change what a record means breaks the build, not a running node.
#ifndef HAMON_NODE_SUPERVISE_RECORD_HPP
#define HAMON_NODE_SUPERVISE_RECORD_HPP

#include <cstdint>

#include "hamon/engine/supervisor.hpp"
#include "hamon/shm/control_layout.hpp"

namespace hamon::node {

// SuperviseRecord::flags
inline constexpr std::uint32_t kStopWanted = 1u << 0;  // being stopped (then started if wanted)
inline constexpr std::uint32_t kKilledHung = 1u << 1;  // killed because it hung

// SuperviseRecord::phase stores engine::Phase by these values (docs/shared-memory.md).
static_assert(static_cast<std::uint32_t>(engine::Phase::down) == 0);
static_assert(static_cast<std::uint32_t>(engine::Phase::waiting) == 1);
static_assert(static_cast<std::uint32_t>(engine::Phase::starting) == 2);
static_assert(static_cast<std::uint32_t>(engine::Phase::up) == 3);
static_assert(static_cast<std::uint32_t>(engine::Phase::stopping) == 4);
static_assert(static_cast<std::uint32_t>(engine::Phase::backoff) == 5);
static_assert(static_cast<std::uint32_t>(engine::Phase::failed) == 6);
inline constexpr std::uint32_t kLastPhase = 6;

[[nodiscard]] shm::SuperviseRecord to_record(const engine::Supervisor::Snapshot& s);
// A phase out of range (a damaged record) reads as down: nothing is started or stopped on it.
[[nodiscard]] engine::Supervisor::Snapshot from_record(const shm::SuperviseRecord& r);
[[nodiscard]] engine::Phase phase_of(const shm::SuperviseRecord& r);

}  // namespace hamon::node

#endif  // HAMON_NODE_SUPERVISE_RECORD_HPP
