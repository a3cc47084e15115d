// SPDX-License-Identifier: Apache-2.0
// The shard runtime: one pinned thread per shard, each with its own Reactor,
// timers, and task queue; shards talk only through one bounded SPSC ring per
// ordered pair of shards (shard i -> shard j), published in batches.
//
// Ownership: a Shard and everything registered on it (timers, pollers, tasks)
// belong to its thread. The only calls allowed from other threads are
// Runtime::submit() and Runtime::run_on_all(), which go through a per-shard
// MPSC inbox, and Reactor::wake().
//
// The loop of a shard, per iteration: run due timers, run deferred tasks, read
// the inbound rings and the inbox, run the pollers (sink runners), publish the
// outbound rings, then poll the reactor — without waiting when work is left,
// otherwise up to the next timer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "core/reactor.h"
#include "core/spsc_ring.h"

namespace sluice {

using Task = std::function<void()>;
using TimerId = uint64_t;
using PollerId = uint64_t;

class Runtime;

int64_t monotonic_us();
int64_t wall_clock_ms();
int64_t wall_clock_us();

class Shard {
public:
    unsigned id() const { return _id; }
    unsigned count() const;
    Reactor& reactor() { return *_reactor; }
    Runtime& runtime() { return *_runtime; }

    // The shard whose thread is calling, or null on other threads.
    static Shard* current();

    // Runs fn on shard `target` (this one too) after the current work. Only
    // from this shard's thread. Never blocks and never drops: a full ring
    // overflows into a local backlog that is retried every iteration.
    void submit_to(unsigned target, Task fn);
    // Runs fn on this shard after the current handler returns.
    void defer(Task fn);
    // Runs fn on this shard once, after `delay_us`. Returns an id for cancel_timer.
    TimerId add_timer(int64_t delay_us, Task fn);
    void cancel_timer(TimerId id);
    // fn runs every iteration while registered and returns whether it did work
    // (if none did, the shard may sleep in the reactor).
    PollerId add_poller(std::function<bool()> fn);
    void remove_poller(PollerId id);

private:
    friend class Runtime;
    Shard(Runtime* rt, unsigned id, std::unique_ptr<Reactor> reactor);
    void loop();
    bool run_once(bool may_sleep);
    bool drain_inbound();
    bool flush_outbound();
    void run_timers();

    struct timer {
        int64_t due_us;
        TimerId id;
        bool operator>(const timer& o) const { return due_us > o.due_us; }
    };
    struct message {
        Task* task;
    };

    Runtime* _runtime;
    unsigned _id;
    std::unique_ptr<Reactor> _reactor;
    std::vector<Task> _deferred, _running;
    std::vector<timer> _timer_heap;
    std::vector<std::pair<TimerId, Task>> _timer_tasks;  // sorted by id
    TimerId _next_timer = 1;
    std::vector<std::pair<PollerId, std::function<bool()>>> _pollers;
    PollerId _next_poller = 1;
    // _out[j]: ring to shard j (owned by the Runtime), and the local backlog.
    std::vector<SpscRing<message>*> _out, _in;
    std::vector<std::deque<Task*>> _backlog;
    std::vector<bool> _dirty;
    alignas(cache_line) std::atomic<bool> _sleeping{false};
    std::thread _thread;
};

struct RuntimeOptions {
    unsigned shards = 0;      // 0: the number of usable CPUs
    bool pin = true;          // pin shard i to the i-th usable CPU
    size_t ring_slots = 1024; // per ordered pair of shards
};

using ReactorFactory = std::function<Result<std::unique_ptr<Reactor>>(unsigned shard)>;

class Runtime {
public:
    Runtime(RuntimeOptions opts, ReactorFactory make_reactor);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Creates the reactors (on the calling thread) and starts the shard threads.
    Status start();
    unsigned shard_count() const { return static_cast<unsigned>(_shards.size()); }

    // Any thread: runs fn on shard i.
    void submit(unsigned shard, Task fn);
    // Any non-shard thread: runs fn on every shard and waits until all have run.
    void run_on_all(const std::function<void(Shard&)>& fn);
    // Any non-shard thread: asks the shards to leave their loops and joins them.
    // Work submitted afterwards is dropped.
    void stop();

    static unsigned usable_cpus();

private:
    friend class Shard;
    RuntimeOptions _opts;
    ReactorFactory _make_reactor;
    std::vector<std::unique_ptr<Shard>> _shards;
    std::vector<std::unique_ptr<SpscRing<Shard::message>>> _rings;  // [from * n + to]
    struct inbox;
    std::vector<std::unique_ptr<inbox>> _inboxes;
    std::vector<int> _cpus;
    std::atomic<bool> _stopping{false};
    bool _started = false;
};

}  // namespace sluice
