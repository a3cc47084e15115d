// SPDX-License-Identifier: Apache-2.0
// The `kafka` source: Flume's KafkaSource (reference/flume.md §9) on
// librdkafka (docs/kafka.md).
//
// Which shard consumes: every shard runs one consumer, all in the source's
// consumer group. Kafka then splits the partitions over the shards of every
// sluice node alike (one group member per shard), each shard puts what it
// reads into its own channel slice, and no record crosses shards before the
// stream's own key shuffle. A node with more shards than it gets partitions
// has idle members, which cost nothing but a group slot.
//
// Delivery (at-least-once): auto-commit is off. A batch's offsets are
// committed only from processor.when_durable(), i.e. after the channel
// transaction committed and the channel holds it durably. On a revoke the
// durable offsets of the revoked partitions are committed synchronously,
// the batch read but not yet in the channel is dropped (the next owner reads
// it again), and durable marks of batches read before the revoke are ignored.
//
// Threads: librdkafka's threads wake the shard (queue event callback ->
// Reactor::wake()); a shard poller consumes with non-blocking calls.
#include <algorithm>
#include <map>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"
#include "io/kafka_common.h"

namespace sluice {

namespace {

struct kafka_source_options {
    std::string bootstrap, group, topic_header;
    std::vector<std::string> topics;  // names, or one "^regex"
    uint32_t batch = 1000;
    int64_t batch_duration_ms = 1000;
    bool flume_format = false, set_topic_header = true;
    std::vector<std::pair<std::string, std::string>> consumer_props;
};

using partition_key = std::pair<std::string, int32_t>;
using offset_map = std::map<partition_key, int64_t>;  // next offset to read

constexpr int64_t retry_first_us = 1000;
constexpr int64_t retry_max_us = 100000;

class KafkaSource final : public Source {
public:
    KafkaSource(SourceContext& ctx, kafka_source_options opts)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(opts)), _alive(std::make_shared<KafkaSource*>(this)) {}

    ~KafkaSource() override {
        *_alive = nullptr;
        close();
    }

    Status start() override {
        const std::string who = "kafka source " + _name;
        auto conf = make_rdkafka_conf(who, "kafka.consumer.", {});
        if (!conf) return conf.status();
        rd_kafka_conf_t* c = conf->get();
        const std::pair<const char*, std::string> fixed[] = {
            {"bootstrap.servers", _opts.bootstrap},
            {"group.id", _opts.group},
            {"enable.auto.commit", "false"},
            {"enable.auto.offset.store", "false"},
        };
        for (const auto& [property, value] : fixed)
            if (Status st = set_rdkafka(c, who, property == std::string("bootstrap.servers") ? "kafka.bootstrap.servers"
                                                : property == std::string("group.id") ? "kafka.consumer.group.id"
                                                                                      : std::string(property),
                                        property, value);
                !st)
                return st;
        for (const auto& [property, value] : _opts.consumer_props) {
            if (property == "enable.auto.commit" || property == "enable.auto.offset.store") {
                log_warn("%s: kafka.consumer.%s is ignored: offsets are committed after the channel commit",
                         who.c_str(), property.c_str());
                continue;
            }
            if (Status st = set_rdkafka(c, who, "kafka.consumer." + property, property, value); !st) return st;
        }
        rd_kafka_conf_set_opaque(c, this);
        rd_kafka_conf_set_rebalance_cb(c, [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                             rd_kafka_topic_partition_list_t* parts, void*) {
            static_cast<KafkaSource*>(rd_kafka_opaque(rk))->on_rebalance(err, parts);
        });
        rd_kafka_conf_set_offset_commit_cb(c, [](rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                                 rd_kafka_topic_partition_list_t*, void*) {
            if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                static_cast<KafkaSource*>(rd_kafka_opaque(rk))->on_commit_error(err);
        });
        rd_kafka_conf_set_error_cb(c, [](rd_kafka_t* rk, int err, const char* reason, void*) {
            log_warn("kafka source %s: %s: %s", static_cast<KafkaSource*>(rd_kafka_opaque(rk))->_name.c_str(),
                     rd_kafka_err2name(rd_kafka_resp_err_t(err)), reason);
        });
        char err[512];
        rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        if (!rk) return Status(errc::config, who + ": " + err);
        (void)conf->release();
        _rk.reset(rk);
        rd_kafka_poll_set_consumer(rk);
        _queue.reset(rd_kafka_queue_get_consumer(rk));
        rd_kafka_queue_cb_event_enable(_queue.get(), [](rd_kafka_t*, void* reactor) {
            static_cast<Reactor*>(reactor)->wake();
        }, &_shard.reactor());

        RdPartitionsPtr topics(rd_kafka_topic_partition_list_new(int(_opts.topics.size())));
        for (const auto& t : _opts.topics) rd_kafka_topic_partition_list_add(topics.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
        if (rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics.get()); e)
            return Status(errc::config, who + ": cannot subscribe: " + rd_kafka_err2str(e));
        _running = true;
        _poller = _shard.add_poller([this] { return poll(); });
        // A safety net: librdkafka wakes us on new data, but timers (batch
        // duration, group heartbeats served by poll) must run even if not.
        arm_tick();
        if (_shard.id() == 0)
            log_info("kafka source %s: consuming from %s (group %s)", _name.c_str(), _opts.bootstrap.c_str(),
                     _opts.group.c_str());
        return Status::ok();
    }

