// hamon/heartbeat.hpp — the hamon client for C++ applications.
//
// A process started by hamon attaches once, then calls beat() at least once per configured
// interval; hamon-monitor declares it hung when it stays silent for its timeout, and restarts it.
//
//   auto hb = hamon::Heartbeat::attach();            // reads the environment hamon set
//   if (!hb) { std::cerr << hb.error_message() << '\n'; return 1; }
//   hb.ready();                                      // when ready = "explicit"
//   while (running) { work(); hb.beat(); }
//
// beat() is noexcept, wait-free and makes no system call: two stores into this process's own
// cache line. role() is one load. wait_role_change() sleeps on a futex in the segment until
// hamon-server changes the tenant's role. Errors are values; nothing here throws.
//
// Thread-safety: beat(), ready() and role() may be called from any thread concurrently; attach,
// move and destruction must not race with other calls on the same object.
//
// The C API in <hamon/heartbeat.h> is the same client; this class only owns it.
#ifndef HAMON_HEARTBEAT_HPP
#define HAMON_HEARTBEAT_HPP

#include <hamon/heartbeat.h>

#include <chrono>
#include <cstdint>
#include <utility>

namespace hamon {

// The tenant's duplex role. System processes (which run whatever the roles) see `none`.
enum class Role : std::uint32_t {
  none = HAMON_ROLE_NONE,
  active = HAMON_ROLE_ACTIVE,
  standby = HAMON_ROLE_STANDBY,
  taking_over = HAMON_ROLE_TAKING_OVER,
  stepping_down = HAMON_ROLE_STEPPING_DOWN,
};

enum class Error : int {
  ok = HAMON_OK,
  not_managed = HAMON_E_NOT_MANAGED,
  bad_environment = HAMON_E_BAD_ENV,
  no_segment = HAMON_E_NO_SEGMENT,
  permission = HAMON_E_PERMISSION,
  bad_magic = HAMON_E_BAD_MAGIC,
  bad_version = HAMON_E_BAD_VERSION,
  too_small = HAMON_E_TOO_SMALL,
  bad_slot = HAMON_E_BAD_SLOT,
  system = HAMON_E_SYSTEM,
  timeout = HAMON_E_TIMEOUT,
  not_attached = HAMON_E_NOT_ATTACHED,
  interrupted = HAMON_E_INTERRUPTED,
};

constexpr const char* to_string(Role r) noexcept {
  switch (r) {
    case Role::none: return "none";
    case Role::active: return "active";
    case Role::standby: return "standby";
    case Role::taking_over: return "taking-over";
    case Role::stepping_down: return "stepping-down";
  }
  return "none";
}

// A process's attachment to its heartbeat slot. Move-only; detaches on destruction.
class Heartbeat {
 public:
  // Attaches from the environment hamon-spawner sets. Check the result with operator bool.
  [[nodiscard]] static Heartbeat attach() noexcept {
    Heartbeat h;
    h.error_ = static_cast<Error>(-hamon_attach(&h.c_));
    return h;
  }

  // Attaches to an explicit segment and slot (tests, tools, processes hamon did not start).
  [[nodiscard]] static Heartbeat attach(const char* segment, std::uint32_t slot,
                                        std::uint64_t incarnation) noexcept {
    Heartbeat h;
    h.error_ = static_cast<Error>(-hamon_attach_to(&h.c_, segment, slot, incarnation));
    return h;
  }

  Heartbeat() noexcept = default;
  Heartbeat(Heartbeat&& o) noexcept : c_(o.c_), error_(o.error_) {
    o.c_.base = nullptr;
    o.c_.slot = nullptr;
  }
  Heartbeat& operator=(Heartbeat&& o) noexcept {
    if (this != &o) {
      hamon_detach(&c_);
      c_ = o.c_;
      error_ = o.error_;
      o.c_.base = nullptr;
      o.c_.slot = nullptr;
    }
    return *this;
  }
  Heartbeat(const Heartbeat&) = delete;
  Heartbeat& operator=(const Heartbeat&) = delete;
  ~Heartbeat() { hamon_detach(&c_); }

  explicit operator bool() const noexcept { return c_.slot != nullptr; }
  [[nodiscard]] Error error() const noexcept { return error_; }
  // Says where and why attach failed; "" when it did not.
  [[nodiscard]] const char* error_message() const noexcept { return c_.error; }

  // Proves this process alive. Wait-free, no system call; a no-op when not attached.
  void beat() noexcept { hamon_beat(&c_); }

  // Marks the process ready (for ready = "explicit") and beats. False when not attached.
  bool ready() noexcept { return hamon_ready(&c_) == 0; }

  // Warm spares: waits, parked, until hamon makes this instance the one that serves; returns at
  // once for a process without spares. Call it where the process is ready to serve (it marks it
  // ready). False when not attached, the wait failed, or a signal handler ran while it waited
  // (error() == Error::interrupted: still parked; call it again, or exit); see error_message().
  bool park() noexcept {
    const int rc = hamon_park(&c_);
    if (rc != 0) error_ = static_cast<Error>(-rc);
    return rc == 0;
  }

  // The tenant's current role; one acquire load.
  [[nodiscard]] Role role() const noexcept { return static_cast<Role>(hamon_get_role(&c_)); }

  // The tenant's epoch (the term of its active side; docs/roles.md): a deposed active sees a
  // higher one than it served in.
  [[nodiscard]] std::uint64_t epoch() const noexcept { return hamon_get_epoch(&c_); }

  // In a step-down (Role::stepping_down): this process has finished its work in progress. The
  // tenant goes standby once every running process of it has said so, or at drain_timeout.
  int drained() noexcept { return hamon_drained(&c_); }

  // Blocks until the role differs from `seen` or `timeout` passes; returns the role then
  // (equal to `seen` on time-out). A negative timeout waits forever.
  Role wait_role_change(Role seen, std::chrono::nanoseconds timeout) noexcept {
    enum hamon_role now = static_cast<enum hamon_role>(seen);
    hamon_wait_role_change(&c_, static_cast<enum hamon_role>(seen), timeout.count(), &now);
    return static_cast<Role>(now);
  }

  // How often hamon expects a beat (zero when the environment did not say).
  [[nodiscard]] std::chrono::nanoseconds interval() const noexcept {
    return std::chrono::nanoseconds(static_cast<std::int64_t>(c_.interval_ns));
  }
  [[nodiscard]] std::uint32_t slot() const noexcept { return c_.slot_index; }
  [[nodiscard]] std::uint64_t incarnation() const noexcept { return c_.incarnation; }

 private:
  hamon_client c_{};
  Error error_ = Error::not_attached;
};

}  // namespace hamon

#endif  // HAMON_HEARTBEAT_HPP
