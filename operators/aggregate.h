// SPDX-License-Identifier: Apache-2.0
// The aggregates of the pipeline language (sum min max count avg first last)
// as partial accumulators that merge associatively, so each shard can
// combine locally and the key's owner shard merges the partials.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "operators/value.h"

namespace sluice::ops {

enum class Agg { sum, min, max, count, avg, first, last };
bool parse_agg(std::string_view name, Agg* out);
const std::vector<std::string_view>& agg_names();
// Whether the aggregate can be subtracted (for inverse windows).
inline bool agg_invertible(Agg a) { return a == Agg::sum || a == Agg::count || a == Agg::avg; }

// Where a value came from, for first/last, in one word: the record time in
// ms (high 44 bits), then the order on its shard (low 20 bits). Deterministic
// for one source; across shards "first" is as good as their clocks.
struct Order {
    uint64_t stamp = 0;
    static Order at(int64_t time_ms, uint64_t seq) { return {uint64_t(time_ms) << 20 | (seq & 0xFFFFF)}; }
    bool operator<(const Order& o) const { return stamp < o.stamp; }
};

struct Acc {
    Num v;          // sum, min, max, first, last; avg: the sum
    int64_t n = 0;  // values seen (count, avg)
    Order first_at, last_at;

    // An integer sum or count that already holds a value (the word count's
    // every add) is done inline; everything else in add_slow.
    void add(Agg a, Num x, Order at) {
        int64_t r;
        if (n > 0 && v.is_int && (a == Agg::count || (a == Agg::sum && x.is_int)) &&
            !__builtin_add_overflow(v.i, a == Agg::count ? 1 : x.i, &r)) {
            v.i = r;
            n++;
            return;
        }
        add_slow(a, x, at);
    }
    void add_slow(Agg a, Num x, Order at);
    void merge(Agg a, const Acc& o);
    // this -= o (only for agg_invertible aggregates).
    void subtract(Agg a, const Acc& o);
    Num result(Agg a) const;
    // No value left (the identity): what dropZero removes.
    bool is_identity(Agg a) const { return a == Agg::sum ? (n == 0 || v == Num::of_int(0)) : n == 0; }
};

}  // namespace sluice::ops
