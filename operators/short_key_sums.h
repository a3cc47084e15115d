// SPDX-License-Identifier: Apache-2.0
// A batch's integer sums per key, for keys of 1 to 7 bytes (most words), as
// reduceByKey(sum) and its kin combine them on a shard (a count is a sum of
// ones). A key is packed with its length into one 64-bit word, so a slot is
// 16 bytes (key, sum) with nothing to compare but that word, and the slot's
// place comes from a multiply-and-shift of it instead of XXH3. At 100 000
// keys the slots take 4 MiB, against 16 MiB of KeyTable<Acc> entries. The
// stream folds the sums into its KeyTable<Acc> when the batch closes, with
// XXH3 hashes then, once per key. Single-threaded.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "operators/key_table.h"

namespace sluice::ops {

class ShortKeySums {
    static_assert(std::endian::native == std::endian::little, "unpack reads a packed key's bytes in place");

public:
    static constexpr size_t max_key_bytes = 7;
    static bool fits(std::string_view key) { return key.size() - 1 < max_key_bytes; }  // 1 to 7 bytes

    explicit ShortKeySums(size_t expected = 0) { rehash(capacity_for(expected)); }
    void reserve(size_t n) {
        if (capacity_for(n) > _slots.size()) rehash(capacity_for(n));
    }

    // The key (fits(key)) with its length in the top byte: never 0.
    static uint64_t pack(std::string_view key) {
        const auto* b = reinterpret_cast<const unsigned char*>(key.data());
        const size_t n = key.size();
        uint64_t x;
        if (n >= 4) {  // two overlapping 4-byte loads: the same bytes land where they belong
            uint32_t lo, hi;
            std::memcpy(&lo, b, 4);
            std::memcpy(&hi, b + n - 4, 4);
            x = lo | uint64_t(hi) << (8 * (n - 4));
        } else {  // 1 to 3 bytes: first, middle, last
            x = uint64_t(b[0]) | uint64_t(b[n / 2]) << (8 * (n / 2)) | uint64_t(b[n - 1]) << (8 * (n - 1));
        }
        return x | uint64_t(n) << 56;
    }
    static uint64_t hash(uint64_t packed) {
        packed ^= packed >> 29;
        packed *= 0xbf58476d1ce4e5b9ULL;
        return packed ^ (packed >> 32);
    }
    static std::string_view unpack(const uint64_t& packed) {
        return {reinterpret_cast<const char*>(&packed), size_t(packed >> 56)};  // little-endian: the bytes come first
    }

    void prefetch(uint64_t h) const { __builtin_prefetch(&_slots[h & (_slots.size() - 1)]); }

    // Adds x to the key's sum. From the add whose sum would overflow (or be
    // INT64_MIN, which marks a spilled key) on, the key's sum so far and
    // every add are kept in spilled() instead, in order, for the caller to
    // add up as it adds numbers (an overflowing sum turns into a double there).
    void add(uint64_t packed, uint64_t h, int64_t x) {
        if (_size >= _slots.size() / 2) rehash(_slots.size() * 2);
        const size_t mask = _slots.size() - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            Slot& s = _slots[i];
            if (s.key == packed) {
                int64_t sum;
                if (s.sum == spilled_mark) {
                    _spilled.push_back({packed, x});
                } else if (__builtin_add_overflow(s.sum, x, &sum) || sum == spilled_mark) {
                    _spilled.push_back({packed, s.sum});
                    _spilled.push_back({packed, x});
                    s.sum = spilled_mark;
                } else {
                    s.sum = sum;
                }
                return;
            }
            if (s.key == 0) {
                _size++;
                s = {packed, x};
                if (x == spilled_mark) _spilled.push_back(s);
                return;
            }
        }
    }

    struct Slot {
        uint64_t key;  // packed, 0 = empty
        int64_t sum;
    };
    size_t size() const { return _size; }
    // fn(key, sum) for every key not spilled, in slot order; key views are
    // valid while the table is not changed.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (const Slot& s : _slots)
            if (s.key != 0 && s.sum != spilled_mark) fn(unpack(s.key), s.sum);
    }
    // The spilled keys' partial sums, in the order they came.
    const std::vector<Slot>& spilled() const { return _spilled; }

private:
    static constexpr int64_t spilled_mark = INT64_MIN;
    // At most half the slots hold a key: probe runs stay short.
    static size_t capacity_for(size_t n) {
        size_t cap = 16;
        while (cap / 2 < n) cap *= 2;
        return cap;
    }
    void rehash(size_t cap) {
        std::vector<Slot, HugePageAllocator<Slot>> slots(cap, Slot{0, 0});
        for (const Slot& s : _slots) {
            if (s.key == 0) continue;
            size_t i = hash(s.key) & (cap - 1);
            while (slots[i].key != 0) i = (i + 1) & (cap - 1);
            slots[i] = s;
        }
        _slots = std::move(slots);
    }

    std::vector<Slot, HugePageAllocator<Slot>> _slots;
    size_t _size = 0;
    std::vector<Slot> _spilled;
};

// Adds to ShortKeySums tables applied a few adds late, so that each one's
// slot is prefetched by then (as PendingAdds does for KeyTable). Every table
// an add names must outlive flush(). Single-threaded.
struct ShortKeyAdds {
    static constexpr size_t depth = 16;
    struct Add {
        ShortKeySums* table;
        uint64_t packed, hash;
        int64_t x;
    };
    std::array<Add, depth> ring{};
    size_t head = 0, n = 0;  // ring[head] is the oldest

    void push(ShortKeySums& table, std::string_view key, int64_t x) {
        const uint64_t packed = ShortKeySums::pack(key), h = ShortKeySums::hash(packed);
        table.prefetch(h);
        if (n == depth) apply_oldest();
        ring[(head + n++) % depth] = {&table, packed, h, x};
    }
    void flush() {
        while (n > 0) apply_oldest();
    }

private:
    void apply_oldest() {
        const Add& a = ring[head];
        a.table->add(a.packed, a.hash, a.x);
        head = (head + 1) % depth;
        n--;
    }
};

}  // namespace sluice::ops
