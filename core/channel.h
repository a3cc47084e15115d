// SPDX-License-Identifier: Apache-2.0
// Channels: Flume's transactional buffers between sources and sinks.
//
// A channel has one slice per shard. A transaction is begun on a shard, used
// only on that shard's thread, and touches only that shard's slice, so the
// data path takes no lock. What slices share is the channel's capacity
// (events and bytes), kept in atomics and reserved once per commit, so
// `capacity` means what it means in Flume whatever the number of shards.
//
// Semantics (Flume's, reference/flume.md §3, §8.1):
//  - puts become visible to takers only at commit; a commit takes all its
//    puts or none;
//  - a taken event is invisible to other takers until its transaction ends;
//    commit removes it for good, rollback returns the events to the head of
//    the slice in their original order;
//  - no call waits: a commit that finds no room returns errc::channel_full with
//    the channel's Flume message, and the caller decides how long to retry
//    (keep_alive_ms() is the channel's advice, as Flume's commit would wait).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/event.h"
#include "core/metrics.h"
#include "core/registry.h"
#include "core/status.h"

namespace sluice {

class ComponentSettings;

// Reserves `n` of `limit` in `used` (a capacity shared by the slices of a
// channel); false, with nothing reserved, when it does not fit.
inline bool reserve_capacity(std::atomic<int64_t>& used, int64_t n, int64_t limit) {
    int64_t cur = used.load(std::memory_order_relaxed);
    do {
        if (cur + n > limit) return false;
    } while (!used.compare_exchange_weak(cur, cur + n, std::memory_order_acq_rel, std::memory_order_relaxed));
    return true;
}

// The byteCapacity of memory queues when none is configured. Flume: 80 % of
// the JVM's maximum heap; sluice: 80 % of a quarter of physical memory, what
// a JVM would get by default.
int64_t default_byte_capacity();
class InterceptorChain;

class PutTransaction {
public:
    virtual ~PutTransaction() = default;
    // Adds the events of `span`. Fails with nothing added when the transaction
    // would hold more than transactionCapacity events (Flume's "Put queue ..." text).
    virtual Status put(const EventSpan& span) = 0;
    // All puts become visible, or (channel_full, ...) none does and the
    // transaction stays open: commit() may be called again later, or rollback().
    virtual Status commit() = 0;
    virtual void rollback() = 0;
    virtual uint32_t size() const = 0;
};

class TakeTransaction {
public:
    virtual ~TakeTransaction() = default;
    // Takes up to `max` more events from the head of the slice (never more
    // than transactionCapacity in all); returns how many. Never waits.
    virtual uint32_t take(uint32_t max) = 0;
    // Everything taken so far, in order. Valid until commit/rollback.
    virtual const std::vector<EventSpan>& events() const = 0;
    virtual uint32_t size() const = 0;
    virtual Status commit() = 0;
    virtual void rollback() = 0;
};

class Channel {
public:
    Channel(std::string name, unsigned shards) : _name(std::move(name)), _shards(shards) {}
    virtual ~Channel() = default;

    const std::string& name() const { return _name; }
    unsigned shards() const { return _shards; }

    // Transactions on `shard`; only from that shard's thread. A destroyed
    // transaction that was neither committed nor rolled back is rolled back.
    virtual std::unique_ptr<PutTransaction> begin_put(unsigned shard) = 0;
    virtual std::unique_ptr<TakeTransaction> begin_take(unsigned shard) = 0;

    // Adds a listener called on `shard` (from within that shard's commit or
    // rollback) whenever events become available on its slice. Listeners
    // must not begin transactions from inside the call (defer instead).
    virtual void on_available(unsigned shard, std::function<void()> fn) = 0;

    virtual uint32_t transaction_capacity() const = 0;
    virtual int64_t keep_alive_ms() const = 0;
    // Events held (committed and not yet taken for good), over all shards.
    virtual uint64_t size() const = 0;
    // Events waiting on one shard's slice (shard thread only).
    virtual uint64_t slice_size(unsigned shard) const = 0;

    // Durability. A commit's events are in the channel when commit() returns,
    // but a durable channel has them on disk only later: commit_mark(shard)
    // names everything committed on `shard` so far, and when_durable(shard,
    // mark, fn) runs fn on that shard's thread once all of it is on disk —
    // inline when it already is (always, for channels that keep nothing on
    // disk). Marks only grow, and fns run in mark order. Shard thread only.
    virtual uint64_t commit_mark(unsigned /*shard*/) const { return 0; }
    virtual void when_durable(unsigned /*shard*/, uint64_t /*mark*/, std::function<void()> fn) { fn(); }

