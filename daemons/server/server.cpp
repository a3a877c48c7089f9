#include "server.hpp"

#include <hamon/heartbeat_abi.h>

#include <algorithm>
#include <cstring>

#include "hamon/engine/names.hpp"
#include "hamon/node/apply_scheduling.hpp"
#include "hamon/node/authorize.hpp"
#include "hamon/node/config_file.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/supervise_record.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::server {

using shm::ChannelId;
using shm::Message;
using shm::MessageKind;

namespace {

// Messages taken per channel per turn: a burst (thousands of starts reported at once) must not
// keep the loop from its heartbeat, its socket and its timers.
constexpr int kBatch = 256;

}  // namespace

Server::Server(const node::Node& node, const shm::ControlSegment& control)
    : node_(node),
      ctl_(control),
      groups_(node, control),
      slots_(control.max_processes()),
      to_spawner_(control, ChannelId::server_to_spawner, shm::DaemonId::server),
      running_(node, node::RunningConfig::Role::lead) {}

std::uint32_t Server::group_of(std::size_t i) const {
  return groups_.index(config_->processes[i].group).value_or(0);
}

base::Status Server::ensure_groups(const engine::Config& config) {
  // Without a peer a tenant is simply active here; with one, it starts standby and the duplex's
  // roles decide (docs/roles.md).
  const bool duplex = !config.peers_of(node_.id).empty();
  for (const auto& g : config.groups()) {
    std::uint32_t members = 0;
    for (const auto& p : config.processes) members += p.group == g ? 1 : 0;
    const bool system = g == engine::system_group;
    const std::uint32_t role = system   ? HAMON_ROLE_NONE
                               : duplex ? HAMON_ROLE_STANDBY
                                        : HAMON_ROLE_ACTIVE;
    if (auto r = groups_.ensure(g, members, role); !r) return r.error();
  }
  return base::ok();
}

void Server::write_identity(std::size_t i, std::uint64_t incarnation) {
  const auto& p = config_->processes[i];
  shm::ProcessIdentity id{};
  id.incarnation = incarnation;
  id.interval_ns = static_cast<std::uint64_t>(p.interval.count());
  id.timeout_ns = static_cast<std::uint64_t>(p.timeout.count());
  id.group = group_of(i);
  id.hb_slot = slots_.hb_slot(i);
  switch (p.ready) {
    case engine::Readiness::on_spawn: id.ready_mode = shm::ReadyMode::spawn; break;
    case engine::Readiness::on_heartbeat: id.ready_mode = shm::ReadyMode::heartbeat; break;
    case engine::Readiness::on_ready_call: id.ready_mode = shm::ReadyMode::ready_call; break;
  }
  if (const std::string family = p.family(); !family.empty()) {
    if (const auto head = config_->process_index(p.group + "/" + family)) {
      id.family = slots_.slot(*head) + 1;
    }
  }
  id.realtime = node::realtime_at_ready(p);
  shm::write_fixed(id.name, p.name);
  ctl_.process(slots_.slot(i)).identity.write(id);
}

base::Status Server::setup() {
  // A server restarted by the master finds its predecessor's tables: the groups keep their
  // indices and the processes their slots, state and incarnations.
  adopting_ = ctl_.daemon(shm::DaemonId::server).started_ns.load() != 0;
  // Marked at once, before anything is started: a server that dies from here on has a
  // successor that adopts, never one that boots a second time.
  ctl_.daemon(shm::DaemonId::server).started_ns.store(node::now_ns());
  if (adopting_) {
    if (auto r = groups_.adopt(); !r) return r;
  }
  auto config = std::make_unique<engine::Config>(node_.config);
  if (auto r = ensure_groups(*config); !r) return r;
  std::uint64_t next_inc = 1;
  std::map<std::uint32_t, engine::Supervisor::Snapshot> found;  // by slot
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
    const std::string& group = groups_.name(id.group);
    slots_.occupy(s, group + "/" + shm::read_fixed(id.name), group, id.hb_slot);
    found.emplace(s, node::from_record(su));
  }
  auto placed = slots_.place(*config, [&](const std::string& g) { return groups_.capacity(g); });
  if (!placed) return placed.error();
  std::vector<std::optional<engine::Supervisor::Snapshot>> carried(config->processes.size());
  for (std::size_t i = 0; i < carried.size(); ++i) {
    if (auto f = found.find(slots_.slot(i)); f != found.end()) carried[i] = f->second;
  }
  const auto removed = placed->removed;
  if (auto r = install(std::move(config), std::move(carried), next_inc, 0); !r) return r;
  // Configured no more (the file changed while no server ran).
  for (std::uint32_t s : removed) retire(s, 2'000'000'000, 0);
  duplex_ = Duplex::make(*config_, node_.id, ctl_, groups_, node::now_ns());
  if (duplex_ && adopting_) duplex_->restore();
  return base::ok();
}

