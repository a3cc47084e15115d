// SPDX-License-Identifier: Apache-2.0
// The datagram sources `syslogudp` and `netcatudp` (docs/syslog.md §1, §3).
// Each shard binds the same port (SO_REUSEPORT) and receives through its
// reactor. The events of the datagrams received in one reactor round are
// committed together at the end of the round; there is nobody to reply to, so
// what the channel cannot take is dropped and counted (ChannelWriteFail), as
// Flume does.
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"
#include "io/net.h"
#include "io/syslog_parser.h"

namespace sluice {

namespace {

struct udp_options {
    std::string host;
    int port = 0;
    // syslogudp
    SyslogKeepFields keep;
    std::string client_ip_header, client_hostname_header;
    // netcatudp
    std::string remote_address_header;
};

enum class udp_kind { syslog, netcat };

class UdpSource final : public Source, public DatagramHandler {
public:
    UdpSource(SourceContext& ctx, udp_kind kind, udp_options opts)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _kind(kind), _opts(std::move(opts)), _parser(max_datagram_bytes, _opts.keep) {}
    ~UdpSource() override {
        if (_open) _shard.reactor().close_datagram(_id);
        *_alive = false;
    }

    Status start() override {
        auto fd = bind_udp(_opts.host, _opts.port, true, 4 << 20);
        if (!fd) return Status(fd.status().code(), type_name() + " source " + _name + ": " + fd.status().message());
        auto id = _shard.reactor().add_datagram(fd.value(), this);
        if (!id) {
            ::close(fd.value());
            return id.status();
        }
        _id = id.value();
        _open = true;
        if (_shard.id() == 0)
            log_info("%s source %s: receiving on %s:%d", type_name().c_str(), _name.c_str(),
                     _opts.host.empty() ? "*" : _opts.host.c_str(), _opts.port);
        return Status::ok();
    }

    void stop(Task done) override {
        if (_open) _shard.reactor().close_datagram(_id);
        _open = false;
        flush();
        done();
    }

    void on_datagram(std::string_view data, bool truncated, const sockaddr* from, socklen_t from_len) override {
        if (!_batch) {
            _batch = std::make_shared<EventBatch>(64, 64 * 128);
            _batch->set_received_us(wall_clock_us());
        }
        if (_kind == udp_kind::netcat) {
            // Bytes up to the first newline; the rest of the datagram is dropped.
            const void* nl = memchr(data.data(), '\n', data.size());
            _batch->add(nl ? data.substr(0, size_t(static_cast<const char*>(nl) - data.data())) : data);
            if (!_opts.remote_address_header.empty()) {
                int port = 0;
                std::string addr = address_text(from, from_len, &port);
                _batch->add_header(_opts.remote_address_header, "/" + addr + ":" + std::to_string(port));
            }
            _counters.add(_shard.id(), source_counter::event_received);
        } else {
            (void)truncated;  // cut at 64 KiB: the parser flags it Incomplete
            Header extra[2];
            size_t n = 0;
            std::string ip, host;
            if (!_opts.client_ip_header.empty()) {
                ip = address_text(from, from_len);
                extra[n++] = {_opts.client_ip_header, ip};
            }
            if (!_opts.client_hostname_header.empty()) {
                host = hostname_of(from, from_len);
                extra[n++] = {_opts.client_hostname_header, host};
            }
            if (_parser.feed_datagram(data, *_batch, std::span<const Header>(extra, n), wall_clock_ms())) {
                _counters.add(_shard.id(), source_counter::event_received);
            } else {
                _counters.add(_shard.id(), source_counter::event_read_fail);
            }
        }
        if (!_flush_scheduled) {
            _flush_scheduled = true;
            auto alive = _alive;
            _shard.defer([this, alive] {
                if (*alive) flush();
            });
        }
    }

    void on_datagram_error(int err) override {
        log_error("%s source %s: receive failed: %s", type_name().c_str(), _name.c_str(), strerror(err));
        _open = false;
    }

private:
    std::string type_name() const { return _kind == udp_kind::syslog ? "syslogudp" : "netcatudp"; }

    std::string hostname_of(const sockaddr* from, socklen_t len) {
        std::string key(reinterpret_cast<const char*>(from), len);
        auto it = _hostnames.find(key);
        if (it != _hostnames.end()) return it->second;
        if (_hostnames.size() > 4096) _hostnames.clear();
        return _hostnames[key] = reverse_lookup(from, len);
    }

