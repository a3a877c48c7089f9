// hamon-exporter: serves a node's metrics to Prometheus (GET /metrics, text format 0.0.4). It
// reads the node's segments read-only, as `hamon status` does: a scrape costs the daemons
// nothing, and the exporter can be restarted, or never run, without the node noticing. It
// follows the node's events from the moment it starts (hamon_events_total, the restart and hang
// histograms: node/event_stats.hpp).
//
//   hamon-exporter --config FILE [--node ID] [--listen 127.0.0.1:9464]
//
// One thread, every socket asynchronous: a scrape is answered in well under a millisecond at
// thousands of processes, and a client that sends nothing, or trickles, holds no one else up —
// each connection has 2 s for its request and the answer, then it is dropped.
#include <sys/stat.h>

#include <utility>  // before Boost 1.74's Asio, which uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "hamon/node/clock.hpp"
#include "hamon/node/metrics.hpp"
#include "hamon/node/node.hpp"
#include "hamon/node/node_view.hpp"
#include "hamon/shm/control_segment.hpp"
#include "hamon/shm/event_cursor.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// The node's segments, attached again whenever they are missing (the node went down and came
// back up, or is not up yet).
class Source {
 public:
  // Attaches at once when the node runs: its events are followed from now on.
  explicit Source(std::string control_segment) : name_(std::move(control_segment)) {
    (void)current();
    started_ = true;
  }

  // The exposition, or nullopt while the node does not run.
  std::optional<std::string> scrape() {
    if (!current()) return std::nullopt;
    follow_events();
    hamon::node::NodeView v = hamon::node::read_view(*ctl_);
    hamon::node::add_trees(v);
    hamon::node::add_caps(v);
    return hamon::node::render_metrics(v, &events_);
  }

  // Between scrapes: events are read as they come, so that a ring lapped between two scrapes
  // loses none of them.
  void follow() {
    if (current()) follow_events();
  }

 private:
  // Whether the node runs, attached to its segments.
  bool current() {
    struct stat st {};
    if (::stat(("/dev/shm/" + name_).c_str(), &st) != 0) {
      ctl_.reset();  // down: nothing to show
      return false;
    }
    if (!ctl_ || st.st_ino != ino_) attach(st.st_ino);  // up again since: a new node
    return ctl_.has_value();
  }

  void attach(ino_t ino) {
    ino_ = ino;
    cursor_.reset();
    ctl_.reset();
    auto c = hamon::shm::ControlSegment::attach(name_, hamon::shm::Access::read_only);
    if (!c) return;
    ctl_.emplace(std::move(c).value());
    // At the exporter's start, what comes next; a node that came up since, from its first event:
    // all of it happened while the exporter ran.
    if (started_) events_.restart_node();
    const auto& ring = ctl_->events();
    cursor_.emplace(ring, started_ ? ring.oldest() : ring.head());
  }

  void follow_events() {
    hamon::shm::Event e;
    for (int n = 0; n < 100000; ++n) {
      const auto step = cursor_->next(e, hamon::node::now_ns());
      if (step.kind == hamon::shm::EventCursor::Kind::event) {
        events_.observe(e);
      } else if (step.kind == hamon::shm::EventCursor::Kind::lost) {
        events_.lost(step.lost);
      } else {
        break;
      }
    }
  }

  std::string name_;
  bool started_ = false;
  ino_t ino_ = 0;
  std::optional<hamon::shm::ControlSegment> ctl_;
  std::optional<hamon::shm::EventCursor> cursor_;
  hamon::node::EventStats events_;
};

http::response<http::string_body> answer(const http::request<http::string_body>& req,
                                         Source& source) {
  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(false);
  res.set(http::field::server, "hamon-exporter");
  const auto target = req.target();
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    res.result(http::status::method_not_allowed);
    res.body() = "only GET\n";
  } else if (target != "/metrics" && target.substr(0, 9) != "/metrics?") {
    res.result(http::status::not_found);
    res.body() = "hamon-exporter serves /metrics\n";
  } else if (auto text = source.scrape()) {
    res.result(http::status::ok);
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.body() = std::move(*text);
  } else {
    res.result(http::status::service_unavailable);
    res.body() = "the node does not run\n";
  }
  res.set(http::field::content_type, res.result() == http::status::ok
                                         ? "text/plain; version=0.0.4; charset=utf-8"
                                         : "text/plain; charset=utf-8");
  if (req.method() == http::verb::head) res.body().clear();
  res.prepare_payload();
  return res;
}

