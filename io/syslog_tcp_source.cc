// SPDX-License-Identifier: Apache-2.0
// The TCP syslog sources `syslogtcp` (Flume's SyslogTcpSource, SyslogUtils
// parsing) and `multiport_syslogtcp` (MultiportSyslogTCPSource, SyslogParser),
// docs/syslog.md §1–2. Each shard listens on every port (SO_REUSEPORT) and
// owns the connections the kernel hands it.
//
// Per connection, the events of one read are parsed into one EventBatch and
// committed in chunks of at most the channels' transactionCapacity (and
// batchSize for multiport). Syslog has no reply path: when a channel has no
// room the connection stops reading (TCP pushes back on the sender) and
// retries for up to the channel's keep-alive; after that the events that did
// not fit are dropped and counted (ChannelWriteFail), and reading goes on.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <unordered_set>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"
#include "io/net.h"
#include "io/syslog_parser.h"

namespace sluice {

namespace {

struct syslog_tcp_options {
    bool multiport = false;
    std::string host;
    std::vector<int> ports;
    size_t event_size = 2500;
    SyslogKeepFields keep;
    std::string client_ip_header, client_hostname_header;
    // multiport
    std::string port_header;
    uint32_t batch_size = 100;
    syslog_charset default_charset = syslog_charset::utf8;
    std::map<int, syslog_charset> port_charsets;
};

constexpr int64_t retry_first_us = 500;
constexpr int64_t retry_max_us = 20000;

class SyslogTcpSource;

class SyslogConnection final : public StreamHandler {
public:
    SyslogConnection(SyslogTcpSource& src, int fd, int port);
    Status open();
    void stop();
    void on_data(std::string_view data) override;
    void on_eof(int err) override;
    void on_sent(ssize_t) override {}
    void on_closed() override;

private:
    void parse(std::string_view data);
    void parse_multiport(std::string_view data);
    // Commits [_putter.next(), batch end); false when waiting for room.
    bool commit();
    void retry();
    void close();

    SyslogTcpSource& _src;
    int _fd;
    StreamId _stream = 0;
    bool _open = false, _closing = false, _eof = false, _paused = false;
    SyslogUtilsParser _parser;
    std::string _partial;          // multiport: a line spanning reads
    syslog_charset _charset;
    std::string _ip, _hostname, _port_text;
    Header _extra[3];
    size_t _extra_count = 0;

    std::shared_ptr<EventBatch> _batch;
    SpanPutter _putter;  // commits _batch; waiting() on a full channel
    int64_t _retry_us = retry_first_us;
    TimerId _retry_timer = 0;
    std::string _held;  // data read while waiting (at most what was in flight)
};

class SyslogTcpSource final : public Source, public AcceptHandler {
public:
    SyslogTcpSource(SourceContext& ctx, syslog_tcp_options opts)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(opts)) {}
    ~SyslogTcpSource() override {
        for (auto* c : _conns) delete c;
    }

    const char* type_name() const { return _opts.multiport ? "multiport_syslogtcp" : "syslogtcp"; }

    Status start() override {
        for (int port : _opts.ports) {
            auto fd = listen_tcp(_opts.host.empty() ? "0.0.0.0" : _opts.host, port, true);
            if (!fd) return Status(fd.status().code(), std::string(type_name()) + " source " + _name + ": " + fd.status().message());
            auto id = _shard.reactor().add_listener(fd.value(), &_acceptors.emplace_back(*this, port));
            if (!id) {
                ::close(fd.value());
                return id.status();
            }
            _listeners.push_back(id.value());
            if (_shard.id() == 0)
                log_info("%s source %s: listening on %s:%d", type_name(), _name.c_str(),
                         _opts.host.empty() ? "0.0.0.0" : _opts.host.c_str(), port);
        }
        _listening = true;
        return Status::ok();
    }

    void stop(Task done) override {
        if (_listening)
            for (auto id : _listeners) _shard.reactor().close_listener(id);
        _listening = false;
        _on_stopped = std::move(done);
        auto conns = _conns;
        for (auto* c : conns) c->stop();
        maybe_stopped();
    }

    void on_accept(int) override {}  // the per-port acceptors below take the connections
    void on_accept_error(int err) override { log_error("%s source %s: accept failed: %s", type_name(), _name.c_str(), strerror(err)); }

    void accept_on(int fd, int port) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        auto* c = new SyslogConnection(*this, fd, port);
        if (Status st = c->open(); !st) {
            log_warn("%s source %s: %s", type_name(), _name.c_str(), st.message().c_str());
            ::close(fd);
            delete c;
            return;
        }
        _conns.insert(c);
        _counters.set(_shard.id(), source_counter::open_connection_count, _conns.size());
        if (!_listening) c->stop();
    }

