// hamon check-config FILE: validate a configuration without touching the node.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "hamon/engine/render.hpp"

namespace hamon::cli {
namespace {

int check_config(const std::string& path) {
  const LoadedConfig loaded = load_config(path);
  if (!loaded.config) return loaded.exit_code;
  std::cout << path << ": ok (" << engine::render_summary(*loaded.config) << ")\n";
  return exit_ok;
}

}  // namespace

void add_check_config(CLI::App& app, int& exit_code) {
  CLI::App* command =
      app.add_subcommand("check-config", "Validate a configuration file and report every error");
  auto file = std::make_shared<std::string>();
  command->add_option("FILE", *file, "Configuration file (TOML)")->required();
  command->callback([file, &exit_code] { exit_code = check_config(*file); });
}

}  // namespace hamon::cli
