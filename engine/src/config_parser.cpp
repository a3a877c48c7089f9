// TOML to the configuration model. This is the only translation unit that includes toml++
// (it is heavy to compile). It checks the shape of the document and each value on its own;
// config_validate.cpp checks how items relate to each other.
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <variant>

#include "config_scan.hpp"
#include "config_sources.hpp"
#include "hamon/engine/config_limits.hpp"
#include "hamon/engine/scheduling.hpp"
#include "hamon/engine/duration.hpp"
#include "hamon/engine/names.hpp"
#include "hamon/engine/parse_config.hpp"

namespace hamon::engine {
namespace {

using internal::ConfigSources;
using internal::ProcessSources;
using internal::SettingsSources;
using Keys = std::span<const std::string_view>;

constexpr std::array<std::string_view, 4> top_keys{"cluster", "defaults", "system", "tenant"};
constexpr std::array<std::string_view, 21> cluster_keys{"name",
                                                        "peer_interval",
                                                        "peer_timeout",
                                                        "auth",
                                                        "auth_key_file",
                                                        "node",
                                                        "on_peer_lost",
                                                        "wait_for_peer",
                                                        "fence_command",
                                                        "fence_timeout",
                                                        "fence_options",
                                                        "witness_command",
                                                        "witness_timeout",
                                                        "drain_timeout",
                                                        "hook_timeout",
                                                        "max_role_changes",
                                                        "daemon_sched",
                                                        "daemon_nice",
                                                        "daemon_cpus",
                                                        "daemon_oom_score_adjust",
                                                        "role_change_window"};
constexpr std::array<std::string_view, 3> node_keys{"id", "side", "address"};
constexpr std::array<std::string_view, 1> system_keys{"process"};
constexpr std::array<std::string_view, 8> tenant_keys{
    "name", "user", "operators", "standby", "process", "preferred_side", "on_role_change", "caps"};
constexpr std::array<std::string_view, 3> caps_keys{"memory", "cpu_weight", "pids"};
// Keys a process and [defaults] share; docs/configuration.md lists them in this order.
constexpr std::array<std::string_view, 22> settings_keys{"interval",
                                                         "timeout",
                                                         "restart",
                                                         "ready",
                                                         "priority",
                                                         "critical",
                                                         "failover",
                                                         "restart_delay",
                                                         "restart_delay_max",
                                                         "restart_budget",
                                                         "restart_window",
                                                         "stop_timeout",
                                                         "restart_with_dependencies",
                                                         "env",
                                                         "working_dir",
                                                         "user",
                                                         "group",
                                                         "limits",
                                                         "sched",
                                                         "nice",
                                                         "cpus",
                                                         "oom_score_adjust"};
constexpr std::array<std::string_view, 4> process_only_keys{"name", "command", "depends_on",
                                                            "spares"};
constexpr std::array<std::string_view, 4> limit_keys{"nofile", "nproc", "core", "memlock"};

// hamon passes a process what the client header needs in HAMON_* variables.
constexpr std::string_view reserved_env_prefix = "HAMON_";

template <class E>
struct Choice {
  std::string_view text;
  E value;
};

constexpr std::array<Choice<Side>, 2> side_choices{
    {{"primary", Side::primary}, {"secondary", Side::secondary}}};
constexpr std::array<Choice<RestartPolicy>, 3> restart_choices{
    {{"always", RestartPolicy::always},
     {"on-failure", RestartPolicy::on_failure},
     {"never", RestartPolicy::never}}};
constexpr std::array<Choice<Readiness>, 3> ready_choices{{{"spawn", Readiness::on_spawn},
                                                          {"heartbeat", Readiness::on_heartbeat},
                                                          {"explicit", Readiness::on_ready_call}}};
constexpr std::array<Choice<Standby>, 2> standby_choices{
    {{"hot", Standby::hot}, {"cold", Standby::cold}}};
constexpr std::array<Choice<PeerLostPolicy>, 3> peer_lost_choices{
    {{"takeover", PeerLostPolicy::takeover},
     {"fence", PeerLostPolicy::fence},
     {"witness", PeerLostPolicy::witness}}};
constexpr std::array<Choice<Failover>, 2> failover_choices{
    {{"budget", Failover::budget}, {"immediate", Failover::immediate}}};
constexpr std::array<Choice<PeerAuth>, 2> auth_choices{
    {{"key", PeerAuth::key}, {"none", PeerAuth::none}}};

template <class T>
struct Located {
  T value;
  SourcePos where;
};

// A table and how messages name it: "in [cluster]", "at the top level".
struct Section {
  const toml::table& table;
  std::string in;
};

std::string_view type_name(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "table";
    case toml::node_type::array:
      return node.as_array()->is_array_of_tables() && !node.as_array()->empty() ? "array of tables"
                                                                                : "array";
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// "a, b or c"
template <class E, std::size_t N>
std::string list_choices(const std::array<Choice<E>, N>& choices) {
  std::string out;
  for (std::size_t i = 0; i < N; ++i) {
    if (i > 0) out += i + 1 == N ? " or " : ", ";
    out += choices[i].text;
  }
  return out;
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

enum class Zero : bool { rejected, allowed };

class Parser {
 public:
  explicit Parser(std::string_view file) : file_(file) {}

  ParseResult run(const toml::table& root);

 private:
  SourcePos pos(const toml::source_region& region) const {
    return {file_, region.begin.line, region.begin.column};
  }
  SourcePos pos(const toml::node& node) const { return pos(node.source()); }

  // Messages quote names and values from the file: printable() keeps them on one line and
  // harmless to a terminal.
  void error(SourcePos where, std::string_view message) {
    errors_.push_back({std::move(where), printable(message)});
  }

  void reject_unknown_keys(const Section& s, std::initializer_list<Keys> known);
  const toml::node* required(const Section& s, std::string_view key);
  void wrong_type(const Section& s, std::string_view key, const toml::node& node,
                  std::string_view expected);

  // Each getter returns std::nullopt when the key is absent or (after reporting it) invalid.
  std::optional<Located<std::string>> get_string(const Section& s, std::string_view key);
  std::optional<Located<std::string>> get_non_empty(const Section& s, std::string_view key);
  std::optional<Located<std::string>> get_name(const Section& s, std::string_view key,
                                               std::string_view what);
  std::optional<Located<std::int64_t>> get_integer(const Section& s, std::string_view key,
                                                   std::int64_t min, std::int64_t max);
  std::optional<Located<bool>> get_bool(const Section& s, std::string_view key);
  std::optional<Located<std::chrono::nanoseconds>> get_duration(const Section& s,
                                                                std::string_view key, Zero zero);
  template <class E, std::size_t N>
  std::optional<Located<E>> get_choice(const Section& s, std::string_view key,
                                       const std::array<Choice<E>, N>& choices);
  std::optional<std::vector<Located<std::string>>> get_string_list(const Section& s,
                                                                   std::string_view key);
  // [[cluster.node]] address: "HOST:PORT" or an array of 1 to max_peer_links of them.
  std::optional<std::vector<Located<HostPort>>> get_addresses(const Section& s);
  const toml::table* get_table(const Section& s, std::string_view key);
  std::vector<const toml::table*> get_tables(const Section& s, std::string_view key,
                                             std::string_view header);
  bool check_no_nul(std::string_view key, const Located<std::string>& value);
  // execve() refuses a longer argument or environment string: say so now, not at each start.
  bool check_exec_length(const Located<std::string>& text, const std::string& what,
                         std::string_view as = "");

  void read_cluster(const toml::table& table);
  void read_roles(const Section& s);
  void check_auth(const Section& s, const std::optional<Located<PeerAuth>>& auth,
                  std::size_t node_tables);
  void read_node(const toml::table& table);
  void read_settings(const Section& s, ProcessSettings& out, SettingsSources& where);
  void read_env(const toml::table& table, std::map<std::string, std::string>& env);
  void read_limits(const Section& s, Limits& limits);
  void read_caps(const Section& s, TenantCaps& caps);
  // `prefix`: "" for a process's keys, "daemon_" for [cluster]'s.
  void read_scheduling(const Section& s, Scheduling& out, const std::string& prefix = "");
  void read_tenant(const toml::table& table);
  void read_process(const toml::table& table, std::string_view header, const std::string& group,
                    const TenantConfig* tenant, bool keep);
  void read_dependencies(const std::vector<Located<std::string>>& written, ProcessConfig& process,
                         ProcessSources& sources);
  // Places each process's spare instances right after it (ProcessConfig::spares).
  void add_spares();

  std::string file_;
  Config config_;
  ConfigSources sources_;
  std::vector<ConfigError> errors_;
};

void Parser::reject_unknown_keys(const Section& s, std::initializer_list<Keys> known) {
  for (auto&& entry : s.table) {
    // Not a structured binding: clang before 16 cannot capture one in the lambda.
    const toml::key& key = entry.first;
    const bool is_known = std::any_of(known.begin(), known.end(), [&](Keys keys) {
      return std::find(keys.begin(), keys.end(), key.str()) != keys.end();
    });
    if (!is_known) error(pos(key.source()), "unknown key '" + std::string(key.str()) + "' " + s.in);
  }
}

const toml::node* Parser::required(const Section& s, std::string_view key) {
  const toml::node* node = s.table.get(key);
  if (node == nullptr)
    error(pos(s.table), "missing required key '" + std::string(key) + "' " + s.in);
  return node;
}

void Parser::wrong_type(const Section& s, std::string_view key, const toml::node& node,
                        std::string_view expected) {
  error(pos(node), "wrong type for '" + std::string(key) + "' " + s.in + ": expected " +
                       std::string(expected) + ", found " + std::string(type_name(node)));
}

bool Parser::check_exec_length(const Located<std::string>& text, const std::string& what,
                               std::string_view as) {
  if (text.value.size() <= max_exec_string) return true;
  error(text.where, what + " is " + std::to_string(text.value.size()) + " bytes" + std::string(as) +
                        ": Linux's exec takes " + std::to_string(max_exec_string) + " at most");
  return false;
}

bool Parser::check_no_nul(std::string_view key, const Located<std::string>& value) {
  // The string goes to the operating system as a C string, which would silently cut it.
  if (value.value.find('\0') == std::string::npos) return true;
  error(value.where, "'" + std::string(key) + "' must not contain a NUL character");
  return false;
}

std::optional<Located<std::string>> Parser::get_string(const Section& s, std::string_view key) {
  const toml::node* node = s.table.get(key);
  if (node == nullptr) return std::nullopt;
  const auto* str = node->as_string();
  if (str == nullptr) {
    wrong_type(s, key, *node, "string");
    return std::nullopt;
  }
  Located<std::string> result{str->get(), pos(*node)};
  if (!check_no_nul(key, result)) return std::nullopt;
  return result;
}

std::optional<Located<std::string>> Parser::get_non_empty(const Section& s, std::string_view key) {
  auto value = get_string(s, key);
  if (value && value->value.empty()) {
    error(value->where, "'" + std::string(key) + "' must not be empty");
    return std::nullopt;
  }
  return value;
}

std::optional<Located<std::string>> Parser::get_name(const Section& s, std::string_view key,
                                                     std::string_view what) {
  auto value = get_string(s, key);
  if (value && !is_valid_name(value->value)) {
    error(value->where, "invalid " + std::string(what) + " '" + value->value + "': use " +
                            std::string(name_rule));
    return std::nullopt;
  }
  return value;
}

std::optional<Located<std::int64_t>> Parser::get_integer(const Section& s, std::string_view key,
                                                         std::int64_t min, std::int64_t max) {
  const toml::node* node = s.table.get(key);
  if (node == nullptr) return std::nullopt;
  const auto* integer = node->as_integer();
  if (integer == nullptr) {
    wrong_type(s, key, *node, "integer");
    return std::nullopt;
  }
  const std::int64_t value = integer->get();
  if (value < min || value > max) {
    error(pos(*node), std::string(key) + " " + std::to_string(value) + " is out of range " +
                          std::to_string(min) + ".." + std::to_string(max));
    return std::nullopt;
  }
  return Located<std::int64_t>{value, pos(*node)};
}

std::optional<Located<bool>> Parser::get_bool(const Section& s, std::string_view key) {
  const toml::node* node = s.table.get(key);
  if (node == nullptr) return std::nullopt;
  const auto* boolean = node->as_boolean();
  if (boolean == nullptr) {
    wrong_type(s, key, *node, "boolean");
    return std::nullopt;
  }
  return Located<bool>{boolean->get(), pos(*node)};
}

std::optional<Located<std::chrono::nanoseconds>> Parser::get_duration(const Section& s,
                                                                      std::string_view key,
                                                                      Zero zero) {
  const toml::node* node = s.table.get(key);
  if (node == nullptr) return std::nullopt;
  const auto* str = node->as_string();
  if (str == nullptr) {
    wrong_type(s, key, *node, "duration string such as \"100ms\"");
    return std::nullopt;
  }
  const DurationResult parsed = parse_duration(str->get());
  if (!parsed.ok()) {
    error(pos(*node), "invalid " + std::string(key) + " '" + str->get() + "': " + parsed.error);
    return std::nullopt;
  }
  if (zero == Zero::rejected && parsed.value.count() == 0) {
    error(pos(*node), std::string(key) + " must be longer than 0");
    return std::nullopt;
  }
  return Located<std::chrono::nanoseconds>{parsed.value, pos(*node)};
}

template <class E, std::size_t N>
std::optional<Located<E>> Parser::get_choice(const Section& s, std::string_view key,
                                             const std::array<Choice<E>, N>& choices) {
  const auto text = get_string(s, key);
  if (!text) return std::nullopt;
  for (const Choice<E>& choice : choices) {
    if (choice.text == text->value) return Located<E>{choice.value, text->where};
  }
  error(text->where, "invalid " + std::string(key) + " '" + text->value + "': expected " +
                         list_choices(choices));
  return std::nullopt;
}

std::optional<std::vector<Located<std::string>>> Parser::get_string_list(const Section& s,
                                                                         std::string_view key) {
  const toml::node* node = s.table.get(key);
  if (node == nullptr) return std::nullopt;
  const auto* array = node->as_array();
  if (array == nullptr) {
    wrong_type(s, key, *node, "array of strings");
    return std::nullopt;
  }
  std::vector<Located<std::string>> result;
  bool ok = true;
  for (const toml::node& element : *array) {
    const auto* str = element.as_string();
    if (str == nullptr) {
      error(pos(element), "wrong type for an element of '" + std::string(key) + "' " + s.in +
                              ": expected string, found " + std::string(type_name(element)));
      ok = false;
      continue;
    }
    result.push_back({str->get(), pos(element)});
    ok = check_no_nul(key, result.back()) && ok;
  }
  if (!ok) return std::nullopt;
  return result;
}

const toml::table* Parser::get_table(const Section& s, std::string_view key) {
  const toml::node* node = s.table.get(key);
  if (node == nullptr) return nullptr;
  if (const auto* table = node->as_table()) return table;
  wrong_type(s, key, *node, "table");
  return nullptr;
}

std::vector<const toml::table*> Parser::get_tables(const Section& s, std::string_view key,
                                                   std::string_view header) {
  std::vector<const toml::table*> result;
  const toml::node* node = s.table.get(key);
  if (node == nullptr) return result;
  const auto* array = node->as_array();
  if (array == nullptr) {
    wrong_type(s, key, *node, "array of tables (" + std::string(header) + ")");
    return result;
  }
  for (const toml::node& element : *array) {
    if (const auto* table = element.as_table()) {
      result.push_back(table);
    } else {
      error(pos(element), "wrong type for an element of '" + std::string(key) + "' " + s.in +
                              ": expected table, found " + std::string(type_name(element)));
    }
  }
  return result;
}

ParseResult Parser::run(const toml::table& root) {
  config_.source = file_;
  sources_.file_start = {file_, 1, 1};
  const Section top{root, "at the top level"};
  reject_unknown_keys(top, {top_keys});

  if (const toml::table* cluster = get_table(top, "cluster")) {
    read_cluster(*cluster);
  } else if (root.get("cluster") == nullptr) {
    error(sources_.file_start, "missing required table [cluster]");
  }

  if (const toml::table* defaults = get_table(top, "defaults")) {
    const Section s{*defaults, "in [defaults]"};
    reject_unknown_keys(s, {settings_keys});
    read_settings(s, config_.defaults, sources_.defaults);
  }

  if (const toml::table* system = get_table(top, "system")) {
    const Section s{*system, "in [system]"};
    reject_unknown_keys(s, {system_keys});
    for (const toml::table* process : get_tables(s, "process", "[[system.process]]")) {
      read_process(*process, "[[system.process]]", std::string(system_group), nullptr, true);
    }
  }

  for (const toml::table* tenant : get_tables(top, "tenant", "[[tenant]]")) read_tenant(*tenant);

  internal::validate(config_, sources_, errors_);
  if (errors_.empty()) add_spares();

  ParseResult result;
  std::stable_sort(errors_.begin(), errors_.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::pair(a.where.line, a.where.column) < std::pair(b.where.line, b.where.column);
  });
  result.errors = std::move(errors_);
  if (result.errors.empty()) result.config = std::move(config_);
  return result;
}

void Parser::read_cluster(const toml::table& table) {
  const Section s{table, "in [cluster]"};
  sources_.cluster = pos(table);
  reject_unknown_keys(s, {cluster_keys});
  ClusterConfig& cluster = config_.cluster;
  required(s, "name");
  if (auto name = get_name(s, "name", "cluster name")) cluster.name = std::move(name->value);
  if (auto d = get_duration(s, "peer_interval", Zero::rejected)) {
    cluster.peer_interval = d->value;
    sources_.peer_interval = d->where;
  }
  if (auto d = get_duration(s, "peer_timeout", Zero::rejected)) {
    cluster.peer_timeout = d->value;
    sources_.peer_timeout = d->where;
  }
  const auto auth = get_choice(s, "auth", auth_choices);
  if (auth) cluster.auth = auth->value;
  if (auto path = get_non_empty(s, "auth_key_file")) cluster.auth_key_file = std::move(path->value);
  read_scheduling(s, cluster.daemon_scheduling, "daemon_");

  const auto nodes = get_tables(s, "node", "[[cluster.node]]");
  if (nodes.empty() && table.get("node") == nullptr) {
    error(pos(table), "no nodes configured: add a [[cluster.node]]");
  }
  for (const toml::table* node : nodes) read_node(*node);
  check_auth(s, auth, nodes.size());
  read_roles(s);
}

// Here rather than in validate(): it counts the [[cluster.node]] tables written, invalid ones
// too (fixing a node must not reveal a new error), and must know whether auth and
// auth_key_file were written at all, not only whether they were valid.
void Parser::check_auth(const Section& s, const std::optional<Located<PeerAuth>>& auth,
                        std::size_t node_tables) {
  // An unknown auth is reported already; what it would require is anyone's guess.
  if (s.table.get("auth") != nullptr && !auth) return;
  const toml::node* key_file = s.table.get("auth_key_file");
  const bool none = auth && auth->value == PeerAuth::none;
  if (none && key_file != nullptr) {
    error(auth->where, "auth = \"none\" contradicts auth_key_file (line " +
                           std::to_string(pos(*key_file).line) + "): remove one of them");
  } else if (!none && key_file == nullptr && node_tables > 1) {
    error(pos(s.table), "the peer link of a cluster of " + std::to_string(node_tables) +
                            " nodes must be authenticated: create a key with 'hamon keygen "
                            "FILE' and name it in auth_key_file, or set auth = \"none\" for a "
                            "loopback demo");
  }
}

void Parser::read_node(const toml::table& table) {
  const Section s{table, "in [[cluster.node]]"};
  reject_unknown_keys(s, {node_keys});
  required(s, "id");
  required(s, "side");
  required(s, "address");
  const auto id = get_name(s, "id", "node id");
  const auto side = get_choice(s, "side", side_choices);
  auto addresses = get_addresses(s);
  if (!id || !side || !addresses) return;
  NodeConfig node{id->value, side->value, {}, pos(table)};
  internal::NodeSources where{id->where, pos(*table.get("address")), {}};
  for (auto& [address, at] : *addresses) {
    node.addresses.push_back(std::move(address));
    where.addresses.push_back(std::move(at));
  }
  config_.cluster.nodes.push_back(std::move(node));
  sources_.nodes.push_back(std::move(where));
}

std::optional<std::vector<Located<HostPort>>> Parser::get_addresses(const Section& s) {
  const toml::node* node = s.table.get("address");
  if (node == nullptr) return std::nullopt;
  // The string form is the common case: one link, written as it always was.
  std::vector<Located<std::string>> written;
  if (const auto* str = node->as_string()) {
    written.push_back({str->get(), pos(*node)});
  } else if (const auto* array = node->as_array()) {
    if (array->empty()) {
      error(pos(*node), "'address' must not be empty: a node has 1 or 2 peer-link addresses");
      return std::nullopt;
    }
    if (array->size() > max_peer_links) {
      error(pos(*array->get(max_peer_links)),
            "'address' has " + std::to_string(array->size()) + " elements: a node has at most " +
                std::to_string(max_peer_links) + " peer-link addresses");
      return std::nullopt;
    }
    auto list = get_string_list(s, "address");
    if (!list) return std::nullopt;
    written = std::move(*list);
  } else {
    wrong_type(s, "address", *node, "string or array of strings");
    return std::nullopt;
  }
  std::vector<Located<HostPort>> result;
  for (const auto& [text, where] : written) {
    if (auto host_port = parse_host_port(text)) {
      result.push_back({std::move(*host_port), where});
    } else {
      error(where, "invalid address '" + text +
                       "': expected HOST:PORT with a port from 1 to 65535 (IPv6 in brackets)");
    }
  }
  if (result.size() != written.size()) return std::nullopt;
  return result;
}

void Parser::read_settings(const Section& s, ProcessSettings& out, SettingsSources& where) {
  const auto duration = [&](std::string_view key, Zero zero, std::chrono::nanoseconds& value,
                            std::optional<SourcePos>* position) {
    if (auto d = get_duration(s, key, zero)) {
      value = d->value;
      if (position != nullptr) *position = d->where;
    }
  };
  duration("interval", Zero::rejected, out.interval, &where.interval);
  duration("timeout", Zero::rejected, out.timeout, &where.timeout);
  duration("restart_delay", Zero::allowed, out.restart_delay, &where.restart_delay);
  duration("restart_delay_max", Zero::allowed, out.restart_delay_max, &where.restart_delay_max);
  duration("restart_window", Zero::rejected, out.restart_window, nullptr);
  duration("stop_timeout", Zero::allowed, out.stop_timeout, nullptr);

  if (auto v = get_choice(s, "restart", restart_choices)) out.restart = v->value;
  if (auto v = get_choice(s, "ready", ready_choices)) out.ready = v->value;
  if (auto v = get_integer(s, "priority", 0, 100)) out.priority = static_cast<int>(v->value);
  if (auto v = get_bool(s, "critical")) out.critical = v->value;
  if (auto v = get_choice(s, "failover", failover_choices)) out.failover = v->value;
  if (auto v = get_integer(s, "restart_budget", 1, std::numeric_limits<std::uint32_t>::max())) {
    out.restart_budget = static_cast<std::uint32_t>(v->value);
  }
  if (auto v = get_bool(s, "restart_with_dependencies")) out.restart_with_dependencies = v->value;

  if (const toml::table* env = get_table(s, "env")) read_env(*env, out.env);
  if (auto dir = get_non_empty(s, "working_dir")) {
    if (dir->value.front() == '/') {
      out.working_dir = std::move(dir->value);
    } else {
      error(dir->where, "working_dir '" + dir->value + "' must be an absolute path");
    }
  }
  if (auto user = get_non_empty(s, "user")) out.user = std::move(user->value);
  if (auto group = get_non_empty(s, "group")) out.unix_group = std::move(group->value);
  if (const toml::table* limits = get_table(s, "limits")) {
    read_limits(Section{*limits, "in 'limits' of " + s.in.substr(std::string_view("in ").size())},
                out.limits);
  }
  read_scheduling(s, out.scheduling);
}

void Parser::read_scheduling(const Section& s, Scheduling& out, const std::string& prefix) {
  const std::string sched_key = prefix + "sched", nice_key = prefix + "nice",
                    cpus_key = prefix + "cpus", oom_key = prefix + "oom_score_adjust";
  if (auto text = get_string(s, sched_key)) {
    auto parsed = parse_sched(text->value);
    if (auto* sched = std::get_if<Sched>(&parsed)) {
      out.sched = *sched;
    } else {
      error(text->where,
            "invalid " + sched_key + " '" + text->value + "': " + std::get<std::string>(parsed));
    }
  }
  if (auto v = get_integer(s, nice_key, -20, 19)) out.nice = static_cast<int>(v->value);
  if (auto text = get_string(s, cpus_key)) {
    auto parsed = parse_cpus(text->value);
    if (auto* cpus = std::get_if<std::vector<int>>(&parsed)) {
      out.cpus = std::move(*cpus);
    } else {
      error(text->where,
            "invalid " + cpus_key + " '" + text->value + "': " + std::get<std::string>(parsed));
    }
  }
  if (auto v = get_integer(s, oom_key, -1000, 1000)) {
    out.oom_score_adjust = static_cast<int>(v->value);
  }
}

void Parser::read_env(const toml::table& table, std::map<std::string, std::string>& env) {
  for (auto&& [key, node] : table) {
    const std::string name(key.str());
    if (!is_env_name(name)) {
      error(pos(key.source()),
            "invalid environment variable name '" + name + "': use letters, digits and '_'");
      continue;
    }
    if (name.starts_with(reserved_env_prefix)) {
      error(pos(key.source()), "environment variable '" + name + "' is reserved: hamon sets " +
                                   std::string(reserved_env_prefix) + "* variables itself");
      continue;
    }
    const auto* value = node.as_string();
    if (value == nullptr) {
      error(pos(node), "wrong type for environment variable '" + name +
                           "': expected string, found " + std::string(type_name(node)));
      continue;
    }
    Located<std::string> located{value->get(), pos(node)};
    const Located<std::string> assignment{name + "=" + located.value, located.where};
    if (check_no_nul(name, located) &&
        check_exec_length(assignment, "environment variable '" + name + "'",
                          " as " + name + "=value")) {
      env[name] = std::move(located.value);  // over [defaults]
    }
  }
}

void Parser::read_limits(const Section& s, Limits& limits) {
  reject_unknown_keys(s, {limit_keys});
  const auto limit = [&](std::string_view key, std::optional<std::uint64_t>& out) {
    const toml::node* node = s.table.get(key);
    if (node == nullptr) return;
    if (const auto* str = node->as_string(); str != nullptr && str->get() == "unlimited") {
      out = Limits::unlimited;
    } else if (const auto* integer = node->as_integer();
               integer != nullptr && integer->get() >= 0) {
      out = static_cast<std::uint64_t>(integer->get());
    } else if (integer != nullptr) {
      error(pos(*node),
            std::string(key) + " " + std::to_string(integer->get()) + " must not be negative");
    } else {
      wrong_type(s, key, *node, "integer or \"unlimited\"");
    }
  };
  limit("nofile", limits.nofile);
  limit("nproc", limits.nproc);
  limit("core", limits.core);
  limit("memlock", limits.memlock);
}

// A size: an integer of bytes, or "N" with a unit of 1024s ("512MiB"; K, M, G, T with or without
// "iB"). nullopt, when there is none or it is not one.
std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  std::uint64_t n = 0;
  std::size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (n > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
  }
  if (i == 0) return std::nullopt;
  std::string_view unit = text.substr(i);
  if (unit.empty() || unit == "B") return n;
  int shift = 0;
  switch (unit.front()) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return std::nullopt;
  }
  unit.remove_prefix(1);
  if (!unit.empty() && unit != "iB") return std::nullopt;
  if (n > (std::numeric_limits<std::uint64_t>::max() >> shift)) return std::nullopt;
  return n << shift;
}

void Parser::read_caps(const Section& s, TenantCaps& caps) {
  reject_unknown_keys(s, {caps_keys});
  if (const toml::node* node = s.table.get("memory")) {
    std::optional<std::uint64_t> bytes;
    if (const auto* integer = node->as_integer(); integer != nullptr) {
      bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, integer->get()));
    } else if (const auto* str = node->as_string(); str != nullptr) {
      bytes = parse_bytes(str->get());
      if (!bytes) {
        error(pos(*node), "memory '" + str->get() +
                              "' is not a size: bytes, or a number with KiB, MiB, GiB or TiB");
      }
    } else {
      wrong_type(s, "memory", *node, "integer of bytes or a size such as \"512MiB\"");
    }
    // Less than a few pages would kill every process at its first fault: a typo, not a cap.
    if (bytes && *bytes < (1U << 20)) {
      error(pos(*node), "memory cap of " + std::to_string(*bytes) +
                            " bytes is under 1 MiB: no process could run in it");
    } else if (bytes) {
      caps.memory = bytes;
    }
  }
  if (auto v = get_integer(s, "cpu_weight", 1, 10000)) {
    caps.cpu_weight = static_cast<std::uint32_t>(v->value);
  }
  if (auto v = get_integer(s, "pids", 1, 4194304)) caps.pids = static_cast<std::uint32_t>(v->value);
}

