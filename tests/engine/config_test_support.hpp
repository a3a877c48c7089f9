// Shared by the tests that parse configuration text.
#ifndef HAMON_TESTS_ENGINE_CONFIG_TEST_SUPPORT_HPP
#define HAMON_TESTS_ENGINE_CONFIG_TEST_SUPPORT_HPP

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "hamon/engine/parse_config.hpp"

namespace hamon::engine::test {

inline constexpr std::string_view file_name = "test.toml";

// A valid [cluster] for tests about something else. It is appended after the text under test,
// so the line numbers a test asserts are those of its own text.
inline constexpr std::string_view valid_cluster = R"(
[cluster]
name = "c"

[[cluster.node]]
id = "a"
side = "primary"
address = "127.0.0.1:7401"
)";

inline ParseResult parse(std::string_view text) { return parse_config(text, file_name); }

inline ParseResult parse_with_cluster(std::string_view text) {
  return parse(std::string(text) + std::string(valid_cluster));
}

// Every error as "test.toml:line:column: error: message".
inline std::vector<std::string> errors_of(const ParseResult& result) {
  std::vector<std::string> out;
  for (const ConfigError& e : result.errors) out.push_back(e.to_string());
  return out;
}

// A process for generated configurations: "system/x" or "tenant/x", its priority and the
// qualified names it depends on.
struct ProcessSpec {
  std::string qualified;
  int priority = 50;
  std::vector<std::string> depends_on;
};

// TOML for `specs` (plus valid_cluster): system processes, then one [[tenant]] per tenant in
// order of first appearance, each process in the order given. When the specs list system
// processes first and each tenant's together, spec i becomes Config::processes[i].
inline std::string toml_of(const std::vector<ProcessSpec>& specs) {
  std::vector<std::string> tenants;
  std::map<std::string, std::string> body;  // group -> its process tables
  for (const ProcessSpec& spec : specs) {
    const std::string group = spec.qualified.substr(0, spec.qualified.find('/'));
    const std::string name = spec.qualified.substr(spec.qualified.find('/') + 1);
    if (group != "system" && body.find(group) == body.end()) tenants.push_back(group);
    std::string& out = body[group];
    out += group == "system" ? "[[system.process]]\n" : "[[tenant.process]]\n";
    out += "name = \"" + name + "\"\ncommand = [\"" + name +
           "\"]\npriority = " + std::to_string(spec.priority) + "\n";
    out += "depends_on = [";
    for (std::size_t i = 0; i < spec.depends_on.size(); ++i)
      out += (i > 0 ? ", \"" : "\"") + spec.depends_on[i] + "\"";
    out += "]\n";
  }
  std::string text = body["system"];
  for (const std::string& tenant : tenants)
    text += "[[tenant]]\nname = \"" + tenant + "\"\n" + body[tenant];
  return text + std::string(valid_cluster);
}

}  // namespace hamon::engine::test

#endif  // HAMON_TESTS_ENGINE_CONFIG_TEST_SUPPORT_HPP
