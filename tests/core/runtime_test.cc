// SPDX-License-Identifier: Apache-2.0
// The shard runtime: run_on_all, submit/submit_to (FIFO per pair, through the
// backlog when the ring is full), timers, defer, pollers, stop, and waking a
// shard that sleeps in its reactor.
//
// The tests are written against the Reactor interface only. core_tests links
// sluice::core alone, so here they run over a small poll(2)+eventfd reactor
// defined below. tests/io/reactor_test.cc defines
// SLUICE_RUNTIME_TEST_EXTERNAL_BACKENDS, provides runtime_test_backends()
// (epoll and io_uring) and includes this file, so io_tests runs the same
// tests over the real backends.
#include "core/runtime.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace sluice {
namespace runtime_test {

struct RuntimeBackend {
    std::string name;
    std::function<Status()> probe;  // null: always available
    ReactorFactory factory;
};

const std::vector<RuntimeBackend>& runtime_test_backends();

#ifndef SLUICE_RUNTIME_TEST_EXTERNAL_BACKENDS
// Only poll() and wake(): enough for the runtime, which does no I/O itself.
class poll_reactor final : public Reactor {
public:
    poll_reactor() : _efd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}
    ~poll_reactor() override { ::close(_efd); }
    std::string_view name() const override { return "test_poll"; }
    int poll(int64_t timeout_us) override {
        pollfd p{_efd, POLLIN, 0};
        timespec ts{time_t(timeout_us / 1000000), long(timeout_us % 1000000) * 1000};
        int n = ppoll(&p, 1, timeout_us < 0 ? nullptr : &ts, nullptr);
        if (n <= 0) return 0;
        uint64_t v;
        ssize_t r = ::read(_efd, &v, sizeof(v));
        (void)r;
        return 1;
    }
    void wake() override {
        uint64_t one = 1;
        ssize_t w = ::write(_efd, &one, sizeof(one));
        (void)w;
    }
    Result<ListenerId> add_listener(int, AcceptHandler*) override { return unsupported(); }
    void close_listener(ListenerId) override {}
    Result<StreamId> add_stream(int, StreamHandler*) override { return unsupported(); }
    void pause_reading(StreamId) override {}
    void resume_reading(StreamId) override {}
    void send(StreamId, const char*, size_t) override {}
    void close_stream(StreamId) override {}
    void sync_data(int, std::function<void(int)> done) override { done(0); }
    Result<ConnectId> connect(int, const sockaddr*, socklen_t, ConnectHandler*) override { return unsupported(); }
    void cancel_connect(ConnectId) override {}
    Result<DatagramId> add_datagram(int, DatagramHandler*) override { return unsupported(); }
    void close_datagram(DatagramId) override {}

private:
    static Status unsupported() { return Status(errc::unsupported, "test reactor does no I/O"); }
    int _efd;
};

const std::vector<RuntimeBackend>& runtime_test_backends() {
    static const std::vector<RuntimeBackend> v = {
        {"test_poll", nullptr,
         [](unsigned) -> Result<std::unique_ptr<Reactor>> { return std::unique_ptr<Reactor>(new poll_reactor()); }},
    };
    return v;
}
#endif

// Polls `pred` every millisecond for up to `timeout`; true once it holds.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
}

class RuntimeTest : public testing::TestWithParam<std::tuple<size_t, unsigned>> {
protected:
    void SetUp() override {
        const auto& b = backend();
        if (b.probe) {
            Status st = b.probe();
            if (!st) GTEST_SKIP() << b.name << " unavailable: " << st.to_string();
        }
    }
    const RuntimeBackend& backend() const { return runtime_test_backends()[std::get<0>(GetParam())]; }
    unsigned shards() const { return std::get<1>(GetParam()); }

    std::unique_ptr<Runtime> start(size_t ring_slots = 1024, bool pin = false) {
        RuntimeOptions o;
        o.shards = shards();
        o.pin = pin;
        o.ring_slots = ring_slots;
        auto rt = std::make_unique<Runtime>(o, backend().factory);
        Status st = rt->start();
        EXPECT_TRUE(st.is_ok()) << st.to_string();
        EXPECT_EQ(rt->shard_count(), shards());
        return rt;
    }
};

