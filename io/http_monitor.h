// SPDX-License-Identifier: Apache-2.0
// The monitoring HTTP server (DESIGN §5, reference/flume.md §11):
// `-Dsluice.monitoring.type=http -Dsluice.monitoring.port=P` (or Flume's
// `flume.monitoring.*`). GET /metrics answers Flume's JSON document (every
// component, every attribute, values as strings); GET /prometheus answers
// the Prometheus text exposition format with the same counters; / is a small
// page linking to ./metrics; TRACE and OPTIONS are refused (403); other paths
// are 404 — as Flume's HTTPMetricsServer.
//
// Runs on one shard's reactor; one request per connection (HTTP/1.0 style,
// Connection: close). `render_json` and `render_prometheus` are called on
// that shard and must be safe there (the agent's metrics are).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/metrics.h"
#include "core/runtime.h"
#include "core/status.h"

namespace sluice {

struct MonitorContent {
    std::function<std::string()> json;
    std::function<std::string()> prometheus;
};

// Lifecycle: start_http_monitor and stop() on the shard's thread; destroy it
// only after the runtime has stopped (closes may still be completing before).
class HttpMonitor {
public:
    virtual ~HttpMonitor() = default;
    // Stops listening and closes open connections.
    virtual void stop() = 0;
};

// On `shard`'s thread. `bind` may be empty (all interfaces).
Result<std::unique_ptr<HttpMonitor>> start_http_monitor(Shard& shard, const std::string& bind, int port,
                                                        MonitorContent content);

// The Prometheus text format of an agent's counters: one metric family per
// Flume attribute, `sluice_<type>_<attribute in snake case>{name="<component>"}`,
// and per sink the histogram `sluice_sink_delivery_latency_seconds` (time from
// the source reading an event to the sink delivering it).
std::string prometheus_text(const MetricsRegistry& metrics);

}  // namespace sluice
