// SPDX-License-Identifier: Apache-2.0
#include "core/metrics.h"

#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdio>

#include "core/assert.h"
#include "core/runtime.h"

namespace sluice {

const std::vector<std::string_view>& source_counter_names() {
    static const std::vector<std::string_view> v = {
        "EventReceivedCount", "EventAcceptedCount", "AppendReceivedCount", "AppendAcceptedCount",
        "AppendBatchReceivedCount", "AppendBatchAcceptedCount", "OpenConnectionCount", "EventReadFail",
        "ChannelWriteFail", "GenericProcessingFail"};
    return v;
}
const std::vector<std::string_view>& channel_counter_names() {
    static const std::vector<std::string_view> v = {"EventPutAttemptCount", "EventTakeAttemptCount",
                                                    "EventPutSuccessCount", "EventTakeSuccessCount"};
    return v;
}
const std::vector<std::string_view>& stream_counter_names() {
    static const std::vector<std::string_view> v = {"EventReceivedCount", "LateEventCount", "BadTimeEventCount",
                                                    "BatchesEmitted",     "ResultsEmitted", "KeysHeld",
                                                    "StateBytes"};
    return v;
}
const std::vector<std::string_view>& sink_counter_names() {
    static const std::vector<std::string_view> v = {
        "ConnectionCreatedCount", "ConnectionClosedCount", "ConnectionFailedCount", "BatchEmptyCount",
        "BatchUnderflowCount", "BatchCompleteCount", "EventDrainAttemptCount", "EventDrainSuccessCount",
        "EventWriteFail", "ChannelReadFail"};
    return v;
}

CounterGroup::CounterGroup(std::string type, std::string name, const std::vector<std::string_view>& names,
                           unsigned shards)
    : _type(std::move(type)), _name(std::move(name)), _names(names), _shards(shards) {
    // Round each shard's block up to whole cache lines so shards never share one.
    size_t per_line = cache_line / sizeof(std::atomic<uint64_t>);
    _stride = (names.size() + per_line - 1) / per_line * per_line;
    _blocks.reset(new std::atomic<uint64_t>[_stride * shards]);
    for (size_t i = 0; i < _stride * shards; i++) _blocks[i].store(0, std::memory_order_relaxed);
    _latency.reset(new std::atomic<uint64_t>[latency_stride * shards]);
    for (size_t i = 0; i < latency_stride * shards; i++) _latency[i].store(0, std::memory_order_relaxed);
}

void CounterGroup::record_latency(unsigned shard, int64_t us, uint64_t n) {
    static_assert(latency_bounds_us.size() + 2 <= latency_stride);
    size_t b = 0;
    while (b < latency_bounds_us.size() && us > latency_bounds_us[b]) b++;
    auto* block = &_latency[size_t(shard) * latency_stride];
    block[b].store(block[b].load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    auto& sum = block[latency_bounds_us.size() + 1];
    sum.store(sum.load(std::memory_order_relaxed) + uint64_t(std::max<int64_t>(us, 0)) * n, std::memory_order_relaxed);
}

CounterGroup::Latency CounterGroup::latency() const {
    Latency l;
    const size_t buckets = latency_bounds_us.size() + 1;
    for (unsigned s = 0; s < _shards; s++) {
        auto* block = &_latency[size_t(s) * latency_stride];
        for (size_t b = 0; b < buckets; b++) l.cumulative[b] += block[b].load(std::memory_order_relaxed);
        l.sum_us += block[buckets].load(std::memory_order_relaxed);
    }
    for (size_t b = 1; b < buckets; b++) l.cumulative[b] += l.cumulative[b - 1];
    l.any = l.cumulative[buckets - 1] > 0;
    return l;
}

uint64_t CounterGroup::get(uint32_t counter) const {
    SLUICE_ASSERT(counter < _names.size(), "no such counter");
    uint64_t sum = 0;
    for (unsigned s = 0; s < _shards; s++) sum += _blocks[size_t(s) * _stride + counter].load(std::memory_order_relaxed);
    return sum;
}

void CounterGroup::mark_started() {
    _start_ms.store(wall_clock_ms());
    _stop_ms.store(0);
}
void CounterGroup::mark_stopped() { _stop_ms.store(wall_clock_ms()); }

std::vector<std::pair<std::string, std::string>> CounterGroup::snapshot() const {
    std::vector<std::pair<std::string, std::string>> out;
    for (uint32_t i = 0; i < _names.size(); i++) out.emplace_back(std::string(_names[i]), std::to_string(get(i)));
    if (_gauges) _gauges(out);
    out.emplace_back("StartTime", std::to_string(_start_ms.load()));
    out.emplace_back("StopTime", std::to_string(_stop_ms.load()));
    out.emplace_back("Type", _type);
    return out;
}

CounterGroup& MetricsRegistry::add(std::string type, std::string name, const std::vector<std::string_view>& names,
                                   unsigned shards) {
    std::lock_guard lk(_mu);
    _groups.push_back(std::make_unique<CounterGroup>(std::move(type), std::move(name), names, shards));
    return *_groups.back();
}

std::vector<CounterGroup*> MetricsRegistry::groups() const {
    std::lock_guard lk(_mu);
    std::vector<CounterGroup*> v;
    for (auto& g : _groups) v.push_back(g.get());
    return v;
}

std::string MetricsRegistry::summary() const {
    std::string out;
    for (auto* g : groups()) {
        out += g->type() + "." + g->name() + ":";
        for (auto& [k, v] : g->snapshot()) {
            if (k == "StartTime" || k == "StopTime" || k == "Type") continue;
            out += " " + k + "=" + v;
        }
        out += "\n";
    }
    return out;
}

std::string java_double(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
    // The shortest digits that read back to v, then laid out as Java does:
    // plain for 1e-3 <= |v| < 1e7 (at least one digit after the point),
    // otherwise d.dddE<exp>.
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
    std::string sci(buf, end);  // -d.ddde+XX
    bool neg = sci[0] == '-';
    if (neg) sci.erase(0, 1);
    size_t e = sci.find('e');
    int exp = std::atoi(sci.c_str() + e + 1);
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    std::string out = neg ? "-" : "";
    double a = std::fabs(v);
    if (a >= 1e-3 && a < 1e7) {
        if (exp >= 0) {
            std::string ip = digits.substr(0, std::min<size_t>(digits.size(), size_t(exp) + 1));
            while (ip.size() < size_t(exp) + 1) ip += '0';
            std::string fp = digits.size() > size_t(exp) + 1 ? digits.substr(size_t(exp) + 1) : "0";
            out += ip + "." + fp;
        } else {
            out += "0." + std::string(size_t(-exp - 1), '0') + digits;
        }
        return out;
    }
    out += digits.substr(0, 1) + "." + (digits.size() > 1 ? digits.substr(1) : "0") + "E" + std::to_string(exp);
    return out;
}

}  // namespace sluice