// Tests of traffic between shards: instantiated with two shards and more only.
class CrossShardRuntimeTest : public RuntimeTest {};

TEST_P(RuntimeTest, RunOnAllRunsOnEveryShardOnItsOwnThread) {
    auto rt = start(1024, true);
    EXPECT_EQ(Shard::current(), nullptr) << "the test thread is no shard";
    std::mutex mu;
    std::vector<unsigned> ids;
    std::vector<std::thread::id> threads(shards());
    std::vector<bool> right_shard(shards(), false);
    rt->run_on_all([&](Shard& s) {
        Shard* cur = Shard::current();
        std::lock_guard lk(mu);
        ids.push_back(s.id());
        if (s.id() < threads.size()) {
            threads[s.id()] = std::this_thread::get_id();
            right_shard[s.id()] = cur == &s && cur->id() == s.id() && s.count() == shards();
        }
    });
    // run_on_all returns only once every shard has run fn.
    std::vector<unsigned> sorted = ids;
    std::sort(sorted.begin(), sorted.end());
    std::vector<unsigned> expect(shards());
    for (unsigned i = 0; i < shards(); i++) expect[i] = i;
    EXPECT_EQ(sorted, expect);
    std::set<std::thread::id> distinct(threads.begin(), threads.end());
    EXPECT_EQ(distinct.size(), size_t(shards()));
    EXPECT_EQ(distinct.count(std::this_thread::get_id()), 0u);
    for (unsigned i = 0; i < shards(); i++) EXPECT_TRUE(right_shard[i]) << "shard " << i;

    // Again: each shard keeps its thread.
    std::vector<std::thread::id> again(shards());
    rt->run_on_all([&](Shard& s) {
        std::lock_guard lk(mu);
        again[s.id()] = std::this_thread::get_id();
    });
    EXPECT_EQ(again, threads);
    rt->stop();
}

TEST_P(RuntimeTest, SubmitRunsOnTheNamedShardInOrder) {
    const unsigned n = shards();
    constexpr uint32_t per_shard = 10000;
    // seen[i] is written only by shard i.
    std::vector<std::vector<uint32_t>> seen(n);
    std::atomic<uint32_t> wrong_shard{0}, done{0};
    auto rt = start();  // declared last: destroyed (stopped) first, even on failure
    for (uint32_t k = 0; k < per_shard; k++)
        for (unsigned i = 0; i < n; i++)
            rt->submit(i, [&, i, k] {
                if (!Shard::current() || Shard::current()->id() != i) wrong_shard++;
                seen[i].push_back(k);
                done.fetch_add(1, std::memory_order_release);
            });
    ASSERT_TRUE(wait_until([&] { return done.load(std::memory_order_acquire) == n * per_shard; }));
    rt->stop();
    EXPECT_EQ(wrong_shard.load(), 0u);
    for (unsigned i = 0; i < n; i++) {
        ASSERT_EQ(seen[i].size(), per_shard);
        for (uint32_t k = 0; k < per_shard; k++) ASSERT_EQ(seen[i][k], k) << "shard " << i;
    }
}

// Every shard sends `count` messages to every shard (itself included) from one
// task, so with 4 ring slots nearly all of them go through the backlog.
TEST_P(RuntimeTest, SubmitToIsFifoPerPairThroughTheBacklog) {
    const unsigned n = shards();
    const uint32_t count = 20000;
    // got[to][from], written only by shard `to`.
    std::vector<std::vector<std::vector<uint32_t>>> got(n, std::vector<std::vector<uint32_t>>(n));
    std::atomic<uint64_t> received{0}, wrong_shard{0};
    auto rt = start(4);
    rt->run_on_all([&](Shard& s) {
        const unsigned from = s.id();
        for (uint32_t k = 0; k < count; k++)
            for (unsigned to = 0; to < n; to++)
                s.submit_to(to, [&got, &received, &wrong_shard, from, to, k] {
                    if (Shard::current()->id() != to) wrong_shard++;
                    got[to][from].push_back(k);
                    received.fetch_add(1, std::memory_order_release);
                });
    });
    const uint64_t total = uint64_t(n) * n * count;
    ASSERT_TRUE(wait_until([&] { return received.load(std::memory_order_acquire) == total; }))
        << received.load() << " of " << total;
    rt->stop();
    EXPECT_EQ(wrong_shard.load(), 0u);
    for (unsigned to = 0; to < n; to++)
        for (unsigned from = 0; from < n; from++) {
            const auto& v = got[to][from];
            ASSERT_EQ(v.size(), count) << from << " -> " << to;
            size_t bad = 0;
            for (uint32_t k = 0; k < count; k++) bad += v[k] != k;
            EXPECT_EQ(bad, 0u) << from << " -> " << to << " out of order";
        }
}

