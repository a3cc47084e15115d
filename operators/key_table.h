// SPDX-License-Identifier: Apache-2.0
// An open-addressing hash table from string keys to V, for per-batch keyed
// state. Entries sit in the slot array itself (no indirection), beside a
// parallel array of one control byte per slot (0 = empty, else 0x80 | seven
// bits of the hash), probed linearly. Keys of up to 12 bytes (most words)
// live in the entry; longer ones in an arena. With an aggregate accumulator
// an entry is one cache line, and the control bytes of a 100 000-key table
// (256 KiB) stay in L2, so a lookup in a table far bigger than the caches
// costs one miss, which callers can hide with prefetch_slot / prefetch_entry;
// entry arrays of 2 MiB or more are asked to be huge pages, so that miss is
// not preceded by a TLB miss.
// Iteration order is slot order (callers that emit sort by key).
// Single-threaded.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

// Inlined: short keys hash several times faster than through the library call.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace sluice::ops {

inline uint64_t key_hash(std::string_view k) { return XXH3_64bits(k.data(), k.size()); }

// Allocates arrays of 2 MiB or more as transparent huge pages (where the
// kernel has them, madvise mode included): a lookup in a big table then
// costs its cache miss without a TLB miss and page walk first.
template <typename T>
struct HugePageAllocator {
    using value_type = T;
    static constexpr size_t huge = size_t(2) << 20;
    HugePageAllocator() = default;
    template <typename U>
    HugePageAllocator(const HugePageAllocator<U>&) {}
    T* allocate(size_t n) {
        size_t bytes = n * sizeof(T);
        if (bytes < huge) return std::allocator<T>().allocate(n);
        size_t len = (bytes + huge - 1) / huge * huge;
        void* p = ::mmap(nullptr, len + huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        // Trim to a 2 MiB-aligned range, so every page of it can be huge.
        uintptr_t a = (reinterpret_cast<uintptr_t>(p) + huge - 1) & ~(huge - 1);
        size_t head = a - reinterpret_cast<uintptr_t>(p);
        if (head) ::munmap(p, head);
        if (huge - head) ::munmap(reinterpret_cast<void*>(a + len), huge - head);
        ::madvise(reinterpret_cast<void*>(a), len, MADV_HUGEPAGE);
        return reinterpret_cast<T*>(a);
    }
    void deallocate(T* p, size_t n) {
        size_t bytes = n * sizeof(T);
        if (bytes < huge) return std::allocator<T>().deallocate(p, n);
        ::munmap(p, (bytes + huge - 1) / huge * huge);
    }
    template <typename U>
    bool operator==(const HugePageAllocator<U>&) const { return true; }
};

template <typename V>
class KeyTable {
public:
    static constexpr size_t inline_key_bytes = 12;
    // Aligned to a cache line when it fits in one, so that one entry is one miss.
    struct alignas(24 + sizeof(V) <= 64 ? 64 : alignof(uint64_t)) Entry {
        uint64_t hash = 0;
        uint32_t key_len = 0;
        char key_bytes[inline_key_bytes] = {};  // the key, or its arena offset (uint32) if longer
        V value{};
    };

    explicit KeyTable(size_t expected = 16) { rehash(capacity_for(expected)); }

    // Room for n keys without growing.
    void reserve(size_t n) {
        if (capacity_for(n) > _ctrl.size()) rehash(capacity_for(n));
    }

    // The value for `key`, inserted as `init` if absent; *inserted tells which.
    V& find_or_insert(std::string_view key, uint64_t hash, const V& init, bool* inserted = nullptr) {
        if ((_size + 1) * 4 > _ctrl.size() * 3) rehash(_ctrl.size() * 2);
        size_t mask = _ctrl.size() - 1;
        uint8_t t = tag(hash);
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            uint8_t c = _ctrl[i];
            if (c == free_slot) {
                _ctrl[i] = t;
                Entry& e = _entries[i];
                e.hash = hash;
                e.key_len = uint32_t(key.size());
                if (key.size() <= inline_key_bytes) {
                    std::memcpy(e.key_bytes, key.data(), key.size());
                } else {
                    uint32_t off = uint32_t(_arena.size());
                    std::memcpy(e.key_bytes, &off, sizeof off);
                    _arena.append(key.data(), key.size());
                }
                e.value = init;
                _size++;
                if (inserted) *inserted = true;
                return e.value;
            }
            if (c != t) continue;  // the tag differs: no need to look at the entry
            Entry& e = _entries[i];
            if (e.hash == hash && same_key(e, key)) {
                if (inserted) *inserted = false;
                return e.value;
            }
        }
    }
    V* find(std::string_view key, uint64_t hash) {
        size_t mask = _ctrl.size() - 1;
        uint8_t t = tag(hash);
        for (size_t i = hash & mask;; i = (i + 1) & mask) {
            uint8_t c = _ctrl[i];
            if (c == free_slot) return nullptr;
            if (c != t) continue;
            Entry& e = _entries[i];
            if (e.hash == hash && same_key(e, key)) return &e.value;
        }
    }

