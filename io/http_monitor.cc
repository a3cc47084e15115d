// SPDX-License-Identifier: Apache-2.0
#include "io/http_monitor.h"

#include <unistd.h>

#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <unordered_set>

#include "core/log.h"
#include "io/http_parser.h"
#include "io/net.h"

namespace sluice {

namespace {

constexpr size_t max_request_bytes = 16 * 1024;

class Monitor;

class HttpConnection final : public StreamHandler {
public:
    HttpConnection(Monitor& m, int fd) : _m(m), _fd(fd) {}
    Status open(Reactor& r) {
        auto id = r.add_stream(_fd, this);
        if (!id) return id.status();
        _id = id.value();
        return Status::ok();
    }
    void close_now();
    void on_data(std::string_view data) override;
    void on_eof(int) override { close_now(); }
    void on_sent(ssize_t) override { close_now(); }
    void on_closed() override;

private:
    void respond(int code, const char* reason, const char* type, const std::string& body);
    Monitor& _m;
    int _fd;
    StreamId _id = 0;
    HttpRequestParser _parser{HttpLimits{max_request_bytes, max_request_bytes}};
    std::string _response;
    bool _responded = false, _closing = false;
};

class Monitor final : public HttpMonitor, public AcceptHandler {
public:
    Monitor(Shard& shard, MonitorContent content) : _shard(shard), _content(std::move(content)) {}
    // After the shards have stopped: connections whose close never completed
    // are freed here (the reactor no longer calls them).
    ~Monitor() override {
        for (auto* c : _conns) delete c;
    }

    Status listen(const std::string& bind, int port) {
        auto fd = listen_tcp(bind.empty() ? "0.0.0.0" : bind, port, false);
        if (!fd) return Status(fd.status().code(), "monitoring: " + fd.status().message());
        auto id = _shard.reactor().add_listener(fd.value(), this);
        if (!id) {
            ::close(fd.value());
            return id.status();
        }
        _listener = id.value();
        _listening = true;
        return Status::ok();
    }

    void stop() override {
        if (_listening) _shard.reactor().close_listener(_listener);
        _listening = false;
        auto conns = _conns;
        for (auto* c : conns) c->close_now();
    }

    void on_accept(int fd) override {
        auto* c = new HttpConnection(*this, fd);
        if (!c->open(_shard.reactor())) {
            ::close(fd);
            delete c;
            return;
        }
        _conns.insert(c);
    }
    void on_accept_error(int err) override { log_error("monitoring: accept failed: %s", strerror(err)); }

    void closed(HttpConnection* c) {
        _conns.erase(c);
        _shard.defer([c] { delete c; });
    }

