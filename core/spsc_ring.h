// SPDX-License-Identifier: Apache-2.0
// A bounded single-producer single-consumer ring with batched publish.
//
// The producer stages items with try_stage() and makes them visible with
// publish(); the consumer reads with poll(). Head and tail live on separate
// cache lines and each side caches the other's index, so a batch of B items
// costs one release store and (at most) one acquire load per side. On this
// machine kind a cross-core cache-line transfer is ~800 ns (performance.md §3):
// publishing per batch rather than per item is what makes the ring cheap.
//
// Exactly one thread may call the producer functions and exactly one the
// consumer functions; they may be different threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

#include "core/assert.h"

namespace sluice {

inline constexpr size_t cache_line = 64;

template <typename T>
class SpscRing {
    static_assert(std::is_trivially_copyable_v<T>, "ring items are copied as bytes");

public:
    explicit SpscRing(size_t capacity_pow2) : _mask(capacity_pow2 - 1), _slots(new T[capacity_pow2]) {
        SLUICE_ASSERT(capacity_pow2 >= 2 && (capacity_pow2 & _mask) == 0, "ring capacity must be a power of two");
    }

    // Producer: stages one item; false when the ring is full (nothing staged).
    bool try_stage(const T& item) {
        size_t next = _p.staged;
        if (next - _p.cached_head > _mask) {
            _p.cached_head = _head.load(std::memory_order_acquire);
            if (next - _p.cached_head > _mask) return false;
        }
        _slots[next & _mask] = item;
        _p.staged = next + 1;
        return true;
    }
    // Producer: makes every staged item visible; returns true if any was new.
    bool publish() {
        if (_p.staged == _p.published) return false;
        _p.published = _p.staged;
        _tail.store(_p.published, std::memory_order_release);
        return true;
    }

    // Consumer: calls fn(item) for every item published before the call (up
    // to `max`); returns the count.
    template <typename Fn>
    size_t poll(Fn&& fn, size_t max = SIZE_MAX) {
        size_t head = _c.head;
        // One acquire load per call (not per item): callers poll once per loop.
        _c.cached_tail = _tail.load(std::memory_order_acquire);
        if (head == _c.cached_tail) return 0;
        size_t n = 0;
        while (head != _c.cached_tail && n < max) {
            fn(_slots[head & _mask]);
            head++;
            n++;
        }
        _c.head = head;
        _head.store(head, std::memory_order_release);
        return n;
    }
    // Makes staged items visible too; only when the producer thread is gone.
    void publish_all_for_shutdown() { publish(); }
    // Consumer: whether anything is visible (may miss items published concurrently).
    bool empty_approx() const {
        return _c.head == _tail.load(std::memory_order_acquire);
    }

private:
    const size_t _mask;
    std::unique_ptr<T[]> _slots;
    alignas(cache_line) std::atomic<size_t> _head{0};  // written by the consumer
    alignas(cache_line) std::atomic<size_t> _tail{0};  // written by the producer
    alignas(cache_line) struct {
        size_t staged = 0, published = 0, cached_head = 0;
    } _p;
    alignas(cache_line) struct {
        size_t head = 0, cached_tail = 0;
    } _c;
};

}  // namespace sluice
