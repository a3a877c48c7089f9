#include "hamon/node/apply_scheduling.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <variant>

namespace hamon::node {
namespace {

// `v` in decimal into `out` (room for 12): snprintf is not async-signal-safe.
std::size_t decimal(int v, char* out) noexcept {
  char digits[12];
  std::size_t n = 0;
  unsigned u = v < 0 ? 0U - static_cast<unsigned>(v) : static_cast<unsigned>(v);
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  std::size_t k = 0;
  if (v < 0) out[k++] = '-';
  while (n != 0) out[k++] = digits[--n];
  return k;
}

int policy_of(engine::SchedPolicy p) noexcept {
  switch (p) {
    case engine::SchedPolicy::fifo: return SCHED_FIFO;
    case engine::SchedPolicy::rr: return SCHED_RR;
    case engine::SchedPolicy::batch: return SCHED_BATCH;
    case engine::SchedPolicy::idle: return SCHED_IDLE;
    case engine::SchedPolicy::other: break;
  }
  return SCHED_OTHER;
}

}  // namespace

int apply_scheduling(const engine::Scheduling& sc, const char*& failed) noexcept {
  failed = "oom_score_adjust";
  if (sc.oom_score_adjust) {
    char text[12];
    const std::size_t n = decimal(*sc.oom_score_adjust, text);
    const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return errno;
    const bool written = ::write(fd, text, n) == static_cast<ssize_t>(n);
    const int err = errno;
    ::close(fd);
    if (!written) return err;
  }
  failed = "sched";
  if (sc.sched) {
    sched_param param{};
    param.sched_priority = sc.sched->rt_priority;
    if (::sched_setscheduler(0, policy_of(sc.sched->policy), &param) != 0) return errno;
  }
  failed = "nice";
  if (sc.nice && ::setpriority(PRIO_PROCESS, 0, *sc.nice) != 0) return errno;
  failed = "cpus";
  if (!sc.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    for (const int cpu : sc.cpus) CPU_SET(static_cast<unsigned>(cpu), &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) return errno;
  }
  failed = nullptr;
  return 0;
}

std::uint32_t realtime_at_ready(const engine::ProcessConfig& p) noexcept {
  const auto& s = p.scheduling.sched;
  if (!s || p.ready == engine::Readiness::on_spawn) return 0;
  if (s->policy != engine::SchedPolicy::fifo && s->policy != engine::SchedPolicy::rr) return 0;
  return static_cast<std::uint32_t>(policy_of(s->policy)) << 8 |
         static_cast<std::uint32_t>(s->rt_priority & 0xff);
}

namespace {

// Calls fn(tid) for each thread of `pid` until it returns false; the errno of opening the
// process's task directory, or 0.
template <typename Fn>
int for_each_thread(pid_t pid, Fn fn) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return errno;
  while (const dirent* e = ::readdir(d)) {
    char* end = nullptr;
    const long tid = std::strtol(e->d_name, &end, 10);
    if (end == e->d_name || *end != '\0' || tid <= 0) continue;
    if (!fn(static_cast<pid_t>(tid))) break;
  }
  ::closedir(d);
  return 0;
}

}  // namespace

int apply_realtime(pid_t pid, std::uint32_t realtime, std::string& detail) {
  const int policy = static_cast<int>(realtime >> 8);
  if (policy != SCHED_FIFO && policy != SCHED_RR) {
    detail = "not a real-time policy: " + std::to_string(realtime);
    return EINVAL;
  }
  sched_param param{};
  param.sched_priority = static_cast<int>(realtime & 0xff);
  int err = 0;
  const int opened = for_each_thread(pid, [&](pid_t tid) {
    if (::sched_setscheduler(tid, policy, &param) == 0 || errno == ESRCH) return true;
    err = errno;
    detail = "thread " + std::to_string(tid) + ": " + std::strerror(err);
    return false;
  });
  if (opened != 0) {
    detail = "/proc/" + std::to_string(pid) + "/task: " + std::strerror(opened);
    return opened;
  }
  return err;
}

void drop_realtime(pid_t pid) {
  const sched_param param{};
  (void)for_each_thread(pid, [&](pid_t tid) {
    const int policy = ::sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK;
    if (policy == SCHED_FIFO || policy == SCHED_RR) {
      (void)::sched_setscheduler(tid, SCHED_OTHER, &param);
    }
    return true;
  });
}

