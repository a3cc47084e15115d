// SPDX-License-Identifier: Apache-2.0
// The memory channel against Flume's MemoryChannel semantics
// (reference/flume.md §3, §8.1, §11), and the ChannelProcessor.
#include "core/memory_channel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/channel.h"
#include "core/component.h"
#include "core/metrics.h"

namespace sluice {
namespace {

constexpr std::string_view put_queue_full_5 =
    "Put queue for MemoryTransaction of capacity 5 full, consider committing more frequently, increasing "
    "capacity or increasing thread count";
constexpr std::string_view full_text =
    "Space for commit to queue couldn't be acquired. Sinks are likely not keeping up with sources, or the "
    "buffer size is too tight";
constexpr std::string_view byte_full_800 =
    "Cannot commit transaction. Byte capacity allocated to store event body 800.0reached.";

// A memory channel built the way the agent builds one: a ComponentConfig,
// ComponentSettings over the descriptor's keys, and make_channel.
class test_channel {
public:
    explicit test_channel(const std::map<std::string, std::string>& props, unsigned shards = 1,
                          std::string name = "c1")
        : _descriptor(memory_channel_descriptor()),
          _counters("CHANNEL", name, channel_counter_names(), shards) {
        _config.kind = ComponentKind::channel;
        _config.name = name;
        _config.key_prefix = "a1.channels." + name + ".";
        _config.props["type"] = ConfigValue{"memory", 1};
        for (auto& [k, v] : props) _config.props[k] = ConfigValue{v, 2};
        _settings = ComponentSettings(&_config, &_descriptor.keys);
        ChannelContext ctx{_settings, shards, _counters};
        auto made = _descriptor.make_channel(ctx);
        EXPECT_TRUE(made.is_ok()) << made.status().to_string();
        if (made) _channel = std::move(made.value());
    }
    Channel& operator*() { return *_channel; }
    Channel* operator->() { return _channel.get(); }
    Channel* get() { return _channel.get(); }
    CounterGroup& counters() { return _counters; }
    std::string attribute(const std::string& key) {
        for (auto& [k, v] : _counters.snapshot())
            if (k == key) return v;
        return "<absent>";
    }

private:
    ComponentDescriptor _descriptor;
    ComponentConfig _config;
    ComponentSettings _settings;
    CounterGroup _counters;
    std::unique_ptr<Channel> _channel;  // last: destroyed first (its gauges point into it)
};

EventSpan make_span(const std::vector<std::string>& bodies) {
    auto b = std::make_shared<EventBatch>();
    for (auto& body : bodies) b->add(body);
    uint32_t n = b->size();
    return EventSpan{std::move(b), 0, n};
}

// n bodies "<prefix><first>", "<prefix><first+1>", ...
std::vector<std::string> names(const std::string& prefix, int first, int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; i++) v.push_back(prefix + std::to_string(first + i));
    return v;
}

std::vector<std::string> bodies_of(const std::vector<EventSpan>& spans) {
    std::vector<std::string> v;
    for (auto& s : spans)
        for (uint32_t i = 0; i < s.size(); i++) v.emplace_back(s[i].body());
    return v;
}

Status put_commit(Channel& ch, unsigned shard, const std::vector<std::string>& bodies) {
    auto tx = ch.begin_put(shard);
    Status st = tx->put(make_span(bodies));
    if (st) st = tx->commit();
    if (!st) tx->rollback();
    return st;
}

// Takes up to max and commits; returns the bodies.
std::vector<std::string> take_commit(Channel& ch, unsigned shard, uint32_t max = 1000) {
    auto tx = ch.begin_take(shard);
    while (tx->size() < max && tx->take(max - tx->size()) > 0) {
    }
    auto v = bodies_of(tx->events());
    EXPECT_TRUE(tx->commit().is_ok());
    return v;
}

// Everything on the slice, over as many take transactions as it needs.
std::vector<std::string> take_all(Channel& ch, unsigned shard) {
    std::vector<std::string> all;
    for (;;) {
        auto v = take_commit(ch, shard);
        if (v.empty()) return all;
        all.insert(all.end(), v.begin(), v.end());
    }
}

std::string rep(char c, size_t n) { return std::string(n, c); }

TEST(MemoryChannel, PutsAreInvisibleUntilCommit) {
    test_channel ch({{"capacity", "100"}, {"transactionCapacity", "10"}});
    auto put = ch->begin_put(0);
    ASSERT_TRUE(put->put(make_span({"a", "b"})).is_ok());
    ASSERT_TRUE(put->put(make_span({"c"})).is_ok());
    EXPECT_EQ(put->size(), 3u);
    {
        auto take = ch->begin_take(0);
        EXPECT_EQ(take->take(10), 0u);
        EXPECT_TRUE(take->events().empty());
    }
    EXPECT_EQ(ch->size(), 0u);
    EXPECT_EQ(ch->slice_size(0), 0u);
    ASSERT_TRUE(put->commit().is_ok());
    EXPECT_EQ(put->size(), 0u);
    EXPECT_EQ(ch->size(), 3u);
    EXPECT_EQ(ch->slice_size(0), 3u);
    EXPECT_EQ(take_commit(*ch, 0), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(ch->size(), 0u);
}

TEST(MemoryChannel, RolledBackOrDestroyedPutsNeverAppear) {
    test_channel ch({{"capacity", "100"}, {"transactionCapacity", "10"}});
    {
        auto put = ch->begin_put(0);
        ASSERT_TRUE(put->put(make_span({"x"})).is_ok());
        put->rollback();
        EXPECT_EQ(put->size(), 0u);
        EXPECT_TRUE(put->commit().is_ok());  // nothing left to commit
    }
    {
        auto put = ch->begin_put(0);
        ASSERT_TRUE(put->put(make_span({"y"})).is_ok());
    }  // destroyed open: rolled back
    EXPECT_EQ(ch->size(), 0u);
    EXPECT_TRUE(take_commit(*ch, 0).empty());
}

TEST(MemoryChannel, CommitIsAllOrNothingAndCanBeRetried) {
    test_channel ch({{"capacity", "10"}, {"transactionCapacity", "10"}});
    ASSERT_TRUE(put_commit(*ch, 0, names("a", 0, 8)).is_ok());
    auto put = ch->begin_put(0);
    ASSERT_TRUE(put->put(make_span(names("b", 0, 3))).is_ok());
    Status st = put->commit();
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(st.message(), full_text);
    // None of the three became visible, and the transaction is still open.
    EXPECT_EQ(ch->size(), 8u);
    EXPECT_EQ(ch->slice_size(0), 8u);
    EXPECT_EQ(put->size(), 3u);

    EXPECT_EQ(take_commit(*ch, 0, 1), (std::vector<std::string>{"a0"}));
    ASSERT_TRUE(put->commit().is_ok()) << "retrying once there is room";
    EXPECT_EQ(ch->size(), 10u);
    auto all = take_commit(*ch, 0);
    std::vector<std::string> expect = names("a", 1, 7);
    for (auto& b : names("b", 0, 3)) expect.push_back(b);
    EXPECT_EQ(all, expect);
}

TEST(MemoryChannel, CapacityIsSharedAcrossShards) {
    test_channel ch({{"capacity", "10"}, {"transactionCapacity", "10"}}, 2);
    ASSERT_TRUE(put_commit(*ch, 0, names("s0-", 0, 6)).is_ok());
    Status st = put_commit(*ch, 1, names("s1-", 0, 5));
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(st.message(), full_text);
    EXPECT_EQ(std::string(memory_channel_full_text), full_text);
    EXPECT_EQ(ch->size(), 6u);
    EXPECT_EQ(ch->slice_size(1), 0u);

    ASSERT_TRUE(put_commit(*ch, 1, names("s1-", 0, 4)).is_ok());
    EXPECT_EQ(ch->size(), 10u);
    EXPECT_EQ(ch->slice_size(0), 6u);
    EXPECT_EQ(ch->slice_size(1), 4u);
    EXPECT_EQ(put_commit(*ch, 0, {"one more"}).code(), errc::channel_full);

    // Each shard takes only its own slice; a take on shard 1 frees room for shard 0.
    EXPECT_EQ(take_commit(*ch, 1, 2), (std::vector<std::string>{"s1-0", "s1-1"}));
    EXPECT_TRUE(put_commit(*ch, 0, {"s0-6", "s0-7"}).is_ok());
    EXPECT_EQ(take_commit(*ch, 0), names("s0-", 0, 8));
    EXPECT_EQ(take_commit(*ch, 1), names("s1-", 2, 2));
    EXPECT_EQ(ch->size(), 0u);
}

TEST(MemoryChannel, PutBeyondTransactionCapacityFailsWithNothingAdded) {
    test_channel ch({{"capacity", "100"}, {"transactionCapacity", "5"}});
    EXPECT_EQ(ch->transaction_capacity(), 5u);
    auto put = ch->begin_put(0);
    ASSERT_TRUE(put->put(make_span(names("e", 0, 3))).is_ok());
    Status st = put->put(make_span(names("e", 3, 3)));
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(st.message(), put_queue_full_5);
    EXPECT_EQ(put->size(), 3u) << "the failed put added nothing";
    ASSERT_TRUE(put->put(make_span(names("e", 3, 2))).is_ok());
    EXPECT_EQ(put->size(), 5u);
    EXPECT_EQ(put->put(make_span({"e5"})).message(), put_queue_full_5);
    ASSERT_TRUE(put->commit().is_ok());
    EXPECT_EQ(take_commit(*ch, 0), names("e", 0, 5));

    // A single span larger than the transaction.
    auto put2 = ch->begin_put(0);
    EXPECT_EQ(put2->put(make_span(names("f", 0, 6))).message(), put_queue_full_5);
    EXPECT_EQ(put2->size(), 0u);
}

TEST(MemoryChannel, TakeIsFifoAcrossSpansAndSplitsSpans) {
    test_channel ch({{"capacity", "100"}, {"transactionCapacity", "100"}});
    ASSERT_TRUE(put_commit(*ch, 0, names("a", 0, 3)).is_ok());
    {
        // Two spans in one put transaction.
        auto put = ch->begin_put(0);
        ASSERT_TRUE(put->put(make_span(names("b", 0, 4))).is_ok());
        ASSERT_TRUE(put->put(make_span(names("c", 0, 2))).is_ok());
        ASSERT_TRUE(put->commit().is_ok());
    }
    auto take = ch->begin_take(0);
    EXPECT_EQ(take->take(2), 2u);
    EXPECT_EQ(bodies_of(take->events()), (std::vector<std::string>{"a0", "a1"}));
    EXPECT_EQ(take->take(3), 3u);
    EXPECT_EQ(bodies_of(take->events()), (std::vector<std::string>{"a0", "a1", "a2", "b0", "b1"}));
    EXPECT_EQ(ch->slice_size(0), 4u);
    EXPECT_EQ(take->take(100), 4u);
    EXPECT_EQ(bodies_of(take->events()),
              (std::vector<std::string>{"a0", "a1", "a2", "b0", "b1", "b2", "b3", "c0", "c1"}));
    EXPECT_EQ(take->size(), 9u);
    EXPECT_EQ(take->take(100), 0u);
    ASSERT_TRUE(take->commit().is_ok());
    EXPECT_EQ(ch->size(), 0u);
}

TEST(MemoryChannel, TakeNeverExceedsTransactionCapacity) {
    test_channel ch({{"capacity", "100"}, {"transactionCapacity", "5"}});
    for (int i = 0; i < 3; i++) ASSERT_TRUE(put_commit(*ch, 0, names("e", i * 5, 5)).is_ok());
    auto take = ch->begin_take(0);
    EXPECT_EQ(take->take(3), 3u);
    EXPECT_EQ(take->take(100), 2u);
    EXPECT_EQ(take->take(100), 0u) << "the transaction is full";
    EXPECT_EQ(bodies_of(take->events()), names("e", 0, 5));
    ASSERT_TRUE(take->commit().is_ok());
    EXPECT_EQ(ch->size(), 10u);
}

TEST(MemoryChannel, RolledBackTakeReturnsEventsToTheHeadInOrder) {
    test_channel ch({{"capacity", "100"}, {"transactionCapacity", "100"}});
    ASSERT_TRUE(put_commit(*ch, 0, names("e", 0, 4)).is_ok());
    ASSERT_TRUE(put_commit(*ch, 0, names("e", 4, 4)).is_ok());
    {
        auto take = ch->begin_take(0);
        EXPECT_EQ(take->take(1), 1u);
        EXPECT_EQ(take->take(2), 2u);
        EXPECT_EQ(take->take(3), 3u);  // e3 | e4 e5: crosses into the second batch
        EXPECT_EQ(bodies_of(take->events()), names("e", 0, 6));
        EXPECT_EQ(ch->slice_size(0), 2u);
        take->rollback();
        EXPECT_EQ(take->size(), 0u);
        EXPECT_EQ(ch->slice_size(0), 8u);
    }
    // A later put lands behind the returned events.
    ASSERT_TRUE(put_commit(*ch, 0, {"late"}).is_ok());
    auto again = take_commit(*ch, 0);
    auto expect = names("e", 0, 8);
    expect.push_back("late");
    EXPECT_EQ(again, expect);

    // Destroying an open take transaction rolls it back too.
    ASSERT_TRUE(put_commit(*ch, 0, {"x", "y"}).is_ok());
    {
        auto take = ch->begin_take(0);
        EXPECT_EQ(take->take(1), 1u);
    }
    EXPECT_EQ(take_commit(*ch, 0), (std::vector<std::string>{"x", "y"}));
}

TEST(MemoryChannel, TakenEventsAreInvisibleToOtherTakersUntilRollback) {
    test_channel ch({{"capacity", "100"}, {"transactionCapacity", "100"}});
    ASSERT_TRUE(put_commit(*ch, 0, names("e", 0, 5)).is_ok());
    auto t1 = ch->begin_take(0);
    EXPECT_EQ(t1->take(2), 2u);
    auto t2 = ch->begin_take(0);
    EXPECT_EQ(t2->take(100), 3u);
    EXPECT_EQ(bodies_of(t2->events()), names("e", 2, 3));
    auto t3 = ch->begin_take(0);
    EXPECT_EQ(t3->take(100), 0u) << "everything is taken";
    t1->rollback();
    ASSERT_TRUE(t2->commit().is_ok());
    EXPECT_EQ(t3->take(100), 2u);
    EXPECT_EQ(bodies_of(t3->events()), names("e", 0, 2));
    ASSERT_TRUE(t3->commit().is_ok());
    EXPECT_EQ(ch->size(), 0u);
}

TEST(MemoryChannel, TakeCommitFreesCapacityAndRollbackDoesNot) {
    test_channel ch({{"capacity", "5"}, {"transactionCapacity", "5"}});
    ASSERT_TRUE(put_commit(*ch, 0, names("e", 0, 5)).is_ok());
    EXPECT_EQ(put_commit(*ch, 0, {"x"}).code(), errc::channel_full);
    {
        auto take = ch->begin_take(0);
        EXPECT_EQ(take->take(2), 2u);
        EXPECT_EQ(ch->size(), 5u) << "taken but not committed events still hold capacity";
        EXPECT_EQ(put_commit(*ch, 0, {"x"}).code(), errc::channel_full);
        take->rollback();
    }
    EXPECT_EQ(put_commit(*ch, 0, {"x"}).code(), errc::channel_full);
    EXPECT_EQ(take_commit(*ch, 0, 2), names("e", 0, 2));
    EXPECT_EQ(ch->size(), 3u);
    EXPECT_TRUE(put_commit(*ch, 0, {"x", "y"}).is_ok());
    EXPECT_EQ(put_commit(*ch, 0, {"z"}).code(), errc::channel_full);
    EXPECT_EQ(ch->size(), 5u);
}

TEST(MemoryChannel, ByteCapacityCountsHundredByteSlots) {
    // 1000 bytes less 20 % = 800 bytes = 8 slots of 100 bytes.
    test_channel ch({{"capacity", "100"},
                     {"transactionCapacity", "100"},
                     {"byteCapacity", "1000"},
                     {"byteCapacityBufferPercentage", "20"}});
    for (int i = 0; i < 8; i++) ASSERT_TRUE(put_commit(*ch, 0, {rep('a', 100)}).is_ok()) << i;
    Status st = put_commit(*ch, 0, {rep('a', 100)});
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(st.message().substr(0, byte_full_800.size()), byte_full_800) << st.message();
    EXPECT_EQ(st.message(),
              std::string(byte_full_800) +
                  " Please increase heap space/byte capacity allocated to the channel as the sinks may not be "
                  "keeping up with the sources");
    EXPECT_EQ(ch->size(), 8u);

    // Taking frees the slots.
    EXPECT_EQ(take_commit(*ch, 0).size(), 8u);
    // 101 bytes cost two slots: four such events fill the budget.
    for (int i = 0; i < 4; i++) ASSERT_TRUE(put_commit(*ch, 0, {rep('b', 101)}).is_ok()) << i;
    EXPECT_EQ(put_commit(*ch, 0, {"c"}).code(), errc::channel_full);
    EXPECT_EQ(take_commit(*ch, 0).size(), 4u);
    // 1..100 bytes cost one slot; an all-or-nothing commit of 9 fails.
    EXPECT_EQ(put_commit(*ch, 0, names("", 0, 9)).code(), errc::channel_full);
    EXPECT_EQ(ch->size(), 0u);
    EXPECT_TRUE(put_commit(*ch, 0, names("", 0, 8)).is_ok());
    EXPECT_EQ(take_commit(*ch, 0).size(), 8u);
}

TEST(MemoryChannel, EmptyBodiesCostOneSlot) {
    test_channel ch({{"capacity", "100"},
                     {"transactionCapacity", "100"},
                     {"byteCapacity", "1000"},
                     {"byteCapacityBufferPercentage", "20"}});
    std::vector<std::string> empties(8, "");
    ASSERT_TRUE(put_commit(*ch, 0, empties).is_ok());
    Status st = put_commit(*ch, 0, {""});
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(st.message().substr(0, byte_full_800.size()), byte_full_800);
    EXPECT_EQ(take_commit(*ch, 0), empties);
}

TEST(MemoryChannel, FailedEventCommitsReleaseTheirByteSlots) {
    // 8 slots, 5 events: a commit that passes the byte check and then fails
    // on the event count must give its slots back.
    test_channel ch({{"capacity", "5"},
                     {"transactionCapacity", "5"},
                     {"byteCapacity", "1000"},
                     {"byteCapacityBufferPercentage", "20"}});
    ASSERT_TRUE(put_commit(*ch, 0, names("e", 0, 5)).is_ok());  // 5 slots
    for (int i = 0; i < 5; i++) {
        Status st = put_commit(*ch, 0, names("f", 0, 3));  // 3 slots fit, 3 events do not
        EXPECT_EQ(st.message(), full_text) << i;
    }
    EXPECT_EQ(take_commit(*ch, 0).size(), 5u);
    EXPECT_TRUE(put_commit(*ch, 0, {rep('g', 400), rep('h', 400)}).is_ok()) << "slots leaked by failed commits";
}

TEST(MemoryChannel, ByteCapacityZeroIsUnbounded) {
    test_channel ch({{"capacity", "1000"}, {"transactionCapacity", "1000"}, {"byteCapacity", "0"}});
    std::vector<std::string> big(200, rep('z', 5000));
    EXPECT_TRUE(put_commit(*ch, 0, big).is_ok());
}

TEST(MemoryChannel, CountersAndGauges) {
    test_channel ch({{"capacity", "10"}, {"transactionCapacity", "10"}});
    auto& c = ch.counters();
    ASSERT_TRUE(put_commit(*ch, 0, names("e", 0, 5)).is_ok());
    EXPECT_EQ(c.get(channel_counter::event_put_attempt), 5u);
    EXPECT_EQ(c.get(channel_counter::event_put_success), 5u);
    {
        auto put = ch->begin_put(0);
        ASSERT_TRUE(put->put(make_span(names("r", 0, 3))).is_ok());
        put->rollback();
    }
    EXPECT_EQ(c.get(channel_counter::event_put_attempt), 8u) << "attempts count every put";
    EXPECT_EQ(c.get(channel_counter::event_put_success), 5u) << "successes only at commit";

    EXPECT_EQ(ch.attribute("ChannelSize"), "5");
    EXPECT_EQ(ch.attribute("ChannelCapacity"), "10");
    EXPECT_EQ(ch.attribute("ChannelFillPercentage"), "50.0");

    {
        auto take = ch->begin_take(0);
        EXPECT_EQ(take->take(2), 2u);    // full take: 2 attempts
        EXPECT_EQ(take->take(10), 3u);   // ran dry: 3 + 1 empty attempt
        EXPECT_EQ(c.get(channel_counter::event_take_attempt), 6u);
        EXPECT_EQ(c.get(channel_counter::event_take_success), 0u);
        ASSERT_TRUE(take->commit().is_ok());
    }
    EXPECT_EQ(c.get(channel_counter::event_take_success), 5u);
    {
        auto take = ch->begin_take(0);
        EXPECT_EQ(take->take(1), 0u);  // empty: one attempt
    }
    EXPECT_EQ(c.get(channel_counter::event_take_attempt), 7u);
    EXPECT_EQ(ch.attribute("ChannelSize"), "0");
    EXPECT_EQ(ch.attribute("ChannelFillPercentage"), "0.0");

    ASSERT_TRUE(put_commit(*ch, 0, names("e", 0, 10)).is_ok());
    EXPECT_EQ(ch.attribute("ChannelFillPercentage"), "100.0");

    auto snap = c.snapshot();
    std::vector<std::string> keys;
    for (auto& [k, v] : snap) keys.push_back(k);
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"ChannelCapacity", "ChannelFillPercentage", "ChannelSize",
                                              "EventPutAttemptCount", "EventPutSuccessCount",
                                              "EventTakeAttemptCount", "EventTakeSuccessCount", "StartTime",
                                              "StopTime", "Type"}));
    EXPECT_EQ(ch.attribute("Type"), "CHANNEL");
    EXPECT_EQ(ch.attribute("EventPutAttemptCount"), "18");
    EXPECT_EQ(ch.attribute("EventPutSuccessCount"), "15");
    EXPECT_EQ(ch.attribute("EventTakeAttemptCount"), "7");
    EXPECT_EQ(ch.attribute("EventTakeSuccessCount"), "5");
}

