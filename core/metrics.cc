// SPDX-License-Identifier: Apache-2.0
#include "core/metrics.h"

#include <cfloat>
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
    double a = std::fabs(v);
    char buf[64];
    if (a == 0 || (a >= 1e-3 && a < 1e7)) {
        // Shortest round-trip digits, at least one decimal place.
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*f", prec, v);
            if (std::strtod(buf, nullptr) == v) break;
        }
        std::string s = buf;
        while (s.size() > 2 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
        return s;
    }
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    // 1.7976931348623157e+308 -> 1.7976931348623157E308
    std::string s = buf;
    auto e = s.find('e');
    std::string mant = s.substr(0, e), ex = s.substr(e + 1);
    if (mant.find('.') == std::string::npos) mant += ".0";
    int exp = std::atoi(ex.c_str());
    return mant + "E" + std::to_string(exp);
}

}  // namespace sluice
