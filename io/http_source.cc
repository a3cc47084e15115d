// SPDX-License-Identifier: Apache-2.0
// The `http` source: Flume's HTTPSource with the JSONHandler (reference/flume.md
// §6, docs/syslog.md §4) on the shard reactors. Each shard listens on the same
// port (SO_REUSEPORT). Per connection one request is handled at a time: the
// connection stops reading while its request is committed and answered, so a
// client that pipelines is answered in order and a full channel pushes back.
// All events of a request go into each required channel in one transaction;
// 200 is sent only from the processor's when_durable callback.
#include "io/http_source.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <unordered_set>
#include <vector>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"
#include "io/http_parser.h"
#include "io/net.h"

namespace sluice {

// ------------------------------------------------------------ JSON handler

namespace {

constexpr int max_json_depth = 64;

class json_reader {
public:
    explicit json_reader(std::string_view s) : _s(s) {}

    void ws() {
        while (_p < _s.size() && (_s[_p] == ' ' || _s[_p] == '\t' || _s[_p] == '\n' || _s[_p] == '\r')) _p++;
    }
    bool at_end() {
        ws();
        return _p >= _s.size();
    }
    char peek() {
        ws();
        return _p < _s.size() ? _s[_p] : '\0';
    }
    bool eat(char c) {
        if (peek() != c) return false;
        _p++;
        return true;
    }
    bool literal(std::string_view word) {
        ws();
        if (_s.substr(_p, word.size()) != word) return false;
        _p += word.size();
        return true;
    }

    // A JSON string; appends its decoded UTF-8 to out.
    bool string(std::string& out) {
        if (!eat('"')) return false;
        for (;;) {
            if (_p >= _s.size()) return false;
            char c = _s[_p++];
            if (c == '"') return true;
            if (c != '\\') {
                out += c;  // raw control characters are taken as they are (Gson does)
                continue;
            }
            if (_p >= _s.size()) return false;
            char e = _s[_p++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                uint32_t cp;
                if (!hex4(&cp)) return false;
                if (cp >= 0xD800 && cp <= 0xDBFF && _p + 6 <= _s.size() && _s[_p] == '\\' && _s[_p + 1] == 'u') {
                    size_t save = _p;
                    _p += 2;
                    uint32_t lo;
                    if (!hex4(&lo)) return false;
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        put_utf8(out, 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00));
                        break;
                    }
                    _p = save;
                }
                // A lone surrogate: Java's UTF-8 encoder writes '?'.
                if (cp >= 0xD800 && cp <= 0xDFFF) out += '?';
                else put_utf8(out, cp);
                break;
            }
            default: return false;
            }
        }
    }

    // A JSON number; its text as written.
    bool number(std::string& out) {
        ws();
        size_t b = _p;
        if (_p < _s.size() && _s[_p] == '-') _p++;
        if (_p >= _s.size()) return false;
        if (_s[_p] == '0') {
            _p++;
        } else if (_s[_p] >= '1' && _s[_p] <= '9') {
            while (_p < _s.size() && isdigit(static_cast<unsigned char>(_s[_p]))) _p++;
        } else {
            return false;
        }
        if (_p < _s.size() && _s[_p] == '.') {
            _p++;
            if (_p >= _s.size() || !isdigit(static_cast<unsigned char>(_s[_p]))) return false;
            while (_p < _s.size() && isdigit(static_cast<unsigned char>(_s[_p]))) _p++;
        }
        if (_p < _s.size() && (_s[_p] == 'e' || _s[_p] == 'E')) {
            _p++;
            if (_p < _s.size() && (_s[_p] == '+' || _s[_p] == '-')) _p++;
            if (_p >= _s.size() || !isdigit(static_cast<unsigned char>(_s[_p]))) return false;
            while (_p < _s.size() && isdigit(static_cast<unsigned char>(_s[_p]))) _p++;
        }
        out.assign(_s.substr(b, _p - b));
        return true;
    }

    // A scalar read as Gson's String adapter does: string, number, or
    // boolean as text; null → *is_null. Objects and arrays are errors.
    bool scalar_text(std::string& out, bool* is_null) {
        *is_null = false;
        out.clear();
        char c = peek();
        if (c == '"') return string(out);
        if (c == 'n') return *is_null = literal("null");
        if (c == 't') return literal("true") && (out = "true", true);
        if (c == 'f') return literal("false") && (out = "false", true);
        return number(out);
    }

    // Any value, skipped.
    bool skip(int depth) {
        if (depth > max_json_depth) return false;
        char c = peek();
        std::string tmp;
        bool is_null;
        if (c == '{') {
            _p++;
            if (eat('}')) return true;
            do {
                tmp.clear();
                if (!string(tmp) || !eat(':') || !skip(depth + 1)) return false;
            } while (eat(','));
            return eat('}');
        }
        if (c == '[') {
            _p++;
            if (eat(']')) return true;
            do {
                if (!skip(depth + 1)) return false;
            } while (eat(','));
            return eat(']');
        }
        return scalar_text(tmp, &is_null);
    }