base::Status Server::install(std::unique_ptr<engine::Config> next,
                             std::vector<std::optional<engine::Supervisor::Snapshot>> carried,
                             std::uint64_t next_incarnation, std::uint64_t now) {
  auto sup = std::make_unique<engine::Supervisor>(*next, next_incarnation);
  for (std::size_t i = 0; i < carried.size(); ++i) {
    if (carried[i]) sup->restore(i, *carried[i]);
  }
  sup_ = std::move(sup);
  config_ = std::move(next);
  // The role engine reads the configuration it was made from: made again from the new one (a
  // reload), it goes on from the roles and epochs published.
  if (duplex_) {
    duplex_ = Duplex::make(*config_, node_.id, ctl_, groups_, node::now_ns());
    if (duplex_) duplex_->restore();
  }
  for (std::size_t i = 0; i < config_->processes.size(); ++i) {
    retiring_.erase(slots_.slot(i));  // a removed process configured again has its seat back
    write_identity(i, sup_->incarnation(i));
  }
  recorded_.assign(config_->processes.size(), shm::SuperviseRecord{});
  for (std::size_t i = 0; i < config_->processes.size(); ++i) record(i, true);
  (void)now;
  return base::ok();
}

void Server::resume(std::uint64_t now) {
  // What the predecessor decided may not have reached the spawner: say it again. Requests name
  // (slot, incarnation), so one that did arrive is recognised and dropped.
  for (std::size_t i = 0; i < config_->processes.size(); ++i) {
    const auto snap = sup_->snapshot(i);
    shm::SpawnRecord sr{};
    (void)ctl_.process(slots_.slot(i)).spawn.read(sr);
    const std::uint32_t slot = slots_.slot(i);
    if (snap.phase == engine::Phase::starting && sr.incarnation != snap.incarnation) {
      post(Message::start(slot, snap.incarnation, now));
    } else if (snap.phase == engine::Phase::stopping && sr.incarnation == snap.incarnation &&
               sr.exited_ns == 0) {
      const auto grace = static_cast<std::uint64_t>(config_->processes[i].stop_timeout.count());
      post(snap.hung ? Message::kill(slot, snap.incarnation, now)
                     : Message::stop(slot, snap.incarnation, grace, now));
    }
  }
  sup_->tick(now);
  apply(now);
}

bool Server::runs_here(std::size_t i) const {
  const auto& p = config_->processes[i];
  if (p.is_system()) return true;
  const engine::TenantConfig* t = config_->find_tenant(p.group);
  // Cold standby: a tenant's processes run only where the tenant is active (or becoming so).
  const std::uint32_t role = groups_.role(group_of(i));
  return t == nullptr || t->standby == engine::Standby::hot || role == HAMON_ROLE_ACTIVE ||
         role == HAMON_ROLE_TAKING_OVER;
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
         ctl_.channel(ChannelId::monitor_to_server).size() > 0 || (duplex_ && duplex_->changed());
}

std::uint64_t Server::next_deadline() const {
  // Requests waiting for room in the spawner's channel are tried again soon: the spawner
  // drains it without telling us.
  const std::uint64_t retry = to_spawner_.backlog() > 0 ? last_now_ + 1'000'000 : UINT64_MAX;
  const std::uint64_t roles = duplex_ ? duplex_->next_deadline() : UINT64_MAX;
  return std::min({sup_->next_deadline(), retry, roles});
}