// One burst far larger than the ring: 200k messages through 2 slots. Draining
// a backlog must cost time linear in its length; at a few microseconds a
// message this takes well under a second even under sanitizers.
TEST_P(CrossShardRuntimeTest, LargeBacklogDrainsInLinearTime) {
    const uint32_t count = 200000;
    std::atomic<uint32_t> received{0}, bad{0};
    auto rt = start(2);
    auto t0 = std::chrono::steady_clock::now();
    rt->submit(0, [&] {
        for (uint32_t k = 0; k < count; k++)
            Shard::current()->submit_to(1, [&, k] {
                if (received.load(std::memory_order_relaxed) != k) bad++;
                received.fetch_add(1, std::memory_order_relaxed);
            });
    });
    bool done = wait_until([&] { return received.load() == count; }, std::chrono::seconds(20));
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rt->stop();
    ASSERT_TRUE(done) << received.load() << " of " << count << " after " << secs << " s";
    EXPECT_EQ(bad.load(), 0u);
    EXPECT_LT(secs, 10.0) << "draining a " << count << "-message backlog took " << secs << " s";
}

// Messages trickle in over many loop iterations (a self-deferring pump), so
// items go straight into the ring when the backlog is empty and into the
// backlog when not: the order must hold across both paths.
TEST_P(CrossShardRuntimeTest, SubmitToKeepsOrderWhenRingAndBacklogInterleave) {
    const uint32_t count = 50000;
    std::vector<uint32_t> got;  // written by shard 1
    std::atomic<bool> finished{false};
    struct pump {
        uint32_t next = 0, count = 0, burst = 0;
        std::vector<uint32_t>* got;
        std::atomic<bool>* finished;
        void step() {
            Shard* s = Shard::current();
            // 1..7 messages per iteration: sometimes fewer than the ring holds.
            uint32_t n = 1 + (burst++ * 5) % 7;
            for (uint32_t i = 0; i < n && next < count; i++, next++) {
                uint32_t k = next;
                bool last = k + 1 == count;
                auto* g = got;
                auto* f = finished;
                s->submit_to(1, [g, f, k, last] {
                    g->push_back(k);
                    if (last) f->store(true, std::memory_order_release);
                });
            }
            if (next < count) s->defer([this] { step(); });
        }
    };
    pump p;
    p.count = count;
    p.got = &got;
    p.finished = &finished;
    auto rt = start(4);
    rt->submit(0, [&p] { p.step(); });
    ASSERT_TRUE(wait_until([&] { return finished.load(std::memory_order_acquire); }));
    rt->stop();
    ASSERT_EQ(got.size(), count);
    size_t bad = 0;
    for (uint32_t k = 0; k < count; k++) bad += got[k] != k;
    EXPECT_EQ(bad, 0u);
}