private:
    bool hex4(uint32_t* cp) {
        if (_p + 4 > _s.size()) return false;
        uint32_t v = 0;
        for (int i = 0; i < 4; i++) {
            char h = _s[_p++];
            int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
            if (d < 0) return false;
            v = v * 16 + uint32_t(d);
        }
        *cp = v;
        return true;
    }
    static void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    std::string_view _s;
    size_t _p = 0;
};

}  // namespace

json_events_result parse_json_events(std::string_view body, EventBatch& out, std::string* why) {
    json_reader r(body);
    auto syntax = [&](const char* what) {
        *why = what;
        return json_events_result::bad_syntax;
    };
    if (r.at_end()) {
        *why = "empty request body (no event list)";
        return json_events_result::unexpected;
    }
    if (r.peek() == 'n' && r.literal("null")) {
        if (!r.at_end()) return syntax("data after the event list");
        *why = "the event list is null";
        return json_events_result::unexpected;
    }
    if (!r.eat('[')) return syntax("expected an array of events");
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body_text, key, value;
    bool first = true;
    bool null_element = false;
    while (!r.eat(']')) {
        if (!first && !r.eat(',')) return syntax("expected ',' or ']' in the event list");
        first = false;
        if (r.peek() == 'n') {
            if (!r.literal("null")) return syntax("malformed value");
            null_element = true;
            continue;
        }
        if (!r.eat('{')) return syntax("expected an event object");
        headers.clear();
        body_text.clear();
        bool first_member = true;
        while (!r.eat('}')) {
            if (!first_member && !r.eat(',')) return syntax("expected ',' or '}' in an event");
            first_member = false;
            key.clear();
            if (!r.string(key) || !r.eat(':')) return syntax("expected a member name");
            if (key == "headers") {
                headers.clear();
                if (r.peek() == 'n') {
                    if (!r.literal("null")) return syntax("malformed value");
                    continue;
                }
                if (!r.eat('{')) return syntax("headers must be an object");
                bool first_header = true;
                while (!r.eat('}')) {
                    if (!first_header && !r.eat(',')) return syntax("expected ',' or '}' in headers");
                    first_header = false;
                    std::string hk;
                    bool is_null;
                    if (!r.string(hk) || !r.eat(':') || !r.scalar_text(value, &is_null))
                        return syntax("malformed header");
                    for (const auto& h : headers)
                        if (h.first == hk) return syntax("duplicate header name");
                    if (!is_null) headers.emplace_back(std::move(hk), value);
                }
            } else if (key == "body") {
                bool is_null;
                if (!r.scalar_text(body_text, &is_null)) return syntax("body must be a string");
                if (is_null) body_text.clear();
            } else if (!r.skip(0)) {
                return syntax("malformed value");
            }
        }
        out.add(body_text);
        for (const auto& [k, v] : headers) out.add_header(k, v);
    }
    if (!r.at_end()) return syntax("data after the event list");
    if (null_element) {
        *why = "a null event in the list";
        return json_events_result::unexpected;
    }
    return json_events_result::ok;
}

// ------------------------------------------------------------ the source

