// SPDX-License-Identifier: Apache-2.0
// How a stream runs (docs/streams.md §6):
//
//  - every shard takes the events of its slice of the input channel, runs the
//    record operators, and combines locally into one table per open batch;
//  - when a batch closes on a shard, the shard sends each owner shard
//    (XXH3(key) mod shards) its part of the table, and the coordinator
//    (shard 0) its part of global aggregates, even when empty: that message is
//    the shard's end-of-batch marker;
//  - an owner that has every shard's part of batch T merges them, runs the
//    window or state step for its keys, and sends its rows to the coordinator;
//  - the coordinator, with every owner's rows for T, applies the post
//    operators, sorts by key and puts the results into the output channels.
//
// Objects: `StreamImpl` is shared (immutable after construction, apart from
// the per-shard parts); `shard_part` is touched only by its shard's thread.
// Messages between shards are tasks carrying shared_ptr payloads.
#include "operators/stream.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>

#include "core/component.h"
#include "core/log.h"
#include "operators/key_table.h"
#include "operators/pending_adds.h"
#include "operators/short_key_sums.h"
#include "operators/split.h"
#include "operators/window.h"

namespace sluice::ops {

namespace {

struct Row {
    std::string key;
    Num value;
    std::vector<Num> list;
    bool has_list = false;
};

// One shard's contribution to batch T for one destination.
struct Part {
    int64_t t = 0;
    unsigned from = 0;
    // keyed
    KeyTable<Acc> accs{16};
    std::vector<std::tuple<std::string, uint64_t, std::vector<Num>>> lists;
    // global
    int64_t count = 0;
    Acc acc;
    std::vector<std::string> records;
};

struct LocalBatch {
    uint64_t events = 0;
    KeyTable<Acc> accs{64};
    ShortKeySums short_sums;  // integer sums (and counts) of short keys, folded into accs at the close
    KeyTable<std::vector<Num>> lists{16};
    int64_t count = 0;
    Acc acc;
    std::vector<std::string> records;
};

struct OwnerBatch {
    unsigned parts = 0;
    KeyTable<Acc> accs{64};
    KeyTable<std::vector<Num>> lists{16};
};

struct CoordBatch {
    unsigned parts = 0;
    std::vector<Row> rows;
    int64_t count = 0;
    Acc acc;
    std::vector<std::vector<std::string>> records;  // per shard, in shard order
};

struct StateEntry {
    Acc acc;
    double ewma = 0;
    bool has_ewma = false;
    int64_t last_update = 0;
};

class StreamImpl;

// The most empty batches emitted for one jump in time (docs/streams.md §4).
constexpr int64_t max_gap = 100000;

// Everything one shard owns for one stream.
struct shard_part {
    Shard* shard = nullptr;
    // Taking and combining.
    std::map<int64_t, LocalBatch> open;  // by batch end
    LocalBatch* current = nullptr;        // open[current_t], the batch records go to now
    int64_t current_t = 0;
    int64_t closed_through = 0;          // batches ending at or before this are closed here
    int64_t max_event_ms = INT64_MIN, min_event_ms = INT64_MAX;
    int64_t reported_max = INT64_MIN;
    uint64_t seq = 0;
    bool scheduled = false, stopped = false;
    TimerId timer = 0;
    std::vector<std::string> scratch;
    PendingAdds pending;         // empty outside take_some
    ShortKeyAdds short_adds;     // likewise
    // The bytes of the batch process_span is in: keys there last until the
    // take's pending adds are flushed, so they are not copied.
    const char* span_arena = nullptr;
    size_t span_arena_size = 0;
    // Keys of the last batch closed here (short ones, others): the next one's table sizes.
    size_t last_batch_short_keys = 0, last_batch_keys = 0;
    // Owner role: batches being assembled, and window/state data for owned keys.
    std::map<int64_t, OwnerBatch> owner;
    std::map<int64_t, KeyList<Acc>> window_accs;                // per batch, for windows
    std::map<int64_t, KeyTable<std::vector<Num>>> window_lists;  // per batch, groupByKeyAndWindow
    KeyTable<Acc> window_value{64};                              // incremental window (inverse)
    KeyTable<StateEntry> state{64};
    // List parts waiting for the rest of their batch (appended in shard order).
    std::map<int64_t, std::vector<std::pair<unsigned, std::vector<std::tuple<std::string, uint64_t, std::vector<Num>>>>>>
        pending_lists;
};

class StreamImpl final : public Stream, public std::enable_shared_from_this<StreamImpl> {
public:
    StreamImpl(StreamContext& ctx, Plan plan)
        : _name(ctx.settings.name()), _input(ctx.input), _outputs(ctx.outputs), _counters(ctx.counters), _plan(std::move(plan)), _shards(ctx.runtime.shard_count()), _parts(_shards) {
        const auto& s = ctx.settings;
        _batch_ms = s.get_duration_ms("batch");
        std::string time = s.get_string("time");
        _event_time = time == "event";
        _time_header = s.get_string("time.header");
        _lateness_ms = s.get_duration_ms("watermark");
        _json = s.get_string("format") == "json";
        // Every shard must agree on the first batch: decided once, here.
        if (!_event_time) _first_t = batch_end(wall_clock_ms());
        _uses_lists = uses_lists();
        _acc_agg = acc_agg();
        _short_sums = keyed_stage() && !_uses_lists && (_acc_agg == Agg::sum || _acc_agg == Agg::count);
    }

