// A following command (events -f, logs -f, top) runs until the operator or a closed pipe stops it,
// then ends its loop and restores what it changed (the terminal) instead of dying mid-line.
#ifndef HAMON_CLI_QUIT_SIGNAL_HPP
#define HAMON_CLI_QUIT_SIGNAL_HPP

#include <initializer_list>

namespace hamon::cli {

// From now on each of `signals` only asks the loop to stop.
void quit_on(std::initializer_list<int> signals);

bool quit_asked();

}  // namespace hamon::cli

#endif
