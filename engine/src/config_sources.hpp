// Internal: where the values that cross-checks compare were written. The parser fills this
// beside the Config so that validate() can point at the right line without the public model
// carrying a position for every field.
#ifndef HAMON_ENGINE_CONFIG_SOURCES_HPP
#define HAMON_ENGINE_CONFIG_SOURCES_HPP

#include <optional>
#include <vector>

#include "hamon/engine/config.hpp"
#include "hamon/engine/config_error.hpp"

namespace hamon::engine::internal {

// Positions of the setting values a table wrote itself; std::nullopt = inherited.
struct SettingsSources {
  std::optional<SourcePos> interval;
  std::optional<SourcePos> timeout;
  std::optional<SourcePos> restart_delay;
  std::optional<SourcePos> restart_delay_max;
};

struct ProcessSources {
  SourcePos name;
  SettingsSources settings;
  std::vector<SourcePos> depends_on;  // one per ProcessConfig::depends_on entry
  std::optional<SourcePos> spares;
};

struct NodeSources {
  SourcePos id;
  SourcePos address;                 // the value of 'address', a string or an array
  std::vector<SourcePos> addresses;  // one per NodeConfig::addresses entry
};

struct ConfigSources {
  SourcePos file_start;              // 1:1, for what is missing from the whole file
  std::optional<SourcePos> cluster;  // the [cluster] table, if there is one
  std::optional<SourcePos> peer_interval;
  std::optional<SourcePos> peer_timeout;
  SettingsSources defaults;
  std::vector<NodeSources> nodes;         // parallel to Config::cluster.nodes
  std::vector<SourcePos> tenant_names;    // parallel to Config::tenants
  std::vector<ProcessSources> processes;  // parallel to Config::processes
};

// Checks what relates items to each other (duplicates, dependencies, cycles, timings),
// appending to `errors`. The parser has already checked each value on its own.
void validate(const Config& config, const ConfigSources& sources, std::vector<ConfigError>& errors);

}  // namespace hamon::engine::internal

#endif  // HAMON_ENGINE_CONFIG_SOURCES_HPP
