// SPDX-License-Identifier: Apache-2.0
// The `netcat` source: Flume's NetcatSource (reference/flume.md §4.1) on the
// shard's reactor. Each shard listens on the same port (SO_REUSEPORT) and owns
// the connections the kernel hands it.
//
// Per connection, a read is copied once into an EventBatch and framed in
// place; its lines are committed in chunks of at most the channels'
// transactionCapacity, and the acks of a read go out in one send. When a
// channel has no room the connection stops reading (TCP pushes back on the
// client) and retries the event that did not fit, one at a time, for up to the
// channel's keep-alive; then it replies Flume's FAILED text for that event and
// goes on with the next, as Flume's one-transaction-per-line loop would.
//
// Replies leave in order, and an OK only once its events are durable
// (ChannelProcessor::when_durable): a reply waits in _held while an
// acknowledgement before it waits for the disk. With memory channels nothing
// ever waits there.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <utility>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"
#include "io/line_framer.h"
#include "io/net.h"

namespace sluice {

namespace {

enum class encoding { utf8, latin1, ascii };

struct netcat_options {
    std::string bind;
    int port = 0;
    bool ack_every_event = true;
    size_t max_line_length = 512;
    encoding enc = encoding::utf8;
    int64_t max_connections = 0;  // over all shards; 0: no limit
    int64_t idle_timeout_ms = 0;  // 0: never
};

// What the shards' instances of one netcat source share.
struct netcat_shared {
    std::atomic<int64_t> connections{0};
    std::atomic<int64_t> last_refusal_log_us{0};
};

// Acks waiting beyond this many bytes mean the client does not read them:
// stop reading its lines until it does.
constexpr size_t max_unsent_reply_bytes = 1 << 20;
constexpr int64_t retry_first_us = 500;
constexpr int64_t retry_max_us = 20000;

class NetcatSource;

class NetcatConnection final : public StreamHandler {
public:
    NetcatConnection(NetcatSource& src, int fd);
    Status open();
    void stop();  // the source is stopping: close (queued replies still go out)

    // How long the client has sent nothing (0 while the connection waits on us).
    int64_t idle_for_us(int64_t now) const { return _putter.waiting() ? 0 : now - _last_data_us; }

    void on_data(std::string_view data) override;
    void on_eof(int err) override;
    void on_sent(ssize_t result) override;
    void on_closed() override;

private:
    // Frames `held` then `text` as one stream of bytes (when the current
    // batch is done) and commits; returns when the input is used up, or the
    // connection waits (channel full), or closes. `held` may be _input.
    void process(std::string_view held, std::string_view text);
    void frame(std::string_view held, std::string_view text);
    void fail_too_long();
    void append_oks(uint32_t n);
    // Commits the pending lines [_putter.next(), _batch->size()).
    bool commit_pending();
    void start_waiting();
    void retry_commit();
    void reply(std::string_view text);
    // Releases the replies held so far once what was committed is durable.
    void release_when_durable();
    void release_held(uint64_t upto);
    void flush_replies();
    // Sends what is queued, then closes if a close waits, else reads on.
    void send_and_go_on();
    void close();
    void update_reading();
    std::string transcode(std::string_view line) const;

    NetcatSource& _src;
    int _fd;
    StreamId _stream = 0;
    bool _open = false, _eof = false, _closing = false, _too_long = false;
    int64_t _last_data_us = monotonic_us();
    bool _paused = false;

    std::string _input;  // bytes not yet framed (carry of a partial line, or input held while waiting)
    // Of a partial line held in _input: the bytes whose characters are counted, and that count.
    size_t _partial_bytes = 0, _partial_chars = 0;
    std::shared_ptr<EventBatch> _batch;  // lines framed from the current read
    SpanPutter _putter;                  // commits _batch; waiting() on a full channel
    int64_t _retry_us = retry_first_us;
    TimerId _retry_timer = 0;

