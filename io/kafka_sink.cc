// SPDX-License-Identifier: Apache-2.0
// The `kafka` sink: Flume's KafkaSink (reference/flume.md §9) on librdkafka
// (docs/kafka.md).
//
// Each shard's instance owns one librdkafka producer. process() takes a
// transaction of up to flumeBatchSize events and hands every record to
// librdkafka without copying the body (the events stay alive in the open
// transaction); the transaction is committed only when the broker has
// acknowledged every record of it (delivery reports). Several transactions
// may be in flight; delivery reports are served by a shard poller, woken by
// librdkafka's queue event callback, so process() never waits for the broker.
// A failed record fails its transaction: once every report of the in-flight
// transactions is in, the failed ones are rolled back (newest first, so the
// events keep their order) and the sink backs off; nothing is dropped.
#include <charconv>
#include <deque>
#include <unordered_map>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"
#include "io/kafka_common.h"

namespace sluice {

namespace {

constexpr size_t max_inflight_transactions = 64;
constexpr size_t max_records_per_call = 1024;  // per rd_kafka_produce_batch

struct kafka_sink_options {
    std::string bootstrap, topic, topic_header, partition_header;
    int32_t default_partition = RD_KAFKA_PARTITION_UA;
    uint32_t batch = 100;
    bool flume_format = false, allow_topic_override = true;
    std::vector<std::pair<std::string, std::string>> producer_props;
};

struct inflight_tx {
    std::unique_ptr<TakeTransaction> tx;
    uint32_t events = 0;
    uint32_t produced = 0;  // records handed to librdkafka (or given up on)
    uint32_t pending = 0;   // handed over, report not yet in
    size_t span = 0;        // where producing resumes
    uint32_t in_span = 0;
    rd_kafka_resp_err_t error = RD_KAFKA_RESP_ERR_NO_ERROR;
    int64_t started_us = monotonic_us();  // for KafkaEventSendTimer
    bool complete() const { return produced == events && pending == 0; }
};

class KafkaSink final : public Sink {
public:
    KafkaSink(SinkContext& ctx, kafka_sink_options opts)
        : _shard(ctx.shard), _channel(ctx.channel), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(opts)) {}

    ~KafkaSink() override { close(); }

    Status start() override {
        auto conf = make_rdkafka_conf("kafka sink " + _name, "kafka.producer.", {});
        if (!conf) return conf.status();
        rd_kafka_conf_t* c = conf->get();
        if (Status st = set_rdkafka(c, "kafka sink " + _name, "kafka.bootstrap.servers", "bootstrap.servers",
                                    _opts.bootstrap);
            !st)
            return st;
        // Java's partitioner, so a key lands in the partition a Java client would pick.
        if (Status st = set_rdkafka(c, "kafka sink " + _name, "kafka.producer.partitioner", "partitioner", "murmur2_random");
            !st)
            return st;
        for (const auto& [property, value] : _opts.producer_props)
            if (Status st = set_rdkafka(c, "kafka sink " + _name, "kafka.producer." + property, property, value); !st)
                return st;
        rd_kafka_conf_set_opaque(c, this);
        rd_kafka_conf_set_dr_msg_cb(c, [](rd_kafka_t* rk, const rd_kafka_message_t* m, void*) {
            static_cast<KafkaSink*>(rd_kafka_opaque(rk))->on_report(m);
        });
        rd_kafka_conf_set_error_cb(c, [](rd_kafka_t* rk, int err, const char* reason, void*) {
            static_cast<KafkaSink*>(rd_kafka_opaque(rk))->on_client_error(rd_kafka_resp_err_t(err), reason);
        });
        char err[512];
        rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
        if (!rk) return Status(errc::config, "kafka sink " + _name + ": " + err);
        (void)conf->release();  // rd_kafka_new owns it now
        _rk.reset(rk);
        _main_queue.reset(rd_kafka_queue_get_main(rk));
        // librdkafka's threads wake this shard when a report is queued.
        rd_kafka_queue_cb_event_enable(_main_queue.get(), [](rd_kafka_t*, void* reactor) {
            static_cast<Reactor*>(reactor)->wake();
        }, &_shard.reactor());
        _poller = _shard.add_poller([this] { return serve_reports(); });
        _counters.add(_shard.id(), sink_counter::connection_created);
        if (_shard.id() == 0)
            log_info("kafka sink %s: producing to %s (topic %s)", _name.c_str(), _opts.bootstrap.c_str(),
                     _opts.topic.c_str());
        return Status::ok();
    }

