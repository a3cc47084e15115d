// SPDX-License-Identifier: Apache-2.0
// Flume's two syslog parsers (docs/syslog.md): SyslogUtils (the framing state
// machine and RFC 5424 / RFC 3164 patterns of `syslogtcp` and `syslogudp`)
// and SyslogParser (`multiport_syslogtcp`). Both append events straight into
// an EventBatch. Pure computation: no I/O, no clock reads (the caller passes
// the time), so they are unit-tested and fuzzed on their own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/event.h"

namespace sluice {

// keepFields (docs/syslog.md §1.3).
struct SyslogKeepFields {
    bool all = false;
    bool priority = false, version = false, timestamp = false, hostname = false;
};
SyslogKeepFields parse_keep_fields(std::string_view value);

// Header names and values Flume uses.
inline constexpr std::string_view syslog_status_header = "flume.syslog.status";
inline constexpr std::string_view syslog_invalid = "Invalid";
inline constexpr std::string_view syslog_incomplete = "Incomplete";

// Epoch milliseconds of a civil date-time read leniently (out-of-range fields
// roll over, as Java's lenient calendars do). `utc_offset_s`: the zone's
// offset; local_zone = true uses the process's local time zone instead.
int64_t syslog_civil_to_ms(int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute, int64_t second,
                           int64_t millis, bool local_zone, int64_t utc_offset_s = 0);

// SyslogUtils: one per TCP connection, one per UDP socket. Shard thread only.
class SyslogUtilsParser {
public:
    // max_size: Flume's eventSize (TCP) or 65536 (UDP).
    SyslogUtilsParser(size_t max_size, SyslogKeepFields keep) : _max_size(max_size), _keep(keep) {}

    // TCP: frames `data` (any split of the stream) and appends one event per
    // complete, over-long or invalid line to `out`, each with the `extra`
    // headers last. Returns the number of events appended.
    uint32_t feed_stream(std::string_view data, EventBatch& out, std::span<const Header> extra, int64_t now_ms);
    // UDP: one datagram, one event. False (nothing appended) when Flume fails
    // to read it (no priority digits where one was expected).
    bool feed_datagram(std::string_view data, EventBatch& out, std::span<const Header> extra, int64_t now_ms);
    // Bytes of a partial line held between reads.
    size_t held_bytes() const { return _line.size(); }

private:
    enum class mode : uint8_t { start, prio, data };
    // The line is complete (or cut): make its event. False: unreadable priority.
    bool build(std::string_view line, bool bad, bool incomplete, std::string_view prio, EventBatch& out,
               std::span<const Header> extra, int64_t now_ms);
    // Continues a line held in _line with bytes from data; returns bytes used.
    size_t continue_line(std::string_view data, EventBatch& out, std::span<const Header> extra, int64_t now_ms,
                         uint32_t& events);

    size_t _max_size;
    SyslogKeepFields _keep;
    // Framing state of a line spanning reads.
    mode _mode = mode::start;
    bool _bad = false;
    std::string _line;
    char _prio[4] = {};
    size_t _prio_len = 0;
    // Flume keeps these between events (docs/syslog.md §1.2, stale fields).
    std::string _priority, _version;
    std::string _scratch;
    // Where this parser last wrote its header names into a batch (checked by
    // content before reuse: a new batch may have the old one's address).
    const EventBatch* _keys_batch = nullptr;
    uint32_t _keys_off = 0;
    // RFC 3164's year: cached per second of now_ms.
    int64_t _year_for_s = -1;
    int64_t _year = 1970;
};

// SyslogParser (multiport_syslogtcp), one line (without its '\n').
enum class syslog_charset : uint8_t { utf8, latin1, ascii };
// Appends the event of `line` to `out` (always exactly one), with
// flume.syslog.status Incomplete when `incomplete`, and the `extra` headers.
void parse_multiport_line(std::string_view line, bool incomplete, syslog_charset charset, SyslogKeepFields keep,
                          EventBatch& out, std::span<const Header> extra, int64_t now_ms);

// Whether `s` is well-formed UTF-8 as Java's strict decoder sees it (no
// overlong forms, no surrogates, nothing above U+10FFFF).
bool valid_utf8(std::string_view s);

}  // namespace sluice
