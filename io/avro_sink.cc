// SPDX-License-Identifier: Apache-2.0
// The `avro` sink: Flume's AvroSink / NettyAvroRpcClient (reference/flume.md
// §7.8) speaking Avro RPC (docs/avro-rpc.md), non-blocking on the shard's
// reactor.
//
// One connection per shard instance, one appendBatch in flight: take up to
// batch-size events, send them, commit the take on OK; on FAILED, an error
// response, request-timeout or a lost connection roll the take back (the
// events are sent again later) and close.
//
// The shard's SinkRunner (or sink group) drives it, as Flume's does, but
// without blocking: process() reports the outcome of the last call (ready or
// failed), answers busy while a connect or call is under way, and otherwise
// connects or sends the next batch. Every end of a busy spell (an answer, a
// failure, a connect done, a connection closed) wakes the runner. After a
// failure the runner's (or the group's) back-off paces reconnecting.
//
// Lifetime: the client object is shared; it holds a reference to itself while
// the reactor may still call it (a connect under way, a stream not yet
// closed), so it outlives the Sink object that stop() ends.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>

#include "core/component.h"
#include "core/log.h"
#include "io/avro_rpc.h"
#include "io/components.h"

namespace sluice {

namespace {

struct avro_sink_options {
    std::string host;
    int port = 0;
    uint32_t batch = 100;
    int64_t connect_timeout_ms = 20000;
    int64_t request_timeout_ms = 20000;
    int64_t reset_interval_ms = 0;
    bool deflate = false;
    int level = 6;
};

constexpr size_t max_response_bytes = 1 << 20;

void count_batch(CounterGroup& c, unsigned shard, uint32_t got, uint32_t batch) {
    if (got == 0) c.add(shard, sink_counter::batch_empty);
    else if (got < batch) c.add(shard, sink_counter::batch_underflow);
    else c.add(shard, sink_counter::batch_complete);
}

class AvroClient final : public StreamHandler, public ConnectHandler, public std::enable_shared_from_this<AvroClient> {
public:
    AvroClient(SinkContext& ctx, avro_sink_options opts)
        : _shard(ctx.shard), _channel(ctx.channel), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(opts)), _frames(max_response_bytes) {}

    void start() {
        connect();  // as Flume: the connection is made at start
    }

    void set_wake(std::function<void()> wake) { _wake = std::move(wake); }

    void stop() {
        _stopped = true;
        cancel_timer(_request_timer);
        if (_tx) {
            _tx->rollback();
            _tx.reset();
        }
        disconnect();
    }

    // Sink::process(), see the file comment.
    SinkStatus process() {
        if (_stopped) return SinkStatus::backoff;
        if (_outcome) {
            SinkStatus last = *_outcome;
            _outcome.reset();
            return last;
        }
        if (_state == state::disconnected) {
            connect();
            return _state == state::connecting ? SinkStatus::busy : SinkStatus::failed;
        }
        if (_state != state::connected || _tx || _closing) return SinkStatus::busy;
        if (_opts.reset_interval_ms > 0 && monotonic_us() - _connected_at_us >= _opts.reset_interval_ms * 1000) {
            // reset-connection-interval: a fresh connection (a load balancer may send it elsewhere).
            log_info("avro sink %s: resetting the connection (reset-connection-interval)", _name.c_str());
            _reconnect_now = true;
            disconnect();
            return SinkStatus::busy;
        }
        _tx = _channel.begin_take(_shard.id());
        uint32_t got = _tx->take(_opts.batch);
        count_batch(_counters, _shard.id(), got, _opts.batch);
        if (got == 0) {
            (void)_tx->commit();
            _tx.reset();
            return SinkStatus::backoff;
        }
        _counters.add(_shard.id(), sink_counter::event_drain_attempt, got);
        _events = got;
        _request_body.clear();
        avro::put_append_batch(_request_body, _tx->events());
        send_request();
        arm_request_timer();
        return SinkStatus::busy;
    }

