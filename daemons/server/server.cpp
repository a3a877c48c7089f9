#include "server.hpp"

#include <hamon/heartbeat_abi.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "daemon_slot.hpp"
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

Server::Server(const daemons::Node& node, const shm::ControlSegment& control)
    : node_(node), ctl_(control) {}

bool Server::setup(std::string& error) {
  const auto& cfg = node_.config;
  groups_ = cfg.groups();
  if (groups_.size() > ctl_.max_groups() || cfg.processes.size() > ctl_.max_processes()) {
    error = "the configuration has more groups or processes than the control segment holds";
    return false;
  }
  const engine::NodeConfig* me = cfg.find_node(node_.id);
  const bool primary = me != nullptr && me->side == engine::Side::primary;
  for (std::uint32_t g = 0; g < groups_.size(); ++g) {
    const std::string seg = node_.heartbeat_segment(groups_[g]);
    std::uint32_t members = 0;
    for (const auto& p : cfg.processes) members += p.group == groups_[g] ? 1 : 0;
    auto t = shm::HeartbeatTable::attach(seg, shm::Access::read_write);
    if (!t) t = shm::HeartbeatTable::create(seg, groups_[g], std::max<std::uint32_t>(16, 2 * members));
    if (!t) {
      error = t.error().message;
      return false;
    }
    // Until the duplex link decides, a tenant is active on the primary side, standby elsewhere.
    const bool system = groups_[g] == engine::system_group;
    const std::uint32_t role = system ? HAMON_ROLE_NONE : primary ? HAMON_ROLE_ACTIVE : HAMON_ROLE_STANDBY;
    if (t->role() != role) t->set_role(role, 0);
    hb_role_.push_back(role);
    shm::GroupInfo info{};
    copy(info.name, groups_[g]);
    copy(info.heartbeat_segment, seg);
    info.kind = system ? shm::GroupKind::system : shm::GroupKind::tenant;
    info.slot_count = t->slot_count();
    info.role = role;
    ctl_.group(g).info.write(info);
    tables_.push_back(std::make_unique<shm::HeartbeatTable>(std::move(t).value()));
  }
  // Slots follow the configuration's order; a restarted server continues above every
  // incarnation already handed out, so nothing is ever mistaken for an older process.
  std::uint64_t next_inc = 1;
  std::vector<std::uint32_t> members(groups_.size(), 0);
  for (std::uint32_t i = 0; i < cfg.processes.size(); ++i) {
    const auto& p = cfg.processes[i];
    const auto g = static_cast<std::uint32_t>(
        std::find(groups_.begin(), groups_.end(), p.group) - groups_.begin());
    group_of_.push_back(g);
    shm::ProcessIdentity prev{};
    (void)ctl_.process(i).identity.read(prev);
    shm::SpawnRecord sr{};
    (void)ctl_.process(i).spawn.read(sr);
    next_inc = std::max({next_inc, prev.incarnation + 1, sr.incarnation + 1});
    shm::ProcessIdentity id{};
    id.incarnation = prev.incarnation;
    id.interval_ns = static_cast<std::uint64_t>(p.interval.count());
    id.timeout_ns = static_cast<std::uint64_t>(p.timeout.count());
    id.group = g;
    id.hb_slot = members[g]++;
    id.priority = static_cast<std::uint32_t>(p.priority);
    id.ready_mode = static_cast<std::uint32_t>(p.ready);
    id.flags = p.critical ? 1u : 0u;
    copy(id.name, p.name);
    ctl_.process(i).identity.write(id);
  }
  sup_ = std::make_unique<engine::Supervisor>(cfg, next_inc);
  recorded_.assign(cfg.processes.size(), engine::Phase::failed);
  for (std::size_t i = 0; i < cfg.processes.size(); ++i) record(i, 0);
  return true;
}

bool Server::runs_here(std::size_t i) const {
  const auto& p = node_.config.processes[i];
  if (p.is_system()) return true;
  const engine::TenantConfig* t = node_.config.find_tenant(p.group);
  // Cold standby: a tenant's processes run only where the tenant is active.
  return t == nullptr || t->standby == engine::Standby::hot ||
         hb_role_[group_of_[i]] == HAMON_ROLE_ACTIVE;
}

void Server::boot(std::uint64_t now) {
  std::vector<std::size_t> here;
  for (std::size_t i = 0; i < node_.config.processes.size(); ++i) {
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
  const std::size_t n = node_.config.processes.size();
  while (ctl_.channel(ChannelId::spawner_to_server).pop(m)) {
    ++work;
    if (m.slot >= n) continue;
    switch (m.kind) {
      case MessageKind::started: sup_->on_spawned(m.slot, m.incarnation, now); break;
      case MessageKind::start_failed: sup_->on_spawn_failed(m.slot, m.incarnation, now); break;
      case MessageKind::exited: sup_->on_exited(m.slot, m.incarnation, m.status, now); break;
      default: break;
    }
  }
  while (ctl_.channel(ChannelId::monitor_to_server).pop(m)) {
    ++work;
    if (m.slot >= n || m.kind != MessageKind::state) continue;
    const auto s = static_cast<shm::ProcessState>(m.arg);
    if (s == shm::ProcessState::ready) sup_->on_ready(m.slot, m.incarnation, now);
    if (s == shm::ProcessState::hung) sup_->on_hung(m.slot, m.incarnation, now);
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
    m.slot = static_cast<std::uint32_t>(a.process);
    m.incarnation = a.incarnation;
    m.t_ns = now;
    switch (a.kind) {
      case engine::Action::Kind::start: {
        m.kind = MessageKind::start;
        shm::ProcessIdentity id{};
        (void)ctl_.process(m.slot).identity.read(id);
        id.incarnation = a.incarnation;
        ctl_.process(m.slot).identity.write(id);
        break;
      }
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
    const auto& p = node_.config.processes[note.process];
    shm::EventKind kind = shm::EventKind::note;
    switch (note.kind) {
      case engine::Note::Kind::restarting: kind = shm::EventKind::restarting; break;
      case engine::Note::Kind::failed: kind = shm::EventKind::failed; break;
      case engine::Note::Kind::stopped: kind = shm::EventKind::stopped; break;
      case engine::Note::Kind::stayed_down: kind = shm::EventKind::stopped; break;
    }
    daemons::post_event(ctl_, shm::DaemonId::server, kind, p.group, p.name,
                        static_cast<std::uint32_t>(note.process), note.incarnation, 0, note.value,
                        note.detail);
  }
  for (std::size_t i = 0; i < node_.config.processes.size(); ++i) record(i, now);
}

void Server::record(std::size_t i, std::uint64_t now) {
  const engine::Phase ph = sup_->phase(i);
  if (recorded_[i] == ph && now != 0) return;
  recorded_[i] = ph;
  const auto& b = sup_->budget(i);
  shm::SuperviseRecord r{};
  r.incarnation = sup_->incarnation(i);
  r.window_start_ns = b.window_start_ns;
  r.restarts = b.total;
  r.window_restarts = b.window_restarts;
  r.desired = sup_->wanted(i) ? 1 : 0;
  r.phase = static_cast<std::uint32_t>(ph);
  ctl_.process(static_cast<std::uint32_t>(i)).supervise.write(r);
}

std::vector<std::size_t> Server::resolve(const std::string& what, bool tenant,
                                         std::string& error) const {
  std::vector<std::size_t> out;
  const auto& cfg = node_.config;
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

}  // namespace hamon::server
