// SPDX-License-Identifier: Apache-2.0
// Per-component counters with Flume's names (reference/flume.md §11).
//
// A CounterGroup holds one block of counters per shard; a shard writes only
// its own block (a relaxed load and store, no read-modify-write, no shared
// cache line), and readers on any thread sum the blocks. Gauges that are not
// sums (ChannelSize, ChannelCapacity, ...) are computed on read by a callback.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice {

// Counter indices. The names are Flume's attribute names, in Flume's order.
namespace source_counter {
enum : uint32_t {
    event_received, event_accepted, append_received, append_accepted, append_batch_received,
    append_batch_accepted, open_connection_count, event_read_fail, channel_write_fail,
    generic_processing_fail, count_
};
}
namespace channel_counter {
enum : uint32_t { event_put_attempt, event_take_attempt, event_put_success, event_take_success, count_ };
}
namespace sink_counter {
enum : uint32_t {
    connection_created, connection_closed, connection_failed, batch_empty, batch_underflow,
    batch_complete, event_drain_attempt, event_drain_success, event_write_fail, channel_read_fail, count_
};
}

namespace stream_counter {
enum : uint32_t { event_received, late_event, bad_time_event, batches_closed, results_emitted, keys_held, state_bytes, count_ };
}

const std::vector<std::string_view>& source_counter_names();
const std::vector<std::string_view>& stream_counter_names();
const std::vector<std::string_view>& channel_counter_names();
const std::vector<std::string_view>& sink_counter_names();

class CounterGroup {
public:
    // type: "SOURCE", "CHANNEL", "SINK"; names: one per counter index.
    CounterGroup(std::string type, std::string name, const std::vector<std::string_view>& names, unsigned shards);

    // Only from shard `shard`'s thread.
    void add(unsigned shard, uint32_t counter, uint64_t n = 1) {
        auto& c = _blocks[size_t(shard) * _stride + counter];
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
    // Gauges that are set rather than summed (OpenConnectionCount): per shard, summed on read.
    void set(unsigned shard, uint32_t counter, uint64_t v) {
        _blocks[size_t(shard) * _stride + counter].store(v, std::memory_order_relaxed);
    }
    uint64_t get(uint32_t counter) const;  // summed over shards

    const std::string& type() const { return _type; }
    const std::string& name() const { return _name; }
    void mark_started();
    void mark_stopped();

    // Extra attributes computed at read time (name, value as Flume prints it).
    using Gauges = std::function<void(std::vector<std::pair<std::string, std::string>>&)>;
    void set_gauges(Gauges g) { _gauges = std::move(g); }

    // Every attribute as Flume's /metrics shows it: counters, gauges,
    // StartTime, StopTime, Type; values as strings.
    std::vector<std::pair<std::string, std::string>> snapshot() const;

    // Latency since a source read `n` events: for a sink, to their delivery;
    // for a source that acknowledges, to the acknowledgement (durable, with a
    // file channel). Only from shard `shard`'s thread. Buckets from 50 us (a
    // batch through a memory channel) to 60 s (a sink backing off); finer
    // from 0.5 to 2.5 ms, where durable acknowledgements fall.
    static constexpr std::array<int64_t, 22> latency_bounds_us = {
        50,     100,    250,    500,    750,     1000,    1500,    2000,     2500,     5000,    10000,
        25000,  50000,  100000, 250000, 500000,  1000000, 2500000, 5000000, 10000000, 30000000, 60000000};
    void record_latency(unsigned shard, int64_t us, uint64_t n);
    struct Latency {
        std::array<uint64_t, latency_bounds_us.size() + 1> cumulative{};  // last: +Inf (= count)
        uint64_t sum_us = 0;
        bool any = false;
    };
    Latency latency() const;

private:
    std::string _type, _name;
    std::vector<std::string_view> _names;
    size_t _stride;
    unsigned _shards;
    std::unique_ptr<std::atomic<uint64_t>[]> _blocks;
    std::atomic<int64_t> _start_ms{0}, _stop_ms{0};
    Gauges _gauges;
    // Per shard: bucket counts then the sum, on their own cache lines.
    static constexpr size_t latency_stride = 24;
    std::unique_ptr<std::atomic<uint64_t>[]> _latency;
};

// All counter groups of an agent, in creation order.
class MetricsRegistry {
public:
    CounterGroup& add(std::string type, std::string name, const std::vector<std::string_view>& names,
                      unsigned shards);
    std::vector<CounterGroup*> groups() const;
    // One line per component: "SOURCE.r1: EventReceivedCount=10 EventAcceptedCount=10 ..." (non-zero counters).
    std::string summary() const;

private:
    mutable std::mutex _mu;
    std::vector<std::unique_ptr<CounterGroup>> _groups;
};

// Java's Double.toString for the values Flume prints ("1.0", "0.0", "1.7976931348623157E308").
std::string java_double(double v);

}  // namespace sluice