TEST(MemoryChannel, FillPercentageIsAJavaDouble) {
    test_channel ch({{"capacity", "3"}, {"transactionCapacity", "3"}});
    ASSERT_TRUE(put_commit(*ch, 0, {"a"}).is_ok());
    EXPECT_EQ(ch.attribute("ChannelFillPercentage"), "33.333333333333336");  // Java: 1 * 100.0 / 3
}

// One event in a channel of capacity 30000: Java prints 1 * 100.0 / 30000 as
// 0.0033333333333333335 (17 significant digits).
TEST(MemoryChannel, FillPercentageOfALargeChannel) {
    test_channel ch({{"capacity", "30000"}, {"transactionCapacity", "100"}});
    ASSERT_TRUE(put_commit(*ch, 0, {"a"}).is_ok());
    EXPECT_EQ(ch.attribute("ChannelFillPercentage"), "0.0033333333333333335");
}

TEST(MemoryChannel, AvailabilityListenersFireOnPutCommitAndTakeRollback) {
    test_channel ch({{"capacity", "100"}, {"transactionCapacity", "100"}}, 2);
    int fired0 = 0, fired0b = 0, fired1 = 0;
    ch->on_available(0, [&] { fired0++; });
    ch->on_available(0, [&] { fired0b++; });
    ch->on_available(1, [&] { fired1++; });

    auto put = ch->begin_put(0);
    ASSERT_TRUE(put->put(make_span({"a", "b"})).is_ok());
    EXPECT_EQ(fired0, 0) << "not before commit";
    ASSERT_TRUE(put->commit().is_ok());
    EXPECT_EQ(fired0, 1);
    EXPECT_EQ(fired0b, 1);
    EXPECT_EQ(fired1, 0) << "only the slice's own listeners";

    {
        auto take = ch->begin_take(0);
        EXPECT_EQ(take->take(1), 1u);
        EXPECT_EQ(fired0, 1);
        take->rollback();
        EXPECT_EQ(fired0, 2) << "rolled-back events are available again";
    }
    take_commit(*ch, 0);
    EXPECT_EQ(fired0, 2) << "a take commit makes nothing available";
    EXPECT_FALSE(put_commit(*ch, 0, names("x", 0, 101)).is_ok());  // fails at put: nothing committed
    EXPECT_EQ(fired0, 2);
    ASSERT_TRUE(put_commit(*ch, 1, {"c"}).is_ok());
    EXPECT_EQ(fired1, 1);
    EXPECT_EQ(fired0, 2);
}

