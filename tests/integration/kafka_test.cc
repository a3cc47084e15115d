// SPDX-License-Identifier: Apache-2.0
// The kafka source and sink (docs/kafka.md) through the real agent, against
// librdkafka's mock cluster (3 brokers, several partitions) started inside
// the test, with kcat as an independent client.
#include <set>
#include <sstream>

#include "tests/integration/kafka_harness.h"

namespace sluice_it {
namespace {

constexpr int partitions = 4;

class kafka_test : public ::testing::Test {
protected:
    void TearDown() override {
        for (auto* a : {&_a, &_b}) {
            if (a->running()) {
                exit_result r = a->stop(seconds(45));
                EXPECT_TRUE(r.exited && r.signal == 0 && r.code == 0) << "agent at teardown: " << describe(r);
                if (HasFailure() || getenv("SLUICE_TEST_VERBOSE")) std::cerr << "agent stderr:\n" << tail(r.err) << "\n";
            } else if (HasFailure()) {
                std::cerr << "agent stderr:\n" << tail(a->stderr_text()) << "\n";
            }
        }
    }
    static std::string tail(const std::string& s, size_t n = 6000) {
        return s.size() <= n ? s : "..." + s.substr(s.size() - n);
    }

    void start(agent_process& a, const std::string& config, unsigned shards = 1) {
        agent_options o;
        o.shards = shards;
        a.start(_dir.path(), config, o);
    }

    // kafka source r1 -> memory c1 -> file_roll k1 writing to `out`.
    std::string source_config(const std::string& topic, const std::string& out, const std::string& group = "g1",
                              const std::string& extra = "") {
        return "a1.sources = r1\n"
               "a1.channels = c1\n"
               "a1.sinks = k1\n"
               "a1.sources.r1.type = org.apache.flume.source.kafka.KafkaSource\n"
               "a1.sources.r1.kafka.bootstrap.servers = " + _kafka.bootstrap() + "\n"
               "a1.sources.r1.kafka.topics = " + topic + "\n"
               "a1.sources.r1.kafka.consumer.group.id = " + group + "\n"
               "a1.sources.r1.kafka.consumer.auto.offset.reset = earliest\n"
               "a1.sources.r1.kafka.consumer.session.timeout.ms = 3000\n"
               "a1.sources.r1.kafka.consumer.heartbeat.interval.ms = 100\n"
               "a1.sources.r1.batchSize = 100\n"
               "a1.sources.r1.channels = c1\n" + extra +
               "a1.channels.c1.type = memory\n"
               "a1.channels.c1.capacity = 100000\n"
               "a1.channels.c1.transactionCapacity = 1000\n"
               "a1.sinks.k1.type = file_roll\n"
               "a1.sinks.k1.channel = c1\n"
               "a1.sinks.k1.sink.directory = " + out + "\n"
               "a1.sinks.k1.sink.rollInterval = 0\n"
               "a1.sinks.k1.sink.serializer = header_and_text\n";
    }

    static std::vector<std::pair<std::string, std::string>> numbered(const std::string& prefix, int from, int to) {
        std::vector<std::pair<std::string, std::string>> kv;
        for (int i = from; i < to; i++) kv.emplace_back("k" + std::to_string(i), prefix + std::to_string(i));
        return kv;
    }

    // The bodies in file_roll output lines "{headers} body".
    static std::multiset<std::string> bodies(const std::string& dir) {
        std::multiset<std::string> out;
        for (auto& l : read_output_bodies(dir)) {
            auto sp = l.rfind("} ");
            out.insert(sp == std::string::npos ? l : l.substr(sp + 2));
        }
        return out;
    }

    // At least once: a rebalance may deliver records twice; this counts each once.
    static size_t distinct_bodies(const std::string& dir) {
        auto b = bodies(dir);
        return std::set<std::string>(b.begin(), b.end()).size();
    }

    // A counter of the summary the agent prints at stop ("SOURCE.r1: A=1 B=2"), or -1.
    static long long summary_counter(const std::string& err, const std::string& component, const std::string& name) {
        size_t line = err.rfind(component + ": ");
        if (line == std::string::npos) return -1;
        std::string text = err.substr(line, err.find('\n', line) - line);
        size_t at = text.find(" " + name + "=");
        return at == std::string::npos ? -1 : std::atoll(text.c_str() + at + name.size() + 2);
    }