    void connection_closed(SyslogConnection* c) {
        _conns.erase(c);
        _counters.set(_shard.id(), source_counter::open_connection_count, _conns.size());
        _shard.defer([c] { delete c; });
        maybe_stopped();
    }

private:
    friend class SyslogConnection;
    struct port_acceptor final : AcceptHandler {
        port_acceptor(SyslogTcpSource& s, int p) : src(s), port(p) {}
        void on_accept(int fd) override { src.accept_on(fd, port); }
        void on_accept_error(int err) override { src.on_accept_error(err); }
        SyslogTcpSource& src;
        int port;
    };

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
    syslog_tcp_options _opts;
    std::deque<port_acceptor> _acceptors;  // stable addresses
    std::vector<ListenerId> _listeners;
    bool _listening = false;
    std::unordered_set<SyslogConnection*> _conns;
    Task _on_stopped;
    int64_t _last_drop_log_us = 0;
};

SyslogConnection::SyslogConnection(SyslogTcpSource& src, int fd, int port)
    : _src(src), _fd(fd), _parser(src._opts.event_size, src._opts.keep) {
    const auto& o = src._opts;
    auto it = o.port_charsets.find(port);
    _charset = it != o.port_charsets.end() ? it->second : o.default_charset;
    // Header values live here for the connection's life; events copy them.
    if (!o.port_header.empty()) _port_text = std::to_string(port);
    if (!o.client_ip_header.empty()) _ip = peer_address(fd);
    if (!o.client_hostname_header.empty()) {
        sockaddr_storage ss{};
        socklen_t len = sizeof(ss);
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0)
            _hostname = reverse_lookup(reinterpret_cast<sockaddr*>(&ss), len);
    }
    if (!o.port_header.empty()) _extra[_extra_count++] = {o.port_header, _port_text};
    if (!o.client_ip_header.empty()) _extra[_extra_count++] = {o.client_ip_header, _ip};
    if (!o.client_hostname_header.empty()) _extra[_extra_count++] = {o.client_hostname_header, _hostname};
}

Status SyslogConnection::open() {
    auto id = _src._shard.reactor().add_stream(_fd, this);
    if (!id) return id.status();
    _stream = id.value();
    _open = true;
    return Status::ok();
}

void SyslogConnection::on_data(std::string_view data) {
    if (_closing) return;
    if (_putter.waiting()) {
        _held.append(data);
        return;
    }
    parse(data);
    commit();
}

void SyslogConnection::parse(std::string_view data) {
    // syslogtcp copies the read whole (bodies and most header values point
    // into it), multiport copies bodies and values: twice the read is room
    // enough. The index: six headers per line of 96 bytes or more.
    _batch = std::make_shared<EventBatch>(data.size() / 48 + 16, data.size() * 2 + 1024, data.size() / 16 + 64);
    _batch->set_received_us(wall_clock_us());
    _putter.restart();
    if (_src._opts.multiport) {
        parse_multiport(data);
    } else {
        _parser.feed_stream(data, *_batch, std::span<const Header>(_extra, _extra_count), _batch->received_ms());
    }
    _src._counters.add(_src._shard.id(), source_counter::event_received, _batch->size());
}

void SyslogConnection::parse_multiport(std::string_view data) {
    const auto& o = _src._opts;
    std::span<const Header> extra(_extra, _extra_count);
    int64_t now = _batch->received_ms();
    auto emit = [&](std::string_view line, bool incomplete) {
        if (line.empty()) return;  // empty lines make no event
        parse_multiport_line(line, incomplete, _charset, o.keep, *_batch, extra, now);
    };
    size_t i = 0;
    while (i < data.size()) {
        const char* nl = static_cast<const char*>(memchr(data.data() + i, '\n', data.size() - i));
        size_t end = nl ? size_t(nl - data.data()) : data.size();
        // Cut over-long lines into event_size pieces, the first flagged Incomplete.
        while (_partial.size() + (end - i) > o.event_size) {
            size_t take = o.event_size - _partial.size();
            if (_partial.empty()) {
                emit(data.substr(i, take), true);
            } else {
                _partial.append(data.data() + i, take);
                emit(_partial, true);
                _partial.clear();
            }
            i += take;
        }
        if (!nl) {
            _partial.append(data.data() + i, end - i);
            return;
        }
        if (_partial.empty()) {
            emit(data.substr(i, end - i), false);
        } else {
            _partial.append(data.data() + i, end - i);
            emit(_partial, false);
            _partial.clear();
        }
        i = end + 1;
    }
}