    std::string _replies;  // queued, not yet handed to the reactor
    std::string _sending;  // handed to the reactor, until on_sent
    std::string _held;     // replies waiting for an acknowledgement to be durable
    uint64_t _held_total = 0, _held_released = 0;  // bytes ever put in _held / moved out of it
    // OKs appended since the last release_when_durable, and when the source
    // read the oldest of their events: the receipt-to-acknowledgement
    // latency recorded once they are released.
    uint64_t _oks_unregistered = 0;
    int64_t _oks_oldest_us = 0;
    bool _committing = false;          // inside commit_pending: releases only move bytes
    bool _close_pending = false;  // close() waits for held acknowledgements and a send in flight
    bool _send_deferred = false;  // released acknowledgements go out after the current handler
    // For callbacks that may outlive the connection (when_durable).
    std::shared_ptr<NetcatConnection*> _self = std::make_shared<NetcatConnection*>(this);
};

class NetcatSource final : public Source, public AcceptHandler {
public:
    NetcatSource(SourceContext& ctx, netcat_options opts)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(opts)), _shared(shared_component_state<netcat_shared>(ctx.settings)) {}
    ~NetcatSource() override {
        _shared->connections.fetch_sub(int64_t(_conns.size()));
        for (auto* c : _conns) delete c;
        if (_sweep_timer) _shard.cancel_timer(_sweep_timer);
    }

    Status start() override {
        auto fd = listen_tcp(_opts.bind, _opts.port, true);
        if (!fd) return Status(fd.status().code(), "netcat source " + _name + ": " + fd.status().message());
        _listen_fd = fd.value();
        auto id = _shard.reactor().add_listener(_listen_fd, this);
        if (!id) {
            ::close(_listen_fd);
            return id.status();
        }
        _listener = id.value();
        _listening = true;
        if (_shard.id() == 0) log_info("netcat source %s: listening on %s:%d", _name.c_str(), _opts.bind.c_str(), _opts.port);
        if (_opts.idle_timeout_ms > 0) arm_sweep();
        return Status::ok();
    }

    // Closes connections that sent nothing for idle-timeout (a slowloris
    // client holds a connection open without finishing a line). A connection
    // waiting for channel room is not idle: sluice is the one holding it.
    void arm_sweep() {
        int64_t every_us = std::max<int64_t>(_opts.idle_timeout_ms * 1000 / 4, 50000);
        _sweep_timer = _shard.add_timer(every_us, [this] {
            _sweep_timer = 0;
            int64_t now = monotonic_us();
            auto conns = _conns;
            for (auto* c : conns)
                if (c->idle_for_us(now) > _opts.idle_timeout_ms * 1000) {
                    log_info("netcat source %s: closing a connection idle for over %lld ms", _name.c_str(),
                             (long long)_opts.idle_timeout_ms);
                    c->stop();
                }
            if (_listening) arm_sweep();
        });
    }

    void stop(Task done) override {
        if (_listening) _shard.reactor().close_listener(_listener);
        _listening = false;
        _on_stopped = std::move(done);
        auto conns = _conns;
        for (auto* c : conns) c->stop();
        maybe_stopped();
    }

    void on_accept(int fd) override {
        // Replies are already coalesced per read; Nagle would only hold them
        // back until the client's delayed ACK (40 ms).
        if (_opts.max_connections > 0 && _shared->connections.fetch_add(1) >= _opts.max_connections) {
            _shared->connections.fetch_sub(1);
            int64_t now = monotonic_us(), last = _shared->last_refusal_log_us.load();
            if (now - last > 10000000 && _shared->last_refusal_log_us.compare_exchange_strong(last, now))
                log_warn("netcat source %s: max-connections (%lld) reached; refusing connections", _name.c_str(),
                         (long long)_opts.max_connections);
            ::close(fd);
            return;
        }
        if (_opts.max_connections <= 0) _shared->connections.fetch_add(1);
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        auto* c = new NetcatConnection(*this, fd);
        if (Status st = c->open(); !st) {
            log_warn("netcat source %s: %s", _name.c_str(), st.message().c_str());
            ::close(fd);
            delete c;
            _shared->connections.fetch_sub(1);
            return;
        }
        _conns.insert(c);
        _counters.set(_shard.id(), source_counter::open_connection_count, _conns.size());
        if (!_listening) c->stop();
    }

    void on_accept_error(int err) override {
        log_error("netcat source %s: accept failed: %s", _name.c_str(), strerror(err));
    }