TEST(MemoryChannel, KeepAliveAndDefaults) {
    test_channel ch(std::map<std::string, std::string>{});
    EXPECT_EQ(ch->transaction_capacity(), 100u);
    EXPECT_EQ(ch->keep_alive_ms(), 3000);
    EXPECT_EQ(ch.attribute("ChannelCapacity"), "100");
    test_channel ch2(std::map<std::string, std::string>{{"keep-alive", "500ms"}});
    EXPECT_EQ(ch2->keep_alive_ms(), 500);
    EXPECT_EQ(ch2->name(), "c1");
    EXPECT_EQ(ch2->shards(), 1u);
}

// Two threads, each acting as one shard, put and take on their own slice at
// the same time against a shared capacity. Run under TSan.
TEST(MemoryChannel, ConcurrentShardsShareCapacity) {
    constexpr int capacity = 64;
    constexpr int per_thread = 20000;
    test_channel ch({{"capacity", std::to_string(capacity)},
                     {"transactionCapacity", "8"},
                     {"byteCapacity", "100000"}},
                    2);
    std::atomic<int> finished{0};
    std::atomic<bool> over_capacity{false};
    struct result {
        int put = 0, taken = 0, full = 0, out_of_order = 0;
    };
    result results[2];
    auto worker = [&](unsigned shard) {
        result& r = results[shard];
        int next_put = 0, next_take = 0;
        const std::string prefix = "s" + std::to_string(shard) + "-";
        auto take_some = [&](uint32_t max) {
            auto tx = ch->begin_take(shard);
            tx->take(max);
            for (auto& b : bodies_of(tx->events())) {
                if (b != prefix + std::to_string(next_take)) r.out_of_order++;
                next_take++;
            }
            r.taken += int(tx->size());
            EXPECT_TRUE(tx->commit().is_ok());
        };
        unsigned step = 0;
        while (next_put < per_thread) {
            int n = std::min(1 + int(step++ % 8), per_thread - next_put);
            auto tx = ch->begin_put(shard);
            ASSERT_TRUE(tx->put(make_span(names(prefix, next_put, n))).is_ok());
            Status st = tx->commit();
            if (st) {
                next_put += n;
                r.put += n;
            } else {
                EXPECT_EQ(st.code(), errc::channel_full);
                r.full++;
                tx->rollback();
            }
            // Take a little less than we put, so the channel fills up at times.
            if (step % 3 != 0) take_some(uint32_t(1 + step % 7));
        }
        while (r.taken < r.put) take_some(8);
        finished++;
    };
    std::thread observer([&] {
        while (finished.load() < 2) {
            if (ch->size() > uint64_t(capacity)) over_capacity = true;
            auto snap = ch.counters().snapshot();
            (void)snap;
        }
    });
    std::thread t0(worker, 0), t1(worker, 1);
    t0.join();
    t1.join();
    observer.join();

    EXPECT_FALSE(over_capacity.load());
    for (int i = 0; i < 2; i++) {
        EXPECT_EQ(results[i].put, per_thread) << "shard " << i;
        EXPECT_EQ(results[i].taken, per_thread) << "shard " << i;
        EXPECT_EQ(results[i].out_of_order, 0) << "shard " << i;
    }
    EXPECT_EQ(ch->size(), 0u);
    EXPECT_EQ(ch->slice_size(0), 0u);
    EXPECT_EQ(ch->slice_size(1), 0u);
    EXPECT_EQ(ch.counters().get(channel_counter::event_put_success), uint64_t(2 * per_thread));
    EXPECT_EQ(ch.counters().get(channel_counter::event_take_success), uint64_t(2 * per_thread));
    EXPECT_EQ(ch.attribute("ChannelSize"), "0");
    // The byte budget (800 slots) was never the limit, and is all free again.
    EXPECT_TRUE(put_commit(*ch, 0, std::vector<std::string>(8, rep('q', 100))).is_ok());
}

