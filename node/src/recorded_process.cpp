#include "hamon/node/recorded_process.hpp"

#include <hamon/heartbeat_abi.h>
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "hamon/node/config_file.hpp"
#include "hamon/node/proc.hpp"

namespace hamon::node {

std::vector<RecordedProcess> recorded_processes(const shm::ControlSegment& ctl) {
  std::vector<RecordedProcess> out;
  for (std::uint32_t s = 0; s < ctl.max_processes(); ++s) {
    shm::SpawnRecord sr{};
    if (!ctl.process(s).spawn.read(sr) || sr.incarnation == 0 || sr.exited_ns != 0) continue;
    RecordedProcess r;
    r.slot = s;
    r.incarnation = sr.incarnation;
    r.pid = sr.pid;
    r.start_ticks = sr.start_ticks;
    r.name = "slot " + std::to_string(s);
    shm::ProcessIdentity id{};
    shm::GroupInfo g{};
    if (ctl.process(s).identity.read(id) && id.name[0] != '\0' && id.group < ctl.max_groups() &&
        ctl.group(id.group).info.read(g)) {
      r.name = std::string(g.name, strnlen(g.name, sizeof g.name)) + "/" +
               std::string(id.name, strnlen(id.name, sizeof id.name));
      r.heartbeat_segment.assign(g.heartbeat_segment,
                                 strnlen(g.heartbeat_segment, sizeof g.heartbeat_segment));
      r.hb_slot = id.hb_slot;
    }
    out.push_back(std::move(r));
  }
  return out;
}

bool has_identity(pid_t pid, const std::string& segment, std::uint32_t hb_slot,
                  std::uint64_t incarnation) {
  const std::string want_seg = std::string(HAMON_ENV_SEGMENT) + "=/" + segment;
  const std::string want_slot = std::string(HAMON_ENV_SLOT) + "=" + std::to_string(hb_slot);
  const std::string want_inc =
      std::string(HAMON_ENV_INCARNATION) + "=" + std::to_string(incarnation);
  std::string env;
  if (read_whole_file("/proc/" + std::to_string(pid) + "/environ", env) != 0) return false;
  int hits = 0;
  std::size_t at = 0;
  while (at < env.size()) {
    const std::size_t end = env.find('\0', at);
    const std::string_view kv(env.data() + at, (end == std::string::npos ? env.size() : end) - at);
    hits += kv == want_seg || kv == want_slot || kv == want_inc;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return hits == 3;
}

pid_t find_started(const std::string& segment, std::uint32_t hb_slot, std::uint64_t incarnation) {
  pid_t found = 0;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return 0;
  while (const dirent* e = ::readdir(d)) {
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid > 0 && has_identity(pid, segment, hb_slot, incarnation)) {
      found = pid;
      break;
    }
  }
  ::closedir(d);
  return found;
}

int open_recorded(RecordedProcess& r) {
  if (r.pid > 0) return pidfd_open_checked(r.pid, r.start_ticks);
  if (r.heartbeat_segment.empty()) return -ESRCH;
  const pid_t pid = find_started(r.heartbeat_segment, r.hb_slot, r.incarnation);
  if (pid <= 0) return -ESRCH;
  const int fd = pidfd_open(pid);
  if (fd < 0) return fd;
  // Opened first, checked second: if the environment still matches, the pidfd names that process
  // and not a later one that got its pid.
  if (!has_identity(pid, r.heartbeat_segment, r.hb_slot, r.incarnation)) {
    ::close(fd);
    return -ESRCH;
  }
  r.pid = pid;
  return fd;
}

}  // namespace hamon::node