    SinkStatus process() override {
        serve_reports();
        if (_failed) {
            _failed = false;
            return SinkStatus::failed;  // rolled back: the runner waits, then we retry
        }
        if (_any_failed) return SinkStatus::backoff;  // reports of the failed set still coming
        if (!_inflight.empty() && _inflight.back()->produced < _inflight.back()->events) {
            if (!produce(*_inflight.back())) return wait_briefly();
            return SinkStatus::ready;
        }
        if (_inflight.size() >= max_inflight_transactions) return wait_briefly();
        auto t = std::make_unique<inflight_tx>();
        t->tx = _channel.begin_take(_shard.id());
        uint32_t got = t->tx->take(_opts.batch);
        count_batch(got);
        if (got == 0) {
            (void)t->tx->commit();
            return SinkStatus::backoff;  // idle; in-flight reports are served by the poller
        }
        _counters.add(_shard.id(), sink_counter::event_drain_attempt, got);
        t->events = got;
        _inflight.push_back(std::move(t));
        if (!produce(*_inflight.back())) return wait_briefly();
        return got < _opts.batch ? SinkStatus::backoff : SinkStatus::ready;
    }

    void stop() override { close(); }

private:
    void count_batch(uint32_t got) {
        if (got == 0) _counters.add(_shard.id(), sink_counter::batch_empty);
        else if (got < _opts.batch) _counters.add(_shard.id(), sink_counter::batch_underflow);
        else _counters.add(_shard.id(), sink_counter::batch_complete);
    }

    // librdkafka's local queue is full or too much is in flight: let it work
    // for at most a millisecond, then come back.
    SinkStatus wait_briefly() {
        rd_kafka_poll(_rk.get(), 1);
        settle();
        return SinkStatus::ready;
    }

    rd_kafka_topic_t* topic_handle(const std::string& name) {
        if (name == _last_topic_name && _last_topic) return _last_topic;
        auto it = _topics.find(name);
        if (it == _topics.end()) it = _topics.emplace(name, rd_kafka_topic_new(_rk.get(), name.c_str(), nullptr)).first;
        _last_topic_name = name;
        _last_topic = it->second;
        return it->second;
    }

    // Hands the rest of t's records to librdkafka; false when its queue is full.
    // Records go over in runs of one topic through rd_kafka_produce_batch:
    // one topic lock and one pair of clock reads per run instead of per record.
    bool produce(inflight_tx& t) {
        const auto& spans = t.tx->events();
        while (t.produced < t.events) {
            // The run: from t's position, records of one topic.
            _run.clear();
            _run_payload.clear();
            _flume_values.clear();
            rd_kafka_topic_t* rkt = nullptr;
            size_t span = t.span;
            uint32_t in_span = t.in_span;
            while (span < spans.size() && _run.size() < max_records_per_call) {
                if (in_span == spans[span].size()) {
                    span++;
                    in_span = 0;
                    continue;
                }
                EventView e = spans[span][in_span];
                rd_kafka_topic_t* topic = topic_for(e);
                if (rkt && topic != rkt) break;
                rkt = topic;
                add_to_run(e, t);
                in_span++;
            }
            if (_run.empty()) break;  // cannot be: produced < events
            if (_opts.flume_format)  // the values are complete: point at them
                for (size_t i = 0; i < _run.size(); i++)
                    _run[i].payload = _flume_values.data() + _run_payload[i];
            const int flags = RD_KAFKA_MSG_F_PARTITION | (_opts.flume_format ? RD_KAFKA_MSG_F_COPY : 0);
            (void)rd_kafka_produce_batch(rkt, RD_KAFKA_PARTITION_UA, flags, _run.data(), int(_run.size()));
            // librdkafka gives every record from the first QUEUE_FULL on that
            // error: the records before it are handed over (or refused).
            bool refused = false;
            for (const rd_kafka_message_t& m : _run) {
                if (m.err == RD_KAFKA_RESP_ERR__QUEUE_FULL && !refused) return false;
                if (m.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                    t.pending++;
                } else if (m.err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                    // Refused before it left (unknown partition, too large):
                    // the transaction fails as a whole and is rolled back.
                    if (t.error == RD_KAFKA_RESP_ERR_NO_ERROR) t.error = m.err;
                    note_failure(m.err, "produce");
                    refused = true;
                }
                t.produced++;
                advance(t, spans);
            }
            if (refused) {
                t.produced = t.events;  // the rest is never handed over
                settle();
                return true;
            }
        }
        return true;
    }

