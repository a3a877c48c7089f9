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

#include "hamon/shm/mapping_guard.hpp"
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

// Who a new segment's file belongs to; uid -1: whoever creates it.
struct Owner {
  int uid = -1;
  int gid = -1;
};

class Segment {
 public:
  // Creates a new segment of `size` zeroed bytes with permission bits `mode` (not subject to the
  // umask), given to `owner`. Fails with Errc::exists if one of that name exists. `name` has no
  // leading slash.
  static Result<Segment> create(const std::string& name, std::size_t size, unsigned mode,
                                Owner owner = {});
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
  // The file's owner and permission bits when it was mapped: whoever else may have made it.
  [[nodiscard]] unsigned owner() const noexcept { return owner_; }
  [[nodiscard]] unsigned mode() const noexcept { return mode_; }
  // True once the file was truncated under the mapping (mapping_guard.hpp): the mapping now
  // holds private zeros, and the segment must be made anew.
  [[nodiscard]] bool damaged() const noexcept { return guard_.damaged(); }

  Segment(Segment&&) noexcept = default;
  Segment& operator=(Segment&&) noexcept = default;

 private:
  Segment(std::string name, boost::interprocess::mapped_region region, unsigned owner,
          unsigned mode)
      : name_(std::move(name)),
        region_(std::move(region)),
        guard_(region_.get_address(), region_.get_size()),
        owner_(owner),
        mode_(mode) {}
  std::string name_;
  boost::interprocess::mapped_region region_;
  MappingGuard guard_;  // after region_: unregistered before it is unmapped
  unsigned owner_ = 0;
  unsigned mode_ = 0;
};

// "/dev/shm/NAME" as the operator sees it, for messages.
std::string shm_path(const std::string& name);

}  // namespace hamon::shm

#endif  // HAMON_SHM_SEGMENT_HPP
