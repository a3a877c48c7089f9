#include "hamon/node/node_view.hpp"

#include <unistd.h>

#include <hamon/heartbeat.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>

#include "hamon/node/clock.hpp"
#include "hamon/node/daemon_slot.hpp"
#include "hamon/node/process_cgroup.hpp"
#include "hamon/engine/supervisor.hpp"
#include "hamon/shm/event_cursor.hpp"
#include "hamon/shm/heartbeat_table.hpp"
#include "hamon/shm/fixed_string.hpp"

namespace hamon::node {
namespace {

std::string daemon_state(std::uint32_t s) {
  switch (static_cast<shm::DaemonState>(s)) {
    case shm::DaemonState::absent: return "absent";
    case shm::DaemonState::starting: return "starting";
    case shm::DaemonState::running: return "running";
    case shm::DaemonState::stopping: return "stopping";
    case shm::DaemonState::exited: return "exited";
  }
  return "unknown";
}

}  // namespace

NodeView read_view(const shm::ControlSegment& ctl) {
  NodeView v;
  v.cluster = shm::read_fixed(ctl.header().cluster);
  v.node = shm::read_fixed(ctl.header().node);
  const std::uint64_t now = node::now_ns();
  // One wait for the whole view, for writers preempted mid-write (Seqlocked::read_until).
  const std::uint64_t patience = now + 50'000'000;
  for (std::size_t i = 0; i < static_cast<std::size_t>(shm::DaemonId::count); ++i) {
    const auto id = static_cast<shm::DaemonId>(i);
    const shm::DaemonSlot& d = ctl.daemon(id);
    DaemonRow r;
    r.name = shm::to_string(id);
    r.pid = static_cast<std::int32_t>(d.pid.load());
    r.state = daemon_state(d.state.load());
    // A daemon killed outright cannot say so itself: check that its pid is still it.
    if (r.state == "running" && !node::still_runs(r.pid, d.start_ticks.load())) r.state = "dead";
    r.restarts = d.restarts.load();
    r.channel_full = d.channel_full.load(std::memory_order_relaxed);
    r.failed_starts = d.failed_starts.load(std::memory_order_relaxed);
    if (r.state != "running" && d.restart_at_ns.load(std::memory_order_relaxed) > now)
      r.state = "backoff";
    const std::uint64_t hb = d.heartbeat_ns.load();
    if (r.pid > 0 && hb != 0 && hb <= now) r.heartbeat_age_us = (now - hb) / 1000;
    v.daemons.push_back(r);
  }
  // Groups and their heartbeat segments (read-only).
  std::map<std::uint32_t, shm::GroupInfo> groups;
  std::map<std::uint32_t, std::unique_ptr<shm::HeartbeatTable>> tables;
  for (std::uint32_t g = 0; g < ctl.max_groups(); ++g) {
    shm::GroupInfo info{};
    if (!ctl.group(g).info.read_until(info, patience) || info.kind == shm::GroupKind::unused)
      continue;
    groups[g] = info;
    if (info.kind == shm::GroupKind::tenant) {
      v.tenants.push_back(
          {shm::read_fixed(info.name),
           hamon::to_string(static_cast<hamon::Role>(info.role <= 4 ? info.role : 0)), info.epoch,
           info.critical_failures, (info.flags & shm::kGroupAsks) != 0});
    }
    auto t = shm::HeartbeatTable::attach(shm::read_fixed(info.heartbeat_segment),
                                         shm::Access::read_only);
    if (t && info.kind == shm::GroupKind::tenant)
      v.tenants.back().isolated = t->owner() != ctl.owner();
    if (t) tables[g] = std::make_unique<shm::HeartbeatTable>(std::move(t).value());
  }
  if (!v.tenants.empty()) {
    // Why each tenant has its role: its latest role change in the ring ("from -> to (epoch N):
    // why"). A bounded read of the ring, as `hamon events` does.
    shm::EventCursor cursor(ctl.events(), ctl.events().oldest());
    shm::Event e;
    for (std::uint32_t n = 0; n < ctl.events().capacity(); ++n) {
      const auto step = cursor.next(e, now);
      if (step.kind == shm::EventCursor::Kind::caught_up ||
          step.kind == shm::EventCursor::Kind::pending) {
        break;
      }
      if (step.kind != shm::EventCursor::Kind::event || e.kind != shm::EventKind::role_changed) {
        continue;
      }
      const std::string detail = shm::read_fixed(e.detail);
      const auto colon = detail.find("): ");
      // The end of a transition ("taking-over -> active: took over") keeps the reason that
      // began it ("the peer is lost (takeover)").
      const bool completes =
          detail.starts_with("taking-over -> ") || detail.starts_with("stepping-down -> ");
      for (auto& t : v.tenants) {
        if (t.name == shm::read_fixed(e.group) && colon != std::string::npos &&
            (!completes || t.why.empty())) {
          t.why = detail.substr(colon + 3);
        }
      }
    }
  }
  for (std::uint32_t s = 0; s < ctl.max_processes(); ++s) {
    shm::ProcessIdentity id{};
    if (!ctl.process(s).identity.read_until(id, patience) || id.name[0] == '\0') continue;
    shm::SpawnRecord sp{};
    shm::WatchRecord w{};
    shm::SuperviseRecord su{};
    (void)ctl.process(s).spawn.read_until(sp, patience);
    (void)ctl.process(s).watch.read_until(w, patience);
    (void)ctl.process(s).supervise.read_until(su, patience);
    ProcessRow r;
    r.slot = s;
    auto g = groups.find(id.group);
    r.tenant = g != groups.end() ? shm::read_fixed(g->second.name) : "?";
    r.name = shm::read_fixed(id.name);
    r.incarnation = su.incarnation;
    r.restarts = su.restarts;
    r.wanted = su.desired != 0;
    const bool current_spawn = sp.incarnation == su.incarnation && sp.pid > 0;
    const bool alive = current_spawn && sp.exited_ns == 0;
    r.pid = alive ? sp.pid : 0;
    if (g != groups.end() && g->second.kind == shm::GroupKind::tenant) {
      // The role hamon-server decided (its group slot), not the tenant-writable copy.
      r.role = hamon::to_string(static_cast<hamon::Role>(g->second.role <= 4 ? g->second.role : 0));
    } else {
      r.role.assign(1, '-');  // not = "-": GCC 12 -O3 false -Wrestrict (its bug 105651)
    }
    switch (static_cast<engine::Phase>(su.phase)) {
      case engine::Phase::down:
        r.state = current_spawn && sp.exited_ns != 0 ? "exited" : "down";
        break;
      case engine::Phase::waiting: r.state = "waiting"; break;
      case engine::Phase::backoff: r.state = "restarting"; break;
      case engine::Phase::failed: r.state = "failed"; break;
      case engine::Phase::stopping: r.state = "stopping"; break;
      case engine::Phase::starting:
      case engine::Phase::up:
        if (w.incarnation == su.incarnation && w.state != shm::ProcessState::unused) {
          r.state = shm::to_string(w.state);
          if (w.spare == shm::SpareState::parked) r.spare = "parked";
          if (w.spare == shm::SpareState::serving) r.spare = "serving";
        } else {
          r.state = "starting";
        }
        break;
    }
    auto t = tables.find(id.group);
    if (alive && t != tables.end() && id.hb_slot < t->second->slot_count()) {
      const shm::BeatSnapshot b = t->second->snapshot(id.hb_slot);
      // The clock is read after the stamp: a stamp is never newer than a clock read after it,
      // whereas one read before every slot is older than the beats of a fast beater.
      const std::uint64_t seen = node::now_ns();
      if (b.incarnation == su.incarnation && b.beat_count > 0 && b.beat_stamp <= seen) {
        r.heartbeat_age_us = (seen - b.beat_stamp) / 1000;
      }
    }
    v.processes.push_back(r);
  }
  v.peers = read_peers(ctl);
  return v;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {
std::string age(const std::optional<std::uint64_t>& us) {
  if (!us) return "-";
  if (*us < 10'000) return std::to_string(*us) + "us";
  if (*us < 10'000'000) return std::to_string(*us / 1000) + "ms";
  return std::to_string(*us / 1'000'000) + "s";
}
std::string json_age(const std::optional<std::uint64_t>& us) {
  return us ? std::to_string(*us) : "null";
}

std::string ago(const std::optional<std::uint64_t>& us) {
  return us ? age(us) + " ago" : std::string("never");
}

void render_peer(std::ostringstream& o, const PeerRow& p) {
  char line[256];
  o << "\npeer " << p.node << " (" << p.side << "): " << p.state;
  if (p.state_age_us) o << " for " << age(p.state_age_us);
  o << ", last heard " << ago(p.last_heard_us) << ", auth " << p.auth
    << (p.auth == "none" ? " (frames are not authenticated: a loopback demo only)" : "") << "\n";
  std::snprintf(line, sizeof line, "  %-4s %-22s %-10s %8s  %10s  %8s\n", "LINK", "ADDRESS",
                "STATE", "RTT", "HEARD", "CONNECTS");
  o << line;
  for (std::size_t i = 0; i < p.links.size(); ++i) {
    const auto& l = p.links[i];
    std::snprintf(line, sizeof line, "  %-4zu %-22s %-10s %8s  %10s  %8u\n", i, l.address.c_str(),
                  l.state.c_str(), age(l.rtt_us).c_str(), ago(l.last_heard_us).c_str(), l.connects);
    o << line;
  }
  o << "  table: state " << p.state_seq << ", " << p.snapshots << " snapshots (last "
    << ago(p.snapshot_age_us) << "), " << p.deltas << " deltas, " << p.rejected
    << " frames rejected";
  if (!p.last_reject.empty()) o << " (last: " << p.last_reject << ")";
  if (p.overflow != 0) o << ", " << p.overflow << " records beyond this node's table not shown";
  o << "\n";
  if (!p.tenants.empty()) {
    o << "  tenants:";
    for (const auto& t : p.tenants)
      o << ' ' << t.name << '=' << t.role << "(epoch " << t.epoch << ')';
    o << "\n";
  }
  o << '\n';
  std::snprintf(line, sizeof line, "%-12s %-16s %8s  %-10s %8s  %11s\n", "TENANT", "PROCESS", "PID",
                "STATE", "RESTARTS", "INCARNATION");
  o << line;
  for (const auto& r : p.processes) {
    std::snprintf(line, sizeof line, "%-12s %-16s %8d  %-10s %8u  %11llu\n", r.tenant.c_str(),
                  r.name.c_str(), r.pid, r.state.c_str(), r.restarts,
                  static_cast<unsigned long long>(r.incarnation));
    o << line;
  }
}

void json_peer(std::ostringstream& o, const PeerRow& p) {
  o << "{\"node\":" << json_string(p.node) << ",\"side\":" << json_string(p.side)
    << ",\"state\":" << json_string(p.state) << ",\"auth\":" << json_string(p.auth)
    << ",\"last_heard_us\":" << json_age(p.last_heard_us)
    << ",\"state_age_us\":" << json_age(p.state_age_us) << ",\"state_seq\":" << p.state_seq
    << ",\"snapshots\":" << p.snapshots << ",\"snapshot_age_us\":" << json_age(p.snapshot_age_us)
    << ",\"deltas\":" << p.deltas << ",\"rejected\":" << p.rejected
    << ",\"last_reject\":" << json_string(p.last_reject) << ",\"losses\":" << p.losses
    << ",\"overflow\":" << p.overflow << ",\"links\":[";
  for (std::size_t i = 0; i < p.links.size(); ++i) {
    const auto& l = p.links[i];
    o << (i ? "," : "") << "{\"index\":" << i << ",\"address\":" << json_string(l.address)
      << ",\"state\":" << json_string(l.state) << ",\"rtt_us\":" << json_age(l.rtt_us)
      << ",\"last_heard_us\":" << json_age(l.last_heard_us) << ",\"connects\":" << l.connects
      << ",\"frames_in\":" << l.frames_in << ",\"frames_out\":" << l.frames_out
      << ",\"bytes_in\":" << l.bytes_in << ",\"bytes_out\":" << l.bytes_out << "}";
  }
  o << "],\"tenants\":[";
  for (std::size_t i = 0; i < p.tenants.size(); ++i) {
    const auto& t = p.tenants[i];
    o << (i ? "," : "") << "{\"name\":" << json_string(t.name)
      << ",\"role\":" << json_string(t.role) << ",\"epoch\":" << t.epoch
      << ",\"critical_failures\":" << t.critical_failures << "}";
  }
  o << "],\"processes\":[";
  for (std::size_t i = 0; i < p.processes.size(); ++i) {
    const auto& r = p.processes[i];
    o << (i ? "," : "") << "{\"tenant\":" << json_string(r.tenant)
      << ",\"name\":" << json_string(r.name) << ",\"pid\":" << r.pid
      << ",\"state\":" << json_string(r.state) << ",\"ready\":" << (r.ready ? "true" : "false")
      << ",\"critical\":" << (r.critical ? "true" : "false") << ",\"incarnation\":" << r.incarnation
      << ",\"restarts\":" << r.restarts << "}";
  }
  o << "]}";
}
}  // namespace

void add_trees(NodeView& v) {
  const std::string dir = node_cgroup_dir(v.cluster, v.node);
  if (dir.empty()) return;
  for (auto& p : v.processes) {
    if (p.pid <= 0) continue;
    const std::string cg = find_process_cgroup(dir, p.tenant + "/" + p.name);
    if (cg.empty()) continue;
    p.tree = static_cast<std::uint32_t>(cgroup_members(cg).size());
  }
}

void add_caps(NodeView& v) {
  const auto spawner = std::find_if(v.daemons.begin(), v.daemons.end(),
                                    [](const DaemonRow& d) { return d.name == "hamon-spawner"; });
  // Its pid names it only while it runs.
  if (spawner == v.daemons.end() || spawner->pid <= 0 || spawner->state != "running") return;
  for (auto& t : v.tenants) t.caps = read_tenant_caps(spawner->pid, v.cluster, v.node, t.name);
}

namespace {

std::string mebibytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

// "memory 41.0 MiB of 48.0 MiB (2 ended at the cap), pids 4 of 4, cpu weight 50" (appended, not
// "literal" + std::string&&: GCC 12 warns falsely of overlap there).
std::string render_caps(const TenantCapsUsage& u) {
  std::string out;
  const auto part = [&](const char* what) {
    if (!out.empty()) out += ", ";
    out += what;
  };
  if (u.memory_used) {
    part("memory ");
    out += mebibytes(*u.memory_used);
    if (u.memory_cap) out.append(" of ").append(mebibytes(*u.memory_cap));
    if (u.oom_kills && *u.oom_kills > 0) {
      out.append(" (").append(std::to_string(*u.oom_kills)).append(" ended at the cap)");
    }
  }
  if (u.pids_used) {
    part("pids ");
    out += std::to_string(*u.pids_used);
    if (u.pids_cap) out.append(" of ").append(std::to_string(*u.pids_cap));
  }
  if (u.cpu_weight) {
    part("cpu weight ");
    out += std::to_string(*u.cpu_weight);
  }
  return out;
}

std::string json_number(const std::optional<std::uint64_t>& n) {
  return n ? std::to_string(*n) : std::string("null");
}

}  // namespace

std::string render_table(const NodeView& v) {
  std::ostringstream o;
  char line[256];
  o << "node " << v.node << " of cluster " << v.cluster << "\n\n";
  std::snprintf(line, sizeof line, "%-16s %8s  %-10s %8s  %9s  %12s\n", "DAEMON", "PID", "STATE",
                "RESTARTS", "HEARTBEAT", "CHANNEL-FULL");
  o << line;
  for (const auto& d : v.daemons) {
    std::snprintf(line, sizeof line, "%-16s %8d  %-10s %8u  %9s  %12llu\n", d.name.c_str(), d.pid,
                  d.state.c_str(), d.restarts, age(d.heartbeat_age_us).c_str(),
                  static_cast<unsigned long long>(d.channel_full));
    o << line;
  }
  o << '\n';
  const bool spares = std::any_of(v.processes.begin(), v.processes.end(),
                                  [](const ProcessRow& p) { return !p.spare.empty(); });
  const int state_width = spares ? 15 : 10;  // running/serving
  std::snprintf(line, sizeof line, "%-12s %-16s %8s  %-*s %-13s %9s  %8s  %11s  %4s\n", "TENANT",
                "PROCESS", "PID", state_width, "STATE", "ROLE", "HEARTBEAT", "RESTARTS",
                "INCARNATION", "TREE");
  o << line;
  for (const auto& p : v.processes) {
    const std::string tree = p.tree ? std::to_string(*p.tree) : "-";
    std::string state = p.state;
    if (!p.spare.empty()) state.append(1, '/').append(p.spare);
    std::snprintf(line, sizeof line, "%-12s %-16s %8d  %-*s %-13s %9s  %8u  %11llu  %4s\n",
                  p.tenant.c_str(), p.name.c_str(), p.pid, state_width, state.c_str(),
                  p.role.c_str(), age(p.heartbeat_age_us).c_str(), p.restarts,
                  static_cast<unsigned long long>(p.incarnation), tree.c_str());
    o << line;
  }
  if (!v.tenants.empty()) {
    o << "\nroles here:";
    for (const auto& t : v.tenants) {
      o << ' ' << t.name << '=' << t.role << "(epoch " << t.epoch << ')'
        << (t.critical_failures > 0 ? "[critical failed]" : "")
        << (t.asks ? "[asks the peer]" : "");
    }
    o << '\n';
    for (const auto& t : v.tenants) {
      if (!t.why.empty()) o << "  " << t.name << " is " << t.role << ": " << t.why << '\n';
    }
    std::string shared;
    for (const auto& t : v.tenants) {
      if (!t.isolated) shared.append(shared.empty() ? "" : ", ").append(t.name);
    }
    if (!shared.empty()) {
      o << "warning: not isolated (run as hamon's own user, docs/security.md): " << shared << '\n';
    }
    for (const auto& t : v.tenants) {
      if (t.caps.any()) o << "  " << t.name << " caps: " << render_caps(t.caps) << '\n';
    }
  }
  for (const auto& p : v.peers) render_peer(o, p);
  return o.str();
}

std::string render_side_by_side(const NodeView& v) {
  std::ostringstream o;
  char line[256];
  o << "cluster " << v.cluster << "\n\n";
  std::snprintf(line, sizeof line, "%-16s %8s  %-10s %8s  %9s\n", "DAEMON", "PID", "STATE",
                "RESTARTS", "HEARTBEAT");
  o << line;
  for (const auto& d : v.daemons) {
    std::snprintf(line, sizeof line, "%-16s %8d  %-10s %8u  %9s\n", d.name.c_str(), d.pid,
                  d.state.c_str(), d.restarts, age(d.heartbeat_age_us).c_str());
    o << line;
  }
  const PeerRow* peer = v.peers.empty() ? nullptr : &v.peers.front();
  std::vector<std::string> left, right;
  left.push_back("node " + v.node + " (this one)");
  std::snprintf(line, sizeof line, "%-10s %-14s %-9s %7s %4s", "TENANT", "PROCESS", "STATE", "PID",
                "RST");
  left.emplace_back(line);
  for (const auto& p : v.processes) {
    std::snprintf(line, sizeof line, "%-10.10s %-14.14s %-9.9s %7d %4u", p.tenant.c_str(),
                  p.name.c_str(), p.state.c_str(), p.pid, p.restarts);
    left.emplace_back(line);
  }
  if (peer != nullptr) {
    std::string head = "node " + peer->node + " (peer, " + peer->state;
    for (std::size_t i = 0; i < peer->links.size(); ++i) {
      head += ", link " + std::to_string(i) + " " + peer->links[i].state;
      if (peer->links[i].rtt_us) head += " " + age(peer->links[i].rtt_us);
    }
    right.push_back(head + ")");
    right.emplace_back(left[1]);
    for (const auto& p : peer->processes) {
      std::snprintf(line, sizeof line, "%-10.10s %-14.14s %-9.9s %7d %4u", p.tenant.c_str(),
                    p.name.c_str(), p.state.c_str(), p.pid, p.restarts);
      right.emplace_back(line);
    }
  }
  o << '\n';
  for (std::size_t i = 0; i < std::max(left.size(), right.size()); ++i) {
    const std::string& l = i < left.size() ? left[i] : std::string();
    std::snprintf(line, sizeof line, "%-50.50s  | %s\n", l.c_str(),
                  i < right.size() ? right[i].c_str() : "");
    o << line;
  }
  return o.str();
}

std::string render_json(const NodeView& v) {
  std::ostringstream o;
  o << "{\"cluster\":" << json_string(v.cluster) << ",\"node\":" << json_string(v.node)
    << ",\"daemons\":[";
  for (std::size_t i = 0; i < v.daemons.size(); ++i) {
    const auto& d = v.daemons[i];
    o << (i ? "," : "") << "{\"name\":" << json_string(d.name) << ",\"pid\":" << d.pid
      << ",\"state\":" << json_string(d.state) << ",\"restarts\":" << d.restarts
      << ",\"heartbeat_age_us\":" << json_age(d.heartbeat_age_us)
      << ",\"channel_full\":" << d.channel_full << ",\"failed_starts\":" << d.failed_starts << "}";
  }
  o << "],\"processes\":[";
  for (std::size_t i = 0; i < v.processes.size(); ++i) {
    const auto& p = v.processes[i];
    o << (i ? "," : "") << "{\"slot\":" << p.slot << ",\"tenant\":" << json_string(p.tenant)
      << ",\"name\":" << json_string(p.name) << ",\"pid\":" << p.pid
      << ",\"state\":" << json_string(p.state) << ",\"spare\":" << json_string(p.spare)
      << ",\"role\":" << json_string(p.role) << ",\"incarnation\":" << p.incarnation
      << ",\"restarts\":" << p.restarts << ",\"heartbeat_age_us\":" << json_age(p.heartbeat_age_us)
      << ",\"tree\":" << (p.tree ? std::to_string(*p.tree) : std::string("null")) << "}";
  }
  o << "],\"tenants\":[";
  for (std::size_t i = 0; i < v.tenants.size(); ++i) {
    const auto& t = v.tenants[i];
    o << (i ? "," : "") << "{\"name\":" << json_string(t.name)
      << ",\"role\":" << json_string(t.role) << ",\"epoch\":" << t.epoch
      << ",\"critical_failures\":" << t.critical_failures
      << ",\"asks\":" << (t.asks ? "true" : "false") << ",\"why\":" << json_string(t.why)
      << ",\"isolated\":" << (t.isolated ? "true" : "false")
      << ",\"caps\":{\"memory_used\":" << json_number(t.caps.memory_used)
      << ",\"memory_cap\":" << json_number(t.caps.memory_cap)
      << ",\"oom_kills\":" << json_number(t.caps.oom_kills)
      << ",\"pids_used\":" << json_number(t.caps.pids_used)
      << ",\"pids_cap\":" << json_number(t.caps.pids_cap) << ",\"cpu_weight\":"
      << (t.caps.cpu_weight ? std::to_string(*t.caps.cpu_weight) : std::string("null")) << "}}";
  }
  o << "],\"peers\":[";
  for (std::size_t i = 0; i < v.peers.size(); ++i) {
    if (i) o << ',';
    json_peer(o, v.peers[i]);
  }
  o << "]}\n";
  return o.str();
}

}  // namespace hamon::node
