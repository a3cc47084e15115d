// SPDX-License-Identifier: Apache-2.0
#include "core/sink_processor.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "core/assert.h"
#include "core/log.h"

namespace sluice {

namespace {

constexpr int64_t failure_penalty_ms = 1000;
constexpr int64_t hour_ms = 3'600'000;
constexpr int backoff_exponent_limit = 16;

// min(cap, 2^n x 1 s) without overflow.
int64_t exponential_ms(int n, int64_t cap_ms) {
    if (n >= 40) return cap_ms;
    return std::min(cap_ms, (int64_t(1) << n) * failure_penalty_ms);
}

class FailoverProcessor final : public SinkProcessor {
public:
    FailoverProcessor(std::vector<GroupSink> sinks, std::vector<int64_t> priorities, int64_t max_penalty_ms)
        : _max_penalty_ms(max_penalty_ms) {
        SLUICE_ASSERT(sinks.size() == priorities.size() && !sinks.empty(), "failover: one priority per sink");
        for (size_t i = 0; i < sinks.size(); i++) _members.push_back(member{std::move(sinks[i]), priorities[i]});
    }

    SinkStatus process(int64_t now) override {
        // Dead sinks whose cool-down is over come first, the longest waiting first.
        for (;;) {
            member* next = nullptr;
            for (auto& m : _members)
                if (m.dead && m.refresh_ms < now && (!next || m.refresh_ms < next->refresh_ms)) next = &m;
            if (!next) break;
            SinkStatus o = next->sink.process();
            if (o == SinkStatus::ready) {
                next->dead = false;
                next->failures = 0;
                log_info("sink group: sink %s delivers again and is back in the failover order", next->sink.name.c_str());
                return o;
            }
            // Nothing to deliver, or still trying: no penalty, still dead.
            if (o == SinkStatus::backoff || o == SinkStatus::busy) return o;
            next->failures++;
            next->refresh_ms = now + exponential_ms(next->failures, _max_penalty_ms);
        }
        for (;;) {
            member* active = nullptr;
            for (auto& m : _members)
                if (!m.dead && (!active || m.priority > active->priority)) active = &m;
            if (!active) return SinkStatus::failed;  // All sinks failed to process, nothing left to failover to
            SinkStatus o = active->sink.process();
            if (o != SinkStatus::failed) return o;
            active->dead = true;
            active->failures = 1;
            active->refresh_ms = now + exponential_ms(1, _max_penalty_ms);
            log_warn("sink group: sink %s failed and has been sent to the failover list", active->sink.name.c_str());
        }
    }

private:
    struct member {
        GroupSink sink;
        int64_t priority;
        bool dead = false;
        int failures = 0;
        int64_t refresh_ms = 0;
    };
    std::vector<member> _members;
    int64_t _max_penalty_ms;
};

class LoadBalanceProcessor final : public SinkProcessor {
public:
    LoadBalanceProcessor(std::vector<GroupSink> sinks, bool backoff, bool random, int64_t max_timeout_ms, uint64_t seed)
        : _backoff(backoff), _random(random), _max_timeout_ms(max_timeout_ms), _rng(seed | 1) {
        SLUICE_ASSERT(!sinks.empty(), "load_balance: no sinks");
        for (auto& s : sinks) _members.push_back(member{std::move(s)});
    }

    SinkStatus process(int64_t now) override {
        _order.clear();
        for (size_t i = 0; i < _members.size(); i++)
            if (!_backoff || _members[i].restore_ms < now) _order.push_back(i);
        if (_random) {
            for (size_t i = _order.size(); i > 1; i--) std::swap(_order[i - 1], _order[next_random() % i]);
        } else if (!_order.empty()) {
            // The head moves one place per call among the sinks available.
            if (_next_head >= _order.size()) _next_head = 0;
            std::rotate(_order.begin(), _order.begin() + long(_next_head), _order.end());
            _next_head = (_next_head + 1) % _order.size();
        }
        for (size_t i : _order) {
            SinkStatus o = _members[i].sink.process();
            if (o != SinkStatus::failed) return o;
            failed(_members[i], now);
        }
        return SinkStatus::failed;  // All configured sinks have failed
    }

private:
    struct member {
        GroupSink sink;
        int sequential_failures = 0;
        int64_t last_failure_ms = INT64_MIN / 4;  // long ago
        int64_t restore_ms = INT64_MIN / 4;
    };