    Status start_shard(Shard& shard) override {
        auto& p = _parts[shard.id()];
        p.shard = &shard;
        p.closed_through = _event_time ? INT64_MIN : _first_t - _batch_ms;
        std::weak_ptr<StreamImpl> weak = weak_from_this();
        _input.on_available(shard.id(), [weak, &shard] {
            if (auto self = weak.lock()) self->wake(shard.id());
        });
        if (shard.id() == 0) {
            _processor = std::make_unique<ChannelProcessor>(0, _outputs, std::vector<Channel*>{});
            _coord_next = _event_time ? INT64_MIN : _first_t;
        }
        if (!_event_time) arm_batch_timer(shard.id());
        wake(shard.id());
        return Status::ok();
    }

    void stop_shard(Shard& shard) override {
        auto& p = _parts[shard.id()];
        p.stopped = true;
        if (p.timer) shard.cancel_timer(p.timer);
        p.timer = 0;
    }

    void advance_event_time(int64_t ms) override {
        if (!_event_time) return;
        // A tick moves time on like a record would, but starts no batch:
        // the first batch is the batch of the earliest record.
        if (ms > _global_max) _global_max = ms;
        close_by_watermark(_global_max - _lateness_ms);
    }

    void finish(Task done) override {
        _finish_done = std::move(done);
        // First every shard takes what is left and reports its event times;
        // only then is the last batch known.
        _final_reports = 0;
        for (unsigned i = 0; i < _shards; i++)
            _parts[0].shard->submit_to(i, [self = shared_from_this(), i] {
                self->take_all(i);
                auto& p = self->_parts[i];
                int64_t mx = p.max_event_ms, mn = p.min_event_ms;
                p.shard->submit_to(0, [self, mx, mn] { self->on_final_report(mx, mn); });
            });
    }

    void on_final_report(int64_t mx, int64_t mn) {
        _global_max = std::max(_global_max, mx);
        _global_min = std::min(_global_min, mn);
        if (++_final_reports < _shards) return;
        if (_event_time) {
            if (_global_max == INT64_MIN) {
                _finish_through = INT64_MIN;  // no record ever: nothing to emit
            } else {
                _finish_through = batch_end(_global_max);
                close_by_watermark(_finish_through);
            }
        } else {
            // Processing time, stopping: close the current batch, and for a
            // windowed stream go on to the next window end, so the last
            // records are in an emitted window.
            int64_t through = batch_end(wall_clock_ms());
            if (_plan.windowed()) through = (through + _plan.slide_ms - 1) / _plan.slide_ms * _plan.slide_ms;
            _finish_through = through;
            for (unsigned i = 0; i < _shards; i++)
                _parts[0].shard->submit_to(i, [self = shared_from_this(), i, through] {
                    self->take_all(i);
                    self->close_through(i, through);
                });
        }
        maybe_finished();
    }

private:
    int64_t batch_end(int64_t ms) const {
        int64_t b = ms >= 0 ? ms / _batch_ms : (ms - _batch_ms + 1) / _batch_ms;
        return (b + 1) * _batch_ms;
    }

    // ------------------------------------------------------------ taking

    void wake(unsigned shard) {
        auto& p = _parts[shard];
        if (p.scheduled || p.stopped) return;
        p.scheduled = true;
        std::weak_ptr<StreamImpl> weak = weak_from_this();
        p.shard->defer([weak, shard] {
            if (auto self = weak.lock()) self->run(shard);
        });
    }

    void arm_batch_timer(unsigned shard) {
        auto& p = _parts[shard];
        int64_t next = p.closed_through + _batch_ms;
        int64_t delay_us = std::max<int64_t>(0, (next - wall_clock_ms()) * 1000);
        std::weak_ptr<StreamImpl> weak = weak_from_this();
        p.timer = p.shard->add_timer(delay_us, [weak, shard] {
            auto self = weak.lock();
            if (!self) return;
            auto& part = self->_parts[shard];
            part.timer = 0;
            if (part.stopped) return;
            self->take_all(shard);
            self->close_through(shard, self->batch_end(wall_clock_ms()) - self->_batch_ms);
            self->arm_batch_timer(shard);
        });
    }

    void run(unsigned shard) {
        auto& p = _parts[shard];
        p.scheduled = false;
        if (p.stopped) return;
        bool more = take_some(shard, 64);
        if (more) wake(shard);
    }

    // Takes and processes up to `rounds` transactions; true if events are left.
    bool take_some(unsigned shard, int rounds) {
        auto& p = _parts[shard];
        for (int r = 0; r < rounds; r++) {
            auto tx = _input.begin_take(shard);
            uint32_t got = tx->take(_input.transaction_capacity());
            if (got == 0) {
                (void)tx->commit();
                report_event_time(shard);
                return false;
            }
            for (const auto& span : tx->events()) process_span(p, span);
            p.pending.flush(_acc_agg);
            p.short_adds.flush(_acc_agg);
            (void)tx->commit();
            _counters.add(shard, stream_counter::event_received, got);
        }
        report_event_time(shard);
        return _input.slice_size(shard) > 0;
    }

    void take_all(unsigned shard) {
        while (take_some(shard, 64)) {
        }
    }

