// SPDX-License-Identifier: Apache-2.0
// The `avro` source: Flume's AvroSource (reference/flume.md §7.7) speaking
// Avro RPC (docs/avro-rpc.md) on the shard's reactor. Each shard listens on
// the same port (SO_REUSEPORT) and owns the connections the kernel hands it.
//
// Per connection, calls run one at a time in arrival order: the events of an
// append / appendBatch are decoded into one EventBatch and put into the
// channels in one transaction per required channel. The reply (OK, or FAILED)
// goes out from processor.when_durable, so replies leave in call order and OK
// means committed (for a durable channel: on disk). While a channel is full
// the connection stops reading and retries for up to the channel's
// keep-alive, then answers FAILED and goes on with the next call.
//
// A pack beyond max-frame-size, a message that does not decode, or a corrupt
// deflate stream closes that connection (a log line, EventReadFail + 1).
#include <fnmatch.h>
#include <strings.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>

#include "core/component.h"
#include "core/log.h"
#include "io/avro_rpc.h"
#include "io/components.h"
#include "io/net.h"

namespace sluice {

namespace {

struct ip_rule {
    bool allow = true;
    bool by_name = false;  // name:<glob> (the peer's host name) or ip:<glob>
    std::string glob;
};

// Parses Flume's ipFilterRules: comma list of allow|deny:ip|name:<glob>.
Result<std::vector<ip_rule>> parse_ip_rules(const std::string& text) {
    std::vector<ip_rule> rules;
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string rule = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? text.size() + 1 : comma + 1;
        auto b = rule.find_first_not_of(" \t"), e = rule.find_last_not_of(" \t");
        if (b == std::string::npos) continue;
        rule = rule.substr(b, e - b + 1);
        size_t c1 = rule.find(':'), c2 = c1 == std::string::npos ? c1 : rule.find(':', c1 + 1);
        if (c2 == std::string::npos)
            return Status(errc::config, "rule '" + rule + "': expected allow|deny:ip|name:<pattern>");
        std::string verdict = rule.substr(0, c1), kind = rule.substr(c1 + 1, c2 - c1 - 1);
        ip_rule r;
        if (verdict == "allow") r.allow = true;
        else if (verdict == "deny") r.allow = false;
        else return Status(errc::config, "rule '" + rule + "': expected allow or deny, got '" + verdict + "'");
        if (kind == "ip") r.by_name = false;
        else if (kind == "name") r.by_name = true;
        else return Status(errc::config, "rule '" + rule + "': expected ip or name, got '" + kind + "'");
        r.glob = rule.substr(c2 + 1);
        if (r.glob.empty()) return Status(errc::config, "rule '" + rule + "': empty pattern");
        rules.push_back(std::move(r));
    }
    return rules;
}

struct avro_options {
    std::string bind;
    int port = 0;
    bool deflate = false;
    size_t max_frame = 64 << 20;
    bool ip_filter = false;
    std::vector<ip_rule> rules;
};

constexpr size_t max_unsent_reply_bytes = 1 << 20;
constexpr int64_t retry_first_us = 500;
constexpr int64_t retry_max_us = 20000;

class AvroSource;

class AvroConnection final : public StreamHandler, public std::enable_shared_from_this<AvroConnection> {
public:
    AvroConnection(AvroSource& src, int fd);
    Status open();
    void stop() { close(); }

    void on_data(std::string_view data) override;
    void on_eof(int err) override;
    void on_sent(ssize_t result) override;
    void on_closed() override;

private:
    void process();
    // Starts the call in `message` (serial); false when the connection broke.
    bool start_call(uint32_t serial, const std::string& message);
    // Puts the current call's events; false while waiting for channel room.
    bool commit_call();
    void finish_call(avro::CallStatus status);
    void broken(const std::string& why);
    void queue_reply(uint32_t serial, const std::string& handshake, avro::CallStatus status);
    void flush_replies();
    void update_reading();
    void close();

