// hamon events [--follow] [--json]: the node's event ring, oldest first.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "node_target.hpp"
#include "quit_signal.hpp"
#include "hamon/shm/event_cursor.hpp"
#include "hamon/node/node_view.hpp"

namespace hamon::cli {
namespace {

struct EventsOptions {
  NodeOptions node;
  bool follow = false;
  bool json = false;
};

std::string field(const char* s, std::size_t n) { return std::string(s, strnlen(s, n)); }

void print(const shm::Event& e, bool json) {
  const std::string group = field(e.group, sizeof e.group), name = field(e.name, sizeof e.name),
                    detail = field(e.detail, sizeof e.detail);
  if (json) {
    std::cout << "{\"t_ns\":" << e.t_ns << ",\"kind\":" << node::json_string(shm::to_string(e.kind))
              << ",\"tenant\":" << node::json_string(group)
              << ",\"name\":" << node::json_string(name) << ",\"pid\":" << e.pid
              << ",\"incarnation\":" << e.incarnation << ",\"detail\":" << node::json_string(detail)
              << "}\n";
    return;
  }
  char line[512];
  const std::string who = group.empty() ? name : group + "/" + name;
  std::snprintf(line, sizeof line, "%14.6f  %-14s %-24s pid %-8d inc %-6llu %s\n",
                static_cast<double>(e.t_ns) / 1e9, shm::to_string(e.kind), who.c_str(), e.pid,
                static_cast<unsigned long long>(e.incarnation), detail.c_str());
  std::cout << line;
}

int events(const EventsOptions& o) {
  int code = exit_ok;
  const auto target = find_node(o.node, code, true);
  if (!target) return code;
  auto ctl = shm::ControlSegment::attach(target->control_segment, shm::Access::read_only);
  if (!ctl) return exit_not_running;
  quit_on({SIGINT, SIGTERM, SIGPIPE});
  const shm::EventRing ring = ctl->events();
  shm::EventCursor cursor(ring, ring.oldest());
  while (!quit_asked()) {
    shm::Event e;
    const auto now = std::chrono::steady_clock::now().time_since_epoch();
    const auto step =
        cursor.next(e, static_cast<std::uint64_t>(
                           std::chrono::duration_cast<std::chrono::nanoseconds>(now).count()));
    switch (step.kind) {
      case shm::EventCursor::Kind::event: print(e, o.json); continue;
      case shm::EventCursor::Kind::lost:
        // On stderr: stdout stays one event per line, for scripts.
        std::cerr << "hamon events: " << step.lost << " event(s) lost\n";
        continue;
      case shm::EventCursor::Kind::pending: break;
      case shm::EventCursor::Kind::caught_up:
        if (!o.follow) return exit_ok;
        break;
    }
    std::cout << std::flush;
    if (!shm::ControlSegment::attach(target->control_segment, shm::Access::read_only)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exit_ok;
}

}  // namespace

void add_events(CLI::App& app, int& exit_code) {
  CLI::App* c = app.add_subcommand("events", "The node's recent events, oldest first");
  auto o = std::make_shared<EventsOptions>();
  add_node_options(*c, o->node);
  c->add_flag("--follow,-f", o->follow, "Keep printing new events as they come");
  c->add_flag("--json", o->json, "One JSON object per line");
  c->callback([o, &exit_code] { exit_code = events(*o); });
}

}  // namespace hamon::cli
