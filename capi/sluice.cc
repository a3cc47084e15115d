// SPDX-License-Identifier: Apache-2.0
// The C API (include/sluice.h) over the C++ agent, with the two component
// types that exist only for embedders: the `embedded` source and the
// `callback` sink. Every entry point catches everything.
#include "sluice.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "core/agent.h"
#include "core/component.h"
#include "core/log.h"
#include "core/memory_channel.h"
#include "io/components.h"
#include "io/reactors.h"
#include "operators/stream.h"

using namespace sluice;

namespace {

enum class agent_state { created, configured, started, stopped };

struct push_request;
class EmbeddedSource;

}  // namespace

struct sluice_agent {
    std::mutex mu;  // errmsg, endpoints
    std::string errmsg;
    std::atomic<agent_state> state{agent_state::created};
    ops::UserFunctions user;
    Registry registry;
    std::unique_ptr<Topology> topology;
    std::map<std::string, std::pair<sluice_sink_fn, void*>> callbacks;
    std::map<std::string, std::vector<EmbeddedSource*>> endpoints;  // per source, per shard
    RuntimeOptions runtime_options;
    std::string io = "auto";
    AgentOptions agent_options;
    std::unique_ptr<Runtime> runtime;
    std::unique_ptr<Agent> agent;
    std::atomic<uint64_t> round_robin{0};

    int fail(int code, std::string msg) {
        std::lock_guard lk(mu);
        errmsg = std::move(msg);
        return code;
    }
    int ok() {
        std::lock_guard lk(mu);
        errmsg.clear();
        return SLUICE_OK;
    }
};

namespace {

// ------------------------------------------------------------------ embedded

// A push waiting for its shard: filled by the pushing thread, completed on
// the shard, waited for by the pushing thread.
struct push_request {
    std::shared_ptr<EventBatch> batch;
    bool wait = true;
    int64_t since_us = 0;  // when it reached its shard: its keep-alive counts from here
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    int code = SLUICE_OK;
    std::string message;
    uint32_t accepted = 0;
};

// One per shard; lives on its shard. Pushes arrive as tasks through the
// runtime's inbox and are committed in order, one transaction per chunk.
class EmbeddedSource final : public Source {
public:
    EmbeddedSource(SourceContext& ctx, sluice_agent* host)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _host(host) {}

    Status start() override {
        std::lock_guard lk(_host->mu);
        auto& v = _host->endpoints[_name];
        if (v.size() < _shard.count()) v.resize(_shard.count(), nullptr);
        v[_shard.id()] = this;
        return Status::ok();
    }
    void stop(Task done) override {
        {
            std::lock_guard lk(_host->mu);
            _host->endpoints[_name][_shard.id()] = nullptr;
        }
        _stopped = true;
        // Pushes still queued fail: the agent is stopping.
        while (!_queue.empty()) {
            finish(*_queue.front(), SLUICE_ERR_STATE, "the agent is stopping");
            _queue.pop_front();
        }
        if (_timer) _shard.cancel_timer(_timer);
        _timer = 0;
        done();
    }