// The duplex's role settings in [cluster] (docs/roles.md).
void Parser::read_roles(const Section& s) {
  ClusterConfig& c = config_.cluster;
  const auto policy = get_choice(s, "on_peer_lost", peer_lost_choices);
  if (policy) c.on_peer_lost = policy->value;
  if (auto d = get_duration(s, "wait_for_peer", Zero::allowed)) c.wait_for_peer = d->value;
  if (auto d = get_duration(s, "fence_timeout", Zero::rejected)) c.fence_timeout = d->value;
  if (auto d = get_duration(s, "witness_timeout", Zero::rejected)) c.witness_timeout = d->value;
  if (auto d = get_duration(s, "drain_timeout", Zero::allowed)) c.drain_timeout = d->value;
  if (auto d = get_duration(s, "hook_timeout", Zero::rejected)) c.hook_timeout = d->value;
  if (auto d = get_duration(s, "role_change_window", Zero::rejected))
    c.role_change_window = d->value;
  if (auto v = get_integer(s, "max_role_changes", 1, 1000)) {
    c.max_role_changes = static_cast<std::uint32_t>(v->value);
  }
  auto command = [&](std::string_view key, std::vector<std::string>& out) {
    auto list = get_string_list(s, key);
    if (!list) return;
    if (list->empty() || list->front().value.empty()) {
      error(pos(*s.table.get(key)), "'" + std::string(key) + "' must name a program");
      return;
    }
    for (auto& arg : *list) out.push_back(std::move(arg.value));
  };
  command("fence_command", c.fence_command);
  command("witness_command", c.witness_command);
  if (const toml::table* options = get_table(s, "fence_options")) {
    // Lines of the fence agent's standard input: one key=value each, so neither may break one.
    for (auto&& [key, node] : *options) {
      const std::string name(key.str());
      const auto* value = node.as_string();
      if (name.empty() || name.find_first_of("=\n\r") != std::string::npos ||
          name.find('\0') != std::string::npos) {
        error(pos(key.source()),
              "fence option name '" + name + "' must be non-empty, without '=' or line breaks");
      } else if (value == nullptr) {
        error(pos(node), "wrong type for fence option '" + name + "': expected string, found " +
                             std::string(type_name(node)));
      } else if (value->get().find_first_of("\n\r") != std::string::npos ||
                 value->get().find('\0') != std::string::npos) {
        error(pos(node), "fence option '" + name + "' must not contain line breaks");
      } else {
        c.fence_options.emplace_back(name, value->get());
      }
    }
  }
  // The policy's command must be there: a fence that cannot run would never take anything over.
  if (policy && policy->value == PeerLostPolicy::fence && c.fence_command.empty()) {
    error(policy->where,
          "on_peer_lost = \"fence\" needs fence_command (the program that fences "
          "the peer; exit status 0 = fenced)");
  }
  if (policy && policy->value == PeerLostPolicy::witness && c.witness_command.empty()) {
    error(policy->where,
          "on_peer_lost = \"witness\" needs witness_command (the program that "
          "says whether the peer is gone; exit status 0 = gone)");
  }
}

