// Result<T>: a value or an Error that says where and why, for code that must not throw across
// process boundaries (daemons turn errors into exit codes and log lines, never into crashes).
#ifndef HAMON_SHM_RESULT_HPP
#define HAMON_SHM_RESULT_HPP

#include <string>
#include <utility>
#include <variant>

namespace hamon::shm {

enum class Errc {
  missing,      // the segment does not exist
  exists,       // create: a segment of that name exists already
  permission,   // may not open or create it
  bad_magic,    // not a hamon segment
  bad_version,  // a layout version this build does not know (0: not initialised yet)
  too_small,    // smaller than its header declares, or than a header
  bad_argument, // a size, count or name out of range
  system,       // another system call failed
};

struct Error {
  Errc code;
  std::string message;  // "unable to open /dev/shm/x: Permission denied"
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  explicit operator bool() const noexcept { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace hamon::shm

#endif  // HAMON_SHM_RESULT_HPP