    void failed(member& m, int64_t now) {
        if (!_backoff) return;
        // Failures in a row: a failure within an hour of the end of the last
        // back-off continues the series; a later one starts it again.
        int64_t last_backoff = exponential_ms(m.sequential_failures, _max_timeout_ms);
        if (now - m.last_failure_ms < last_backoff + hour_ms) {
            if (m.sequential_failures < backoff_exponent_limit) m.sequential_failures++;
        } else {
            m.sequential_failures = 1;
        }
        m.last_failure_ms = now;
        m.restore_ms = now + exponential_ms(m.sequential_failures, _max_timeout_ms);
        log_warn("sink group: sink %s failed; backing off for %lld ms", m.sink.name.c_str(),
                 (long long)(m.restore_ms - now));
    }

    uint64_t next_random() {
        _rng ^= _rng << 13;
        _rng ^= _rng >> 7;
        _rng ^= _rng << 17;
        return _rng;
    }

    std::vector<member> _members;
    std::vector<size_t> _order;
    size_t _next_head = 0;
    bool _backoff, _random;
    int64_t _max_timeout_ms;
    uint64_t _rng;
};

KeySpec key(std::string_view k, KeyType type, std::string_view dflt, std::string_view description) {
    KeySpec s;
    s.key = k;
    s.type = type;
    s.default_value = dflt;
    s.description = description;
    return s;
}

const PartDescriptor default_processor{
    "default",
    {"org.apache.flume.sink.DefaultSinkProcessor"},
    "Every sink of the group runs on its own, as if it were in no group.",
    {},
};

const PartDescriptor failover_processor = [] {
    PartDescriptor d{
        "failover",
        {"org.apache.flume.sink.FailoverSinkProcessor"},
        "The live sink with the highest priority takes the events; a failing sink is set aside for "
        "min(maxpenalty, 2^n s) after its n-th failure in a row, then tried first again.",
        {key("priority.", KeyType::prefix, "",
             "priority.<sink> = an integer, larger is preferred; sinks without one get -1, -2, ... in group order. "
             "Two sinks may not share a priority."),
         key("maxpenalty", KeyType::duration_ms, "30000", "The longest a failed sink is set aside.")},
    };
    d.keys[1].min = 0;
    return d;
}();

const PartDescriptor load_balance_processor = [] {
    PartDescriptor d{
        "load_balance",
        {"org.apache.flume.sink.LoadBalancingSinkProcessor"},
        "Each delivery goes to the next sink in selector order; a failing sink is skipped (and, with backoff, "
        "left out for min(selector.maxTimeOut, 2^k s) after its k-th failure in a row). Needs at least two sinks.",
        {key("backoff", KeyType::boolean, "false", "Leave failing sinks out for a while."),
         key("selector", KeyType::choice, "round_robin", "The order in which sinks are tried."),
         key("selector.maxTimeOut", KeyType::duration_ms, "30000", "The longest back-off of a failing sink.")},
    };
    d.keys[1].choices = {"round_robin", "random"};
    d.keys[1].differs_from_flume = "Selector class names are not accepted.";
    d.keys[2].min = 0;
    return d;
}();

}  // namespace

std::unique_ptr<SinkProcessor> make_failover_processor(std::vector<GroupSink> sinks, std::vector<int64_t> priorities,
                                                       int64_t max_penalty_ms) {
    return std::make_unique<FailoverProcessor>(std::move(sinks), std::move(priorities), max_penalty_ms);
}

std::unique_ptr<SinkProcessor> make_load_balance_processor(std::vector<GroupSink> sinks, bool backoff, bool random,
                                                           int64_t max_timeout_ms, uint64_t seed) {
    return std::make_unique<LoadBalanceProcessor>(std::move(sinks), backoff, random, max_timeout_ms, seed);
}

const std::vector<const PartDescriptor*>& sink_processor_types() {
    static const std::vector<const PartDescriptor*> types = {&default_processor, &failover_processor,
                                                             &load_balance_processor};
    return types;
}

FailoverPriorities failover_priorities(const std::vector<std::string>& sinks,
                                       const std::vector<std::pair<std::string, std::string>>& priority_keys) {
    FailoverPriorities out;
    int64_t next_auto = 0;
    for (size_t i = 0; i < sinks.size(); i++) {
        std::optional<int64_t> given;
        for (const auto& [k, v] : priority_keys) {
            if (k != "priority." + sinks[i]) continue;
            int64_t n = 0;
            auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec == std::errc() && p == v.data() + v.size()) given = n;
        }
        int64_t prio = given ? *given : --next_auto;
        bool taken = false;
        for (const auto& [idx, pr] : out.kept) taken |= pr == prio;
        if (taken) out.duplicates.push_back(i);
        else out.kept.emplace_back(i, prio);
    }
    return out;
}

}  // namespace sluice
