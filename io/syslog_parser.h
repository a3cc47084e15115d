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

struct syslog_match;  // what a pattern captured (syslog_parser.cc)

// The last timestamp a SyslogUtilsParser read, so that the lines of one
// second skip the date arithmetic and the decimal formatting of the
// `timestamp` header. A cache only: a hit gives exactly what reading the
// stamp again would (the process's time zone is taken as fixed).
struct SyslogStampCache {
    // RFC 5424: "YYYY-MM-DDTHH:MM:SS" and the zone as written ("", "Z" or
    // "+HH:MM") whose epoch second is `seconds`; `seconds_text` its decimal
    // text when seconds > 0 (then the header is that text and 3 ms digits).
    bool valid_5424 = false;
    char datetime[19] = {};
    char zone[6] = {};
    uint8_t zone_len = 0;
    uint8_t seconds_text_len = 0;
    int64_t seconds = 0;
    char seconds_text[20] = {};
    // RFC 3164: the stamp as written ("Mmm dd HH:MM:SS", at most 16 bytes)
    // read at now_3164: whether it could be read, its epoch ms and their text.
    bool valid_3164 = false, ok_3164 = false;
    uint8_t stamp_3164_len = 0, ms_3164_text_len = 0;
    char stamp_3164[16] = {};
    int64_t now_3164 = 0, ms_3164 = 0;
    char ms_3164_text[24] = {};
};

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
    // The fast path (on by default): timestamps read through a
    // SyslogStampCache; feed_stream copies a read into the batch once, with
    // bodies and header values pointing into it (or into a block of header
    // names and numbers written once per batch), and finds a line's end, its
    // '\r's and its bytes >= 0x80 in one pass. Off: every stamp is read
    // afresh and every body and value copied on its own. The events are the
    // same either way (tests/io/syslog_fast_path_test.cc compares the two).
    void set_fast_path(bool on) { _fast = on; }

private:
    enum class mode : uint8_t { start, prio, data };
    // The line is complete (or cut): make its event. False: unreadable priority.
    // plain: the line is known to hold no '\r' and no byte >= 0x80.
    bool build(std::string_view line, bool bad, bool incomplete, std::string_view prio, EventBatch& out,
               std::span<const Header> extra, int64_t now_ms, bool plain = false);
    // Continues a line held in _line with bytes from data; returns bytes used.
    size_t continue_line(std::string_view data, EventBatch& out, std::span<const Header> extra, int64_t now_ms,
                         uint32_t& events);

    // The header values and body of a built line, appended to `out`.
    void emit(std::string_view line, bool bad, bool incomplete, bool matched, std::string_view prio,
              int64_t facility, int64_t severity, const syslog_match& m, EventBatch& out,
              std::span<const Header> extra);
    // emit for the usual line (fast path only; emit decides).
    void emit_common(std::string_view line, std::string_view prio, int64_t facility, int64_t severity,
                     const syslog_match& m, EventBatch& out, std::span<const Header> extra);
    // Writes the header names into `out` once per feed call (see _keys_batch).
    void ensure_keys(EventBatch& out);
    // Whether `v` lies in the read feed_stream is working on.
    bool in_read(std::string_view v) const {
        const auto at = reinterpret_cast<uintptr_t>(v.data()), read = reinterpret_cast<uintptr_t>(_read.data());
        return at >= read && at + v.size() <= read + _read.size();
    }
    // Appends `body`: by offset into the read when it lies in one (fast path).
    void add_body(std::string_view body, EventBatch& out);
    // Fast path: the arena offset of `v` when it lies in the read feed_stream
    // is working on (copying the read into `out` the first time), else UINT32_MAX.
    uint32_t read_offset(std::string_view v, EventBatch& out);

    size_t _max_size;
    SyslogKeepFields _keep;
    bool _fast = true;
    // Framing state of a line spanning reads.
    mode _mode = mode::start;
    bool _bad = false;
    std::string _line;
    char _prio[4] = {};
    size_t _prio_len = 0;
    // Flume keeps these between events (docs/syslog.md §1.2, stale fields):
    // up to 3 priority digits, 0 or 1 version digit.
    char _priority[3] = {};
    char _version[1] = {};
    uint8_t _priority_len = 0, _version_len = 0;
    std::string _scratch;
    // Where this parser last wrote its header names into a batch (checked by
    // content before reuse: a new batch may have the old one's address),
    // once per feed call (_keys_checked).
    const EventBatch* _keys_batch = nullptr;
    uint32_t _keys_off = 0;
    bool _keys_checked = false;
    // The read feed_stream is working on (set at each feed call; not used
    // after it returns), and where it was copied into the batch (UINT32_MAX:
    // not yet), for bodies and values taken by offset.
    std::string_view _read;
    uint32_t _read_off = UINT32_MAX;
    // The last timestamp value appended in this feed call (fast path), so
    // the next event with the same epoch ms (so the same text) points at it.
    bool _last_stamp_valid = false;
    int64_t _last_stamp_ms = 0;
    uint32_t _last_stamp_off = 0, _last_stamp_len = 0;
    SyslogStampCache _stamps;
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
