// hamon keygen FILE: make the cluster's shared key, which authenticates the peer link.
#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "hamon/peer/key_file.hpp"

namespace hamon::cli {
namespace {

int keygen(const std::string& path) {
  const base::Status made = peer::create_key_file(path);
  if (!made) {
    std::cerr << "hamon: " << made.error().message << '\n';
    return exit_io;
  }
  std::cout << path
            << ": a new cluster key (mode 0600). Copy it to every node of the cluster, keeping "
               "it private, and name it in [cluster] auth_key_file.\n";
  return exit_ok;
}

}  // namespace

void add_keygen(CLI::App& app, int& exit_code) {
  CLI::App* command = app.add_subcommand(
      "keygen", "Write a new random key for the peer link to FILE (mode 0600, never overwritten)");
  auto file = std::make_shared<std::string>();
  command->add_option("FILE", *file, "Where to write the key")->required();
  command->callback([file, &exit_code] { exit_code = keygen(*file); });
}

}  // namespace hamon::cli