    void stop(Task done) override {
        close();
        done();
    }

private:
    void arm_tick() {
        _tick = _shard.add_timer(100000, [this] {
            _tick = 0;
            poll();
            if (_running) arm_tick();
        });
    }

    // One pass of the shard poller. Returns whether it did work.
    bool poll() {
        if (!_running) return false;
        if (_waiting) return false;  // a retry timer comes back
        bool did = false;
        if (!_batch || _batch_put_from == 0) {
            // Read more while the batch is open.
            if (!_batch) open_batch();
            uint32_t room = _opts.batch - _batch->size();
            if (room > 0) {
                _msgs.resize(room);
                const int64_t t0 = monotonic_us();
                ssize_t n = rd_kafka_consume_batch_queue(_queue.get(), 0, _msgs.data(), room);
                const int64_t t1 = monotonic_us();
                _get_timer.add(_counters, _shard.id(), kafka_counter::source_event_get_timer, t1 - t0);
                count_idle(n > 0, t1);
                // A revoke served inside the call dropped the batch.
                if (!_batch) open_batch();
                if (n > 0) {
                    did = true;
                    for (ssize_t i = 0; i < n; i++) add_record(_msgs[size_t(i)]);
                }
                bool drained = n <= 0 || size_t(n) < room;
                bool full = _batch->size() >= _opts.batch;
                bool old = _batch->size() > 0 && wall_clock_ms() - _batch_started_ms >= _opts.batch_duration_ms;
                if (_batch->size() == 0 || (!drained && !full && !old)) return did;
            }
        }
        if (_batch && _batch->size() > 0) {
            put_batch();
            did = true;
        }
        return did;
    }

    // KafkaEmptyCount: Flume counts a poll that waited batchDurationMillis
    // and got nothing; sluice never waits, so it counts each such span of
    // idleness (polls finding no record and no batch open).
    void count_idle(bool got_records, int64_t now_us) {
        if (got_records || (_batch && _batch->size() > 0)) {
            _idle_since_us = 0;
        } else if (_idle_since_us == 0) {
            _idle_since_us = now_us;
        } else if (now_us - _idle_since_us >= _opts.batch_duration_ms * 1000) {
            _counters.add(_shard.id(), kafka_counter::source_empty_count);
            _idle_since_us = now_us;
        }
    }

    void open_batch() {
        _batch = std::make_shared<EventBatch>(_opts.batch, size_t(_opts.batch) * 128);
        _batch->set_received_us(wall_clock_us());
        _batch_started_ms = wall_clock_ms();
        _batch_put_from = 0;
        _batch_offsets.clear();
        _batch_generation = _generation;
    }