namespace {

constexpr const char* json_handler_class = "org.apache.flume.source.http.JSONHandler";
constexpr int64_t retry_first_us = 500;
constexpr int64_t retry_max_us = 20000;

struct http_options {
    std::string bind;
    int port = 0;
    HttpLimits limits;
};

class HttpSource;

class HttpSourceConnection final : public StreamHandler {
public:
    HttpSourceConnection(HttpSource& src, int fd) : _src(src), _fd(fd), _parser(limits()) {}
    ~HttpSourceConnection() override { *_alive = false; }
    Status open();
    void stop();
    void on_data(std::string_view data) override;
    void on_eof(int err) override;
    void on_sent(ssize_t result) override;
    void on_closed() override;

private:
    HttpLimits limits() const;
    void process();
    void handle(const HttpRequest& req);
    void try_commit();
    void respond(int code, std::string_view message, bool close);
    void send_next();
    void update_reading();
    void close();

    HttpSource& _src;
    int _fd;
    StreamId _stream = 0;
    HttpRequestParser _parser;
    bool _open = false, _closing = false, _eof = false, _paused = false;
    bool _busy = false;  // a request is being handled; the next waits
    bool _close_after = false;
    std::shared_ptr<bool> _alive = std::make_shared<bool>(true);

    std::shared_ptr<EventBatch> _batch;
    ChannelProcessor::Progress _progress;
    int64_t _wait_since_us = 0, _retry_us = retry_first_us;
    TimerId _retry_timer = 0;

    struct out_message {
        std::string bytes;
        bool final;  // the answer of the current request (not a 100 Continue)
    };
    std::deque<out_message> _out;
    bool _sending = false;
};

class HttpSource final : public Source, public AcceptHandler {
public:
    HttpSource(SourceContext& ctx, http_options opts)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _channels(ctx.channels),
          _name(ctx.settings.name()), _opts(std::move(opts)) {}
    ~HttpSource() override {
        for (auto* c : _conns) delete c;
    }

    Status start() override {
        auto fd = listen_tcp(_opts.bind.empty() ? "0.0.0.0" : _opts.bind, _opts.port, true);
        if (!fd) return Status(fd.status().code(), "http source " + _name + ": " + fd.status().message());
        auto id = _shard.reactor().add_listener(fd.value(), this);
        if (!id) {
            ::close(fd.value());
            return id.status();
        }
        _listener = id.value();
        _listening = true;
        if (_shard.id() == 0) log_info("http source %s: listening on %s:%d", _name.c_str(), _opts.bind.c_str(), _opts.port);
        return Status::ok();
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
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        auto* c = new HttpSourceConnection(*this, fd);
        if (Status st = c->open(); !st) {
            log_warn("http source %s: %s", _name.c_str(), st.message().c_str());
            ::close(fd);
            delete c;
            return;
        }
        _conns.insert(c);
        _counters.set(_shard.id(), source_counter::open_connection_count, _conns.size());
        if (!_listening) c->stop();
    }
    void on_accept_error(int err) override { log_error("http source %s: accept failed: %s", _name.c_str(), strerror(err)); }