    // On the shard: a new push.
    void submit(std::shared_ptr<push_request> r) {
        if (_stopped) {
            finish(*r, SLUICE_ERR_STATE, "the agent is stopping");
            return;
        }
        _counters.add(_shard.id(), source_counter::append_batch_received);
        _counters.add(_shard.id(), source_counter::event_received, r->batch->size());
        if (!r->wait && !_queue.empty()) {
            // Pushes are waiting for room: the channel is full now, and a
            // try_push says so at once rather than queue behind them.
            _counters.add(_shard.id(), source_counter::channel_write_fail);
            finish(*r, SLUICE_ERR_FULL, std::string(memory_channel_full_text));
            return;
        }
        r->since_us = monotonic_us();
        _queue.push_back(std::move(r));
        if (_queue.size() == 1) work();
    }

private:
    void work() {
        while (!_queue.empty()) {
            push_request& r = *_queue.front();
            while (r.accepted < r.batch->size()) {
                uint32_t n = std::min(r.batch->size() - r.accepted, _processor.max_batch());
                Status st = _processor.put(EventSpan{r.batch, r.accepted, r.accepted + n}, _progress);
                if (st) {
                    _progress.reset();
                    r.accepted += n;
                    _counters.add(_shard.id(), source_counter::event_accepted, n);
                    continue;
                }
                if (st.code() == errc::channel_full) {
                    // Each push waits at most the channel's keep-alive from
                    // when it arrived, also while it queued behind others.
                    int64_t keep_alive = _progress.failed ? _progress.failed->keep_alive_ms() * 1000 : 0;
                    if (r.wait && monotonic_us() - r.since_us < keep_alive) {
                        _timer = _shard.add_timer(1000, [this] {
                            _timer = 0;
                            work();
                        });
                        return;
                    }
                }
                _counters.add(_shard.id(), source_counter::channel_write_fail);
                _progress.reset();
                finish(r, st.code() == errc::channel_full ? SLUICE_ERR_FULL : SLUICE_ERR_INTERNAL, st.message());
                _queue.pop_front();
                goto next;
            }
            _counters.add(_shard.id(), source_counter::append_batch_accepted);
            finish(r, SLUICE_OK, {});
            _queue.pop_front();
        next:;
        }
    }

    static void finish(push_request& r, int code, std::string message) {
        std::lock_guard lk(r.mu);
        r.code = code;
        r.message = std::move(message);
        r.done = true;
        r.cv.notify_all();
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name;
    sluice_agent* _host;
    std::deque<std::shared_ptr<push_request>> _queue;
    ChannelProcessor::Progress _progress;
    TimerId _timer = 0;
    bool _stopped = false;
};

ComponentDescriptor embedded_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "embedded";
    d.aliases = {"org.apache.flume.agent.embedded.EmbeddedSource"};
    d.description = "Events pushed by the embedding program through the C API (sluice_agent_push).";
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        if (!ctx.host) return Status(errc::unsupported, "the embedded source exists only in programs using the C API");
        return std::unique_ptr<Source>(new EmbeddedSource(ctx, static_cast<sluice_agent*>(ctx.host)));
    };
    return d;
}

// ------------------------------------------------------------------ callback

class CallbackSink final : public Sink {
public:
    CallbackSink(SinkContext& ctx, sluice_sink_fn fn, void* user)
        : _shard(ctx.shard.id()), _channel(ctx.channel), _counters(ctx.counters),
          _batch(uint32_t(ctx.settings.get_int("batchSize"))), _fn(fn), _user(user) {}

    SinkStatus process() override {
        auto tx = _channel.begin_take(_shard);
        uint32_t got = tx->take(_batch);
        if (got == 0) _counters.add(_shard, sink_counter::batch_empty);
        else if (got < _batch) _counters.add(_shard, sink_counter::batch_underflow);
        else _counters.add(_shard, sink_counter::batch_complete);
        if (got == 0) {
            (void)tx->commit();
            return SinkStatus::backoff;
        }
        _counters.add(_shard, sink_counter::event_drain_attempt, got);
        for (const auto& span : tx->events()) {
            for (uint32_t i = 0; i < span.size(); i++) {
                EventView e = span[i];
                _headers.clear();
                for (uint32_t h = 0; h < e.header_count(); h++) {
                    auto hd = e.header(h);
                    _headers.push_back({hd.key.data(), hd.key.size(), hd.value.data(), hd.value.size()});
                }
                sluice_event ev{_headers.data(), _headers.size(), e.body().data(), e.body().size()};
                int rc;
                try {
                    rc = _fn(_user, &ev);
                } catch (...) {
                    rc = -1;  // a C++ callback that threw: treated as a failure
                }
                if (rc != 0) {
                    // Everything of this take is delivered again later.
                    tx->rollback();
                    _counters.add(_shard, sink_counter::event_write_fail);
                    return SinkStatus::failed;
                }
            }
        }
        record_delivery(_counters, _shard, tx->events());
        (void)tx->commit();
        _counters.add(_shard, sink_counter::event_drain_success, got);
        return got < _batch ? SinkStatus::backoff : SinkStatus::ready;
    }

private:
    unsigned _shard;
    Channel& _channel;
    CounterGroup& _counters;
    uint32_t _batch;
    sluice_sink_fn _fn;
    void* _user;
    std::vector<sluice_header> _headers;
};