TEST_P(RuntimeTest, TimersFireInDueOrderAndCancelWorks) {
    const unsigned target = shards() - 1;
    struct fired {
        std::string name;
        int64_t at_us;
    };
    std::vector<fired> log;  // written by the target shard
    std::atomic<bool> done{false};
    int64_t t0 = 0;
    TimerId cancelled_late = 0;
    auto rt = start();
    rt->submit(target, [&] {
        Shard& s = *Shard::current();
        t0 = monotonic_us();
        auto rec = [&](const char* name) { return [&log, name] { log.push_back({name, monotonic_us()}); }; };
        s.add_timer(30000, rec("c30"));
        s.add_timer(10000, rec("a10"));
        TimerId x = s.add_timer(15000, rec("x15-cancelled"));
        s.add_timer(20000, rec("b20"));
        s.add_timer(0, rec("z0"));
        s.add_timer(-5, rec("neg"));  // a negative delay is due at once
        // Cancelled by an earlier timer's callback.
        cancelled_late = s.add_timer(25000, rec("y25-cancelled"));
        s.add_timer(12000, [&, rec] {
            rec("d12")();
            Shard::current()->cancel_timer(cancelled_late);
        });
        s.add_timer(45000, [&] {
            log.push_back({"end45", monotonic_us()});
            done.store(true, std::memory_order_release);
        });
        s.cancel_timer(x);
        s.cancel_timer(x);           // twice: harmless
        s.cancel_timer(987654321);   // unknown: harmless
    });
    ASSERT_TRUE(wait_until([&] { return done.load(std::memory_order_acquire); }));
    rt->stop();
    std::vector<std::string> names;
    for (auto& f : log) names.push_back(f.name);
    // z0 and neg are both due at t0 (neg possibly a microsecond earlier): either order.
    ASSERT_EQ(names.size(), 7u) << testing::PrintToString(names);
    std::set<std::string> first_two(names.begin(), names.begin() + 2);
    EXPECT_EQ(first_two, (std::set<std::string>{"z0", "neg"}));
    EXPECT_EQ(std::vector<std::string>(names.begin() + 2, names.end()),
              (std::vector<std::string>{"a10", "d12", "b20", "c30", "end45"}));
    const std::vector<std::pair<std::string, int64_t>> due = {{"a10", 10000}, {"d12", 12000}, {"b20", 20000},
                                                              {"c30", 30000}, {"end45", 45000}};
    for (auto& [name, delay] : due)
        for (auto& f : log)
            if (f.name == name) {
                EXPECT_GE(f.at_us - t0, delay) << name << " fired early";
            }
}

TEST_P(RuntimeTest, TimerWakesAnIdleShardAndCancelledTimerNeverRuns) {
    std::atomic<int> fired{0}, cancelled_ran{0};
    auto rt = start();
    rt->submit(0, [&] {
        Shard& s = *Shard::current();
        TimerId id = s.add_timer(5000, [&] { cancelled_ran++; });
        s.cancel_timer(id);
        s.add_timer(20000, [&] { fired++; });
    });
    ASSERT_TRUE(wait_until([&] { return fired.load() == 1; }, std::chrono::seconds(10)));
    // The cancelled timer was due earlier than the one that fired.
    EXPECT_EQ(cancelled_ran.load(), 0);
    rt->stop();
}

// A timer added by a poller that reports no work (so the shard goes to sleep
// right after): the sleep must be bounded by the new timer.
TEST_P(RuntimeTest, TimerAddedByAnIdlePollerFires) {
    std::atomic<bool> fired{false};
    auto rt = start();
    rt->submit(0, [&] {
        auto id = std::make_shared<PollerId>(0);
        *id = Shard::current()->add_poller([&, id] {
            Shard::current()->remove_poller(*id);
            Shard::current()->add_timer(10000, [&] { fired = true; });
            return false;
        });
    });
    ASSERT_TRUE(wait_until([&] { return fired.load(); }, std::chrono::seconds(10)))
        << "the shard slept past its only timer";
    rt->stop();
}

TEST_P(RuntimeTest, DeferRunsAfterTheCurrentTask) {
    std::vector<std::string> log;  // written by shard 0
    std::atomic<bool> done{false};
    auto rt = start();
    rt->submit(0, [&] {
        Shard& s = *Shard::current();
        log.push_back("task-begin");
        s.defer([&] {
            log.push_back("deferred-1");
            Shard::current()->defer([&] {
                log.push_back("deferred-3");
                done.store(true, std::memory_order_release);
            });
            log.push_back("deferred-1-end");
        });
        s.defer([&] { log.push_back("deferred-2"); });
        log.push_back("task-end");
    });
    ASSERT_TRUE(wait_until([&] { return done.load(std::memory_order_acquire); }));
    rt->stop();
    EXPECT_EQ(log, (std::vector<std::string>{"task-begin", "task-end", "deferred-1", "deferred-1-end", "deferred-2",
                                             "deferred-3"}));
}

TEST_P(RuntimeTest, DeferChainOfManyRoundsCompletes) {
    // More chained defers than one loop iteration runs (4 rounds): the shard
    // must keep iterating without sleeping until they are done.
    std::atomic<int> left{1000};
    std::function<void()> step = [&] {
        if (left.fetch_sub(1) > 1) Shard::current()->defer(step);
    };
    auto rt = start();
    rt->submit(0, [&] { step(); });
    ASSERT_TRUE(wait_until([&] { return left.load() == 0; }, std::chrono::seconds(10)));
    rt->stop();
}

