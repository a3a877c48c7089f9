// Segment: one named POSIX shared-memory object, mapped. A thin owner around Boost.Interprocess
// (shared_memory_object + mapped_region) that turns its exceptions into Errors naming the segment
// and the system error. No allocator and no named-object index: hamon segments have fixed
// layouts, so no lock exists that a dying process could leave held.
#ifndef HAMON_SHM_SEGMENT_HPP
#define HAMON_SHM_SEGMENT_HPP

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/interprocess/mapped_region.hpp>

#include "hamon/shm/result.hpp"

namespace hamon::shm {

enum class Access { read_only, read_write };

// The first bytes of every hamon segment, checked before anything else is read.
struct SegmentPrefix {
  std::uint64_t magic;
  std::uint32_t layout_version;  // release-stored last by the creator; 0 while initialising
  std::uint32_t header_size;
  std::uint32_t count_a;  // segment-specific
  std::uint32_t count_b;  // segment-specific
  std::uint64_t total_size;
};
static_assert(sizeof(SegmentPrefix) == 32);

class Segment {
 public:
  // Creates a new segment of `size` zeroed bytes with permission bits `mode` (not subject to the
  // umask). Fails with Errc::exists if one of that name exists. `name` has no leading slash.
  static Result<Segment> create(const std::string& name, std::size_t size, unsigned mode);
  // Maps an existing segment whole.
  static Result<Segment> open(const std::string& name, Access access);
  // Removes the name (shm_unlink); mappings stay valid. True if a segment was removed.
  static bool remove(const std::string& name) noexcept;

  // Checks magic, version, header size and that the mapping covers `total_size`. `what` names
  // the kind of segment in messages ("control segment").
  [[nodiscard]] Result<bool> check_prefix(std::uint64_t magic, std::uint32_t version,
                                          std::uint32_t header_size, const char* what) const;

  // Publishes the layout version: the last store a creator makes (release).
  void publish_version(std::uint32_t version) noexcept;

  [[nodiscard]] std::byte* data() const noexcept {
    return static_cast<std::byte*>(region_.get_address());
  }
  [[nodiscard]] std::size_t size() const noexcept { return region_.get_size(); }
  [[nodiscard]] const std::string& name() const noexcept { return name_; }

  Segment(Segment&&) noexcept = default;
  Segment& operator=(Segment&&) noexcept = default;

 private:
  Segment(std::string name, boost::interprocess::mapped_region region)
      : name_(std::move(name)), region_(std::move(region)) {}
  std::string name_;
  boost::interprocess::mapped_region region_;
};

// "/dev/shm/NAME" as the operator sees it, for messages.
std::string shm_path(const std::string& name);

}  // namespace hamon::shm

#endif  // HAMON_SHM_SEGMENT_HPP