// ------------------------------------------------------------ ChannelProcessor

TEST(ChannelProcessor, RequiredChannelsInOrderResumeWithoutDuplicates) {
    test_channel c1({{"capacity", "10"}, {"transactionCapacity", "5"}}, 1, "c1");
    test_channel c2({{"capacity", "4"}, {"transactionCapacity", "4"}}, 1, "c2");
    test_channel opt({{"capacity", "10"}, {"transactionCapacity", "3"}}, 1, "opt");
    ChannelProcessor proc(0, {c1.get(), c2.get()}, {opt.get()});
    EXPECT_EQ(proc.max_batch(), 3u);

    ChannelProcessor::Progress progress;
    ASSERT_TRUE(proc.put(make_span(names("a", 0, 3)), progress).is_ok());
    EXPECT_EQ(progress.failed, nullptr);
    EXPECT_EQ(c1->size(), 3u);
    EXPECT_EQ(c2->size(), 3u);
    EXPECT_EQ(opt->size(), 3u);

    progress.reset();
    Status st = proc.put(make_span(names("b", 0, 3)), progress);
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(st.message(), full_text);
    EXPECT_EQ(progress.failed, c2.get());
    EXPECT_EQ(progress.next_required, 1u);
    EXPECT_EQ(c1->size(), 6u);
    EXPECT_EQ(c2->size(), 3u);
    EXPECT_EQ(opt->size(), 3u) << "optional channels come after the required ones";

    // Retrying while c2 is still full: c1 must not get the batch again.
    st = proc.put(make_span(names("b", 0, 3)), progress);
    EXPECT_EQ(st.code(), errc::channel_full);
    EXPECT_EQ(c1->size(), 6u);

    EXPECT_EQ(take_commit(*c2, 0), names("a", 0, 3));
    ASSERT_TRUE(proc.put(make_span(names("b", 0, 3)), progress).is_ok());
    EXPECT_EQ(progress.failed, nullptr);

    std::vector<std::string> ab = names("a", 0, 3);
    for (auto& b : names("b", 0, 3)) ab.push_back(b);
    EXPECT_EQ(take_all(*c1, 0), ab) << "every event exactly once, in order";
    EXPECT_EQ(take_all(*c2, 0), names("b", 0, 3));
    EXPECT_EQ(take_all(*opt, 0), ab);
}