    // Moves t's position one record on.
    static void advance(inflight_tx& t, const std::vector<EventSpan>& spans) {
        while (t.in_span == spans[t.span].size()) {
            t.span++;
            t.in_span = 0;
        }
        t.in_span++;
    }

    rd_kafka_topic_t* topic_for(const EventView& e) {
        std::string_view topic_value;
        if (_opts.allow_topic_override && e.find_header(_opts.topic_header, &topic_value) && !topic_value.empty())
            _topic_buf.assign(topic_value);
        else if (_topic_static)
            return topic_handle(_opts.topic);
        else
            _topic_buf = substitute_headers(_opts.topic, e);
        return topic_handle(_topic_buf);
    }

    // Appends e's record to the run: its partition, key and value.
    void add_to_run(const EventView& e, inflight_tx& t) {
        rd_kafka_message_t& m = _run.emplace_back();
        m = {};
        m._private = &t;
        m.partition = _opts.default_partition;
        std::string_view v;
        if (!_opts.partition_header.empty() && e.find_header(_opts.partition_header, &v)) {
            int32_t p = 0;
            auto r = std::from_chars(v.data(), v.data() + v.size(), p);
            if (r.ec == std::errc() && r.ptr == v.data() + v.size() && p >= 0) {
                m.partition = p;
            } else if (!_bad_partition_logged) {
                _bad_partition_logged = true;
                log_warn("kafka sink %s: header %s is not a partition number ('%.*s'); using the default partitioning",
                         _name.c_str(), _opts.partition_header.c_str(), int(v.size()), v.data());
            }
        }
        std::string_view key;
        if (e.find_header("key", &key)) {
            m.key = const_cast<char*>(key.data());  // copied by librdkafka
            m.key_len = key.size();
        }
        if (_opts.flume_format) {
            // Copied by librdkafka (F_COPY); the pointer is set once the run is complete.
            _run_payload.push_back(_flume_values.size());
            const size_t before = _flume_values.size();
            encode_flume_event(e, _flume_values);
            m.len = _flume_values.size() - before;
        } else {
            // No copy: the body lives in the open transaction until every
            // report of it is in.
            m.payload = const_cast<char*>(e.body().data());
            m.len = e.body().size();
        }
    }

    void on_report(const rd_kafka_message_t* m) {
        auto* t = static_cast<inflight_tx*>(m->_private);
        t->pending--;
        if (m->err) {
            if (t->error == RD_KAFKA_RESP_ERR_NO_ERROR) t->error = m->err;
            note_failure(m->err, "delivery");
        }
    }

    void on_client_error(rd_kafka_resp_err_t err, const char* reason) {
        log_warn("kafka sink %s: %s: %s", _name.c_str(), rd_kafka_err2name(err), reason);
    }

    void note_failure(rd_kafka_resp_err_t err, const char* what) {
        _any_failed = true;
        int64_t now = monotonic_us();
        if (now - _last_failure_log_us > 5000000) {
            _last_failure_log_us = now;
            log_error("kafka sink %s: %s failed: %s (the transaction is rolled back and retried)", _name.c_str(), what,
                      rd_kafka_err2str(err));
        }
    }