    void connection_closed(NetcatConnection* c) {
        _conns.erase(c);
        _shared->connections.fetch_sub(1);
        _counters.set(_shard.id(), source_counter::open_connection_count, _conns.size());
        _shard.defer([c] { delete c; });
        maybe_stopped();
    }

private:
    friend class NetcatConnection;
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
    netcat_options _opts;
    int _listen_fd = -1;
    ListenerId _listener = 0;
    bool _listening = false;
    std::unordered_set<NetcatConnection*> _conns;
    Task _on_stopped;
    std::shared_ptr<netcat_shared> _shared;
    TimerId _sweep_timer = 0;
};

NetcatConnection::NetcatConnection(NetcatSource& src, int fd) : _src(src), _fd(fd) {}

Status NetcatConnection::open() {
    auto id = _src._shard.reactor().add_stream(_fd, this);
    if (!id) return id.status();
    _stream = id.value();
    _open = true;
    return Status::ok();
}

void NetcatConnection::on_data(std::string_view data) {
    _last_data_us = monotonic_us();
    if (_closing || _too_long) return;
    if (!_putter.waiting() && !_input.empty() && !std::memchr(data.data(), '\n', data.size())) {
        // The held partial line only grows: count the new bytes, not the
        // whole line again (a long line under a large limit stays linear).
        _input.append(data);
        if (_input.size() >= _src._opts.max_line_length) {
            size_t counted = 0;
            _partial_chars += java_char_count(std::string_view(_input).substr(_partial_bytes), true, &counted);
            _partial_bytes += counted;
            if (_partial_chars >= _src._opts.max_line_length) {
                _too_long = true;
                _input.clear();
                fail_too_long();
                return;
            }
        }
        update_reading();
        return;
    }
    if (_putter.waiting()) {
        _input.append(data);  // framed once the commit goes through
    } else {
        process(_input, data);  // the common case: a partial line from the last read, then this read
    }
    update_reading();
}

void NetcatConnection::on_eof(int err) {
    if (err != 0) log_debug("netcat source %s: connection error: %s", _src._name.c_str(), strerror(err));
    _eof = true;
    // Bytes after the last newline are discarded (Flume does the same).
    if (!_putter.waiting()) close();
}

void NetcatConnection::stop() {
    if (_retry_timer) _src._shard.cancel_timer(_retry_timer);
    _retry_timer = 0;
    _putter.cancel_wait();
    close();
}

void NetcatConnection::frame(std::string_view held, std::string_view read) {
    const auto& o = _src._opts;
    const size_t n = held.size() + read.size();
    // Lines of one read live in one batch: the arena is written once (the
    // held partial line, then the read, so that a line across reads is
    // copied once too) and the events point into it.
    _batch = std::make_shared<EventBatch>(n / 64 + 16, n);
    _batch->set_received_us(wall_clock_us());
    _putter.restart();
    auto* batch = _batch.get();
    FrameResult fr;
    std::string joined;  // transcoding: the raw bytes stay out of the arena
    std::string_view text;
    if (o.enc == encoding::utf8) {
        uint32_t base = batch->append_bytes(held);
        batch->append_bytes(read);
        text = std::string_view(batch->arena_data() + base, n);  // add_at adds no bytes: stays valid
        fr = frame_lines(text, o.max_line_length, [&](size_t off, size_t len) {
            batch->add_at(base + uint32_t(off), uint32_t(len));
            return true;
        });
    } else {
        joined.reserve(n);
        joined.append(held).append(read);
        text = joined;
        fr = frame_lines(text, o.max_line_length, [&](size_t off, size_t len) {
            batch->add(transcode(text.substr(off, len)));
            return true;
        });
    }
    _too_long = fr.too_long;
    // What is left is a partial line (kept for the next read), or, after a
    // line that is too long, the rest of the data (discarded).
    std::string rest(_too_long ? std::string_view() : text.substr(fr.consumed));
    _input = std::move(rest);
    _partial_bytes = _partial_chars = 0;
    _src._counters.add(_src._shard.id(), source_counter::event_received, _batch->size());
}

void NetcatConnection::process(std::string_view held, std::string_view text) {
    if (!(held.empty() && text.empty()) && !_closing && !_putter.waiting() && (!_batch || _putter.next() == _batch->size()))
        frame(held, text);
    if (!_batch) return;
    while (!_putter.waiting() && !_closing) {
        if (_putter.next() < _batch->size()) {
            if (!commit_pending()) break;
            continue;
        }
        if (_too_long) {
            fail_too_long();
            return;
        }
        // Input held while waiting may hold further complete lines.
        if (_input.empty() || _input.find('\n') == std::string::npos) {
            if (_input.size() < _src._opts.max_line_length) break;
        }
        std::string held = std::move(_input);
        _input.clear();
        frame(held, {});
        if (_batch->empty() && !_too_long) break;
    }
    flush_replies();
    if (_eof && !_putter.waiting() && !_closing) close();
}

bool NetcatConnection::commit_pending() {
    auto& proc = _src._processor;
    unsigned shard = _src._shard.id();
    _committing = true;
    struct done_committing {
        NetcatConnection* c;
        ~done_committing() {
            c->release_when_durable();  // inline, this only moves bytes: process() sends
            c->_committing = false;
        }
    } guard{this};
    while (_putter.next() < _batch->size()) {
        SpanPutter::Step step = _putter.put(proc, _batch, proc.max_batch());
        switch (step.outcome) {
        case SpanPutter::Outcome::committed:
            _retry_us = retry_first_us;
            _src._counters.add(shard, source_counter::event_accepted, step.events);
            if (_src._opts.ack_every_event) append_oks(step.events);
            if (_held.size() > max_unsent_reply_bytes) {
                release_when_durable();
                flush_replies();
            }
            break;
        case SpanPutter::Outcome::wait:
            start_waiting();
            return false;
        case SpanPutter::Outcome::gave_up:
            // Flume replies FAILED whatever ack-every-event says, and goes on.
            _src._counters.add(shard, source_counter::channel_write_fail, step.events);
            for (uint32_t i = 0; i < step.events; i++) reply("FAILED: " + step.status.message() + "\n");
            break;
        }
    }
    return true;
}

// Flume: the line does not fit its buffer: say so, always, and close.
void NetcatConnection::fail_too_long() {
    reply("FAILED: Event exceeds the maximum length (" + std::to_string(_src._opts.max_line_length) +
          " chars, including newline)\n");
    _src._counters.add(_src._shard.id(), source_counter::event_read_fail);
    close();
}

void NetcatConnection::append_oks(uint32_t n) {
    if (_oks_unregistered == 0) _oks_oldest_us = _batch->received_us();
    _oks_unregistered += n;
    static const std::string oks = [] {
        std::string s;
        for (int i = 0; i < 1024; i++) s += "OK\n";
        return s;
    }();
    for (uint32_t left = n; left > 0;) {
        uint32_t k = std::min<uint32_t>(left, 1024);
        _held.append(oks.data(), size_t(k) * 3);
        _held_total += size_t(k) * 3;
        left -= k;
    }
}

void NetcatConnection::start_waiting() {
    flush_replies();  // acks for what did fit go out now
    update_reading();
    if (_retry_timer) return;
    _retry_timer = _src._shard.add_timer(_retry_us, [this] {
        _retry_timer = 0;
        retry_commit();
    });
    _retry_us = std::min(_retry_us * 2, retry_max_us);
}

void NetcatConnection::retry_commit() {
    if (_closing) return;
    if (commit_pending()) {
        process({}, {});
        update_reading();
    }
}

void NetcatConnection::reply(std::string_view text) {
    _held.append(text);
    _held_total += text.size();
    if (!_committing) release_when_durable();
}

void NetcatConnection::release_when_durable() {
    if (_held_total == _held_released) return;
    std::weak_ptr<NetcatConnection*> self = _self;
    const uint64_t oks = std::exchange(_oks_unregistered, 0);
    _src._processor.when_durable([self, upto = _held_total, oks, oldest = _oks_oldest_us] {
        auto c = self.lock();
        if (!c) return;
        // All `oks` are counted at the oldest one's latency: an upper bound.
        if (oks > 0) (*c)->_src._counters.record_latency((*c)->_src._shard.id(), wall_clock_us() - oldest, oks);
        (*c)->release_held(upto);
    });
}

void NetcatConnection::release_held(uint64_t upto) {
    if (upto <= _held_released) return;
    size_t n = size_t(upto - _held_released);
    if (n == _held.size() && _replies.empty()) {
        _replies.swap(_held);
        _held.clear();
    } else {
        _replies.append(_held, 0, n);
        _held.erase(0, n);
    }
    _held_released = upto;
    if (_committing) return;  // inline (nothing to wait for): commit_pending's caller sends
    // Later, from the channel's sync, which releases every commit it covered
    // in one go: send once they all are, so that the acknowledgements of
    // several reads leave in one send rather than one now and the rest after it.
    if (_send_deferred) return;
    _send_deferred = true;
    std::weak_ptr<NetcatConnection*> self = _self;
    _src._shard.defer([self] {
        auto c = self.lock();
        if (!c) return;
        (*c)->_send_deferred = false;
        (*c)->send_and_go_on();
    });
}

void NetcatConnection::send_and_go_on() {
    flush_replies();
    if (_close_pending)
        close();
    else
        update_reading();
}

void NetcatConnection::flush_replies() {
    if (_replies.empty() || !_sending.empty() || !_open) return;
    _sending.swap(_replies);
    _src._shard.reactor().send(_stream, _sending.data(), _sending.size());
}

void NetcatConnection::on_sent(ssize_t result) {
    _sending.clear();
    if (result < 0) {
        // The client went away; what it was not told was not acknowledged.
        _replies.clear();
        _held.clear();
        _held_released = _held_total;
        close();
        return;
    }
    send_and_go_on();
}

void NetcatConnection::update_reading() {
    if (!_open || _closing) return;
    bool want_pause = _close_pending || _putter.waiting() || _replies.size() + _sending.size() + _held.size() > max_unsent_reply_bytes;
    if (want_pause && !_paused) _src._shard.reactor().pause_reading(_stream);
    if (!want_pause && _paused) _src._shard.reactor().resume_reading(_stream);
    _paused = want_pause;
}

void NetcatConnection::close() {
    if (_closing || !_open) return;
    if (!_held.empty() || (!_sending.empty() && !_replies.empty())) {
        // Replies are still to come (acknowledgements from the disk) or to
        // be handed over (behind a send in flight): close after them.
        _close_pending = true;
        if (!_paused) _src._shard.reactor().pause_reading(_stream);
        _paused = true;
        return;
    }
    _close_pending = false;
    flush_replies();
    _closing = true;
    _src._shard.reactor().close_stream(_stream);
}

void NetcatConnection::on_closed() {
    _open = false;
    if (_retry_timer) _src._shard.cancel_timer(_retry_timer);
    _retry_timer = 0;
    _src.connection_closed(this);
}

std::string NetcatConnection::transcode(std::string_view line) const {
    // Decode with the configured single-byte charset, store as UTF-8 (Flume
    // re-encodes every body as UTF-8). Bytes a charset cannot map become U+FFFD.
    std::string out;
    out.reserve(line.size());
    for (unsigned char c : line) {
        if (c < 0x80) {
            out += char(c);
        } else if (_src._opts.enc == encoding::latin1) {
            out += char(0xC0 | (c >> 6));
            out += char(0x80 | (c & 0x3F));
        } else {
            out += "\xEF\xBF\xBD";
        }
    }
    return out;
}

}  // namespace