TEST(ChannelProcessor, OptionalChannelFailuresAreIgnored) {
    test_channel req({{"capacity", "100"}, {"transactionCapacity", "10"}}, 1, "req");
    test_channel full({{"capacity", "3"}, {"transactionCapacity", "3"}}, 1, "full");
    test_channel small({{"capacity", "100"}, {"transactionCapacity", "10"}}, 1, "small");
    ASSERT_TRUE(put_commit(*full, 0, {"x", "y", "z"}).is_ok());
    ChannelProcessor proc(0, {req.get()}, {full.get(), small.get()});
    EXPECT_EQ(proc.max_batch(), 3u);
    for (int i = 0; i < 3; i++) {
        ChannelProcessor::Progress progress;
        ASSERT_TRUE(proc.put(make_span(names("e", i * 2, 2)), progress).is_ok()) << i;
    }
    EXPECT_EQ(req->size(), 6u);
    EXPECT_EQ(full->size(), 3u);
    EXPECT_EQ(small->size(), 6u) << "a failing optional channel does not stop the next one";
    EXPECT_EQ(take_all(*small, 0), names("e", 0, 6));
}

TEST(ChannelProcessor, NoChannelsDefaultsTheBatch) {
    ChannelProcessor proc(0, {}, {});
    EXPECT_EQ(proc.max_batch(), 1024u);
    ChannelProcessor::Progress progress;
    EXPECT_TRUE(proc.put(make_span({"a"}), progress).is_ok());
}

