#include "hamon/shm/segment.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <cstring>

#include <boost/interprocess/exceptions.hpp>
#include <boost/interprocess/permissions.hpp>
#include <boost/interprocess/shared_memory_object.hpp>

namespace hamon::shm {
namespace bip = boost::interprocess;

std::string shm_path(const std::string& name) { return "/dev/shm/" + name; }

namespace {

Error from_exception(const bip::interprocess_exception& e, const char* verb,
                     const std::string& name) {
  Errc code = Errc::system;
  switch (e.get_error_code()) {
    case bip::not_found_error:
    case bip::not_such_file_or_directory: code = Errc::missing; break;
    case bip::already_exists_error: code = Errc::exists; break;
    case bip::security_error: code = Errc::permission; break;
    default: break;
  }
  const int native = e.get_native_error();
  std::string why = native != 0 ? std::strerror(native) : e.what();
  return Error{code, std::string("unable to ") + verb + " " + shm_path(name) + ": " + why};
}

struct stat file_of(const bip::shared_memory_object& shm) {
  struct stat st {};
  if (::fstat(shm.get_mapping_handle().handle, &st) != 0) st = {};
  return st;
}

}  // namespace

Result<Segment> Segment::create(const std::string& name, std::size_t size, unsigned mode,
                                Owner owner) {
  try {
    bip::shared_memory_object shm(bip::create_only, name.c_str(), bip::read_write,
                                  bip::permissions(mode));
    try {
      shm.truncate(static_cast<bip::offset_t>(size));
      if (owner.uid >= 0 && ::fchown(shm.get_mapping_handle().handle, static_cast<uid_t>(owner.uid),
                                     static_cast<gid_t>(owner.gid)) != 0) {
        const int err = errno;
        bip::shared_memory_object::remove(name.c_str());
        return Error{Errc::permission, "unable to give " + shm_path(name) + " to user " +
                                           std::to_string(owner.uid) + ": " + std::strerror(err)};
      }
      const struct stat st = file_of(shm);
      return Segment(name, bip::mapped_region(shm, bip::read_write), st.st_uid, st.st_mode & 07777);
    } catch (const bip::interprocess_exception& e) {
      bip::shared_memory_object::remove(name.c_str());  // never leave a half-made segment behind
      return from_exception(e, "size", name);
    }
  } catch (const bip::interprocess_exception& e) {
    return from_exception(e, "create", name);
  }
}

Result<Segment> Segment::open(const std::string& name, Access access) {
  const bip::mode_t mode = access == Access::read_write ? bip::read_write : bip::read_only;
  try {
    bip::shared_memory_object shm(bip::open_only, name.c_str(), mode);
    bip::offset_t size = 0;
    if (!shm.get_size(size) || size < static_cast<bip::offset_t>(sizeof(SegmentPrefix))) {
      return Error{Errc::too_small, shm_path(name) + " is too small to be a hamon segment (" +
                                        std::to_string(size) + " bytes)"};
    }
    const struct stat st = file_of(shm);
    return Segment(name, bip::mapped_region(shm, mode), st.st_uid, st.st_mode & 07777);
  } catch (const bip::interprocess_exception& e) {
    return from_exception(e, "open", name);
  }
}

bool Segment::remove(const std::string& name) noexcept {
  return bip::shared_memory_object::remove(name.c_str());
}

Result<bool> Segment::check_prefix(std::uint64_t magic, std::uint32_t version,
                                   std::uint32_t header_size, const char* what) const {
  const auto* p = reinterpret_cast<const SegmentPrefix*>(data());
  const std::string path = shm_path(name_);
  if (p->magic != magic) {
    return Error{Errc::bad_magic, path + " is not a hamon " + what + " (wrong magic)"};
  }
  const std::uint32_t v =
      std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(p->layout_version))
          .load(std::memory_order_acquire);
  if (v != version) {
    return Error{Errc::bad_version,
                 path + ": " + what + " layout version " + std::to_string(v) +
                     ", but this build knows version " + std::to_string(version) + " only" +
                     (v == 0 ? " (the segment is not initialised: its creator is starting or "
                               "died while starting)"
                             : "")};
  }
  if (p->header_size != header_size) {
    return Error{Errc::bad_version, path + ": " + what + " header size " +
                                        std::to_string(p->header_size) + ", expected " +
                                        std::to_string(header_size)};
  }
  if (p->total_size > size() || p->total_size < header_size) {
    return Error{Errc::too_small, path + ": " + what + " declares " +
                                      std::to_string(p->total_size) + " bytes but " +
                                      std::to_string(size()) + " are mapped"};
  }
  return true;
}

void Segment::publish_version(std::uint32_t version) noexcept {
  auto* p = reinterpret_cast<SegmentPrefix*>(data());
  std::atomic_ref<std::uint32_t>(p->layout_version).store(version, std::memory_order_release);
}

}  // namespace hamon::shm
