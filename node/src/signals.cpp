#include "hamon/node/signals.hpp"

#include <climits>
#include <cstring>

#include "hamon/shm/futex.hpp"

namespace hamon::node {
namespace {

SignalState* g_state = nullptr;
shm::Doorbell* g_bell = nullptr;

void on_signal(int sig) {
  const int saved = errno;
  if (g_state != nullptr) {
    if (sig == SIGCHLD) g_state->child.store(true);
    if (sig == SIGTERM || sig == SIGINT) g_state->stop.store(true);
    if (sig == SIGHUP) g_state->reload.store(true);
    if (sig == SIGIO) g_state->io.store(true);
  }
  if (g_bell != nullptr) {  // lock-free atomics and a system call: async-signal-safe
    g_bell->seq.fetch_add(1);
    shm::futex_wake(g_bell->seq, INT_MAX);
  }
  errno = saved;
}

}  // namespace

void install_signal_handlers(SignalState& state, shm::Doorbell* bell) {
  g_state = &state;
  g_bell = bell;
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGIO}) sigaction(s, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

sigset_t block_signals_for_ppoll(SignalState& state) {
  sigset_t block, during_wait;
  sigemptyset(&block);
  sigemptyset(&during_wait);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGIO}) sigaddset(&block, s);
  sigprocmask(SIG_BLOCK, &block, nullptr);
  install_signal_handlers(state, nullptr);
  return during_wait;
}

}  // namespace hamon::node