    AvroSource& _src;
    int _fd;
    StreamId _stream = 0;
    bool _open = false, _eof = false, _closing = false, _paused = false;
    bool _in_process = false;  // replies made now go out with the rest of this read's
    std::optional<avro::Inflater> _inflater;
    std::optional<avro::Deflater> _deflater;
    std::string _plain;  // inflated bytes of one read
    avro::FrameDecoder _frames;
    avro::ServerHandshake _handshake;
    std::string _message;

    // The call in progress (its events not yet committed or failed).
    std::shared_ptr<EventBatch> _batch;
    bool _is_batch = false;
    uint32_t _serial = 0;
    std::string _call_handshake;  // the handshake part its reply carries
    ChannelProcessor::Progress _progress;
    bool _waiting = false;
    int64_t _wait_since_us = 0, _retry_us = retry_first_us;
    TimerId _retry_timer = 0;

    std::string _replies;  // plain packs queued, not yet handed to the reactor
    std::string _sending;  // handed to the reactor (compressed when deflate), until on_sent
};

class AvroSource final : public Source, public AcceptHandler {
public:
    AvroSource(SourceContext& ctx, avro_options opts)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(opts)) {}

    Status start() override {
        auto fd = listen_tcp(_opts.bind, _opts.port, true);
        if (!fd) return Status(fd.status().code(), "avro source " + _name + ": " + fd.status().message());
        _listen_fd = fd.value();
        auto id = _shard.reactor().add_listener(_listen_fd, this);
        if (!id) {
            ::close(_listen_fd);
            return id.status();
        }
        _listener = id.value();
        _listening = true;
        if (_shard.id() == 0)
            log_info("avro source %s: listening on %s:%d%s", _name.c_str(), _opts.bind.c_str(), _opts.port,
                     _opts.deflate ? " (deflate)" : "");
        return Status::ok();
    }

    void stop(Task done) override {
        if (_listening) _shard.reactor().close_listener(_listener);
        _listening = false;
        _on_stopped = std::move(done);
        std::vector<std::shared_ptr<AvroConnection>> conns;
        for (auto& [p, c] : _conns) conns.push_back(c);
        for (auto& c : conns) c->stop();
        maybe_stopped();
    }

    void on_accept(int fd) override {
        if (_opts.ip_filter && !allowed(fd)) {
            log_debug("avro source %s: connection from %s refused by ipFilterRules", _name.c_str(), peer_name(fd).c_str());
            ::close(fd);
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        auto c = std::make_shared<AvroConnection>(*this, fd);
        if (Status st = c->open(); !st) {
            log_warn("avro source %s: %s", _name.c_str(), st.message().c_str());
            ::close(fd);
            return;
        }
        _conns.emplace(c.get(), c);
        _counters.set(_shard.id(), source_counter::open_connection_count, _conns.size());
        if (!_listening) c->stop();
    }

    void on_accept_error(int err) override {
        log_error("avro source %s: accept failed: %s", _name.c_str(), strerror(err));
    }

    void connection_closed(AvroConnection* c) {
        auto it = _conns.find(c);
        if (it == _conns.end()) return;
        // Released after the reactor's call into the connection has returned.
        _shard.defer([keep = std::move(it->second)] {});
        _conns.erase(it);
        _counters.set(_shard.id(), source_counter::open_connection_count, _conns.size());
        maybe_stopped();
    }

private:
    friend class AvroConnection;

    // Flume's rule order: the first rule that matches decides; none: allowed.
    bool allowed(int fd) const {
        sockaddr_storage ss{};
        socklen_t len = sizeof(ss);
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return false;
        char ip[NI_MAXHOST] = "", name[NI_MAXHOST] = "";
        getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, ip, sizeof(ip), nullptr, 0, NI_NUMERICHOST);
        bool resolved = false;
        for (const auto& r : _opts.rules) {
            if (r.by_name && !resolved) {
                // A name rule needs the peer's host name (a lookup, as Flume's filter does).
                if (getnameinfo(reinterpret_cast<sockaddr*>(&ss), len, name, sizeof(name), nullptr, 0, NI_NAMEREQD) != 0)
                    name[0] = '\0';
                resolved = true;
            }
            const char* subject = r.by_name ? name : ip;
            if (subject[0] && fnmatch(r.glob.c_str(), subject, 0) == 0) return r.allow;
        }
        return true;
    }

