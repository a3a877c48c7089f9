// UpProgress: what `hamon up` answers, judged from successive views of the node it started, so
// that the same behaviour of the processes gets the same answer every time (docs/cli.md):
//
//   - up (exit 0): every wanted process is ready and has stayed ready, same incarnation, for
//     twice its heartbeat `timeout` (10 s at most): a process that exits, or stops beating,
//     within its `timeout` of becoming ready is seen to fail by then (a silence is found only a
//     `timeout` after the last beat), so a crash loop always shows itself;
//   - failed (exit 5): a process ran out of its restart budget (`failed`), or, at the deadline,
//     a process that is not up has ended at least once since `up` began: it keeps failing, in
//     whatever phase of its back-off the deadline finds it;
//   - not up in time (exit 6): at the deadline, some process is not up but has not failed (still
//     starting, or waiting for one that is slow).
//
// A process that is not wanted (its restart policy left it down, or a cold standby tenant) is
// not waited for.
#ifndef HAMON_CLI_UP_PROGRESS_HPP
#define HAMON_CLI_UP_PROGRESS_HPP

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "hamon/node/node_view.hpp"

namespace hamon::cli {

class UpProgress {
 public:
  enum class Outcome { pending, up, failed, not_up };
  struct Verdict {
    Outcome outcome = Outcome::pending;
    std::string message;  // for failed and not_up: what, and why
  };
  // How long a process must stay ready to count as up, by "group/name".
  using Settle = std::function<std::uint64_t(const std::string& name)>;

  // `adopting`: the node's processes ran before this `up` (it takes them over), so their restart
  // counts so far are not this `up`'s business.
  UpProgress(Settle settle, bool adopting) : settle_(std::move(settle)), adopting_(adopting) {}

  // One look at the node, at `now_ns` (monotonic): pending, up or failed.
  Verdict observe(const node::NodeView& v, std::uint64_t now_ns);
  // The answer at the deadline, from the last look: failed or not_up.
  [[nodiscard]] Verdict at_deadline() const;

 private:
  struct Seen {
    std::uint32_t restarts_before = 0;  // its restart count when `up` first saw it
    std::uint32_t restarts = 0;
    std::uint64_t ready_incarnation = 0;  // the incarnation seen ready since ready_since_ns
    std::uint64_t ready_since_ns = 0;
    std::string state;
    bool settled = false;
    bool waited_for = false;
  };

  Settle settle_;
  bool adopting_;
  std::map<std::pair<std::uint32_t, std::string>, Seen> seen_;  // by (slot, "group/name")
};

}  // namespace hamon::cli

#endif  // HAMON_CLI_UP_PROGRESS_HPP
