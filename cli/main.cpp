// hamon: the command line of a hamon node. Subcommands live in cmd_*.cpp (see commands.hpp).
#include <CLI/CLI.hpp>

#include "commands.hpp"

int main(int argc, char** argv) {
  namespace cli = hamon::cli;
  CLI::App app{"hamon keeps the processes of a duplexed call-center node alive.", "hamon"};
  app.set_version_flag("--version", "hamon " HAMON_VERSION);
  // At most one; "none" is checked after parsing so that a mistyped subcommand is reported by
  // name ("not expected: frobnicate") rather than as a missing one.
  app.require_subcommand(0, 1);

  int exit_code = cli::exit_ok;
  cli::add_check_config(app, exit_code);
  cli::add_graph(app, exit_code);
  cli::add_node_commands(app, exit_code);
  cli::add_status(app, exit_code);
  cli::add_events(app, exit_code);
  cli::add_keygen(app, exit_code);
  cli::add_logs(app, exit_code);
  cli::add_completion(app, exit_code);

  try {
    app.parse(argc, argv);
    if (app.get_subcommands().empty()) throw CLI::RequiredError("A subcommand");
  } catch (const CLI::ParseError& e) {
    // --help and --version also arrive here, as "errors" whose exit code is 0.
    return app.exit(e) == 0 ? cli::exit_ok : cli::exit_usage;
  }
  return exit_code;
}
