// SPDX-License-Identifier: Apache-2.0
// The `kafka` channel: Flume's KafkaChannel (reference/flume.md §8.4) on
// librdkafka (docs/kafka.md §3).
//
// Per shard, created on the shard's thread when first used: a producer (for
// puts) and a consumer in the channel's group (for takes, created when the
// shard first takes or listens). A put transaction produces its events when
// it commits; the commit is durable (commit_mark / when_durable) once the
// broker acknowledged every record of it. A failed record is produced again
// (never dropped). A take consumes from the shard's consumer; its offsets are
// committed when it commits, in the order the takes began; a rolled back take
// seeks its partitions back so its records are read again.
//
// Threads: a shard poller serves delivery reports, reads the consumer queue
// ahead into a small buffer, and tells the channel's listeners; librdkafka's
// threads wake the shard when either queue gets something. stop() runs on
// the agent's thread after every source and sink stopped: the poller and
// stop() share a per-shard mutex.
#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>

#include "core/assert.h"
#include "core/component.h"
#include "core/log.h"
#include "core/runtime.h"
#include "io/components.h"
#include "io/kafka_common.h"

namespace sluice {

namespace {

constexpr uint32_t channel_tx_capacity = 10000;
constexpr size_t read_ahead = 10000;          // records buffered per shard before a take asks
constexpr int64_t max_unacknowledged = 200000;  // records produced and not acknowledged, per shard
constexpr int64_t retry_every_us = 200000;

struct kafka_channel_options {
    std::string bootstrap, topic, group, partition_header;
    int32_t default_partition = RD_KAFKA_PARTITION_UA;
    bool flume_format = true;
    std::vector<std::pair<std::string, std::string>> producer_props, consumer_props;
};

using partition_key = std::pair<std::string, int32_t>;

struct put_batch {
    uint64_t mark = 0;
    uint32_t events = 0;
    uint32_t pending = 0;
    int64_t started_us = monotonic_us();  // for KafkaEventSendTimer
    std::vector<EventSpan> spans;  // keeps the bodies alive until acknowledged
};

struct failed_record {
    put_batch* batch;
    std::string topic, key, value;
    int32_t partition;
    bool has_key;
};

struct open_take {
    uint64_t id = 0;
    std::map<partition_key, int64_t> first, next;  // offsets of its records
    uint32_t events = 0;
    bool done = false;
};

struct shard_part {
    std::mutex mu;  // the poller (shard thread) against stop() (agent thread)
    bool stopped = false;
    Shard* shard = nullptr;
    std::string name;
    RdKafkaPtr producer, consumer;
    RdQueuePtr producer_queue, consumer_queue;
    std::atomic<bool> consumer_ready{false};
    PollerId poller = 0;
    std::weak_ptr<shard_part> self;
    TimerId retry_timer = 0;
    bool retry_due = false;

    uint64_t put_mark = 0, durable_mark = 0;
    std::deque<std::unique_ptr<put_batch>> puts;
    std::deque<std::pair<uint64_t, std::function<void()>>> waiters;
    std::vector<failed_record> failed;
    int64_t last_failure_us = 0, last_failure_log_us = 0;
    int64_t unacknowledged = 0;
    MsTimer get_timer, send_timer, commit_timer;

    std::deque<rd_kafka_message_t*> buffered;
    std::atomic<uint64_t> buffered_count{0};
    std::vector<std::function<void()>> listeners;
    std::deque<open_take> takes;
    uint64_t next_take_id = 1;

    ~shard_part() { clear_buffered(); }
    void clear_buffered() {
        for (auto* m : buffered) rd_kafka_message_destroy(m);
        buffered.clear();
        buffered_count.store(0, std::memory_order_relaxed);
    }
};

class KafkaPut;
class KafkaTake;

class KafkaChannel final : public Channel {
public:
    KafkaChannel(ChannelContext& ctx, kafka_channel_options opts)
        : Channel(ctx.settings.name(), ctx.shards), _counters(ctx.counters), _opts(std::move(opts)) {
        for (unsigned i = 0; i < ctx.shards; i++) {
            _parts.push_back(std::make_shared<shard_part>());
            _parts.back()->name = name();
            _parts.back()->self = _parts.back();
        }
        ctx.counters.set_gauges([this](auto& out) {
            out.emplace_back("ChannelSize", std::to_string(size()));
        });
    }
    ~KafkaChannel() override { stop(); }