int Server::do_work(std::uint64_t now) {
  last_now_ = now;
  int work = static_cast<int>(to_spawner_.flush());
  Message m;
  for (int n = 0; n < kBatch && ctl_.channel(ChannelId::spawner_to_server).pop(m); ++n) {
    ++work;
    if (auto r = retiring_.find(m.slot);
        r != retiring_.end() && r->second == m.incarnation &&
        (m.kind == MessageKind::exited || m.kind == MessageKind::start_failed)) {
      release(m.slot);  // a removed process is gone: its seats are free again
      continue;
    }
    const auto i = slots_.process_at(m.slot);  // never trust an index: out of range is nullopt
    if (!i) continue;
    switch (m.kind) {
      case MessageKind::started: sup_->on_spawned(*i, m.incarnation, now); break;
      case MessageKind::start_failed: sup_->on_spawn_failed(*i, m.incarnation, now); break;
      case MessageKind::exited:
        if (m.incarnation == sup_->incarnation(*i)) failed_here(*i, now);
        sup_->on_exited(*i, m.incarnation, m.status, now);
        break;
      default: break;
    }
  }
  for (int n = 0; n < kBatch && ctl_.channel(ChannelId::monitor_to_server).pop(m); ++n) {
    ++work;
    const auto i = slots_.process_at(m.slot);
    if (!i || m.kind != MessageKind::state) continue;
    const auto s = static_cast<shm::ProcessState>(m.arg);
    if (s == shm::ProcessState::ready) sup_->on_ready(*i, m.incarnation, now);
    if (s == shm::ProcessState::hung) {
      if (m.incarnation == sup_->incarnation(*i)) failed_here(*i, now);
      sup_->on_hung(*i, m.incarnation, now);
    }
  }
  if (now >= sup_->next_deadline()) {
    sup_->tick(now);
    ++work;
  }
  apply(now);
  if (duplex_) duplex_turn(now);
  return work;
}

bool Server::parked(std::size_t i) const {
  // A parked spare (docs/spares.md) has no work in progress, and cannot say so: it is asleep in
  // park() until promoted.
  shm::WatchRecord w{};
  return ctl_.process(slots_.slot(i)).watch.read(w) && w.incarnation == sup_->incarnation(i) &&
         w.spare == shm::SpareState::parked;
}

void Server::failed_here(std::size_t i, std::uint64_t now) {
  const auto& p = config_->processes[i];
  if (!duplex_ || !p.critical || p.failover != engine::Failover::immediate) return;
  // A spare serves on in its place: nothing failed for the tenant.
  if (sup_->family_up_besides(i)) return;
  if (crashed_at_.size() != config_->processes.size())
    crashed_at_.assign(config_->processes.size(), 0);
  crashed_at_[i] = now;
}

std::vector<std::size_t> Server::tenant_processes(std::size_t tenant) const {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < config_->processes.size(); ++i) {
    if (config_->processes[i].group == config_->tenants[tenant].name) out.push_back(i);
  }
  return out;
}

