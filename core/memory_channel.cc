// SPDX-License-Identifier: Apache-2.0
#include "core/memory_channel.h"

#include <unistd.h>

#include <atomic>
#include <deque>

#include "core/assert.h"
#include "core/component.h"

namespace sluice {

namespace {

constexpr int64_t slot_bytes = 100;  // Flume's byteCapacitySlotSize

int64_t slots_of(const EventSpan& s) {
    int64_t n = 0;
    for (uint32_t i = 0; i < s.size(); i++) {
        int64_t len = int64_t(s[i].body().size());
        n += len == 0 ? 1 : (len + slot_bytes - 1) / slot_bytes;
    }
    return n;
}

class MemoryChannel final : public Channel {
public:
    MemoryChannel(ChannelContext& ctx)
        : Channel(ctx.settings.name(), ctx.shards), _counters(ctx.counters), _slices(ctx.shards) {
        const auto& s = ctx.settings;
        _capacity = s.get_int("capacity");
        _tx_capacity = uint32_t(s.get_int("transactionCapacity"));
        _keep_alive_ms = s.get_duration_ms("keep-alive");
        int64_t byte_capacity = s.get_int("byteCapacity");
        int64_t pct = s.get_int("byteCapacityBufferPercentage");
        if (!s.has("byteCapacity")) byte_capacity = default_byte_capacity();
        _slot_budget = int64_t(double(byte_capacity) * (1 - double(pct) * .01) / slot_bytes);
        if (_slot_budget < 1) _slot_budget = INT32_MAX;  // Flume: byteCapacity 0 means unbounded
        ctx.counters.set_gauges([this](auto& out) {
            uint64_t size = size_now();
            out.emplace_back("ChannelSize", std::to_string(size));
            out.emplace_back("ChannelCapacity", std::to_string(_capacity));
            out.emplace_back("ChannelFillPercentage",
                             java_double(_capacity == 0 ? 1.7976931348623157e308 : double(size) * 100.0 / double(_capacity)));
        });
    }

    std::unique_ptr<PutTransaction> begin_put(unsigned shard) override;
    std::unique_ptr<TakeTransaction> begin_take(unsigned shard) override;
    void on_available(unsigned shard, std::function<void()> fn) override { _slices[shard].listeners.push_back(std::move(fn)); }
    uint32_t transaction_capacity() const override { return _tx_capacity; }
    int64_t keep_alive_ms() const override { return _keep_alive_ms; }
    uint64_t size() const override { return uint64_t(_used_events.load(std::memory_order_relaxed)); }
    uint64_t slice_size(unsigned shard) const override { return _slices[shard].queued.load(std::memory_order_relaxed); }

private:
    friend class MemoryPut;
    friend class MemoryTake;
    uint64_t size_now() const {
        uint64_t n = 0;
        for (auto& s : _slices) n += s.queued.load(std::memory_order_relaxed);
        return n;
    }

    struct alignas(cache_line) slice {
        std::deque<EventSpan> queue;
        std::atomic<uint64_t> queued{0};  // written by the owner shard only
        std::vector<std::function<void()>> listeners;
        void add_queued(int64_t d) { queued.store(uint64_t(int64_t(queued.load(std::memory_order_relaxed)) + d), std::memory_order_relaxed); }
        void notify() {
            for (auto& fn : listeners) fn();
        }
    };

    CounterGroup& _counters;
    int64_t _capacity;
    uint32_t _tx_capacity;
    int64_t _keep_alive_ms;
    int64_t _slot_budget;
    alignas(cache_line) std::atomic<int64_t> _used_events{0};
    alignas(cache_line) std::atomic<int64_t> _used_slots{0};
    std::vector<slice> _slices;
};

class MemoryPut final : public PutTransaction {
public:
    MemoryPut(MemoryChannel& ch, unsigned shard) : _ch(ch), _shard(shard) {}
    ~MemoryPut() override { rollback(); }

    Status put(const EventSpan& span) override {
        _ch._counters.add(_shard, channel_counter::event_put_attempt, span.size());
        if (_count + span.size() > _ch._tx_capacity) {
            return Status(errc::channel_full,
                          "Put queue for MemoryTransaction of capacity " + std::to_string(_ch._tx_capacity) +
                              " full, consider committing more frequently, increasing capacity or increasing "
                              "thread count");
        }
        if (span.size() == 0) return Status::ok();
        _spans.push_back(span);
        _count += span.size();
        _slots += slots_of(span);
        return Status::ok();
    }

    Status commit() override {
        if (_count == 0) return Status::ok();
        if (!reserve_capacity(_ch._used_slots, _slots, _ch._slot_budget)) {
            return Status(errc::channel_full,
                          "Cannot commit transaction. Byte capacity allocated to store event body " +
                              java_double(double(_ch._slot_budget) * slot_bytes) +
                              "reached. Please increase heap space/byte capacity allocated to the channel as the "
                              "sinks may not be keeping up with the sources");
        }
        if (!reserve_capacity(_ch._used_events, _count, _ch._capacity)) {
            _ch._used_slots.fetch_sub(_slots, std::memory_order_relaxed);
            return Status(errc::channel_full, std::string(memory_channel_full_text));
        }
        auto& sl = _ch._slices[_shard];
        for (auto& s : _spans) sl.queue.push_back(std::move(s));
        sl.add_queued(_count);
        _ch._counters.add(_shard, channel_counter::event_put_success, _count);
        _spans.clear();
        _count = 0;
        _slots = 0;
        sl.notify();
        return Status::ok();
    }

