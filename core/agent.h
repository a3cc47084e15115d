// SPDX-License-Identifier: Apache-2.0
// An Agent runs one validated Topology on a Runtime: the channels (once), and
// on every shard an instance of every source and sink, with a SinkRunner per
// sink instance.
//
// Lifecycle (Flume's order): start() starts channels, then sinks, then
// sources, and fails as a whole if any of them fails. stop() stops the
// sources, lets the sinks drain the channels (up to drain_timeout), stops the
// sinks and the channels. Both are called from a non-shard thread (main).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "core/component.h"
#include "core/metrics.h"
#include "core/registry.h"
#include "core/runtime.h"

namespace sluice {

struct AgentOptions {
    int64_t drain_timeout_ms = 30000;
    // Handed to every source and sink (SourceContext::host): the embedding
    // program's context for the components it provides.
    void* host = nullptr;
};

class Agent {
public:
    Agent(std::unique_ptr<Topology> topology, Runtime& runtime, AgentOptions opts = {});
    ~Agent();

    Status start();
    // Idempotent. Returns the number of events left in channels after the drain.
    uint64_t stop();
    // Whether every source has finished by itself (replay); false if there are
    // network sources.
    bool sources_finished() const;

    MetricsRegistry& metrics() { return _metrics; }
    // Every counter group as Flume's /metrics JSON: {"SOURCE.r1":{"EventReceivedCount":"1",...},...}.
    std::string metrics_json() const;
    const Topology& topology() const { return *_topology; }
    Channel* channel(const std::string& name) const;

private:
    struct shard_state;
    std::unique_ptr<Topology> _topology;
    Runtime& _runtime;
    AgentOptions _opts;
    MetricsRegistry _metrics;
    std::vector<std::pair<std::string, std::unique_ptr<Channel>>> _channels;
    std::vector<std::unique_ptr<shard_state>> _shards;
    struct running_stream {
        Channel* input;
        std::unique_ptr<Stream> stream;
    };
    std::vector<running_stream> _streams;
    bool _started = false, _stopped = false;
};

}  // namespace sluice