ComponentDescriptor callback_sink_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::sink;
    d.type = "callback";
    d.description =
        "Hands each event to a function of the embedding program (sluice_agent_set_sink_callback); a non-zero "
        "return rolls the batch back for redelivery.";
    d.keys = {{"batchSize", KeyType::integer, "100", false, "Events per transaction.", 1, INT32_MAX}};
    d.batch_size_key = "batchSize";
    d.make_sink = [](SinkContext& ctx) -> Result<std::unique_ptr<Sink>> {
        if (!ctx.host) return Status(errc::unsupported, "the callback sink exists only in programs using the C API");
        auto* host = static_cast<sluice_agent*>(ctx.host);
        auto it = host->callbacks.find(ctx.settings.name());
        if (it == host->callbacks.end()) return Status(errc::not_found, "no callback was set for this sink");
        return std::unique_ptr<Sink>(new CallbackSink(ctx, it->second.first, it->second.second));
    };
    return d;
}

// ------------------------------------------------------------------ helpers

int map_code(const Status& st) {
    switch (st.code()) {
    case errc::ok: return SLUICE_OK;
    case errc::invalid_argument: return SLUICE_ERR_INVALID_ARGUMENT;
    case errc::config: return SLUICE_ERR_CONFIG;
    case errc::not_found: return SLUICE_ERR_NOT_FOUND;
    case errc::channel_full: return SLUICE_ERR_FULL;
    case errc::io: return SLUICE_ERR_IO;
    default: return SLUICE_ERR_INTERNAL;
    }
}

const char* state_name(agent_state s) {
    switch (s) {
    case agent_state::created: return "created";
    case agent_state::configured: return "configured";
    case agent_state::started: return "started";
    case agent_state::stopped: return "stopped";
    }
    return "?";
}

int wrong_state(sluice_agent* a, const char* call) {
    return a->fail(SLUICE_ERR_STATE, std::string(call) + ": not allowed while the agent is " + state_name(a->state.load()));
}

const ComponentConfig* find_component(const sluice_agent* a, ComponentKind kind, const std::string& name,
                                      std::string_view type) {
    if (!a->topology) return nullptr;
    const ValidatedComponent* c = a->topology->find(kind, name);
    if (!c || !c->descriptor || c->descriptor->type != type) return nullptr;
    return c->config;
}

template <typename Fn>
int guarded(sluice_agent* a, Fn&& fn) {
    try {
        return fn();
    } catch (const std::exception& e) {
        return a ? a->fail(SLUICE_ERR_INTERNAL, std::string("internal error: ") + e.what()) : SLUICE_ERR_INTERNAL;
    } catch (...) {
        return a ? a->fail(SLUICE_ERR_INTERNAL, "internal error") : SLUICE_ERR_INTERNAL;
    }
}

