// SPDX-License-Identifier: Apache-2.0
// The `SPILLABLEMEMORY` channel: Flume's SpillableMemoryChannel
// (reference/flume.md §8.3). A memory queue that, when full, spills whole
// commits into an embedded `file` channel (the same durable segments), and
// takes in arrival order across the two.
//
// Per shard, as the other channels: a memory queue, the file channel's slice
// for that shard, and the drain order — runs of (where, how many) in arrival
// order — all touched only by the shard's thread. Memory capacity and bytes
// are shared atomics. On restart only what had spilled survives, as in Flume.
#include <unistd.h>

#include <atomic>
#include <deque>

#include "core/assert.h"
#include "core/component.h"
#include "core/log.h"
#include "io/file_channel.h"

namespace sluice {

namespace {

constexpr std::string_view overflow_disabled_text =
    "Spillable Memory Channel's memory capacity has been reached and overflow is disabled. Consider increasing "
    "memoryCapacity.";

struct spill_options {
    int64_t memory_capacity = 0, overflow_capacity = 0;
    uint32_t tx_capacity = 0;
    int64_t slot_bytes = 500, slot_budget = 0;  // byte capacity in avgEventSize slots
};

// A run of events in arrival order: in memory, or spilled to the file channel.
struct drain_run {
    bool spilled;
    uint64_t n;
};

class SpillableChannel final : public Channel {
public:
    SpillableChannel(ChannelContext& ctx, spill_options o, std::unique_ptr<Channel> overflow,
                     std::unique_ptr<CounterGroup> overflow_counters)
        : Channel(ctx.settings.name(), ctx.shards), _o(o), _counters(ctx.counters),
          _overflow_counters(std::move(overflow_counters)), _overflow(std::move(overflow)), _slices(ctx.shards) {
        ctx.counters.set_gauges([this](auto& out) {
            uint64_t mem = uint64_t(std::max<int64_t>(0, _mem_events.load()));
            uint64_t spilled = _overflow ? _overflow->size() : 0;
            int64_t capacity = _o.memory_capacity + _o.overflow_capacity;
            out.emplace_back("ChannelSize", std::to_string(mem + spilled));
            out.emplace_back("ChannelCapacity", std::to_string(capacity));
            out.emplace_back("ChannelFillPercentage",
                             java_double(capacity == 0 ? 0.0 : double(mem + spilled) * 100.0 / double(capacity)));
            out.emplace_back("MemoryChannelSize", std::to_string(mem));
            out.emplace_back("OverflowChannelSize", std::to_string(spilled));
        });
    }

    Status start() override {
        if (_overflow) {
            if (Status st = _overflow->start(); !st) return st;
            // What survived on disk comes first.
            for (unsigned s = 0; s < shards(); s++) {
                uint64_t n = _overflow->slice_size(s);
                if (n > 0) _slices[s].order.push_back({true, n});
                _overflow->on_available(s, [this, s] { _slices[s].notify(); });
            }
        }
        return Status::ok();
    }
    void stop() override {
        if (_overflow) _overflow->stop();
    }

    std::unique_ptr<PutTransaction> begin_put(unsigned shard) override;
    std::unique_ptr<TakeTransaction> begin_take(unsigned shard) override;
    void on_available(unsigned shard, std::function<void()> fn) override { _slices[shard].listeners.push_back(std::move(fn)); }
    uint32_t transaction_capacity() const override { return _o.tx_capacity; }
    int64_t keep_alive_ms() const override { return _overflow ? _overflow->keep_alive_ms() : 3000; }
    uint64_t size() const override {
        return uint64_t(std::max<int64_t>(0, _mem_events.load(std::memory_order_relaxed))) + (_overflow ? _overflow->size() : 0);
    }
    uint64_t slice_size(unsigned shard) const override {
        return _slices[shard].queued.load(std::memory_order_relaxed) + (_overflow ? _overflow->slice_size(shard) : 0);
    }
    // Memory commits are as durable as they get at once; spilled ones when
    // the file channel says so (its marks count only spilled commits).
    uint64_t commit_mark(unsigned shard) const override { return _overflow ? _overflow->commit_mark(shard) : 0; }
    void when_durable(unsigned shard, uint64_t mark, std::function<void()> fn) override {
        if (_overflow)
            _overflow->when_durable(shard, mark, std::move(fn));
        else
            fn();
    }

private:
    friend class SpillPut;
    friend class SpillTake;

