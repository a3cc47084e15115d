// SPDX-License-Identifier: Apache-2.0
// Counter groups (per-shard blocks summed on read, Flume's attribute sets)
// and java_double (Java's Double.toString).
#include "core/metrics.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "core/runtime.h"

namespace sluice {
namespace {

// ------------------------------------------------------------ java_double
// Double.toString: "d.ddd" (at least one digit after the point) for
// 1e-3 <= |v| < 1e7, else computerized scientific "d.dddE[-]n"; as many
// digits as needed to tell the value apart from its neighbours.

TEST(JavaDouble, DecimalRange) {
    EXPECT_EQ(java_double(0.0), "0.0");
    EXPECT_EQ(java_double(-0.0), "-0.0");
    EXPECT_EQ(java_double(1.0), "1.0");
    EXPECT_EQ(java_double(50.0), "50.0");
    EXPECT_EQ(java_double(0.5), "0.5");
    EXPECT_EQ(java_double(100.0), "100.0");
    EXPECT_EQ(java_double(-1.5), "-1.5");
    EXPECT_EQ(java_double(0.1), "0.1");
    EXPECT_EQ(java_double(0.001), "0.001");  // the lower bound is decimal
    EXPECT_EQ(java_double(12345.678), "12345.678");
    EXPECT_EQ(java_double(9999999.0), "9999999.0");
    EXPECT_EQ(java_double(100.0 / 3.0), "33.333333333333336");
    EXPECT_EQ(java_double(2.0 / 3.0), "0.6666666666666666");
}

TEST(JavaDouble, ScientificRange) {
    EXPECT_EQ(java_double(1.7976931348623157e308), "1.7976931348623157E308");
    EXPECT_EQ(java_double(1.0e7), "1.0E7");
    EXPECT_EQ(java_double(1.234e-5), "1.234E-5");
    EXPECT_EQ(java_double(1.0e-4), "1.0E-4");
    EXPECT_EQ(java_double(9.999e-4), "9.999E-4");
    EXPECT_EQ(java_double(123456789.0), "1.23456789E8");
    EXPECT_EQ(java_double(-2.5e10), "-2.5E10");
    EXPECT_EQ(java_double(1.0e21), "1.0E21");
    EXPECT_EQ(java_double(DBL_MIN), "2.2250738585072014E-308");
}

TEST(JavaDouble, NonFinite) {
    EXPECT_EQ(java_double(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(java_double(std::numeric_limits<double>::infinity()), "Infinity");
    EXPECT_EQ(java_double(-std::numeric_limits<double>::infinity()), "-Infinity");
}

// Values just above 1e-3 can need up to 17 significant digits, i.e. up to 19
// digits after the point. 100.0 / 30000 is ChannelFillPercentage of a memory
// channel of capacity 30000 holding one event.
TEST(JavaDouble, SmallDecimalsKeepAllSignificantDigits) {
    EXPECT_EQ(java_double(100.0 / 30000), "0.0033333333333333335");
    EXPECT_EQ(java_double(0.0012345678901234567), "0.0012345678901234567");
}

TEST(JavaDouble, RoundTrips) {
    // Whatever the format, the text must parse back to the same double.
    for (double v : {0.1, 0.2, 0.3, 1.0 / 3, 2.0 / 3, 1e-3, 1.5e-3, 7.0 / 3000, 123.456, 1e6 + 0.1, 9999999.999,
                     1e7 + 1, 3.14159e-7, 6.02214076e23, 100.0 / 7, 100.0 / 30000, 100.0 / 70000}) {
        std::string s = java_double(v);
        EXPECT_EQ(std::strtod(s.c_str(), nullptr), v) << s;
    }
}

// ------------------------------------------------------------ CounterGroup

TEST(CounterGroup, SumsShardBlocks) {
    CounterGroup g("SOURCE", "r1", source_counter_names(), 3);
    EXPECT_EQ(g.type(), "SOURCE");
    EXPECT_EQ(g.name(), "r1");
    g.add(0, source_counter::event_received, 5);
    g.add(2, source_counter::event_received, 7);
    g.add(1, source_counter::event_received);
    g.add(1, source_counter::event_accepted, 2);
    EXPECT_EQ(g.get(source_counter::event_received), 13u);
    EXPECT_EQ(g.get(source_counter::event_accepted), 2u);
    EXPECT_EQ(g.get(source_counter::channel_write_fail), 0u);
    // set(): a per-shard gauge, summed over shards on read.
    g.set(1, source_counter::open_connection_count, 4);
    g.set(2, source_counter::open_connection_count, 1);
    g.set(1, source_counter::open_connection_count, 3);
    EXPECT_EQ(g.get(source_counter::open_connection_count), 4u);
}

// Latency in microseconds: a sub-millisecond delivery lands in its own
// bucket (not "at most 1 ms"); bounds are inclusive; shards add up.
TEST(CounterGroup, LatencyHistogramHasMicrosecondBuckets) {
    CounterGroup g("SINK", "k1", sink_counter_names(), 2);
    EXPECT_FALSE(g.latency().any);
    g.record_latency(0, 30, 1);          // <= 50 us
    g.record_latency(1, 50, 2);          // <= 50 us (inclusive)
    g.record_latency(0, 180, 4);         // <= 250 us
    g.record_latency(1, 2200, 1);        // <= 2.5 ms
    g.record_latency(0, 90'000'000, 1);  // past 60 s: +Inf
    g.record_latency(0, -5, 1);          // a clock step back: first bucket, adds 0 to the sum
    auto l = g.latency();
    const auto& bounds = CounterGroup::latency_bounds_us;
    auto at = [&](int64_t bound) {
        for (size_t b = 0; b < bounds.size(); b++)
            if (bounds[b] == bound) return l.cumulative[b];
        ADD_FAILURE() << "no bucket " << bound;
        return uint64_t(0);
    };
    EXPECT_TRUE(l.any);
    EXPECT_EQ(at(50), 4u);
    EXPECT_EQ(at(100), 4u);
    EXPECT_EQ(at(250), 8u);
    EXPECT_EQ(at(1000), 8u);
    EXPECT_EQ(at(2000), 8u);
    EXPECT_EQ(at(2500), 9u);
    EXPECT_EQ(at(60'000'000), 9u);
    EXPECT_EQ(l.cumulative.back(), 10u);
    EXPECT_EQ(l.sum_us, 30u + 100 + 720 + 2200 + 90'000'000);
}

TEST(CounterGroup, BlocksOfNeighbouringShardsDoNotOverlap) {
    // 10 counters round up to 16 per shard: the last counter of shard 0 and
    // the first of shard 1 must be distinct.
    CounterGroup g("SINK", "k1", sink_counter_names(), 2);
    g.add(0, sink_counter::channel_read_fail, 1);
    g.add(1, sink_counter::connection_created, 10);
    EXPECT_EQ(g.get(sink_counter::channel_read_fail), 1u);
    EXPECT_EQ(g.get(sink_counter::connection_created), 10u);
    EXPECT_EQ(g.get(sink_counter::connection_closed), 0u);
}

std::vector<std::string> keys_of(const std::vector<std::pair<std::string, std::string>>& snap) {
    std::vector<std::string> v;
    for (auto& [k, value] : snap) v.push_back(k);
    return v;
}

std::string value_of(const std::vector<std::pair<std::string, std::string>>& snap, const std::string& key) {
    for (auto& [k, v] : snap)
        if (k == key) return v;
    return "<absent>";
}

TEST(CounterGroup, SnapshotHasEveryAttribute) {
    CounterGroup src("SOURCE", "r1", source_counter_names(), 2);
    src.add(1, source_counter::append_batch_accepted, 3);
    auto snap = src.snapshot();
    EXPECT_EQ(keys_of(snap),
              (std::vector<std::string>{"EventReceivedCount", "EventAcceptedCount", "AppendReceivedCount",
                                        "AppendAcceptedCount", "AppendBatchReceivedCount",
                                        "AppendBatchAcceptedCount", "OpenConnectionCount", "EventReadFail",
                                        "ChannelWriteFail", "GenericProcessingFail", "StartTime", "StopTime",
                                        "Type"}));
    EXPECT_EQ(value_of(snap, "AppendBatchAcceptedCount"), "3");
    EXPECT_EQ(value_of(snap, "EventReceivedCount"), "0");
    EXPECT_EQ(value_of(snap, "StartTime"), "0");
    EXPECT_EQ(value_of(snap, "StopTime"), "0");
    EXPECT_EQ(value_of(snap, "Type"), "SOURCE");

    CounterGroup sink("SINK", "k1", sink_counter_names(), 1);
    EXPECT_EQ(keys_of(sink.snapshot()),
              (std::vector<std::string>{"ConnectionCreatedCount", "ConnectionClosedCount", "ConnectionFailedCount",
                                        "BatchEmptyCount", "BatchUnderflowCount", "BatchCompleteCount",
                                        "EventDrainAttemptCount", "EventDrainSuccessCount", "EventWriteFail",
                                        "ChannelReadFail", "StartTime", "StopTime", "Type"}));

    CounterGroup ch("CHANNEL", "c1", channel_counter_names(), 1);
    ch.set_gauges([](auto& out) {
        out.emplace_back("ChannelSize", "7");
        out.emplace_back("ChannelCapacity", "100");
    });
    EXPECT_EQ(keys_of(ch.snapshot()),
              (std::vector<std::string>{"EventPutAttemptCount", "EventTakeAttemptCount", "EventPutSuccessCount",
                                        "EventTakeSuccessCount", "ChannelSize", "ChannelCapacity", "StartTime",
                                        "StopTime", "Type"}));
    EXPECT_EQ(value_of(ch.snapshot(), "ChannelSize"), "7");
}

TEST(CounterGroup, StartAndStopTimes) {
    CounterGroup g("SINK", "k1", sink_counter_names(), 1);
    int64_t before = wall_clock_ms();
    g.mark_started();
    int64_t start = std::stoll(value_of(g.snapshot(), "StartTime"));
    EXPECT_GE(start, before);
    EXPECT_LE(start, wall_clock_ms());
    EXPECT_EQ(value_of(g.snapshot(), "StopTime"), "0") << "0 while running";
    g.mark_stopped();
    int64_t stop = std::stoll(value_of(g.snapshot(), "StopTime"));
    EXPECT_GE(stop, start);
    g.mark_started();  // restarted: running again
    EXPECT_EQ(value_of(g.snapshot(), "StopTime"), "0");
}

TEST(CounterGroup, ShardsCountConcurrentlyWhileReadersRead) {
    constexpr unsigned shards = 4;
    constexpr uint64_t per_shard = 200000;
    CounterGroup g("SOURCE", "r1", source_counter_names(), shards);
    std::atomic<bool> done{false};
    std::thread reader([&] {
        uint64_t last = 0;
        while (!done.load()) {
            uint64_t now = g.get(source_counter::event_received);
            EXPECT_GE(now, last) << "a sum of monotonic counters never goes down";
            last = now;
            (void)g.snapshot();
        }
    });
    std::vector<std::thread> writers;
    for (unsigned s = 0; s < shards; s++)
        writers.emplace_back([&, s] {
            for (uint64_t i = 0; i < per_shard; i++) g.add(s, source_counter::event_received);
        });
    for (auto& t : writers) t.join();
    done = true;
    reader.join();
    EXPECT_EQ(g.get(source_counter::event_received), shards * per_shard);
}

TEST(MetricsRegistry, GroupsInCreationOrderAndSummary) {
    MetricsRegistry reg;
    auto& src = reg.add("SOURCE", "r1", source_counter_names(), 2);
    auto& sink = reg.add("SINK", "k1", sink_counter_names(), 2);
    src.add(0, source_counter::event_received, 10);
    src.add(1, source_counter::event_received, 2);
    sink.add(1, sink_counter::event_drain_success, 12);
    auto groups = reg.groups();
    ASSERT_EQ(groups.size(), 2u);
    EXPECT_EQ(groups[0], &src);
    EXPECT_EQ(groups[1], &sink);

    std::string summary = reg.summary();
    auto nl = summary.find('\n');
    ASSERT_NE(nl, std::string::npos);
    std::string line1 = summary.substr(0, nl);
    std::string line2 = summary.substr(nl + 1);
    EXPECT_EQ(line1.rfind("SOURCE.r1:", 0), 0u) << line1;
    EXPECT_NE(line1.find(" EventReceivedCount=12"), std::string::npos) << line1;
    EXPECT_EQ(line2.rfind("SINK.k1:", 0), 0u) << line2;
    EXPECT_NE(line2.find(" EventDrainSuccessCount=12"), std::string::npos) << line2;
    EXPECT_EQ(summary.back(), '\n');
    EXPECT_EQ(summary.find("StartTime"), std::string::npos);
    EXPECT_EQ(summary.find("Type"), std::string::npos);
}

}  // namespace
}  // namespace sluice