// ------------------------------------------------------------ SpanPutter

TEST(SpanPutter, HalvesAFailedSpanSoWhatFitsGoesInThenGivesUpTheRest) {
    // Room for 6 of 10 events: the 10 fail whole, then halves go in until one
    // event does not fit, and with no keep-alive it is given up at once.
    test_channel ch({{"capacity", "6"}, {"transactionCapacity", "10"}, {"keep-alive", "0"}});
    ChannelProcessor proc(0, {ch.get()}, {});
    const EventSpan all = make_span(names("e", 0, 10));
    SpanPutter putter;
    std::vector<std::pair<SpanPutter::Outcome, uint32_t>> steps;
    while (putter.next() < all.batch->size()) {
        SpanPutter::Step step = putter.put(proc, all.batch, proc.max_batch());
        steps.emplace_back(step.outcome, step.events);
        if (step.outcome == SpanPutter::Outcome::gave_up) {
            EXPECT_EQ(step.status.code(), errc::channel_full);
        }
    }
    using O = SpanPutter::Outcome;
    // 10 -> 5 fits (5 left room 1), 2 fails -> 1 fits (room 0), then each
    // single event fails and is given up: 1 + 1 + 1 + 1.
    const std::vector<std::pair<O, uint32_t>> expected = {
        {O::committed, 5}, {O::committed, 1}, {O::gave_up, 1}, {O::gave_up, 1}, {O::gave_up, 1}, {O::gave_up, 1}};
    EXPECT_EQ(steps, expected);
    EXPECT_EQ(take_all(*ch, 0), names("e", 0, 6)) << "the events that fit, in order, once each";
}