int do_push(sluice_agent* a, const char* source, const sluice_event* events, size_t count, size_t* accepted,
            bool wait) {
    if (accepted) *accepted = 0;
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    if (!source || (!events && count > 0)) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "push: NULL argument");
    if (Shard::current()) return a->fail(SLUICE_ERR_WRONG_THREAD, "push: not from a callback (it would wait for itself)");
    if (a->state.load() != agent_state::started) return wrong_state(a, "push");
    if (count == 0) return a->ok();
    EmbeddedSource* target = nullptr;
    {
        std::lock_guard lk(a->mu);
        auto it = a->endpoints.find(source);
        if (it == a->endpoints.end() || it->second.empty()) {
            a->errmsg = std::string("push: no embedded source '") + source + "'";
            return SLUICE_ERR_NOT_FOUND;
        }
        auto& shards = it->second;
        uint64_t n = a->round_robin.fetch_add(1, std::memory_order_relaxed);
        for (size_t k = 0; k < shards.size() && !target; k++) target = shards[(n + k) % shards.size()];
        if (!target) {
            a->errmsg = "push: the agent is stopping";
            return SLUICE_ERR_STATE;
        }
    }
    auto r = std::make_shared<push_request>();
    size_t bytes = 0;
    for (size_t i = 0; i < count; i++) {
        if (!events[i].body && events[i].body_len > 0) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "push: event with NULL body");
        if (!events[i].headers && events[i].header_count > 0)
            return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "push: event with NULL headers");
        bytes += events[i].body_len;
    }
    r->batch = std::make_shared<EventBatch>(count, bytes);
    r->batch->set_received_us(wall_clock_us());
    r->wait = wait;
    for (size_t i = 0; i < count; i++) {
        const sluice_event& e = events[i];
        r->batch->add(std::string_view(static_cast<const char*>(e.body), e.body ? e.body_len : 0));
        for (size_t h = 0; h < e.header_count; h++) {
            const sluice_header& hd = e.headers[h];
            if (!hd.key || (!hd.value && hd.value_len > 0))
                return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "push: header with NULL key or value");
            r->batch->add_header(std::string_view(hd.key, hd.key_len), std::string_view(hd.value ? hd.value : "", hd.value_len));
        }
    }
    unsigned shard = 0;
    {
        std::lock_guard lk(a->mu);
        auto& shards = a->endpoints[source];
        for (unsigned i = 0; i < shards.size(); i++)
            if (shards[i] == target) shard = i;
    }
    a->runtime->submit(shard, [r, a, source = std::string(source), shard] {
        EmbeddedSource* ep = nullptr;
        {
            std::lock_guard lk(a->mu);
            auto it = a->endpoints.find(source);
            if (it != a->endpoints.end() && shard < it->second.size()) ep = it->second[shard];
        }
        if (ep) {
            ep->submit(r);
        } else {
            std::lock_guard lk(r->mu);
            r->code = SLUICE_ERR_STATE;
            r->message = "the agent is stopping";
            r->done = true;
            r->cv.notify_all();
        }
    });
    std::unique_lock lk(r->mu);
    // The runtime runs every submitted task or, when stopping, drops it: the
    // bounded wait covers the second case.
    if (!r->cv.wait_for(lk, std::chrono::minutes(5), [&] { return r->done; }))
        return a->fail(SLUICE_ERR_STATE, "push: the agent stopped before taking the events");
    if (accepted) *accepted = r->accepted;
    if (r->code != SLUICE_OK) return a->fail(r->code, r->message);
    return SLUICE_OK;
}

}  // namespace

extern "C" {

const char* sluice_version(void) { return SLUICE_VERSION_STRING; }

const char* sluice_errstr(int code) {
    switch (code) {
    case SLUICE_OK: return "ok";
    case SLUICE_ERR_INVALID_ARGUMENT: return "invalid argument";
    case SLUICE_ERR_CONFIG: return "configuration error";
    case SLUICE_ERR_NOT_FOUND: return "not found";
    case SLUICE_ERR_FULL: return "channel full";
    case SLUICE_ERR_STATE: return "not allowed in this state";
    case SLUICE_ERR_WRONG_THREAD: return "not allowed from this thread";
    case SLUICE_ERR_IO: return "I/O error";
    case SLUICE_ERR_INTERNAL: return "internal error";
    }
    return "unknown error code";
}

int sluice_agent_new(sluice_agent** out) {
    if (!out) return SLUICE_ERR_INVALID_ARGUMENT;
    *out = nullptr;
    return guarded(nullptr, [&] {
        auto* a = new sluice_agent;
        register_builtin_components(a->registry);
        a->registry.add(ops::stream_descriptor(&a->user));
        a->registry.add(embedded_source_descriptor());
        a->registry.add(callback_sink_descriptor());
        a->agent_options.host = a;
        *out = a;
        return SLUICE_OK;
    });
}

void sluice_agent_close(sluice_agent** agent) {
    if (!agent || !*agent) return;
    if (Shard::current()) return;  // from a callback: refused (it would join its own thread)
    try {
        sluice_agent_stop(*agent);
        delete *agent;
    } catch (...) {
    }
    *agent = nullptr;
}

const char* sluice_agent_errmsg(const sluice_agent* agent) {
    if (!agent) return "NULL agent";
    return agent->errmsg.c_str();
}

int sluice_agent_register_map(sluice_agent* a, const char* name, sluice_map_fn fn, void* user) {
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    return guarded(a, [&] {
        if (!name || !*name || !fn) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "register_map: NULL or empty argument");
        if (a->state.load() != agent_state::created) return wrong_state(a, "register_map");
        a->user.maps[name] = [fn, user](std::string_view in, std::string& out) {
            out.resize(64 * 1024);
            size_t len = 0;
            int keep = fn(user, in.data(), in.size(), out.data(), out.size(), &len);
            out.resize(std::min(len, size_t(64 * 1024)));
            return keep != 0;
        };
        return a->ok();
    });
}

