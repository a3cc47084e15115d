// SPDX-License-Identifier: Apache-2.0
#include "io/kafka_common.h"

#include <cstring>

#include "core/log.h"

namespace sluice {

namespace {

void put_long(std::string& out, int64_t v) {
    uint64_t z = (uint64_t(v) << 1) ^ uint64_t(v >> 63);
    while (z >= 0x80) {
        out.push_back(char((z & 0x7f) | 0x80));
        z >>= 7;
    }
    out.push_back(char(z));
}

void put_bytes(std::string& out, std::string_view s) {
    put_long(out, int64_t(s.size()));
    out.append(s);
}

// A cursor over untrusted bytes: every read checks the bounds.
struct avro_reader {
    std::string_view data;
    size_t pos = 0;
    std::string error;

    bool fail(std::string what) {
        if (error.empty()) error = std::move(what) + " at byte " + std::to_string(pos);
        return false;
    }
    bool read_long(int64_t& v) {
        uint64_t z = 0;
        for (int shift = 0; shift < 70; shift += 7) {
            if (pos >= data.size()) return fail("truncated varint");
            uint8_t b = uint8_t(data[pos++]);
            z |= uint64_t(b & 0x7f) << shift;
            if (!(b & 0x80)) {
                v = int64_t(z >> 1) ^ -int64_t(z & 1);
                return true;
            }
            if (shift == 63) break;
        }
        return fail("varint longer than 10 bytes");
    }
    bool read_bytes(std::string_view& s) {
        int64_t n = 0;
        if (!read_long(n)) return false;
        if (n < 0) return fail("negative length");
        if (uint64_t(n) > data.size() - pos) return fail("length past the end of the record");
        s = data.substr(pos, size_t(n));
        pos += size_t(n);
        return true;
    }
};

}  // namespace

void encode_flume_event(const EventView& e, std::string& out) {
    uint32_t n = e.header_count();
    if (n > 0) {
        put_long(out, n);
        for (uint32_t i = 0; i < n; i++) {
            Header h = e.header(i);
            put_bytes(out, h.key);
            put_bytes(out, h.value);
        }
    }
    put_long(out, 0);
    put_bytes(out, e.body());
}

Result<DecodedFlumeEvent> decode_flume_event(std::string_view data) {
    avro_reader r;
    r.data = data;
    DecodedFlumeEvent ev;
    for (;;) {
        int64_t count = 0;
        if (!r.read_long(count)) break;
        if (count == 0) {
            if (r.read_bytes(ev.body) && r.pos != data.size()) r.fail("bytes after the body");
            break;
        }
        if (count < 0) {
            int64_t block_bytes = 0;
            if (!r.read_long(block_bytes)) break;
            if (block_bytes < 0) {
                r.fail("negative block size");
                break;
            }
            if (count == INT64_MIN) {
                r.fail("bad block count");
                break;
            }
            count = -count;
        }
        // Each item takes at least two bytes: a count beyond that is a lie
        // (and would make us reserve without bound).
        if (uint64_t(count) > (data.size() - r.pos) / 2) {
            r.fail("map block count past the end of the record");
            break;
        }
        bool ok = true;
        for (int64_t i = 0; i < count && ok; i++) {
            std::string_view k, v;
            ok = r.read_bytes(k) && r.read_bytes(v);
            if (ok) ev.headers.emplace_back(k, v);
        }
        if (!ok) break;
    }
    if (!r.error.empty()) return Status(errc::corrupt, "not a Flume event datum: " + r.error);
    return ev;
}

std::string substitute_headers(std::string_view pattern, const EventView& e) {
    std::string out;
    size_t pos = 0;
    for (;;) {
        size_t open = pattern.find("%{", pos);
        if (open == std::string_view::npos) break;
        size_t close = pattern.find('}', open + 2);
        if (close == std::string_view::npos) break;
        out.append(pattern.substr(pos, open - pos));
        std::string_view value;
        if (e.find_header(pattern.substr(open + 2, close - open - 2), &value)) out.append(value);
        pos = close + 1;
    }
    out.append(pattern.substr(pos));
    return out;
}

Status set_rdkafka(rd_kafka_conf_t* conf, const std::string& component, const std::string& key,
                   const std::string& property, const std::string& value) {
    char err[512];
    if (rd_kafka_conf_set(conf, property.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
        return Status(errc::config, component + ": " + key + ": " + err);
    return Status::ok();
}

Result<RdConfPtr> make_rdkafka_conf(const std::string& component, const std::string& prefix,
                                    const std::vector<std::pair<std::string, std::string>>& props) {
    RdConfPtr conf(rd_kafka_conf_new());
    route_rdkafka_logs(conf.get());
    for (const auto& [property, value] : props)
        if (Status st = set_rdkafka(conf.get(), component, prefix + property, property, value); !st) return st;
    return conf;
}

void check_rdkafka_props(const ComponentSettings& s, std::string_view prefix,
                         std::vector<std::pair<std::string, std::string>>& problems) {
    RdConfPtr conf(rd_kafka_conf_new());
    char err[512];
    for (const auto& [property, value] : s.get_prefixed(prefix)) {
        if (rd_kafka_conf_set(conf.get(), property.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK)
            problems.emplace_back(std::string(prefix) + property, err);
    }
}

void route_rdkafka_logs(rd_kafka_conf_t* conf) {
    rd_kafka_conf_set_log_cb(conf, [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
        // syslog levels: 0-3 errors, 4 warnings, 5-6 notices/info, 7 debug.
        LogLevel l = level <= 3 ? LogLevel::error : level == 4 ? LogLevel::warn : level <= 6 ? LogLevel::info : LogLevel::debug;
        logf(l, "kafka %s: %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
    });
}

}  // namespace sluice