    // An agent that replays n events ("ev<i>", times 1000 + i) through a
    // memory channel (transactions of 100) into the kafka sink k1 producing
    // to `topic`, with `sink_keys` ("key = value" lines under a1.sinks.k1.) added.
    std::string replay_into_kafka(int n, const std::string& topic, const std::string& sink_keys) {
        std::string events;
        for (int i = 0; i < n; i++) events += std::to_string(1000 + i) + " ev" + std::to_string(i) + "\n";
        std::string path = _dir.write("events.txt", events);
        std::string cfg =
            "a1.sources = r1\n"
            "a1.channels = c1\n"
            "a1.sinks = k1\n"
            "a1.sources.r1.type = replay\n"
            "a1.sources.r1.path = " + path + "\n"
            "a1.sources.r1.channels = c1\n"
            "a1.channels.c1.type = memory\n"
            "a1.channels.c1.capacity = 10000\n"
            "a1.channels.c1.transactionCapacity = 100\n"
            "a1.sinks.k1.type = kafka\n"
            "a1.sinks.k1.kafka.bootstrap.servers = " + _kafka.bootstrap() + "\n"
            "a1.sinks.k1.kafka.topic = " + topic + "\n"
            "a1.sinks.k1.kafka.producer.linger.ms = 1\n"
            "a1.sinks.k1.channel = c1\n";
        std::istringstream keys(sink_keys);
        for (std::string line; std::getline(keys, line);) cfg += "a1.sinks.k1." + line + "\n";
        return cfg;
    }

    temp_dir _dir;
    mock_kafka _kafka;
    agent_process _a, _b;
};

TEST_F(kafka_test, source_delivers_every_record_with_flume_headers_and_commits_offsets) {
    _kafka.create_topic("in", partitions);
    std::string out = _dir.file("out");
    start(_a, source_config("in", out), 2);
    ASSERT_NO_FATAL_FAILURE(_kafka.produce("in", numbered("v", 0, 500)));
    // At least once: records delivered before a rebalance whose offsets did
    // not commit come again, so wait for every distinct record, not a count.
    ASSERT_TRUE(poll_until([&] { return distinct_bodies(out) >= 500; }, seconds(30)))
        << count_output_lines(out) << " lines, " << distinct_bodies(out) << " distinct\n" << tail(_a.stderr_text());
    auto lines = read_output_bodies(out);
    std::set<std::string> seen;
    for (const auto& l : lines) {
        EXPECT_NE(l.find("topic=in"), std::string::npos) << l;
        EXPECT_NE(l.find("partition="), std::string::npos) << l;
        EXPECT_NE(l.find("offset="), std::string::npos) << l;
        EXPECT_NE(l.find("timestamp="), std::string::npos) << l;
        EXPECT_NE(l.find("key=k"), std::string::npos) << l;
        seen.insert(l.substr(l.rfind("} ") + 2));
    }
    EXPECT_EQ(seen.size(), 500u);
    // Every offset is committed once the events are in the channel.
    EXPECT_TRUE(poll_until([&] { return _kafka.committed_total("g1", "in", partitions) == 500; }, seconds(15)))
        << _kafka.committed_total("g1", "in", partitions);
    // Flume's Kafka source counters: idle for over two batchDurationMillis
    // (1 s), each shard counts its empty spans; the summary at stop lists
    // the non-zero counters.
    std::this_thread::sleep_for(milliseconds(2500));
    exit_result r = _a.stop();
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
    EXPECT_GE(summary_counter(r.err, "SOURCE.r1", "KafkaEmptyCount"), 2) << tail(r.err);
    EXPECT_GE(summary_counter(r.err, "SOURCE.r1", "KafkaEventGetTimer"), 0) << tail(r.err);
    EXPECT_GE(summary_counter(r.err, "SOURCE.r1", "KafkaCommitTimer"), 0) << tail(r.err);
}

TEST_F(kafka_test, records_produced_with_kcat_reach_the_agent) {
    _kafka.create_topic("kc", partitions);
    std::string out = _dir.file("out");
    start(_a, source_config("kc", out));
    std::string input;
    for (int i = 0; i < 50; i++) input += "key" + std::to_string(i) + ":line" + std::to_string(i) + "\n";
    std::string in_path = _dir.write("kcat-in.txt", input);
    exit_result r = run_command({"/bin/sh", "-c", "kcat -P -b " + _kafka.bootstrap() + " -t kc -K: -l " + in_path},
                                _dir.path(), {}, seconds(30));
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r) << r.err;
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) >= 50; }, seconds(30))) << tail(_a.stderr_text());
    auto got = bodies(out);
    for (int i = 0; i < 50; i++) EXPECT_EQ(got.count("line" + std::to_string(i)), 1u) << i;
    for (const auto& l : read_output_bodies(out)) {
        auto k = l.find("key=key");
        ASSERT_NE(k, std::string::npos) << l;
    }
}