int sluice_agent_register_filter(sluice_agent* a, const char* name, sluice_filter_fn fn, void* user) {
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    return guarded(a, [&] {
        if (!name || !*name || !fn) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "register_filter: NULL or empty argument");
        if (a->state.load() != agent_state::created) return wrong_state(a, "register_filter");
        a->user.filters[name] = [fn, user](std::string_view in) { return fn(user, in.data(), in.size()) != 0; };
        return a->ok();
    });
}

int sluice_agent_configure(sluice_agent* a, const char* agent_name, const char* text) {
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    return guarded(a, [&] {
        if (!agent_name || !text) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "configure: NULL argument");
        if (a->state.load() != agent_state::created) return wrong_state(a, "configure");
        ReadOptions ro;
        ro.agent = agent_name;
        std::vector<ConfigProblem> problems;
        AgentConfig cfg = read_agent_config_text(text, "<config>", ro, problems);
        auto topo = validate_agent(std::move(cfg), false, problems, a->registry);
        std::string msg;
        for (auto& p : problems) {
            if (!msg.empty()) msg += '\n';
            if (p.severity == ConfigProblem::Severity::warning) msg += "warning: ";
            msg += p.to_string();
        }
        if (!topo) return a->fail(SLUICE_ERR_CONFIG, msg.empty() ? "configuration rejected" : msg);
        a->topology = std::move(topo);
        a->state = agent_state::configured;
        a->ok();
        if (!msg.empty()) a->fail(SLUICE_OK, msg);  // warnings stay readable
        return SLUICE_OK;
    });
}

int sluice_agent_set_sink_callback(sluice_agent* a, const char* sink_name, sluice_sink_fn fn, void* user) {
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    return guarded(a, [&] {
        if (!sink_name || !fn) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "set_sink_callback: NULL argument");
        if (a->state.load() != agent_state::configured) return wrong_state(a, "set_sink_callback");
        if (!find_component(a, ComponentKind::sink, sink_name, "callback"))
            return a->fail(SLUICE_ERR_NOT_FOUND, std::string("set_sink_callback: no callback sink '") + sink_name + "'");
        a->callbacks[sink_name] = {fn, user};
        return a->ok();
    });
}

int sluice_agent_set_property(sluice_agent* a, const char* key, const char* value) {
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    return guarded(a, [&] {
        if (!key || !value) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "set_property: NULL argument");
        agent_state s = a->state.load();
        if (s != agent_state::created && s != agent_state::configured) return wrong_state(a, "set_property");
        std::string k = key, v = value;
        if (k == "shards") {
            char* end = nullptr;
            long n = strtol(v.c_str(), &end, 10);
            if (v.empty() || *end || n < 1 || n > 1024)
                return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "shards: expected a number from 1 to 1024, got '" + v + "'");
            a->runtime_options.shards = unsigned(n);
        } else if (k == "sluice.io") {
            if (v != "auto" && v != "io_uring" && v != "epoll")
                return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "sluice.io: expected auto, io_uring or epoll, got '" + v + "'");
            a->io = v;
        } else if (k == "sluice.drain.timeout") {
            auto ms = parse_duration_ms(v, 1000);
            if (!ms) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "sluice.drain.timeout: " + ms.status().message());
            a->agent_options.drain_timeout_ms = ms.value();
        } else if (k == "sluice.log.level") {
            LogLevel l;
            if (!parse_log_level(v, &l)) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "sluice.log.level: expected DEBUG, INFO, WARN or ERROR");
            set_log_level(l);
        } else {
            return a->fail(SLUICE_ERR_NOT_FOUND, "unknown property '" + k + "'");
        }
        return a->ok();
    });
}

