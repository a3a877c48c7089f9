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
  start,      // start slot as incarnation
  stop,       // SIGTERM, then SIGKILL after arg ns
  kill,       // SIGKILL now
  // reports from the spawner
  started,    // pid, arg = start time (clock ticks since boot, /proc/pid/stat field 22)
  start_failed,  // status = errno
  exited,     // pid, status = wait status (also master → spawner: an orphan it reaped)
  // reports from the monitor
  state,      // arg = new ProcessState
  // from the server
  reload,     // the configuration file changed: read it again
  // generic
  ping,       // test and liveness traffic
};

struct Message {
  MessageKind kind = MessageKind::none;
  std::uint32_t slot = 0;
  std::uint64_t incarnation = 0;
  std::int32_t pid = 0;
  std::int32_t status = 0;
  std::uint64_t t_ns = 0;   // CLOCK_MONOTONIC when sent
  std::uint64_t arg = 0;
  std::uint64_t seq = 0;    // per-sender sequence number, for tests and diagnostics
  std::uint64_t check = 0;  // free for the sender (tests put a checksum here)
  std::uint64_t reserved = 0;
};
static_assert(sizeof(Message) == 64);
static_assert(std::is_trivially_copyable_v<Message>);

}  // namespace hamon::shm

#endif  // HAMON_SHM_MESSAGE_HPP