    void on_connected(int err) override {
        cancel_timer(_connect_timer);
        auto keep = std::move(_self);  // the reactor is done with the connect
        _connecting = false;
        if (_stopped) {
            ::close(_fd);
            _fd = -1;
            _state = state::disconnected;
            return;
        }
        if (err != 0) {
            ::close(_fd);
            _fd = -1;
            _state = state::disconnected;
            _counters.add(_shard.id(), sink_counter::connection_failed);
            log_failure("cannot connect to " + target() + ": " + (err == ECANCELED ? std::string("connect-timeout") : strerror(err)));
            done(SinkStatus::failed);
            return;
        }
        auto id = _shard.reactor().add_stream(_fd, this);
        if (!id) {
            ::close(_fd);
            _fd = -1;
            _state = state::disconnected;
            _counters.add(_shard.id(), sink_counter::connection_failed);
            log_failure(id.status().message());
            done(SinkStatus::failed);
            return;
        }
        _stream = id.value();
        _self = keep;  // until on_closed
        _state = state::connected;
        _closing = false;
        _connected_at_us = monotonic_us();
        _established = false;
        _frames = avro::FrameDecoder(max_response_bytes);
        _inflater.reset();
        _deflater.reset();
        if (_opts.deflate) {
            _inflater.emplace(max_response_bytes);
            _deflater.emplace(_opts.level);
        }
        _counters.add(_shard.id(), sink_counter::connection_created);
        if (_failing) log_info("avro sink %s: connected to %s again", _name.c_str(), target().c_str());
        _failing = false;
        done(std::nullopt);
    }

    void on_data(std::string_view data) override {
        if (_closing) return;
        std::string_view plain = data;
        if (_inflater) {
            _plain.clear();
            std::string error;
            if (!_inflater->read(data, _plain, &error)) {
                fail(error);
                return;
            }
            plain = _plain;
        }
        _frames.feed(plain);
        auto self = shared_from_this();
        while (!_closing) {
            uint32_t serial;
            std::string error;
            auto next = _frames.next(&serial, &_message, &error);
            if (next == avro::FrameDecoder::Next::need_more) break;
            if (next == avro::FrameDecoder::Next::error) {
                fail("bad response: " + error);
                return;
            }
            if (!_tx || serial != _serial) {
                fail("a response with serial " + std::to_string(serial) + " that was not asked for");
                return;
            }
            on_response();
        }
    }

    void on_eof(int err) override {
        if (_closing) return;
        fail(err ? std::string("connection lost: ") + strerror(err) : std::string("the server closed the connection"));
    }

    void on_sent(ssize_t result) override {
        if (!_outgoing.empty()) _outgoing.pop_front();  // sends complete in order
        if (result < 0 && !_closing) fail(std::string("send failed: ") + strerror(int(-result)));
    }

    void on_closed() override {
        _state = state::disconnected;
        _closing = false;
        _fd = -1;  // closed by the reactor
        _outgoing.clear();
        auto keep = std::move(_self);
        _counters.add(_shard.id(), sink_counter::connection_closed);
        if (_stopped) return;
        if (_reconnect_now) {
            _reconnect_now = false;
            connect();
        }
        done(std::nullopt);
    }

private:
    enum class state { disconnected, connecting, connected };

    std::string target() const { return _opts.host + ":" + std::to_string(_opts.port); }

