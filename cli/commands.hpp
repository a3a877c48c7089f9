// The `hamon` subcommands. Each cmd_*.cpp adds one subcommand to the app; when CLI11 runs it,
// its callback stores the process's exit code in `exit_code`. Exit codes: docs/cli.md.
#ifndef HAMON_CLI_COMMANDS_HPP
#define HAMON_CLI_COMMANDS_HPP

#include <optional>
#include <string>

#include "hamon/engine/config.hpp"

namespace CLI {
class App;
}

namespace hamon::cli {

// Fixed for scripts: never renumber.
inline constexpr int exit_ok = 0;
inline constexpr int exit_config_invalid = 1;  // the configuration has errors
inline constexpr int exit_usage = 2;           // bad command line
inline constexpr int exit_io = 3;              // a file could not be read
inline constexpr int exit_not_running = 4;     // no such node runs (or, for up: it runs already)
inline constexpr int exit_process_failed = 5;  // up/start/restart: a process failed to start
inline constexpr int exit_timeout = 6;         // up/down/...: not done within --timeout
inline constexpr int exit_refused = 7;         // the server refused the request (it says why)

void add_check_config(CLI::App& app, int& exit_code);
void add_graph(CLI::App& app, int& exit_code);
// up and down (add_up, add_down), start, stop, restart, tenant, reload
void add_node_commands(CLI::App& app, int& exit_code);
void add_up(CLI::App& app, int& exit_code);
void add_down(CLI::App& app, int& exit_code);
void add_status(CLI::App& app, int& exit_code);  // status, top, metrics
void add_events(CLI::App& app, int& exit_code);
void add_keygen(CLI::App& app, int& exit_code);
void add_logs(CLI::App& app, int& exit_code);
// Last: it prints what the app knows when it runs.
void add_completion(CLI::App& app, int& exit_code);
// switchover, and `tenant activate` under `tenant`
void add_role_commands(CLI::App& app, CLI::App& tenant, int& exit_code);

struct LoadedConfig {
  std::optional<engine::Config> config;  // set when exit_code is exit_ok
  int exit_code = exit_ok;
};

// Reads and validates the configuration file at `path`. On failure, prints why on stderr
// ("hamon: unable to read F: <reason>", or each error as "F:line:column: error: ...").
[[nodiscard]] LoadedConfig load_config(const std::string& path);

}  // namespace hamon::cli

#endif  // HAMON_CLI_COMMANDS_HPP
