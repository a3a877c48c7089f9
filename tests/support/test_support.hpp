// Helpers shared by hamon's tests: unique segment names that are always removed, forked children
// that are always killed and reaped, and waiting on a condition with a deadline (never a sleep).
#ifndef HAMON_TESTS_SUPPORT_HPP
#define HAMON_TESTS_SUPPORT_HPP

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <boost/interprocess/shared_memory_object.hpp>

namespace hamon::test {

// A segment name unique to this process and call; the segment is removed when this goes out of
// scope, whether the test passed or failed.
class ScopedName {
 public:
  explicit ScopedName(const std::string& tag) {
    static std::atomic<int> counter{0};
    name_ = "hamon-test." + std::to_string(getpid()) + "." + std::to_string(counter++) + "." + tag;
    boost::interprocess::shared_memory_object::remove(name_.c_str());
  }
  ~ScopedName() { boost::interprocess::shared_memory_object::remove(name_.c_str()); }
  ScopedName(const ScopedName&) = delete;
  ScopedName& operator=(const ScopedName&) = delete;
  [[nodiscard]] const std::string& str() const { return name_; }
  [[nodiscard]] std::string slashed() const { return "/" + name_; }

 private:
  std::string name_;
};

// Polls `pred` until it holds or `limit` passes. Returns whether it held.
inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return pred();
}

// A forked child running `body`, which returns the child's exit code. SIGKILLed and reaped on
// destruction unless already reaped.
class Child {
 public:
  explicit Child(const std::function<int()>& body) {
    pid_ = fork();
    if (pid_ == 0) {
      int rc = 99;
      try {
        rc = body();
      } catch (...) {
        rc = 98;
      }
      _exit(rc);
    }
  }
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  void kill_now() const { kill(pid_, SIGKILL); }
  // Waits for the child to end; returns its wait status.
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
};

}  // namespace hamon::test

#endif  // HAMON_TESTS_SUPPORT_HPP