    // Commits what this round received; what does not fit is dropped.
    void flush() {
        _flush_scheduled = false;
        if (!_batch || _batch->empty()) return;
        std::shared_ptr<EventBatch> batch = std::move(_batch);
        _batch.reset();
        unsigned shard = _shard.id();
        uint32_t from = 0, size = batch->size();
        bool one_at_a_time = false;
        ChannelProcessor::Progress progress;
        while (from < size) {
            uint32_t n = one_at_a_time ? 1 : std::min(size - from, _processor.max_batch());
            Status st = _processor.put(EventSpan{batch, from, from + n}, progress);
            progress.reset();
            if (st) {
                _counters.add(shard, source_counter::event_accepted, n);
                from += n;
                continue;
            }
            if (n > 1 && st.code() == errc::channel_full) {
                one_at_a_time = true;  // find the events that still fit
                continue;
            }
            // The channel is full (or failing): the rest of this round is dropped.
            _counters.add(shard, source_counter::channel_write_fail, size - from);
            int64_t now = monotonic_us();
            if (now - _last_drop_log_us > 10000000) {
                _last_drop_log_us = now;
                log_warn("%s source %s: dropped %u events: %s", type_name().c_str(), _name.c_str(), size - from,
                         st.message().c_str());
            }
            break;
        }
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name;
    udp_kind _kind;
    udp_options _opts;
    SyslogUtilsParser _parser;  // one per socket: Flume's stale fields carry across datagrams
    DatagramId _id = 0;
    bool _open = false;
    bool _flush_scheduled = false;
    std::shared_ptr<EventBatch> _batch;
    std::shared_ptr<bool> _alive = std::make_shared<bool>(true);
    std::unordered_map<std::string, std::string> _hostnames;
    int64_t _last_drop_log_us = 0;
};

}  // namespace

ComponentDescriptor syslogudp_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "syslogudp";
    d.aliases = {"org.apache.flume.source.SyslogUDPSource"};
    d.description =
        "Receives syslog datagrams (RFC 3164 / RFC 5424, docs/syslog.md); each datagram is one event with "
        "Facility, Severity, priority, version, timestamp and host headers. What the channel cannot take is "
        "dropped and counted.";
    d.keys = {
        {"host", KeyType::string, "", false, "Address to listen on; empty: all interfaces."},
        {"port", KeyType::integer, "", true, "UDP port to listen on.", 1, 65535},
        {"keepFields", KeyType::string, "false", false,
         "none/false: body is the message; all/true: the whole line; or any of priority version timestamp "
         "hostname to keep in front of the message."},
        {"clientIPHeader", KeyType::string, "", false, "Header to carry the sender's IP address."},
        {"clientHostnameHeader", KeyType::string, "", false,
         "Header to carry the sender's host name (reverse lookup, cached per address)."},
    };
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        udp_options o;
        const auto& s = ctx.settings;
        o.host = s.get_string("host");
        o.port = int(s.get_int("port"));
        o.keep = parse_keep_fields(s.get_string("keepFields"));
        o.client_ip_header = s.get_string("clientIPHeader");
        o.client_hostname_header = s.get_string("clientHostnameHeader");
        return std::unique_ptr<Source>(new UdpSource(ctx, udp_kind::syslog, std::move(o)));
    };
    return d;
}

ComponentDescriptor netcatudp_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "netcatudp";
    d.aliases = {"org.apache.flume.source.NetcatUdpSource"};
    d.description =
        "Receives datagrams; each is one event whose body is the text up to the first newline. No reply; what the "
        "channel cannot take is dropped and counted.";
    d.keys = {
        {"bind", KeyType::string, "", false, "Address to listen on; empty: all interfaces."},
        {"port", KeyType::integer, "", true, "UDP port to listen on.", 1, 65535},
        {"remoteAddress", KeyType::string, "", false,
         "Header name to carry the sender as /ip:port (Flume reads this key, not remoteAddressHeader).", INT64_MIN,
         INT64_MAX, {}, "Flume adds a header with a null name when the key is not set; sluice adds none."},
    };
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        udp_options o;
        const auto& s = ctx.settings;
        o.host = s.get_string("bind");
        o.port = int(s.get_int("port"));
        o.remote_address_header = s.get_string("remoteAddress");
        return std::unique_ptr<Source>(new UdpSource(ctx, udp_kind::netcat, std::move(o)));
    };
    return d;
}

}  // namespace sluice