    Shard& _shard;
    MonitorContent _content;
    ListenerId _listener = 0;
    bool _listening = false;
    std::unordered_set<HttpConnection*> _conns;
};

void HttpConnection::on_data(std::string_view data) {
    if (_responded) return;
    auto r = _parser.feed(data);
    if (r == HttpRequestParser::result::need_more) return;
    if (r == HttpRequestParser::result::error) {
        respond(_parser.error_status(), std::string(http_reason(_parser.error_status())).c_str(), "text/plain", "");
        return;
    }
    const HttpRequest& req = _parser.request();
    std::string method = req.method;
    for (auto& ch : method) ch = char(toupper(static_cast<unsigned char>(ch)));
    std::string_view target = req.path();
    if (method == "TRACE" || method == "OPTIONS") respond(403, "Forbidden", "text/plain", "");
    else if (target == "/")
        respond(200, "OK", "text/html;charset=utf-8",
                "<html><body><a href=\"./metrics\">metrics</a> <a href=\"./prometheus\">prometheus</a></body></html>\n");
    else if (target == "/metrics") respond(200, "OK", "application/json;charset=utf-8", _m._content.json());
    else if (target == "/prometheus") respond(200, "OK", "text/plain; version=0.0.4; charset=utf-8", _m._content.prometheus());
    else respond(404, "Not Found", "text/plain", "");
}

void HttpConnection::respond(int code, const char* reason, const char* type, const std::string& body) {
    _responded = true;
    _response = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\nContent-Type: " + type +
                "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    _m._shard.reactor().send(_id, _response.data(), _response.size());
}

void HttpConnection::close_now() {
    if (_closing) return;
    _closing = true;
    _m._shard.reactor().close_stream(_id);
}

void HttpConnection::on_closed() { _m.closed(this); }

std::string snake(std::string_view camel) {
    std::string out;
    for (size_t i = 0; i < camel.size(); i++) {
        char c = camel[i];
        if (std::isupper(static_cast<unsigned char>(c))) {
            if (i > 0) out += '_';
            out += char(std::tolower(static_cast<unsigned char>(c)));
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

Result<std::unique_ptr<HttpMonitor>> start_http_monitor(Shard& shard, const std::string& bind, int port,
                                                        MonitorContent content) {
    auto m = std::make_unique<Monitor>(shard, std::move(content));
    if (Status st = m->listen(bind, port); !st) return st;
    return std::unique_ptr<HttpMonitor>(std::move(m));
}

std::string prometheus_text(const MetricsRegistry& metrics) {
    std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> groups;
    for (auto* g : metrics.groups()) groups.emplace_back(g->type() + "." + g->name(), g->snapshot());
    // Families: every sample of one metric name together, with one TYPE line.
    std::map<std::string, std::vector<std::string>> families;
    std::map<std::string, bool> is_counter;
    for (const auto& [key, attrs] : groups) {
        auto dot = key.find('.');
        std::string type = key.substr(0, dot);  // SOURCE, CHANNEL, SINK, STREAM
        for (auto& c : type) c = char(std::tolower(static_cast<unsigned char>(c)));
        std::string name = dot == std::string::npos ? key : key.substr(dot + 1);
        for (const auto& [attr, value] : attrs) {
            if (attr == "Type") continue;
            std::string metric = "sluice_" + type + "_" + snake(attr);
            std::string label;
            for (char c : name) {
                if (c == '\\' || c == '"') label += '\\';
                label += c;
            }
            families[metric].push_back(metric + "{name=\"" + label + "\"} " + value);
            // Everything only grows, but for these levels and times.
            static const std::set<std::string, std::less<>> gauges = {
                "ChannelSize", "ChannelCapacity", "ChannelFillPercentage", "OpenConnectionCount",
                "KeysHeld",    "StateBytes",      "StartTime",             "StopTime"};
            is_counter[metric] = !gauges.count(attr);
        }
    }
    std::string out;
    for (const auto& [metric, samples] : families) {
        out += "# TYPE " + metric + (is_counter[metric] ? " counter\n" : " gauge\n");
        for (const auto& s : samples) out += s + "\n";
    }
    // Latency histograms: every sink's; a source's once it has recorded any
    // (sources that acknowledge events: netcat with ack-every-event).
    auto histograms = [&](const char* type, const std::string& m, bool only_used) {
        bool typed = false;
        for (auto* g : metrics.groups()) {
            if (g->type() != type) continue;
            auto l = g->latency();
            if (only_used && !l.any) continue;
            if (!typed) out += "# TYPE " + m + " histogram\n";
            typed = true;
            const std::string label = "name=\"" + g->name() + "\"";
            const auto& bounds = CounterGroup::latency_bounds_us;
            for (size_t b = 0; b < bounds.size(); b++)
                out += m + "_bucket{" + label + ",le=\"" + java_double(double(bounds[b]) / 1e6) + "\"} " +
                       std::to_string(l.cumulative[b]) + "\n";
            out += m + "_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(l.cumulative.back()) + "\n";
            out += m + "_sum{" + label + "} " + java_double(double(l.sum_us) / 1e6) + "\n";
            out += m + "_count{" + label + "} " + std::to_string(l.cumulative.back()) + "\n";
        }
    };
    histograms("SINK", "sluice_sink_delivery_latency_seconds", false);
    histograms("SOURCE", "sluice_source_ack_latency_seconds", true);
    return out;
}

}  // namespace sluice
