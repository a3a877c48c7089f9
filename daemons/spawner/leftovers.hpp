// Leftovers: what a process leaves behind when it ends — the other members of its cgroup, or,
// where there are no cgroups, of its process group — until they have ended too.
//
// A process that ends on its own (a crash, an exit, a forking daemon's parent) takes what it
// leaves with it at once: its restart must never run beside the old incarnation's children.
// A process that ends during a stop gives what it leaves the rest of the stop's grace, and the
// SIGKILL at the stop timeout reaches them even though their leader is gone. An emptied cgroup
// is removed, unless a new start of the same process took it over first.
//
// Thread-safety: one thread (the spawner's loop).
#ifndef HAMON_SPAWNER_LEFTOVERS_HPP
#define HAMON_SPAWNER_LEFTOVERS_HPP

#include <cstdint>
#include <map>
#include <string>

namespace hamon::spawner {

class Leftovers {
 public:
  Leftovers() = default;
  ~Leftovers();
  Leftovers(const Leftovers&) = delete;
  Leftovers& operator=(const Leftovers&) = delete;

  // Takes over what a process left: its cgroup (`cgroup`, "" if none) and its leader's `pidfd`
  // (ownership passes here; -1 if none), which names the leader's process group. Killed at
  // `kill_at`, at once if that is not after `now`. `key` names the process (its cgroup, or its
  // slot without one). Returns how many processes were left (-1: some, without a cgroup to count
  // them; 0: nothing was left, and nothing is kept).
  int add(const std::string& key, const std::string& cgroup, int pidfd, std::uint64_t kill_at,
          std::uint64_t now);

  // A new start of the process `key` names is about to take over its cgroup: whatever is left is
  // killed now and the cgroup is no longer this class's to remove.
  void end_now(const std::string& key);

  // Kills what is due, forgets what has ended (removing its cgroup). Returns the work done.
  int do_work(std::uint64_t now);
  // When do_work next has something to do.
  [[nodiscard]] std::uint64_t next_deadline() const;

 private:
  struct Left {
    std::string cgroup;
    int pidfd = -1;
    std::uint64_t kill_at = 0;  // 0: killed already
    std::uint64_t check_at = 0;
  };
  // How often a kept cgroup or group is looked at to see whether it has emptied: its members are
  // not our children, nothing wakes us when they end.
  static constexpr std::uint64_t kCheckKilled = 1'000'000;
  static constexpr std::uint64_t kCheckInGrace = 10'000'000;

  static void kill(Left& l);
  static bool empty(const Left& l);
  static void release(Left& l);

  std::map<std::string, Left> left_;  // by key: a start ends its process's before it runs
};

}  // namespace hamon::spawner

#endif  // HAMON_SPAWNER_LEFTOVERS_HPP