    void connect() {
        if (_stopped || _state != state::disconnected) return;
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_NUMERICSERV;
        addrinfo* res = nullptr;
        std::string service = std::to_string(_opts.port);
        int rc = getaddrinfo(_opts.host.c_str(), service.c_str(), &hints, &res);
        if (rc != 0 || !res) {
            _counters.add(_shard.id(), sink_counter::connection_failed);
            log_failure("cannot resolve '" + _opts.host + "': " + gai_strerror(rc));
            if (res) freeaddrinfo(res);
            return;
        }
        _fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (_fd < 0) {
            freeaddrinfo(res);
            _counters.add(_shard.id(), sink_counter::connection_failed);
            log_failure(std::string("socket: ") + strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(_fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        auto id = _shard.reactor().connect(_fd, res->ai_addr, res->ai_addrlen, this);
        freeaddrinfo(res);
        if (!id) {
            ::close(_fd);
            _fd = -1;
            _counters.add(_shard.id(), sink_counter::connection_failed);
            log_failure(id.status().message());
            return;
        }
        _state = state::connecting;
        _connecting = true;
        _connect_id = id.value();
        _self = shared_from_this();  // until on_connected
        _connect_timer = _shard.add_timer(_opts.connect_timeout_ms * 1000, [w = weak_from_this()] {
            if (auto c = w.lock()) {
                c->_connect_timer = 0;
                if (c->_connecting) c->_shard.reactor().cancel_connect(c->_connect_id);
            }
        });
    }

    void disconnect() {
        if (_state == state::connecting) {
            if (_connecting) _shard.reactor().cancel_connect(_connect_id);
            return;  // on_connected closes the socket
        }
        if (_state == state::connected && !_closing) {
            _closing = true;
            _shard.reactor().close_stream(_stream);
        }
    }

    // A busy spell ended: `outcome` is what the next process() reports
    // (nothing: it goes on from the new state).
    void done(std::optional<SinkStatus> outcome) {
        if (outcome) _outcome = outcome;
        if (_wake) _wake();
    }

    void send_request() {
        std::string message;
        if (!_established) {
            if (_resend_with_text)
                avro::put_handshake_request(message, avro::sluice_hash, avro::protocol_text(), _server_hash);
            else
                avro::put_handshake_request(message, avro::flume1_hash, {}, avro::flume1_hash);
        }
        message += _request_body;
        _serial++;
        std::string pack;
        avro::put_pack(pack, _serial, {message});
        // Each send's bytes stay put in their own string until on_sent.
        _outgoing.emplace_back();
        if (_deflater) _deflater->write(pack, _outgoing.back());
        else _outgoing.back() = std::move(pack);
        _shard.reactor().send(_stream, _outgoing.back().data(), _outgoing.back().size());
    }

    void on_response() {
        avro::CallResponse resp;
        if (!avro::read_call_response(_message, !_established, &resp)) {
            fail("a response that does not decode");
            return;
        }
        if (resp.has_handshake) {
            if (resp.handshake.match == avro::Match::none) {
                if (_resend_with_text) {
                    fail("the server does not accept sluice's protocol (handshake NONE twice)");
                    return;
                }
                // The server does not know our hash: the same call again, with our protocol text.
                _resend_with_text = true;
                if (resp.handshake.has_server_hash) _server_hash = resp.handshake.server_hash;
                send_request();
                return;
            }
            _established = true;
        }
        if (!resp.has_status) {
            fail("a response without a status");
            return;
        }
        if (resp.status != avro::CallStatus::ok) {
            fail(resp.error.empty() ? std::string("Avro RPC call returned Status: ") +
                                          (resp.status == avro::CallStatus::failed ? "FAILED" : "UNKNOWN")
                                    : "Avro RPC call returned an error: " + resp.error);
            return;
        }
        cancel_timer(_request_timer);
        record_delivery(_counters, _shard.id(), _tx->events());
        (void)_tx->commit();
        _tx.reset();
        _counters.add(_shard.id(), sink_counter::event_drain_success, _events);
        done(SinkStatus::ready);
    }

    // The connection is no good: it is dropped, and a call under way failed
    // (its events go back to the channel). Without one (an idle connection
    // lost), the next process() just connects again.
    void fail(const std::string& why) {
        cancel_timer(_request_timer);
        bool delivering = _tx != nullptr;
        if (_tx) {
            _tx->rollback();
            _tx.reset();
            _counters.add(_shard.id(), sink_counter::event_write_fail);
        }
        log_failure("delivery to " + target() + " failed: " + why);
        disconnect();
        done(delivering ? std::optional(SinkStatus::failed) : std::nullopt);
    }

    void arm_request_timer() {
        cancel_timer(_request_timer);
        _request_timer = _shard.add_timer(_opts.request_timeout_ms * 1000, [w = weak_from_this()] {
            if (auto c = w.lock()) {
                c->_request_timer = 0;
                if (c->_tx) c->fail("no answer within request-timeout (" + std::to_string(c->_opts.request_timeout_ms) + " ms)");
            }
        });
    }

    void cancel_timer(TimerId& t) {
        if (t) _shard.cancel_timer(t);
        t = 0;
    }

    // The first failure of a run is a warning; repeats while still failing are debug.
    void log_failure(const std::string& what) {
        if (_failing) log_debug("avro sink %s: %s", _name.c_str(), what.c_str());
        else log_warn("avro sink %s: %s", _name.c_str(), what.c_str());
        _failing = true;
    }

    Shard& _shard;
    Channel& _channel;
    CounterGroup& _counters;
    std::string _name;
    avro_sink_options _opts;

    std::shared_ptr<AvroClient> _self;
    state _state = state::disconnected;
    bool _stopped = false, _closing = false, _connecting = false, _failing = false;
    int _fd = -1;
    ConnectId _connect_id = 0;
    StreamId _stream = 0;
    int64_t _connected_at_us = 0;
    TimerId _connect_timer = 0, _request_timer = 0;
    std::function<void()> _wake;            // the runner's (Sink::set_wake)
    std::optional<SinkStatus> _outcome;     // of the last call, until process() reports it

    bool _established = false, _resend_with_text = false;
    avro::Md5 _server_hash = avro::flume1_hash;
    uint32_t _serial = 0;
    std::unique_ptr<TakeTransaction> _tx;
    uint32_t _events = 0;
    std::string _request_body;
    std::deque<std::string> _outgoing;  // packs handed to the reactor, until on_sent
    bool _reconnect_now = false;
    std::optional<avro::Deflater> _deflater;
    std::optional<avro::Inflater> _inflater;
    std::string _plain, _message;
    avro::FrameDecoder _frames;
};

class AvroSink final : public Sink {
public:
    AvroSink(SinkContext& ctx, avro_sink_options opts) : _client(std::make_shared<AvroClient>(ctx, std::move(opts))) {}
    ~AvroSink() override { _client->stop(); }
    Status start() override {
        _client->start();
        return Status::ok();
    }
    SinkStatus process() override { return _client->process(); }
    void set_wake(std::function<void()> wake) override { _client->set_wake(std::move(wake)); }
    void stop() override { _client->stop(); }

private:
    std::shared_ptr<AvroClient> _client;
};

}  // namespace

ComponentDescriptor avro_sink_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::sink;
    d.type = "avro";
    d.aliases = {"org.apache.flume.sink.AvroSink"};
    d.description =
        "Sends events over Flume's Avro RPC (one appendBatch per batch; docs/avro-rpc.md) to a Flume or sluice "
        "avro source. The take is committed only when the server answers OK; otherwise the events stay in the "
        "channel and the sink reconnects after a back-off.";
    d.keys = {
        {"hostname", KeyType::string, "", true, "Host name or address of the avro source."},
        {"port", KeyType::integer, "", true, "Its port.", 1, 65535},
        {"batch-size", KeyType::integer, "100", false, "Events per appendBatch (and per take transaction).", 1,
         INT32_MAX},
        {"connect-timeout", KeyType::integer, "20000", false,
         "Milliseconds to wait for the connection; values under 1000 mean the default.", INT64_MIN, INT64_MAX},
        {"request-timeout", KeyType::integer, "20000", false,
         "Milliseconds to wait for the answer to a call; values under 1000 mean the default.", INT64_MIN,
         INT64_MAX},
        {"reset-connection-interval", KeyType::integer, "0", false,
         "Seconds after which the connection is replaced by a new one (behind a load balancer); 0: never.", 0,
         INT32_MAX},
        {"compression-type", KeyType::choice, "none", false,
         "deflate: each direction of the connection is one zlib stream (the source must match).", INT64_MIN,
         INT64_MAX, {"none", "deflate"}},
        {"compression-level", KeyType::integer, "6", false, "zlib level for deflate (0-9).", 0, 9},
        {"maxIoWorkers", KeyType::integer, "0", false, "Accepted and ignored (each shard does its own I/O).", 0,
         INT32_MAX, {}, "Flume ignores it too (at HEAD)."},
        {"ssl", KeyType::boolean, "false", false, "TLS: not supported by sluice (true is a configuration error)."},
        {"trust-all-certs", KeyType::boolean, "false", false, "TLS: not supported."},
        {"truststore", KeyType::string, "", false, "TLS trust store: not supported."},
        {"truststore-password", KeyType::string, "", false, "TLS trust store password: not supported."},
        {"truststore-type", KeyType::string, "JKS", false, "TLS trust store type: not supported."},
        {"exclude-protocols", KeyType::string, "SSLv3", false, "TLS protocols: not supported."},
    };
    d.batch_size_key = "batch-size";
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        if (s.get_bool("ssl")) problems.emplace_back("ssl", "TLS is not supported by sluice's avro sink");
    };
    d.make_sink = [](SinkContext& ctx) -> Result<std::unique_ptr<Sink>> {
        const auto& s = ctx.settings;
        avro_sink_options o;
        o.host = s.get_string("hostname");
        o.port = int(s.get_int("port"));
        o.batch = uint32_t(s.get_int("batch-size"));
        // Flume: timeouts under 1000 ms fall back to the default.
        o.connect_timeout_ms = s.get_int("connect-timeout");
        if (o.connect_timeout_ms < 1000) o.connect_timeout_ms = 20000;
        o.request_timeout_ms = s.get_int("request-timeout");
        if (o.request_timeout_ms < 1000) o.request_timeout_ms = 20000;
        o.reset_interval_ms = s.get_int("reset-connection-interval") * 1000;
        o.deflate = strcasecmp(s.get_string("compression-type").c_str(), "deflate") == 0;
        o.level = int(s.get_int("compression-level"));
        return std::unique_ptr<Sink>(new AvroSink(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
