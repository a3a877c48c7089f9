#include "hamon/node/daemon.hpp"

#include <poll.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "hamon/node/apply_scheduling.hpp"
#include "hamon/node/daemon_log.hpp"
#include "hamon/node/instance_lock.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/runtime_upkeep.hpp"

namespace hamon::node {

DaemonStart::DaemonStart(const char* binary, shm::DaemonId self, int argc, char** argv,
                         DaemonOptions options, const BeforeConfig& before_config)
    : binary_(binary), self_(self) {
  start_daemon_log(binary);
  search_first_in(self_dir());
  const DaemonArgs args =
      parse_daemon_args(binary, argc, argv, options.accepts_adopt ? &adopt_ : nullptr);
  // Exactly one per node: a second instance (started by a master that did not know of this
  // one) stops here.
  if (!args.cluster.empty() && !args.node.empty()) {
    instance_lock_ = take_instance_lock_or_exit(args.cluster, args.node, binary);
    if (options.attach_control) {
      ctl_.emplace(attach_control_or_exit(binary, args.cluster, args.node));
      if (before_config) before_config(*ctl_);
    }
    node_ = load_daemon_node(binary, args);
  } else {
    node_ = load_daemon_node(binary, args);
    instance_lock_ = take_instance_lock_or_exit(node_.cluster(), node_.id, binary);
    if (options.attach_control)
      ctl_.emplace(attach_control_or_exit(binary, node_.cluster(), node_.id));
  }
  // As [cluster] says hamon's own daemons run: before this daemon starts its threads, which
  // inherit it.
  const engine::Scheduling& own = node_.config.cluster.daemon_scheduling;
  capture_scheduling_before(own);
  const char* failed = nullptr;
  if (const int err = apply_scheduling(own, failed); err != 0) {
    const std::string why = std::string("cannot apply [cluster] daemon_") + failed + ": " +
                            std::strerror(err) + "; running without it";
    std::fprintf(stderr, "%s: %s\n", binary, why.c_str());
    if (ctl_) {
      post_event(*ctl_, self,
                 {.kind = shm::EventKind::alarm, .name = binary, .pid = ::getpid(), .detail = why});
    }
  }
  if (options.doorbell_signals) {
    install_signal_handlers(signals_, ctl_ ? &ctl_->daemon(self).inbox : nullptr);
  } else {
    wait_mask_ = block_signals_for_ppoll(signals_);
  }
}

DaemonStart::~DaemonStart() {
  sigset_t all;
  sigfillset(&all);
  ::sigprocmask(SIG_BLOCK, &all, nullptr);
}

void DaemonStart::tend(std::uint64_t now) {
  if (now < next_tend_ns_) return;
  next_tend_ns_ = now + 100'000'000;
  keep_own_log(node_.log_dir() + "/" + binary_ + ".log");
  auto r = keep_instance_lock(node_, binary_, instance_lock_);
  const std::string error = r ? "" : r.error().message;
  if (!error.empty() && error != lock_error_)
    std::fprintf(stderr, "%s: %s\n", binary_, error.c_str());
  lock_error_ = error;
}

void FdIdle::idle(std::uint64_t now, std::uint64_t deadline, std::span<const int> fds) const {
  std::vector<pollfd> p;
  for (int fd : fds) {
    if (fd >= 0) p.push_back(pollfd{fd, POLLIN, 0});
  }
  const std::uint64_t wake = std::min(deadline, now + kIdleTurnNs / 2);
  const std::uint64_t wait = wake > now ? wake - now : 0;
  const timespec ts{static_cast<time_t>(wait / 1'000'000'000),
                    static_cast<long>(wait % 1'000'000'000)};
  ::ppoll(p.data(), p.size(), &ts, &mask_);
}

}  // namespace hamon::node