    std::unique_ptr<PutTransaction> begin_put(unsigned shard) override;
    std::unique_ptr<TakeTransaction> begin_take(unsigned shard) override;
    void on_available(unsigned shard, std::function<void()> fn) override {
        shard_part& p = part(shard);
        (void)ensure_consumer(p);
        p.listeners.push_back(std::move(fn));
    }
    uint32_t transaction_capacity() const override { return channel_tx_capacity; }
    int64_t keep_alive_ms() const override { return 3000; }
    uint64_t size() const override { return uint64_t(std::max<int64_t>(_held.load(std::memory_order_relaxed), 0)); }
    uint64_t slice_size(unsigned shard) const override {
        return _parts[shard]->buffered_count.load(std::memory_order_relaxed);
    }
    uint64_t commit_mark(unsigned shard) const override { return _parts[shard]->put_mark; }
    void when_durable(unsigned shard, uint64_t mark, std::function<void()> fn) override {
        shard_part& p = *_parts[shard];
        if (p.durable_mark >= mark) {
            fn();
            return;
        }
        p.waiters.emplace_back(mark, std::move(fn));
    }

    void stop() override {
        for (auto& pp : _parts) {
            shard_part& p = *pp;
            std::lock_guard lk(p.mu);
            if (p.stopped) continue;
            p.stopped = true;
            // Sources are gone: nobody waits for durability any more.
            p.waiters.clear();
            if (p.producer) {
                if (p.producer_queue) rd_kafka_queue_cb_event_enable(p.producer_queue.get(), nullptr, nullptr);
                int64_t deadline = monotonic_us() + 10000000;
                while ((!p.puts.empty() || !p.failed.empty()) && monotonic_us() < deadline) {
                    retry_failed(p, true);
                    rd_kafka_poll(p.producer.get(), 50);
                    settle_puts(p);
                }
                if (!p.puts.empty())
                    log_warn("kafka channel %s: stopping with events not acknowledged by the broker", name().c_str());
                p.puts.clear();
                p.failed.clear();
                p.producer_queue.reset();
                p.producer.reset();
            }
            if (p.consumer) {
                rd_kafka_queue_cb_event_enable(p.consumer_queue.get(), nullptr, nullptr);
                p.clear_buffered();
                rd_kafka_consumer_close(p.consumer.get());
                p.consumer_queue.reset();
                p.consumer.reset();
            }
        }
    }

private:
    friend class KafkaPut;
    friend class KafkaTake;

    // ---- used by the transactions (shard thread)
    shard_part& part(unsigned shard) {
        shard_part& p = *_parts[shard];
        if (!p.shard) {
            Shard* cur = Shard::current();
            SLUICE_ASSERT(cur && cur->id() == shard, "kafka channel used off its shard's thread");
            p.shard = cur;
            std::weak_ptr<shard_part> weak = _parts[shard];
            p.poller = cur->add_poller([this, weak] {
                auto sp = weak.lock();
                return sp ? poll(*sp) : false;
            });
        }
        return p;
    }

    Status ensure_producer(shard_part& p) {
        if (p.producer) return Status::ok();
        const std::string who = "kafka channel " + name();
        auto conf = make_rdkafka_conf(who, "kafka.producer.", {});
        if (!conf) return conf.status();
        rd_kafka_conf_t* c = conf->get();
        if (Status st = set_rdkafka(c, who, "kafka.bootstrap.servers", "bootstrap.servers", _opts.bootstrap); !st)
            return st;
        if (Status st = set_rdkafka(c, who, "kafka.producer.partitioner", "partitioner", "murmur2_random"); !st) return st;
        if (Status st = set_rdkafka(c, who, "kafka.producer.acks", "acks", "all"); !st) return st;
        for (const auto& [property, value] : _opts.producer_props)
            if (Status st = set_rdkafka(c, who, "kafka.producer." + property, property, value); !st) return st;
        rd_kafka_conf_set_opaque(c, &p);
        rd_kafka_conf_set_dr_msg_cb(c, [](rd_kafka_t* rk, const rd_kafka_message_t* m, void*) {
            on_report(*static_cast<shard_part*>(rd_kafka_opaque(rk)), m);
        });
        char err[512];
        rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
        if (!rk) return Status(errc::config, who + ": " + err);
        (void)conf->release();
        p.producer.reset(rk);
        p.producer_queue.reset(rd_kafka_queue_get_main(rk));
        rd_kafka_queue_cb_event_enable(p.producer_queue.get(), [](rd_kafka_t*, void* reactor) {
            static_cast<Reactor*>(reactor)->wake();
        }, &p.shard->reactor());
        return Status::ok();
    }

