#include "server.hpp"

#include <hamon/heartbeat_abi.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <sstream>

#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/config_file.hpp"
#include "hamon/engine/names.hpp"

namespace hamon::server {

using shm::ChannelId;
using shm::Message;
using shm::MessageKind;

namespace {
template <std::size_t N>
void copy(char (&dst)[N], const std::string& s) {
  std::memset(dst, 0, N);
  std::memcpy(dst, s.data(), std::min(s.size(), N - 1));
}
}  // namespace

Server::Server(const node::Node& node, const shm::ControlSegment& control)
    : node_(node),
      ctl_(control),
      config_(std::make_unique<engine::Config>(node.config)),
      index_of_(control.max_processes(), kFree),
      retiring_(control.max_processes(), 0) {}

std::uint32_t Server::group_index(const std::string& name) const {
  return static_cast<std::uint32_t>(std::find(groups_.begin(), groups_.end(), name) - groups_.begin());
}

bool Server::add_group(const std::string& name, std::string& error) {
  if (groups_.size() >= ctl_.max_groups()) {
    error = "the control segment holds " + std::to_string(ctl_.max_groups()) + " groups at most";
    return false;
  }
  const auto g = static_cast<std::uint32_t>(groups_.size());
  const std::string seg = node_.heartbeat_segment(name);
  std::uint32_t members = 0;
  for (const auto& p : config_->processes) members += p.group == name ? 1 : 0;
  auto t = shm::HeartbeatTable::attach(seg, shm::Access::read_write);
  // Room to grow: a reload may add processes to the group.
  if (!t) t = shm::HeartbeatTable::create(seg, name, std::max<std::uint32_t>(64, 4 * members));
  if (!t) {
    error = t.error().message;
    return false;
  }
  // Until the duplex link decides, a tenant is active on the primary side, standby elsewhere.
  const engine::NodeConfig* me = config_->find_node(node_.id);
  const bool primary = me != nullptr && me->side == engine::Side::primary;
  const bool system = name == engine::system_group;
  const std::uint32_t role = system ? HAMON_ROLE_NONE : primary ? HAMON_ROLE_ACTIVE : HAMON_ROLE_STANDBY;
  if (t->role() != role) t->set_role(role, 0);
  shm::GroupInfo info{};
  copy(info.name, name);
  copy(info.heartbeat_segment, seg);
  info.kind = system ? shm::GroupKind::system : shm::GroupKind::tenant;
  info.slot_count = t->slot_count();
  info.role = role;
  ctl_.group(g).info.write(info);
  groups_.push_back(name);
  hb_role_.push_back(role);
  tables_.push_back(std::make_unique<shm::HeartbeatTable>(std::move(t).value()));
  return true;
}

void Server::write_identity(std::size_t i, std::uint64_t incarnation) {
  const auto& p = config_->processes[i];
  shm::ProcessIdentity id{};
  id.incarnation = incarnation;
  id.interval_ns = static_cast<std::uint64_t>(p.interval.count());
  id.timeout_ns = static_cast<std::uint64_t>(p.timeout.count());
  id.group = group_index(p.group);
  id.hb_slot = hb_slot_of_[i];
  switch (p.ready) {
    case engine::Readiness::on_spawn: id.ready_mode = shm::ReadyMode::spawn; break;
    case engine::Readiness::on_heartbeat: id.ready_mode = shm::ReadyMode::heartbeat; break;
    case engine::Readiness::on_ready_call: id.ready_mode = shm::ReadyMode::ready_call; break;
  }
  copy(id.name, p.name);
  ctl_.process(slot_of_[i]).identity.write(id);
}

std::uint32_t Server::free_slot() const {
  for (std::uint32_t s = 0; s < index_of_.size(); ++s) {
    if (index_of_[s] == kFree && retiring_[s] == 0) return s;
  }
  return kFree;
}

std::uint32_t Server::free_hb_slot(std::uint32_t group) const {
  std::vector<bool> used(tables_[group]->slot_count(), false);
  for (std::size_t i = 0; i < hb_slot_of_.size(); ++i) {
    if (group_index(config_->processes[i].group) == group && hb_slot_of_[i] < used.size()) {
      used[hb_slot_of_[i]] = true;
    }
  }
  for (std::uint32_t s = 0; s < used.size(); ++s) {
    if (!used[s]) return s;
  }
  return kFree;
}

bool Server::setup(std::string& error) {
  const auto& cfg = *config_;
  if (cfg.processes.size() > ctl_.max_processes()) {
    error = "the configuration has more processes than the control segment holds";
    return false;
  }
  // A server restarted by the master finds its predecessor's tables: the groups keep their
  // indices and the processes their slots, state and incarnations.
  adopting_ = ctl_.daemon(shm::DaemonId::server).started_ns.load() != 0;
  // Marked at once, before anything is started: a server that dies from here on has a
  // successor that adopts, never one that boots a second time.
  ctl_.daemon(shm::DaemonId::server).started_ns.store(node::now_ns());
  if (adopting_) {
    for (std::uint32_t g = 0; g < ctl_.max_groups(); ++g) {
      shm::GroupInfo info{};
      if (!ctl_.group(g).info.read(info) || info.kind == shm::GroupKind::unused) break;
      if (!add_group(std::string(info.name, strnlen(info.name, sizeof info.name)), error)) return false;
    }
  }
  for (const auto& g : cfg.groups()) {
    if (group_index(g) == groups_.size() && !add_group(g, error)) return false;
  }
  std::uint64_t next_inc = 1;
  std::vector<std::optional<engine::Supervisor::Snapshot>> carried(cfg.processes.size());
  slot_of_.assign(cfg.processes.size(), kFree);
  hb_slot_of_.assign(cfg.processes.size(), kFree);
  for (std::uint32_t s = 0; s < ctl_.max_processes(); ++s) {
    shm::ProcessIdentity id{};
    shm::SpawnRecord sr{};
    shm::SuperviseRecord su{};
    (void)ctl_.process(s).identity.read(id);
    (void)ctl_.process(s).spawn.read(sr);
    (void)ctl_.process(s).supervise.read(su);
    // Above every incarnation ever handed out, so nothing is mistaken for an older process.
    next_inc = std::max({next_inc, id.incarnation + 1, sr.incarnation + 1, su.incarnation + 1});
    if (!adopting_ || id.name[0] == '\0' || id.group >= groups_.size()) continue;
    const std::string q = groups_[id.group] + "/" + std::string(id.name, strnlen(id.name, sizeof id.name));
    if (auto i = cfg.process_index(q); i && slot_of_[*i] == kFree) {
      slot_of_[*i] = s;
      hb_slot_of_[*i] = id.hb_slot;
      index_of_[s] = static_cast<std::uint32_t>(*i);
      carried[*i] = from_record(su);
    } else {
      retire(s, 2'000'000'000, 0);  // configured no more (the file changed while we were down)
    }
  }
  for (std::uint32_t i = 0; i < cfg.processes.size(); ++i) {
    if (slot_of_[i] != kFree) continue;
    slot_of_[i] = free_slot();
    index_of_[slot_of_[i]] = i;
    hb_slot_of_[i] = free_hb_slot(group_index(cfg.processes[i].group));
  }
  sup_ = std::make_unique<engine::Supervisor>(cfg, next_inc);
  for (std::uint32_t i = 0; i < cfg.processes.size(); ++i) {
    if (carried[i]) sup_->restore(i, *carried[i]);
    write_identity(i, sup_->incarnation(i));
  }
  recorded_.assign(cfg.processes.size(), shm::SuperviseRecord{});
  for (std::size_t i = 0; i < cfg.processes.size(); ++i) record(i, 0, true);
  return true;
}

void Server::resume(std::uint64_t now) {
  // What the predecessor decided may not have reached the spawner: say it again. Requests name
  // (slot, incarnation), so one that did arrive is recognised and dropped.
  for (std::size_t i = 0; i < config_->processes.size(); ++i) {
    const auto snap = sup_->snapshot(i);
    shm::SpawnRecord sr{};
    (void)ctl_.process(slot_of_[i]).spawn.read(sr);
    Message m;
    m.slot = slot_of_[i];
    m.incarnation = snap.incarnation;
    m.t_ns = now;
    if (snap.phase == engine::Phase::starting && sr.incarnation != snap.incarnation) {
      m.kind = MessageKind::start;
    } else if (snap.phase == engine::Phase::stopping && sr.incarnation == snap.incarnation &&
               sr.exited_ns == 0) {
      m.kind = snap.hung ? MessageKind::kill : MessageKind::stop;
      m.arg = static_cast<std::uint64_t>(config_->processes[i].stop_timeout.count());
    } else {
      continue;
    }
    (void)ctl_.send(ChannelId::server_to_spawner, m);
  }
  sup_->tick(now);
  apply(now);
}

bool Server::runs_here(std::size_t i) const {
  const auto& p = config_->processes[i];
  if (p.is_system()) return true;
  const engine::TenantConfig* t = config_->find_tenant(p.group);
  // Cold standby: a tenant's processes run only where the tenant is active.
  return t == nullptr || t->standby == engine::Standby::hot ||
         hb_role_[group_index(p.group)] == HAMON_ROLE_ACTIVE;
}

void Server::boot(std::uint64_t now) {
  std::vector<std::size_t> here;
  for (std::size_t i = 0; i < config_->processes.size(); ++i) {
    if (runs_here(i)) here.push_back(i);
  }
  sup_->start(here, now);
  apply(now);
}

bool Server::has_messages() const {
  return ctl_.channel(ChannelId::spawner_to_server).size() > 0 ||
         ctl_.channel(ChannelId::monitor_to_server).size() > 0;
}

int Server::do_work(std::uint64_t now) {
  int work = 0;
  Message m;
  while (ctl_.channel(ChannelId::spawner_to_server).pop(m)) {
    ++work;
    if (m.slot >= index_of_.size()) continue;  // never trust an index
    if (retiring_[m.slot] != 0 && retiring_[m.slot] == m.incarnation &&
        (m.kind == MessageKind::exited || m.kind == MessageKind::start_failed)) {
      release(m.slot);  // a removed process is gone: its slot is free again
      continue;
    }
    const std::uint32_t i = index_of_[m.slot];
    if (i == kFree) continue;
    switch (m.kind) {
      case MessageKind::started: sup_->on_spawned(i, m.incarnation, now); break;
      case MessageKind::start_failed: sup_->on_spawn_failed(i, m.incarnation, now); break;
      case MessageKind::exited: sup_->on_exited(i, m.incarnation, m.status, now); break;
      default: break;
    }
  }
  while (ctl_.channel(ChannelId::monitor_to_server).pop(m)) {
    ++work;
    if (m.slot >= index_of_.size() || index_of_[m.slot] == kFree || m.kind != MessageKind::state) {
      continue;
    }
    const std::uint32_t i = index_of_[m.slot];
    const auto s = static_cast<shm::ProcessState>(m.arg);
    if (s == shm::ProcessState::ready) sup_->on_ready(i, m.incarnation, now);
    if (s == shm::ProcessState::hung) sup_->on_hung(i, m.incarnation, now);
  }
  if (now >= sup_->next_deadline()) {
    sup_->tick(now);
    ++work;
  }
  apply(now);
  return work;
}

void Server::apply(std::uint64_t now) {
  for (const engine::Action& a : sup_->take_actions()) {
    Message m;
    m.slot = slot_of_[a.process];
    m.incarnation = a.incarnation;
    m.t_ns = now;
    switch (a.kind) {
      case engine::Action::Kind::start:
        m.kind = MessageKind::start;
        write_identity(a.process, a.incarnation);
        break;
      case engine::Action::Kind::stop:
        m.kind = MessageKind::stop;
        m.arg = a.grace_ns;
        break;
      case engine::Action::Kind::kill: m.kind = MessageKind::kill; break;
    }
    // A full channel means the spawner is gone or stuck; the master restarts it and the request
    // is repeated from the supervise records then. Never block the loop on it.
    (void)ctl_.send(ChannelId::server_to_spawner, m);
  }
  for (const engine::Note& note : sup_->take_notes()) {
    const auto& p = config_->processes[note.process];
    shm::EventKind kind = shm::EventKind::note;
    switch (note.kind) {
      case engine::Note::Kind::restarting: kind = shm::EventKind::restarting; break;
      case engine::Note::Kind::failed: kind = shm::EventKind::failed; break;
      case engine::Note::Kind::stopped: kind = shm::EventKind::stopped; break;
      case engine::Note::Kind::stayed_down: kind = shm::EventKind::stopped; break;
    }
    // A critical process that cannot be kept up here is what moves its tenant to the duplex
    // peer; until the peer link exists, the event records it.
    const bool critical_loss = note.kind == engine::Note::Kind::failed && p.critical;
    node::post_event(ctl_, shm::DaemonId::server, kind, p.group, p.name,
                        slot_of_[note.process], note.incarnation, 0, note.value,
                        critical_loss ? "critical: " + note.detail : note.detail);
  }
  for (std::size_t i = 0; i < config_->processes.size(); ++i) record(i, now, false);
}

shm::SuperviseRecord Server::to_record(const engine::Supervisor::Snapshot& s) {
  shm::SuperviseRecord r{};
  r.incarnation = s.incarnation;
  r.next_restart_ns = s.restart_at;
  r.window_start_ns = s.budget.window_start_ns;
  r.started_ns = s.started_at;
  r.restarts = s.budget.total;
  r.window_restarts = s.budget.window_restarts;
  r.desired = s.want ? 1 : 0;
  r.phase = static_cast<std::uint32_t>(s.phase);
  r.consecutive = s.budget.consecutive;
  r.flags = (s.stop_wanted ? 1u : 0u) | (s.hung ? 2u : 0u);
  return r;
}

engine::Supervisor::Snapshot Server::from_record(const shm::SuperviseRecord& r) {
  engine::Supervisor::Snapshot s{};
  s.phase = r.phase <= static_cast<std::uint32_t>(engine::Phase::failed)
                ? static_cast<engine::Phase>(r.phase)
                : engine::Phase::down;
  s.want = r.desired != 0;
  s.stop_wanted = (r.flags & 1u) != 0;
  s.hung = (r.flags & 2u) != 0;
  s.incarnation = r.incarnation;
  s.started_at = r.started_ns;
  s.restart_at = r.next_restart_ns;
  s.budget.window_start_ns = r.window_start_ns;
  s.budget.window_restarts = r.window_restarts;
  s.budget.consecutive = r.consecutive;
  s.budget.total = r.restarts;
  return s;
}

void Server::record(std::size_t i, std::uint64_t, bool force) {
  const shm::SuperviseRecord r = to_record(sup_->snapshot(i));
  if (!force && std::memcmp(&recorded_[i], &r, sizeof r) == 0) return;
  recorded_[i] = r;
  ctl_.process(slot_of_[i]).supervise.write(r);
}

std::vector<std::size_t> Server::resolve(const std::string& what, bool tenant,
                                         std::string& error) const {
  std::vector<std::size_t> out;
  const auto& cfg = *config_;
  if (tenant) {
    if (cfg.find_tenant(what) == nullptr) error = "no tenant '" + what + "'";
    for (std::size_t i = 0; i < cfg.processes.size(); ++i) {
      if (cfg.processes[i].group == what) out.push_back(i);
    }
    return out;
  }
  // "group/name", or a bare name when exactly one process has it.
  if (auto idx = cfg.process_index(what)) return {*idx};
  for (std::size_t i = 0; i < cfg.processes.size(); ++i) {
    if (cfg.processes[i].name == what) out.push_back(i);
  }
  if (out.empty()) error = "no process '" + what + "'";
  if (out.size() > 1) {
    error = "'" + what + "' is ambiguous: name it as group/name";
    out.clear();
  }
  return out;
}

std::string Server::command(const std::string& line, std::uint64_t now) {
  std::istringstream in(line);
  std::string verb, arg;
  in >> verb >> arg;
  if (verb == "up") {
    boot(now);
    return "ok";
  }
  if (verb == "reload") return reload(now);
  if (verb == "down") {
    sup_->stop_all(now);
    apply(now);
    return "ok";
  }
  const bool tenant = verb.rfind("tenant-", 0) == 0;
  const std::string action = tenant ? verb.substr(7) : verb;
  if (action != "start" && action != "stop" && action != "restart") {
    return "error unknown request '" + verb + "'";
  }
  if (arg.empty()) return "error " + verb + " needs a name";
  std::string error;
  const auto targets = resolve(arg, tenant, error);
  if (!error.empty()) return "error " + error;
  if (action == "start") sup_->start(targets, now);
  for (std::size_t i : targets) {
    if (action == "stop") sup_->stop(i, now);
    if (action == "restart") sup_->restart(i, now);
  }
  apply(now);
  return "ok";
}

void Server::retire(std::uint32_t slot, std::uint64_t grace_ns, std::uint64_t now) {
  shm::SpawnRecord sp{};
  const bool running = ctl_.process(slot).spawn.read(sp) && sp.pid > 0 && sp.exited_ns == 0;
  index_of_[slot] = kFree;
  if (!running) {
    release(slot);
    return;
  }
  retiring_[slot] = sp.incarnation;
  Message m;
  m.kind = MessageKind::stop;
  m.slot = slot;
  m.incarnation = sp.incarnation;
  m.arg = grace_ns;
  m.t_ns = now;
  (void)ctl_.send(ChannelId::server_to_spawner, m);
}

void Server::release(std::uint32_t slot) {
  retiring_[slot] = 0;
  ctl_.process(slot).identity.write(shm::ProcessIdentity{});
  ctl_.process(slot).supervise.write(shm::SuperviseRecord{});
}

std::string Server::reload(std::uint64_t now) {
  node::LoadResult r = node::load_config_file(node_.config_path);
  if (!r.config) {
    std::string why;
    for (const auto& e : r.errors) why += (why.empty() ? "" : "; ") + e;
    return "error the new configuration is not valid: " + why;
  }
  auto next = std::make_unique<engine::Config>(std::move(*r.config));
  if (next->cluster.name != config_->cluster.name || next->find_node(node_.id) == nullptr) {
    return "error reload cannot rename the cluster or remove this node; restart the node instead";
  }
  // Processes are matched by name: kept ones keep their slot, state and incarnation.
  const std::size_t n = next->processes.size();
  std::vector<std::uint32_t> slot_of(n, kFree), hb_slot_of(n, kFree);
  std::vector<std::optional<engine::Supervisor::Snapshot>> carried(n);
  std::vector<std::size_t> added, changed;
  std::vector<bool> kept(config_->processes.size(), false);
  for (std::size_t j = 0; j < n; ++j) {
    const auto& p = next->processes[j];
    if (auto i = config_->process_index(p.qualified())) {
      kept[*i] = true;
      slot_of[j] = slot_of_[*i];
      hb_slot_of[j] = hb_slot_of_[*i];
      carried[j] = sup_->snapshot(*i);
      if (!config_->processes[*i].same_as(p)) changed.push_back(j);
    } else {
      added.push_back(j);
    }
  }
  // Check room before changing anything.
  std::size_t free_slots = 0;
  for (std::uint32_t s = 0; s < index_of_.size(); ++s) free_slots += index_of_[s] == kFree && retiring_[s] == 0;
  if (added.size() > free_slots) return "error no free process slot for the added processes";

  auto old_config = std::move(config_);
  config_ = std::move(next);
  std::string error;
  for (const auto& g : config_->groups()) {
    if (group_index(g) == groups_.size() && !add_group(g, error)) {
      config_ = std::move(old_config);
      return "error " + error;
    }
  }
  for (std::size_t i = 0; i < kept.size(); ++i) {
    if (!kept[i]) {
      retire(slot_of_[i], static_cast<std::uint64_t>(old_config->processes[i].stop_timeout.count()), now);
    }
  }
  slot_of_ = slot_of;
  hb_slot_of_ = hb_slot_of;
  for (std::size_t j : added) {
    slot_of_[j] = free_slot();
    index_of_[slot_of_[j]] = static_cast<std::uint32_t>(j);
    hb_slot_of_[j] = free_hb_slot(group_index(config_->processes[j].group));
  }
  for (std::size_t j = 0; j < n; ++j) index_of_[slot_of_[j]] = static_cast<std::uint32_t>(j);

  auto sup = std::make_unique<engine::Supervisor>(*config_, sup_->next_incarnation());
  for (std::size_t j = 0; j < n; ++j) {
    if (carried[j]) sup->restore(j, *carried[j]);
    write_identity(j, sup->incarnation(j));
  }
  sup_ = std::move(sup);
  recorded_.assign(n, shm::SuperviseRecord{});
  for (std::size_t j = 0; j < n; ++j) record(j, now, true);

  // The spawner and the monitor read the new file before any request that depends on it.
  Message m;
  m.kind = MessageKind::reload;
  m.t_ns = now;
  (void)ctl_.send(ChannelId::server_to_spawner, m);
  (void)ctl_.send(ChannelId::server_to_monitor, m);

  std::vector<std::size_t> to_start;
  for (std::size_t j : added) {
    if (runs_here(j)) to_start.push_back(j);
  }
  sup_->start(to_start, now);
  for (std::size_t j : changed) {
    if (sup_->wanted(j)) sup_->restart(j, now);
  }
  apply(now);
  node::post_event(ctl_, shm::DaemonId::server, shm::EventKind::config_loaded, "", "hamon-server",
                      UINT32_MAX, 0, 0, 0,
                      std::to_string(added.size()) + " added, " + std::to_string(changed.size()) +
                          " changed, " + std::to_string(kept.size() - (n - added.size())) + " removed");
  return "ok";
}

}  // namespace hamon::server