// One client's connection: its request read and answered within the deadline, or dropped.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Source& source) : stream_(std::move(socket)), source_(source) {}

  void start() {
    stream_.expires_after(kDeadline);  // for the request and the answer together
    http::async_read(stream_, buffer_, req_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       if (!ec) self->respond();
                     });
  }

 private:
  static constexpr auto kDeadline = std::chrono::seconds(2);

  void respond() {
    res_ = answer(req_, source_);
    http::async_write(stream_, res_, [self = shared_from_this()](beast::error_code, std::size_t) {
      beast::error_code ignored;
      self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  beast::tcp_stream stream_;
  Source& source_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
};

// Accepts connections for ever. When accepting fails (out of descriptors under a flood), it
// waits a moment rather than spinning on the error.
class Listener {
 public:
  Listener(asio::io_context& io, tcp::acceptor& acceptor, Source& source)
      : acceptor_(acceptor), source_(source), pause_(io) {}

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        pause_.expires_after(std::chrono::milliseconds(100));
        pause_.async_wait([this](beast::error_code) { accept(); });
        return;
      }
      std::make_shared<Session>(std::move(socket), source_)->start();
      accept();
    });
  }

 private:
  tcp::acceptor& acceptor_;
  Source& source_;
  asio::steady_timer pause_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"hamon-exporter: a node's metrics for Prometheus (docs/metrics.md)"};
  app.set_version_flag("--version", "hamon-exporter " HAMON_VERSION);
  std::string config, node_id, listen = "127.0.0.1:9464";
  app.add_option("--config", config, "the node's configuration")->required();
  app.add_option("--node", node_id, "the node's id (default: the only one, or this host's)");
  app.add_option("--listen", listen, "HOST:PORT to serve /metrics on (port 0: any free one)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  auto loaded = hamon::node::load_node(config, node_id);
  if (auto* err = std::get_if<std::string>(&loaded)) {
    std::fprintf(stderr, "hamon-exporter: %s\n", err->c_str());
    return 1;
  }
  const auto& node = std::get<hamon::node::Node>(loaded);
  const auto colon = listen.rfind(':');
  boost::system::error_code ec;
  const auto address =
      asio::ip::make_address(colon == std::string::npos ? "" : listen.substr(0, colon), ec);
  if (colon == std::string::npos || ec) {
    std::fprintf(stderr, "hamon-exporter: --listen %s: expected HOST:PORT with HOST an address\n",
                 listen.c_str());
    return 2;
  }
  unsigned long port = 0;
  try {
    port = std::stoul(listen.substr(colon + 1));
  } catch (const std::exception&) {
    port = 65536;
  }
  if (port > 65535) {
    std::fprintf(stderr, "hamon-exporter: --listen %s: the port is not a number below 65536\n",
                 listen.c_str());
    return 2;
  }
  asio::io_context io;
  tcp::acceptor acceptor(io);
  const tcp::endpoint at(address, static_cast<unsigned short>(port));
  acceptor.open(at.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(at, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "hamon-exporter: cannot listen on %s: %s\n", listen.c_str(),
                 ec.message().c_str());
    return 3;
  }
  // Following the node's events before it says it listens: whoever started it may count on it.
  Source source(node.control_segment());
  // The address it listens on, once, for whoever started it (a test asks for port 0).
  const auto bound = acceptor.local_endpoint();
  std::printf("listening on %s:%u\n", bound.address().to_string().c_str(), bound.port());
  std::fflush(stdout);
  Listener listener(io, acceptor, source);
  listener.accept();
  asio::steady_timer tick(io);
  std::function<void()> follow = [&] {
    source.follow();
    tick.expires_after(std::chrono::milliseconds(100));
    tick.async_wait([&](beast::error_code) { follow(); });
  };
  follow();
  io.run();
  return 0;
}