void Parser::read_tenant(const toml::table& table) {
  const Section s{table, "in [[tenant]]"};
  reject_unknown_keys(s, {tenant_keys});
  required(s, "name");
  TenantConfig tenant;
  tenant.where = pos(table);
  auto name = get_name(s, "name", "tenant name");
  if (name && name->value == system_group) {
    error(name->where, "tenant name 'system' is reserved for system processes");
    name.reset();
  }
  if (name) tenant.name = name->value;
  if (auto user = get_non_empty(s, "user")) tenant.user = std::move(user->value);
  if (auto operators = get_string_list(s, "operators")) {
    for (auto& who : *operators) {
      if (who.value.empty()) error(who.where, "'operators' names a user with an empty name");
      tenant.operators.push_back(std::move(who.value));
    }
  }
  if (auto standby = get_choice(s, "standby", standby_choices)) tenant.standby = standby->value;
  if (auto side = get_choice(s, "preferred_side", side_choices))
    tenant.preferred_side = side->value;
  if (auto hook = get_string_list(s, "on_role_change")) {
    if (hook->empty() || hook->front().value.empty()) {
      error(pos(*table.get("on_role_change")), "'on_role_change' must name a program");
    }
    for (auto& arg : *hook) tenant.on_role_change.push_back(std::move(arg.value));
  }
  if (const toml::table* caps = get_table(s, "caps")) {
    read_caps(Section{*caps, "in 'caps' of [[tenant]]"}, tenant.caps);
  }

  // A tenant without a usable name still has its processes checked, but they join no group.
  if (name) {
    config_.tenants.push_back(tenant);
    sources_.tenant_names.push_back(name->where);
  }
  for (const toml::table* process : get_tables(s, "process", "[[tenant.process]]")) {
    read_process(*process, "[[tenant.process]]", tenant.name, &tenant, name.has_value());
  }
}