ComponentDescriptor netcat_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "netcat";
    d.aliases = {"org.apache.flume.source.NetcatSource"};
    d.description =
        "Reads newline-terminated lines from TCP connections; each line is one event. Replies OK per event, and "
        "Flume's FAILED texts when a line is too long (then closes) or the channel has no room.";
    d.keys = {
        {"bind", KeyType::string, "", true, "Host name or address to listen on."},
        {"port", KeyType::integer, "", true, "Port to listen on.", 1, 65535},
        {"ack-every-event", KeyType::boolean, "true", false, "Reply OK for every event accepted."},
        {"max-line-length", KeyType::integer, "512", false,
         "Longest line, in characters including the newline (a line may hold max-line-length - 1 characters).", 2,
         1 << 24},
        {"encoding", KeyType::choice, "utf-8", false,
         "Character set of the input; bodies are stored as UTF-8.", INT64_MIN, INT64_MAX,
         {"utf-8", "iso-8859-1", "us-ascii"},
         "Flume closes the connection on bytes that are not valid in the encoding; sluice keeps them as they came "
         "(nothing is lost) and counts each such byte as one character. Only these three charsets are supported."},
        {"max-connections", KeyType::integer, "0", false,
         "Most connections open at once (all shards together); more are closed as they arrive. 0: no limit.", 0,
         INT64_MAX, {}, "sluice only: Flume has no limit (a thread per connection)."},
        {"idle-timeout", KeyType::duration_s, "0", false,
         "Close a connection that sends nothing for this long (seconds, or 500ms); 0: never. A connection waiting "
         "for channel room is not idle.",
         INT64_MIN, INT64_MAX, {}, "sluice only: Flume keeps idle connections forever."},
    };
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        netcat_options o;
        const auto& s = ctx.settings;
        o.bind = s.get_string("bind");
        o.port = int(s.get_int("port"));
        o.ack_every_event = s.get_bool("ack-every-event");
        o.max_line_length = size_t(s.get_int("max-line-length"));
        std::string e = s.get_string("encoding");
        for (auto& ch : e) ch = char(tolower(static_cast<unsigned char>(ch)));
        o.enc = e == "iso-8859-1" ? encoding::latin1 : e == "us-ascii" ? encoding::ascii : encoding::utf8;
        o.max_connections = s.get_int("max-connections");
        o.idle_timeout_ms = s.get_duration_ms("idle-timeout");
        return std::unique_ptr<Source>(new NetcatSource(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
