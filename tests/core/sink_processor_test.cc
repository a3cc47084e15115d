// SPDX-License-Identifier: Apache-2.0
// Failover and load_balance sink processors against Flume's behaviour
// (reference/flume.md §2.5), with fake sinks and a fake clock.
#include "core/sink_processor.h"

#include <gtest/gtest.h>

#include <map>

namespace sluice {
namespace {

// A sink whose next outcome the test sets; counts its calls.
struct fake_sink {
    std::string name;
    SinkStatus outcome = SinkStatus::ready;
    int calls = 0;
    GroupSink group_sink() {
        return GroupSink{name, [this] {
                             calls++;
                             return outcome;
                         }};
    }
};

std::vector<GroupSink> group(std::vector<fake_sink*> sinks) {
    std::vector<GroupSink> v;
    for (auto* s : sinks) v.push_back(s->group_sink());
    return v;
}

// Which sink delivered: the one whose call count went up last with `ready`.
std::string run_once(SinkProcessor& p, int64_t now, std::vector<fake_sink*> sinks, SinkStatus* outcome = nullptr) {
    std::map<std::string, int> before;
    for (auto* s : sinks) before[s->name] = s->calls;
    SinkStatus o = p.process(now);
    if (outcome) *outcome = o;
    std::string who;
    for (auto* s : sinks)
        if (s->calls > before[s->name] && s->outcome != SinkStatus::failed) who = s->name;
    return who;
}

// ---------------------------------------------------------------- failover

TEST(FailoverProcessor, HighestPriorityDeliversAndFailuresMoveOn) {
    fake_sink k1{"k1"}, k2{"k2"}, k3{"k3"};
    auto p = make_failover_processor(group({&k1, &k2, &k3}), {5, 10, 1}, 30000);
    EXPECT_EQ(run_once(*p, 0, {&k1, &k2, &k3}), "k2");
    EXPECT_EQ(run_once(*p, 1, {&k1, &k2, &k3}), "k2");
    k2.outcome = SinkStatus::failed;
    EXPECT_EQ(run_once(*p, 2, {&k1, &k2, &k3}), "k1") << "the failing sink is set aside, the next one delivers";
    EXPECT_EQ(k2.calls, 3);
    EXPECT_EQ(run_once(*p, 3, {&k1, &k2, &k3}), "k1");
    EXPECT_EQ(k2.calls, 3) << "a dead sink is not tried during its penalty";
    k1.outcome = SinkStatus::failed;
    EXPECT_EQ(run_once(*p, 4, {&k1, &k2, &k3}), "k3");
    k3.outcome = SinkStatus::failed;
    SinkStatus o;
    EXPECT_EQ(run_once(*p, 5, {&k1, &k2, &k3}, &o), "");
    EXPECT_EQ(o, SinkStatus::failed) << "All sinks failed to process, nothing left to failover to";
}

TEST(FailoverProcessor, PenaltyDoublesUpToMaxPenaltyAndRecoveryRestoresThePrimary) {
    fake_sink primary{"primary"}, backup{"backup"};
    auto p = make_failover_processor(group({&primary, &backup}), {10, 5}, 10000);
    primary.outcome = SinkStatus::failed;
    int64_t t = 1000;
    EXPECT_EQ(run_once(*p, t, {&primary, &backup}), "backup");  // 1st failure: 2 s
    // When the primary is retried, after each failure: 2 s, 4 s, 8 s, then the 10 s cap.
    for (int64_t penalty : {2000, 4000, 8000, 10000, 10000}) {
        int calls = primary.calls;
        EXPECT_EQ(run_once(*p, t + penalty, {&primary, &backup}), "backup");
        EXPECT_EQ(primary.calls, calls) << "not before its cool-down is over (" << penalty << ")";
        t += penalty + 1;
        EXPECT_EQ(run_once(*p, t, {&primary, &backup}), "backup");
        EXPECT_EQ(primary.calls, calls + 1) << "tried first once the cool-down is over (" << penalty << ")";
    }
    primary.outcome = SinkStatus::ready;
    t += 10001;
    EXPECT_EQ(run_once(*p, t, {&primary, &backup}), "primary");
    EXPECT_EQ(run_once(*p, t + 1, {&primary, &backup}), "primary") << "live again: the active sink";
    // A new failure starts the series again at 2 s.
    primary.outcome = SinkStatus::failed;
    EXPECT_EQ(run_once(*p, t + 2, {&primary, &backup}), "backup");
    int calls = primary.calls;
    run_once(*p, t + 2 + 2000, {&primary, &backup});
    EXPECT_EQ(primary.calls, calls);
    run_once(*p, t + 2 + 2001, {&primary, &backup});
    EXPECT_EQ(primary.calls, calls + 1);
}

TEST(FailoverProcessor, DeadSinkWithNothingToDoStaysDeadWithoutPenalty) {
    fake_sink primary{"primary"}, backup{"backup"};
    auto p = make_failover_processor(group({&primary, &backup}), {10, 5}, 30000);
    primary.outcome = SinkStatus::failed;
    run_once(*p, 0, {&primary, &backup});
    primary.outcome = SinkStatus::backoff;
    SinkStatus o;
    run_once(*p, 2001, {&primary, &backup}, &o);
    EXPECT_EQ(o, SinkStatus::backoff);
    int calls = primary.calls;
    run_once(*p, 2002, {&primary, &backup}, &o);
    EXPECT_EQ(primary.calls, calls + 1) << "still first in line (no new penalty)";
    primary.outcome = SinkStatus::ready;
    EXPECT_EQ(run_once(*p, 2003, {&primary, &backup}), "primary");
}

// An asynchronous sink answers busy while its call is under way: the group
// waits for it (no other sink runs, no penalty), whether it is the active
// sink or a dead one being retried.
TEST(FailoverProcessor, BusySinkHoldsTheGroupWithoutPenalty) {
    fake_sink primary{"primary"}, backup{"backup"};
    auto p = make_failover_processor(group({&primary, &backup}), {10, 5}, 30000);
    primary.outcome = SinkStatus::busy;
    SinkStatus o;
    for (int64_t t = 0; t < 3; t++) {
        run_once(*p, t, {&primary, &backup}, &o);
        EXPECT_EQ(o, SinkStatus::busy);
    }
    EXPECT_EQ(backup.calls, 0) << "the backup does not run while the primary is at work";
    primary.outcome = SinkStatus::failed;
    EXPECT_EQ(run_once(*p, 3, {&primary, &backup}), "backup");
    // The dead primary's retry is under way: the group waits for it.
    primary.outcome = SinkStatus::busy;
    int backup_calls = backup.calls;
    run_once(*p, 3 + 2001, {&primary, &backup}, &o);
    EXPECT_EQ(o, SinkStatus::busy);
    EXPECT_EQ(backup.calls, backup_calls);
    primary.outcome = SinkStatus::ready;
    EXPECT_EQ(run_once(*p, 3 + 2002, {&primary, &backup}), "primary") << "its retry delivered: live again";
    EXPECT_EQ(run_once(*p, 3 + 2003, {&primary, &backup}), "primary");
}

TEST(FailoverProcessor, PrioritiesAsFlumeResolvesThem) {
    auto r = failover_priorities({"k1", "k2", "k3", "k4"}, {{"priority.k3", "7"}, {"priority.k4", "7"}});
    EXPECT_EQ(r.kept, (std::vector<std::pair<size_t, int64_t>>{{0, -1}, {1, -2}, {2, 7}}));
    EXPECT_EQ(r.duplicates, (std::vector<size_t>{3}));
    // Without priorities the first listed sink is preferred.
    fake_sink a{"a"}, b{"b"};
    auto p = make_failover_processor(group({&a, &b}), {-1, -2}, 30000);
    EXPECT_EQ(run_once(*p, 0, {&a, &b}), "a");
}

// ------------------------------------------------------------ load_balance

TEST(LoadBalanceProcessor, RoundRobinSpreadsEvenly) {
    fake_sink k1{"k1"}, k2{"k2"}, k3{"k3"};
    auto p = make_load_balance_processor(group({&k1, &k2, &k3}), false, false, 30000, 1);
    std::vector<std::string> order;
    for (int i = 0; i < 6; i++) order.push_back(run_once(*p, i, {&k1, &k2, &k3}));
    EXPECT_EQ(order, (std::vector<std::string>{"k1", "k2", "k3", "k1", "k2", "k3"}));
}

TEST(LoadBalanceProcessor, RandomSpreadsRoughlyEvenly) {
    fake_sink k1{"k1"}, k2{"k2"};
    auto p = make_load_balance_processor(group({&k1, &k2}), false, true, 30000, 42);
    for (int i = 0; i < 2000; i++) p->process(i);
    EXPECT_GT(k1.calls, 850);
    EXPECT_GT(k2.calls, 850);
    EXPECT_EQ(k1.calls + k2.calls, 2000);
}

TEST(LoadBalanceProcessor, FailingSinkIsSkippedAndWithoutBackoffTriedAgain) {
    fake_sink k1{"k1"}, k2{"k2"};
    auto p = make_load_balance_processor(group({&k1, &k2}), false, false, 30000, 1);
    k1.outcome = SinkStatus::failed;
    for (int i = 0; i < 4; i++) EXPECT_EQ(run_once(*p, i, {&k1, &k2}), "k2");
    EXPECT_EQ(k1.calls, 2) << "no backoff: a failing sink is still tried whenever the turn starts with it";
    k2.outcome = SinkStatus::failed;
    SinkStatus o;
    run_once(*p, 10, {&k1, &k2}, &o);
    EXPECT_EQ(o, SinkStatus::failed) << "All configured sinks have failed";
}

TEST(LoadBalanceProcessor, BackoffGrowsExponentiallyUpToMaxTimeOut) {
    fake_sink k1{"k1"}, k2{"k2"};
    auto p = make_load_balance_processor(group({&k1, &k2}), true, false, 10000, 1);
    k1.outcome = SinkStatus::failed;
    int64_t t = 1'000'000;
    // Failures in a row: out for 2 s, 4 s, 8 s, then 10 s (maxTimeOut).
    for (int64_t out : {2000, 4000, 8000, 10000, 10000}) {
        int calls = k1.calls;
        // Drive until k1 is tried (and fails) once.
        while (k1.calls == calls) run_once(*p, t++, {&k1, &k2});
        int64_t failed_at = t - 1;
        calls = k1.calls;
        for (int64_t u = failed_at + 1; u <= failed_at + out; u += 250) run_once(*p, u, {&k1, &k2});
        EXPECT_EQ(k1.calls, calls) << "left out for " << out << " ms";
        t = failed_at + out + 1;
    }
    // Recovery: once back, k1 takes its turns again.
    k1.outcome = SinkStatus::ready;
    int calls = k1.calls;
    for (int i = 0; i < 4; i++) run_once(*p, t + 10001 + i, {&k1, &k2});
    EXPECT_EQ(k1.calls, calls + 2);
}

TEST(LoadBalanceProcessor, BusySinkEndsTheCallAndTheNextGoesOn) {
    fake_sink k1{"k1"}, k2{"k2"};
    auto p = make_load_balance_processor(group({&k1, &k2}), true, false, 30000, 1);
    k1.outcome = SinkStatus::busy;
    SinkStatus o;
    run_once(*p, 0, {&k1, &k2}, &o);
    EXPECT_EQ(o, SinkStatus::busy);
    EXPECT_EQ(k2.calls, 0) << "a busy sink is not a failure: the next sink is not tried in the same call";
    EXPECT_EQ(run_once(*p, 1, {&k1, &k2}), "k2") << "the next call goes on with the next sink";
    run_once(*p, 2, {&k1, &k2}, &o);
    EXPECT_EQ(k1.calls, 2) << "no back-off for being busy";
}

TEST(LoadBalanceProcessor, AllBackedOffMeansFailed) {
    fake_sink k1{"k1"}, k2{"k2"};
    auto p = make_load_balance_processor(group({&k1, &k2}), true, false, 30000, 1);
    k1.outcome = k2.outcome = SinkStatus::failed;
    SinkStatus o;
    run_once(*p, 0, {&k1, &k2}, &o);
    EXPECT_EQ(o, SinkStatus::failed);
    int calls = k1.calls + k2.calls;
    run_once(*p, 1, {&k1, &k2}, &o);
    EXPECT_EQ(o, SinkStatus::failed);
    EXPECT_EQ(k1.calls + k2.calls, calls) << "both backed off: nothing is tried";
}

}  // namespace
}  // namespace sluice
