// SPDX-License-Identifier: Apache-2.0
#include "core/agent.h"

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/assert.h"
#include "core/interceptor.h"
#include "core/log.h"
#include "core/sink_processor.h"

namespace sluice {

namespace {

// Flume's SinkRunner on one shard, for one sink or one sink group: calls
// step() while it returns ready (yielding to other work every few calls).
// After a backoff (nothing to deliver) it waits for new events on one of its
// channels' slices, or 1 s (so time-driven sinks such as file_roll roll on
// time). After a failure it waits min(n x 1 s, 5 s), n failures in a row, as
// Flume's runner sleeps, and ignores new events meanwhile. After busy it
// waits for a sink's wake (or new events).
class SinkRunner : public std::enable_shared_from_this<SinkRunner> {
public:
    SinkRunner(Shard& shard, std::function<SinkStatus()> step, std::vector<Channel*> channels)
        : _shard(shard), _step(std::move(step)), _channels(std::move(channels)) {}

    // Before start(): `sink` wakes this runner when it is done being busy.
    void serve(Sink& sink) {
        sink.set_wake([w = weak_from_this()] {
            if (auto self = w.lock()) self->wake();
        });
    }

    void start() {
        // Callbacks hold weak references: the runner may be gone before a
        // deferred call or a channel notification comes.
        for (auto* ch : _channels)
            ch->on_available(_shard.id(), [w = weak_from_this()] {
                if (auto self = w.lock()) self->wake();
            });
        wake();
    }
    void stop() {
        _stopped = true;
        if (_timer) _shard.cancel_timer(_timer);
        _timer = 0;
    }

private:
    void wake() {
        if (_scheduled || _stopped) return;
        if (_backoffs > 0 && _failing) return;  // a failing sink waits out its backoff
        _scheduled = true;
        if (_timer) _shard.cancel_timer(_timer);
        _timer = 0;
        _shard.defer([w = weak_from_this()] {
            if (auto self = w.lock()) self->run();
        });
    }

    void run() {
        _scheduled = false;
        if (_stopped) return;
        for (int i = 0; i < 16; i++) {
            SinkStatus outcome = _step();
            if (outcome == SinkStatus::ready) {
                _backoffs = 0;
                _failing = false;
                continue;
            }
            if (outcome == SinkStatus::busy) return;  // the sink wakes us; failures in a row still count
            _failing = outcome == SinkStatus::failed;
            _backoffs = _failing ? _backoffs + 1 : 0;
            int64_t wait_ms = _failing ? std::min<int64_t>(int64_t(_backoffs) * 1000, 5000) : 1000;
            _timer = _shard.add_timer(wait_ms * 1000, [w = weak_from_this()] {
                if (auto self = w.lock()) {
                    self->_timer = 0;
                    self->_failing = false;
                    self->wake();
                }
            });
            return;
        }
        wake();  // still busy: come back after other work
    }

