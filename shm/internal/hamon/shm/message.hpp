// Message: what daemons send each other through Channels. Flat and trivially copyable; every
// request names (slot, incarnation), so a request that arrives twice, or after the process it
// names was replaced, is recognised and dropped by the receiver.
#ifndef HAMON_SHM_MESSAGE_HPP
#define HAMON_SHM_MESSAGE_HPP

#include <cstdint>
#include <type_traits>

namespace hamon::shm {

enum class MessageKind : std::uint32_t {
  none = 0,
  // requests to the spawner
  start,  // start slot as incarnation
  stop,   // SIGTERM, then SIGKILL after arg ns
  kill,   // SIGKILL now
  // reports from the spawner
  started,       // pid, arg = start time (clock ticks since boot, /proc/pid/stat field 22)
  start_failed,  // status = errno
  exited,        // pid, status = wait status (also master → spawner: an orphan it reaped)
  // reports from the monitor
  state,  // arg = new ProcessState
  // from the server
  reload,  // the configuration file changed: read it again
  // generic
  ping,  // test and liveness traffic
};

struct Message {
  MessageKind kind = MessageKind::none;
  std::uint32_t slot = 0;
  std::uint64_t incarnation = 0;
  std::int32_t pid = 0;
  std::int32_t status = 0;
  std::uint64_t t_ns = 0;  // CLOCK_MONOTONIC when sent
  std::uint64_t arg = 0;
  std::uint64_t seq = 0;    // per-sender sequence number, for tests and diagnostics
  std::uint64_t check = 0;  // free for the sender (tests put a checksum here)
  std::uint64_t reserved = 0;

  // Named constructors: each kind with the fields it uses, so no sender forgets one.
  static Message start(std::uint32_t slot, std::uint64_t inc, std::uint64_t now) {
    return make(MessageKind::start, slot, inc, now);
  }
  static Message stop(std::uint32_t slot, std::uint64_t inc, std::uint64_t grace_ns,
                      std::uint64_t now) {
    Message m = make(MessageKind::stop, slot, inc, now);
    m.arg = grace_ns;
    return m;
  }
  static Message kill(std::uint32_t slot, std::uint64_t inc, std::uint64_t now) {
    return make(MessageKind::kill, slot, inc, now);
  }
  static Message started(std::uint32_t slot, std::uint64_t inc, std::int32_t pid,
                         std::uint64_t start_ticks, std::uint64_t now) {
    Message m = make(MessageKind::started, slot, inc, now);
    m.pid = pid;
    m.arg = start_ticks;
    return m;
  }
  static Message start_failed(std::uint32_t slot, std::uint64_t inc, int error, std::uint64_t now) {
    Message m = make(MessageKind::start_failed, slot, inc, now);
    m.status = error;
    return m;
  }
  static Message exited(std::uint32_t slot, std::uint64_t inc, std::int32_t pid, int wait_status,
                        std::uint64_t now) {
    Message m = make(MessageKind::exited, slot, inc, now);
    m.pid = pid;
    m.status = wait_status;
    return m;
  }
  // master → spawner: a process it reaped as subreaper (no slot: the spawner knows it by pid).
  static Message orphan_exited(std::int32_t pid, int wait_status, std::uint64_t now) {
    return exited(0, 0, pid, wait_status, now);
  }
  // `state` is a ProcessState (control_layout.hpp), carried as its value.
  static Message state_change(std::uint32_t slot, std::uint64_t inc, std::int32_t pid,
                              std::uint32_t state, std::uint64_t now) {
    Message m = make(MessageKind::state, slot, inc, now);
    m.pid = pid;
    m.arg = state;
    return m;
  }
  static Message reload(std::uint64_t now) { return make(MessageKind::reload, 0, 0, now); }

 private:
  static Message make(MessageKind k, std::uint32_t slot, std::uint64_t inc, std::uint64_t now) {
    Message m;
    m.kind = k;
    m.slot = slot;
    m.incarnation = inc;
    m.t_ns = now;
    return m;
  }
};
static_assert(sizeof(Message) == 64);
static_assert(std::is_trivially_copyable_v<Message>);

}  // namespace hamon::shm

#endif  // HAMON_SHM_MESSAGE_HPP