void Parser::read_process(const toml::table& table, std::string_view header,
                          const std::string& group, const TenantConfig* tenant, bool keep) {
  const Section s{table, "in " + std::string(header)};
  reject_unknown_keys(s, {settings_keys, process_only_keys});

  ProcessConfig process;
  static_cast<ProcessSettings&>(process) = config_.defaults;
  if (tenant != nullptr && tenant->user) process.user = tenant->user;
  process.group = group;
  process.where = pos(table);
  ProcessSources sources;

  required(s, "name");
  const auto name = get_name(s, "name", "process name");
  if (name) {
    process.name = name->value;
    sources.name = name->where;
  }

  if (required(s, "command") != nullptr) {
    if (auto command = get_string_list(s, "command")) {
      if (command->empty()) {
        error(pos(*table.get("command")), "'command' must not be empty");
      } else if (command->front().value.empty()) {
        error(command->front().where, "the program (first element of 'command') must not be empty");
      }
      for (std::size_t k = 0; k < command->size(); ++k) {
        check_exec_length((*command)[k], "argument " + std::to_string(k) + " of 'command'");
      }
      for (auto& arg : *command) process.command.push_back(std::move(arg.value));
    }
  }

  read_settings(s, process, sources.settings);

  // The tenant's heartbeat segment belongs to the tenant's user (mode 0600), so a process
  // running as anyone else could not map it.
  if (tenant != nullptr && tenant->user && process.user != tenant->user) {
    error(pos(*table.get("user")), "user '" + *process.user + "' differs from tenant " +
                                       tenant->name + "'s user '" + *tenant->user +
                                       "', who owns its heartbeat segment");
  }

  if (auto dependencies = get_string_list(s, "depends_on"))
    read_dependencies(*dependencies, process, sources);

  if (auto v = get_integer(s, "spares", 0, max_spares)) {
    process.spares = static_cast<std::uint32_t>(v->value);
    sources.spares = v->where;
  }

  if (keep && name) {
    config_.processes.push_back(std::move(process));
    sources_.processes.push_back(std::move(sources));
  }
}

