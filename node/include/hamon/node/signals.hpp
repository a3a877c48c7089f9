// Signals in a daemon only set state and ring the daemon's inbox doorbell, so the one place the
// loop waits (the doorbell) wakes at once; no work is done in a handler.
#ifndef HAMON_NODE_SIGNALS_HPP
#define HAMON_NODE_SIGNALS_HPP

#include <signal.h>

#include <atomic>
#include <initializer_list>

#include "hamon/shm/doorbell.hpp"

namespace hamon::node {

struct SignalState {
  std::atomic<bool> stop{false};    // SIGTERM, SIGINT
  std::atomic<bool> child{false};   // SIGCHLD
  std::atomic<bool> reload{false};  // SIGHUP
  std::atomic<bool> io{false};      // SIGIO: a socket asked for with O_ASYNC has activity
};

// Installs handlers for SIGTERM, SIGINT, SIGHUP, SIGCHLD and SIGIO that record into `state` and
// ring `bell` (may be null). SIGPIPE is ignored.
void install_signal_handlers(SignalState& state, shm::Doorbell* bell);

// For a loop that waits in ppoll: installs the handlers (no doorbell) and blocks SIGTERM, SIGINT,
// SIGHUP and SIGCHLD everywhere but inside the wait, so none is lost between a check and the
// wait. Returns the mask to pass to ppoll.
sigset_t block_signals_for_ppoll(SignalState& state);

}  // namespace hamon::node

#endif  // HAMON_NODE_SIGNALS_HPP
