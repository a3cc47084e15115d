// SPDX-License-Identifier: Apache-2.0
#include "core/runtime.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

#include <concurrentqueue/concurrentqueue.h>

namespace sluice {

namespace {
thread_local Shard* tls_shard = nullptr;
constexpr std::greater<> timer_later;
}  // namespace

int64_t monotonic_us() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

int64_t wall_clock_us() {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return int64_t(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

int64_t wall_clock_ms() { return wall_clock_us() / 1000; }

struct Runtime::inbox {
    moodycamel::ConcurrentQueue<Task*> queue;
};

// ---------------------------------------------------------------- Shard

Shard::Shard(Runtime* rt, unsigned id, std::unique_ptr<Reactor> reactor)
    : _runtime(rt), _id(id), _reactor(std::move(reactor)) {}

unsigned Shard::count() const { return _runtime->shard_count(); }

Shard* Shard::current() { return tls_shard; }

void Shard::submit_to(unsigned target, Task fn) {
    SLUICE_ASSERT(tls_shard == this, "submit_to from a foreign thread");
    SLUICE_ASSERT(target < count(), "no such shard");
    if (target == _id) {
        _deferred.push_back(std::move(fn));
        return;
    }
    auto* t = new Task(std::move(fn));
    auto& backlog = _backlog[target];
    if (!backlog.empty() || !_out[target]->try_stage(message{t})) {
        backlog.push_back(t);
    }
    _dirty[target] = true;
}

void Shard::defer(Task fn) { _deferred.push_back(std::move(fn)); }

TimerId Shard::add_timer(int64_t delay_us, Task fn) {
    TimerId id = _next_timer++;
    _timer_heap.push_back({monotonic_us() + std::max<int64_t>(delay_us, 0), id});
    std::push_heap(_timer_heap.begin(), _timer_heap.end(), timer_later);
    _timer_tasks.emplace_back(id, std::move(fn));  // ids grow: stays sorted
    return id;
}

void Shard::cancel_timer(TimerId id) {
    auto it = std::lower_bound(_timer_tasks.begin(), _timer_tasks.end(), id,
                               [](const auto& p, TimerId v) { return p.first < v; });
    if (it != _timer_tasks.end() && it->first == id) _timer_tasks.erase(it);
    // The heap entry stays and is skipped when it comes due.
}

PollerId Shard::add_poller(std::function<bool()> fn) {
    PollerId id = _next_poller++;
    _pollers.emplace_back(id, std::move(fn));
    return id;
}

void Shard::remove_poller(PollerId id) {
    for (auto& p : _pollers)
        if (p.first == id) p.second = nullptr;  // erased after the current round
}

void Shard::run_timers() {
    int64_t now = monotonic_us();
    while (!_timer_heap.empty()) {
        timer top = _timer_heap.front();
        if (top.due_us > now) return;
        std::pop_heap(_timer_heap.begin(), _timer_heap.end(), timer_later);
        _timer_heap.pop_back();
        auto it = std::lower_bound(_timer_tasks.begin(), _timer_tasks.end(), top.id,
                                   [](const auto& p, TimerId v) { return p.first < v; });
        if (it == _timer_tasks.end() || it->first != top.id) continue;  // cancelled
        Task fn = std::move(it->second);
        _timer_tasks.erase(it);
        fn();
    }
}

bool Shard::drain_inbound() {
    bool did = false;
    for (auto* ring : _in) {
        if (!ring) continue;
        did |= ring->poll([](const message& m) {
            (*m.task)();
            delete m.task;
        }) > 0;
    }
    Task* batch[64];
    auto& inbox = _runtime->_inboxes[_id]->queue;
    size_t n;
    while ((n = inbox.try_dequeue_bulk(batch, 64)) > 0) {
        for (size_t i = 0; i < n; i++) {
            (*batch[i])();
            delete batch[i];
        }
        did = true;
    }
    return did;
}

bool Shard::flush_outbound() {
    bool pending = false;
    for (unsigned j = 0; j < _out.size(); j++) {
        if (!_dirty[j]) continue;
        auto& backlog = _backlog[j];
        while (!backlog.empty() && _out[j]->try_stage(message{backlog.front()})) backlog.pop_front();
        if (_out[j]->publish()) {
            std::atomic_thread_fence(std::memory_order_seq_cst);
            Shard& target = *_runtime->_shards[j];
            if (target._sleeping.load(std::memory_order_relaxed)) target._reactor->wake();
        }
        _dirty[j] = !backlog.empty();
        pending |= _dirty[j];
    }
    return pending;
}

bool Shard::run_once(bool may_sleep) {
    bool busy = false;
    run_timers();

    busy |= drain_inbound();
    for (size_t round = 0; round < 4 && !_deferred.empty(); round++) {
        _running.swap(_deferred);
        for (auto& fn : _running) fn();
        _running.clear();
        busy = true;
    }
    for (size_t i = 0; i < _pollers.size(); i++) {
        // Copy: a poller may add pollers (and so reallocate the vector).
        auto fn = _pollers[i].second;
        if (fn) busy |= fn();
    }
    std::erase_if(_pollers, [](const auto& p) { return !p.second; });
    busy |= flush_outbound();
    busy |= !_deferred.empty();

    int64_t timeout = 0;
    if (!busy && may_sleep) {
        // Read the heap now: the work above may have added timers.
        timeout = _timer_heap.empty() ? -1 : std::max<int64_t>(0, _timer_heap.front().due_us - monotonic_us());
        _sleeping.store(true, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_seq_cst);
        // Re-check after announcing sleep: a producer that published before
        // seeing _sleeping will not wake us, so we must see its items here.
        bool ready = false;
        for (auto* ring : _in)
            if (ring && !ring->empty_approx()) ready = true;
        if (_runtime->_inboxes[_id]->queue.size_approx() > 0) ready = true;
        if (ready || _runtime->_stopping.load(std::memory_order_relaxed)) timeout = 0;
    }
    int n = _reactor->poll(timeout);
    _sleeping.store(false, std::memory_order_relaxed);
    return busy || n > 0;
}

void Shard::loop() {
    tls_shard = this;
    Status st = _reactor->attach_thread();
    SLUICE_ASSERT(st.is_ok(), "reactor cannot attach to its shard thread");
    while (!_runtime->_stopping.load(std::memory_order_acquire)) run_once(true);
    // What is still queued is freed by Runtime::stop() once every shard has
    // left its loop (another shard may still be publishing to us here).
    tls_shard = nullptr;
}

// ---------------------------------------------------------------- Runtime

unsigned Runtime::usable_cpus() {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1u, std::thread::hardware_concurrency());
}

Runtime::Runtime(RuntimeOptions opts, ReactorFactory make_reactor)
    : _opts(opts), _make_reactor(std::move(make_reactor)) {
    if (_opts.shards == 0) _opts.shards = usable_cpus();
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) _cpus.push_back(c);
    }
}