    void add_record(rd_kafka_message_t* m) {
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("kafka source %s: %s", _name.c_str(), rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return;
        }
        const char* topic = rd_kafka_topic_name(m->rkt);
        _batch_offsets[{topic, m->partition}] = m->offset + 1;
        std::string_view value(static_cast<const char*>(m->payload), m->payload ? m->len : 0);
        _counters.add(_shard.id(), source_counter::event_received);
        DecodedFlumeEvent decoded;
        if (_opts.flume_format) {
            auto r = decode_flume_event(value);
            if (!r) {
                _counters.add(_shard.id(), source_counter::event_read_fail);
                log_warn("kafka source %s: record %s/%d@%lld skipped: %s", _name.c_str(), topic, int(m->partition),
                         (long long)m->offset, r.status().message().c_str());
                rd_kafka_message_destroy(m);
                return;
            }
            decoded = std::move(r.value());
            _batch->add(decoded.body);
            for (const auto& [k, v] : decoded.headers) _batch->add_header(k, v);
        } else {
            _batch->add(value);
        }
        auto have = [&](std::string_view name) {
            for (const auto& h : decoded.headers)
                if (h.first == name) return true;
            return false;
        };
        rd_kafka_timestamp_type_t tstype;
        int64_t ts = rd_kafka_message_timestamp(m, &tstype);
        if (ts < 0) ts = wall_clock_ms();
        if (!have("timestamp")) _batch->add_header("timestamp", std::to_string(ts));
        if (_opts.set_topic_header && !have(_opts.topic_header)) _batch->add_header(_opts.topic_header, topic);
        if (!have("partition")) _batch->add_header("partition", std::to_string(m->partition));
        if (!have("offset")) _batch->add_header("offset", std::to_string(m->offset));
        if (m->key && !have("key"))
            _batch->add_header("key", std::string_view(static_cast<const char*>(m->key), m->key_len));
        rd_kafka_message_destroy(m);
    }

    // Puts the batch in chunks of the channels' transaction size; on a full
    // channel waits (no more reading) and retries the chunk.
    void put_batch() {
        while (_batch_put_from < _batch->size()) {
            uint32_t n = _progress.next_required > 0
                             ? _chunk
                             : std::min<uint32_t>(_batch->size() - _batch_put_from, _processor.max_batch());
            _chunk = n;
            Status st = _processor.put(EventSpan{_batch, _batch_put_from, _batch_put_from + n}, _progress);
            if (!st) {
                if (st.code() != errc::channel_full) {
                    _counters.add(_shard.id(), source_counter::channel_write_fail, n);
                    log_error("kafka source %s: %s", _name.c_str(), st.message().c_str());
                } else {
                    _counters.add(_shard.id(), source_counter::channel_write_fail, n);
                }
                wait_and_retry();
                return;
            }
            _progress.reset();
            _batch_put_from += n;
            _counters.add(_shard.id(), source_counter::event_accepted, n);
        }
        _counters.add(_shard.id(), source_counter::append_batch_accepted);
        _retry_us = retry_first_us;
        // Everything of the batch is in the channels: its offsets may be
        // committed once the channels hold it durably.
        auto offsets = std::make_shared<offset_map>(std::move(_batch_offsets));
        uint64_t generation = _batch_generation;
        _batch.reset();
        _batch_offsets.clear();
        _processor.when_durable([alive = _alive, offsets, generation] {
            if (KafkaSource* self = *alive) self->on_durable(*offsets, generation);
        });
    }

    void wait_and_retry() {
        _waiting = true;
        _retry_timer = _shard.add_timer(_retry_us, [this] {
            _retry_timer = 0;
            _waiting = false;
            if (_running && _batch) put_batch();
        });
        _retry_us = std::min(_retry_us * 2, retry_max_us);
    }

