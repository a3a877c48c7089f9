// hamon-exporter: serves a node's metrics to Prometheus (GET /metrics, text format 0.0.4). It
// reads the node's segments read-only, as `hamon status` does: a scrape costs the daemons
// nothing, and the exporter can be restarted, or never run, without the node noticing. It
// counts the node's events from the moment it starts (hamon_events_total).
//
//   hamon-exporter --config FILE [--node ID] [--listen 127.0.0.1:9464]
//
// One thread: a scrape is answered in well under a millisecond at thousands of processes, so
// scrapes are served one after another; a client slower than 2 s is dropped.
#include <sys/stat.h>

#include <utility>  // before Boost 1.74's Asio, which uses std::exchange without it

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
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
  explicit Source(std::string control_segment) : name_(std::move(control_segment)) {}

  // The exposition, or nullopt while the node does not run.
  std::optional<std::string> scrape() {
    struct stat st {};
    if (::stat(("/dev/shm/" + name_).c_str(), &st) != 0) {
      ctl_.reset();  // down: nothing to show
      return std::nullopt;
    }
    if (!ctl_ || st.st_ino != ino_) attach(st.st_ino);  // up again since: a new node
    if (!ctl_) return std::nullopt;
    count_events();
    hamon::node::NodeView v = hamon::node::read_view(*ctl_);
    hamon::node::add_trees(v);
    return hamon::node::render_metrics(v, &events_);
  }

 private:
  void attach(ino_t ino) {
    ino_ = ino;
    cursor_.reset();
    ctl_.reset();
    auto c = hamon::shm::ControlSegment::attach(name_, hamon::shm::Access::read_only);
    if (!c) return;
    ctl_.emplace(std::move(c).value());
    cursor_.emplace(ctl_->events(), ctl_->events().head());
  }
  void count_events() {
    hamon::shm::Event e;
    for (int n = 0; n < 100000; ++n) {
      const auto step = cursor_->next(e, hamon::node::now_ns());
      if (step.kind == hamon::shm::EventCursor::Kind::event) {
        ++events_[hamon::shm::to_string(e.kind)];
      } else if (step.kind == hamon::shm::EventCursor::Kind::lost) {
        events_["lost"] += step.lost;
      } else {
        break;
      }
    }
  }

  std::string name_;
  ino_t ino_ = 0;
  std::optional<hamon::shm::ControlSegment> ctl_;
  std::optional<hamon::shm::EventCursor> cursor_;
  hamon::node::EventCounts events_;
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

void serve(tcp::socket socket, Source& source) {
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(std::chrono::seconds(2));
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  beast::error_code ec;
  // Blocking, with the stream's deadline enforced through a synchronous read on a socket set
  // to time out: a client that sends nothing is dropped at the deadline.
  const timeval tv{2, 0};
  ::setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(stream.socket().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  http::read(stream, buffer, req, ec);
  if (ec) return;
  http::write(stream, answer(req, source), ec);
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

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
  // The address it listens on, once, for whoever started it (a test asks for port 0).
  const auto bound = acceptor.local_endpoint();
  std::printf("listening on %s:%u\n", bound.address().to_string().c_str(), bound.port());
  std::fflush(stdout);
  Source source(node.control_segment());
  for (;;) {
    tcp::socket socket(io);
    acceptor.accept(socket, ec);
    if (ec) continue;
    serve(std::move(socket), source);
  }
}
