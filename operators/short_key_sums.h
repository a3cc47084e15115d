// SPDX-License-Identifier: Apache-2.0
// A batch's integer sums per key, for keys of 1 to 7 bytes (most words), as
// reduceByKey(sum) and its kin combine them on a shard (a count is a sum of
// ones). A key is packed with its length into one 64-bit word, and its sum
// and count share another (40 and 24 bits), so a slot is 16 bytes with
// nothing to compare but the key word, and the slot's place comes from a
// multiply-and-shift of it instead of XXH3. At 100 000 keys the slots take
// 4 MiB, against 16 MiB of KeyTable<Acc> entries. The stream folds the sums
// into the batch's KeyTable<Acc> when the batch closes (XXH3 once per key
// then). A key whose sum or count outgrows its bits is spilled into that
// table at once and added to there from then on, so that every result is
// the same as if the key had never been here. Single-threaded.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "operators/aggregate.h"
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

    // Adds x to the key's sum (agg is sum or count; for count x is 1). A key
    // whose sum or count would not fit its bits moves to `spill` (its sum and
    // count so far merged there as one Acc, then x added), and every later
    // add of it goes there too.
    void add(uint64_t packed, uint64_t h, int64_t x, KeyTable<Acc>& spill, Agg agg) {
        if (_size >= _slots.size() / 2) rehash(_slots.size() * 2);
        const size_t mask = _slots.size() - 1;
        for (size_t i = h & mask;; i = (i + 1) & mask) {
            Slot& s = _slots[i];
            if (s.key == packed) {
                const int64_t count = int64_t(s.sum_count >> sum_bits);
                if (count == 0) return spill_add(s.key, x, spill, agg);  // spilled before
                const int64_t sum = x < min_sum || x > max_sum ? min_sum - 1 : sum_of(s.sum_count) + x;
                if (sum < min_sum || sum > max_sum || count == max_count) {
                    Acc& a = acc_in(spill, s.key);
                    a.merge(agg, acc_of(s.sum_count));
                    a.add(agg, Num::of_int(x), Order{});
                    s.sum_count = 0;
                    return;
                }
                s.sum_count = pack_sum(sum, count + 1);
                return;
            }
            if (s.key == 0) {
                _size++;
                s.key = packed;
                if (x < min_sum || x > max_sum) return spill_add(s.key, x, spill, agg);  // count 0: spilled
                s.sum_count = pack_sum(x, 1);
                return;
            }
        }
    }

    size_t size() const { return _size; }
    // fn(key, sum, count) for every key not spilled, in slot order; key
    // views are valid while the table is not changed.
    template <typename Fn>
    void for_each(Fn&& fn) const {
        for (const Slot& s : _slots) {
            const int64_t count = int64_t(s.sum_count >> sum_bits);
            if (s.key != 0 && count != 0) fn(unpack(s.key), sum_of(s.sum_count), count);
        }
    }
    // Merges every key's sum and count into `table` (the batch's close:
    // XXH3 once per key, here).
    void fold_into(KeyTable<Acc>& table, Agg agg) const {
        table.reserve(table.size() + _size);
        for (const Slot& s : _slots)
            if (s.key != 0 && s.sum_count >> sum_bits != 0) acc_in(table, s.key).merge(agg, acc_of(s.sum_count));
    }

private:
    struct Slot {
        uint64_t key;        // packed, 0 = empty
        uint64_t sum_count;  // count << 40 | 40-bit two's complement sum; count 0: spilled
    };
    static constexpr int sum_bits = 40;
    static constexpr int64_t min_sum = -(int64_t(1) << (sum_bits - 1)), max_sum = (int64_t(1) << (sum_bits - 1)) - 1;
    static constexpr int64_t max_count = (int64_t(1) << (64 - sum_bits)) - 1;
    static int64_t sum_of(uint64_t sum_count) { return int64_t(sum_count << (64 - sum_bits)) >> (64 - sum_bits); }
    static uint64_t pack_sum(int64_t sum, int64_t count) {
        return uint64_t(count) << sum_bits | (uint64_t(sum) & ((uint64_t(1) << sum_bits) - 1));
    }
    static Acc acc_of(uint64_t sum_count) {
        Acc a;
        a.v = Num::of_int(sum_of(sum_count));
        a.n = int64_t(sum_count >> sum_bits);
        return a;
    }
    static Acc& acc_in(KeyTable<Acc>& table, const uint64_t& packed) {
        std::string_view k = unpack(packed);
        return table.find_or_insert(k, key_hash(k), Acc{});
    }
    static void spill_add(const uint64_t& packed, int64_t x, KeyTable<Acc>& spill, Agg agg) {
        acc_in(spill, packed).add(agg, Num::of_int(x), Order{});
    }

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
};

// Adds to ShortKeySums tables applied a few adds late, so that each one's
// slot is prefetched by then (as PendingAdds does for KeyTable). Every table
// an add names must outlive flush(). Single-threaded.
struct ShortKeyAdds {
    static constexpr size_t depth = 16;
    struct Add {
        ShortKeySums* table;
        KeyTable<Acc>* spill;
        uint64_t packed, hash;
        int64_t x;
    };
    std::array<Add, depth> ring{};
    size_t head = 0, n = 0;  // ring[head] is the oldest

    void push(ShortKeySums& table, KeyTable<Acc>& spill, std::string_view key, int64_t x, Agg agg) {
        const uint64_t packed = ShortKeySums::pack(key), h = ShortKeySums::hash(packed);
        table.prefetch(h);
        if (n == depth) apply_oldest(agg);
        ring[(head + n++) % depth] = {&table, &spill, packed, h, x};
    }
    void flush(Agg agg) {
        while (n > 0) apply_oldest(agg);
    }

private:
    void apply_oldest(Agg agg) {
        const Add& a = ring[head];
        a.table->add(a.packed, a.hash, a.x, *a.spill, agg);
        head = (head + 1) % depth;
        n--;
    }
};

}  // namespace sluice::ops