TEST_P(RuntimeTest, PollersRunUntilRemoved) {
    const unsigned target = shards() - 1;
    std::atomic<uint64_t> calls{0};
    std::atomic<uint64_t> calls_at_removal{0};
    std::atomic<bool> removed{false}, after{false};
    PollerId id = 0;
    std::function<void(int)> spin;
    auto rt = start();
    rt->submit(target, [&] {
        id = Shard::current()->add_poller([&] {
            calls.fetch_add(1, std::memory_order_relaxed);
            return true;  // busy: keeps the shard iterating
        });
    });
    ASSERT_TRUE(wait_until([&] { return calls.load() >= 100; }));
    rt->submit(target, [&] {
        Shard::current()->remove_poller(id);
        calls_at_removal = calls.load();
        removed = true;
    });
    ASSERT_TRUE(wait_until([&] { return removed.load(); }));
    // Several more loop iterations on the shard: the poller must not run again.
    spin = [&](int k) {
        if (k == 0) {
            after = true;
            return;
        }
        Shard::current()->defer([&, k] { spin(k - 1); });
    };
    rt->submit(target, [&] { spin(20); });
    ASSERT_TRUE(wait_until([&] { return after.load(); }));
    EXPECT_EQ(calls.load(), calls_at_removal.load());
    rt->stop();
}

TEST_P(RuntimeTest, PollersCanRemoveThemselvesAndOthersAndAddMore) {
    std::atomic<int> self_calls{0}, victim_calls{0}, child_calls{0};
    std::atomic<bool> done{false}, flushed{false};
    auto rt = start();
    rt->submit(0, [&] {
        Shard& s = *Shard::current();
        auto self_id = std::make_shared<PollerId>(0);
        auto victim_id = std::make_shared<PollerId>(0);
        // Removes itself after 10 calls.
        *self_id = s.add_poller([&, self_id] {
            if (++self_calls == 10) Shard::current()->remove_poller(*self_id);
            return true;
        });
        // Removes the victim (registered after it) in the same round, before
        // the victim's first call, and adds a child poller.
        s.add_poller([&, victim_id, added = false]() mutable {
            if (!added) {
                added = true;
                Shard::current()->remove_poller(*victim_id);
                Shard::current()->add_poller([&] {
                    if (++child_calls == 5) done = true;
                    return child_calls < 5;
                });
            }
            return false;
        });
        *victim_id = s.add_poller([&] {
            victim_calls++;
            return true;
        });
    });
    ASSERT_TRUE(wait_until([&] { return done.load() && self_calls.load() >= 10; }));
    // A final round trip through the shard, so that any further call would have happened.
    rt->submit(0, [&] { Shard::current()->defer([&] { flushed = true; }); });
    ASSERT_TRUE(wait_until([&] { return flushed.load(); }));
    EXPECT_EQ(self_calls.load(), 10);
    EXPECT_EQ(victim_calls.load(), 0);
    EXPECT_GE(child_calls.load(), 5);
    rt->stop();
}

// Counts shard threads that have exited (thread_local destructors run at exit).
std::atomic<int> g_exited_threads{0};
struct exit_marker {
    bool armed = false;
    ~exit_marker() {
        if (armed) g_exited_threads++;
    }
};
thread_local exit_marker t_exit_marker;

TEST_P(RuntimeTest, StopJoinsEveryShardAndDropsLaterWork) {
    g_exited_threads = 0;
    auto rt = start();
    rt->run_on_all([](Shard&) { t_exit_marker.armed = true; });
    EXPECT_EQ(g_exited_threads.load(), 0);
    rt->stop();
    // stop() returns after the joins: every shard thread has finished.
    EXPECT_EQ(g_exited_threads.load(), int(shards()));

    std::atomic<bool> ran{false};
    auto token = std::make_shared<int>(1);
    rt->submit(0, [&ran, token] { ran = true; });
    EXPECT_FALSE(ran.load());
    EXPECT_EQ(token.use_count(), 1) << "a dropped task must be destroyed, not kept";
    rt->stop();  // twice: harmless
    rt.reset();  // and the destructor after stop()
    EXPECT_FALSE(ran.load());
}