    void connection_closed(HttpSourceConnection* c) {
        _conns.erase(c);
        _counters.set(_shard.id(), source_counter::open_connection_count, _conns.size());
        _shard.defer([c] { delete c; });
        maybe_stopped();
    }

private:
    friend class HttpSourceConnection;
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
    std::vector<Channel*> _channels;
    std::string _name;
    http_options _opts;
    ListenerId _listener = 0;
    bool _listening = false;
    std::unordered_set<HttpSourceConnection*> _conns;
    Task _on_stopped;
};

HttpLimits HttpSourceConnection::limits() const { return _src._opts.limits; }

Status HttpSourceConnection::open() {
    auto id = _src._shard.reactor().add_stream(_fd, this);
    if (!id) return id.status();
    _stream = id.value();
    _open = true;
    return Status::ok();
}

void HttpSourceConnection::on_data(std::string_view data) {
    if (_closing) return;
    _parser.append(data);
    if (!_busy) process();
    update_reading();
}

void HttpSourceConnection::process() {
    while (!_busy && !_closing) {
        auto r = _parser.parse();
        if (_parser.wants_continue()) {
            _parser.continue_sent();
            _out.push_back({"HTTP/1.1 100 Continue\r\n\r\n", false});
            send_next();
        }
        if (r == HttpRequestParser::result::need_more) {
            if (_eof) close();
            return;
        }
        _busy = true;
        if (r == HttpRequestParser::result::error) {
            int code = _parser.error_status();
            if (code == 413 || code == 431)
                log_warn("http source %s: %s from %s: %s", _src._name.c_str(), code == 413 ? "413" : "431",
                         peer_name(_fd).c_str(), _parser.error_reason().c_str());
            _src._counters.add(_src._shard.id(), source_counter::event_read_fail);
            respond(code, _parser.error_reason(), true);
            return;
        }
        handle(_parser.request());
    }
}

void HttpSourceConnection::handle(const HttpRequest& req) {
    _close_after = !req.keep_alive;
    std::string method = req.method;
    for (auto& ch : method) ch = char(toupper(static_cast<unsigned char>(ch)));
    if (method == "TRACE" || method == "OPTIONS") {
        respond(403, "Forbidden", _close_after);
        return;
    }
    unsigned shard = _src._shard.id();
    // Charset: Content-Type's charset parameter; absent → UTF-8.
    if (const std::string* ct = req.header("Content-Type")) {
        std::string lower;
        for (char c : *ct) lower += char(tolower(static_cast<unsigned char>(c)));
        size_t at = lower.find("charset=");
        if (at != std::string::npos) {
            std::string cs = lower.substr(at + 8);
            cs = cs.substr(0, cs.find_first_of("; \t"));
            if (!cs.empty() && cs.front() == '"') cs.erase(0, 1);
            if (!cs.empty() && cs.back() == '"') cs.pop_back();
            if (cs != "utf-8" && cs != "utf8") {
                _src._counters.add(shard, source_counter::event_read_fail);
                respond(500, "Deserializer threw unexpected exception. charset " + cs + " is not supported (UTF-8 only)",
                        _close_after);
                return;
            }
        }
    }
    _batch = std::make_shared<EventBatch>(16, req.body.size());
    _batch->set_received_us(wall_clock_us());
    std::string why;
    auto jr = parse_json_events(req.body, *_batch, &why);
    if (jr != json_events_result::ok) {
        _batch.reset();
        _src._counters.add(shard, source_counter::event_read_fail);
        if (jr == json_events_result::bad_syntax) {
            log_debug("http source %s: bad JSON: %s", _src._name.c_str(), why.c_str());
            respond(400, "Bad request from client. Request has invalid JSON Syntax.", _close_after);
        } else {
            respond(500, "Deserializer threw unexpected exception. " + why, _close_after);
        }
        return;
    }
    _src._counters.add(shard, source_counter::append_batch_received);
    _src._counters.add(shard, source_counter::event_received, _batch->size());
    _progress.reset();
    _wait_since_us = monotonic_us();
    _retry_us = retry_first_us;
    // More events than a channel's transaction may hold: that channel's own
    // refusal, as Flume's put would give it.
    if (_batch->size() > _src._processor.max_batch()) {
        std::string message;
        for (Channel* ch : _src._channels) {
            if (_batch->size() <= ch->transaction_capacity()) continue;
            auto tx = ch->begin_put(shard);
            Status st = tx->put(EventSpan{_batch, 0, _batch->size()});
            tx->rollback();
            message = st ? "transaction capacity exceeded" : st.message();
            break;
        }
        _batch.reset();
        _src._counters.add(shard, source_counter::channel_write_fail);
        respond(503, "Error appending event to channel. Channel might be full." + message, _close_after);
        return;
    }
    try_commit();
}

void HttpSourceConnection::try_commit() {
    unsigned shard = _src._shard.id();
    Status st = _batch->empty() ? Status::ok()
                                : _src._processor.put(EventSpan{_batch, 0, _batch->size()}, _progress);
    if (st) {
        uint32_t n = _batch->size();
        _batch.reset();
        _src._counters.add(shard, source_counter::append_batch_accepted);
        _src._counters.add(shard, source_counter::event_accepted, n);
        // 200 only once the commit is durable (DESIGN §4).
        auto alive = _alive;
        _src._processor.when_durable([this, alive] {
            if (*alive && !_closing) respond(200, "", _close_after);
        });
        return;
    }
    if (st.code() == errc::channel_full) {
        int64_t keep_alive_us = _progress.failed ? _progress.failed->keep_alive_ms() * 1000 : 0;
        if (monotonic_us() - _wait_since_us < keep_alive_us) {
            _retry_timer = _src._shard.add_timer(_retry_us, [this] {
                _retry_timer = 0;
                if (!_closing) try_commit();
            });
            _retry_us = std::min(_retry_us * 2, retry_max_us);
            return;
        }
        _batch.reset();
        _src._counters.add(shard, source_counter::channel_write_fail);
        respond(503, "Error appending event to channel. Channel might be full." + st.message(), _close_after);
        return;
    }
    _batch.reset();
    _src._counters.add(shard, source_counter::generic_processing_fail);
    respond(500, "Unexpected error while appending event to channel. " + st.message(), _close_after);
}

std::string html_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        default: out += c;
        }
    }
    return out;
}