    void process_span(shard_part& p, const EventSpan& span) {
        unsigned shard = p.shard->id();
        p.span_arena = span.batch->arena_data();
        p.span_arena_size = span.batch->arena_size();
        for (uint32_t i = 0; i < span.size(); i++) {
            EventView ev = span[i];
            int64_t t_ms;
            if (_event_time) {
                std::string_view v;
                Num n;
                if (!ev.find_header(_time_header, &v) || !parse_num(v, &n) || !n.is_int) {
                    _counters.add(shard, stream_counter::bad_time_event);
                    continue;
                }
                t_ms = n.i;
                if (batch_end(t_ms) <= p.closed_through) {
                    _counters.add(shard, stream_counter::late_event);
                    continue;
                }
                p.max_event_ms = std::max(p.max_event_ms, t_ms);
                p.min_event_ms = std::min(p.min_event_ms, t_ms);
            } else {
                t_ms = span.batch->received_ms();
                // Read before the batch closed but taken after (the source was
                // held back by a full channel): it goes into the next open batch.
                if (batch_end(t_ms) <= p.closed_through) t_ms = p.closed_through;
            }
            int64_t t = batch_end(t_ms);
            if (t != p.current_t || !p.current) {
                auto [it, fresh] = p.open.try_emplace(t);
                // std::map: the pointer stays valid until erased (pending adds rely on it too)
                p.current = &it->second;
                p.current_t = t;
                if (fresh && keyed_stage() && !_uses_lists) {
                    p.current->accs.reserve(p.last_batch_keys);
                    if (_short_sums) p.current->short_sums.reserve(p.last_batch_short_keys);
                }
            }
            LocalBatch& lb = *p.current;
            lb.events++;
            Order at = Order::at(t_ms, p.seq++);
            if (p.scratch.size() < _plan.record_ops.size() + 1) p.scratch.resize(_plan.record_ops.size() + 1);
            record_step(p, lb, 0, ev.body(), &ev, at);
        }
    }

    // Runs record operator i on a record.
    void record_step(shard_part& p, LocalBatch& lb, size_t i, std::string_view rec, const EventView* ev, Order at) {
        const auto& ops = _plan.record_ops;
        if (i == ops.size()) {
            accept_record(p, lb, rec, at);
            return;
        }
        const RecordOp& op = ops[i];
        switch (op.kind) {
        case RecordOp::Kind::map: {
            std::string_view out;
            if (apply_str_fn(op.fn, rec, ev, p.scratch[i], &out)) record_step(p, lb, i + 1, out, ev, at);
            return;
        }
        case RecordOp::Kind::flat_map: {
            if (op.fn.kind == StrFn::Kind::split && op.fn.arg.size() == 1) {
                // Word count's `flatMap(split(" ")) | pair(1)`: each word goes
                // straight to the pair operator (or, with nothing after it, to
                // the batch stage), not through record_step.
                const bool to_pair = i + 1 < ops.size() && ops[i + 1].kind == RecordOp::Kind::pair;
                const bool to_stage = to_pair && i + 2 == ops.size();
                int64_t x;
                if (to_stage && short_sum_of(ops[i + 1].value, &x)) {
                    // reduceByKey(sum) or a count: accept_pair's short-key path, without a call per word
                    for_each_piece(rec, op.fn.arg[0], [&](std::string_view word) {
                        if (ShortKeySums::fits(word))
                            p.short_adds.push(lb.short_sums, lb.accs, word, x, _acc_agg);
                        else
                            accept_pair(p, lb, word, ops[i + 1].value, at);
                    });
                    return;
                }
                for_each_piece(rec, op.fn.arg[0], [&](std::string_view word) {
                    if (to_stage)
                        accept_pair(p, lb, word, ops[i + 1].value, at);
                    else if (to_pair)
                        pair_step(p, lb, i + 2, word, ops[i + 1].value, at);
                    else
                        record_step(p, lb, i + 1, word, ev, at);
                });
            } else if (op.fn.kind == StrFn::Kind::split) {
                const std::string& sep = op.fn.arg;
                size_t pos = 0;
                for (;;) {
                    size_t e = rec.find(sep, pos);
                    std::string_view piece = rec.substr(pos, e == std::string_view::npos ? std::string_view::npos : e - pos);
                    // Spark's split drops the empty strings a separator run makes.
                    if (!piece.empty()) record_step(p, lb, i + 1, piece, ev, at);
                    if (e == std::string_view::npos) break;
                    pos = e + sep.size();
                }
            } else {
                std::string_view out;
                if (apply_str_fn(op.fn, rec, ev, p.scratch[i], &out)) record_step(p, lb, i + 1, out, ev, at);
            }
            return;
        }
        case RecordOp::Kind::filter:
            if (apply_pred(op.pred, rec)) record_step(p, lb, i + 1, rec, ev, at);
            return;
        case RecordOp::Kind::pair: pair_step(p, lb, i + 1, rec, op.value, at); return;
        case RecordOp::Kind::kv: {
            size_t s = rec.find(op.sep);
            Num v;
            if (s == std::string_view::npos || !parse_num(rec.substr(s + op.sep.size()), &v)) return;
            pair_step(p, lb, i + 1, rec.substr(0, s), v, at);
            return;
        }
        case RecordOp::Kind::key_by: {
            std::string_view key;
            if (apply_str_fn(op.fn, rec, ev, p.scratch[i], &key)) pair_step(p, lb, i + 1, key, Num::of_int(1), at);
            return;
        }
        default: return;  // pair operators on records: rejected by the compiler
        }
    }