    void rollback() override {
        _spans.clear();
        _count = 0;
        _slots = 0;
    }
    uint32_t size() const override { return _count; }

private:
    MemoryChannel& _ch;
    unsigned _shard;
    std::vector<EventSpan> _spans;
    uint32_t _count = 0;
    int64_t _slots = 0;
};

class MemoryTake final : public TakeTransaction {
public:
    MemoryTake(MemoryChannel& ch, unsigned shard) : _ch(ch), _shard(shard) {}
    ~MemoryTake() override { rollback(); }

    uint32_t take(uint32_t max) override {
        auto& sl = _ch._slices[_shard];
        uint32_t room = _ch._tx_capacity - _count;
        uint32_t want = std::min(max, room);
        uint32_t got = 0;
        while (got < want && !sl.queue.empty()) {
            EventSpan& head = sl.queue.front();
            uint32_t n = std::min(want - got, head.size());
            if (n == head.size()) {
                _spans.push_back(std::move(head));
                sl.queue.pop_front();
            } else {
                _spans.push_back(EventSpan{head.batch, head.begin, head.begin + n});
                head.begin += n;
            }
            got += n;
        }
        // Flume counts one attempt per take() call, and a batch sink calls
        // take() until the batch is full or a take comes back empty.
        _ch._counters.add(_shard, channel_counter::event_take_attempt, got + (got < max ? 1 : 0));
        sl.add_queued(-int64_t(got));
        _count += got;
        return got;
    }

    const std::vector<EventSpan>& events() const override { return _spans; }
    uint32_t size() const override { return _count; }

    Status commit() override {
        if (_count == 0) return Status::ok();
        int64_t slots = 0;
        for (auto& s : _spans) slots += slots_of(s);
        _ch._used_slots.fetch_sub(slots, std::memory_order_relaxed);
        _ch._used_events.fetch_sub(_count, std::memory_order_release);
        _ch._counters.add(_shard, channel_counter::event_take_success, _count);
        _spans.clear();
        _count = 0;
        return Status::ok();
    }

    void rollback() override {
        if (_count == 0) return;
        auto& sl = _ch._slices[_shard];
        for (auto it = _spans.rbegin(); it != _spans.rend(); ++it) sl.queue.push_front(std::move(*it));
        sl.add_queued(_count);
        _spans.clear();
        _count = 0;
        sl.notify();
    }

private:
    MemoryChannel& _ch;
    unsigned _shard;
    std::vector<EventSpan> _spans;
    uint32_t _count = 0;
};

std::unique_ptr<PutTransaction> MemoryChannel::begin_put(unsigned shard) {
    SLUICE_ASSERT(shard < _slices.size(), "no such shard");
    return std::make_unique<MemoryPut>(*this, shard);
}
std::unique_ptr<TakeTransaction> MemoryChannel::begin_take(unsigned shard) {
    SLUICE_ASSERT(shard < _slices.size(), "no such shard");
    return std::make_unique<MemoryTake>(*this, shard);
}

}  // namespace

ComponentDescriptor memory_channel_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::channel;
    d.type = "memory";
    d.aliases = {"org.apache.flume.channel.MemoryChannel"};
    d.description =
        "Events held in memory: fast, and lost if the process dies. A queue slice per shard; "
        "capacity and byteCapacity hold for the channel as a whole.";
    d.keys = {
        {"capacity", KeyType::integer, "100", false, "The most events the channel holds.", 1},
        {"transactionCapacity", KeyType::integer, "100", false,
         "The most events one transaction may put or take.", 1, INT32_MAX},
        {"keep-alive", KeyType::duration_s, "3", false,
         "How long a source waits for room (Flume: how long a commit waits) before it fails; seconds, or 500ms."},
        {"byteCapacity", KeyType::bytes, "", false,
         "The most body bytes held, counted in 100-byte slots as Flume does; 0 = unbounded.", 0, INT64_MAX, {},
         "Flume's default is 80 % of the JVM heap; sluice's is 80 % of a quarter of physical memory."},
        {"byteCapacityBufferPercentage", KeyType::integer, "20", false,
         "Share of byteCapacity kept free for headers (not counted).", 0, 99},
    };
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        if (s.get_int("transactionCapacity") > s.get_int("capacity"))
            problems.emplace_back("transactionCapacity", "transactionCapacity " + std::to_string(s.get_int("transactionCapacity")) +
                                                             " exceeds capacity " + std::to_string(s.get_int("capacity")));
    };
    d.make_channel = [](ChannelContext& ctx) -> Result<std::unique_ptr<Channel>> {
        return std::unique_ptr<Channel>(new MemoryChannel(ctx));
    };
    return d;
}

}  // namespace sluice