// Stopping while shards are busy sending to each other: every task is either
// run or destroyed (no leak, no use after free), whatever the timing.
TEST_P(RuntimeTest, StopWhileShardsSendToEachOtherLeaksNothing) {
    auto token = std::make_shared<int>(0);
    for (int iter = 0; iter < 20; iter++) {
        const unsigned n = shards();
        std::atomic<uint64_t> ran{0};
        // Each shard pumps messages to every shard, forever.
        std::function<void()> pump;
        auto rt = start(8);
        pump = [&] {
            Shard* s = Shard::current();
            for (unsigned to = 0; to < n; to++)
                for (int k = 0; k < 16; k++) s->submit_to(to, [&ran, token] { ran.fetch_add(1, std::memory_order_relaxed); });
            s->defer(pump);
        };
        rt->run_on_all([&](Shard&) { pump(); });
        ASSERT_TRUE(wait_until([&] { return ran.load() > 1000; }));
        rt->stop();
        rt.reset();
        ASSERT_EQ(token.use_count(), 1) << "iteration " << iter << ": tasks left behind at stop were not destroyed";
    }
}

// A shard with nothing to do sleeps in its reactor with no timeout; a submit
// from another thread must wake it at once.
TEST_P(RuntimeTest, SubmitWakesASleepingShard) {
    auto rt = start();
    rt->run_on_all([](Shard&) {});
    for (int round = 0; round < 5; round++) {
        for (unsigned i = 0; i < shards(); i++) {
            // Give the shard time to go to sleep (nothing can be polled for that).
            std::this_thread::sleep_for(std::chrono::milliseconds(30));
            auto ran = std::make_shared<std::atomic<bool>>(false);
            auto t0 = std::chrono::steady_clock::now();
            rt->submit(i, [ran] { *ran = true; });
            ASSERT_TRUE(wait_until([&] { return ran->load(); }, std::chrono::seconds(5)))
                << "shard " << i << " was not woken by submit";
            EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
        }
    }
    rt->stop();
}

// The same for a message from another shard (the ring path's wake-up).
TEST_P(CrossShardRuntimeTest, SubmitToWakesASleepingShard) {
    std::atomic<int64_t> sent_us{0}, ran_us{0};
    auto rt = start();
    rt->run_on_all([](Shard&) {});
    for (int round = 0; round < 5; round++) {
        sent_us = 0;
        ran_us = 0;
        // Shard 0 sends after 30 ms, by which time shard 1 is asleep.
        rt->submit(0, [&] {
            Shard::current()->add_timer(30000, [&] {
                sent_us = monotonic_us();
                Shard::current()->submit_to(1, [&] { ran_us = monotonic_us(); });
            });
        });
        ASSERT_TRUE(wait_until([&] { return ran_us.load() != 0; }, std::chrono::seconds(5)))
            << "shard 1 was not woken by submit_to";
        EXPECT_LT(ran_us.load() - sent_us.load(), 1000000);
    }
    rt->stop();
}

std::string runtime_param_name(const testing::TestParamInfo<std::tuple<size_t, unsigned>>& info) {
    return runtime_test_backends()[std::get<0>(info.param)].name + "_" + std::to_string(std::get<1>(info.param)) +
           "_shards";
}

INSTANTIATE_TEST_SUITE_P(Backends, RuntimeTest,
                         testing::Combine(testing::Range<size_t>(0, runtime_test_backends().size()),
                                          testing::Values(1u, 2u, 3u)),
                         runtime_param_name);
INSTANTIATE_TEST_SUITE_P(Backends, CrossShardRuntimeTest,
                         testing::Combine(testing::Range<size_t>(0, runtime_test_backends().size()),
                                          testing::Values(2u, 3u)),
                         runtime_param_name);

TEST(RuntimeClock, MonotonicAndWallClockAdvance) {
    int64_t a = monotonic_us();
    int64_t w = wall_clock_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    EXPECT_GE(monotonic_us() - a, 2000);
    EXPECT_GT(w, int64_t(1600000000000));  // after 2020
    EXPECT_GE(wall_clock_ms(), w);
}

}  // namespace runtime_test
}  // namespace sluice