void HttpSourceConnection::respond(int code, std::string_view message, bool close) {
    std::string body;
    if (code >= 400) {
        // Jetty's sendError page, in short.
        std::string m = html_escape(message);
        body = "<html>\n<head>\n<title>Error " + std::to_string(code) + " " + m + "</title>\n</head>\n<body><h2>HTTP ERROR " +
               std::to_string(code) + "</h2>\n<p>" + m + "</p>\n</body>\n</html>\n";
    }
    _close_after = close;
    std::string bytes = http_response_head(code, code >= 400 ? "text/html;charset=utf-8" : "", body.size(), close) + body;
    _out.push_back({std::move(bytes), true});
    send_next();
}

void HttpSourceConnection::send_next() {
    if (_sending || _out.empty() || !_open || _closing) return;
    _sending = true;
    _src._shard.reactor().send(_stream, _out.front().bytes.data(), _out.front().bytes.size());
}

void HttpSourceConnection::on_sent(ssize_t result) {
    _sending = false;
    bool final = !_out.empty() && _out.front().final;
    if (!_out.empty()) _out.pop_front();
    if (result < 0) {
        _out.clear();
        close();
        return;
    }
    if (final) {
        if (_close_after) {
            close();
            return;
        }
        _busy = false;
        _parser.next();
        send_next();
        process();
        update_reading();
        return;
    }
    send_next();
}

void HttpSourceConnection::update_reading() {
    if (!_open || _closing) return;
    // While a request is handled, read no more (pipelined requests wait in
    // the socket: the client is pushed back, and memory stays bounded).
    bool want_pause = _busy || _eof;
    if (want_pause && !_paused) _src._shard.reactor().pause_reading(_stream);
    if (!want_pause && _paused) _src._shard.reactor().resume_reading(_stream);
    _paused = want_pause;
}

void HttpSourceConnection::on_eof(int) {
    _eof = true;
    // A request in progress still gets its answer; then the connection closes.
    if (!_busy) close();
}

void HttpSourceConnection::stop() {
    if (_retry_timer) _src._shard.cancel_timer(_retry_timer);
    _retry_timer = 0;
    close();
}

void HttpSourceConnection::close() {
    if (_closing || !_open) return;
    _closing = true;
    _src._shard.reactor().close_stream(_stream);
}

void HttpSourceConnection::on_closed() {
    _open = false;
    *_alive = false;
    if (_retry_timer) _src._shard.cancel_timer(_retry_timer);
    _retry_timer = 0;
    _src.connection_closed(this);
}

}  // namespace

