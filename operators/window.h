// SPDX-License-Identifier: Apache-2.0
// One step of reduceByKeyAndWindow on a key's owner shard (docs/streams.md):
// the per-batch tables still needed, the incremental window table (inverse
// only), and the step that adds batch `t` and, when `t` ends a slide, emits
// the window ending at `t`. Kept out of stream.cc so that bench/ can measure
// the real step (bench/micro.cc) without running a whole stream.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>

#include "operators/aggregate.h"
#include "operators/key_table.h"

namespace sluice::ops {

struct WindowSpec {
    int64_t window_ms = 0, slide_ms = 0;
    Agg agg = Agg::sum;
    bool inverse = false;    // Spark's incremental form (agg_invertible aggregates only)
    bool drop_zero = false;  // inverse: drop keys whose value went back to the identity
};

// Moves `batch` (batch ending at `t`) into `batches`, packed (it is only
// walked from now on); if t is a multiple of
// the slide, calls emit(key, value) for every key of the window (t - window, t]
// and returns true. `window_value` is the incremental window table, used
// (and kept between steps) only when spec.inverse. Batches no later window
// (or its subtraction) needs are dropped from `batches`.
template <typename Emit>
bool reduce_window_step(std::map<int64_t, KeyList<Acc>>& batches, KeyTable<Acc>& window_value, int64_t t,
                        KeyTable<Acc>&& batch, const WindowSpec& spec, Emit&& emit) {
    const int64_t w = spec.window_ms, s = spec.slide_ms;
    const Agg agg = spec.agg;
    batches.emplace(t, KeyList<Acc>(std::move(batch)));
    const bool due = t % s == 0;
    if (due) {
        if (spec.inverse) {
            // Spark's incremental step: subtract what left (t-s-w, t-w], add what came (t-s, t].
            for (auto& [bt, tab] : batches) {
                if (bt > t - s - w && bt <= t - w)
                    tab.for_each([&](std::string_view k, uint64_t h, Acc& a) {
                        if (Acc* cur = window_value.find(k, h)) cur->subtract(agg, a);
                    });
            }
            for (auto& [bt, tab] : batches) {
                if (bt > t - s && bt <= t)
                    tab.for_each([&](std::string_view k, uint64_t h, Acc& a) { window_value.find_or_insert(k, h, Acc{}).merge(agg, a); });
            }
            if (spec.drop_zero) window_value.remove_if([&](std::string_view, Acc& a) { return a.is_identity(agg); });
            window_value.for_each([&](std::string_view k, uint64_t, Acc& a) { emit(k, a.n == 0 ? Num::of_int(0) : a.result(agg)); });
        } else {
            KeyTable<Acc> merged(64);
            for (auto& [bt, tab] : batches)
                if (bt > t - w && bt <= t)
                    tab.for_each([&](std::string_view k, uint64_t h, Acc& a) { merged.find_or_insert(k, h, Acc{}).merge(agg, a); });
            merged.for_each([&](std::string_view k, uint64_t, Acc& a) { emit(k, a.result(agg)); });
        }
    }
    const int64_t keep_after = t - w - (spec.inverse ? s : 0);
    while (!batches.empty() && batches.begin()->first <= keep_after) batches.erase(batches.begin());
    return due;
}

}  // namespace sluice::ops
