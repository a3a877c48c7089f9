#include "up_progress.hpp"

namespace hamon::cli {

UpProgress::Verdict UpProgress::observe(const node::NodeView& v, std::uint64_t now_ns) {
  Verdict verdict{Outcome::up, {}};
  for (auto& [key, s] : seen_) s.waited_for = false;  // processes a reload removed drop out
  for (const node::ProcessRow& p : v.processes) {
    const std::string name = p.tenant + "/" + p.name;
    auto [it, first] = seen_.try_emplace({p.slot, name});
    Seen& s = it->second;
    if (first) s.restarts_before = adopting_ ? p.restarts : 0;
    s.restarts = p.restarts;
    s.state = p.state;
    if (p.state == "failed") {
      return {Outcome::failed, name + " failed to start: it ran out of its restart budget (" +
                                   std::to_string(p.restarts) + " restarts)"};
    }
    s.waited_for = p.wanted;
    if (!p.wanted) continue;
    const bool ready = p.state == "ready" || p.state == "running";
    if (!ready) {
      s.ready_incarnation = 0;
    } else if (s.ready_incarnation != p.incarnation) {
      s.ready_incarnation = p.incarnation;
      s.ready_since_ns = now_ns;
    }
    s.settled = ready && now_ns - s.ready_since_ns >= settle_(name);
    if (!s.settled) verdict.outcome = Outcome::pending;
  }
  return verdict;
}

UpProgress::Verdict UpProgress::at_deadline() const {
  std::string failing, pending;
  for (const auto& [key, s] : seen_) {
    if (!s.waited_for || s.settled) continue;
    const std::string& name = key.second;
    if (s.restarts > s.restarts_before) {
      failing += (failing.empty() ? "" : ", ") + name + " (ended " +
                 std::to_string(s.restarts - s.restarts_before) + " times, now " + s.state + ")";
    } else {
      pending += (pending.empty() ? "" : ", ") + name + " (" + s.state + ")";
    }
  }
  if (!failing.empty()) {
    return {Outcome::failed,
            "keeps failing: " + failing + (pending.empty() ? "" : "; not up either: " + pending)};
  }
  return {Outcome::not_up, "not up: " + pending};
}

}  // namespace hamon::cli