    void on_durable(const offset_map& offsets, uint64_t generation) {
        if (!_rk || generation != _generation) return;  // revoked since: the next owner reads them again
        for (const auto& [tp, off] : offsets) {
            int64_t& d = _durable[tp];
            d = std::max(d, off);
        }
        commit_durable(true);
    }

    // Commits the durable offsets not yet committed.
    void commit_durable(bool async) {
        RdPartitionsPtr list(rd_kafka_topic_partition_list_new(int(_durable.size())));
        for (const auto& [tp, off] : _durable) {
            auto it = _committed.find(tp);
            if (it != _committed.end() && it->second >= off) continue;
            rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second)->offset = off;
            _committed[tp] = off;
        }
        if (list->cnt == 0) return;
        const int64_t t0 = monotonic_us();
        rd_kafka_resp_err_t err = rd_kafka_commit(_rk.get(), list.get(), async ? 1 : 0);
        _commit_timer.add(_counters, _shard.id(), kafka_counter::source_commit_timer, monotonic_us() - t0);
        if (err) on_commit_error(err);
    }

    void on_commit_error(rd_kafka_resp_err_t err) {
        // The offsets of a later batch commit this one's too; a lost commit
        // only means records are read again (at-least-once).
        log_warn("kafka source %s: offset commit failed: %s", _name.c_str(), rd_kafka_err2str(err));
        _committed.clear();
    }

    void on_rebalance(rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts) {
        bool cooperative = std::string_view(rd_kafka_rebalance_protocol(_rk.get())) == "COOPERATIVE";
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
            log_info("kafka source %s: shard %u assigned %d partition(s)", _name.c_str(), _shard.id(), parts->cnt);
            if (cooperative) {
                if (rd_kafka_error_t* e = rd_kafka_incremental_assign(_rk.get(), parts)) rd_kafka_error_destroy(e);
            } else {
                rd_kafka_assign(_rk.get(), parts);
            }
            return;
        }
        // Revoked (or lost): commit what is durable, forget what is not.
        log_info("kafka source %s: shard %u revoked %d partition(s)", _name.c_str(), _shard.id(), parts->cnt);
        if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(_rk.get())) commit_durable(false);
        revoke_local_state();
        if (cooperative) {
            if (rd_kafka_error_t* e = rd_kafka_incremental_unassign(_rk.get(), parts)) rd_kafka_error_destroy(e);
        } else {
            rd_kafka_assign(_rk.get(), nullptr);
        }
    }

    void revoke_local_state() {
        _generation++;
        if (_batch && _batch->size() > 0 && _batch_put_from < _batch->size())
            log_info("kafka source %s: dropping %u records read but not in the channel (they are read again)",
                     _name.c_str(), _batch->size() - _batch_put_from);
        _batch.reset();
        _batch_offsets.clear();
        _progress.reset();
        _durable.clear();
        _committed.clear();
        if (_retry_timer) _shard.cancel_timer(_retry_timer);
        _retry_timer = 0;
        _waiting = false;
    }

    void close() {
        if (!_rk) return;
        _running = false;
        if (_poller) _shard.remove_poller(_poller);
        _poller = 0;
        if (_tick) _shard.cancel_timer(_tick);
        _tick = 0;
        if (_retry_timer) _shard.cancel_timer(_retry_timer);
        _retry_timer = 0;
        // The batch not in the channel is dropped; what is durable is
        // committed, and leaving the group revokes (rebalance callback).
        commit_durable(false);
        rd_kafka_queue_cb_event_enable(_queue.get(), nullptr, nullptr);
        rd_kafka_consumer_close(_rk.get());
        _queue.reset();
        _rk.reset();
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name;
    kafka_source_options _opts;
    std::shared_ptr<KafkaSource*> _alive;
    RdKafkaPtr _rk;
    RdQueuePtr _queue;
    PollerId _poller = 0;
    TimerId _tick = 0, _retry_timer = 0;
    bool _running = false, _waiting = false;
    int64_t _retry_us = retry_first_us;
    std::vector<rd_kafka_message_t*> _msgs;

    std::shared_ptr<EventBatch> _batch;  // read, not yet all in the channels
    uint32_t _batch_put_from = 0;
    uint32_t _chunk = 0;
    ChannelProcessor::Progress _progress;
    int64_t _batch_started_ms = 0;
    offset_map _batch_offsets;
    uint64_t _generation = 0, _batch_generation = 0;
    offset_map _durable, _committed;
    MsTimer _get_timer, _commit_timer;
    int64_t _idle_since_us = 0;
};

}  // namespace