    int64_t slots_of(const std::vector<EventSpan>& spans) const {
        int64_t n = 0;
        for (const auto& s : spans)
            for (uint32_t i = 0; i < s.size(); i++) {
                int64_t len = int64_t(s[i].body().size());
                n += len == 0 ? 1 : (len + _o.slot_bytes - 1) / _o.slot_bytes;
            }
        return n;
    }
    void append_order(unsigned shard, bool spilled, uint64_t n) {
        auto& order = _slices[shard].order;
        if (!order.empty() && order.back().spilled == spilled)
            order.back().n += n;
        else
            order.push_back({spilled, n});
    }

    struct alignas(cache_line) slice {
        std::deque<EventSpan> memory;
        std::atomic<uint64_t> queued{0};  // events in `memory`
        std::deque<drain_run> order;
        std::vector<std::function<void()>> listeners;
        void add_queued(int64_t d) {
            queued.store(uint64_t(int64_t(queued.load(std::memory_order_relaxed)) + d), std::memory_order_relaxed);
        }
        void notify() {
            for (auto& fn : listeners) fn();
        }
    };

    spill_options _o;
    CounterGroup& _counters;
    std::unique_ptr<CounterGroup> _overflow_counters;
    std::unique_ptr<Channel> _overflow;  // null when overflowCapacity = 0
    alignas(cache_line) std::atomic<int64_t> _mem_events{0};
    alignas(cache_line) std::atomic<int64_t> _mem_slots{0};
    // Set when a commit spills; cleared once memory is 5 % free again. While
    // set, commits go to the overflow (arrival order stays simple: a run of
    // spilled events is not overtaken by memory ones).
    std::atomic<bool> _overflowing{false};
    std::vector<slice> _slices;
};

class SpillPut final : public PutTransaction {
public:
    SpillPut(SpillableChannel& ch, unsigned shard) : _ch(ch), _shard(shard) {}
    ~SpillPut() override { rollback(); }

    Status put(const EventSpan& span) override {
        _ch._counters.add(_shard, channel_counter::event_put_attempt, span.size());
        if (_count + span.size() > _ch._o.tx_capacity)
            return Status(errc::channel_full, "Put queue for SpillableMemoryChannel of capacity " +
                                                  std::to_string(_ch._o.tx_capacity) +
                                                  " full, consider committing more frequently, increasing capacity "
                                                  "or increasing thread count");
        if (span.size() == 0) return Status::ok();
        _spans.push_back(span);
        _count += span.size();
        return Status::ok();
    }

    Status commit() override {
        if (_count == 0) return Status::ok();
        auto& ch = _ch;
        if (ch._o.memory_capacity > 0 && !ch._overflowing.load(std::memory_order_relaxed)) {
            int64_t slots = ch.slots_of(_spans);
            if (reserve_capacity(ch._mem_slots, slots, ch._o.slot_budget)) {
                if (reserve_capacity(ch._mem_events, _count, ch._o.memory_capacity)) {
                    auto& sl = ch._slices[_shard];
                    for (auto& s : _spans) sl.memory.push_back(std::move(s));
                    sl.add_queued(_count);
                    ch.append_order(_shard, false, _count);
                    return done(sl);
                }
                ch._mem_slots.fetch_sub(slots, std::memory_order_relaxed);
            }
        }
        if (!ch._overflow) return Status(errc::channel_full, std::string(overflow_disabled_text));
        // Spill the whole commit.
        auto tx = ch._overflow->begin_put(_shard);
        Status st;
        for (auto& s : _spans)
            if (st) st = tx->put(s);
        if (st) st = tx->commit();
        if (!st) {
            tx->rollback();
            return st;
        }
        if (ch._o.memory_capacity > 0 && !ch._overflowing.exchange(true))
            log_info("SPILLABLEMEMORY channel %s: memory full, spilling to disk", ch.name().c_str());
        ch.append_order(_shard, true, _count);
        return done(ch._slices[_shard]);
    }

    void rollback() override {
        _spans.clear();
        _count = 0;
    }
    uint32_t size() const override { return _count; }

private:
    Status done(SpillableChannel::slice& sl) {
        _ch._counters.add(_shard, channel_counter::event_put_success, _count);
        _spans.clear();
        _count = 0;
        sl.notify();
        return Status::ok();
    }

