#include "hamon/node/daemon_log.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace hamon::node {
namespace {

struct LogState {
  bool on = false;
  bool journal = false;
  std::int64_t cap = kLogFileCap;
  std::string daemon;
};
LogState g_log;

const char* level_name(int level) {
  switch (level) {
    case kLogErr: return "error";
    case kLogWarning: return "warning";
    case kLogNotice: return "notice";
    default: return "info";
  }
}

std::string field(const char* s, std::size_t n) { return std::string(s, strnlen(s, n)); }

// The file behind stderr moved aside once it passed the cap, and a new one in its place.
void cap_file() {
  struct stat st {};
  if (::fstat(2, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < g_log.cap) return;
  char path[4096];
  const ssize_t n = ::readlink("/proc/self/fd/2", path, sizeof path - 1);
  if (n <= 0) return;
  path[n] = '\0';
  const std::string old = std::string(path) + ".1";
  if (::rename(path, old.c_str()) != 0) return;
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) return;
  ::dup2(fd, 2);
  ::dup2(fd, 1);
  ::close(fd);
}

// Every byte of `line` to fd 2, or false. A journal that takes nothing for a second loses the
// line rather than the daemon its exit (which waits for this thread).
bool write_all(const std::string& line, bool journal) {
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n =
        journal ? ::send(2, line.data() + done, line.size() - done, MSG_NOSIGNAL | MSG_DONTWAIT)
                : ::write(2, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && journal && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{2, POLLOUT, 0};
      if (::poll(&p, 1, 1000) > 0) continue;
      return false;
    }
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Lines are written by a thread of their own: a daemon's loop (the monitor's, with its
// sub-millisecond deadlines) never waits for a disk or for journald, and the lines of the
// daemon's threads (the monitor's peer link posts too) never mix. What it cannot keep up with
// is dropped and counted in the next line it writes.
class Writer {
 public:
  Writer() = default;
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // At the daemon's exit: what is queued is written first.
  ~Writer() {
    {
      const std::lock_guard lock(m_);
      stop_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

  void push(std::string line) {
    {
      const std::lock_guard lock(m_);
      if (queue_.size() >= kQueueCap) {
        ++dropped_;
        return;
      }
      if (dropped_ != 0) {
        line.insert(line.size() - 1, " (" + std::to_string(dropped_) +
                                         " earlier lines dropped: the log fell behind)");
        dropped_ = 0;
      }
      queue_.push_back(std::move(line));
      if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
    }
    cv_.notify_one();
  }

  // Until every line queued so far is written.
  void flush() {
    std::unique_lock lock(m_);
    written_.wait(lock, [this] { return queue_.empty() && !writing_; });
  }

 private:
  static constexpr std::size_t kQueueCap = 4096;

  void run() {
    std::unique_lock lock(m_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and all written
      std::deque<std::string> batch;
      batch.swap(queue_);
      writing_ = true;
      lock.unlock();
      for (const auto& line : batch) {
        if (!g_log.journal) cap_file();
        (void)write_all(line, g_log.journal);
      }
      lock.lock();
      writing_ = false;
      written_.notify_all();
    }
  }

  std::mutex m_;
  std::condition_variable cv_, written_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  std::uint64_t dropped_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

Writer& writer() {
  static Writer w;
  return w;
}

}  // namespace

void start_daemon_log(std::string_view daemon) {
  g_log.on = true;
  g_log.daemon = daemon;
  g_log.journal = is_journal_stream(2);
  if (const char* cap = std::getenv("HAMON_LOG_FILE_CAP"); cap != nullptr && std::atoll(cap) > 0) {
    g_log.cap = std::atoll(cap);
  }
}

bool is_journal_stream(int fd) noexcept {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (env == nullptr) return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(env, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st {};
  return ::fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

int log_level(shm::EventKind kind) noexcept {
  using K = shm::EventKind;
  switch (kind) {
    case K::failed:
    case K::alarm:
    case K::frame_rejected: return kLogErr;
    case K::exited:
    case K::hung:
    case K::peer_lost:
    case K::link_down:
    case K::daemon_exited:
    case K::refused: return kLogWarning;
    case K::role_changed:
    case K::peer_up:
    case K::restarting:
    case K::stopped:
    case K::promoted:
    case K::config_loaded: return kLogNotice;
    default: return kLogInfo;
  }
}

std::string log_line(const shm::Event& e, std::string_view daemon, bool journal,
                     std::timespec wall) {
  const std::string group = field(e.group, sizeof e.group), name = field(e.name, sizeof e.name),
                    detail = field(e.detail, sizeof e.detail);
  std::string text = shm::to_string(e.kind);
  const std::string who = group.empty() ? name : group + "/" + name;
  if (!who.empty()) text += " " + who;
  if (e.pid != 0) text += " pid " + std::to_string(e.pid);
  if (e.incarnation != 0) text += " incarnation " + std::to_string(e.incarnation);
  if (!detail.empty()) text += ": " + detail;
  const int level = log_level(e.kind);
  // The daemons of a node share one stream to the journal (the unit's), so each line names its
  // daemon there too.
  if (journal) return "<" + std::to_string(level) + ">" + std::string(daemon) + ": " + text;
  std::tm tm{};
  ::gmtime_r(&wall.tv_sec, &tm);
  char stamp[96];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                wall.tv_nsec / 1'000'000);
  return std::string(stamp) + " " + level_name(level) + " " + std::string(daemon) + ": " + text;
}

void log_event(const shm::Event& e) {
  if (!g_log.on) return;
  std::timespec wall{};
  ::clock_gettime(CLOCK_REALTIME, &wall);
  writer().push(log_line(e, g_log.daemon, g_log.journal, wall) + '\n');
}

void flush_daemon_log() { writer().flush(); }

}  // namespace hamon::node