    // The shard poller: serves delivery reports and settles transactions.
    bool serve_reports() {
        if (!_rk || _inflight.empty()) return false;
        int served = rd_kafka_poll(_rk.get(), 0);
        bool settled = settle();
        return served > 0 || settled;
    }

    // Commits the transactions whose records are all acknowledged, in order.
    // After a failure: waits until every in-flight report is in, then commits
    // the good ones and rolls back the failed ones, newest first.
    bool settle() {
        bool did = false;
        if (!_any_failed) {
            while (!_inflight.empty() && _inflight.front()->complete()) {
                commit(*_inflight.front());
                _inflight.pop_front();
                did = true;
            }
            return did;
        }
        for (auto& t : _inflight)
            if (!t->complete()) {
                // Records not handed over yet are never going to be: give up on them.
                if (t->error != RD_KAFKA_RESP_ERR_NO_ERROR || t.get() == _inflight.back().get()) {
                    if (t->produced < t->events && t->error == RD_KAFKA_RESP_ERR_NO_ERROR)
                        t->error = RD_KAFKA_RESP_ERR__FAIL;
                    t->produced = t->events;
                }
                if (!t->complete()) return false;
            }
        uint32_t failed = 0;
        for (auto it = _inflight.rbegin(); it != _inflight.rend(); ++it) {
            if ((*it)->error != RD_KAFKA_RESP_ERR_NO_ERROR) {
                (*it)->tx->rollback();
                _counters.add(_shard.id(), kafka_counter::sink_rollback_count);
                failed += (*it)->events;
                _counters.add(_shard.id(), sink_counter::event_write_fail, (*it)->events);
            }
        }
        for (auto& t : _inflight)
            if (t->error == RD_KAFKA_RESP_ERR_NO_ERROR) commit(*t);
        _inflight.clear();
        _any_failed = false;
        _failed = true;  // the next process() backs off once
        log_debug("kafka sink %s: rolled back %u events", _name.c_str(), failed);
        return true;
    }

    void commit(inflight_tx& t) {
        _send_timer.add(_counters, _shard.id(), kafka_counter::sink_event_send_timer, monotonic_us() - t.started_us);
        record_delivery(_counters, _shard.id(), t.tx->events());
        (void)t.tx->commit();
        _counters.add(_shard.id(), sink_counter::event_drain_success, t.events);
    }

    void close() {
        if (!_rk) return;
        if (_poller) _shard.remove_poller(_poller);
        _poller = 0;
        // Give what is in flight a bounded time to be acknowledged; what is
        // not is rolled back (it stays in the channel).
        int64_t deadline = monotonic_us() + 10000000;
        while (!_inflight.empty() && monotonic_us() < deadline) {
            if (_inflight.back()->produced < _inflight.back()->events) {
                if (!_any_failed) {
                    (void)produce(*_inflight.back());
                } else {
                    _inflight.back()->produced = _inflight.back()->events;
                }
            }
            rd_kafka_poll(_rk.get(), 10);
            settle();
        }
        for (auto it = _inflight.rbegin(); it != _inflight.rend(); ++it) {
            (*it)->tx->rollback();
            _counters.add(_shard.id(), kafka_counter::sink_rollback_count);
        }
        if (!_inflight.empty()) log_warn("kafka sink %s: stopping with unacknowledged events rolled back", _name.c_str());
        _inflight.clear();
        rd_kafka_queue_cb_event_enable(_main_queue.get(), nullptr, nullptr);
        _main_queue.reset();
        for (auto& [name, rkt] : _topics) rd_kafka_topic_destroy(rkt);
        _topics.clear();
        _last_topic = nullptr;
        _rk.reset();
        _counters.add(_shard.id(), sink_counter::connection_closed);
    }

