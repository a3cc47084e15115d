// SPDX-License-Identifier: Apache-2.0
// A straightforward, single-threaded evaluator of a subset of the pipeline
// language, written from docs/streams.md and reference/spark-streaming.md
// (not from the product code), for the property test in streams_test.cc:
//
//   flatMap(split(" ")) [| filter(contains(s))] | { pair(1) | kv("=") }
//     | { count | countByValue | reduceByKey(agg)
//       | reduceByKeyAndWindow(agg, W, S[, inverse[, dropZero]])
//       | updateStateByKey(sum|count|max) }
//
// in event time with watermark 0 and time-ordered input: batches are
// epoch-aligned, named by their end, and run from the batch of the earliest
// record to the batch of the latest; windows are emitted at every batch end
// that is a multiple of S and cover the batches with end in (T - W, T].
// Results are "T body" lines, body "key<TAB>value" or "value".
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sluice_it::reference {

struct pipeline {
    int64_t batch_ms = 1000;
    std::optional<std::string> contains;  // filter(contains(s)) after the split
    bool kv = false;                      // kv("=") instead of pair(1)
    enum class stage { count, count_by_value, reduce_by_key, window, state } what = stage::reduce_by_key;
    std::string agg = "sum";  // reduceByKey / reduceByKeyAndWindow: sum min max count avg first last
    int64_t window_ms = 0, slide_ms = 0;
    bool inverse = false, drop_zero = false;
    std::string state_fn = "sum";  // updateStateByKey: sum count max

    static std::string dur(int64_t ms) { return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms"; }

    std::string ops() const {
        std::string t = "flatMap(split(\" \"))";
        if (contains) t += " | filter(contains(\"" + *contains + "\"))";
        if (what == stage::count) return t + " | count()";
        if (what == stage::count_by_value) return t + " | countByValue()";
        t += kv ? " | kv(\"=\")" : " | pair(1)";
        switch (what) {
        case stage::reduce_by_key: return t + " | reduceByKey(" + agg + ")";
        case stage::window:
            t += " | reduceByKeyAndWindow(" + agg + ", " + dur(window_ms) + ", " + dur(slide_ms);
            if (inverse) t += ", inverse";
            if (drop_zero) t += ", dropZero";
            return t + ")";
        case stage::state: return t + " | updateStateByKey(" + state_fn + ")";
        default: return t;
        }
    }
};

struct event {
    int64_t t;
    std::string body;
};

inline int64_t batch_end(int64_t t, int64_t b) {
    int64_t k = t >= 0 ? t / b : (t - b + 1) / b;
    return (k + 1) * b;
}

inline std::string format_double(double d) {
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), d);
    (void)ec;
    return std::string(buf, p);
}

// The fold of integer values for every aggregate at once.
struct fold {
    int64_t sum = 0, n = 0, min = 0, max = 0, first = 0, last = 0;
    void add(int64_t v) {
        if (n == 0) min = max = first = v;
        min = std::min(min, v);
        max = std::max(max, v);
        last = v;
        sum += v;
        n++;
    }
    // `o` comes after this (time order).
    void merge(const fold& o) {
        if (o.n == 0) return;
        if (n == 0) {
            *this = o;
            return;
        }
        min = std::min(min, o.min);
        max = std::max(max, o.max);
        last = o.last;
        sum += o.sum;
        n += o.n;
    }
    std::string result(const std::string& agg) const {
        if (agg == "sum") return std::to_string(sum);
        if (agg == "count") return std::to_string(n);
        if (agg == "min") return std::to_string(min);
        if (agg == "max") return std::to_string(max);
        if (agg == "first") return std::to_string(first);
        if (agg == "last") return std::to_string(last);
        if (agg == "avg") return n == 0 ? "0" : format_double(double(sum) / double(n));
        return "?";
    }
};

inline std::vector<std::string> split_words(const std::string& s) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= s.size()) {
        size_t e = s.find(' ', pos);
        if (e == std::string::npos) e = s.size();
        if (e > pos) out.push_back(s.substr(pos, e - pos));
        pos = e + 1;
    }
    return out;
}