int sluice_agent_start(sluice_agent* a) {
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    return guarded(a, [&] {
        if (Shard::current()) return a->fail(SLUICE_ERR_WRONG_THREAD, "start: not from a callback");
        if (a->state.load() != agent_state::configured) return wrong_state(a, "start");
        for (auto& k : a->topology->sinks)
            if (k.descriptor->type == "callback" && !a->callbacks.count(k.settings.name()))
                return a->fail(SLUICE_ERR_STATE, "start: callback sink '" + k.settings.name() + "' has no callback");
        std::string chosen;
        auto factory = select_reactor(a->io, &chosen);
        if (!factory) return a->fail(map_code(factory.status()), factory.status().message());
        a->runtime = std::make_unique<Runtime>(a->runtime_options, std::move(factory.value()));
        if (Status st = a->runtime->start(); !st) return a->fail(map_code(st), st.message());
        a->agent = std::make_unique<Agent>(std::move(a->topology), *a->runtime, a->agent_options);
        if (Status st = a->agent->start(); !st) {
            a->agent->stop();
            a->runtime->stop();
            a->state = agent_state::stopped;
            return a->fail(map_code(st), st.message());
        }
        a->state = agent_state::started;
        return a->ok();
    });
}

int sluice_agent_push(sluice_agent* a, const char* source, const sluice_event* event) {
    if (!event && a) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "push: NULL event");
    return guarded(a, [&] { return do_push(a, source, event, 1, nullptr, true); });
}

int sluice_agent_try_push(sluice_agent* a, const char* source, const sluice_event* event) {
    if (!event && a) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "try_push: NULL event");
    return guarded(a, [&] { return do_push(a, source, event, 1, nullptr, false); });
}

int sluice_agent_push_batch(sluice_agent* a, const char* source, const sluice_event* events, size_t count,
                            size_t* accepted) {
    return guarded(a, [&] { return do_push(a, source, events, count, accepted, true); });
}

int sluice_agent_metrics_json(sluice_agent* a, char** json) {
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    return guarded(a, [&] {
        if (!json) return a->fail(SLUICE_ERR_INVALID_ARGUMENT, "metrics_json: NULL argument");
        *json = nullptr;
        if (!a->agent) return wrong_state(a, "metrics_json");  // never started
        std::string text = a->agent->metrics_json();
        char* p = static_cast<char*>(std::malloc(text.size() + 1));
        if (!p) return a->fail(SLUICE_ERR_INTERNAL, "out of memory");
        std::memcpy(p, text.c_str(), text.size() + 1);
        *json = p;
        return SLUICE_OK;
    });
}

int sluice_agent_stop(sluice_agent* a) {
    if (!a) return SLUICE_ERR_INVALID_ARGUMENT;
    return guarded(a, [&] {
        if (Shard::current()) return a->fail(SLUICE_ERR_WRONG_THREAD, "stop: not from a callback (it would wait for itself)");
        agent_state s = a->state.load();
        if (s == agent_state::stopped) return a->ok();
        if (s != agent_state::started) {
            a->state = agent_state::stopped;
            return a->ok();
        }
        a->state = agent_state::stopped;  // new pushes fail from here on
        a->agent->stop();
        a->runtime->stop();
        return a->ok();
    });
}

void sluice_free(void* p) { std::free(p); }

}  // extern "C"
