// MappingGuard: a segment that someone truncates under us must not kill us.
//
// A shared-memory file can be shrunk by anyone who may write it (a tenant, its own heartbeat
// segment); every later access to a mapped page past the new end raises SIGBUS, which would end
// hamon-monitor in the middle of its watch loop. Each mapped segment registers its range here. A
// process-wide SIGBUS handler that finds the faulting address in a registered range maps private
// zero pages over the whole range (the same addresses, so every pointer into it stays valid),
// marks it damaged and returns: the access is retried and reads zeros. The owner of the mapping
// sees damaged() and makes the segment anew; readers see garbage, which they already validate.
// A SIGBUS anywhere else is not ours: the handler restores the default action, which follows.
#ifndef HAMON_SHM_MAPPING_GUARD_HPP
#define HAMON_SHM_MAPPING_GUARD_HPP

#include <cstddef>

namespace hamon::shm {

class MappingGuard {
 public:
  MappingGuard() = default;
  // Registers [base, base + size); installs the handler on first use. A guard that found no
  // free entry (thousands of segments mapped at once) leaves the range unguarded.
  MappingGuard(void* base, std::size_t size) noexcept;
  ~MappingGuard();
  MappingGuard(MappingGuard&& other) noexcept : entry_(other.entry_) { other.entry_ = -1; }
  MappingGuard& operator=(MappingGuard&& other) noexcept;
  MappingGuard(const MappingGuard&) = delete;
  MappingGuard& operator=(const MappingGuard&) = delete;

  // True once an access faulted and the range was replaced by zeros.
  [[nodiscard]] bool damaged() const noexcept;

 private:
  int entry_ = -1;
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_MAPPING_GUARD_HPP