    void pair_step(shard_part& p, LocalBatch& lb, size_t i, std::string_view key, Num v, Order at) {
        const auto& ops = _plan.record_ops;
        for (; i < ops.size(); i++) {
            const RecordOp& op = ops[i];
            if (op.kind == RecordOp::Kind::map_values) {
                v = apply_num_fn(op.num_fn, v);
            } else if (op.kind == RecordOp::Kind::filter_values) {
                if (!value_pred(op.pred, v)) return;
            }
        }
        accept_pair(p, lb, key, v, at);
    }

    static bool value_pred(const Pred& pr, Num v) {
        switch (pr.kind) {
        case Pred::Kind::gt: return pr.num < v;
        case Pred::Kind::lt: return v < pr.num;
        case Pred::Kind::not_: return !value_pred(*pr.inner, v);
        default: return false;
        }
    }

    void accept_record(shard_part& p, LocalBatch& lb, std::string_view rec, Order at) {
        switch (_plan.stage) {
        case Stage::count:
        case Stage::count_by_window: lb.count++; return;
        case Stage::reduce:
        case Stage::reduce_by_window: {
            Num v;
            if (parse_num(rec, &v)) lb.acc.add(_plan.agg, v, at);
            return;
        }
        case Stage::records:
        case Stage::window_records: lb.records.emplace_back(rec); return;
        default:
            if (_plan.by_value) accept_pair(p, lb, rec, Num::of_int(1), at);
            return;
        }
    }

    // Whether a pair's value v goes to ShortKeySums (when its key fits), as *x.
    bool short_sum_of(Num v, int64_t* x) const {
        if (!_short_sums || (_acc_agg != Agg::count && !v.is_int)) return false;
        *x = _acc_agg == Agg::count ? 1 : v.i;
        return true;
    }

    void accept_pair(shard_part& p, LocalBatch& lb, std::string_view key, Num v, Order at) {
        switch (_plan.stage) {
        case Stage::count:
        case Stage::count_by_window: lb.count++; return;
        case Stage::reduce:
        case Stage::reduce_by_window: lb.acc.add(_plan.agg, v, at); return;
        case Stage::records:
        case Stage::window_records: {
            std::string r(key);
            r += '\t';
            append_num(r, v);
            lb.records.push_back(std::move(r));
            return;
        }
        default: break;
        }
        int64_t x;
        if (ShortKeySums::fits(key) && short_sum_of(v, &x)) return p.short_adds.push(lb.short_sums, lb.accs, key, x, _acc_agg);
        uint64_t h = key_hash(key);
        if (_uses_lists) {
            lb.lists.find_or_insert(key, h, {}).push_back(v);
        } else if (lb.accs.size() < PendingAdds::min_table_keys) {
            // Small tables stay in cache: adding at once is cheaper. (A table
            // only grows, so none of its adds can be waiting in the ring.)
            lb.accs.find_or_insert(key, h, Acc{}).add(_acc_agg, v, at);
        } else {
            const auto k = reinterpret_cast<uintptr_t>(key.data()), a = reinterpret_cast<uintptr_t>(p.span_arena);
            const bool lasting = k >= a && k + key.size() <= a + p.span_arena_size;
            p.pending.push(lb.accs, key, lasting, h, v, at, _acc_agg);
        }
    }

    bool uses_lists() const {
        return _plan.stage == Stage::group_by_key || _plan.stage == Stage::group_by_key_window ||
               (_plan.stage == Stage::update_state && _plan.state_fn == StateFn::ewma);
    }
    Agg acc_agg() const {
        if (_plan.stage != Stage::update_state) return _plan.agg;
        switch (_plan.state_fn) {
        case StateFn::sum: return Agg::sum;
        case StateFn::count: return Agg::count;
        case StateFn::min: return Agg::min;
        case StateFn::max: return Agg::max;
        case StateFn::last: return Agg::last;
        case StateFn::avg: return Agg::avg;
        case StateFn::ewma: return Agg::sum;
        }
        return Agg::sum;
    }

    // ------------------------------------------------------------ closing

    void report_event_time(unsigned shard) {
        if (!_event_time) return;
        auto& p = _parts[shard];
        if (p.max_event_ms == INT64_MIN || p.max_event_ms == p.reported_max) return;
        p.reported_max = p.max_event_ms;
        int64_t mx = p.max_event_ms, mn = p.min_event_ms;
        p.shard->submit_to(0, [self = shared_from_this(), mx, mn] {
            if (mx > self->_global_max) self->_global_max = mx;
            if (mn < self->_global_min) self->_global_min = mn;
            self->close_by_watermark(self->_global_max - self->_lateness_ms);
        });
    }

    // Coordinator, event time: closes every batch whose end the watermark reached.
    void close_by_watermark(int64_t watermark) {
        if (_global_min == INT64_MAX) return;  // no record yet
        // Batch T closes once the watermark has reached T.
        int64_t through = batch_end(watermark) - _batch_ms;
        if (_closes_sent_through == INT64_MIN) {
            // Until the first batch closes, an older record may still arrive
            // and move the first batch earlier: fix it only now.
            int64_t first = batch_end(_global_min);
            if (through < first) return;
            _first_t = first;
            _coord_next = first;
            _closes_sent_through = first - _batch_ms;
        }
        if (through <= _closes_sent_through) return;
        _closes_sent_through = through;
        for (unsigned i = 0; i < _shards; i++)
            _parts[0].shard->submit_to(i, [self = shared_from_this(), i, through, first = _first_t] {
                auto& p = self->_parts[i];
                if (p.closed_through == INT64_MIN) p.closed_through = first - self->_batch_ms;
                self->take_all(i);
                self->close_through(i, through);
            });
    }