ComponentDescriptor http_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "http";
    d.aliases = {"org.apache.flume.source.http.HTTPSource"};
    d.description =
        "Accepts events over HTTP/1.1 (POST or GET on any path) as Flume's JSONHandler list "
        "[{\"headers\":{...},\"body\":\"...\"}]; replies 200 after the commit, 400 on malformed JSON, 503 when the "
        "channel is full (docs/syslog.md §4).";
    d.keys = {
        {"bind", KeyType::string, "0.0.0.0", false, "Address to listen on."},
        {"port", KeyType::integer, "", true, "Port to listen on.", 1, 65535},
        {"handler", KeyType::string, json_handler_class, false,
         "The handler class; only org.apache.flume.source.http.JSONHandler is supported.", INT64_MIN, INT64_MAX, {},
         "Flume loads any HTTPSourceHandler class; sluice has the JSON handler only (BlobHandler is refused)."},
        {"handler.", KeyType::prefix, "", false, "Handler settings (the JSON handler takes none)."},
        {"max-header-bytes", KeyType::bytes, "16384", false,
         "Longest request line plus headers; longer requests get 431 and the connection closes.", 256, 1 << 24, {},
         "sluice only (Jetty's default is 8 KiB)."},
        {"max-body-bytes", KeyType::bytes, "16777216", false,
         "Largest request body; larger requests get 413 and the connection closes.", 1, int64_t(1) << 31, {},
         "sluice only: Flume has no limit."},
        {"ssl", KeyType::boolean, "false", false, "SSL is not supported: true is refused."},
        {"enableSSL", KeyType::boolean, "false", false, "Older spelling of ssl; true is refused."},
        {"keystore", KeyType::string, "", false, "Not supported (no SSL)."},
        {"keystorePassword", KeyType::string, "", false, "Not supported (no SSL)."},
        {"keystore-password", KeyType::string, "", false, "Not supported (no SSL)."},
        {"keystoreType", KeyType::string, "", false, "Not supported (no SSL)."},
        {"keystore-type", KeyType::string, "", false, "Not supported (no SSL)."},
        {"exclude-protocols", KeyType::string, "", false, "Not supported (no SSL)."},
        {"include-protocols", KeyType::string, "", false, "Not supported (no SSL)."},
        {"exclude-cipher-suites", KeyType::string, "", false, "Not supported (no SSL)."},
        {"include-cipher-suites", KeyType::string, "", false, "Not supported (no SSL)."},
        {"QueuedThreadPool.", KeyType::prefix, "", false, "Jetty tuning: not supported."},
        {"HttpConfiguration.", KeyType::prefix, "", false, "Jetty tuning: not supported."},
        {"SslContextFactory.", KeyType::prefix, "", false, "Jetty tuning: not supported."},
        {"ServerConnector.", KeyType::prefix, "", false, "Jetty tuning: not supported."},
    };
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        std::string handler = s.get_string("handler");
        if (handler != json_handler_class)
            problems.emplace_back("handler", "handler '" + handler + "' is not supported; supported: " +
                                                 std::string(json_handler_class));
        for (const char* k : {"ssl", "enableSSL"})
            if (s.get_bool(k)) problems.emplace_back(k, "SSL is not supported by sluice's http source");
        for (const char* k : {"keystore", "keystorePassword", "keystore-password", "keystoreType", "keystore-type",
                              "exclude-protocols", "include-protocols", "exclude-cipher-suites",
                              "include-cipher-suites"})
            if (s.has(k)) problems.emplace_back(k, "not supported: sluice's http source has no SSL");
        for (const char* p : {"QueuedThreadPool.", "HttpConfiguration.", "SslContextFactory.", "ServerConnector."})
            for (const auto& [key, value] : s.get_prefixed(p))
                problems.emplace_back(std::string(p) + key, "Jetty settings are not supported by sluice's http source");
    };
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        http_options o;
        const auto& s = ctx.settings;
        o.bind = s.get_string("bind");
        o.port = int(s.get_int("port"));
        o.limits.max_header_bytes = size_t(s.get_int("max-header-bytes"));
        o.limits.max_body_bytes = size_t(s.get_int("max-body-bytes"));
        return std::unique_ptr<Source>(new HttpSource(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