TEST(SpanPutter, WaitsOnAFullChannelForItsKeepAliveAndResumes) {
    test_channel ch({{"capacity", "4"}, {"transactionCapacity", "4"}, {"keep-alive", "10"}});
    ChannelProcessor proc(0, {ch.get()}, {});
    ASSERT_TRUE(put_commit(*ch, 0, names("old", 0, 4)).is_ok());
    const EventSpan all = make_span(names("e", 0, 6));
    SpanPutter putter;
    using O = SpanPutter::Outcome;
    auto put = [&] {
        SpanPutter::Step step = putter.put(proc, all.batch, 3);
        return std::make_pair(step.outcome, step.events);
    };
    EXPECT_EQ(put(), std::make_pair(O::wait, 1u)) << "halved to one event, then waits (keep-alive 10 s)";
    EXPECT_TRUE(putter.waiting());
    EXPECT_EQ(putter.next(), 0u);
    EXPECT_EQ(take_all(*ch, 0), names("old", 0, 4));
    // Room for 4: the span of 1 it waited with goes in; the cap stays at one
    // event for the rest of this batch.
    EXPECT_EQ(put(), std::make_pair(O::committed, 1u));
    EXPECT_FALSE(putter.waiting());
    EXPECT_EQ(put(), std::make_pair(O::committed, 1u));
    EXPECT_EQ(put(), std::make_pair(O::committed, 1u));
    EXPECT_EQ(put(), std::make_pair(O::committed, 1u));
    EXPECT_EQ(put(), std::make_pair(O::wait, 1u));
    EXPECT_EQ(take_all(*ch, 0), names("e", 0, 4));
    EXPECT_EQ(put(), std::make_pair(O::committed, 1u));
    EXPECT_EQ(put(), std::make_pair(O::committed, 1u));
    EXPECT_EQ(putter.next(), 6u);
    EXPECT_EQ(take_all(*ch, 0), names("e", 4, 2));

    // A new batch starts with full-size spans again.
    putter.restart();
    EXPECT_EQ(put(), std::make_pair(O::committed, 3u));
}