    // On shard `shard`: closes every batch ending at or before `through` and
    // sends its parts (the end-of-batch markers).
    void close_through(unsigned shard, int64_t through) {
        auto& p = _parts[shard];
        // A jump in time (a record far ahead of the others) would mean
        // emitting every empty batch in between: at most max_gap of them, then
        // skip. Every shard sees the same closes, so all skip alike, and the
        // owners' and coordinator's counts per batch stay consistent.
        if (through - p.closed_through > max_gap * _batch_ms) {
            int64_t skip_to = through - max_gap * _batch_ms;
            if (shard == 0)
                log_warn("stream %s: time jumped %lld batches; batches before %lld are skipped", _name.c_str(),
                         (long long)((through - p.closed_through) / _batch_ms), (long long)skip_to);
            while (!p.open.empty() && p.open.begin()->first <= skip_to) {
                _counters.add(shard, stream_counter::late_event, p.open.begin()->second.events);
                if (p.current == &p.open.begin()->second) p.current = nullptr;
                p.open.erase(p.open.begin());
            }
            p.closed_through = skip_to;
        }
        while (p.closed_through < through) {
            int64_t t = p.closed_through + _batch_ms;
            LocalBatch lb;
            auto it = p.open.find(t);
            if (it != p.open.end()) {
                lb = std::move(it->second);
                if (p.current == &it->second) p.current = nullptr;
                p.open.erase(it);
            }
            send_parts(p, t, lb);
            p.closed_through = t;
        }
        // Batches below the first one the stream emits (records older than the
        // first batch, in event time) are late: counted, not kept.
        while (!p.open.empty() && p.open.begin()->first <= p.closed_through) {
            _counters.add(shard, stream_counter::late_event, p.open.begin()->second.events);
            if (p.current == &p.open.begin()->second) p.current = nullptr;
            p.open.erase(p.open.begin());
        }
    }

    bool keyed_stage() const { return _plan.keyed(); }

    void send_parts(shard_part& p, int64_t t, LocalBatch& lb) {
        unsigned from = p.shard->id();
        if (keyed_stage()) {
            std::vector<std::shared_ptr<Part>> parts(_shards);
            for (unsigned j = 0; j < _shards; j++) {
                parts[j] = std::make_shared<Part>();
                parts[j]->t = t;
                parts[j]->from = from;
            }
            p.last_batch_keys = lb.accs.size();
            p.last_batch_short_keys = lb.short_sums.size();
            if (_short_sums) {
                lb.short_sums.fold_into(lb.accs, _acc_agg);  // the short keys join the others
                lb.short_sums = ShortKeySums();
            }
            if (_shards == 1) {
                parts[0]->accs = std::move(lb.accs);
            } else {
                for (auto& part : parts) part->accs.reserve(lb.accs.size() / _shards + lb.accs.size() / (4 * _shards));
                lb.accs.for_each([&](std::string_view k, uint64_t h, Acc& a) { parts[h % _shards]->accs.find_or_insert(k, h, a); });
            }
            lb.lists.for_each([&](std::string_view k, uint64_t h, std::vector<Num>& l) {
                parts[h % _shards]->lists.emplace_back(std::string(k), h, std::move(l));
            });
            for (unsigned j = 0; j < _shards; j++)
                p.shard->submit_to(j, [self = shared_from_this(), j, part = parts[j]] { self->on_owner_part(j, *part); });
        } else {
            auto part = std::make_shared<Part>();
            part->t = t;
            part->from = from;
            part->count = lb.count;
            part->acc = lb.acc;
            part->records = std::move(lb.records);
            p.shard->submit_to(0, [self = shared_from_this(), part] { self->on_coord_part(*part); });
        }
    }

    // ------------------------------------------------------------ owner

    void on_owner_part(unsigned me, Part& part) {
        auto& p = _parts[me];
        OwnerBatch& ob = p.owner[part.t];
        Agg agg = acc_agg();
        if (ob.accs.empty())
            ob.accs = std::move(part.accs);  // the first part (the only one with one shard) is adopted whole
        else
            part.accs.for_each([&](std::string_view k, uint64_t h, Acc& a) { ob.accs.find_or_insert(k, h, Acc{}).merge(agg, a); });
        // Lists are appended in shard order so value order does not depend on
        // which shard's part came first.
        for (auto& [k, h, l] : part.lists) (void)ob.lists.find_or_insert(k, h, {});
        p.pending_lists[part.t].emplace_back(part.from, std::move(part.lists));
        if (++ob.parts < _shards) return;
        // Every part is in: batches complete in order (each shard sends in order).
        auto lists_by_shard = std::move(p.pending_lists[part.t]);
        p.pending_lists.erase(part.t);
        std::sort(lists_by_shard.begin(), lists_by_shard.end(), [](auto& a, auto& b) { return a.first < b.first; });
        for (auto& [from, lists] : lists_by_shard)
            for (auto& [k, h, l] : lists) {
                auto& dst = ob.lists.find_or_insert(k, h, {});
                dst.insert(dst.end(), l.begin(), l.end());
            }
        OwnerBatch done = std::move(ob);
        p.owner.erase(part.t);
        owner_batch(me, part.t, done);
    }