void Parser::add_spares() {
  std::vector<ProcessConfig> all;
  std::vector<ProcessSources> where;
  for (std::size_t i = 0; i < config_.processes.size(); ++i) {
    const ProcessConfig& p = config_.processes[i];
    all.push_back(p);
    where.push_back(sources_.processes[i]);
    for (std::uint32_t k = 1; k <= p.spares; ++k) {
      ProcessConfig member = p;
      member.name = p.name + "~" + std::to_string(k);
      member.spares = 0;
      member.spare_of = p.name;
      all.push_back(std::move(member));
      where.push_back(sources_.processes[i]);
    }
  }
  config_.processes = std::move(all);
  sources_.processes = std::move(where);
}

// Resolves the written names to qualified ones: a bare name means the process's own group.
// Whether they exist, and may be depended on, is validate()'s business.
void Parser::read_dependencies(const std::vector<Located<std::string>>& written,
                               ProcessConfig& process, ProcessSources& sources) {
  for (const auto& [text, where] : written) {
    const std::size_t slash = text.find('/');
    const std::string group = slash == std::string::npos ? process.group : text.substr(0, slash);
    const std::string name = slash == std::string::npos ? text : text.substr(slash + 1);
    if (!is_valid_name(group) || !is_valid_name(name)) {
      error(where, "invalid dependency '" + text + "': expected NAME or GROUP/NAME");
      continue;
    }
    std::string qualified = group + "/" + name;
    if (std::find(process.depends_on.begin(), process.depends_on.end(), qualified) !=
        process.depends_on.end()) {
      error(where, "duplicate dependency '" + text + "'");
      continue;
    }
    process.depends_on.push_back(std::move(qualified));
    sources.depends_on.push_back(where);
  }
}

// toml++ says "Error while parsing key-value pair: cannot redefine existing integer 'a'".
std::string syntax_message(std::string_view description) {
  constexpr std::string_view prefix = "Error while parsing ";
  if (description.starts_with(prefix)) {
    description.remove_prefix(prefix.size());
    const std::size_t colon = description.find(": ");
    if (colon != std::string_view::npos) {
      return "invalid TOML in " + std::string(description.substr(0, colon)) + ": " +
             std::string(description.substr(colon + 2));
    }
  }
  return "invalid TOML: " + std::string(description);
}

}  // namespace

ParseResult parse_config(std::string_view toml_text, std::string_view file_name) {
  if (auto too_big = internal::check_size_and_depth(toml_text, file_name)) {
    ParseResult result;
    result.errors.push_back(std::move(*too_big));
    return result;
  }
  toml::table root;
  try {
    root = toml::parse(toml_text, file_name);
  } catch (const toml::parse_error& e) {
    const toml::source_position begin = e.source().begin;
    ParseResult result;
    result.errors.push_back({{std::string(file_name), begin.line, begin.column},
                             printable(syntax_message(e.description()))});
    return result;
  }
  return Parser(file_name).run(root);
}

}  // namespace hamon::engine
