// SPDX-License-Identifier: Apache-2.0
// A Kafka cluster for the integration tests: librdkafka's mock cluster,
// started inside the test process on real loopback ports, so the real
// `sluice` binary and `kcat` reach it as they would a real cluster. Plus a
// small producer and reader (librdkafka) to put records in and read them back.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace sluice_it {

struct kafka_record {
    std::string topic;
    int32_t partition = 0;
    int64_t offset = 0;
    std::string key, value;
    bool has_key = false;
};

class mock_kafka {
public:
    explicit mock_kafka(int brokers = 3) {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
        _rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!_rk) throw std::runtime_error(std::string("rd_kafka_new: ") + err);
        _cluster = rd_kafka_mock_cluster_new(_rk, brokers);
        if (!_cluster) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
        _bootstrap = rd_kafka_mock_cluster_bootstraps(_cluster);
    }
    ~mock_kafka() {
        if (_producer) {
            rd_kafka_flush(_producer, 5000);
            rd_kafka_destroy(_producer);
        }
        rd_kafka_mock_cluster_destroy(_cluster);
        rd_kafka_destroy(_rk);
    }
    mock_kafka(const mock_kafka&) = delete;
    mock_kafka& operator=(const mock_kafka&) = delete;

    const std::string& bootstrap() const { return _bootstrap; }
    rd_kafka_mock_cluster_t* cluster() { return _cluster; }

    void create_topic(const std::string& topic, int partitions) {
        ASSERT_EQ(rd_kafka_mock_topic_create(_cluster, topic.c_str(), partitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    }

    // Produces and waits until every record is acknowledged.
    void produce(const std::string& topic, const std::vector<std::pair<std::string, std::string>>& key_values,
                 int32_t partition = RD_KAFKA_PARTITION_UA) {
        if (!_producer) {
            char err[512];
            rd_kafka_conf_t* conf = rd_kafka_conf_new();
            rd_kafka_conf_set(conf, "bootstrap.servers", _bootstrap.c_str(), err, sizeof(err));
            rd_kafka_conf_set(conf, "linger.ms", "1", err, sizeof(err));
            rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err, sizeof(err));
            _producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
            ASSERT_NE(_producer, nullptr) << err;
        }
        for (const auto& [k, v] : key_values) {
            rd_kafka_resp_err_t e;
            do {
                e = rd_kafka_producev(_producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
                                      RD_KAFKA_V_KEY(k.empty() ? nullptr : k.data(), k.size()),
                                      RD_KAFKA_V_VALUE(const_cast<char*>(v.data()), v.size()),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(_producer, 10);
            } while (e == RD_KAFKA_RESP_ERR__QUEUE_FULL);
            ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
        }
        ASSERT_EQ(rd_kafka_flush(_producer, 20000), RD_KAFKA_RESP_ERR_NO_ERROR);
    }

    // Reads every partition of `topic` from the start until `want` records
    // arrived or `timeout` passed (no consumer group: nothing is committed).
    std::vector<kafka_record> read(const std::string& topic, int partitions, size_t want,
                                   milliseconds timeout = seconds(20)) {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", _bootstrap.c_str(), err, sizeof(err));
        rd_kafka_conf_set(conf, "group.id", "sluice-test-reader", err, sizeof(err));
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
        rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        rd_kafka_poll_set_consumer(rk);
        rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
        for (int p = 0; p < partitions; p++)
            rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
        std::vector<kafka_record> out;
        auto deadline = clock_type::now() + timeout;
        while (out.size() < want && clock_type::now() < deadline) {
            rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
            if (!m) continue;
            if (!m->err) {
                kafka_record r;
                r.topic = rd_kafka_topic_name(m->rkt);
                r.partition = m->partition;
                r.offset = m->offset;
                r.value.assign(static_cast<const char*>(m->payload), m->len);
                if (m->key) {
                    r.has_key = true;
                    r.key.assign(static_cast<const char*>(m->key), m->key_len);
                }
                out.push_back(std::move(r));
            }
            rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return out;
    }

    // The offsets `group` committed for the partitions of `topic` (-1: none).
    std::vector<int64_t> committed(const std::string& group, const std::string& topic, int partitions) {
        char err[512];
        rd_kafka_conf_t* conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "bootstrap.servers", _bootstrap.c_str(), err, sizeof(err));
        rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof(err));
        rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(partitions);
        for (int p = 0; p < partitions; p++) rd_kafka_topic_partition_list_add(parts, topic.c_str(), p);
        std::vector<int64_t> out(size_t(partitions), -1);
        if (rd_kafka_committed(rk, parts, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR)
            for (int i = 0; i < parts->cnt; i++)
                if (!parts->elems[i].err) out[size_t(parts->elems[i].partition)] = parts->elems[i].offset;
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_destroy(rk);
        return out;
    }

    int64_t committed_total(const std::string& group, const std::string& topic, int partitions) {
        int64_t sum = 0;
        for (int64_t o : committed(group, topic, partitions)) sum += std::max<int64_t>(o, 0);
        return sum;
    }

private:
    rd_kafka_t* _rk = nullptr;
    rd_kafka_t* _producer = nullptr;
    rd_kafka_mock_cluster_t* _cluster = nullptr;
    std::string _bootstrap;
};

// Avro long (zig-zag varint) and bytes, to build Flume-format records by hand.
inline void avro_long(std::string& out, int64_t v) {
    uint64_t z = (uint64_t(v) << 1) ^ uint64_t(v >> 63);
    while (z >= 0x80) {
        out.push_back(char((z & 0x7f) | 0x80));
        z >>= 7;
    }
    out.push_back(char(z));
}
inline void avro_bytes(std::string& out, std::string_view s) {
    avro_long(out, int64_t(s.size()));
    out.append(s);
}
inline std::string flume_datum(const std::vector<std::pair<std::string, std::string>>& headers, std::string_view body) {
    std::string out;
    if (!headers.empty()) {
        avro_long(out, int64_t(headers.size()));
        for (const auto& [k, v] : headers) {
            avro_bytes(out, k);
            avro_bytes(out, v);
        }
    }
    out.push_back(0);
    avro_bytes(out, body);
    return out;
}

}  // namespace sluice_it