TEST_F(kafka_test, sink_produces_what_kcat_reads_back_keyed_and_in_flume_format) {
    // Flume-format records in: their headers (region, key) become the
    // event's; the sink writes Flume-format records to out-<region> keyed by
    // the header `key`.
    _kafka.create_topic("fin", partitions);
    _kafka.create_topic("out-eu", partitions);
    _kafka.create_topic("out-us", partitions);
    std::vector<std::pair<std::string, std::string>> recs;
    for (int i = 0; i < 200; i++) {
        std::string region = i % 2 ? "eu" : "us";
        recs.emplace_back("", flume_datum({{"region", region}, {"key", "user" + std::to_string(i % 10)}},
                                          "event" + std::to_string(i)));
    }
    std::string cfg =
        "a1.sources = r1\n"
        "a1.channels = c1\n"
        "a1.sinks = k1\n"
        "a1.sources.r1.type = kafka\n"
        "a1.sources.r1.kafka.bootstrap.servers = " + _kafka.bootstrap() + "\n"
        "a1.sources.r1.kafka.topics = fin\n"
        "a1.sources.r1.kafka.consumer.auto.offset.reset = earliest\n"
        "a1.sources.r1.useFlumeEventFormat = true\n"
        "a1.sources.r1.kafka.consumer.session.timeout.ms = 3000\n"
        "a1.sources.r1.kafka.consumer.heartbeat.interval.ms = 100\n"
        "a1.sources.r1.setTopicHeader = false\n"
        "a1.sources.r1.channels = c1\n"
        "a1.channels.c1.type = memory\n"
        "a1.channels.c1.capacity = 10000\n"
        "a1.channels.c1.transactionCapacity = 1000\n"
        "a1.sinks.k1.type = org.apache.flume.sink.kafka.KafkaSink\n"
        "a1.sinks.k1.kafka.bootstrap.servers = " + _kafka.bootstrap() + "\n"
        "a1.sinks.k1.kafka.topic = out-%{region}\n"
        "a1.sinks.k1.useFlumeEventFormat = true\n"
        "a1.sinks.k1.kafka.producer.linger.ms = 1\n"
        "a1.sinks.k1.channel = c1\n";
    start(_a, cfg, 2);
    ASSERT_NO_FATAL_FAILURE(_kafka.produce("fin", recs));
    auto eu = _kafka.read("out-eu", partitions, 100);
    auto us = _kafka.read("out-us", partitions, 100);
    ASSERT_EQ(eu.size(), 100u) << tail(_a.stderr_text());
    ASSERT_EQ(us.size(), 100u) << tail(_a.stderr_text());
    std::map<std::string, std::set<int32_t>> partitions_of_key;
    std::multiset<std::string> eu_bodies, expected_eu_bodies;
    for (int i = 1; i < 200; i += 2) expected_eu_bodies.insert("event" + std::to_string(i));
    for (const auto& r : eu) {
        ASSERT_TRUE(r.has_key);
        partitions_of_key[r.key].insert(r.partition);
        // The value is a Flume datum with the original headers, and the body last.
        EXPECT_NE(r.value.find("region"), std::string::npos);
        size_t at = r.value.rfind("event");
        ASSERT_NE(at, std::string::npos) << printable(r.value);
        std::string body = r.value.substr(at), body_field;
        avro_bytes(body_field, body);
        EXPECT_TRUE(r.value.ends_with(body_field)) << printable(r.value);
        eu_bodies.insert(body);
    }
    EXPECT_EQ(eu_bodies, expected_eu_bodies) << "every eu event once, with its own value";
    for (const auto& [key, parts] : partitions_of_key) EXPECT_EQ(parts.size(), 1u) << "key " << key;

    // kcat, an independent client, reads the same records.
    exit_result r = run_command({"/bin/sh", "-c", "kcat -C -b " + _kafka.bootstrap() +
                                                      " -t out-us -o beginning -e -q -f '%k\\n'"},
                                _dir.path(), {}, seconds(30));
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r) << r.err;
    EXPECT_EQ(count_occurrences(r.out, "user"), 100u) << r.out;
}

