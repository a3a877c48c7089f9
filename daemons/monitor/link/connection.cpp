#include "connection.hpp"

#include <boost/asio/write.hpp>

namespace hamon::link {

namespace asio = boost::asio;

Connection::Connection(asio::ip::tcp::socket socket, peer::Session session, std::size_t link,
                       std::uint64_t opened_ns, ConnectionOwner& owner)
    : socket_(std::move(socket)),
      session_(std::move(session)),
      link_(link),
      opened_ns_(opened_ns),
      owner_(owner) {
  boost::system::error_code ec;
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  // Kept now: once the socket is closed (a rejection closes it first), it no longer knows.
  const auto ep = socket_.remote_endpoint(ec);
  remote_ = ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
}

void Connection::start() {
  if (session_.end() == peer::End::initiator) {
    session_.write_hello(out_);
    flush();
  }
  read();
}

void Connection::send(const peer::Message& m) {
  if (closed_ || !session_.can_send()) return;
  if (auto ok = session_.write(m, out_); !ok) {
    // Only a record the codec refuses (a name this build would not configure): never sent.
    return;
  }
  ++frames_out;
  if (out_.size() + writing_.size() > kMaxBacklog) {
    close("the peer does not read (" + std::to_string(out_.size() + writing_.size()) +
          " bytes waiting)");
    return;
  }
  flush();
}

void Connection::flush() {
  if (closed_ || !writing_.empty() || out_.empty()) return;
  writing_.swap(out_);
  bytes_out += writing_.size();
  asio::async_write(socket_, asio::buffer(writing_),
                    [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                      self->writing_.clear();
                      if (self->closed_) return;
                      if (ec) {
                        self->finish("send: " + ec.message(), std::nullopt);
                        return;
                      }
                      self->flush();
                    });
}

void Connection::read() {
  if (closed_) return;
  auto room = decoder_.writable(64 * 1024);
  socket_.async_read_some(asio::buffer(room.data(), room.size()),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t n) { self->on_read(ec, n); });
}

void Connection::on_read(const boost::system::error_code& ec, std::size_t n) {
  if (closed_) return;
  if (ec) {
    if (ec == asio::error::eof) {
      auto cut = decoder_.finish();
      if (!cut) {
        finish("", cut.error());
        return;
      }
      finish("closed by the peer", std::nullopt);
    } else {
      finish("receive: " + ec.message(), std::nullopt);
    }
    return;
  }
  decoder_.commit(n);
  bytes_in += n;
  for (;;) {
    auto next = decoder_.next();
    if (!next) {
      finish("", next.error());
      return;
    }
    if (!*next) break;
    const bool could_send = session_.can_send();
    auto got = session_.receive(**next, out_);
    if (!got) {
      finish("", got.error());
      return;
    }
    ++frames_in;
    if (!could_send && session_.can_send()) flush();  // the responder's welcome
    if (!established_ && session_.established()) {
      established_ = true;
      owner_.on_established(*this);
      if (closed_) return;
    }
    const auto type = got->header.type;
    if (type == peer::FrameType::hello || type == peer::FrameType::welcome) continue;
    if (std::holds_alternative<peer::Goodbye>(got->message)) {
      const auto& g = std::get<peer::Goodbye>(got->message);
      finish("the peer said goodbye" + (g.text.empty() ? std::string() : ": " + g.text),
             std::nullopt);
      return;
    }
    owner_.on_received(*this, std::move(*got));
    if (closed_) return;
  }
  read();
}

void Connection::close(const std::string& why, std::uint16_t goodbye_reason) {
  if (closed_) return;
  if (session_.can_send()) {
    std::vector<std::uint8_t> bye;
    peer::Goodbye g{goodbye_reason, why.substr(0, peer::max_goodbye_text)};
    for (char& ch : g.text) {
      if (ch < 0x20 || ch > 0x7e) ch = '?';
    }
    if (session_.write(g, bye) && writing_.empty()) {
      // Best effort and never waiting (the peer may not be reading): the socket closes next.
      boost::system::error_code ignored;
      socket_.non_blocking(true, ignored);
      (void)socket_.write_some(asio::buffer(bye), ignored);
    }
  }
  finish(why, std::nullopt);
}

void Connection::finish(const std::string& why, const std::optional<peer::Rejection>& rejection) {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  owner_.on_closed(*this, rejection ? rejection->message() : why, rejection);
}

}  // namespace hamon::link
