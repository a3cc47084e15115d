// SPDX-License-Identifier: Apache-2.0
// An open-addressing hash table from string keys to V, for per-batch keyed
// state: keys are copied once into an arena, hashes (XXH3) are stored beside
// them, probing is linear over a power-of-two array of small slots. Iteration
// order is unspecified (callers that emit sort by key). Single-threaded.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

// Inlined: short keys hash several times faster than through the library call.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sluice::ops {

inline uint64_t key_hash(std::string_view k) { return XXH3_64bits(k.data(), k.size()); }

template <typename V>
class KeyTable {
public:
    struct Entry {
        uint64_t hash;
        uint32_t key_off, key_len;
        V value;
    };

    explicit KeyTable(size_t expected = 16) { rehash(expected * 2); }

    // The value for `key`, inserted as `init` if absent; *inserted tells which.
    V& find_or_insert(std::string_view key, uint64_t hash, const V& init, bool* inserted = nullptr) {
        if ((_size + 1) * 4 > _slots.size() * 3) rehash(_slots.size() * 2);
        size_t mask = _slots.size() - 1;
        uint32_t t = tag(hash);
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            uint64_t s = _slots[i];
            if (s == empty_slot) {
                _slots[i] = slot_of(uint32_t(_entries.size()), t);
                _entries.push_back(Entry{hash, uint32_t(_arena.size()), uint32_t(key.size()), init});
                _arena.append(key.data(), key.size());
                _size++;
                if (inserted) *inserted = true;
                return _entries.back().value;
            }
            if (uint32_t(s) != t) continue;  // the tag differs: no need to look at the entry
            Entry& e = _entries[s >> 32];
            if (e.hash == hash && same_key(e, key)) {
                if (inserted) *inserted = false;
                return e.value;
            }
        }
    }
    V* find(std::string_view key, uint64_t hash) {
        size_t mask = _slots.size() - 1;
        uint32_t t = tag(hash);
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            uint64_t s = _slots[i];
            if (s == empty_slot) return nullptr;
            if (uint32_t(s) != t) continue;
            Entry& e = _entries[s >> 32];
            if (e.hash == hash && same_key(e, key)) return &e.value;
        }
    }

    size_t size() const { return _size; }
    bool empty() const { return _size == 0; }
    std::string_view key(const Entry& e) const { return {_arena.data() + e.key_off, e.key_len}; }
    // Entries in insertion order.
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (auto& e : _entries) fn(key(e), e.hash, e.value);
    }
    // Removes the entries for which pred(key, value) is true, then compacts.
    template <typename Pred>
    void remove_if(Pred&& pred) {
        KeyTable<V> kept(_size);
        for (auto& e : _entries)
            if (!pred(key(e), e.value)) kept.find_or_insert(key(e), e.hash, e.value);
        *this = std::move(kept);
    }
    void clear() {
        _entries.clear();
        _arena.clear();
        std::fill(_slots.begin(), _slots.end(), empty_slot);
        _size = 0;
    }
    // Bytes held (for the state-size report).
    size_t memory_bytes() const {
        return _slots.capacity() * sizeof(uint64_t) + _entries.capacity() * sizeof(Entry) + _arena.capacity();
    }

private:
    // A slot: entry index (high 32 bits) and a tag from the hash's high bits
    // (low 32), so most mismatches are settled without touching the entry.
    static constexpr uint64_t empty_slot = UINT64_MAX;
    static uint32_t tag(uint64_t hash) { return uint32_t(hash >> 32) | 1u; }  // never all ones with idx
    static uint64_t slot_of(uint32_t idx, uint32_t t) { return uint64_t(idx) << 32 | t; }

    bool same_key(const Entry& e, std::string_view key) const {
        if (e.key_len != key.size()) return false;
        const char* a = _arena.data() + e.key_off;
        const char* b = key.data();
        size_t n = key.size();
        // Short keys (most words) compare in registers, not through a libc call.
        while (n >= 8) {
            uint64_t x, y;
            std::memcpy(&x, a, 8);
            std::memcpy(&y, b, 8);
            if (x != y) return false;
            a += 8;
            b += 8;
            n -= 8;
        }
        for (; n > 0; n--)
            if (*a++ != *b++) return false;
        return true;
    }

    void rehash(size_t n) {
        size_t cap = 16;
        while (cap < n) cap *= 2;
        _slots.assign(cap, empty_slot);
        size_t mask = cap - 1;
        for (uint32_t idx = 0; idx < _entries.size(); idx++) {
            size_t i = _entries[idx].hash & mask;
            while (_slots[i] != empty_slot) i = (i + 1) & mask;
            _slots[i] = slot_of(idx, tag(_entries[idx].hash));
        }
    }

    std::vector<uint64_t> _slots;
    std::vector<Entry> _entries;
    std::string _arena;
    size_t _size = 0;
};

}  // namespace sluice::ops