    Status ensure_consumer(shard_part& p) {
        if (p.consumer) return Status::ok();
        const std::string who = "kafka channel " + name();
        auto conf = make_rdkafka_conf(who, "kafka.consumer.", {});
        if (!conf) return conf.status();
        rd_kafka_conf_t* c = conf->get();
        const std::pair<std::string, std::string> fixed[] = {
            {"bootstrap.servers", _opts.bootstrap},
            {"group.id", _opts.group},
            {"enable.auto.commit", "false"},
            {"enable.auto.offset.store", "false"},
        };
        for (const auto& [property, value] : fixed)
            if (Status st = set_rdkafka(c, who, property, property, value); !st) return st;
        for (const auto& [property, value] : _opts.consumer_props) {
            if (property == "enable.auto.commit" || property == "enable.auto.offset.store") continue;
            if (Status st = set_rdkafka(c, who, "kafka.consumer." + property, property, value); !st) return st;
        }
        rd_kafka_conf_set_opaque(c, &p);
        rd_kafka_conf_set_rebalance_cb(c, [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                             rd_kafka_topic_partition_list_t* parts, void*) {
            on_rebalance(*static_cast<shard_part*>(rd_kafka_opaque(rk)), rk, err, parts);
        });
        rd_kafka_conf_set_offset_commit_cb(c, [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                                 rd_kafka_topic_partition_list_t*, void*) {
            if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                log_warn("kafka channel %s: offset commit failed: %s",
                         static_cast<shard_part*>(rd_kafka_opaque(rk))->name.c_str(), rd_kafka_err2str(err));
        });
        char err[512];
        rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        if (!rk) return Status(errc::config, who + ": " + err);
        (void)conf->release();
        p.consumer.reset(rk);
        rd_kafka_poll_set_consumer(rk);
        p.consumer_queue.reset(rd_kafka_queue_get_consumer(rk));
        p.consumer_ready = true;
        rd_kafka_queue_cb_event_enable(p.consumer_queue.get(), [](rd_kafka_t* rk, void*) {
            auto* part = static_cast<shard_part*>(rd_kafka_opaque(rk));
            part->consumer_ready.store(true, std::memory_order_relaxed);
            part->shard->reactor().wake();
        }, nullptr);
        RdPartitionsPtr topics(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(topics.get(), _opts.topic.c_str(), RD_KAFKA_PARTITION_UA);
        if (rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics.get()); e)
            return Status(errc::config, who + ": cannot subscribe: " + rd_kafka_err2str(e));
        return Status::ok();
    }

