// What a node's records say runs: the processes hamon-spawner started and has not seen end, read
// from the control segment alone (no configuration, no daemon needed), and the way to reach one of
// them without ever reaching a process that reused its pid.
#ifndef HAMON_NODE_RECORDED_PROCESS_HPP
#define HAMON_NODE_RECORDED_PROCESS_HPP

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "hamon/shm/control_segment.hpp"

namespace hamon::node {

struct RecordedProcess {
  std::uint32_t slot = 0;
  std::string name;  // "group/name"; "slot N" when the slot's identity line is gone
  std::uint64_t incarnation = 0;
  pid_t pid = 0;  // 0: a start in progress (recorded before its launch, not after)
  std::uint64_t start_ticks = 0;
  std::string heartbeat_segment;  // what the process was given in its environment
  std::uint32_t hb_slot = 0;
};

// Every slot whose spawn record names a start without an end. Some may have ended since without
// a spawner to see it: open_recorded() tells.
std::vector<RecordedProcess> recorded_processes(const shm::ControlSegment& ctl);

// A pidfd on the process `r` names if it still runs, else -ESRCH (or -errno): by pid checked
// against the recorded start time, or, for a start in progress, by the identity hamon put in its
// environment (heartbeat segment, slot, incarnation), checked again once the pidfd is open; then
// r.pid is set to the pid found.
int open_recorded(RecordedProcess& r);

// The process whose environment says it is `incarnation` of heartbeat slot `hb_slot` in
// `segment` (no leading slash): a start whose launch was never recorded. 0 if there is none.
pid_t find_started(const std::string& segment, std::uint32_t hb_slot, std::uint64_t incarnation);

// Whether process `pid`'s environment gives it that identity.
bool has_identity(pid_t pid, const std::string& segment, std::uint32_t hb_slot,
                  std::uint64_t incarnation);

}  // namespace hamon::node

#endif  // HAMON_NODE_RECORDED_PROCESS_HPP