// A channel that says its commits are durable only when the test says so.
class delayed_durable final : public Channel {
public:
    explicit delayed_durable(Channel& inner) : Channel(inner.name(), inner.shards()), _inner(inner) {}
    std::unique_ptr<PutTransaction> begin_put(unsigned s) override {
        _marks++;
        return _inner.begin_put(s);
    }
    std::unique_ptr<TakeTransaction> begin_take(unsigned s) override { return _inner.begin_take(s); }
    void on_available(unsigned s, std::function<void()> fn) override { _inner.on_available(s, std::move(fn)); }
    uint32_t transaction_capacity() const override { return _inner.transaction_capacity(); }
    int64_t keep_alive_ms() const override { return _inner.keep_alive_ms(); }
    uint64_t size() const override { return _inner.size(); }
    uint64_t slice_size(unsigned s) const override { return _inner.slice_size(s); }
    uint64_t commit_mark(unsigned) const override { return _marks; }
    void when_durable(unsigned, uint64_t mark, std::function<void()> fn) override {
        if (mark <= _durable) return fn();
        _waiting.emplace_back(mark, std::move(fn));
    }
    void make_durable(uint64_t mark) {
        _durable = mark;
        while (!_waiting.empty() && _waiting.front().first <= mark) {
            auto fn = std::move(_waiting.front().second);
            _waiting.erase(_waiting.begin());
            fn();
        }
    }

private:
    Channel& _inner;
    uint64_t _marks = 0, _durable = 0;
    std::vector<std::pair<uint64_t, std::function<void()>>> _waiting;
};

TEST(ChannelProcessor, WhenDurableWaitsForEveryRequiredChannel) {
    test_channel m1({{"capacity", "10"}}, 1, "c1"), m2({{"capacity", "10"}}, 1, "c2");
    delayed_durable d1(*m1), d2(*m2);
    ChannelProcessor proc(0, {&d1, &d2}, {});
    std::vector<int> acked;
    ChannelProcessor::Progress progress;
    ASSERT_TRUE(proc.put(make_span({"a"}), progress).is_ok());
    proc.when_durable([&] { acked.push_back(1); });
    progress.reset();
    ASSERT_TRUE(proc.put(make_span({"b"}), progress).is_ok());
    proc.when_durable([&] { acked.push_back(2); });
    EXPECT_TRUE(acked.empty());
    d1.make_durable(2);
    EXPECT_TRUE(acked.empty()) << "c2 has nothing on disk yet";
    d2.make_durable(1);
    EXPECT_EQ(acked, std::vector<int>({1}));
    d2.make_durable(2);
    EXPECT_EQ(acked, std::vector<int>({1, 2}));
    proc.when_durable([&] { acked.push_back(3); });
    EXPECT_EQ(acked, std::vector<int>({1, 2, 3})) << "nothing new to wait for: runs inline";

    ChannelProcessor memory_only(0, {m1.get()}, {});
    bool ran = false;
    memory_only.when_durable([&] { ran = true; });
    EXPECT_TRUE(ran) << "a memory channel is as durable as it gets at commit";
}

}  // namespace
}  // namespace sluice
