// SPDX-License-Identifier: Apache-2.0
// The interfaces every source and sink implements, and what the agent hands
// them when it creates them.
//
// Sources and sinks are sharded: the agent creates one instance per shard, on
// that shard's thread, and calls every method of an instance on that thread
// only. Channels are created once per agent (see core/channel.h).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/channel.h"
#include "core/metrics.h"
#include "core/registry.h"
#include "core/runtime.h"

namespace sluice {

struct ChannelContext {
    const ComponentSettings& settings;
    unsigned shards;
    CounterGroup& counters;
    // The shards the channel's slices belong to (durable channels arm timers
    // and sync on them); null in unit tests of channels that need none.
    Runtime* runtime = nullptr;
};

struct SourceContext {
    Shard& shard;
    const ComponentSettings& settings;
    ChannelProcessor& processor;
    CounterGroup& counters;
    // The channels this source puts into (for sources that wait for them to drain).
    std::vector<Channel*> channels;
    // Tells every stream that event time has reached `ms` (replay ticks).
    // Shard thread only; callers first wait until their channels are drained.
    std::function<void(int64_t ms)> advance_event_time;
    // The embedding program's context (AgentOptions::host), for the
    // components it provides (`embedded`); null when sluice runs alone.
    void* host = nullptr;
};

struct SinkContext {
    Shard& shard;
    const ComponentSettings& settings;
    Channel& channel;
    CounterGroup& counters;
    void* host = nullptr;  // as SourceContext::host (`callback` sinks)
};

struct StreamContext {
    const ComponentSettings& settings;
    Channel& input;
    std::vector<Channel*> outputs;
    Runtime& runtime;
    CounterGroup& counters;
};

// A stream (docs/streams.md): takes from one channel like a sink, puts results
// into channels like a source. One object per agent; its per-shard parts run
// on their shards.
class Stream {
public:
    virtual ~Stream() = default;
    // On every shard's thread, once, after channels and sinks and before sources.
    virtual Status start_shard(Shard& shard) = 0;
    // On shard 0: the input has ended (sources finished or stopped, and the
    // input channel is drained): close every batch up to the end of the batch
    // holding the latest record time, emit all results, then call done() on shard 0.
    virtual void finish(Task done) = 0;
    // On shard 0: event time advanced without an event (a replay tick).
    virtual void advance_event_time(int64_t ms) = 0;
    // On every shard's thread, once, at stop.
    virtual void stop_shard(Shard& shard) = 0;
};

class Source {
public:
    virtual ~Source() = default;
    // Begins work (bind, accept, read). An error fails the agent's start.
    virtual Status start() = 0;
    // Stops taking input: close listeners and connections (replies already
    // queued are still sent). Calls done() once nothing is in flight; the
    // instance is destroyed after that.
    virtual void stop(Task done) = 0;
    // For sources that end by themselves (replay, seq with totalEvents):
    // whether they have. Network sources never finish.
    virtual bool finished() const { return false; }
};

// State shared by the per-shard instances of one configured component (a
// roll counter, a connection count): made by the first instance to ask,
// found by the others, freed with the last. Any shard thread; T must be
// thread-safe for how the instances use it.
template <typename T>
std::shared_ptr<T> shared_component_state(const ComponentSettings& settings) {
    static std::mutex mu;
    static std::vector<std::pair<const ComponentConfig*, std::weak_ptr<T>>> states;
    std::lock_guard lk(mu);
    for (auto& [config, weak] : states)
        if (config == &settings.config())
            if (auto state = weak.lock()) return state;
    std::erase_if(states, [](auto& p) { return p.second.expired(); });
    auto state = std::make_shared<T>();
    states.emplace_back(&settings.config(), state);
    return state;
}

// What one process() of a sink (or of a sink group) came to.
//  - ready: it delivered a batch; call again at once.
//  - backoff: nothing to deliver (the channel was empty, or a take came back
//    short); call again when events arrive, or after a second.
//  - failed: delivery failed (Flume's EventDeliveryException); the events
//    are back in the channel. The runner waits min(n x 1 s, 5 s) after the
//    n-th failure in a row; a sink group's processor sets the sink aside.
//  - busy: a delivery (or a connect) is under way and its outcome is not
//    known yet. Only a sink that calls its wake function (Sink::set_wake) when
//    it is done may answer busy: the runner waits for that call.
enum class SinkStatus { ready, backoff, failed, busy };

// A sink calls this after committing a delivery: the receipt-to-sink latency
// of each event (the time since its source read it) into the sink's histogram.
inline void record_delivery(CounterGroup& counters, unsigned shard, const std::vector<EventSpan>& delivered) {
    int64_t now = wall_clock_us();
    for (const auto& span : delivered)
        if (span.batch->received_us() > 0) counters.record_latency(shard, now - span.batch->received_us(), span.size());
}

class Sink {
public:
    virtual ~Sink() = default;
    virtual Status start() { return Status::ok(); }
    // Flume's Sink.process(): one take transaction of up to the batch size,
    // deliver, commit (or roll back on failure), as SinkStatus says.
    virtual SinkStatus process() = 0;
    // The runner calls this once, before the first process(). A sink that
    // delivers asynchronously keeps `wake` and calls it, on its shard, when a
    // process() that answered busy would now answer otherwise. `wake` may be
    // called after the runner is gone (it then does nothing).
    virtual void set_wake(std::function<void()> wake) { (void)wake; }
    // Flush and close; called once, after the last process().
    virtual void stop() {}
};

}  // namespace sluice
