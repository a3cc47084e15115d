// SPDX-License-Identifier: Apache-2.0
// What the Kafka source, sink and channel share (docs/kafka.md): the Flume
// event format (an Avro binary AvroFlumeEvent datum), `%{header}` topic
// templates, and building a librdkafka configuration from Flume keys.
#pragma once

#include <librdkafka/rdkafka.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/metrics.h"
#include "core/registry.h"
#include "core/status.h"

namespace sluice {

// ------------------------------------------------------------ Flume event format

// Appends the AvroFlumeEvent datum of `e` (docs/kafka.md §1) to `out`.
void encode_flume_event(const EventView& e, std::string& out);

struct DecodedFlumeEvent {
    std::vector<std::pair<std::string_view, std::string_view>> headers;  // point into the input
    std::string_view body;
};
// Decodes one datum that must fill `data` exactly. Errors: errc::corrupt with
// what is wrong. Views point into `data`.
Result<DecodedFlumeEvent> decode_flume_event(std::string_view data);

// ------------------------------------------------------------ topic templates

// Replaces each `%{name}` in `pattern` by the event's header `name` (empty when
// absent). Text without `%{` is returned as is; an unclosed `%{` is kept literally.
std::string substitute_headers(std::string_view pattern, const EventView& e);

// ------------------------------------------------------------ Flume's Kafka counters

// Beyond each kind's own (ComponentDescriptor::extra_counters, docs/kafka.md
// §5); timers are whole milliseconds, summed.
namespace kafka_counter {
enum : uint32_t { source_event_get_timer = source_counter::count_, source_commit_timer, source_empty_count };
enum : uint32_t { sink_event_send_timer = sink_counter::count_, sink_rollback_count };
enum : uint32_t {
    channel_event_get_timer = channel_counter::count_,
    channel_event_send_timer,
    channel_commit_timer,
    channel_rollback_count
};
}  // namespace kafka_counter
inline const std::vector<std::string_view> kafka_source_counters = {"KafkaEventGetTimer", "KafkaCommitTimer",
                                                                    "KafkaEmptyCount"};
inline const std::vector<std::string_view> kafka_sink_counters = {"KafkaEventSendTimer", "RollbackCount"};
inline const std::vector<std::string_view> kafka_channel_counters = {"KafkaEventGetTimer", "KafkaEventSendTimer",
                                                                     "KafkaCommitTimer", "RollbackCount"};

// Adds elapsed microseconds to a millisecond timer counter, carrying the
// remainder, so that many sub-millisecond calls still add up.
class MsTimer {
public:
    void add(CounterGroup& c, unsigned shard, uint32_t counter, int64_t us) {
        _us += us;
        if (_us >= 1000) {
            c.add(shard, counter, uint64_t(_us / 1000));
            _us %= 1000;
        }
    }

private:
    int64_t _us = 0;
};

// ------------------------------------------------------------ librdkafka handles

struct RdKafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
    void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
    void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
    void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
using RdKafkaPtr = std::unique_ptr<rd_kafka_t, RdKafkaDeleter>;
using RdConfPtr = std::unique_ptr<rd_kafka_conf_t, RdKafkaDeleter>;
using RdQueuePtr = std::unique_ptr<rd_kafka_queue_t, RdKafkaDeleter>;
using RdPartitionsPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, RdKafkaDeleter>;

// A librdkafka configuration from a list of (property, value): errors name
// the component and the Flume key (`prefix` + property) they came from.
Result<RdConfPtr> make_rdkafka_conf(const std::string& component, const std::string& prefix,
                                    const std::vector<std::pair<std::string, std::string>>& props);

// Sets one property; `key` is the Flume key named in the error.
Status set_rdkafka(rd_kafka_conf_t* conf, const std::string& component, const std::string& key,
                   const std::string& property, const std::string& value);

// Checks a `kafka.producer.` / `kafka.consumer.` pass-through table and the
// bootstrap servers at configuration time (unknown librdkafka property, bad
// value), appending (key, message) as ComponentCheck does.
void check_rdkafka_props(const ComponentSettings& s, std::string_view prefix,
                         std::vector<std::pair<std::string, std::string>>& problems);

// librdkafka's log lines go to sluice's log (set on every conf we make).
void route_rdkafka_logs(rd_kafka_conf_t* conf);

}  // namespace sluice
