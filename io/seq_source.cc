// SPDX-License-Identifier: Apache-2.0
// The `seq` source: Flume's SequenceGeneratorSource (reference/flume.md §10).
// Bodies are the decimal numbers 0, 1, 2, ... up to totalEvents - 1, put in
// transactions of batchSize. One counter per source: only the owner shard
// (docs/file_sources.md) generates; the other instances are finished at once.
//
// A batch that does not fit (channel full) is retried, the same numbers
// again, so the sequence has no gap and no repeat. When totalEvents have been
// committed the source is finished (Flume keeps an idle source; sluice's
// agent exits once every source has finished, as with `replay`).
#include <charconv>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"
#include "io/file_source_util.h"

namespace sluice {

namespace {

constexpr int64_t retry_max_us = 20000;

class SeqSource final : public Source {
public:
    explicit SeqSource(SourceContext& ctx)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _batch_size(uint32_t(ctx.settings.get_int("batchSize"))), _total(ctx.settings.get_int("totalEvents")),
          _owner(owner_shard(_name, ctx.shard.count()) == ctx.shard.id()) {}
    ~SeqSource() override {
        if (_timer) _shard.cancel_timer(_timer);
    }

    Status start() override {
        if (!_owner) return Status::ok();
        _alive = std::make_shared<bool>(true);
        schedule_step();
        return Status::ok();
    }

    void stop(Task done) override {
        _stopped = true;
        if (_timer) _shard.cancel_timer(_timer);
        _timer = 0;
        if (_alive) *_alive = false;
        done();
    }

    bool finished() const override { return !_owner || _next >= _total; }

private:
    void schedule_step() {
        // Deferred, not looped: one batch per shard iteration, so the shard's
        // sinks and sockets run between batches.
        _shard.defer([this, alive = _alive] {
            if (*alive) step();
        });
    }

    void step() {
        if (_stopped || _next >= _total) return;
        if (!_pending.batch) {
            int64_t n = std::min<int64_t>({int64_t(_batch_size), int64_t(_processor.max_batch()), _total - _next});
            auto batch = std::make_shared<EventBatch>(size_t(n), size_t(n) * 8);
            batch->set_received_us(wall_clock_us());
            char buf[24];
            for (int64_t i = 0; i < n; i++) {
                auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), _next + i);
                (void)ec;
                batch->add(std::string_view(buf, size_t(end - buf)));
            }
            _pending = EventSpan{std::move(batch), 0, uint32_t(n)};
            _counters.add(_shard.id(), source_counter::event_received, uint64_t(n));
            if (n > 1 || _batch_size > 1) _counters.add(_shard.id(), source_counter::append_batch_received);
        }
        Status st = _processor.put(_pending, _progress);
        if (!st) {
            bool gave_up = false;
            int64_t keep_alive_ms = _progress.failed ? _progress.failed->keep_alive_ms() : 3000;
            int64_t delay_us = _retry.next_delay_us(keep_alive_ms, gave_up);
            if (st.code() != errc::channel_full) gave_up = true;
            if (gave_up) {
                // Where Flume's processEventBatch would have thrown.
                if (!_full_logged)
                    log_warn("%s source could not write to channel: %s", _name.c_str(), st.message().c_str());
                _full_logged = true;
                _counters.add(_shard.id(), source_counter::channel_write_fail);
                delay_us = retry_max_us;
            }
            _timer = _shard.add_timer(delay_us, [this] {
                _timer = 0;
                step();
            });
            return;
        }
        _retry.reset();
        _full_logged = false;
        _progress.reset();
        uint32_t n = _pending.size();
        _counters.add(_shard.id(), source_counter::event_accepted, n);
        if (n > 1 || _batch_size > 1) _counters.add(_shard.id(), source_counter::append_batch_accepted);
        _next += n;
        _pending = EventSpan{};
        if (_next < _total) schedule_step();
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name;
    uint32_t _batch_size;
    int64_t _total;
    bool _owner;
    int64_t _next = 0;
    EventSpan _pending;
    ChannelProcessor::Progress _progress;
    bool _stopped = false, _full_logged = false;
    FullChannelRetry _retry;
    TimerId _timer = 0;
    std::shared_ptr<bool> _alive;  // false once stopped: deferred steps do nothing
};

}  // namespace

ComponentDescriptor seq_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "seq";
    d.aliases = {"org.apache.flume.source.SequenceGeneratorSource"};
    d.description =
        "Generates events whose bodies are the decimal numbers 0, 1, 2, ...; with totalEvents, stops after that many "
        "(the agent exits once every source has finished). Runs on one shard.";
    d.keys = {
        {"batchSize", KeyType::integer, "1", false, "Events per transaction.", 1, INT32_MAX},
        {"totalEvents", KeyType::integer, "9223372036854775807", false, "How many events to generate.", 0, INT64_MAX,
         {},
         "When totalEvents have been delivered the source is finished and, once every source has, the agent drains "
         "and exits 0; Flume's source idles instead."},
    };
    d.batch_size_key = "batchSize";
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        return std::unique_ptr<Source>(new SeqSource(ctx));
    };
    return d;
}

}  // namespace sluice