    Shard& _shard;
    std::function<SinkStatus()> _step;
    std::vector<Channel*> _channels;
    bool _scheduled = false, _stopped = false, _failing = false;
    int _backoffs = 0;
    TimerId _timer = 0;
};

// A kind's counter names followed by the type's own.
std::vector<std::string_view> counter_names(const std::vector<std::string_view>& kind,
                                            const ComponentDescriptor& type) {
    std::vector<std::string_view> names = kind;
    names.insert(names.end(), type.extra_counters.begin(), type.extra_counters.end());
    return names;
}

}  // namespace

struct Agent::shard_state {
    std::vector<std::unique_ptr<ChannelProcessor>> processors;
    std::vector<std::unique_ptr<Source>> sources;
    std::vector<std::unique_ptr<Sink>> sinks;
    std::vector<std::shared_ptr<SinkRunner>> runners;
    std::vector<std::unique_ptr<SinkProcessor>> groups;
};

Agent::Agent(std::unique_ptr<Topology> topology, Runtime& runtime, AgentOptions opts)
    : _topology(std::move(topology)), _runtime(runtime), _opts(opts) {}

Agent::~Agent() { stop(); }

Channel* Agent::channel(const std::string& name) const {
    for (auto& [n, c] : _channels)
        if (n == name) return c.get();
    return nullptr;
}

Status Agent::start() {
    SLUICE_ASSERT(!_started, "agent started twice");
    _started = true;
    unsigned shards = _runtime.shard_count();
    // Before anything can fail: stop() walks every shard's state.
    for (unsigned i = 0; i < shards; i++) _shards.push_back(std::make_unique<shard_state>());
    for (auto& vc : _topology->channels) {
        auto& counters =
            _metrics.add("CHANNEL", vc.settings.name(), counter_names(channel_counter_names(), *vc.descriptor), shards);
        ChannelContext ctx{vc.settings, shards, counters, &_runtime};
        auto ch = vc.descriptor->make_channel(ctx);
        if (!ch) return Status(ch.status().code(), "channel " + vc.settings.name() + ": " + ch.status().message());
        if (Status st = ch.value()->start(); !st) return st;
        counters.mark_started();
        _channels.emplace_back(vc.settings.name(), std::move(ch.value()));
    }
    std::vector<CounterGroup*> source_counters, sink_counters;
    for (auto& vs : _topology->sources)
        source_counters.push_back(
            &_metrics.add("SOURCE", vs.settings.name(), counter_names(source_counter_names(), *vs.descriptor), shards));
    for (auto& vk : _topology->sinks)
        sink_counters.push_back(
            &_metrics.add("SINK", vk.settings.name(), counter_names(sink_counter_names(), *vk.descriptor), shards));

    std::mutex mu;
    Status first_error;
    auto fail = [&](Status st) {
        std::lock_guard lk(mu);
        if (first_error.is_ok()) first_error = std::move(st);
    };
    // Sinks first, then sources (Flume's order), each on its own shard.
    _runtime.run_on_all([&](Shard& shard) {
        auto& st = *_shards[shard.id()];
        std::vector<Sink*> made(_topology->sinks.size(), nullptr);
        std::vector<Channel*> channel_of(_topology->sinks.size(), nullptr);
        for (size_t k = 0; k < _topology->sinks.size(); k++) {
            auto& vk = _topology->sinks[k];
            Channel* ch = channel(vk.settings.get_string("channel"));
            SLUICE_ASSERT(ch != nullptr, "validated sink bound to a missing channel");
            SinkContext ctx{shard, vk.settings, *ch, *sink_counters[k], _opts.host};
            auto sink = vk.descriptor->make_sink(ctx);
            if (!sink) {
                fail(Status(sink.status().code(), "sink " + vk.settings.name() + ": " + sink.status().message()));
                continue;
            }
            if (Status s = sink.value()->start(); !s) {
                fail(Status(s.code(), "sink " + vk.settings.name() + ": " + s.message()));
                continue;
            }
            made[k] = sink.value().get();
            channel_of[k] = ch;
            st.sinks.push_back(std::move(sink.value()));
        }
        // Sink groups with a failover or load_balance processor get one runner
        // each; every other sink runs on its own (Flume's default processor).
        std::vector<bool> grouped(_topology->sinks.size(), false);
        auto index_of = [&](const std::string& name) -> size_t {
            for (size_t k = 0; k < _topology->sinks.size(); k++)
                if (_topology->sinks[k].settings.name() == name) return k;
            return SIZE_MAX;
        };
        for (auto& vg : _topology->sinkgroups) {
            auto names = vg.settings.get_list("sinks");
            std::string type;
            for (auto& [k, v] : vg.settings.get_prefixed("processor."))
                if (k == "type") type = v;
            const PartDescriptor* kind = type.empty() ? nullptr : find_part(sink_processor_types(), type);
            if (!kind || kind->type == "default") continue;
            std::vector<GroupSink> members;
            std::vector<Sink*> member_sinks;
            std::vector<int64_t> member_priorities;  // failover: parallel to members
            std::vector<Channel*> channels;
            auto processor_keys = vg.settings.get_prefixed("processor.");
            std::vector<int64_t> priorities;
            std::vector<std::string> member_names;
            if (kind->type == "failover") {
                auto prio = failover_priorities(names, processor_keys);
                for (auto& [i, p] : prio.kept) {
                    member_names.push_back(names[i]);
                    priorities.push_back(p);
                }
                // A sink left out for a duplicate priority does not run (Flume).
                for (size_t i : prio.duplicates)
                    if (size_t k = index_of(names[i]); k != SIZE_MAX) grouped[k] = true;
            } else {
                member_names = names;
            }
            for (size_t m = 0; m < member_names.size(); m++) {
                const std::string& name = member_names[m];
                size_t k = index_of(name);
                if (k == SIZE_MAX || !made[k]) continue;  // failed to start: the agent fails
                grouped[k] = true;
                Sink* sink = made[k];
                Channel* ch = channel_of[k];
                members.push_back(GroupSink{name, [sink] { return sink->process(); }});
                member_sinks.push_back(sink);
                if (std::find(channels.begin(), channels.end(), ch) == channels.end()) channels.push_back(ch);
                if (!priorities.empty()) member_priorities.push_back(priorities[m]);
            }
            if (members.empty()) continue;
            ComponentConfig sub = sub_component(vg.settings.config(), "processor.", vg.settings.name());
            ComponentSettings ps(&sub, &kind->keys);
            std::unique_ptr<SinkProcessor> processor;
            if (kind->type == "failover") {
                processor = make_failover_processor(std::move(members), member_priorities, ps.get_duration_ms("maxpenalty"));
            } else {
                std::string selector = ps.get_string("selector");
                for (auto& c : selector) c = char(std::tolower(static_cast<unsigned char>(c)));
                const bool random = selector == "random";
                processor = make_load_balance_processor(std::move(members), ps.get_bool("backoff"), random,
                                                        ps.get_duration_ms("selector.maxTimeOut"),
                                                        uint64_t(monotonic_us()) ^ (uint64_t(shard.id()) << 40));
            }
            SinkProcessor* p = processor.get();
            st.groups.push_back(std::move(processor));
            st.runners.push_back(std::make_shared<SinkRunner>(
                shard, [p] { return p->process(monotonic_us() / 1000); }, channels));
            for (Sink* sink : member_sinks) st.runners.back()->serve(*sink);
            st.runners.back()->start();
        }
        for (size_t k = 0; k < _topology->sinks.size(); k++) {
            if (!made[k] || grouped[k]) continue;
            Sink* sink = made[k];
            st.runners.push_back(std::make_shared<SinkRunner>(
                shard, [sink] { return sink->process(); }, std::vector<Channel*>{channel_of[k]}));
            st.runners.back()->serve(*sink);
            st.runners.back()->start();
        }
    });
    for (auto* c : sink_counters) c->mark_started();
    if (!first_error) return first_error;

    for (auto& vs : _topology->streams) {
        auto& counters = _metrics.add("STREAM", vs.settings.name(), stream_counter_names(), shards);
        Channel* input = channel(vs.settings.get_string("channel"));
        std::vector<Channel*> outputs;
        for (auto& name : vs.settings.get_list("channels"))
            if (Channel* c = channel(name)) outputs.push_back(c);
        SLUICE_ASSERT(input != nullptr && vs.descriptor && vs.descriptor->make_stream, "validated stream incomplete");
        StreamContext ctx{vs.settings, *input, outputs, _runtime, counters};
        auto stream = vs.descriptor->make_stream(ctx);
        if (!stream) return Status(stream.status().code(), "stream " + vs.settings.name() + ": " + stream.status().message());
        _streams.push_back({input, std::move(stream.value())});
        counters.mark_started();
    }
    _runtime.run_on_all([&](Shard& shard) {
        for (auto& st : _streams)
            if (Status e = st.stream->start_shard(shard); !e) fail(e);
    });
    if (!first_error) return first_error;

    _runtime.run_on_all([&](Shard& shard) {
        auto& st = *_shards[shard.id()];
        for (size_t s = 0; s < _topology->sources.size(); s++) {
            auto& vs = _topology->sources[s];
            ChannelRouting routing =
                routing_from_settings(vs.settings, [this](const std::string& name) { return channel(name); });
            auto chain = build_interceptor_chain(vs.settings);
            if (!chain) {
                fail(Status(chain.status().code(), "source " + vs.settings.name() + ": " + chain.status().message()));
                continue;
            }
            st.processors.push_back(std::make_unique<ChannelProcessor>(routing, shard.id(), std::move(chain.value())));
            std::vector<Channel*> all = routing.channels;
            SourceContext ctx{shard, vs.settings, *st.processors.back(), *source_counters[s], all,
                              [this, &shard](int64_t ms) {
                                  for (auto& stream : _streams)
                                      shard.submit_to(0, [s = stream.stream.get(), ms] { s->advance_event_time(ms); });
                              },
                              _opts.host};
            auto src = vs.descriptor->make_source(ctx);
            if (!src) {
                fail(Status(src.status().code(), "source " + vs.settings.name() + ": " + src.status().message()));
                continue;
            }
            if (Status e = src.value()->start(); !e) {
                fail(e);
                continue;
            }
            st.sources.push_back(std::move(src.value()));
        }
    });
    for (auto* c : source_counters) c->mark_started();
    return first_error;
}

std::string Agent::metrics_json() const {
    auto quote = [](std::string& out, std::string_view s) {
        out += '"';
        for (char c : s) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    };
    std::string out = "{";
    bool first = true;
    for (auto* g : _metrics.groups()) {
        if (!first) out += ',';
        first = false;
        quote(out, g->type() + "." + g->name());
        out += ":{";
        bool first_attr = true;
        for (auto& [k, v] : g->snapshot()) {
            if (!first_attr) out += ',';
            first_attr = false;
            quote(out, k);
            out += ':';
            quote(out, v);
        }
        out += '}';
    }
    out += '}';
    return out;
}

bool Agent::sources_finished() const {
    std::atomic<bool> all{true};
    _runtime.run_on_all([&](Shard& shard) {
        for (auto& s : _shards[shard.id()]->sources)
            if (!s->finished()) all = false;
    });
    return all && !_topology->sources.empty();
}

uint64_t Agent::stop() {
    if (!_started || _stopped) return 0;
    _stopped = true;
    // 1. Sources: stop taking input; wait until each has nothing in flight.
    std::mutex mu;
    std::condition_variable cv;
    size_t pending = 0;
    _runtime.run_on_all([&](Shard& shard) {
        for (auto& s : _shards[shard.id()]->sources) {
            {
                std::lock_guard lk(mu);
                pending++;
            }
            s->stop([&] {
                std::lock_guard lk(mu);
                if (--pending == 0) cv.notify_all();
            });
        }
    });
    {
        std::unique_lock lk(mu);
        cv.wait_for(lk, std::chrono::seconds(10), [&] { return pending == 0; });
    }
    _runtime.run_on_all([&](Shard& shard) { _shards[shard.id()]->sources.clear(); });
    for (auto* g : _metrics.groups())
        if (g->type() == "SOURCE") g->mark_stopped();

    int64_t deadline = monotonic_us() + _opts.drain_timeout_ms * 1000;
    // 2. Streams: once a stream has taken all its input, it closes its last
    //    batches and puts the results out.
    for (auto& st : _streams) {
        while (st.input->size() > 0 && monotonic_us() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(2));
        std::unique_lock lk(mu);
        bool finished = false;
        _runtime.submit(0, [&, s = st.stream.get()] {
            s->finish([&] {
                std::lock_guard g(mu);
                finished = true;
                cv.notify_all();
            });
        });
        int64_t left_us = std::max<int64_t>(deadline - monotonic_us(), 1000000);
        if (!cv.wait_for(lk, std::chrono::microseconds(left_us), [&] { return finished; }))
            log_warn("a stream did not finish its last batches in time");
    }

    // 3. Drain: the sink runners keep going until the channels they read are
    //    empty (a channel nothing reads keeps its events: a durable one on disk).
    std::vector<Channel*> drained;
    for (auto& vk : _topology->sinks) drained.push_back(channel(vk.settings.get_string("channel")));
    for (auto& st : _streams) drained.push_back(st.input);
    auto left = [&] {
        uint64_t n = 0;
        for (auto& [name, c] : _channels)
            if (std::find(drained.begin(), drained.end(), c.get()) != drained.end()) n += c->size();
        return n;
    };
    while (left() > 0 && monotonic_us() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    uint64_t remaining = left();
    if (remaining > 0) log_warn("stopping with %llu events not delivered", (unsigned long long)remaining);

    // 4. Streams, sinks, then channels.
    _runtime.run_on_all([&](Shard& shard) {
        for (auto& s : _streams) s.stream->stop_shard(shard);
        auto& st = *_shards[shard.id()];
        for (auto& r : st.runners) r->stop();
        for (auto& k : st.sinks) k->stop();
        st.runners.clear();
        st.groups.clear();
        st.sinks.clear();
    });
    for (auto& [name, c] : _channels) c->stop();
    for (auto* g : _metrics.groups()) g->mark_stopped();
    return remaining;
}

}  // namespace sluice
