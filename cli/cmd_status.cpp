// hamon status [--json], hamon top and hamon metrics: the node as its segments show it,
// read-only.
#include <poll.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>

#include "commands.hpp"
#include "node_target.hpp"
#include "quit_signal.hpp"
#include "hamon/node/metrics.hpp"
#include "hamon/node/node_view.hpp"

namespace hamon::cli {
namespace {

struct StatusOptions {
  NodeOptions node;
  bool json = false;
  double interval_s = 0.5;
  long iterations = -1;
};

// The node's view, read once, printed by `render`: status and metrics differ only there.
template <typename Render>
int print_view(const StatusOptions& o, Render render) {
  int code = exit_ok;
  const auto target = find_node(o.node, code, true);
  if (!target) return code;
  auto ctl = shm::ControlSegment::attach(target->control_segment, shm::Access::read_only);
  if (!ctl) {
    std::cerr << "hamon: " << ctl.error().message << '\n';
    return exit_not_running;
  }
  node::NodeView v = node::read_view(*ctl);
  node::add_trees(v);
  node::add_caps(v);
  std::cout << render(v);
  return exit_ok;
}

int status(const StatusOptions& o) {
  return print_view(o, [&o](const node::NodeView& v) {
    return o.json ? node::render_json(v) : node::render_table(v);
  });
}

int metrics(const StatusOptions& o) {
  return print_view(o, [](const node::NodeView& v) { return node::render_metrics(v, nullptr); });
}

// Redraws in place with plain ANSI (home, clear to end): works in any terminal and in tmux.
int top(const StatusOptions& o) {
  int code = exit_ok;
  const auto target = find_node(o.node, code, true);
  if (!target) return code;
  auto ctl = shm::ControlSegment::attach(target->control_segment, shm::Access::read_only);
  if (!ctl) return exit_not_running;
  quit_on({SIGINT, SIGTERM});
  termios saved{};
  const bool tty = isatty(0) && tcgetattr(0, &saved) == 0;
  if (tty) {
    termios raw = saved;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO));
    tcsetattr(0, TCSANOW, &raw);
  }
  std::cout << "\x1b[?25l\x1b[2J";
  for (long i = 0; !quit_asked() && (o.iterations < 0 || i < o.iterations); ++i) {
    if (!shm::ControlSegment::attach(target->control_segment, shm::Access::read_only)) {
      std::cout << "\x1b[H\x1b[Jthe node stopped\n";
      break;
    }
    // With a peer, both nodes side by side; a one-node cluster keeps the full table.
    node::NodeView view = node::read_view(*ctl);
    node::add_trees(view);
    node::add_caps(view);
    std::cout << "\x1b[H"
              << (view.peers.empty() ? node::render_table(view) : node::render_side_by_side(view))
              << "\npress q to quit\x1b[J" << std::flush;
    // Keys only from a terminal: a closed or redirected stdin must not end the view.
    pollfd p{tty ? 0 : -1, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(o.interval_s * 1000)) > 0) {
      char c = 0;
      if (read(0, &c, 1) <= 0 || c == 'q' || c == 'Q') break;
    }
  }
  std::cout << "\x1b[?25h\n" << std::flush;
  if (tty) tcsetattr(0, TCSANOW, &saved);
  return exit_ok;
}

}  // namespace

void add_status(CLI::App& app, int& exit_code) {
  {
    CLI::App* c =
        app.add_subcommand("status", "Daemons and processes of the node, read from shared memory");
    auto o = std::make_shared<StatusOptions>();
    add_node_options(*c, o->node);
    c->add_flag("--json", o->json, "One JSON object: {daemons: [...], processes: [...]}");
    c->callback([o, &exit_code] { exit_code = status(*o); });
  }
  {
    CLI::App* c = app.add_subcommand("top", "hamon status, live, refreshed in place (q quits)");
    auto o = std::make_shared<StatusOptions>();
    add_node_options(*c, o->node);
    c->add_option("--interval", o->interval_s, "Seconds between refreshes (default 0.5)")
        ->check(CLI::Range(0.05, 60.0));
    c->add_option("--iterations", o->iterations, "Stop after this many refreshes");
    c->callback([o, &exit_code] { exit_code = top(*o); });
  }
  {
    CLI::App* c = app.add_subcommand(
        "metrics", "The node's metrics once, in the Prometheus text format (docs/metrics.md)");
    auto o = std::make_shared<StatusOptions>();
    add_node_options(*c, o->node);
    c->callback([o, &exit_code] { exit_code = metrics(*o); });
  }
}

}  // namespace hamon::cli