void Server::duplex_turn(std::uint64_t now) {
  using engine::Phase;
  // A tenant's health: its critical processes that cannot be kept up here — out of restarts, or
  // (failover = "immediate") down after a crash or a hang.
  std::vector<std::uint32_t> critical(config_->tenants.size(), 0);
  if (crashed_at_.size() != config_->processes.size())
    crashed_at_.assign(config_->processes.size(), 0);
  for (std::size_t t = 0; t < config_->tenants.size(); ++t) {
    for (std::size_t i : tenant_processes(t)) {
      const auto& p = config_->processes[i];
      if (!p.critical) continue;
      const Phase ph = sup_->phase(i);
      // failover = "immediate": a crash or hang while the tenant is active here counts until the
      // tenant has moved, or the process has run again for a second (the peer could not take
      // it meanwhile).
      if (crashed_at_[i] != 0 && (duplex_->roles().role(t) != engine::Role::active ||
                                  (ph == Phase::up && now >= crashed_at_[i] + 1'000'000'000))) {
        crashed_at_[i] = 0;
      }
    }
    for (std::size_t i : tenant_processes(t)) {
      const auto& p = config_->processes[i];
      // A process with spares fails as a whole: when none of its instances can be kept up.
      if (!p.critical || !p.spare_of.empty()) continue;
      // An instance's crash counts when no other instance was up to serve on (failed_here);
      // running out of restarts, when every instance has.
      const auto all = sup_->instances(i);
      const bool crashed =
          std::any_of(all.begin(), all.end(), [&](std::size_t k) { return crashed_at_[k] != 0; });
      const bool all_failed = std::all_of(
          all.begin(), all.end(), [&](std::size_t k) { return sup_->phase(k) == Phase::failed; });
      critical[t] += crashed || all_failed ? 1 : 0;
    }
  }
  // Hot standby: a step-down ends once every running process of the tenant has said it drained
  // this epoch (hamon_drained()), or at drain_timeout.
  for (std::size_t t = 0; t < config_->tenants.size(); ++t) {
    if (config_->tenants[t].standby != engine::Standby::hot ||
        duplex_->roles().role(t) != engine::Role::stepping_down) {
      continue;
    }
    const auto g = groups_.index(config_->tenants[t].name);
    const auto procs = tenant_processes(t);
    if (g && std::all_of(procs.begin(), procs.end(), [&](std::size_t i) {
          return sup_->phase(i) != Phase::up || parked(i) ||
                 groups_.drained(*g, slots_.hb_slot(i), groups_.epoch(*g));
        })) {
      duplex_->drained(t, now);
    }
  }
  for (const auto& c : duplex_->turn(critical, now)) {
    const engine::TenantConfig& tenant = config_->tenants[c.tenant];
    if (tenant.standby != engine::Standby::cold || c.from == c.to) continue;
    // Cold standby: the processes start on takeover (in dependency and priority order) and
    // stop on step-down (in reverse).
    if (c.to == engine::Role::taking_over) sup_->start(tenant_processes(c.tenant), now);
    if (c.to == engine::Role::stepping_down || c.to == engine::Role::standby) {
      for (std::size_t i : tenant_processes(c.tenant)) sup_->stop(i, now);
    }
  }
  // Cold transitions end when their processes are all up, or all down.
  for (std::size_t t = 0; t < config_->tenants.size(); ++t) {
    if (config_->tenants[t].standby != engine::Standby::cold) continue;
    const auto role = duplex_->roles().role(t);
    const auto procs = tenant_processes(t);
    if (role == engine::Role::taking_over &&
        std::all_of(procs.begin(), procs.end(),
                    [&](std::size_t i) { return sup_->phase(i) == Phase::up; })) {
      duplex_->ready(t, now);
    } else if (role == engine::Role::stepping_down &&
               std::all_of(procs.begin(), procs.end(), [&](std::size_t i) {
                 const Phase ph = sup_->phase(i);
                 return ph == Phase::down || ph == Phase::failed;
               })) {
      duplex_->drained(t, now);
    }
  }
  apply(now);
}

void Server::apply(std::uint64_t now) {
  for (const engine::Action& a : sup_->take_actions()) {
    const std::uint32_t slot = slots_.slot(a.process);
    switch (a.kind) {
      case engine::Action::Kind::start:
        write_identity(a.process, a.incarnation);
        post(Message::start(slot, a.incarnation, now));
        break;
      case engine::Action::Kind::stop:
        post(Message::stop(slot, a.incarnation, a.grace_ns, now));
        break;
      case engine::Action::Kind::kill: post(Message::kill(slot, a.incarnation, now)); break;
    }
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
    node::post_event(ctl_, shm::DaemonId::server,
                     {.kind = kind,
                      .group = p.group,
                      .name = p.name,
                      .slot = slots_.slot(note.process),
                      .incarnation = note.incarnation,
                      .value = note.value,
                      .detail = critical_loss ? "critical: " + note.detail : note.detail});
  }
  for (std::size_t i = 0; i < config_->processes.size(); ++i) record(i, false);
}

void Server::record(std::size_t i, bool force) {
  const shm::SuperviseRecord r = node::to_record(sup_->snapshot(i));
  if (!force && std::memcmp(&recorded_[i], &r, sizeof r) == 0) return;
  recorded_[i] = r;
  ctl_.process(slots_.slot(i)).supervise.write(r);
}

base::Result<std::vector<std::size_t>> Server::resolve(const std::string& what, bool tenant) const {
  std::vector<std::size_t> out;
  const auto& cfg = *config_;
  if (tenant) {
    if (cfg.find_tenant(what) == nullptr)
      return base::Error{base::Errc::refused, "no tenant '" + what + "'"};
    for (std::size_t i = 0; i < cfg.processes.size(); ++i) {
      if (cfg.processes[i].group == what) out.push_back(i);
    }
    return out;
  }
  // "group/name", or a bare name when exactly one process has it.
  if (auto idx = cfg.process_index(what)) return std::vector<std::size_t>{*idx};
  for (std::size_t i = 0; i < cfg.processes.size(); ++i) {
    if (cfg.processes[i].name == what) out.push_back(i);
  }
  if (out.empty()) return base::Error{base::Errc::refused, "no process '" + what + "'"};
  if (out.size() > 1) {
    return base::Error{base::Errc::refused, "'" + what + "' is ambiguous: name it as group/name"};
  }
  return out;
}

std::vector<node::Acted> Server::acted(const std::vector<std::size_t>& processes) const {
  std::vector<node::Acted> out;
  for (std::size_t i : processes) {
    out.push_back({slots_.slot(i), sup_->incarnation(i), config_->processes[i].qualified()});
  }
  return out;
}

std::string Server::command(const std::string& line, const node::Caller& caller,
                            std::uint64_t now) {
  auto request = node::parse_request(line);
  if (!request) return node::format(node::Reply::failure(request.error().message));
  if (auto why = node::refusal(caller, *request, groups_of(*request), *config_, ::geteuid())) {
    node::post_event(ctl_, shm::DaemonId::server,
                     {.kind = shm::EventKind::refused,
                      .name = "hamon-server",
                      .pid = caller.pid,
                      .value = static_cast<std::int64_t>(caller.uid),
                      .detail = line + ": " + *why});
    return node::format(node::Reply::failure("refused: " + *why));
  }
  return node::format(handle(*request, now));
}

std::vector<std::string> Server::groups_of(const node::Request& r) const {
  using node::Verb;
  std::vector<std::string> out;
  if (!node::takes_target(r.verb)) return out;
  if (r.verb == Verb::switchover || r.verb == Verb::tenant_activate) {
    for (std::size_t at = 0; at <= r.target.size();) {
      const std::size_t end = std::min(r.target.find(',', at), r.target.size());
      out.push_back(r.target.substr(at, end - at));
      at = end + 1;
    }
    return out;
  }
  const bool tenant =
      r.verb == Verb::tenant_start || r.verb == Verb::tenant_stop || r.verb == Verb::tenant_restart;
  if (tenant) return {r.target};
  // A target that does not resolve acts on nothing; handle() says why to whoever may ask.
  if (auto targets = resolve(r.target, false)) {
    for (std::size_t i : *targets) out.push_back(config_->processes[i].group);
  } else {
    out.push_back(r.target.substr(0, r.target.find('/')));
  }
  return out;
}

node::Reply Server::handle(const node::Request& r, std::uint64_t now) {
  using node::Verb;
  switch (r.verb) {
    case Verb::up: boot(now); return node::Reply::success();
    case Verb::down:
      sup_->stop_all(now);
      apply(now);
      return node::Reply::success();
    case Verb::reload: return reload(now);
    case Verb::switchover:
    case Verb::tenant_activate: {
      if (!duplex_)
        return node::Reply::failure("this node has no peer: its tenants are active here");
      // Several tenants, comma-separated (no name has a comma), are moved in one turn: the
      // peer hears them all in one delta.
      std::string errors;
      for (std::size_t at = 0; at <= r.target.size();) {
        const std::size_t end = std::min(r.target.find(',', at), r.target.size());
        const std::string tenant = r.target.substr(at, end - at);
        at = end + 1;
        auto done = r.verb == Verb::switchover ? duplex_->switchover(tenant, now)
                                               : duplex_->activate(tenant, now);
        if (!done) errors.append(errors.empty() ? "" : "; ").append(done.error().message);
      }
      duplex_turn(now);
      if (!errors.empty()) return node::Reply::failure(errors);
      return node::Reply::success();
    }
    default: break;
  }
  const bool tenant =
      r.verb == Verb::tenant_start || r.verb == Verb::tenant_stop || r.verb == Verb::tenant_restart;
  auto targets = resolve(r.target, tenant);
  if (!targets) return node::Reply::failure(targets.error().message);
  // Reported as they are before the request: a restart is done once a newer incarnation is
  // ready; a start or stop once the state is reached.
  const auto before = acted(*targets);
  switch (r.verb) {
    case Verb::start:
    case Verb::tenant_start: sup_->start(*targets, now); break;
    case Verb::stop:
    case Verb::tenant_stop:
      for (std::size_t i : *targets) sup_->stop(i, now);
      break;
    case Verb::restart:
    case Verb::tenant_restart:
      for (std::size_t i : *targets) sup_->restart(i, now);
      break;
    default: break;
  }
  apply(now);
  return node::Reply::success(
      r.verb == Verb::restart || r.verb == Verb::tenant_restart ? before : acted(*targets));
}

void Server::retire(std::uint32_t slot, std::uint64_t grace_ns, std::uint64_t now) {
  shm::SpawnRecord sp{};
  const bool running = ctl_.process(slot).spawn.read(sp) && sp.pid > 0 && sp.exited_ns == 0;
  if (!running) {
    release(slot);
    return;
  }
  retiring_[slot] = sp.incarnation;
  post(Message::stop(slot, sp.incarnation, grace_ns, now));
}

void Server::release(std::uint32_t slot) {
  retiring_.erase(slot);
  if (!slots_.removed(slot)) return;  // configured again meanwhile: its seat is in use
  slots_.release(slot);
  ctl_.process(slot).identity.write(shm::ProcessIdentity{});
  ctl_.process(slot).supervise.write(shm::SuperviseRecord{});
}

void Server::tend(std::uint64_t now) {
  if (now < next_tend_ns_) return;
  next_tend_ns_ = now + 100'000'000;
  groups_.tend();
  const std::string said = running_.tend_and_say();
  if (said.empty()) return;
  node::post_event(ctl_, shm::DaemonId::server,
                   {.kind = shm::EventKind::note, .name = "hamon-server", .detail = said});
}

node::Reply Server::reload(std::uint64_t now) {
  // The operator's file; what the node runs is the copy, which changes only here and only once
  // the file is known good.
  node::LoadResult r = node::load_config_file(node_.source_path);
  if (!r.config) {
    std::string why;
    for (const auto& e : r.errors) why += (why.empty() ? "" : "; ") + e;
    return node::Reply::failure("the new configuration is not valid: " + why);
  }
  auto next = std::make_unique<engine::Config>(std::move(*r.config));
  if (next->cluster.name != config_->cluster.name || next->find_node(node_.id) == nullptr) {
    return node::Reply::failure(
        "reload cannot rename the cluster or remove this node; restart the node instead");
  }
  // On disk before anything changes: a reload the node cannot keep across a daemon's restart is
  // refused, not half made.
  if (auto s = running_.stage(r.text); !s) {
    return node::Reply::failure("cannot keep the new configuration: " + s.error().message);
  }
  if (auto g = ensure_groups(*next); !g) {
    running_.discard();
    return node::Reply::failure(g.error().message);
  }
  std::map<std::uint32_t, std::uint64_t> grace;  // by slot, as seated before: for removed ones
  for (std::size_t i = 0; i < config_->processes.size(); ++i) {
    grace[slots_.slot(i)] = static_cast<std::uint64_t>(config_->processes[i].stop_timeout.count());
  }
  auto placed = slots_.place(*next, [&](const std::string& g) { return groups_.capacity(g); });
  if (!placed) {
    running_.discard();
    return node::Reply::failure(placed.error().message);
  }
  // Kept processes carry their state (slot, incarnation, budget); changed ones are restarted.
  const std::size_t n = next->processes.size();
  std::vector<std::optional<engine::Supervisor::Snapshot>> carried(n);
  std::vector<std::size_t> added, changed;
  for (std::size_t j = 0; j < n; ++j) {
    if (const auto prev = placed->previous[j]) {
      carried[j] = sup_->snapshot(*prev);
      if (!config_->processes[*prev].same_as(next->processes[j])) changed.push_back(j);
    } else {
      added.push_back(j);
    }
  }
  const auto removed = placed->removed;
  (void)install(std::move(next), std::move(carried), sup_->next_incarnation(), now);
  for (std::uint32_t s : removed) retire(s, grace.count(s) != 0 ? grace[s] : 2'000'000'000, now);

  // The spawner reads the new running copy before any request that depends on it.
  if (auto c = running_.commit(); !c) {
    node::post_event(ctl_, shm::DaemonId::server,
                     {.kind = shm::EventKind::note,
                      .name = "hamon-server",
                      .detail = "the running configuration: " + c.error().message});
  }
  post(Message::reload(now));

  std::vector<std::size_t> to_start;
  for (std::size_t j : added) {
    if (runs_here(j)) to_start.push_back(j);
  }
  sup_->start(to_start, now);
  for (std::size_t j : changed) {
    if (sup_->wanted(j)) sup_->restart(j, now);
  }
  apply(now);
  node::post_event(
      ctl_, shm::DaemonId::server,
      {.kind = shm::EventKind::config_loaded,
       .name = "hamon-server",
       .detail = std::to_string(added.size()) + " added, " + std::to_string(changed.size()) +
                 " changed, " + std::to_string(removed.size()) + " removed"});
  return node::Reply::success();
}

}  // namespace hamon::server
