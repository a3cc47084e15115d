// SPDX-License-Identifier: Apache-2.0
// SpscRing: staging, publishing, capacity, wrap-around, and a two-thread
// transfer of many items in order.
#include "core/spsc_ring.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <thread>
#include <vector>

namespace sluice {
namespace {

std::vector<uint64_t> drain(SpscRing<uint64_t>& ring, size_t max = SIZE_MAX) {
    std::vector<uint64_t> out;
    ring.poll([&](const uint64_t& v) { out.push_back(v); }, max);
    return out;
}

TEST(SpscRing, StagedItemsAreInvisibleUntilPublish) {
    SpscRing<uint64_t> ring(8);
    EXPECT_TRUE(ring.empty_approx());
    ASSERT_TRUE(ring.try_stage(1));
    ASSERT_TRUE(ring.try_stage(2));
    EXPECT_TRUE(ring.empty_approx());
    EXPECT_TRUE(drain(ring).empty());

    EXPECT_TRUE(ring.publish());
    EXPECT_FALSE(ring.empty_approx());
    EXPECT_FALSE(ring.publish()) << "nothing new to publish";

    ASSERT_TRUE(ring.try_stage(3));  // staged after the publish: still invisible
    EXPECT_EQ(drain(ring), (std::vector<uint64_t>{1, 2}));
    EXPECT_TRUE(ring.empty_approx());
    EXPECT_TRUE(drain(ring).empty());

    EXPECT_TRUE(ring.publish());
    EXPECT_EQ(drain(ring), (std::vector<uint64_t>{3}));
    EXPECT_TRUE(ring.empty_approx());
}

TEST(SpscRing, FullRingRefusesUntilConsumed) {
    SpscRing<uint64_t> ring(4);
    for (uint64_t i = 0; i < 4; i++) ASSERT_TRUE(ring.try_stage(i)) << i;
    EXPECT_FALSE(ring.try_stage(99)) << "staged items count against capacity";
    ring.publish();
    EXPECT_FALSE(ring.try_stage(99)) << "published and unread items count too";

    EXPECT_EQ(drain(ring, 1), (std::vector<uint64_t>{0}));
    EXPECT_TRUE(ring.try_stage(4));
    EXPECT_FALSE(ring.try_stage(99));
    ring.publish();
    // Two polls: see PollDeliversEverythingPublishedBeforeTheCall for one.
    auto got = drain(ring);
    auto more = drain(ring);
    got.insert(got.end(), more.begin(), more.end());
    EXPECT_EQ(got, (std::vector<uint64_t>{1, 2, 3, 4}));
    EXPECT_TRUE(ring.empty_approx());
}

// poll() is documented to call fn "for every visible item (up to max)". It
// only reloads the producer's tail when it has consumed everything up to the
// tail it cached last time, so items published after a partial poll (max)
// are left for the next call even though they are visible.
TEST(SpscRing, PollDeliversEverythingPublishedBeforeTheCall) {
    SpscRing<uint64_t> ring(8);
    ASSERT_TRUE(ring.try_stage(1));
    ASSERT_TRUE(ring.try_stage(2));
    ring.publish();
    EXPECT_EQ(drain(ring, 1), (std::vector<uint64_t>{1}));  // caches tail = 2
    ASSERT_TRUE(ring.try_stage(3));
    ring.publish();                                          // tail = 3, visible
    EXPECT_FALSE(ring.empty_approx());
    EXPECT_EQ(drain(ring), (std::vector<uint64_t>{2, 3}));
}

TEST(SpscRing, PollRespectsMax) {
    SpscRing<uint64_t> ring(16);
    for (uint64_t i = 0; i < 10; i++) ASSERT_TRUE(ring.try_stage(i));
    ring.publish();
    EXPECT_EQ(drain(ring, 3), (std::vector<uint64_t>{0, 1, 2}));
    EXPECT_FALSE(ring.empty_approx());
    EXPECT_EQ(drain(ring, 0), (std::vector<uint64_t>{}));
    EXPECT_EQ(drain(ring, 100), (std::vector<uint64_t>{3, 4, 5, 6, 7, 8, 9}));
    EXPECT_TRUE(ring.empty_approx());
}

TEST(SpscRing, WrapsAroundManyTimes) {
    SpscRing<uint64_t> ring(8);
    uint64_t next_in = 0, next_out = 0;
    // Irregular batch sizes so head and tail cross the wrap point at every offset.
    for (int round = 0; round < 5000; round++) {
        size_t batch = 1 + size_t(round * 7) % 8;
        for (size_t i = 0; i < batch; i++) ASSERT_TRUE(ring.try_stage(next_in++));
        EXPECT_FALSE(batch == 8 && ring.try_stage(12345));
        ring.publish();
        size_t got = ring.poll([&](const uint64_t& v) { ASSERT_EQ(v, next_out++); });
        ASSERT_EQ(got, batch);
    }
    EXPECT_EQ(next_in, next_out);
    EXPECT_TRUE(ring.empty_approx());
}

TEST(SpscRing, EmptyApproxSeesPublishedItemsOnly) {
    SpscRing<uint64_t> ring(2);
    EXPECT_TRUE(ring.empty_approx());
    ASSERT_TRUE(ring.try_stage(7));
    EXPECT_TRUE(ring.empty_approx());
    ring.publish();
    EXPECT_FALSE(ring.empty_approx());
    EXPECT_EQ(drain(ring), (std::vector<uint64_t>{7}));
    EXPECT_TRUE(ring.empty_approx());
}

struct wide {
    uint64_t seq;
    uint64_t check;
};

TEST(SpscRing, TwoThreadsMoveTenMillionItemsInOrder) {
    constexpr uint64_t total = 10'000'000;
    constexpr size_t batch = 32;
    SpscRing<wide> ring(1024);

    std::thread producer([&] {
        uint64_t i = 0;
        while (i < total) {
            size_t staged = 0;
            while (staged < batch && i < total && ring.try_stage(wide{i, i * 0x9E3779B97F4A7C15ull})) {
                i++;
                staged++;
            }
            if (!ring.publish()) std::this_thread::yield();
        }
    });

    uint64_t expect = 0, sum = 0, bad = 0;
    while (expect < total) {
        size_t n = ring.poll([&](const wide& w) {
            if (w.seq != expect || w.check != w.seq * 0x9E3779B97F4A7C15ull) bad++;
            sum += w.seq;
            expect++;
        });
        if (n == 0) std::this_thread::yield();
    }
    producer.join();

    EXPECT_EQ(bad, 0u) << "items out of order or torn";
    EXPECT_EQ(sum, total * (total - 1) / 2);
    EXPECT_TRUE(ring.empty_approx());
    EXPECT_FALSE(ring.publish());
}

}  // namespace
}  // namespace sluice
