// Result<T>: a value or an Error that says where and why. The one error vocabulary of hamon above
// the system-call wrappers (which return -errno, as the kernel does): daemons turn errors into
// exit codes and log lines, the CLI into messages and documented exit codes, never into crashes
// or exceptions across a process boundary.
#ifndef HAMON_RESULT_HPP
#define HAMON_RESULT_HPP

#include <string>
#include <utility>
#include <variant>

// In hamon::base, apart from the public client header's own hamon::Error codes.
namespace hamon::base {

enum class Errc {
  // segments
  missing,       // does not exist
  exists,        // create: something of that name exists already
  permission,    // may not open or create it
  bad_magic,     // not a hamon segment
  bad_version,   // a layout version this build does not know (0: not initialised yet)
  too_small,     // smaller than its header declares, or than a header
  bad_argument,  // a size, count, name or request out of range or malformed
  system,        // another system call failed
  // requests and runs
  refused,      // the other side understood and said no (it says why)
  unreachable,  // no one answered: not running, or gone mid-request
  timeout,      // not done within the time allowed
};

struct Error {
  Errc code;
  std::string message;  // "unable to open /dev/shm/x: Permission denied"
};

// E: Error everywhere but where a caller counts its own kind of failure (the peer link's
// Rejection), so that the one shape serves both.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(E error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  explicit operator bool() const noexcept { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const T& value() const& { return std::get<0>(v_); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  const E& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

// For operations that return nothing but may fail.
struct Done {};
using Status = Result<Done>;
inline Status ok() { return Done{}; }

}  // namespace hamon::base

#endif  // HAMON_RESULT_HPP