Runtime::~Runtime() { stop(); }

Status Runtime::start() {
    SLUICE_ASSERT(!_started, "runtime started twice");
    unsigned n = _opts.shards;
    for (unsigned i = 0; i < n; i++) {
        auto reactor = _make_reactor(i);
        if (!reactor) return reactor.status();
        _shards.push_back(std::unique_ptr<Shard>(new Shard(this, i, std::move(reactor.value()))));
        _inboxes.push_back(std::make_unique<inbox>());
    }
    _rings.resize(size_t(n) * n);
    for (unsigned from = 0; from < n; from++) {
        auto& s = *_shards[from];
        s._out.assign(n, nullptr);
        s._in.assign(n, nullptr);
        s._backlog.assign(n, {});
        s._dirty.assign(n, false);
    }
    for (unsigned from = 0; from < n; from++)
        for (unsigned to = 0; to < n; to++) {
            if (from == to) continue;
            auto& r = _rings[size_t(from) * n + to];
            r = std::make_unique<SpscRing<Shard::message>>(_opts.ring_slots);
            _shards[from]->_out[to] = r.get();
            _shards[to]->_in[from] = r.get();
        }
    _started = true;
    for (unsigned i = 0; i < n; i++) {
        Shard* s = _shards[i].get();
        s->_thread = std::thread([s] { s->loop(); });
        if (_opts.pin && !_cpus.empty()) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(_cpus[i % _cpus.size()], &set);
            pthread_setaffinity_np(s->_thread.native_handle(), sizeof(set), &set);
        }
        std::string name = "shard-" + std::to_string(i);
        pthread_setname_np(s->_thread.native_handle(), name.substr(0, 15).c_str());
    }
    return Status::ok();
}

void Runtime::submit(unsigned shard, Task fn) {
    SLUICE_ASSERT(shard < _shards.size(), "no such shard");
    if (_stopping.load(std::memory_order_acquire)) return;
    _inboxes[shard]->queue.enqueue(new Task(std::move(fn)));
    std::atomic_thread_fence(std::memory_order_seq_cst);
    Shard& s = *_shards[shard];
    if (s._sleeping.load(std::memory_order_relaxed)) s._reactor->wake();
}

void Runtime::run_on_all(const std::function<void(Shard&)>& fn) {
    SLUICE_ASSERT(tls_shard == nullptr, "run_on_all from a shard thread would deadlock");
    std::mutex mu;
    std::condition_variable cv;
    size_t left = _shards.size();
    for (auto& s : _shards) {
        Shard* sp = s.get();
        submit(sp->id(), [&, sp] {
            fn(*sp);
            std::lock_guard lk(mu);
            if (--left == 0) cv.notify_all();
        });
    }
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return left == 0; });
}

void Runtime::stop() {
    if (!_started) return;
    _stopping.store(true, std::memory_order_release);
    for (auto& s : _shards) s->_reactor->wake();
    for (auto& s : _shards)
        if (s->_thread.joinable()) s->_thread.join();
    // Every shard has stopped: nothing publishes any more. Free what was sent
    // and never run.
    for (auto& s : _shards) {
        for (auto* ring : s->_in)
            if (ring) {
                ring->publish_all_for_shutdown();
                ring->poll([](const Shard::message& m) { delete m.task; });
            }
        for (auto& b : s->_backlog)
            for (auto* task : b) delete task;
        s->_backlog.assign(s->_backlog.size(), {});
        s->_deferred.clear();
    }
    Task* t;
    for (auto& ib : _inboxes)
        while (ib->queue.try_dequeue(t)) delete t;
    _started = false;
}

}  // namespace sluice