    // Hints for a caller that looks up many keys: prefetch_slot(h) a while
    // before the lookup of h, prefetch_entry(h) (which reads the control
    // bytes) a little later, for when the key sits past its home slot.
    // Neither changes anything; both pay only once the table outgrows the caches.
    void prefetch_slot(uint64_t hash) const {
        size_t i = hash & (_ctrl.size() - 1);
        __builtin_prefetch(&_ctrl[i]);
        __builtin_prefetch(&_entries[i]);
    }
    void prefetch_entry(uint64_t hash) const {
        size_t mask = _ctrl.size() - 1;
        uint8_t t = tag(hash);
        size_t i = hash & mask;
        for (int probes = 0; probes < 8; probes++, i = (i + 1) & mask) {
            uint8_t c = _ctrl[i];
            if (c == free_slot) return;
            if (c == t) {
                if (probes > 0) __builtin_prefetch(&_entries[i]);
                return;
            }
        }
    }

    size_t size() const { return _size; }
    bool empty() const { return _size == 0; }
    // Entries in slot order; key views are valid until the next insertion.
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (size_t i = 0; i < _ctrl.size(); i++)
            if (_ctrl[i] != free_slot) fn(key(_entries[i]), _entries[i].hash, _entries[i].value);
    }
    // Removes the entries for which pred(key, value) is true, then compacts.
    template <typename Pred>
    void remove_if(Pred&& pred) {
        KeyTable<V> kept(_size);
        for_each([&](std::string_view k, uint64_t h, V& v) {
            if (!pred(k, v)) kept.find_or_insert(k, h, v);
        });
        *this = std::move(kept);
    }
    // Bytes held (for the state-size report).
    size_t memory_bytes() const {
        return _ctrl.capacity() + _entries.capacity() * sizeof(Entry) + _arena.capacity();
    }

private:
    template <typename>
    friend class KeyList;
    static constexpr uint8_t free_slot = 0;
    static uint8_t tag(uint64_t hash) { return uint8_t(hash >> 57) | 0x80; }
    // Slots for n keys at a load of at most 3/4.
    static size_t capacity_for(size_t n) {
        size_t cap = 16;
        while (cap * 3 < n * 4) cap *= 2;
        return cap;
    }

    std::string_view key(const Entry& e) const { return {key_data(e, _arena), e.key_len}; }
    // Where an entry's key is: in the entry, or at its offset in `arena`.
    static const char* key_data(const Entry& e, const std::string& arena) {
        if (e.key_len <= inline_key_bytes) return e.key_bytes;
        uint32_t off;
        std::memcpy(&off, e.key_bytes, sizeof off);
        return arena.data() + off;
    }

    bool same_key(const Entry& e, std::string_view key) const {
        if (e.key_len != key.size()) return false;
        const char* a = key_data(e, _arena);
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

    // Moves every entry into `cap` slots (a power of two); the arena stays.
    void rehash(size_t cap) {
        std::vector<uint8_t> ctrl(cap, free_slot);
        std::vector<Entry, HugePageAllocator<Entry>> entries(cap);
        size_t mask = cap - 1;
        for (size_t j = 0; j < _ctrl.size(); j++) {
            if (_ctrl[j] == free_slot) continue;
            size_t i = _entries[j].hash & mask;
            while (ctrl[i] != free_slot) i = (i + 1) & mask;
            ctrl[i] = _ctrl[j];
            entries[i] = std::move(_entries[j]);
        }
        _ctrl = std::move(ctrl);
        _entries = std::move(entries);
    }

    std::vector<uint8_t> _ctrl;
    std::vector<Entry, HugePageAllocator<Entry>> _entries;
    std::string _arena;
    size_t _size = 0;
};

// A KeyTable's entries side by side, for state that is only walked again,
// never looked up (a window's past batches): no empty slots to skip or hold.
// Single-threaded.
template <typename V>
class KeyList {
public:
    KeyList() = default;
    explicit KeyList(KeyTable<V>&& table) : _arena(std::move(table._arena)) {
        _entries.reserve(table._size);
        for (size_t i = 0; i < table._ctrl.size(); i++)
            if (table._ctrl[i] != KeyTable<V>::free_slot) _entries.push_back(std::move(table._entries[i]));
        table = KeyTable<V>();
    }

    size_t size() const { return _entries.size(); }
    // Entries in the table's slot order; fn(key, hash, value).
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (auto& e : _entries) fn(key(e), e.hash, e.value);
    }
    size_t memory_bytes() const { return _entries.capacity() * sizeof(Entry) + _arena.capacity(); }

private:
    using Entry = typename KeyTable<V>::Entry;
    std::string_view key(const Entry& e) const { return {KeyTable<V>::key_data(e, _arena), e.key_len}; }

    std::vector<Entry> _entries;
    std::string _arena;  // the table's: long keys by offset
};

}  // namespace sluice::ops