ComponentDescriptor kafka_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "kafka";
    d.aliases = {"org.apache.flume.source.kafka.KafkaSource"};
    d.extra_counters = kafka_source_counters;
    d.description =
        "Consumes Kafka topics (librdkafka), one consumer per shard in one consumer group. Offsets are committed only "
        "after the events are durable in the channels (at-least-once).";
    d.keys = {
        {"kafka.bootstrap.servers", KeyType::string, "", true, "Kafka brokers, host:port[,host:port...]."},
        {"kafka.topics", KeyType::string, "", false, "Comma-separated topics to consume (this or kafka.topics.regex)."},
        {"kafka.topics.regex", KeyType::string, "", false,
         "A regular expression: every matching topic is consumed (overrides kafka.topics)."},
        {"kafka.consumer.group.id", KeyType::string, "flume", false, "Consumer group of every shard of every node."},
        {"batchSize", KeyType::integer, "1000", false, "Most events put into the channels in one batch.", 1, INT32_MAX},
        {"batchDurationMillis", KeyType::duration_ms, "1000", false,
         "Longest a batch is held open while records keep arriving.", 1, INT64_MAX, {},
         "Flume waits up to this long for a batch to fill; sluice never waits on a shard: a batch is put as soon as "
         "no record is waiting, and held open at most this long while records keep coming."},
        {"useFlumeEventFormat", KeyType::boolean, "false", false,
         "Record values are Avro AvroFlumeEvent datums (docs/kafka.md): their headers become the event's."},
        {"setTopicHeader", KeyType::boolean, "true", false, "Add the record's topic as header topicHeader."},
        {"topicHeader", KeyType::string, "topic", false, "Name of the topic header."},
        {"kafka.consumer.", KeyType::prefix, "", false, "Passed to the librdkafka consumer unchanged."},
    };
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        if (!s.has("kafka.topics") && !s.has("kafka.topics.regex"))
            problems.emplace_back("kafka.topics", "one of kafka.topics or kafka.topics.regex is required");
        check_rdkafka_props(s, "kafka.consumer.", problems);
    };
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        const auto& s = ctx.settings;
        kafka_source_options o;
        o.bootstrap = s.get_string("kafka.bootstrap.servers");
        o.group = s.get_string("kafka.consumer.group.id");
        if (s.has("kafka.topics.regex")) {
            std::string re = s.get_string("kafka.topics.regex");
            o.topics.push_back(re.starts_with("^") ? re : "^" + re);
        } else {
            std::string list = s.get_string("kafka.topics");
            size_t pos = 0;
            while (pos <= list.size()) {
                size_t comma = std::min(list.find(',', pos), list.size());
                std::string t = list.substr(pos, comma - pos);
                t.erase(0, t.find_first_not_of(" \t"));
                t.erase(t.find_last_not_of(" \t") + 1);
                if (!t.empty()) o.topics.push_back(t);
                pos = comma + 1;
            }
        }
        o.batch = uint32_t(s.get_int("batchSize"));
        o.batch_duration_ms = s.get_duration_ms("batchDurationMillis");
        o.flume_format = s.get_bool("useFlumeEventFormat");
        o.set_topic_header = s.get_bool("setTopicHeader");
        o.topic_header = s.get_string("topicHeader");
        for (auto& kv : s.get_prefixed("kafka.consumer.")) o.consumer_props.push_back(kv);
        return std::unique_ptr<Source>(new KafkaSource(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