TEST_F(kafka_test, two_agents_split_partitions_and_restart_without_losing_or_skipping) {
    _kafka.create_topic("shared", partitions);
    std::string out_a = _dir.file("out-a"), out_b = _dir.file("out-b");
    std::string out_a2 = _dir.file("out-a2"), out_b2 = _dir.file("out-b2");
    auto total = [&] {
        return count_output_lines(out_a) + count_output_lines(out_b) + count_output_lines(out_a2) +
               count_output_lines(out_b2);
    };
    start(_a, source_config("shared", out_a, "grp"));
    start(_b, source_config("shared", out_b, "grp"));
    // Both members joined: each was assigned partitions.
    ASSERT_TRUE(poll_until(
        [&] {
            return _a.stderr_text().find("assigned 2 partition") != std::string::npos &&
                   _b.stderr_text().find("assigned 2 partition") != std::string::npos;
        },
        seconds(30)))
        << tail(_a.stderr_text()) << "\n---\n" << tail(_b.stderr_text());
    ASSERT_NO_FATAL_FAILURE(_kafka.produce("shared", numbered("first", 0, 400)));
    ASSERT_TRUE(poll_until([&] { return total() >= 400; }, seconds(30))) << total();
    EXPECT_GT(count_output_lines(out_a), 0u);
    EXPECT_GT(count_output_lines(out_b), 0u);

    // Both stop; records produced meanwhile wait in Kafka.
    exit_result ra = _a.stop(), rb = _b.stop();
    ASSERT_TRUE(ra.exited && ra.code == 0) << describe(ra);
    ASSERT_TRUE(rb.exited && rb.code == 0) << describe(rb);
    ASSERT_NO_FATAL_FAILURE(_kafka.produce("shared", numbered("second", 0, 400)));
    start(_a, source_config("shared", out_a2, "grp"));
    start(_b, source_config("shared", out_b2, "grp"));
    ASSERT_TRUE(poll_until([&] { return total() >= 800; }, seconds(40))) << total();
    std::multiset<std::string> all;
    for (const auto& d : {out_a, out_b, out_a2, out_b2})
        for (const auto& b : bodies(d)) all.insert(b);
    // Nothing lost or skipped. A record may come twice (at-least-once): a
    // member that joins while the other is reading triggers a rebalance,
    // and the commits of a rebalancing group may be refused.
    size_t duplicates = 0;
    for (int i = 0; i < 400; i++) {
        for (const char* round : {"first", "second"}) {
            size_t n = all.count(round + std::to_string(i));
            EXPECT_GE(n, 1u) << round << i;
            duplicates += n > 1 ? n - 1 : 0;
        }
    }
    std::cerr << "redelivered after rebalances: " << duplicates << "\n";
}

