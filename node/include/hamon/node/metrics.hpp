// Prometheus metrics of a node: its view (node_view.hpp) in the Prometheus text exposition
// format (version 0.0.4), for `hamon metrics` (node_exporter's textfile collector) and
// hamon-exporter (/metrics over HTTP). Pure: the caller reads the view and follows the events.
//
// Names follow Prometheus conventions: hamon_ prefix, base units (seconds), _total for
// counters, one series per label set; an enumeration (process state, tenant role) is one series
// per value, 1 for the current one. docs/metrics.md lists them all.
#ifndef HAMON_NODE_METRICS_HPP
#define HAMON_NODE_METRICS_HPP

#include <string>

#include "hamon/node/event_stats.hpp"
#include "hamon/node/node_view.hpp"

namespace hamon::node {

// The whole exposition; what `events` learned (counts by kind, restart and hang histograms) is
// left out when null: a one-shot reader has followed no events.
[[nodiscard]] std::string render_metrics(const NodeView& v, const EventStats* events);

// A label value escaped as the format requires (backslash, double quote, newline).
[[nodiscard]] std::string prometheus_label(const std::string& value);

}  // namespace hamon::node

#endif  // HAMON_NODE_METRICS_HPP