engine::Scheduling current_scheduling(const engine::Scheduling& changing) {
  engine::Scheduling out;
  if (changing.oom_score_adjust) {
    char text[16] = {};
    const int fd = ::open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (::read(fd, text, sizeof text - 1) > 0) out.oom_score_adjust = std::atoi(text);
      ::close(fd);
    }
  }
  if (changing.sched) {
    sched_param param{};
    const int policy = ::sched_getscheduler(0);
    (void)::sched_getparam(0, &param);
    engine::Sched s;
    switch (policy & ~SCHED_RESET_ON_FORK) {
      case SCHED_FIFO: s = {engine::SchedPolicy::fifo, param.sched_priority}; break;
      case SCHED_RR: s = {engine::SchedPolicy::rr, param.sched_priority}; break;
      case SCHED_BATCH: s = {engine::SchedPolicy::batch, 0}; break;
      case SCHED_IDLE: s = {engine::SchedPolicy::idle, 0}; break;
      default: break;
    }
    out.sched = s;
  }
  if (changing.nice) {
    errno = 0;
    const int nice = ::getpriority(PRIO_PROCESS, 0);
    if (errno == 0) out.nice = nice;
  }
  if (!changing.cpus.empty()) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
      for (int c = 0; c < engine::kMaxCpus; ++c) {
        if (CPU_ISSET(static_cast<unsigned>(c), &set)) out.cpus.push_back(c);
      }
    }
  }
  return out;
}

engine::Scheduling with_inherited(const engine::Scheduling& own,
                                  const engine::Scheduling& inherited) {
  engine::Scheduling out = own;
  if (!out.sched) out.sched = inherited.sched;
  if (!out.nice) out.nice = inherited.nice;
  if (out.cpus.empty()) out.cpus = inherited.cpus;
  if (!out.oom_score_adjust) out.oom_score_adjust = inherited.oom_score_adjust;
  return out;
}

namespace {

engine::Scheduling g_before;

// The first daemon (the watcher) captures the settings; the daemons it starts, and theirs,
// inherit the capture through the environment, not its own already-changed settings.
constexpr const char* kBeforeEnv = "HAMON_SCHEDULING_BEFORE";

std::string encode(const engine::Scheduling& s) {
  std::string out = "v1";
  if (s.sched) out += ";sched=" + engine::to_string(*s.sched);
  if (s.nice) out += ";nice=" + std::to_string(*s.nice);
  if (s.oom_score_adjust) out += ";oom=" + std::to_string(*s.oom_score_adjust);
  if (!s.cpus.empty()) {
    out += ";cpus=";
    for (std::size_t i = 0; i < s.cpus.size(); ++i) {
      if (i != 0) out += ',';
      out += std::to_string(s.cpus[i]);
    }
  }
  return out;
}

std::optional<engine::Scheduling> decode(const std::string& text) {
  if (text.rfind("v1", 0) != 0) return std::nullopt;
  engine::Scheduling s;
  std::size_t at = 2;
  while (at < text.size() && text[at] == ';') {
    const auto end = std::min(text.find(';', at + 1), text.size());
    const std::string item = text.substr(at + 1, end - at - 1);
    const auto eq = item.find('=');
    const std::string key = item.substr(0, eq),
                      value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (key == "sched") {
      auto v = engine::parse_sched(value);
      if (auto* x = std::get_if<engine::Sched>(&v)) s.sched = *x;
    } else if (key == "nice") {
      s.nice = std::atoi(value.c_str());
    } else if (key == "oom") {
      s.oom_score_adjust = std::atoi(value.c_str());
    } else if (key == "cpus") {
      auto v = engine::parse_cpus(value);
      if (auto* x = std::get_if<std::vector<int>>(&v)) s.cpus = *x;
    }
    at = end;
  }
  return s;
}

}  // namespace

const engine::Scheduling& scheduling_before_daemon_settings() { return g_before; }

void capture_scheduling_before(const engine::Scheduling& changing) {
  if (const char* env = std::getenv(kBeforeEnv)) {
    if (auto s = decode(env)) {
      g_before = *s;
      return;
    }
  }
  g_before = current_scheduling(changing);
  (void)::setenv(kBeforeEnv, encode(g_before).c_str(), 1);
}

}  // namespace hamon::node