    // Produces the events of a committed put; channel_full (nothing produced)
    // when too much is waiting for the broker.
    Status produce(shard_part& p, const std::vector<EventSpan>& spans, uint32_t events) {
        if (events == 0) return Status::ok();
        if (Status st = ensure_producer(p); !st) return st;
        if (p.unacknowledged + events > max_unacknowledged)
            return Status(errc::channel_full, "kafka channel " + name() + ": the broker is not keeping up (" +
                                                  std::to_string(p.unacknowledged) + " records unacknowledged)");
        auto b = std::make_unique<put_batch>();
        b->mark = ++p.put_mark;
        b->events = events;
        b->spans = spans;
        put_batch* batch = b.get();
        p.puts.push_back(std::move(b));
        p.unacknowledged += events;
        _held.fetch_add(events, std::memory_order_relaxed);
        std::string value;
        for (const auto& span : batch->spans) {
            for (uint32_t i = 0; i < span.size(); i++) {
                EventView e = span[i];
                int32_t partition = _opts.default_partition;
                std::string_view v;
                if (!_opts.partition_header.empty() && e.find_header(_opts.partition_header, &v)) {
                    char* end = nullptr;
                    std::string s(v);
                    long n = strtol(s.c_str(), &end, 10);
                    if (end && *end == 0 && !s.empty() && n >= 0 && n <= INT32_MAX) partition = int32_t(n);
                }
                std::string_view key;
                bool has_key = e.find_header("key", &key);
                const char* payload = e.body().data();
                size_t len = e.body().size();
                int flags = 0;
                if (_opts.flume_format) {
                    value.clear();
                    encode_flume_event(e, value);
                    payload = value.data();
                    len = value.size();
                    flags = RD_KAFKA_MSG_F_COPY;
                }
                batch->pending++;
                rd_kafka_resp_err_t err = rd_kafka_producev(
                    p.producer.get(), RD_KAFKA_V_TOPIC(_opts.topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                    RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_VALUE(const_cast<char*>(payload), len),
                    RD_KAFKA_V_KEY(has_key ? key.data() : nullptr, has_key ? key.size() : 0),
                    RD_KAFKA_V_OPAQUE(batch), RD_KAFKA_V_END);
                if (err) {
                    // Not queued: keep it and produce it again later.
                    p.failed.push_back({batch, _opts.topic, std::string(key), std::string(payload, len), partition, has_key});
                    note_failure(p, err);
                }
            }
        }
        return Status::ok();
    }

    static void note_failure(shard_part& p, rd_kafka_resp_err_t err) {
        int64_t now = monotonic_us();
        p.last_failure_us = now;
        // Nothing else may wake the shard: a timer brings the retry.
        if (!p.stopped && !p.retry_timer && !p.self.expired()) {
            std::weak_ptr<shard_part> weak = p.self;
            p.retry_timer = p.shard->add_timer(retry_every_us, [weak] {
                if (auto sp = weak.lock()) {
                    sp->retry_timer = 0;
                    sp->shard->reactor().wake();
                    sp->retry_due = true;
                }
            });
        }
        if (now - p.last_failure_log_us > 5000000) {
            p.last_failure_log_us = now;
            log_error("kafka channel %s: producing failed: %s (retrying)", p.name.c_str(), rd_kafka_err2str(err));
        }
    }

    static void on_report(shard_part& p, const rd_kafka_message_t* m) {
        auto* batch = static_cast<put_batch*>(m->_private);
        if (m->err) {
            std::string key = m->key ? std::string(static_cast<const char*>(m->key), m->key_len) : std::string();
            p.failed.push_back({batch, rd_kafka_topic_name(m->rkt),
                                key, std::string(static_cast<const char*>(m->payload), m->len), m->partition,
                                m->key != nullptr});
            note_failure(p, m->err);
            return;
        }
        batch->pending--;
    }

    void retry_failed(shard_part& p, bool now) {
        if (p.failed.empty() || (!now && monotonic_us() - p.last_failure_us < retry_every_us)) return;
        auto failed = std::move(p.failed);
        p.failed.clear();
        for (auto& f : failed) {
            rd_kafka_resp_err_t err = rd_kafka_producev(
                p.producer.get(), RD_KAFKA_V_TOPIC(f.topic.c_str()), RD_KAFKA_V_PARTITION(f.partition),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(f.value.data(), f.value.size()),
                RD_KAFKA_V_KEY(f.has_key ? f.key.data() : nullptr, f.has_key ? f.key.size() : 0),
                RD_KAFKA_V_OPAQUE(f.batch), RD_KAFKA_V_END);
            if (err) {
                p.failed.push_back(std::move(f));
                note_failure(p, err);
            }
        }
    }

    void settle_puts(shard_part& p) {
        bool advanced = false;
        while (!p.puts.empty() && p.puts.front()->pending == 0) {
            p.send_timer.add(_counters, p.shard->id(), kafka_counter::channel_event_send_timer,
                             monotonic_us() - p.puts.front()->started_us);
            p.durable_mark = p.puts.front()->mark;
            p.unacknowledged -= p.puts.front()->events;
            _held.fetch_sub(p.puts.front()->events, std::memory_order_relaxed);
            p.puts.pop_front();
            advanced = true;
        }
        if (!advanced) return;
        while (!p.waiters.empty() && p.waiters.front().first <= p.durable_mark) {
            auto fn = std::move(p.waiters.front().second);
            p.waiters.pop_front();
            fn();
        }
    }

    static void on_rebalance(shard_part& p, rd_kafka_t* rk, rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* parts) {
        bool cooperative = std::string_view(rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE";
        log_info("kafka channel %s: shard %u %s %d partition(s)", p.name.c_str(), p.shard->id(),
                 err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? "assigned" : "revoked", parts->cnt);
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            if (cooperative) {
                if (rd_kafka_error_t* e = rd_kafka_incremental_assign(rk, parts)) rd_kafka_error_destroy(e);
            } else {
                rd_kafka_assign(rk, parts);
            }
            return;
        }
        // Records read ahead but not taken are read again by the next owner.
        p.clear_buffered();
        if (cooperative) {
            if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(rk, parts)) rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(rk, nullptr);
        }
    }

