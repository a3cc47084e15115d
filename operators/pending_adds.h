// SPDX-License-Identifier: Apache-2.0
// Adds to keyed tables that outgrew the caches, applied a few records late so
// that the memory each one needs is prefetched by the time it is applied:
// with 100 000 keys each add would otherwise wait for two misses (control
// byte, then entry) in turn. Used by the stream's per-batch combine and by
// the micro-benchmarks (bench/micro.cc). Single-threaded.
#pragma once

#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include "operators/aggregate.h"
#include "operators/key_table.h"

namespace sluice::ops {

// Adds are applied in arrival order (first/last stay exact). A key the
// caller marks `lasting` (its bytes stay put until flush(): the stream's
// keys that point into the batch being taken) is kept as a view; any other
// is copied (it may point into an operator's scratch string): short ones
// (most words) into the add itself, longer ones into a string. Every table
// an add names must outlive flush().
struct PendingAdds {
    static constexpr size_t depth = 16;             // adds in flight; the entry is prefetched depth/2 adds ahead
    static constexpr size_t min_table_keys = 8192;  // ~0.5 MiB of entries: below, the table is in L2
    struct Add {
        static constexpr size_t inline_key_bytes = 24;
        KeyTable<Acc>* table;
        uint64_t hash;
        Num v;
        Order at;
        std::string_view key;  // the caller's bytes, key_bytes or long_key
        char key_bytes[inline_key_bytes];
        std::string long_key;
        void set_key(std::string_view k, bool lasting) {
            if (lasting) {
                key = k;
            } else if (k.size() <= inline_key_bytes) {
                std::memcpy(key_bytes, k.data(), k.size());
                key = {key_bytes, k.size()};
            } else {
                long_key.assign(k);
                key = long_key;
            }
        }
    };
    std::array<Add, depth> ring{};
    size_t head = 0, n = 0;  // ring[head] is the oldest

    void push(KeyTable<Acc>& table, std::string_view key, bool lasting, uint64_t hash, Num v, Order at, Agg agg) {
        table.prefetch_slot(hash);
        if (n == depth) apply_oldest(agg);
        Add& a = ring[(head + n++) % depth];
        a.table = &table;
        a.hash = hash;
        a.v = v;
        a.at = at;
        a.set_key(key, lasting);
        if (n > depth / 2) {
            const Add& m = ring[(head + n - 1 - depth / 2) % depth];
            m.table->prefetch_entry(m.hash);
        }
    }
    void flush(Agg agg) {
        while (n > 0) apply_oldest(agg);
    }

private:
    void apply_oldest(Agg agg) {
        Add& a = ring[head];
        a.table->find_or_insert(a.key, a.hash, Acc{}).add(agg, a.v, a.at);
        head = (head + 1) % depth;
        n--;
    }
};

}  // namespace sluice::ops