    void owner_batch(unsigned me, int64_t t, OwnerBatch& ob) {
        auto& p = _parts[me];
        auto rows = std::make_shared<std::vector<Row>>();
        bool emit = true;
        switch (_plan.stage) {
        case Stage::count_by_value:
        case Stage::reduce_by_key:
            ob.accs.for_each([&](std::string_view k, uint64_t, Acc& a) { rows->push_back({std::string(k), a.result(_plan.agg), {}, false}); });
            break;
        case Stage::group_by_key:
            ob.lists.for_each([&](std::string_view k, uint64_t, std::vector<Num>& l) { rows->push_back({std::string(k), {}, l, true}); });
            break;
        case Stage::reduce_by_key_window: emit = window_step(p, t, ob, *rows); break;
        case Stage::group_by_key_window: emit = group_window_step(p, t, ob, *rows); break;
        case Stage::update_state: state_step(p, t, ob, *rows); break;
        default: break;
        }
        _counters.set(me, stream_counter::keys_held, keys_held(p));
        _counters.set(me, stream_counter::state_bytes, state_bytes(p));
        p.shard->submit_to(0, [self = shared_from_this(), t, rows, emit] { self->on_owner_rows(t, *rows, emit); });
    }

    uint64_t keys_held(shard_part& p) const {
        if (_plan.stage == Stage::update_state) return p.state.size();
        if (_plan.inverse) return p.window_value.size();
        size_t n = 0;
        for (auto& [t, tab] : p.window_accs) n += tab.size();
        return n;
    }

    // Memory held between batches for windows and state on this owner shard.
    static uint64_t state_bytes(shard_part& p) {
        size_t n = p.window_value.memory_bytes() + p.state.memory_bytes();
        for (auto& [t, tab] : p.window_accs) n += tab.memory_bytes();
        for (auto& [t, tab] : p.window_lists) n += tab.memory_bytes();
        return n;
    }

    bool window_due(int64_t t) const { return t % _plan.slide_ms == 0; }

    bool window_step(shard_part& p, int64_t t, OwnerBatch& ob, std::vector<Row>& rows) {
        const WindowSpec spec{_plan.window_ms, _plan.slide_ms, _plan.agg, _plan.inverse, _plan.drop_zero};
        return reduce_window_step(p.window_accs, p.window_value, t, std::move(ob.accs), spec,
                                  [&](std::string_view k, Num v) { rows.push_back({std::string(k), v, {}, false}); });
    }

    bool group_window_step(shard_part& p, int64_t t, OwnerBatch& ob, std::vector<Row>& rows) {
        const int64_t w = _plan.window_ms;
        p.window_lists.emplace(t, std::move(ob.lists));
        bool due = window_due(t);
        if (due) {
            KeyTable<std::vector<Num>> merged(64);
            for (auto& [bt, tab] : p.window_lists)
                if (bt > t - w && bt <= t)
                    tab.for_each([&](std::string_view k, uint64_t h, std::vector<Num>& l) {
                        auto& dst = merged.find_or_insert(k, h, {});
                        dst.insert(dst.end(), l.begin(), l.end());
                    });
            merged.for_each([&](std::string_view k, uint64_t, std::vector<Num>& l) { rows.push_back({std::string(k), {}, l, true}); });
        }
        while (!p.window_lists.empty() && p.window_lists.begin()->first <= t - w) p.window_lists.erase(p.window_lists.begin());
        return due;
    }

    void state_step(shard_part& p, int64_t t, OwnerBatch& ob, std::vector<Row>& rows) {
        Agg agg = acc_agg();
        if (_plan.state_fn == StateFn::ewma) {
            ob.lists.for_each([&](std::string_view k, uint64_t h, std::vector<Num>& l) {
                StateEntry& e = p.state.find_or_insert(k, h, StateEntry{});
                for (Num x : l) {
                    e.ewma = e.has_ewma ? _plan.alpha * e.ewma + (1 - _plan.alpha) * x.as_double() : x.as_double();
                    e.has_ewma = true;
                }
                e.last_update = t;
            });
        } else {
            ob.accs.for_each([&](std::string_view k, uint64_t h, Acc& a) {
                StateEntry& e = p.state.find_or_insert(k, h, StateEntry{});
                e.acc.merge(agg, a);
                e.last_update = t;
            });
        }
        if (_plan.ttl_ms > 0)
            p.state.remove_if([&](std::string_view, StateEntry& e) { return t - e.last_update >= _plan.ttl_ms; });
        p.state.for_each([&](std::string_view k, uint64_t, StateEntry& e) {
            Num v = _plan.state_fn == StateFn::ewma ? Num::of_double(e.ewma) : e.acc.result(agg);
            rows.push_back({std::string(k), v, {}, false});
        });
    }

    // ------------------------------------------------------------ coordinator

    void on_owner_rows(int64_t t, std::vector<Row>& rows, bool emit) {
        CoordBatch& cb = _coord[t];
        for (auto& r : rows) cb.rows.push_back(std::move(r));
        if (!emit) cb.rows.clear();
        if (++cb.parts < _shards) return;
        emit_ready();
    }

    void on_coord_part(Part& part) {
        CoordBatch& cb = _coord[part.t];
        if (cb.records.size() < _shards) cb.records.resize(_shards);
        cb.count += part.count;
        cb.acc.merge(_plan.agg, part.acc);
        cb.records[part.from] = std::move(part.records);
        if (++cb.parts < _shards) return;
        emit_ready();
    }