TEST_F(kafka_test, source_commits_only_what_the_channel_took) {
    // A channel of 10 events with no sink: the source holds the rest and
    // commits the offsets of those 10 only.
    _kafka.create_topic("full", 1);
    std::string cfg =
        "a1.sources = r1\n"
        "a1.channels = c1\n"
        "a1.sources.r1.type = kafka\n"
        "a1.sources.r1.kafka.bootstrap.servers = " + _kafka.bootstrap() + "\n"
        "a1.sources.r1.kafka.topics = full\n"
        "a1.sources.r1.kafka.consumer.group.id = gf\n"
        "a1.sources.r1.kafka.consumer.session.timeout.ms = 3000\n"
        "a1.sources.r1.kafka.consumer.heartbeat.interval.ms = 100\n"
        "a1.sources.r1.kafka.consumer.auto.offset.reset = earliest\n"
        "a1.sources.r1.batchSize = 5\n"
        "a1.sources.r1.channels = c1\n"
        "a1.channels.c1.type = memory\n"
        "a1.channels.c1.capacity = 10\n"
        "a1.channels.c1.transactionCapacity = 5\n";
    start(_a, cfg);
    ASSERT_NO_FATAL_FAILURE(_kafka.produce("full", numbered("x", 0, 100), 0));
    // The channel fills up (10 events, in batches of up to 5 as they come):
    // the committed offset stops there, at what the channel took.
    int64_t committed = -1;
    ASSERT_TRUE(poll_until(
        [&] {
            int64_t before = _kafka.committed_total("gf", "full", 1);
            if (before <= 0) return false;
            std::this_thread::sleep_for(milliseconds(700));
            committed = _kafka.committed_total("gf", "full", 1);
            return committed == before;
        },
        seconds(20)));
    EXPECT_GE(committed, 6);
    EXPECT_LE(committed, 10);
    // The next owner of the group starts right after them: nothing skipped.
    _a.kill_now();
    std::string out = _dir.file("out");
    start(_b, source_config("full", out, "gf"));
    size_t rest = size_t(100 - committed);
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) >= rest; }, seconds(30))) << tail(_b.stderr_text());
    std::this_thread::sleep_for(milliseconds(300));
    auto got = bodies(out);
    EXPECT_EQ(got.size(), rest);
    for (int i = int(committed); i < 100; i++) EXPECT_EQ(got.count("x" + std::to_string(i)), 1u) << i;
}

TEST_F(kafka_test, source_into_file_channel_commits_after_the_sync_and_survives_kill) {
    // With the durable file channel, offsets are committed from when_durable
    // (after the grouped fdatasync). kill -9 loses nothing: what was
    // committed to Kafka is on disk, the rest is read again.
    _kafka.create_topic("dur", partitions);
    std::string out = _dir.file("out");
    std::string file_channel =
        "a1.channels.c1.type = file\n"
        "a1.channels.c1.checkpointDir = " + _dir.file("cp") + "\n"
        "a1.channels.c1.dataDirs = " + _dir.file("data") + "\n"
        "a1.channels.c1.minimumRequiredSpace = 1048576\n";
    std::string cfg = source_config("dur", out, "gd");
    cfg = cfg.substr(0, cfg.find("a1.channels.c1.type")) + file_channel + cfg.substr(cfg.find("a1.sinks.k1.type"));
    start(_a, cfg);
    ASSERT_NO_FATAL_FAILURE(_kafka.produce("dur", numbered("d", 0, 300)));
    ASSERT_TRUE(poll_until([&] { return _kafka.committed_total("gd", "dur", partitions) == 300; }, seconds(30)))
        << _kafka.committed_total("gd", "dur", partitions) << "\n" << tail(_a.stderr_text());
    _a.kill_now();
    ASSERT_NO_FATAL_FAILURE(_kafka.produce("dur", numbered("e", 0, 100)));
    start(_b, cfg);
    ASSERT_TRUE(poll_until(
        [&] {
            auto got = bodies(out);
            for (int i = 0; i < 300; i++)
                if (!got.count("d" + std::to_string(i))) return false;
            for (int i = 0; i < 100; i++)
                if (!got.count("e" + std::to_string(i))) return false;
            return true;
        },
        seconds(30)))
        << count_output_lines(out) << "\n" << tail(_b.stderr_text());
}