    SpillableChannel& _ch;
    unsigned _shard;
    std::vector<EventSpan> _spans;
    uint32_t _count = 0;
};

class SpillTake final : public TakeTransaction {
public:
    SpillTake(SpillableChannel& ch, unsigned shard) : _ch(ch), _shard(shard) {}
    ~SpillTake() override { rollback(); }

    uint32_t take(uint32_t max) override {
        auto& sl = _ch._slices[_shard];
        uint32_t want = std::min(max, _ch._o.tx_capacity - _count), got = 0;
        while (got < want && !sl.order.empty()) {
            drain_run& head = sl.order.front();
            uint32_t n = uint32_t(std::min<uint64_t>(head.n, want - got));
            uint32_t took = head.spilled ? take_spilled(n) : take_memory(sl, n);
            if (took == 0) break;
            if (!_taken.empty() && _taken.back().spilled == head.spilled)
                _taken.back().n += took;
            else
                _taken.push_back({head.spilled, took});
            head.n -= took;
            if (head.n == 0) sl.order.pop_front();
            got += took;
        }
        _count += got;
        _ch._counters.add(_shard, channel_counter::event_take_attempt, got + (got < max ? 1 : 0));
        return got;
    }

    const std::vector<EventSpan>& events() const override { return _spans; }
    uint32_t size() const override { return _count; }

    Status commit() override {
        if (_count == 0) return Status::ok();
        if (_file_tx) {
            if (Status st = _file_tx->commit(); !st) return st;
            _file_tx.reset();
        }
        if (_memory_events > 0) {
            _ch._mem_slots.fetch_sub(_memory_slots, std::memory_order_relaxed);
            int64_t left = _ch._mem_events.fetch_sub(_memory_events, std::memory_order_acq_rel) - _memory_events;
            // Flume: overflow stops once memory is at least 5 % free again.
            if (_ch._overflowing.load(std::memory_order_relaxed) && left <= _ch._o.memory_capacity * 95 / 100)
                _ch._overflowing.store(false, std::memory_order_relaxed);
        }
        _ch._counters.add(_shard, channel_counter::event_take_success, _count);
        clear();
        return Status::ok();
    }

    void rollback() override {
        if (_count == 0 && !_file_tx) return;
        auto& sl = _ch._slices[_shard];
        if (_file_tx) _file_tx->rollback();
        _file_tx.reset();
        for (auto it = _memory_spans.rbegin(); it != _memory_spans.rend(); ++it) sl.memory.push_front(std::move(*it));
        sl.add_queued(int64_t(_memory_events));
        for (auto it = _taken.rbegin(); it != _taken.rend(); ++it) {
            if (!sl.order.empty() && sl.order.front().spilled == it->spilled)
                sl.order.front().n += it->n;
            else
                sl.order.push_front(*it);
        }
        clear();
        sl.notify();
    }

private:
    uint32_t take_memory(SpillableChannel::slice& sl, uint32_t want) {
        uint32_t got = 0;
        while (got < want && !sl.memory.empty()) {
            EventSpan& head = sl.memory.front();
            uint32_t n = std::min(want - got, head.size());
            EventSpan part{head.batch, head.begin, head.begin + n};
            if (n == head.size())
                sl.memory.pop_front();
            else
                head.begin += n;
            _memory_slots += _ch.slots_of({part});
            _spans.push_back(part);
            _memory_spans.push_back(std::move(part));
            got += n;
        }
        sl.add_queued(-int64_t(got));
        _memory_events += got;
        return got;
    }
    uint32_t take_spilled(uint32_t want) {
        if (!_file_tx) _file_tx = _ch._overflow->begin_take(_shard);
        size_t before = _file_tx->events().size();
        uint32_t got = _file_tx->take(want);
        const auto& ev = _file_tx->events();
        for (size_t i = before; i < ev.size(); i++) _spans.push_back(ev[i]);
        return got;
    }
    void clear() {
        _spans.clear();
        _memory_spans.clear();
        _taken.clear();
        _count = 0;
        _memory_events = 0;
        _memory_slots = 0;
    }