    // Emits complete batches in time order.
    void emit_ready() {
        while (!_coord.empty()) {
            auto it = _coord.begin();
            if (it->second.parts < _shards) break;
            int64_t t = it->first;
            CoordBatch cb = std::move(it->second);
            _coord.erase(it);
            emit_batch(t, cb);
            _counters.add(0, stream_counter::batches_closed);
            _emitted_through = t;
        }
        flush_pending();
        maybe_finished();
    }

    void emit_batch(int64_t t, CoordBatch& cb) {
        switch (_plan.stage) {
        case Stage::count: emit_value(t, Num::of_int(cb.count)); return;
        case Stage::reduce:
            if (cb.acc.n > 0) emit_value(t, cb.acc.result(_plan.agg));
            return;
        case Stage::records:
            for (auto& per_shard : cb.records)
                for (auto& r : per_shard) emit_text(t, r);
            return;
        case Stage::count_by_window:
        case Stage::reduce_by_window:
        case Stage::window_records: global_window(t, cb); return;
        default: break;
        }
        // Keyed: post operators, then key order (or topK order).
        std::vector<Row>& rows = cb.rows;
        if (!_plan.post_ops.empty()) {
            std::vector<Row> kept;
            for (auto& r : rows) {
                bool keep = true;
                for (const auto& op : _plan.post_ops) {
                    if (r.has_list) continue;
                    if (op.kind == RecordOp::Kind::map_values) r.value = apply_num_fn(op.num_fn, r.value);
                    else if (op.kind == RecordOp::Kind::filter_values && !value_pred(op.pred, r.value)) keep = false;
                }
                if (keep) kept.push_back(std::move(r));
            }
            rows = std::move(kept);
        }
        if (_plan.top_k > 0) {
            std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
                if (a.value == b.value) return a.key < b.key;
                return b.value < a.value;
            });
            if (rows.size() > size_t(_plan.top_k)) rows.resize(size_t(_plan.top_k));
        } else {
            std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.key < b.key; });
        }
        for (auto& r : rows) emit_row(t, r);
    }

    void global_window(int64_t t, CoordBatch& cb) {
        _gwin.emplace(t, std::move(cb));
        const int64_t w = _plan.window_ms;
        if (window_due(t)) {
            int64_t count = 0;
            Acc acc;
            bool any = false;
            for (auto& [bt, b] : _gwin) {
                if (bt <= t - w || bt > t) continue;
                count += b.count;
                acc.merge(_plan.agg, b.acc);
                if (_plan.stage == Stage::window_records)
                    for (auto& per_shard : b.records)
                        for (auto& r : per_shard) emit_text(t, r);
            }
            if (_plan.stage == Stage::count_by_window) {
                if (count > 0) _seen_record = true;
                // Spark: nothing before the first record ever, then 0 for empty windows.
                if (_seen_record) emit_value(t, Num::of_int(count));
            } else if (_plan.stage == Stage::reduce_by_window) {
                if (acc.n > 0) emit_value(t, acc.result(_plan.agg));
                any = true;
            }
            (void)any;
        }
        while (!_gwin.empty() && _gwin.begin()->first <= t - w) _gwin.erase(_gwin.begin());
    }

    // ------------------------------------------------------------ output

    void emit_value(int64_t t, Num v) {
        std::string body;
        if (_json) {
            body = "{\"time\":" + std::to_string(t) + ",\"value\":";
            append_num(body, v);
            body += "}";
        } else {
            append_num(body, v);
        }
        add_result(t, nullptr, body);
    }

    void emit_text(int64_t t, const std::string& text) {
        if (_json) {
            std::string body = "{\"time\":" + std::to_string(t) + ",\"value\":";
            append_json_string(body, text);
            body += "}";
            add_result(t, nullptr, body);
        } else {
            add_result(t, nullptr, text);
        }
    }

    void emit_row(int64_t t, const Row& r) {
        std::string body;
        if (_json) {
            body = "{\"time\":" + std::to_string(t) + ",\"key\":";
            append_json_string(body, r.key);
            body += ",\"value\":";
            if (r.has_list) {
                body += '[';
                for (size_t i = 0; i < r.list.size(); i++) {
                    if (i) body += ',';
                    append_num(body, r.list[i]);
                }
                body += ']';
            } else {
                append_num(body, r.value);
            }
            body += '}';
        } else {
            body = r.key;
            body += '\t';
            if (r.has_list) {
                for (size_t i = 0; i < r.list.size(); i++) {
                    if (i) body += ',';
                    append_num(body, r.list[i]);
                }
            } else {
                append_num(body, r.value);
            }
        }
        add_result(t, &r.key, body);
    }

    static void append_json_string(std::string& out, std::string_view s) {
        out += '"';
        for (unsigned char c : s) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    snprintf(buf, sizeof(buf), "\\u%04x", c);
                    out += buf;
                } else {
                    out += char(c);
                }
            }
        }
        out += '"';
    }

    void add_result(int64_t t, const std::string* key, const std::string& body) {
        if (!_building) {
            _building = std::make_shared<EventBatch>();
            _building->set_received_us(wall_clock_us());
        }
        _building->add(body);
        _building->add_header("stream", _name);
        _building->add_header("time", std::to_string(t));
        if (key) _building->add_header("key", *key);
        _counters.add(0, stream_counter::results_emitted);
    }

    // Puts results into the output channels, a transaction at a time; a full
    // channel holds them back (retried on a timer), never drops them.
    void flush_pending() {
        if (_building && !_building->empty()) {
            _pending.push_back(EventSpan{_building, 0, _building->size()});
            _building.reset();
        }
        while (!_pending.empty()) {
            EventSpan& head = _pending.front();
            uint32_t n = std::min(head.size(), _processor->max_batch());
            EventSpan span{head.batch, head.begin, head.begin + n};
            Status st = _processor->put(span, _progress);
            if (!st) {
                if (!_retry_timer) {
                    // A slow sink keeps the output full again and again: say so
                    // at most every 10 s.
                    int64_t now = monotonic_us();
                    if (now - _last_full_warning_us >= 10000000) {
                        log_warn("stream %s: output channel full (%s); holding results", _name.c_str(), st.message().c_str());
                        _last_full_warning_us = now;
                    }
                    std::weak_ptr<StreamImpl> weak = weak_from_this();
                    _retry_timer = _parts[0].shard->add_timer(10000, [weak] {
                        if (auto self = weak.lock()) {
                            self->_retry_timer = 0;
                            self->flush_pending();
                            self->maybe_finished();
                        }
                    });
                }
                return;
            }
            _progress.reset();
            head.begin += n;
            if (head.size() == 0) _pending.pop_front();
        }
    }

    void maybe_finished() {
        if (!_finish_done || !_pending.empty() || _building) return;
        if (_emitted_through < _finish_through) return;
        auto done = std::move(_finish_done);
        _finish_done = nullptr;
        done();
    }

    std::string _name;
    Channel& _input;
    std::vector<Channel*> _outputs;
    CounterGroup& _counters;
    Plan _plan;
    unsigned _shards;
    int64_t _batch_ms = 1000;
    bool _event_time = false, _json = false;
    std::string _time_header;
    int64_t _lateness_ms = 0;
    int64_t _first_t = 0;
    bool _uses_lists = false;
    Agg _acc_agg = Agg::sum;
    bool _short_sums = false;  // integer sums and counts of short keys go to ShortKeySums

    std::vector<shard_part> _parts;

    // Coordinator (shard 0) only.
    std::map<int64_t, CoordBatch> _coord;
    std::map<int64_t, CoordBatch> _gwin;
    int64_t _coord_next = 0;
    int64_t _global_max = INT64_MIN, _global_min = INT64_MAX;
    int64_t _closes_sent_through = INT64_MIN;
    int64_t _emitted_through = INT64_MIN;
    int64_t _finish_through = INT64_MAX;
    bool _seen_record = false;
    std::unique_ptr<ChannelProcessor> _processor;
    ChannelProcessor::Progress _progress;
    std::shared_ptr<EventBatch> _building;
    std::deque<EventSpan> _pending;
    TimerId _retry_timer = 0;
    int64_t _last_full_warning_us = INT64_MIN / 2;
    Task _finish_done;
    unsigned _final_reports = 0;
};

}  // namespace