    virtual Status start() { return Status::ok(); }
    virtual void stop() {}

private:
    std::string _name;
    unsigned _shards;
};

// Flume's channel selectors (reference/flume.md §2.3): which of a source's
// channels each event goes to, as required or optional.
struct ChannelRouting {
    enum class Selector { replicating, multiplexing, load_balancing };
    Selector selector = Selector::replicating;
    // The source's channels, in the order of its `channels` list.
    std::vector<Channel*> channels;
    // replicating: the channels of selector.optional (the others are required).
    std::vector<Channel*> optional;
    // multiplexing: the header; per value the required channels
    // (selector.mapping.<value>) and the optional ones (selector.optional.<value>);
    // the channels for a missing, blank or unmapped value (selector.default).
    std::string header = "flume.selector.header";
    std::vector<std::pair<std::string, std::vector<Channel*>>> mapping, optional_mapping;
    std::vector<Channel*> default_channels;
    // load_balancing: each event to one channel, in turn or at random.
    bool random = false;
};

// Selector types and their keys (relative to `selector.`): validation and docs.
const std::vector<const PartDescriptor*>& selector_types();
// The routing a source's validated settings describe. `channel` finds a
// channel by name (null for one dropped in lenient mode: left out).
ChannelRouting routing_from_settings(const ComponentSettings& source,
                                     const std::function<Channel*(const std::string&)>& channel);

// Flume's ChannelProcessor: runs the source's interceptors, then puts each
// event into the channels its selector picks: every required channel in its
// own transaction, one after another, then the optional ones, ignoring their
// failures. Per shard; shard thread only.
//
// Cost: a replicating source without interceptors takes the original path
// (no copy, no allocation per event). Interceptors copy the events they keep
// once into a new batch. Multiplexing and load_balancing put the runs of
// consecutive events bound for a channel as spans of the one batch (no copy).
class ChannelProcessor {
public:
    // Replicating: `required` and `optional` channels, no interceptors.
    ChannelProcessor(unsigned shard, std::vector<Channel*> required, std::vector<Channel*> optional);
    // Any selector, and the source's interceptors (null: none).
    ChannelProcessor(const ChannelRouting& routing, unsigned shard, std::unique_ptr<InterceptorChain> interceptors = nullptr);
    ~ChannelProcessor();

    // How far a put has got: retrying with the same progress (and the same
    // span) never puts the same events into a channel twice, and sees the
    // same interceptor output and channel choices as the first try.
    struct Progress {
        size_t next_required = 0;
        Channel* failed = nullptr;  // the channel whose commit failed last
        // The span this progress is about, and what was decided for it.
        const EventBatch* input = nullptr;
        uint32_t input_begin = 0, input_end = 0;
        EventBatchPtr intercepted;  // the interceptors' output
        uint64_t route_seed = 0;    // load_balancing: the first event's turn / random seed
        void reset() { *this = Progress(); }
    };
    // Ok when every required channel committed its events of `span` (events an
    // interceptor dropped count as done). Otherwise the first failure
    // (channel_full with Flume's text, ...) and progress says where to resume:
    // call again with the same span and progress. `span` must not exceed
    // max_batch().
    Status put(const EventSpan& span, Progress& progress);
    // Runs fn on this shard once every event put so far through this
    // processor is durable in each required channel that took some; inline
    // when it already is. Sources acknowledge to their clients from fn
    // (DESIGN §4: for `file`, only after the data is on disk). fn must check
    // that whatever it captured still exists.
    void when_durable(std::function<void()> fn);
    // The largest span one put may carry: the smallest transactionCapacity.
    uint32_t max_batch() const { return _max_batch; }

private:
    // Which channels (bits: indices into _channels) an event goes to.
    struct route {
        uint64_t required = 0, optional = 0;
    };
    Status put_replicating(const EventSpan& span, Progress& progress);
    Status put_routed(const EventSpan& span, Progress& progress);
    void route_events(const EventSpan& span, const Progress& progress, uint64_t* required, uint64_t* optional);
    Status put_selected(size_t channel, const EventSpan& span, bool optional);

    unsigned _shard;
    ChannelRouting::Selector _selector = ChannelRouting::Selector::replicating;
    std::vector<Channel*> _required, _optional;  // replicating
    std::vector<Channel*> _channels;             // multiplexing, load_balancing
    std::unique_ptr<InterceptorChain> _interceptors;
    std::string _header;
    std::vector<route> _routes;  // multiplexing: [0] the default, then one per value
    std::vector<std::pair<std::string, uint32_t>> _route_of_value;  // sorted by value
    bool _random = false;
    uint64_t _next_turn = 0;
    uint64_t _rng_state;
    uint64_t _touched = 0;                  // channels that took required events
    std::vector<uint32_t> _event_routes;    // scratch: route of each event of a span
    uint32_t _max_batch;
};

// How a stream source (netcat, syslogtcp) commits the events of one read
// through its ChannelProcessor: in spans of at most max_span events, each put
// resumed with its Progress until it commits. A span that fails as a whole (a
// full channel, a put bigger than a durable channel's segment) is tried again
// in halves, down to one event, so that only an event that cannot go in at
// all is refused, as Flume's per-event transactions would refuse it; a full
// channel is waited on for its keep_alive_ms() before its events are given
// up. Shard thread only.
class SpanPutter {
public:
    enum class Outcome : uint8_t {
        committed,  // `events` events from the old next() on are in every required channel
        wait,       // the channel is full: call put() again later (it resumes the same span)
        gave_up,    // `events` events from the old next() on will not go in; `status` says why
    };
    struct Step {
        Outcome outcome;
        uint32_t events;
        Status status;
    };

    // A new batch: its first event is next, spans start at full size.
    void restart() { *this = SpanPutter(); }
    // The first event not committed or given up yet.
    uint32_t next() const { return _next; }
    // Since the first `wait` until a span commits or is given up.
    bool waiting() const { return _waiting; }
    // The source stops: waiting() is false until put() waits again.
    void cancel_wait() { _waiting = false; }
    // Requires next() < batch->size(); advances next() unless it waits.
    Step put(ChannelProcessor& proc, const EventBatchPtr& batch, uint32_t max_span);

private:
    ChannelProcessor::Progress _progress;
    uint32_t _next = 0;
    uint32_t _span = 0;                // events in the put in progress
    uint32_t _span_cap = UINT32_MAX;   // halved by each put that fails whole; 1 after giving up
    bool _waiting = false;
    int64_t _wait_since_us = 0;
};

}  // namespace sluice
