#include "hamon/engine/scheduling.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>

namespace hamon::engine {
namespace {

std::optional<int> number(std::string_view s) {
  int v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Pieces appended one by one: GCC 12 at -O3 reports a false -Wrestrict overlap for
// `"literal" + std::string&&` (its bug 105651).
std::string cat(std::initializer_list<std::string_view> pieces) {
  std::string out;
  for (const auto piece : pieces) out += piece;
  return out;
}

}  // namespace

std::variant<Sched, std::string> parse_sched(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  const char* expected = "expected \"other\", \"batch\", \"idle\", \"fifo:N\" or \"rr:N\"";
  if (name == "fifo" || name == "rr") {
    const auto prio =
        colon == std::string_view::npos ? std::nullopt : number(text.substr(colon + 1));
    if (!prio || *prio < 1 || *prio > 99) {
      return cat({name, " needs a real-time priority from 1 to 99, as \"", name, ":10\""});
    }
    return Sched{name == "fifo" ? SchedPolicy::fifo : SchedPolicy::rr, *prio};
  }
  if (colon != std::string_view::npos) {
    return cat({"only fifo and rr take a priority: ", expected});
  }
  if (name == "other") return Sched{SchedPolicy::other, 0};
  if (name == "batch") return Sched{SchedPolicy::batch, 0};
  if (name == "idle") return Sched{SchedPolicy::idle, 0};
  return std::string(expected);
}

std::variant<std::vector<int>, std::string> parse_cpus(std::string_view text) {
  std::vector<int> out;
  const std::string max = std::to_string(kMaxCpus - 1);
  for (std::size_t at = 0; at <= text.size();) {
    const auto comma = std::min(text.find(',', at), text.size());
    const std::string_view item = text.substr(at, comma - at);
    const auto dash = item.find('-');
    const auto first = number(item.substr(0, dash));
    const auto last = dash == std::string_view::npos ? first : number(item.substr(dash + 1));
    if (!first || !last) {
      return cat(
          {"'", item, "' is not a CPU or a range of CPUs: expected a list such as \"0-3,6\""});
    }
    if (*first < 0 || *last >= kMaxCpus || *first > *last) {
      return cat({"'", item, "': CPUs are numbered from 0 to ", max, ", a range from low to high"});
    }
    for (int c = *first; c <= *last; ++c) out.push_back(c);
    at = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string to_string(const Sched& s) {
  switch (s.policy) {
    case SchedPolicy::other: return "other";
    case SchedPolicy::batch: return "batch";
    case SchedPolicy::idle: return "idle";
    case SchedPolicy::fifo: return cat({"fifo:", std::to_string(s.rt_priority)});
    case SchedPolicy::rr: return cat({"rr:", std::to_string(s.rt_priority)});
  }
  return "other";
}

}  // namespace hamon::engine