ComponentDescriptor stream_descriptor(const UserFunctions* user) {
    ComponentDescriptor d;
    d.kind = ComponentKind::stream;
    d.type = "stream";
    d.description = "Spark Streaming operators over the events of a channel (docs/streams.md).";
    d.check = [user](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        auto batch = parse_duration_ms(s.get_string("batch"), 1);
        if (!batch || batch.value() <= 0) {
            problems.emplace_back("batch", "expected a positive duration such as 1s, got '" + s.get_string("batch") + "'");
            return;
        }
        if (!s.has("ops")) problems.emplace_back("ops", "required key is missing");
        else if (auto plan = compile_pipeline(s.get_string("ops"), batch.value(), user); !plan)
            problems.emplace_back("ops", plan.status().message());
        std::string time = s.get_string("time");
        if (time != "processing" && time != "event")
            problems.emplace_back("time", "expected processing or event, got '" + time + "'");
        if (auto w = parse_duration_ms(s.get_string("watermark"), 1); !w)
            problems.emplace_back("watermark", w.status().message());
        std::string format = s.get_string("format");
        if (format != "tsv" && format != "json") problems.emplace_back("format", "expected tsv or json, got '" + format + "'");
        if (!s.has("channel")) problems.emplace_back("channel", "required key is missing");
        if (!s.has("channels")) problems.emplace_back("channels", "required key is missing");
    };
    d.make_stream = [user](StreamContext& ctx) -> Result<std::unique_ptr<Stream>> {
        auto batch = parse_duration_ms(ctx.settings.get_string("batch"), 1);
        if (!batch) return batch.status();
        auto plan = compile_pipeline(ctx.settings.get_string("ops"), batch.value(), user);
        if (!plan) return plan.status();
        // Held by shared_ptr so cross-shard tasks can keep it alive; the agent
        // owns it through this wrapper.
        struct holder final : Stream {
            std::shared_ptr<StreamImpl> impl;
            Status start_shard(Shard& s) override { return impl->start_shard(s); }
            void finish(Task done) override { impl->finish(std::move(done)); }
            void advance_event_time(int64_t ms) override { impl->advance_event_time(ms); }
            void stop_shard(Shard& s) override { impl->stop_shard(s); }
        };
        auto h = std::make_unique<holder>();
        h->impl = std::make_shared<StreamImpl>(ctx, std::move(plan.value()));
        return std::unique_ptr<Stream>(std::move(h));
    };
    return d;
}

}  // namespace sluice::ops
