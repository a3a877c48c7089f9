#include "hamon/peer/reject.hpp"

namespace hamon::peer {

std::string_view to_string(Reason r) noexcept {
  switch (r) {
    case Reason::bad_magic: return "bad-magic";
    case Reason::unknown_version: return "unknown-version";
    case Reason::unknown_type: return "unknown-type";
    case Reason::oversize: return "oversize";
    case Reason::truncated: return "truncated";
    case Reason::malformed: return "malformed";
    case Reason::wrong_key: return "wrong-key";
    case Reason::bad_mac: return "bad-mac";
    case Reason::replayed: return "replayed";
    case Reason::reordered: return "reordered";
    case Reason::wrong_cluster: return "wrong-cluster";
    case Reason::unknown_node: return "unknown-node";
    case Reason::unexpected: return "unexpected";
    case Reason::snapshot_order: return "snapshot-order";
  }
  return "unknown";
}

bool is_reason(std::uint16_t v) noexcept { return v >= 1 && v < reason_count; }

std::string Rejection::message() const {
  std::string m{to_string(reason)};
  if (!detail.empty()) m += ": " + detail;
  return m;
}

base::Error Rejection::to_error() const { return {base::Errc::refused, message()}; }

std::uint64_t Counters::total() const noexcept {
  std::uint64_t sum = 0;
  for (const std::uint64_t n : n_) sum += n;
  return sum;
}

}  // namespace hamon::peer
