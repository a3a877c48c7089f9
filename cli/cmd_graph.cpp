// hamon graph FILE [--dot]: the start plan of a configuration, or its dependency graph in dot.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "hamon/engine/plan.hpp"
#include "hamon/engine/render.hpp"

namespace hamon::cli {
namespace {

struct GraphOptions {
  std::string file;
  bool dot = false;
};

int graph(const GraphOptions& options) {
  const LoadedConfig loaded = load_config(options.file);
  if (!loaded.config) return loaded.exit_code;
  const engine::Config& config = *loaded.config;
  std::cout << (options.dot ? engine::render_dot(config)
                            : engine::render_plan_text(config, engine::make_start_plan(config)));
  return exit_ok;
}

}  // namespace

void add_graph(CLI::App& app, int& exit_code) {
  CLI::App* command =
      app.add_subcommand("graph", "Show the start plan, or the dependency graph in Graphviz dot");
  auto options = std::make_shared<GraphOptions>();
  command->add_option("FILE", options->file, "Configuration file (TOML)")->required();
  command->add_flag("--dot", options->dot, "Print a Graphviz digraph instead of the start plan");
  command->callback([options, &exit_code] { exit_code = graph(*options); });
}

}  // namespace hamon::cli