    SpillableChannel& _ch;
    unsigned _shard;
    std::vector<EventSpan> _spans, _memory_spans;
    std::vector<drain_run> _taken;  // what this take removed from the drain order
    std::unique_ptr<TakeTransaction> _file_tx;
    uint32_t _count = 0;
    int64_t _memory_events = 0, _memory_slots = 0;
};

std::unique_ptr<PutTransaction> SpillableChannel::begin_put(unsigned shard) {
    SLUICE_ASSERT(shard < _slices.size(), "no such shard");
    return std::make_unique<SpillPut>(*this, shard);
}
std::unique_ptr<TakeTransaction> SpillableChannel::begin_take(unsigned shard) {
    SLUICE_ASSERT(shard < _slices.size(), "no such shard");
    return std::make_unique<SpillTake>(*this, shard);
}

}  // namespace

ComponentDescriptor spillable_channel_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::channel;
    d.type = "SPILLABLEMEMORY";
    d.aliases = {"org.apache.flume.channel.SpillableMemoryChannel"};
    d.description =
        "A memory queue that spills whole commits to disk (the `file` channel's segments) when it is full, and "
        "takes in arrival order across memory and disk. After a restart only what had spilled is left.";
    d.keys = {
        {"memoryCapacity", KeyType::integer, "10000", false, "Most events held in memory; 0: no memory queue.", 0},
        {"overflowCapacity", KeyType::integer, "100000000", false,
         "Most events spilled to disk; 0: no overflow (a full memory queue fails the commit).", 0},
        {"overflowTimeout", KeyType::duration_s, "3", false,
         "How long Flume's commit waits for memory before it spills.", 0, INT64_MAX, {},
         "sluice's commits never wait: a commit that finds memory full spills at once (0 in Flume's terms); "
         "the key is accepted."},
        {"transactionCapacity", KeyType::integer, "100", false, "The most events one transaction may put or take.", 1,
         INT32_MAX},
        {"byteCapacity", KeyType::bytes, "", false,
         "Most body bytes in memory, counted in avgEventSize slots; default: 80 % of a quarter of physical memory.", 0},
        {"byteCapacityBufferPercentage", KeyType::integer, "20", false,
         "Share of byteCapacity kept free for headers (not counted).", 0, 99},
        {"avgEventSize", KeyType::integer, "500", false, "The slot size of byteCapacity accounting, in bytes.", 1},
    };
    for (auto& k : file_channel_storage_keys()) d.keys.push_back(k);
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        check_file_channel_storage(s, problems);
    };
    // overflowCapacity = 0 (with a memory queue): no overflow, no disk.
    d.uses_directories = [](const ComponentSettings& s) {
        return s.get_int("overflowCapacity") > 0 || s.get_int("memoryCapacity") == 0;
    };
    d.make_channel = [](ChannelContext& ctx) -> Result<std::unique_ptr<Channel>> {
        const auto& s = ctx.settings;
        spill_options o;
        o.memory_capacity = s.get_int("memoryCapacity");
        o.overflow_capacity = s.get_int("overflowCapacity");
        if (o.memory_capacity == 0 && o.overflow_capacity == 0) o.overflow_capacity = 100000000;  // Flume's rule
        o.tx_capacity = uint32_t(s.get_int("transactionCapacity"));
        o.slot_bytes = s.get_int("avgEventSize");
        int64_t byte_capacity = s.get_int("byteCapacity");
        if (!s.has("byteCapacity")) {
            byte_capacity = default_byte_capacity();
        }
        o.slot_budget = int64_t(double(byte_capacity) * (1 - double(s.get_int("byteCapacityBufferPercentage")) * .01) /
                                double(o.slot_bytes));
        if (o.slot_budget < 1) o.slot_budget = INT64_MAX / 2;
        std::unique_ptr<Channel> overflow;
        std::unique_ptr<CounterGroup> overflow_counters;
        if (o.overflow_capacity > 0) {
            overflow_counters = std::make_unique<CounterGroup>("CHANNEL", s.name() + ".overflow", channel_counter_names(),
                                                               ctx.shards);
            ChannelContext inner{ctx.settings, ctx.shards, *overflow_counters, ctx.runtime};
            file_options fo = file_options_from(s);
            fo.capacity = o.overflow_capacity;
            fo.tx_capacity = o.tx_capacity;
            fo.keep_alive_ms = 3000;
            overflow = make_file_channel(inner, std::move(fo));
        }
        return std::unique_ptr<Channel>(new SpillableChannel(ctx, o, std::move(overflow), std::move(overflow_counters)));
    };
    return d;
}

}  // namespace sluice
