// SPDX-License-Identifier: Apache-2.0
#include "core/channel.h"

#include <unistd.h>

#include <algorithm>
#include <memory>

#include "core/assert.h"
#include "core/interceptor.h"
#include "core/log.h"
#include "core/runtime.h"

namespace sluice {

int64_t default_byte_capacity() {
    int64_t phys = int64_t(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGESIZE);
    return phys / 4 * 8 / 10;
}

// ---------------------------------------------------------------------------
// Selector types

namespace {

KeySpec key(std::string_view k, KeyType type, std::string_view dflt, std::string_view description) {
    KeySpec s;
    s.key = k;
    s.type = type;
    s.default_value = dflt;
    s.description = description;
    return s;
}

const PartDescriptor replicating_selector{
    "replicating",
    {"org.apache.flume.channel.ReplicatingChannelSelector"},
    "Every event goes to every channel of the source (the default selector).",
    {key("optional", KeyType::list, "", "Channels whose failures are ignored (space-separated).")},
};

const PartDescriptor multiplexing_selector{
    "multiplexing",
    {"org.apache.flume.channel.MultiplexingChannelSelector"},
    "Each event goes to the channels mapped to the value of one of its headers. A missing, blank or unmapped "
    "value goes to the default channels (none: the event is dropped, silently, as in Flume).",
    {key("header", KeyType::string, "flume.selector.header", "The header whose value picks the channels."),
     key("mapping.", KeyType::prefix, "", "mapping.<value> = the required channels for that value."),
     key("default", KeyType::list, "", "The channels for events whose value is missing, blank or unmapped."),
     key("optional.", KeyType::prefix, "",
         "optional.<value> = optional channels for that value (channels already required for it are left out).")},
};

const PartDescriptor load_balancing_selector = [] {
    PartDescriptor d{
        "load_balancing",
        {"org.apache.flume.channel.LoadBalancingChannelSelector"},
        "Each event goes to one channel of the source: in turn (round_robin) or at random. Every channel is required.",
        {key("policy", KeyType::choice, "round_robin", "How the channel of each event is picked.")},
    };
    d.keys[0].choices = {"round_robin", "random"};
    d.keys[0].differs_from_flume = "The turn is kept per shard.";
    return d;
}();

uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

bool ilower_equal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

bool blank(std::string_view s) {
    for (char c : s)
        if (!std::isspace(static_cast<unsigned char>(c))) return false;
    return true;
}

}  // namespace

const std::vector<const PartDescriptor*>& selector_types() {
    static const std::vector<const PartDescriptor*> types = {&replicating_selector, &multiplexing_selector,
                                                             &load_balancing_selector};
    return types;
}

ChannelRouting routing_from_settings(const ComponentSettings& source,
                                     const std::function<Channel*(const std::string&)>& channel) {
    ChannelRouting r;
    for (const auto& name : source.get_list("channels"))
        if (Channel* c = channel(name)) r.channels.push_back(c);
    auto keys = source.get_prefixed("selector.");
    auto value = [&](const std::string& k) -> std::string {
        for (auto& [key, v] : keys)
            if (key == k) return v;
        return {};
    };
    auto list = [&](const std::string& text) {
        std::vector<Channel*> out;
        for (const auto& name : split_list(text))
            if (Channel* c = channel(name))
                if (std::find(r.channels.begin(), r.channels.end(), c) != r.channels.end() &&
                    std::find(out.begin(), out.end(), c) == out.end())
                    out.push_back(c);
        return out;
    };
    std::string type = value("type");
    const PartDescriptor* d = type.empty() ? &replicating_selector : find_part(selector_types(), type);
    if (d == &multiplexing_selector) {
        r.selector = ChannelRouting::Selector::multiplexing;
        std::string header = value("header");
        if (!header.empty()) r.header = header;
        r.default_channels = list(value("default"));
        for (auto& [k, v] : keys) {
            if (k.rfind("mapping.", 0) == 0) r.mapping.emplace_back(k.substr(8), list(v));
            else if (k.rfind("optional.", 0) == 0) r.optional_mapping.emplace_back(k.substr(9), list(v));
        }
    } else if (d == &load_balancing_selector) {
        r.selector = ChannelRouting::Selector::load_balancing;
        r.random = ilower_equal(value("policy"), "random");
    } else {
        r.optional = list(value("optional"));
    }
    return r;
}

// ---------------------------------------------------------------------------
// ChannelProcessor

ChannelProcessor::ChannelProcessor(unsigned shard, std::vector<Channel*> required, std::vector<Channel*> optional)
    : _shard(shard), _required(std::move(required)), _optional(std::move(optional)) {
    _max_batch = UINT32_MAX;
    for (auto* c : _required) _max_batch = std::min(_max_batch, c->transaction_capacity());
    for (auto* c : _optional) _max_batch = std::min(_max_batch, c->transaction_capacity());
    if (_max_batch == UINT32_MAX) _max_batch = 1024;
    _rng_state = 0;
}

ChannelProcessor::ChannelProcessor(const ChannelRouting& r, unsigned shard, std::unique_ptr<InterceptorChain> interceptors)
    : _shard(shard), _selector(r.selector), _interceptors(std::move(interceptors)), _header(r.header), _random(r.random) {
    _rng_state = splitmix64(uint64_t(monotonic_us()) ^ (uint64_t(shard) << 32));
    if (_interceptors && _interceptors->size() == 0) _interceptors.reset();
    _max_batch = UINT32_MAX;
    for (auto* c : r.channels) _max_batch = std::min(_max_batch, c->transaction_capacity());
    if (_max_batch == UINT32_MAX) _max_batch = 1024;
    if (_selector == ChannelRouting::Selector::replicating) {
        for (auto* c : r.channels) {
            bool opt = std::find(r.optional.begin(), r.optional.end(), c) != r.optional.end();
            (opt ? _optional : _required).push_back(c);
        }
        return;
    }
    SLUICE_ASSERT(r.channels.size() <= 64, "a routing selector takes at most 64 channels");
    _channels = r.channels;
    auto mask = [&](const std::vector<Channel*>& list) {
        uint64_t m = 0;
        for (auto* c : list)
            for (size_t i = 0; i < _channels.size(); i++)
                if (_channels[i] == c) m |= uint64_t(1) << i;
        return m;
    };
    if (_selector == ChannelRouting::Selector::load_balancing) {
        for (size_t i = 0; i < _channels.size(); i++) _routes.push_back({uint64_t(1) << i, 0});
        return;
    }
    // Multiplexing: route 0 serves missing, blank and unmapped values; one
    // route per value named in a mapping or an optional list.
    const uint64_t dflt = mask(r.default_channels);
    _routes.push_back({dflt, 0});
    auto route_for = [&](const std::string& value) -> route& {
        for (auto& [v, idx] : _route_of_value)
            if (v == value) return _routes[idx];
        _route_of_value.emplace_back(value, uint32_t(_routes.size()));
        _routes.push_back({dflt, 0});  // required: the default unless mapped
        return _routes.back();
    };
    for (const auto& [value, list] : r.mapping)
        if (!blank(value)) route_for(value).required = mask(list);
    for (const auto& [value, list] : r.optional_mapping) {
        route& rt = route_for(value);
        rt.optional = mask(list) & ~rt.required;  // Flume: required for the value wins
    }
    std::sort(_route_of_value.begin(), _route_of_value.end());
}

ChannelProcessor::~ChannelProcessor() = default;

static Status put_one(Channel* c, unsigned shard, const EventSpan& span) {
    auto tx = c->begin_put(shard);
    Status st = tx->put(span);
    if (st) st = tx->commit();
    if (!st) tx->rollback();
    return st;
}

Status ChannelProcessor::put(const EventSpan& in, Progress& progress) {
    SLUICE_ASSERT(in.size() <= _max_batch, "span larger than a transaction");
    // The original path: nothing to decide per event.
    if (!_interceptors && _selector == ChannelRouting::Selector::replicating) return put_replicating(in, progress);

    const bool same = progress.input == in.batch.get() && progress.input_begin == in.begin && progress.input_end == in.end;
    if (!same) {
        SLUICE_ASSERT(progress.next_required == 0, "a put resumed with a different span");
        progress.reset();
        progress.input = in.batch.get();
        progress.input_begin = in.begin;
        progress.input_end = in.end;
        if (_interceptors) progress.intercepted = _interceptors->apply(in);
        if (_selector == ChannelRouting::Selector::load_balancing) {
            uint32_t n = progress.intercepted ? progress.intercepted->size() : in.size();
            if (_random) {
                _rng_state = splitmix64(_rng_state);
                progress.route_seed = _rng_state;
            } else {
                progress.route_seed = _next_turn;
                _next_turn += n;
            }
        }
    }
    EventSpan span = progress.intercepted ? EventSpan{progress.intercepted, 0, progress.intercepted->size()} : in;
    if (span.size() == 0) {
        progress.failed = nullptr;
        return Status::ok();  // every event was dropped by an interceptor
    }
    if (_selector == ChannelRouting::Selector::replicating) return put_replicating(span, progress);
    return put_routed(span, progress);
}

Status ChannelProcessor::put_replicating(const EventSpan& span, Progress& progress) {
    while (progress.next_required < _required.size()) {
        Channel* c = _required[progress.next_required];
        Status st = put_one(c, _shard, span);
        if (!st) {
            progress.failed = c;
            return st;
        }
        progress.next_required++;
    }
    for (auto* c : _optional) {
        Status st = put_one(c, _shard, span);
        if (!st) log_debug("optional channel %s: %s", c->name().c_str(), st.message().c_str());
    }
    progress.failed = nullptr;
    return Status::ok();
}

void ChannelProcessor::route_events(const EventSpan& span, const Progress& progress, uint64_t* required,
                                    uint64_t* optional) {
    const uint32_t n = span.size();
    _event_routes.resize(n);
    *required = *optional = 0;
    if (_selector == ChannelRouting::Selector::load_balancing) {
        const uint64_t channels = _channels.size();
        for (uint32_t k = 0; k < n; k++) {
            uint64_t turn = _random ? splitmix64(progress.route_seed + k) : progress.route_seed + k;
            _event_routes[k] = uint32_t(turn % channels);
            *required |= _routes[_event_routes[k]].required;
        }
        return;
    }
    for (uint32_t k = 0; k < n; k++) {
        uint32_t r = 0;
        std::string_view value;
        if (span[k].find_header(_header, &value)) {
            auto it = std::lower_bound(_route_of_value.begin(), _route_of_value.end(), value,
                                       [](const auto& entry, std::string_view v) { return entry.first < v; });
            if (it != _route_of_value.end() && it->first == value) r = it->second;
        }
        _event_routes[k] = r;
        *required |= _routes[r].required;
        *optional |= _routes[r].optional;
    }
}

Status ChannelProcessor::put_selected(size_t channel, const EventSpan& span, bool optional) {
    const uint64_t bit = uint64_t(1) << channel;
    auto wanted = [&](uint32_t k) {
        const route& r = _routes[_event_routes[k]];
        return ((optional ? r.optional : r.required) & bit) != 0;
    };
    auto tx = _channels[channel]->begin_put(_shard);
    Status st;
    const uint32_t n = span.size();
    for (uint32_t k = 0; k < n && st;) {
        if (!wanted(k)) {
            k++;
            continue;
        }
        uint32_t run = k;
        while (k < n && wanted(k)) k++;
        st = tx->put(EventSpan{span.batch, span.begin + run, span.begin + k});
    }
    if (st) st = tx->commit();
    if (!st) tx->rollback();
    return st;
}

Status ChannelProcessor::put_routed(const EventSpan& span, Progress& progress) {
    uint64_t required, optional;
    // Deterministic in (span, progress): a retry sees the same choices.
    route_events(span, progress, &required, &optional);
    // progress.next_required counts the required channels done, in channel order.
    size_t ordinal = 0;
    for (size_t i = 0; i < _channels.size(); i++) {
        if (!(required & (uint64_t(1) << i))) continue;
        if (ordinal++ < progress.next_required) continue;
        Status st = put_selected(i, span, false);
        if (!st) {
            progress.failed = _channels[i];
            return st;
        }
        _touched |= uint64_t(1) << i;
        progress.next_required++;
    }
    for (size_t i = 0; i < _channels.size(); i++) {
        if (!(optional & (uint64_t(1) << i))) continue;
        Status st = put_selected(i, span, true);
        if (!st) log_debug("optional channel %s: %s", _channels[i]->name().c_str(), st.message().c_str());
    }
    progress.failed = nullptr;
    return Status::ok();
}

void ChannelProcessor::when_durable(std::function<void()> fn) {
    std::vector<Channel*> wait_for;
    if (_selector == ChannelRouting::Selector::replicating) {
        if (_required.size() == 1) {
            Channel* c = _required[0];
            c->when_durable(_shard, c->commit_mark(_shard), std::move(fn));
            return;
        }
        wait_for = _required;
    } else {
        for (size_t i = 0; i < _channels.size(); i++)
            if (_touched & (uint64_t(1) << i)) wait_for.push_back(_channels[i]);
    }
    // One fn for several channels: the last of them to get there runs it.
    auto waiting = std::make_shared<size_t>(wait_for.size() + 1);
    auto shared_fn = std::make_shared<std::function<void()>>(std::move(fn));
    auto arrive = [waiting, shared_fn] {
        if (--*waiting == 0) (*shared_fn)();
    };
    for (auto* c : wait_for) c->when_durable(_shard, c->commit_mark(_shard), arrive);
    arrive();
}

SpanPutter::Step SpanPutter::put(ChannelProcessor& proc, const EventBatchPtr& batch, uint32_t max_span) {
    SLUICE_ASSERT(_next < batch->size(), "SpanPutter::put with nothing left to put");
    for (;;) {
        // Part-way through the required channels: the same span again.
        const uint32_t n =
            _progress.next_required > 0 ? _span : std::min({batch->size() - _next, max_span, _span_cap});
        _span = n;
        Status st = proc.put(EventSpan{batch, _next, _next + n}, _progress);
        if (st) {
            _progress.reset();
            _next += n;
            _waiting = false;
            return {Outcome::committed, n, std::move(st)};
        }
        if (n > 1 && _progress.next_required == 0) {
            _span_cap = n / 2;
            continue;
        }
        if (st.code() == errc::channel_full) {
            const int64_t now = monotonic_us();
            if (!_waiting) {
                _waiting = true;
                _wait_since_us = now;
            }
            const int64_t keep_alive_us = _progress.failed ? _progress.failed->keep_alive_ms() * 1000 : 0;
            if (now - _wait_since_us < keep_alive_us) return {Outcome::wait, n, std::move(st)};
        }
        _progress.reset();
        _next += n;
        _waiting = false;
        _span_cap = 1;
        return {Outcome::gave_up, n, std::move(st)};
    }
}

}  // namespace sluice