bool SyslogConnection::commit() {
    auto& proc = _src._processor;
    unsigned shard = _src._shard.id();
    uint32_t chunk = proc.max_batch();
    if (_src._opts.multiport) chunk = std::min(chunk, _src._opts.batch_size);
    while (_batch && _putter.next() < _batch->size()) {
        SpanPutter::Step step = _putter.put(proc, _batch, chunk);
        if (step.outcome == SpanPutter::Outcome::committed) {
            _retry_us = retry_first_us;
            _src._counters.add(shard, source_counter::event_accepted, step.events);
            continue;
        }
        if (step.outcome == SpanPutter::Outcome::wait) {
            // Stop reading: TCP pushes back on the sender while we retry.
            if (!_paused) _src._shard.reactor().pause_reading(_stream);
            _paused = true;
            if (!_retry_timer) {
                _retry_timer = _src._shard.add_timer(_retry_us, [this] {
                    _retry_timer = 0;
                    retry();
                });
                _retry_us = std::min(_retry_us * 2, retry_max_us);
            }
            return false;
        }
        // Gave up on these events: nobody to tell, so they are dropped and counted.
        _src._counters.add(shard, source_counter::channel_write_fail, step.events);
        const int64_t now = monotonic_us();
        if (now - _src._last_drop_log_us > 10000000) {
            _src._last_drop_log_us = now;
            log_warn("%s source %s: dropping events the channel cannot take: %s", _src.type_name(),
                     _src._name.c_str(), step.status.message().c_str());
        }
    }
    _batch.reset();
    return true;
}

void SyslogConnection::retry() {
    if (_closing) return;
    if (!commit()) return;
    // Data read while waiting: parse and commit it now.
    while (!_held.empty()) {
        std::string held = std::move(_held);
        _held.clear();
        parse(held);
        if (!commit()) return;
    }
    if (_eof) {
        close();
        return;
    }
    if (_paused) {
        _src._shard.reactor().resume_reading(_stream);
        _paused = false;
    }
}

void SyslogConnection::on_eof(int err) {
    if (err != 0) log_debug("%s source %s: connection error: %s", _src.type_name(), _src._name.c_str(), strerror(err));
    _eof = true;
    // A partial line at the end makes no event (Flume's framing).
    if (!_putter.waiting()) close();
}

void SyslogConnection::stop() {
    if (_retry_timer) _src._shard.cancel_timer(_retry_timer);
    _retry_timer = 0;
    _putter.cancel_wait();
    close();
}

void SyslogConnection::close() {
    if (_closing || !_open) return;
    _closing = true;
    _src._shard.reactor().close_stream(_stream);
}

void SyslogConnection::on_closed() {
    _open = false;
    if (_retry_timer) _src._shard.cancel_timer(_retry_timer);
    _retry_timer = 0;
    _src.connection_closed(this);
}

Result<syslog_charset> charset_of(std::string_view name) {
    std::string n;
    for (char c : name) n += char(tolower(static_cast<unsigned char>(c)));
    if (n == "utf-8" || n == "utf8") return syslog_charset::utf8;
    if (n == "iso-8859-1" || n == "latin1" || n == "iso8859_1") return syslog_charset::latin1;
    if (n == "us-ascii" || n == "ascii") return syslog_charset::ascii;
    return Status(errc::unsupported, "charset '" + std::string(name) + "' is not supported (UTF-8, ISO-8859-1, US-ASCII)");
}

std::vector<KeySpec> common_syslog_keys() {
    return {
        {"keepFields", KeyType::string, "none", false,
         "none/false: body is the message; all/true: the whole line; or any of priority version timestamp "
         "hostname to keep in front of the message."},
        {"clientIPHeader", KeyType::string, "", false, "Header to carry the client's IP address."},
        {"clientHostnameHeader", KeyType::string, "", false,
         "Header to carry the client's host name (reverse lookup once per connection)."},
    };
}

}  // namespace