TEST_F(kafka_test, sink_retries_on_broker_errors_and_drops_nothing) {
    // Produce requests fail (not retried by the client: retries=0): the sink
    // rolls its transactions back and sends them again later.
    _kafka.create_topic("faulty", 1);
    rd_kafka_mock_push_request_errors(_kafka.cluster(), 0 /* Produce */, 6, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    std::string cfg = replay_into_kafka(300, "faulty", "kafka.producer.retries = 0");
    start(_a, cfg);
    // The replay source ends; the agent drains the channel into Kafka and exits.
    exit_result r = _a.wait(seconds(40));
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r) << tail(r.err);
    EXPECT_NE(r.err.find("rolled back and retried"), std::string::npos) << tail(r.err);
    // Flume's RollbackCount counts them (the summary at stop lists non-zero counters).
    EXPECT_GE(summary_counter(r.err, "SINK.k1", "RollbackCount"), 1) << tail(r.err);
    EXPECT_GE(summary_counter(r.err, "SINK.k1", "KafkaEventSendTimer"), 0) << tail(r.err);
    auto recs = _kafka.read("faulty", 1, 300);
    std::set<std::string> values;
    for (const auto& rec : recs) values.insert(rec.value);
    for (int i = 0; i < 300; i++) EXPECT_EQ(values.count("ev" + std::to_string(i)), 1u) << i;
}

TEST_F(kafka_test, sink_resumes_after_a_full_local_queue_without_losing_or_repeating) {
    // librdkafka's local queue holds 7 records, a take 100: every run the
    // sink hands over stops at QUEUE_FULL part way and resumes where it stopped.
    _kafka.create_topic("narrow", 1);
    const int n = 3000;
    std::string cfg = replay_into_kafka(n, "narrow", "flumeBatchSize = 100\nkafka.producer.queue.buffering.max.messages = 7");
    start(_a, cfg);
    exit_result r = _a.wait(seconds(60));
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r) << tail(r.err);
    EXPECT_EQ(summary_counter(r.err, "SINK.k1", "EventDrainSuccessCount"), n) << tail(r.err);
    EXPECT_LE(summary_counter(r.err, "SINK.k1", "RollbackCount"), 0) << "nothing failed (absent or 0): " << tail(r.err);
    // One partition: the records are the events, once each, in order.
    auto recs = _kafka.read("narrow", 1, n);
    ASSERT_EQ(recs.size(), size_t(n));
    for (int i = 0; i < n; i++) ASSERT_EQ(recs[size_t(i)].value, "ev" + std::to_string(i)) << "record " << i;
}

