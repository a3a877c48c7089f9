#include "quit_signal.hpp"

#include <csignal>

namespace hamon::cli {
namespace {

volatile sig_atomic_t g_quit = 0;
void on_quit(int) { g_quit = 1; }

}  // namespace

void quit_on(std::initializer_list<int> signals) {
  for (const int s : signals) std::signal(s, on_quit);
}

bool quit_asked() { return g_quit != 0; }

}  // namespace hamon::cli