    Shard& _shard;
    Channel& _channel;
    CounterGroup& _counters;
    std::string _name;
    kafka_sink_options _opts;
    bool _topic_static = _opts.topic.find("%{") == std::string::npos;
    RdKafkaPtr _rk;
    RdQueuePtr _main_queue;
    PollerId _poller = 0;
    std::deque<std::unique_ptr<inflight_tx>> _inflight;
    MsTimer _send_timer;
    bool _any_failed = false;  // a report or produce failed in the in-flight set
    bool _failed = false;      // rolled back: back off once
    std::unordered_map<std::string, rd_kafka_topic_t*> _topics;
    std::string _last_topic_name;
    rd_kafka_topic_t* _last_topic = nullptr;
    std::string _topic_buf;
    // The run being produced (produce), reused: its records, and with
    // useFlumeEventFormat their encoded values and where each starts.
    std::vector<rd_kafka_message_t> _run;
    std::string _flume_values;
    std::vector<size_t> _run_payload;
    bool _bad_partition_logged = false;
    int64_t _last_failure_log_us = 0;
};

}  // namespace

ComponentDescriptor kafka_sink_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::sink;
    d.type = "kafka";
    d.aliases = {"org.apache.flume.sink.kafka.KafkaSink"};
    d.extra_counters = kafka_sink_counters;
    d.description =
        "Produces each event as a Kafka record (librdkafka). A take transaction is committed only after the broker "
        "acknowledged every record of it; on errors it is rolled back and retried. Header `key` is the record key.";
    d.keys = {
        {"kafka.bootstrap.servers", KeyType::string, "", true, "Kafka brokers, host:port[,host:port...]."},
        {"kafka.topic", KeyType::string, "default-flume-topic", false,
         "Topic of the records; `%{name}` is replaced by the event's header `name`."},
        {"flumeBatchSize", KeyType::integer, "100", false, "Events per take transaction.", 1, INT32_MAX},
        {"kafka.producer.acks", KeyType::string, "1", false,
         "Acknowledgements the broker waits for before it acknowledges a record (0, 1, -1 or all)."},
        {"useFlumeEventFormat", KeyType::boolean, "false", false,
         "Record values are Avro AvroFlumeEvent datums with the headers (docs/kafka.md) instead of the body."},
        {"partitionIdHeader", KeyType::string, "", false,
         "Header holding the partition number of the record (absent header: defaultPartitionId).", INT64_MIN,
         INT64_MAX, {},
         "A value that is not a partition number is logged once and the record is partitioned by key; Flume fails the "
         "event."},
        {"defaultPartitionId", KeyType::integer, "", false,
         "Partition of every record without partitionIdHeader (unset: partitioned by key).", 0, INT32_MAX},
        {"allowTopicOverride", KeyType::boolean, "true", false, "The header topicHeader, when present, is the topic."},
        {"topicHeader", KeyType::string, "topic", false, "Header naming the topic when allowTopicOverride is true."},
        {"kafka.producer.", KeyType::prefix, "", false, "Passed to the librdkafka producer unchanged."},
    };
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        check_rdkafka_props(s, "kafka.producer.", problems);
        std::string acks = s.get_string("kafka.producer.acks");
        if (acks != "0" && acks != "1" && acks != "-1" && acks != "all")
            problems.emplace_back("kafka.producer.acks", "expected 0, 1, -1 or all, got '" + acks + "'");
    };
    d.make_sink = [](SinkContext& ctx) -> Result<std::unique_ptr<Sink>> {
        const auto& s = ctx.settings;
        kafka_sink_options o;
        o.bootstrap = s.get_string("kafka.bootstrap.servers");
        o.topic = s.get_string("kafka.topic");
        o.batch = uint32_t(s.get_int("flumeBatchSize"));
        o.flume_format = s.get_bool("useFlumeEventFormat");
        o.partition_header = s.get_string("partitionIdHeader");
        if (s.has("defaultPartitionId")) o.default_partition = int32_t(s.get_int("defaultPartitionId"));
        o.allow_topic_override = s.get_bool("allowTopicOverride");
        o.topic_header = s.get_string("topicHeader");
        o.producer_props.emplace_back("acks", s.get_string("kafka.producer.acks"));
        for (auto& kv : s.get_prefixed("kafka.producer.")) o.producer_props.push_back(kv);
        return std::unique_ptr<Sink>(new KafkaSink(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
