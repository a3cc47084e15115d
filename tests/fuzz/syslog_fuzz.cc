// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: Flume's syslog parsing (io/syslog_parser.h).
// Input: byte 0 chooses eventSize (10..265) and keepFields, byte 1 where the
// stream is split in two reads; the rest is the bytes read from the socket.
// Traps on any broken invariant:
//   - the events of the stream do not depend on how it is split into reads;
//   - the fast path (stamp cache, bodies and values by offset into the read)
//     gives the same events as the general path (set_fast_path(false)), for
//     streams and datagrams;
//   - every event has Facility and Severity; an event with
//     flume.syslog.status=Invalid has both 0; no body is longer than eventSize
//     (nor than eventSize plus the kept fields with keepFields);
//   - a datagram makes at most one event, and no body is longer than it;
//   - a multiport line makes exactly one event, Invalid ones with the line as
//     their body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "io/syslog_parser.h"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

using sluice::EventBatch;

bool same(const EventBatch& a, const EventBatch& b) {
    if (a.size() != b.size()) return false;
    for (uint32_t i = 0; i < a.size(); i++) {
        if (a[i].body() != b[i].body() || a[i].header_count() != b[i].header_count()) return false;
        for (uint32_t h = 0; h < a[i].header_count(); h++)
            if (a[i].header(h).key != b[i].header(h).key || a[i].header(h).value != b[i].header(h).value) return false;
    }
    return true;
}

std::string_view header(const EventBatch& b, uint32_t i, std::string_view key) {
    std::string_view v;
    if (!b[i].find_header(key, &v)) return {};
    return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const size_t event_size = 10 + size_t(data[0]);
    const char* keeps[] = {"none", "all", "priority version timestamp hostname", "hostname"};
    auto keep = sluice::parse_keep_fields(keeps[data[0] & 3]);
    std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    const size_t cut = text.empty() ? 0 : data[1] % (text.size() + 1);
    const int64_t now_ms = 1718452800000;

    EventBatch whole, split;
    sluice::SyslogUtilsParser a(event_size, keep), b(event_size, keep);
    a.feed_stream(text, whole, {}, now_ms);
    b.feed_stream(text.substr(0, cut), split, {}, now_ms);
    b.feed_stream(text.substr(cut), split, {}, now_ms);
    check(same(whole, split));
    EventBatch general;
    sluice::SyslogUtilsParser g(event_size, keep);
    g.set_fast_path(false);
    g.feed_stream(text, general, {}, now_ms);
    check(same(whole, general));
    check(a.held_bytes() == b.held_bytes());
    check(a.held_bytes() < event_size);
    for (uint32_t i = 0; i < whole.size(); i++) {
        check(!header(whole, i, "Facility").empty());
        check(!header(whole, i, "Severity").empty());
        if (header(whole, i, "flume.syslog.status") == "Invalid") {
            check(header(whole, i, "Facility") == "0" && header(whole, i, "Severity") == "0");
        }
        if (keep.all || (!keep.priority && !keep.hostname)) check(whole[i].body().size() <= event_size);
    }

    sluice::SyslogUtilsParser u(65536, keep);
    EventBatch dg;
    bool made = u.feed_datagram(text, dg, {}, now_ms);
    check(dg.size() == (made ? 1u : 0u));
    sluice::SyslogUtilsParser ug(65536, keep);
    ug.set_fast_path(false);
    EventBatch dg_general;
    check(ug.feed_datagram(text, dg_general, {}, now_ms) == made);
    check(same(dg, dg_general));
    if (made && (keep.all || (!keep.priority && !keep.hostname))) check(dg[0].body().size() <= text.size());

    for (auto cs : {sluice::syslog_charset::utf8, sluice::syslog_charset::latin1, sluice::syslog_charset::ascii}) {
        EventBatch mp;
        std::string_view line = text.substr(0, text.find('\n'));
        sluice::parse_multiport_line(line, data[1] & 1, cs, keep, mp, {}, now_ms);
        check(mp.size() == 1);
        if (header(mp, 0, "flume.syslog.status") == "Invalid") check(mp[0].body() == line);
    }
    return 0;
}
