#include "hamon/node/control_protocol.hpp"

#include <array>
#include <charconv>

namespace hamon::node {
namespace {

constexpr std::array<std::pair<Verb, std::string_view>, 11> kVerbs{{
    {Verb::up, "up"},
    {Verb::down, "down"},
    {Verb::reload, "reload"},
    {Verb::start, "start"},
    {Verb::stop, "stop"},
    {Verb::restart, "restart"},
    {Verb::tenant_start, "tenant-start"},
    {Verb::tenant_stop, "tenant-stop"},
    {Verb::tenant_restart, "tenant-restart"},
    {Verb::switchover, "switchover"},
    {Verb::tenant_activate, "tenant-activate"},
}};

Error malformed(std::string why) { return {Errc::bad_argument, std::move(why)}; }

// A word of the line: no spaces and no control characters, so a line stays one line.
bool is_word(std::string_view w) {
  if (w.empty()) return false;
  for (const unsigned char c : w) {
    if (c <= ' ' || c == 0x7f) return false;
  }
  return true;
}

std::string_view next_word(std::string_view& rest) {
  const std::size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const std::size_t end = rest.find(' ');
  const std::string_view w = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return w;
}

template <class N>
bool parse_number(std::string_view s, N& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

}  // namespace

std::string_view to_string(Verb v) noexcept {
  for (const auto& [verb, name] : kVerbs) {
    if (verb == v) return name;
  }
  return "?";
}

bool takes_target(Verb v) noexcept { return v != Verb::up && v != Verb::down && v != Verb::reload; }

std::string format(const Request& r) {
  std::string line(to_string(r.verb));
  if (takes_target(r.verb)) line += " " + r.target;
  return line;
}

std::string format(const Reply& r) {
  if (!r.ok) {
    std::string line = "error ";
    // One line: a reason that quotes something with a newline in it must not split the reply.
    for (const char c : r.error) line += (c == '\n' || c == '\r') ? ' ' : c;
    return line;
  }
  std::string line = "ok";
  for (const Acted& a : r.acted) {
    // Appended piece by piece (GCC 12 -O3 false -Wrestrict on `" " + std::string&&`).
    line += ' ';
    line += std::to_string(a.slot);
    line += ':';
    line += std::to_string(a.incarnation);
    line += ':';
    line += a.name;
  }
  return line;
}

Result<Request> parse_request(std::string_view line) {
  if (line.size() > kMaxLine)
    return malformed("request longer than " + std::to_string(kMaxLine) + " bytes");
  std::string_view rest = line;
  const std::string_view verb = next_word(rest);
  if (verb.empty()) return malformed("empty request");
  Request r;
  bool known = false;
  for (const auto& [v, name] : kVerbs) {
    if (name == verb) {
      r.verb = v;
      known = true;
    }
  }
  if (!known || !is_word(verb)) return malformed("unknown request '" + std::string(verb) + "'");
  const std::string_view target = next_word(rest);
  if (takes_target(r.verb)) {
    if (target.empty()) return malformed(std::string(verb) + " needs a name");
    if (!is_word(target)) return malformed("a name has no spaces or control characters");
    r.target = std::string(target);
  } else if (!target.empty()) {
    return malformed(std::string(verb) + " takes no name");
  }
  if (!next_word(rest).empty()) return malformed("too many words in the request");
  return r;
}

Result<Reply> parse_reply(std::string_view line) {
  if (line.rfind("error ", 0) == 0) return Reply::failure(std::string(line.substr(6)));
  std::string_view rest = line;
  if (next_word(rest) != "ok")
    return malformed("not a reply: '" + std::string(line.substr(0, 80)) + "'");
  Reply r = Reply::success();
  for (std::string_view w = next_word(rest); !w.empty(); w = next_word(rest)) {
    const std::size_t a = w.find(':');
    const std::size_t b = a == std::string_view::npos ? a : w.find(':', a + 1);
    Acted acted;
    if (b == std::string_view::npos || !parse_number(w.substr(0, a), acted.slot) ||
        !parse_number(w.substr(a + 1, b - a - 1), acted.incarnation) || b + 1 >= w.size()) {
      return malformed("a malformed process in the reply: '" + std::string(w) + "'");
    }
    acted.name = std::string(w.substr(b + 1));
    r.acted.push_back(std::move(acted));
  }
  return r;
}

}  // namespace hamon::node
