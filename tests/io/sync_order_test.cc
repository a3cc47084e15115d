// SPDX-License-Identifier: Apache-2.0
// SyncOrder: a grouped sync's commits count as durable only once every sync
// started before it has succeeded, whatever order the syncs finish in.
#include "io/sync_order.h"

#include <gtest/gtest.h>

namespace sluice {
namespace {

TEST(SyncOrder, SyncsFinishingInTurnGrantTheirTargets) {
    SyncOrder o;
    EXPECT_TRUE(o.idle());
    uint64_t a = o.start(10);
    EXPECT_FALSE(o.idle());
    o.finish(a, true);
    EXPECT_EQ(o.durable(), 10u);
    uint64_t b = o.start(25);
    o.finish(b, true);
    EXPECT_EQ(o.durable(), 25u);
    EXPECT_TRUE(o.idle());
}

// The case that made SyncOrder: the chain moved to a new segment while the
// first sync ran, the second sync covered only the new one and finished
// first. Commits 11..20 may lie in the first sync's segment.
TEST(SyncOrder, ALaterSyncFinishingFirstWaitsForTheEarlierOne) {
    SyncOrder o;
    uint64_t a = o.start(10);
    uint64_t b = o.start(20);
    o.finish(b, true);
    EXPECT_EQ(o.durable(), 0u) << "sync a still runs";
    EXPECT_FALSE(o.idle());
    uint64_t c = o.start(30);
    o.finish(a, true);
    EXPECT_EQ(o.durable(), 20u) << "a and b are done; c runs";
    o.finish(c, true);
    EXPECT_EQ(o.durable(), 30u);
    EXPECT_TRUE(o.idle());
}

TEST(SyncOrder, AFailedSyncAndEverySyncStartedAfterItGrantNothing) {
    SyncOrder o;
    uint64_t a = o.start(10);
    uint64_t b = o.start(20);
    uint64_t c = o.start(30);
    o.finish(b, false);
    o.finish(a, true);
    EXPECT_EQ(o.durable(), 10u) << "a succeeded; b failed";
    o.finish(c, true);
    EXPECT_EQ(o.durable(), 10u) << "c's target includes commits of b's segments, which c did not sync";
    EXPECT_TRUE(o.idle());
    uint64_t retry = o.start(35);  // b's segments again, with whatever is dirty now
    o.finish(retry, true);
    EXPECT_EQ(o.durable(), 35u);
}

TEST(SyncOrder, ASyncThatFinishedBeforeTheFailureStillWaitsForIt) {
    SyncOrder o;
    uint64_t a = o.start(10);
    uint64_t b = o.start(20);
    o.finish(b, true);  // out of turn, waiting for a
    o.finish(a, false);
    EXPECT_EQ(o.durable(), 0u) << "b's commits may lie in a's segments";
    EXPECT_TRUE(o.idle());
}

TEST(SyncOrder, FinishedThroughTellsWhetherEverySyncUpToOneHasFinished) {
    SyncOrder o;
    EXPECT_TRUE(o.finished_through(o.started())) << "nothing started";
    uint64_t a = o.start(10);
    uint64_t b = o.start(20);
    EXPECT_EQ(o.started(), b);
    o.finish(b, true);
    EXPECT_FALSE(o.finished_through(b)) << "a runs";
    o.finish(a, true);
    EXPECT_TRUE(o.finished_through(b));
    uint64_t c = o.start(30);
    EXPECT_TRUE(o.finished_through(b)) << "c started after b";
    EXPECT_FALSE(o.finished_through(c));
}

}  // namespace
}  // namespace sluice