    void maybe_stopped() {
        if (!_listening && _conns.empty() && _on_stopped) {
            auto done = std::move(_on_stopped);
            _on_stopped = nullptr;
            done();
        }
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name;
    avro_options _opts;
    int _listen_fd = -1;
    ListenerId _listener = 0;
    bool _listening = false;
    std::unordered_map<AvroConnection*, std::shared_ptr<AvroConnection>> _conns;
    std::vector<avro::Md5> _learned;  // client protocols sent to this source
    Task _on_stopped;
};

AvroConnection::AvroConnection(AvroSource& src, int fd) : _src(src), _fd(fd), _frames(src._opts.max_frame) {
    if (src._opts.deflate) {
        _inflater.emplace(src._opts.max_frame);
        _deflater.emplace(6);  // Flume's source always compresses at level 6
    }
}

Status AvroConnection::open() {
    auto id = _src._shard.reactor().add_stream(_fd, this);
    if (!id) return id.status();
    _stream = id.value();
    _open = true;
    return Status::ok();
}

void AvroConnection::on_data(std::string_view data) {
    if (_closing) return;
    if (_inflater) {
        _plain.clear();
        std::string error;
        if (!_inflater->read(data, _plain, &error)) {
            broken(error);
            return;
        }
        _frames.feed(_plain);
    } else {
        _frames.feed(data);
    }
    if (!_waiting) process();
    update_reading();
}

void AvroConnection::on_eof(int err) {
    if (err != 0) log_debug("avro source %s: connection error: %s", _src._name.c_str(), strerror(err));
    _eof = true;
    if (!_waiting && !_batch) close();  // a call still waiting for room finishes first
}

void AvroConnection::process() {
    auto self = shared_from_this();  // a broken stream may close (and release) us from inside
    _in_process = true;
    while (!_closing) {
        if (_batch) {
            if (!commit_call()) break;
            continue;
        }
        uint32_t serial;
        std::string error;
        auto next = _frames.next(&serial, &_message, &error);
        if (next == avro::FrameDecoder::Next::need_more) break;
        if (next == avro::FrameDecoder::Next::error) {
            _in_process = false;
            broken(error);
            return;
        }
        if (!start_call(serial, _message)) break;
    }
    _in_process = false;
    flush_replies();
    if (_eof && !_waiting && !_batch && !_closing) close();
}

bool AvroConnection::start_call(uint32_t serial, const std::string& message) {
    avro::Reader r(message);
    _call_handshake.clear();
    if (!_handshake.established) {
        avro::HandshakeRequest req;
        if (!avro::read_handshake_request(r, &req)) {
            broken("the handshake request does not decode");
            return false;
        }
        bool run = false;
        if (Status st = _handshake.answer(req, _src._learned, &_call_handshake, &run); !st) {
            broken(st.message());
            return false;
        }
        if (!run) {  // NONE: the handshake alone; the client sends the call again
            avro::put_handshake_only_pack(_replies, serial, _call_handshake);
            return true;
        }
    }
    avro::Method method;
    auto batch = std::make_shared<EventBatch>(16, message.size());
    std::string error;
    if (!avro::read_call(r, &method, batch.get(), &error)) {
        broken(error);
        return false;
    }
    if (method == avro::Method::ping) {
        avro::put_handshake_only_pack(_replies, serial, _call_handshake);
        return true;
    }
    auto& counters = _src._counters;
    unsigned shard = _src._shard.id();
    _is_batch = method == avro::Method::append_batch;
    counters.add(shard, _is_batch ? source_counter::append_batch_received : source_counter::append_received);
    counters.add(shard, source_counter::event_received, batch->size());
    batch->set_received_us(wall_clock_us());
    _batch = std::move(batch);
    _serial = serial;
    _progress.reset();
    _retry_us = retry_first_us;
    return true;
}

bool AvroConnection::commit_call() {
    auto& proc = _src._processor;
    auto& counters = _src._counters;
    unsigned shard = _src._shard.id();
    uint32_t n = _batch->size();
    if (n > proc.max_batch()) {
        // Flume's channel refuses a transaction beyond its capacity: FAILED.
        log_warn("avro source %s: an appendBatch of %u events exceeds the channels' transactionCapacity (%u); "
                 "replying FAILED",
                 _src._name.c_str(), n, proc.max_batch());
        counters.add(shard, source_counter::channel_write_fail);
        finish_call(avro::CallStatus::failed);
        return true;
    }
    Status st = n == 0 ? Status::ok() : proc.put(EventSpan{_batch, 0, n}, _progress);
    if (st) {
        counters.add(shard, _is_batch ? source_counter::append_batch_accepted : source_counter::append_accepted);
        counters.add(shard, source_counter::event_accepted, n);
        finish_call(avro::CallStatus::ok);
        return true;
    }
    if (st.code() == errc::channel_full) {
        int64_t now = monotonic_us();
        if (!_waiting) {
            _waiting = true;
            _wait_since_us = now;
        }
        int64_t keep_alive_us = _progress.failed ? _progress.failed->keep_alive_ms() * 1000 : 0;
        if (now - _wait_since_us < keep_alive_us) {
            flush_replies();
            update_reading();
            if (!_retry_timer) {
                _retry_timer = _src._shard.add_timer(_retry_us, [w = weak_from_this()] {
                    auto c = w.lock();
                    if (!c) return;
                    c->_retry_timer = 0;
                    if (c->_closing) return;
                    c->process();
                    c->update_reading();
                });
                _retry_us = std::min(_retry_us * 2, retry_max_us);
            }
            return false;
        }
    }
    log_warn("avro source %s: %s failed: %s", _src._name.c_str(), _is_batch ? "appendBatch" : "append",
             st.message().c_str());
    counters.add(shard, source_counter::channel_write_fail);
    finish_call(avro::CallStatus::failed);
    return true;
}

void AvroConnection::finish_call(avro::CallStatus status) {
    _batch.reset();
    _waiting = false;
    _progress.reset();
    // The reply waits until what was committed is durable; replies stay in call order.
    _src._processor.when_durable([w = weak_from_this(), serial = _serial, hs = std::move(_call_handshake), status] {
        auto c = w.lock();
        if (!c || c->_closing) return;
        c->queue_reply(serial, hs, status);
    });
    _call_handshake.clear();
}

void AvroConnection::queue_reply(uint32_t serial, const std::string& handshake, avro::CallStatus status) {
    avro::put_response_pack(_replies, serial, handshake, status);
    // Replies made inline (memory channel) go out with the rest of this read's;
    // later ones (durable channels) now.
    if (!_in_process || _replies.size() > max_unsent_reply_bytes) flush_replies();
    update_reading();
}

void AvroConnection::flush_replies() {
    if (_replies.empty() || !_sending.empty() || !_open || _closing) return;
    if (_deflater) {
        _deflater->write(_replies, _sending);
        _replies.clear();
    } else {
        _sending.swap(_replies);
    }
    _src._shard.reactor().send(_stream, _sending.data(), _sending.size());
}

void AvroConnection::on_sent(ssize_t result) {
    _sending.clear();
    if (result < 0) {
        _replies.clear();  // the client went away; what it was not told was not acknowledged
        close();
        return;
    }
    flush_replies();
    update_reading();
}

void AvroConnection::update_reading() {
    if (!_open || _closing) return;
    bool want_pause = _waiting || _replies.size() + _sending.size() > max_unsent_reply_bytes;
    if (want_pause && !_paused) _src._shard.reactor().pause_reading(_stream);
    if (!want_pause && _paused) _src._shard.reactor().resume_reading(_stream);
    _paused = want_pause;
}

void AvroConnection::broken(const std::string& why) {
    log_warn("avro source %s: closing the connection from %s: %s", _src._name.c_str(), peer_name(_fd).c_str(),
             why.c_str());
    _src._counters.add(_src._shard.id(), source_counter::event_read_fail);
    _batch.reset();
    _waiting = false;
    close();
}

void AvroConnection::close() {
    if (_closing || !_open) return;
    flush_replies();
    _closing = true;
    if (_retry_timer) _src._shard.cancel_timer(_retry_timer);
    _retry_timer = 0;
    _src._shard.reactor().close_stream(_stream);
}

void AvroConnection::on_closed() {
    _open = false;
    if (_retry_timer) _src._shard.cancel_timer(_retry_timer);
    _retry_timer = 0;
    _src.connection_closed(this);
}

}  // namespace