TEST_F(kafka_test, kafka_channel_carries_events_and_headers_through_the_topic) {
    // netcat r1 and kafka source r2 put into a kafka channel; file_roll takes
    // from it. Produce requests fail at first (client retries off): the
    // channel produces them again. r2's offsets are committed only once the
    // channel's broker acknowledged its events (when_durable).
    _kafka.create_topic("chan", partitions);
    _kafka.create_topic("src", partitions);
    int port = free_port();
    std::string out = _dir.file("out");
    std::string cfg =
        "a1.sources = r1 r2\n"
        "a1.channels = c1\n"
        "a1.sinks = k1\n"
        "a1.sources.r1.type = netcat\n"
        "a1.sources.r1.bind = 127.0.0.1\n"
        "a1.sources.r1.port = " + std::to_string(port) + "\n"
        "a1.sources.r1.channels = c1\n"
        "a1.sources.r2.type = kafka\n"
        "a1.sources.r2.kafka.bootstrap.servers = " + _kafka.bootstrap() + "\n"
        "a1.sources.r2.kafka.topics = src\n"
        "a1.sources.r2.kafka.consumer.group.id = gsrc\n"
        "a1.sources.r2.kafka.consumer.session.timeout.ms = 3000\n"
        "a1.sources.r2.kafka.consumer.heartbeat.interval.ms = 100\n"
        "a1.sources.r2.kafka.consumer.auto.offset.reset = earliest\n"
        "a1.sources.r2.channels = c1\n"
        "a1.channels.c1.type = org.apache.flume.channel.kafka.KafkaChannel\n"
        "a1.channels.c1.kafka.bootstrap.servers = " + _kafka.bootstrap() + "\n"
        "a1.channels.c1.kafka.topic = chan\n"
        "a1.channels.c1.kafka.consumer.group.id = gchan\n"
        "a1.channels.c1.kafka.consumer.session.timeout.ms = 3000\n"
        "a1.channels.c1.kafka.consumer.heartbeat.interval.ms = 100\n"
        "a1.channels.c1.kafka.consumer.auto.offset.reset = earliest\n"
        "a1.channels.c1.kafka.producer.retries = 0\n"
        "a1.channels.c1.kafka.producer.linger.ms = 1\n"
        "a1.sinks.k1.type = file_roll\n"
        "a1.sinks.k1.channel = c1\n"
        "a1.sinks.k1.sink.directory = " + out + "\n"
        "a1.sinks.k1.sink.rollInterval = 0\n"
        "a1.sinks.k1.sink.serializer = header_and_text\n";
    rd_kafka_mock_push_request_errors(_kafka.cluster(), 0 /* Produce */, 3, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                      RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
    start(_a, cfg, 2);
    ASSERT_TRUE(_a.wait_port(port, seconds(15))) << tail(_a.stderr_text());
    tcp_client c(port);
    std::string lines;
    for (int i = 0; i < 100; i++) lines += "net" + std::to_string(i) + "\n";
    ASSERT_TRUE(c.send_all(lines));
    ASSERT_EQ(count_occurrences(c.read_exact(300), "OK\n"), 100u);
    ASSERT_NO_FATAL_FAILURE(_kafka.produce("src", numbered("kaf", 0, 100)));
    // Two shards' consumers share the group: a rebalance may deliver some
    // records twice (at least once), so wait for the distinct bodies.
    ASSERT_TRUE(poll_until([&] { return distinct_bodies(out) >= 200; }, seconds(40)))
        << count_output_lines(out) << " lines, " << distinct_bodies(out) << " distinct\n" << tail(_a.stderr_text());
    auto got = bodies(out);
    for (int i = 0; i < 100; i++) {
        EXPECT_GE(got.count("net" + std::to_string(i)), 1u) << i;
        EXPECT_GE(got.count("kaf" + std::to_string(i)), 1u) << i;
    }
    // The headers r2 set travel through the channel (parseAsFlumeEvent).
    std::string text = read_output_text(out);
    EXPECT_NE(text.find("topic=src"), std::string::npos);
    EXPECT_TRUE(poll_until([&] { return _kafka.committed_total("gsrc", "src", partitions) == 100; }, seconds(15)));
    EXPECT_TRUE(poll_until([&] { return _kafka.committed_total("gchan", "chan", partitions) >= 200; }, seconds(15)))
        << _kafka.committed_total("gchan", "chan", partitions);
    // The channel's records are Flume datums (a zero byte ends the headers).
    auto recs = _kafka.read("chan", partitions, 200);
    ASSERT_GE(recs.size(), 200u);
    size_t with_body = 0;
    for (const auto& r : recs)
        if (r.value.find("net") != std::string::npos || r.value.find("kaf") != std::string::npos) with_body++;
    EXPECT_GE(with_body, 200u);
    // The first puts waited for the retried produce requests: Flume's
    // KafkaEventSendTimer on the channel is over a millisecond.
    exit_result r = _a.stop();
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
    EXPECT_GE(summary_counter(r.err, "CHANNEL.c1", "KafkaEventSendTimer"), 1) << tail(r.err);
    EXPECT_GE(summary_counter(r.err, "CHANNEL.c1", "RollbackCount"), 0) << tail(r.err);
}

TEST_F(kafka_test, configuration_errors_name_the_key) {
    std::string cfg =
        "a1.sources = r1\n"
        "a1.channels = c1\n"
        "a1.sources.r1.type = kafka\n"
        "a1.sources.r1.kafka.bootstrap.servers = 127.0.0.1:1\n"
        "a1.sources.r1.kafka.consumer.no.such.property = 1\n"
        "a1.sources.r1.channels = c1\n"
        "a1.channels.c1.type = memory\n";
    std::string path = _dir.write("bad.properties", cfg);
    exit_result r = run_command({sluice_binary(), "check", "-n", "a1", "-f", path}, _dir.path());
    ASSERT_TRUE(r.exited);
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("a1.sources.r1.kafka.topics"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("a1.sources.r1.kafka.consumer.no.such.property"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice_it