ComponentDescriptor syslogtcp_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "syslogtcp";
    d.aliases = {"org.apache.flume.source.SyslogTcpSource"};
    d.description =
        "Reads newline-separated syslog lines (RFC 3164 / RFC 5424, docs/syslog.md) from TCP connections. Headers "
        "Facility, Severity, priority, version, timestamp, host; flume.syslog.status for invalid and incomplete "
        "lines. No reply; a full channel stops reading, then drops and counts after keep-alive.";
    d.keys = {
        {"host", KeyType::string, "", false, "Address to listen on; empty: all interfaces."},
        {"port", KeyType::integer, "", true, "Port to listen on.", 1, 65535},
        {"eventSize", KeyType::integer, "2500", false,
         "Most bytes of one event (including <pri>); longer lines are cut and flagged Incomplete.", 10, 1 << 24},
    };
    for (auto& k : common_syslog_keys()) d.keys.push_back(k);
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        syslog_tcp_options o;
        const auto& s = ctx.settings;
        o.host = s.get_string("host");
        o.ports = {int(s.get_int("port"))};
        o.event_size = size_t(s.get_int("eventSize"));
        o.keep = parse_keep_fields(s.get_string("keepFields"));
        o.client_ip_header = s.get_string("clientIPHeader");
        o.client_hostname_header = s.get_string("clientHostnameHeader");
        return std::unique_ptr<Source>(new SyslogTcpSource(ctx, std::move(o)));
    };
    return d;
}

ComponentDescriptor multiport_syslogtcp_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "multiport_syslogtcp";
    d.aliases = {"org.apache.flume.source.MultiportSyslogTCPSource"};
    d.description =
        "Reads syslog lines from TCP connections on several ports (Flume's SyslogParser, docs/syslog.md §2): "
        "headers Priority, Facility, Severity, Version, timestamp, host, and the port with portHeader.";
    d.keys = {
        {"host", KeyType::string, "", false, "Address to listen on; empty: all interfaces."},
        {"ports", KeyType::list, "", true, "Ports to listen on (space-separated)."},
        {"eventSize", KeyType::integer, "2500", false,
         "Most bytes of one line; longer lines are cut and the first part flagged Incomplete.", 10, 1 << 24},
        {"batchSize", KeyType::integer, "100", false, "Most events per channel transaction.", 1, 1 << 20},
        {"portHeader", KeyType::string, "", false, "Header to carry the port the line came in on; empty: none."},
        {"charset.default", KeyType::string, "UTF-8", false,
         "Character set of the lines (UTF-8, ISO-8859-1 or US-ASCII).", INT64_MIN, INT64_MAX, {},
         "Flume accepts every Java charset; sluice these three."},
        {"charset.port.", KeyType::prefix, "", false, "charset.port.<port>: the character set of one port."},
        {"readBufferBytes", KeyType::integer, "1024", false,
         "Accepted for compatibility; sluice reads 64 KiB at a time.", 1, INT64_MAX},
        {"numProcessors", KeyType::integer, "0", false, "Accepted for compatibility; sluice uses its shards.", 0,
         INT64_MAX},
    };
    for (auto& k : common_syslog_keys()) d.keys.push_back(k);
    d.batch_size_key = "batchSize";
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        for (const auto& p : s.get_list("ports")) {
            char* end = nullptr;
            long v = strtol(p.c_str(), &end, 10);
            if (p.empty() || *end != '\0' || v < 1 || v > 65535)
                problems.emplace_back("ports", "expected port numbers (1-65535), got '" + p + "'");
        }
        if (auto cs = charset_of(s.get_string("charset.default")); !cs)
            problems.emplace_back("charset.default", cs.status().message());
        for (const auto& [key, value] : s.get_prefixed("charset.port.")) {
            if (auto cs = charset_of(value); !cs) problems.emplace_back("charset.port." + key, cs.status().message());
            char* end = nullptr;
            long v = strtol(key.c_str(), &end, 10);
            if (key.empty() || *end != '\0' || v < 1 || v > 65535)
                problems.emplace_back("charset.port." + key, "expected a port number after charset.port.");
        }
    };
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        syslog_tcp_options o;
        const auto& s = ctx.settings;
        o.multiport = true;
        o.host = s.get_string("host");
        for (const auto& p : s.get_list("ports")) o.ports.push_back(atoi(p.c_str()));
        o.event_size = size_t(s.get_int("eventSize"));
        o.batch_size = uint32_t(s.get_int("batchSize"));
        o.port_header = s.get_string("portHeader");
        o.keep = parse_keep_fields(s.get_string("keepFields"));
        o.client_ip_header = s.get_string("clientIPHeader");
        o.client_hostname_header = s.get_string("clientHostnameHeader");
        o.default_charset = charset_of(s.get_string("charset.default")).value();
        for (const auto& [key, value] : s.get_prefixed("charset.port."))
            o.port_charsets[atoi(key.c_str())] = charset_of(value).value();
        return std::unique_ptr<Source>(new SyslogTcpSource(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