ComponentDescriptor avro_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "avro";
    d.aliases = {"org.apache.flume.source.AvroSource"};
    d.description =
        "Receives events over Flume's Avro RPC (append and appendBatch; docs/avro-rpc.md) from Flume's avro sink, "
        "RPC clients, or another sluice. Replies OK once the events are committed (on disk for a durable channel), "
        "FAILED when a channel refuses them.";
    d.keys = {
        {"bind", KeyType::string, "", true, "Host name or address to listen on."},
        {"port", KeyType::integer, "", true, "Port to listen on.", 1, 65535},
        {"threads", KeyType::integer, "0", false, "Accepted and ignored: every shard serves connections.", 0,
         INT32_MAX, {}, "Flume ignores it too (at HEAD); sluice serves on every shard."},
        {"compression-type", KeyType::choice, "none", false,
         "deflate: each direction of a connection is one zlib stream (the client must match).", INT64_MIN,
         INT64_MAX, {"none", "deflate"}},
        {"ipFilter", KeyType::boolean, "false", false, "Accept or refuse connections by ipFilterRules."},
        {"ipFilterRules", KeyType::string, "", false,
         "Comma list of allow|deny:ip|name:<glob>; the first rule that matches the peer decides, no match allows."},
        {"max-frame-size", KeyType::bytes, "67108864", false,
         "Largest request pack (after inflating); a larger one closes its connection (EventReadFail).", 1024,
         INT32_MAX, {}, "sluice only: Flume's limit is 10 % of the JVM heap."},
        {"ssl", KeyType::boolean, "false", false, "TLS: not supported by sluice (true is a configuration error)."},
        {"keystore", KeyType::string, "", false, "TLS key store: not supported."},
        {"keystore-password", KeyType::string, "", false, "TLS key store password: not supported."},
        {"keystore-type", KeyType::string, "JKS", false, "TLS key store type: not supported."},
        {"exclude-protocols", KeyType::string, "SSLv3", false, "TLS protocols: not supported."},
        {"include-protocols", KeyType::string, "", false, "TLS protocols: not supported."},
        {"exclude-cipher-suites", KeyType::string, "", false, "TLS cipher suites: not supported."},
        {"include-cipher-suites", KeyType::string, "", false, "TLS cipher suites: not supported."},
    };
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        if (s.get_bool("ssl")) problems.emplace_back("ssl", "TLS is not supported by sluice's avro source");
        if (s.get_bool("ipFilter")) {
            std::string rules = s.get_string("ipFilterRules");
            if (rules.find_first_not_of(" \t,") == std::string::npos)
                problems.emplace_back("ipFilterRules", "ipFilter is true but ipFilterRules is empty");
            else if (auto r = parse_ip_rules(rules); !r)
                problems.emplace_back("ipFilterRules", r.status().message());
        }
    };
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        avro_options o;
        const auto& s = ctx.settings;
        o.bind = s.get_string("bind");
        o.port = int(s.get_int("port"));
        std::string ct = s.get_string("compression-type");
        o.deflate = strcasecmp(ct.c_str(), "deflate") == 0;
        o.max_frame = size_t(s.get_int("max-frame-size"));
        o.ip_filter = s.get_bool("ipFilter");
        if (o.ip_filter) {
            auto rules = parse_ip_rules(s.get_string("ipFilterRules"));
            if (!rules) return rules.status();
            o.rules = std::move(rules.value());
        }
        return std::unique_ptr<Source>(new AvroSource(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