    // Reads the consumer queue into the buffer (serving rebalances too).
    bool read_ahead_records(shard_part& p, size_t want) {
        if (!p.consumer) return false;
        bool got = false;
        while (p.buffered.size() < want) {
            size_t room = std::min<size_t>(want - p.buffered.size(), 1000);
            rd_kafka_message_t* msgs[1000];
            const int64_t t0 = monotonic_us();
            ssize_t n = rd_kafka_consume_batch_queue(p.consumer_queue.get(), 0, msgs, room);
            p.get_timer.add(_counters, p.shard->id(), kafka_counter::channel_event_get_timer, monotonic_us() - t0);
            if (n <= 0) break;
            for (ssize_t i = 0; i < n; i++) {
                if (msgs[i]->err) {
                    if (msgs[i]->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        log_warn("kafka channel %s: %s", name().c_str(), rd_kafka_message_errstr(msgs[i]));
                    rd_kafka_message_destroy(msgs[i]);
                    continue;
                }
                p.buffered.push_back(msgs[i]);
                got = true;
            }
            if (size_t(n) < room) break;
        }
        p.buffered_count.store(p.buffered.size(), std::memory_order_relaxed);
        return got;
    }

    bool poll(shard_part& p) {
        std::unique_lock lk(p.mu);
        if (p.stopped) return false;
        bool did = false;
        if (p.producer && (!p.puts.empty() || !p.failed.empty())) {
            retry_failed(p, p.retry_due);
            p.retry_due = false;
            did |= rd_kafka_poll(p.producer.get(), 0) > 0;
            settle_puts(p);
        }
        if (p.consumer && p.consumer_ready.exchange(false, std::memory_order_relaxed)) {
            if (read_ahead_records(p, read_ahead)) {
                did = true;
                for (auto& fn : p.listeners) fn();
            }
            if (p.buffered.size() >= read_ahead) p.consumer_ready = true;  // more may wait
        }
        return did;
    }

    // Takes up to `max` buffered records into a batch.
    EventSpan take_records(shard_part& p, open_take& t, uint32_t max) {
        if (p.buffered.size() < max) read_ahead_records(p, std::max<size_t>(max, 1000));
        uint32_t n = uint32_t(std::min<size_t>(max, p.buffered.size()));
        auto batch = std::make_shared<EventBatch>(n, size_t(n) * 128);
        batch->set_received_us(wall_clock_us());
        for (uint32_t i = 0; i < n; i++) {
            rd_kafka_message_t* m = p.buffered.front();
            p.buffered.pop_front();
            partition_key tp{rd_kafka_topic_name(m->rkt), m->partition};
            if (!t.first.count(tp)) t.first[tp] = m->offset;
            t.next[tp] = m->offset + 1;
            std::string_view value(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
            if (_opts.flume_format) {
                auto d = decode_flume_event(value);
                if (!d) {
                    log_warn("kafka channel %s: record %s/%d@%lld skipped: %s", name().c_str(), tp.first.c_str(),
                             int(tp.second), (long long)m->offset, d.status().message().c_str());
                } else {
                    batch->add(d->body);
                    for (const auto& [k, v] : d->headers) batch->add_header(k, v);
                }
            } else {
                batch->add(value);
                if (m->key) batch->add_header("key", std::string_view(static_cast<const char*>(m->key), m->key_len));
            }
            rd_kafka_message_destroy(m);
        }
        p.buffered_count.store(p.buffered.size(), std::memory_order_relaxed);
        t.events += batch->size();
        _held.fetch_add(batch->size(), std::memory_order_relaxed);
        return EventSpan{batch, 0, batch->size()};
    }

    void finish_take(shard_part& p, uint64_t id, bool committed) {
        auto it = std::find_if(p.takes.begin(), p.takes.end(), [&](const open_take& t) { return t.id == id; });
        if (it == p.takes.end()) return;
        _held.fetch_sub(it->events, std::memory_order_relaxed);
        if (!committed) {
            // Read its records again: seek each of its partitions back (and
            // those of records read ahead), and commit nothing past them for
            // the takes that began after it.
            std::map<partition_key, int64_t> seek = it->first;
            for (auto* m : p.buffered) {
                partition_key tp{rd_kafka_topic_name(m->rkt), m->partition};
                auto s = seek.find(tp);
                if (s == seek.end() || m->offset < s->second) seek[tp] = m->offset;
            }
            p.clear_buffered();
            for (auto later = std::next(it); later != p.takes.end(); ++later)
                for (const auto& [tp, off] : seek) {
                    later->next.erase(tp);
                    later->first.erase(tp);
                }
            if (!seek.empty() && p.consumer) {
                RdPartitionsPtr list(rd_kafka_topic_partition_list_new(int(seek.size())));
                for (const auto& [tp, off] : seek)
                    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = off;
                if (rd_kafka_error_t* e = rd_kafka_seek_partitions(p.consumer.get(), list.get(), -1)) {
                    log_warn("kafka channel %s: seek failed: %s", name().c_str(), rd_kafka_error_string(e));
                    rd_kafka_error_destroy(e);
                }
            }
            it->next.clear();
        }
        it->done = true;
        // Commit in the order the takes began.
        std::map<partition_key, int64_t> commit;
        while (!p.takes.empty() && p.takes.front().done) {
            for (const auto& [tp, off] : p.takes.front().next) commit[tp] = std::max(commit[tp], off);
            p.takes.pop_front();
        }
        if (!commit.empty() && p.consumer) {
            RdPartitionsPtr list(rd_kafka_topic_partition_list_new(int(commit.size())));
            for (const auto& [tp, off] : commit)
                rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = off;
            const int64_t t0 = monotonic_us();
            rd_kafka_resp_err_t e = rd_kafka_commit(p.consumer.get(), list.get(), 1);
            p.commit_timer.add(_counters, p.shard->id(), kafka_counter::channel_commit_timer, monotonic_us() - t0);
            if (e) log_warn("kafka channel %s: offset commit failed: %s", name().c_str(), rd_kafka_err2str(e));
        }
    }

    CounterGroup& _counters;
    kafka_channel_options _opts;
    std::vector<std::shared_ptr<shard_part>> _parts;
    std::atomic<int64_t> _held{0};  // produced and not acknowledged, plus taken and not committed
};

class KafkaPut final : public PutTransaction {
public:
    KafkaPut(KafkaChannel& c, unsigned shard) : _c(c), _shard(shard) {}
    Status put(const EventSpan& span) override {
        _c._counters.add(_shard, channel_counter::event_put_attempt, span.size());
        if (_size + span.size() > channel_tx_capacity)
            return Status(errc::channel_full, "Put queue for KafkaTransaction of capacity " +
                                                  std::to_string(channel_tx_capacity) + " full");
        _spans.push_back(span);
        _size += span.size();
        return Status::ok();
    }
    Status commit() override {
        shard_part& p = _c.part(_shard);
        if (Status st = _c.produce(p, _spans, _size); !st) return st;
        _c._counters.add(_shard, channel_counter::event_put_success, _size);
        _spans.clear();
        _size = 0;
        return Status::ok();
    }
    void rollback() override {
        _spans.clear();
        _size = 0;
        _c._counters.add(_shard, kafka_counter::channel_rollback_count);
    }
    uint32_t size() const override { return _size; }

private:
    KafkaChannel& _c;
    unsigned _shard;
    std::vector<EventSpan> _spans;
    uint32_t _size = 0;
};

class KafkaTake final : public TakeTransaction {
public:
    KafkaTake(KafkaChannel& c, unsigned shard) : _c(c), _shard(shard), _p(c.part(shard)) {
        _id = _p.next_take_id++;
        open_take t;
        t.id = _id;
        _p.takes.push_back(std::move(t));
    }
    ~KafkaTake() override {
        if (!_ended) rollback();
    }
    uint32_t take(uint32_t max) override {
        _c._counters.add(_shard, channel_counter::event_take_attempt);
        max = std::min(max, channel_tx_capacity - _size);
        if (max == 0 || _ended) return 0;
        if (Status st = _c.ensure_consumer(_p); !st) {
            log_warn("%s", st.message().c_str());
            return 0;
        }
        auto it = std::find_if(_p.takes.begin(), _p.takes.end(), [&](const open_take& t) { return t.id == _id; });
        if (it == _p.takes.end()) return 0;
        EventSpan span = _c.take_records(_p, *it, max);
        if (span.size() == 0) return 0;
        _size += span.size();
        _events.push_back(std::move(span));
        return _events.back().size();
    }
    const std::vector<EventSpan>& events() const override { return _events; }
    uint32_t size() const override { return _size; }
    Status commit() override {
        if (_ended) return Status::ok();
        _ended = true;
        _c._counters.add(_shard, channel_counter::event_take_success, _size);
        _c.finish_take(_p, _id, true);
        _events.clear();
        return Status::ok();
    }
    void rollback() override {
        if (_ended) return;
        _ended = true;
        _c._counters.add(_shard, kafka_counter::channel_rollback_count);
        _c.finish_take(_p, _id, false);
        _events.clear();
    }

private:
    KafkaChannel& _c;
    unsigned _shard;
    shard_part& _p;
    uint64_t _id = 0;
    bool _ended = false;
    std::vector<EventSpan> _events;
    uint32_t _size = 0;
};

std::unique_ptr<PutTransaction> KafkaChannel::begin_put(unsigned shard) {
    SLUICE_ASSERT(shard < _parts.size(), "no such shard");
    return std::make_unique<KafkaPut>(*this, shard);
}
std::unique_ptr<TakeTransaction> KafkaChannel::begin_take(unsigned shard) {
    SLUICE_ASSERT(shard < _parts.size(), "no such shard");
    return std::make_unique<KafkaTake>(*this, shard);
}

}  // namespace

ComponentDescriptor kafka_channel_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::channel;
    d.type = "kafka";
    d.aliases = {"org.apache.flume.channel.kafka.KafkaChannel"};
    d.extra_counters = kafka_channel_counters;
    d.description =
        "Events held in a Kafka topic (librdkafka): a put is durable once the broker acknowledged it; takes consume "
        "in the channel's consumer group and commit their offsets when they commit.";
    d.keys = {
        {"kafka.bootstrap.servers", KeyType::string, "", true, "Kafka brokers, host:port[,host:port...]."},
        {"kafka.topic", KeyType::string, "flume-channel", false, "The topic that holds the events."},
        {"kafka.consumer.group.id", KeyType::string, "flume", false, "Consumer group of the takers."},
        {"parseAsFlumeEvent", KeyType::boolean, "true", false,
         "Records are Avro AvroFlumeEvent datums with the headers (docs/kafka.md); false: the body only."},
        {"pollTimeout", KeyType::duration_ms, "500", false, "Accepted for Flume compatibility.", 0, INT64_MAX, {},
         "sluice never waits in a take (a shard thread must not block): an empty channel returns at once."},
        {"defaultPartitionId", KeyType::integer, "", false,
         "Partition of every record without partitionIdHeader (unset: partitioned by header `key`).", 0, INT32_MAX},
        {"partitionIdHeader", KeyType::string, "", false, "Header holding the partition number of the record."},
        {"kafka.consumer.auto.offset.reset", KeyType::string, "latest", false,
         "Where a group without committed offsets starts: earliest or latest."},
        {"kafka.producer.", KeyType::prefix, "", false, "Passed to the librdkafka producer unchanged."},
        {"kafka.consumer.", KeyType::prefix, "", false, "Passed to the librdkafka consumer unchanged."},
    };
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        check_rdkafka_props(s, "kafka.producer.", problems);
        check_rdkafka_props(s, "kafka.consumer.", problems);
    };
    d.make_channel = [](ChannelContext& ctx) -> Result<std::unique_ptr<Channel>> {
        const auto& s = ctx.settings;
        kafka_channel_options o;
        o.bootstrap = s.get_string("kafka.bootstrap.servers");
        o.topic = s.get_string("kafka.topic");
        o.group = s.get_string("kafka.consumer.group.id");
        o.flume_format = s.get_bool("parseAsFlumeEvent");
        o.partition_header = s.get_string("partitionIdHeader");
        if (s.has("defaultPartitionId")) o.default_partition = int32_t(s.get_int("defaultPartitionId"));
        o.consumer_props.emplace_back("auto.offset.reset", s.get_string("kafka.consumer.auto.offset.reset"));
        for (auto& kv : s.get_prefixed("kafka.producer.")) o.producer_props.push_back(kv);
        for (auto& kv : s.get_prefixed("kafka.consumer.")) o.consumer_props.push_back(kv);
        return std::unique_ptr<Channel>(new KafkaChannel(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