// A whole integer, or nothing.
inline std::optional<int64_t> parse_int(const std::string& s) {
    int64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// Input in time order (ties in input order). Returns the expected lines.
inline std::vector<std::string> evaluate(const pipeline& pl, const std::vector<event>& input) {
    std::vector<std::string> out;
    if (input.empty()) return out;
    const int64_t b = pl.batch_ms;
    int64_t first_t = INT64_MAX, last_t = INT64_MIN;
    for (const auto& e : input) {
        first_t = std::min(first_t, batch_end(e.t, b));
        last_t = std::max(last_t, batch_end(e.t, b));
    }
    // Per batch: the records after the record operators, and the pairs.
    struct batch {
        std::vector<std::string> records;
        std::vector<std::pair<std::string, int64_t>> pairs;
    };
    std::map<int64_t, batch> batches;
    for (int64_t t = first_t; t <= last_t; t += b) batches[t];
    for (const auto& e : input) {
        batch& bt = batches[batch_end(e.t, b)];
        for (auto& w : split_words(e.body)) {
            if (pl.contains && w.find(*pl.contains) == std::string::npos) continue;
            bt.records.push_back(w);
            if (!pl.kv) {
                bt.pairs.emplace_back(w, 1);
            } else {
                size_t eq = w.find('=');
                if (eq == std::string::npos) continue;
                auto v = parse_int(w.substr(eq + 1));
                if (v) bt.pairs.emplace_back(w.substr(0, eq), *v);
            }
        }
    }
    auto per_key = [](const batch& bt) {
        std::map<std::string, fold> m;
        for (auto& [k, v] : bt.pairs) m[k].add(v);
        return m;
    };
    auto line = [&](int64_t t, const std::string& body) { out.push_back(std::to_string(t) + " " + body); };

    switch (pl.what) {
    case pipeline::stage::count:
        for (auto& [t, bt] : batches) line(t, std::to_string(bt.records.size()));
        break;
    case pipeline::stage::count_by_value:
        for (auto& [t, bt] : batches) {
            std::map<std::string, int64_t> m;
            for (auto& r : bt.records) m[r]++;
            for (auto& [k, n] : m) line(t, k + "\t" + std::to_string(n));
        }
        break;
    case pipeline::stage::reduce_by_key:
        for (auto& [t, bt] : batches)
            for (auto& [k, f] : per_key(bt)) line(t, k + "\t" + f.result(pl.agg));
        break;
    case pipeline::stage::state: {
        std::map<std::string, fold> state;
        for (auto& [t, bt] : batches) {
            for (auto& [k, f] : per_key(bt)) state[k].merge(f);
            for (auto& [k, f] : state) line(t, k + "\t" + f.result(pl.state_fn == "count" ? "count" : pl.state_fn));
        }
        break;
    }
    case pipeline::stage::window: {
        const int64_t w = pl.window_ms, s = pl.slide_ms;
        std::map<int64_t, std::map<std::string, fold>> reduced;
        for (auto& [t, bt] : batches) reduced[t] = per_key(bt);
        // Spark's incremental state: the previous window's values.
        std::map<std::string, fold> prev;
        for (int64_t t = first_t; t <= last_t; t += b) {
            if (t % s != 0) continue;
            if (!pl.inverse) {
                std::map<std::string, fold> win;
                for (auto& [bt, m] : reduced)
                    if (bt > t - w && bt <= t)
                        for (auto& [k, f] : m) win[k].merge(f);
                for (auto& [k, f] : win) line(t, k + "\t" + f.result(pl.agg));
                continue;
            }
            // old = batches in (t-s-w, t-w], new = batches in (t-s, t].
            for (auto& [bt, m] : reduced)
                if (bt > t - s - w && bt <= t - w)
                    for (auto& [k, f] : m) {
                        auto it = prev.find(k);
                        if (it == prev.end()) continue;
                        it->second.sum -= f.sum;
                        it->second.n -= f.n;
                    }
            for (auto& [bt, m] : reduced)
                if (bt > t - s && bt <= t)
                    for (auto& [k, f] : m) prev[k].merge(f);
            if (pl.drop_zero)
                for (auto it = prev.begin(); it != prev.end();)
                    it = it->second.n == 0 || (pl.agg == "sum" && it->second.sum == 0) ? prev.erase(it) : std::next(it);
            for (auto& [k, f] : prev) line(t, k + "\t" + (f.n == 0 ? std::string("0") : f.result(pl.agg)));
        }
        break;
    }
    }
    return out;
}

}  // namespace sluice_it::reference
