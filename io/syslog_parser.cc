// SPDX-License-Identifier: Apache-2.0
// The rules implemented here are written down in docs/syslog.md §1–2.
#include "io/syslog_parser.h"

#include <time.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace sluice {

namespace {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Java's \s without UNICODE_CHARACTER_CLASS.
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }
// Java's \w.
constexpr bool is_word(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
constexpr bool is_host_char(char c) { return is_word(c) || c == '.' || c == '@' || c == '-'; }
// is_host_char as a table: the host scan runs once per line.
constexpr auto host_char_table = [] {
    std::array<bool, 256> t{};
    for (int c = 0; c < 256; c++) t[size_t(c)] = is_host_char(char(c));
    return t;
}();

int64_t digits(std::string_view s, size_t pos, size_t n) {
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v * 10 + (s[pos + i] - '0');
    return v;
}
bool all_digits(std::string_view s, size_t pos, size_t n) {
    if (pos + n > s.size()) return false;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[pos + i])) return false;
    return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
int64_t days_in_month(int64_t y, int64_t m) {
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

// The local zone's UTC offset at epoch second t, cached per hour (the
// offset changes at most at hour boundaries in practice).
int64_t local_offset_s(int64_t t) {
    thread_local int64_t cached_hour = INT64_MIN, cached_offset = 0;
    int64_t hour = t >= 0 ? t / 3600 : (t - 3599) / 3600;
    if (hour == cached_hour) return cached_offset;
    time_t tt = time_t(t);
    tm tmv{};
    if (!localtime_r(&tt, &tmv)) return 0;
    cached_hour = hour;
    cached_offset = tmv.tm_gmtoff;
    return cached_offset;
}

int64_t local_year(int64_t now_ms) {
    int64_t s = now_ms / 1000;
    s += local_offset_s(s);
    // Civil year of day count (inverse of days_from_civil, year only).
    int64_t z = (s >= 0 ? s / 86400 : (s - 86399) / 86400) + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    const int64_t m = mp + (mp < 10 ? 3 : -9);
    return yoe + era * 400 + (m <= 2);
}

int month_of(std::string_view abbrev, bool ignore_case) {
    static const char* names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (abbrev.size() != 3) return 0;
    for (int i = 0; i < 12; i++) {
        bool eq = true;
        for (int k = 0; k < 3; k++) {
            char a = abbrev[size_t(k)], b = names[i][k];
            if (ignore_case) {
                a = char(tolower(static_cast<unsigned char>(a)));
                b = char(tolower(static_cast<unsigned char>(b)));
            }
            eq &= a == b;
        }
        if (eq) return i + 1;
    }
    return 0;
}

// Decimal text of v in buf (no snprintf: this runs several times per event).
std::string_view int_text(int64_t v, char (&buf)[24]) {
    char* end = buf + sizeof(buf);
    char* p = end;
    uint64_t u = v < 0 ? uint64_t(0) - uint64_t(v) : uint64_t(v);
    do {
        *--p = char('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0) *--p = '-';
    return {p, size_t(end - p)};
}

// An RFC 3164 stamp "Mmm d HH:MM:SS" (fields as matched) in the local zone,
// year chosen as SyslogUtils does (docs/syslog.md §1.2). False if the month
// name is not one.
bool rfc3164_ms(int month, int64_t day, int64_t h, int64_t mi, int64_t s, int64_t year, int64_t now_ms,
                int64_t* out) {
    if (month == 0) return false;
    auto at = [&](int64_t y, int64_t months_delta) {
        if (months_delta == 0) return syslog_civil_to_ms(y, month, day, h, mi, s, 0, true);
        // Calendar.add(MONTH, n): the month moves, the day is clamped to it.
        int64_t m0 = month - 1 + months_delta;
        int64_t yy = y + (m0 >= 0 ? m0 / 12 : (m0 - 11) / 12);
        int64_t mm = ((m0 % 12) + 12) % 12 + 1;
        int64_t d = std::min<int64_t>(day, days_in_month(yy, mm));
        return syslog_civil_to_ms(yy, mm, d, h, mi, s, 0, true);
    };
    int64_t t = at(year, 0);
    if (t > now_ms && at(year, -1) > now_ms) t = at(year - 1, 0);
    else if (t < now_ms && at(year, 11) < now_ms) t = at(year + 1, 0);
    *out = t;
    return true;
}

// Java's `.` excludes these line terminators: \n \r U+0085 U+2028 U+2029.
// The common message is ASCII without them: two memchr and a word-wise test
// for bytes >= 0x80 decide it; only text with such bytes is walked byte-wise.
bool has_line_terminator(std::string_view s) {
    if (memchr(s.data(), '\r', s.size()) || memchr(s.data(), '\n', s.size())) return true;
    size_t i = 0;
    bool high = false;
    for (; i + 8 <= s.size() && !high; i += 8) {
        uint64_t w;
        memcpy(&w, s.data() + i, 8);
        high = w & 0x8080808080808080ull;
    }
    for (size_t k = i; k < s.size() && !high; k++) high = static_cast<unsigned char>(s[k]) >= 0x80;
    if (!high) return false;
    for (size_t k = 0; k < s.size(); k++) {
        unsigned char c = static_cast<unsigned char>(s[k]);
        if (c == 0xC2 && k + 1 < s.size() && static_cast<unsigned char>(s[k + 1]) == 0x85) return true;
        if (c == 0xE2 && k + 2 < s.size() && static_cast<unsigned char>(s[k + 1]) == 0x80 &&
            (static_cast<unsigned char>(s[k + 2]) == 0xA8 || static_cast<unsigned char>(s[k + 2]) == 0xA9))
            return true;
    }
    return false;
}

}  // namespace

// What a pattern captured.
struct syslog_match {
    std::string_view priority, version, stamp, host, message;
    bool has_version = false;  // group matched (possibly empty)
    bool has_stamp = false, has_host = false;
    bool stamp_ok = false;
    int64_t stamp_ms = 0;
    // The decimal text of stamp_ms when a SyslogStampCache made it (else 0).
    // Not zeroed: only the first stamp_text_len bytes are ever read.
    uint8_t stamp_text_len = 0;
    char stamp_text[24];

    // Forgets an attempt (the matchers fill one match in place rather than
    // copying a struct per alternative tried).
    // Each view is reset on its own: a chained assignment made GCC reload a
    // just-stored view as one 16-byte value, which stalls store forwarding.
    void clear() {
        version = {};
        stamp = {};
        host = {};
        message = {};
        has_version = has_stamp = has_host = stamp_ok = false;
        stamp_ms = 0;
        stamp_text_len = 0;
    }
};

namespace {

// Writes `text` as m's stamp text.
void set_stamp_text(syslog_match& m, const char (&text)[24], size_t len) {
    memcpy(m.stamp_text, text, sizeof(text));  // a fixed size: no variable-length copy
    m.stamp_text_len = uint8_t(len);
}

// Host `[\w][\w.@-]*` followed by \s: returns the position of the \s, or npos.
size_t match_host(std::string_view s, size_t p) {
    if (p >= s.size() || !is_word(s[p])) return std::string_view::npos;
    size_t e = p + 1;
    while (e < s.size() && host_char_table[static_cast<unsigned char>(s[e])]) e++;
    if (e >= s.size() || !is_space(s[e])) return std::string_view::npos;
    return e;
}

// a[0, 19) == b[0, 19), in three 8-byte compares (memcmp is a call here).
bool same_19_bytes(const char* a, const char* b) {
    uint64_t a0, a1, a2, b0, b1, b2;
    memcpy(&a0, a, 8), memcpy(&a1, a + 8, 8), memcpy(&a2, a + 11, 8);
    memcpy(&b0, b, 8), memcpy(&b1, b + 8, 8), memcpy(&b2, b + 11, 8);
    return ((a0 ^ b0) | (a1 ^ b1) | (a2 ^ b2)) == 0;
}

// a[0, n) == b[0, n) for 8 <= n <= 16 (an RFC 3164 stamp has 14 to 16
// bytes): the first and the last 8 bytes.
bool same_14_to_16_bytes(const char* a, const char* b, size_t n) {
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8), memcpy(&a1, a + n - 8, 8);
    memcpy(&b0, b, 8), memcpy(&b1, b + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

// RFC 5424 timestamp at p; returns the end, or npos. Fills the time, through
// `cache` when given (the date-time text equal to the cached one is known to
// have the right shape; an equal zone too gives the cached epoch second).
size_t match_5424_stamp(std::string_view s, size_t p, syslog_match& m, SyslogStampCache* cache) {
    const bool same_datetime =
        cache && cache->valid_5424 && p + 19 <= s.size() && same_19_bytes(s.data() + p, cache->datetime);
    if (!same_datetime &&
        !(all_digits(s, p, 4) && p + 19 <= s.size() && s[p + 4] == '-' && all_digits(s, p + 5, 2) &&
          s[p + 7] == '-' && all_digits(s, p + 8, 2) && s[p + 10] == 'T' && all_digits(s, p + 11, 2) &&
          s[p + 13] == ':' && all_digits(s, p + 14, 2) && s[p + 16] == ':' && all_digits(s, p + 17, 2)))
        return std::string_view::npos;
    size_t e = p + 19;
    int64_t millis = 0;
    if (e < s.size() && s[e] == '.') {
        size_t n = 0;
        while (e + 1 + n < s.size() && is_digit(s[e + 1 + n])) n++;
        // \.\d{1,6}: more digits than six cannot be followed by the zone or \s.
        if (n < 1 || n > 6) return std::string_view::npos;
        // Java's SimpleDateFormat `S` after cutting to 3 digits: a whole number of ms.
        millis = digits(s, e + 1, std::min<size_t>(n, 3));
        e += 1 + n;
    }
    bool zoned = false;
    int64_t offset = 0;
    const size_t zone_begin = e;
    if (e < s.size() && s[e] == 'Z') {
        zoned = true;
        e++;
    } else if (e + 6 <= s.size() && (s[e] == '+' || s[e] == '-') && all_digits(s, e + 1, 2) && s[e + 3] == ':' &&
               all_digits(s, e + 4, 2)) {
        zoned = true;
        offset = (digits(s, e + 1, 2) * 60 + digits(s, e + 4, 2)) * 60 * (s[e] == '-' ? -1 : 1);
        e += 6;
    }
    m.stamp = s.substr(p, e - p);
    m.has_stamp = true;
    m.stamp_ok = true;
    if (!cache) {
        m.stamp_ms = syslog_civil_to_ms(digits(s, p, 4), digits(s, p + 5, 2), digits(s, p + 8, 2),
                                        digits(s, p + 11, 2), digits(s, p + 14, 2), digits(s, p + 17, 2), millis,
                                        !zoned, offset);
        return e;
    }
    const std::string_view zone = s.substr(zone_begin, e - zone_begin);
    bool same_zone = zone.size() == cache->zone_len;
    for (size_t i = 0; same_zone && i < zone.size(); i++) same_zone = zone[i] == cache->zone[i];  // 0, 1 or 6 bytes
    if (!same_datetime || !same_zone) {
        // syslog_civil_to_ms adds the millis last: the second is exact.
        int64_t second_ms = syslog_civil_to_ms(digits(s, p, 4), digits(s, p + 5, 2), digits(s, p + 8, 2),
                                               digits(s, p + 11, 2), digits(s, p + 14, 2), digits(s, p + 17, 2), 0,
                                               !zoned, offset);
        memcpy(cache->datetime, s.data() + p, sizeof(cache->datetime));
        memcpy(cache->zone, zone.data(), zone.size());
        cache->zone_len = uint8_t(zone.size());
        cache->seconds = second_ms / 1000;
        char buf[24];
        std::string_view text = int_text(cache->seconds, buf);
        memcpy(cache->seconds_text, text.data(), text.size());
        cache->seconds_text_len = uint8_t(text.size());
        cache->valid_5424 = true;
    }
    m.stamp_ms = cache->seconds * 1000 + millis;
    if (cache->seconds > 0) {
        // seconds * 1000 + millis (0..999) in decimal: the second's digits, then 3.
        static_assert(sizeof(m.stamp_text) >= sizeof(cache->seconds_text) + 3);
        memcpy(m.stamp_text, cache->seconds_text, sizeof(cache->seconds_text));  // fixed size, as above
        char* d = m.stamp_text + cache->seconds_text_len;
        d[0] = char('0' + millis / 100);
        d[1] = char('0' + millis / 10 % 10);
        d[2] = char('0' + millis % 10);
        m.stamp_text_len = uint8_t(cache->seconds_text_len + 3);
    }
    return e;
}

// The rest of the line after `<pri>` against SyslogUtils' RFC 5424 pattern.
// plain: the caller knows the line holds no '\r' and no byte >= 0x80, so no
// line terminator either (the check is skipped).
bool match_5424(std::string_view s, size_t p0, syslog_match& m, SyslogStampCache* cache, bool plain) {
    // (\d?)\s? in the regex's backtracking order.
    for (int combo = 0; combo < 4; combo++) {
        bool take_digit = combo < 2, take_space = combo % 2 == 0;
        size_t p = p0;
        if (take_digit) {
            if (p >= s.size() || !is_digit(s[p])) continue;
            p++;
        }
        if (take_space) {
            if (p >= s.size() || !is_space(s[p])) continue;
            p++;
        }
        syslog_match& t = m;
        t.clear();
        t.version = s.substr(p0, take_digit ? 1 : 0);
        t.has_version = true;
        size_t e = match_5424_stamp(s, p, t, cache);
        if (e == std::string_view::npos) {
            if (p < s.size() && s[p] == '-') e = p + 1;
            else continue;
        }
        if (e >= s.size() || !is_space(s[e])) {
            // A stamp that matched may still be followed by '-'-less junk; the
            // regex then tries '-' at p, which cannot be (p holds a digit).
            continue;
        }
        size_t h = e + 1;
        size_t he;
        if (h < s.size() && s[h] == '-') {
            he = h + 1;
            if (he >= s.size() || !is_space(s[he])) continue;
        } else {
            he = match_host(s, h);
            if (he == std::string_view::npos) continue;
            t.host = s.substr(h, he - h);
            t.has_host = true;
        }
        std::string_view message = s.substr(he + 1);
        if (!plain && has_line_terminator(message)) return false;  // no split makes `.*` take it
        t.message = message;
        return true;
    }
    return false;
}

// The rest after `<pri>` against the RFC 3164 pattern.
bool match_3164(std::string_view s, size_t p0, int64_t year, int64_t now_ms, syslog_match& m,
                SyslogStampCache* cache, bool plain) {
    for (int combo = 0; combo < 4; combo++) {
        bool take_digit = combo < 2, take_space = combo % 2 == 0;
        size_t p = p0;
        if (take_digit) {
            if (p >= s.size() || !is_digit(s[p])) continue;
            p++;
        }
        if (take_space) {
            if (p >= s.size() || !is_space(s[p])) continue;
            p++;
        }
        // [A-Z][a-z][a-z]\s{1,2}\d{1,2}\s\d{2}:\d{2}:\d{2}
        if (p + 3 > s.size() || !(s[p] >= 'A' && s[p] <= 'Z') || !(s[p + 1] >= 'a' && s[p + 1] <= 'z') ||
            !(s[p + 2] >= 'a' && s[p + 2] <= 'z'))
            continue;
        size_t q = p + 3, ws = 0;
        while (q < s.size() && is_space(s[q]) && ws < 2) q++, ws++;
        if (ws == 0) continue;
        size_t nd = 0;
        while (q + nd < s.size() && is_digit(s[q + nd]) && nd < 2) nd++;
        if (nd == 0) continue;
        size_t dq = q;
        q += nd;
        if (q >= s.size() || !is_space(s[q])) continue;
        q++;
        if (!(all_digits(s, q, 2) && q + 8 <= s.size() && s[q + 2] == ':' && all_digits(s, q + 3, 2) &&
              s[q + 5] == ':' && all_digits(s, q + 6, 2)))
            continue;
        size_t e = q + 8;
        if (e >= s.size() || !is_space(s[e])) continue;
        size_t he = match_host(s, e + 1);
        if (he == std::string_view::npos) continue;
        std::string_view message = s.substr(he + 1);
        if (!plain && has_line_terminator(message)) return false;
        syslog_match& t = m;
        t.clear();
        t.version = take_digit ? s.substr(p0, 1) : std::string_view();
        t.has_version = take_digit;
        t.stamp = s.substr(p, e - p);
        t.has_stamp = true;
        int64_t ms = 0;
        if (cache && cache->valid_3164 && cache->now_3164 == now_ms && t.stamp.size() == cache->stamp_3164_len &&
            same_14_to_16_bytes(t.stamp.data(), cache->stamp_3164, t.stamp.size())) {
            t.stamp_ok = cache->ok_3164;
            ms = cache->ms_3164;
        } else {
            t.stamp_ok = rfc3164_ms(month_of(s.substr(p, 3), false), digits(s, dq, nd), digits(s, q, 2),
                                    digits(s, q + 3, 2), digits(s, q + 6, 2), year, now_ms, &ms);
            if (cache && t.stamp.size() <= sizeof(cache->stamp_3164)) {
                memcpy(cache->stamp_3164, t.stamp.data(), t.stamp.size());
                cache->stamp_3164_len = uint8_t(t.stamp.size());
                cache->now_3164 = now_ms;
                cache->ok_3164 = t.stamp_ok;
                cache->ms_3164 = ms;
                char buf[24];
                std::string_view text = int_text(ms, buf);
                memcpy(cache->ms_3164_text, text.data(), text.size());
                cache->ms_3164_text_len = uint8_t(text.size());
                cache->valid_3164 = true;
            }
        }
        t.stamp_ms = ms;
        if (cache && cache->valid_3164 && t.stamp_ok && cache->ms_3164 == ms)
            set_stamp_text(t, cache->ms_3164_text, cache->ms_3164_text_len);
        t.host = s.substr(e + 1, he - e - 1);
        t.has_host = true;
        t.message = message;
        return true;
    }
    return false;
}

// Body with keepFields re-prepended (docs/syslog.md §1.3).
std::string_view keep_body(const SyslogKeepFields& k, std::string_view message, std::string_view priority,
                           std::string_view version, std::string_view stamp, std::string_view host,
                           std::string& scratch) {
    if (!k.priority && !k.version && !k.timestamp && !k.hostname) return message;
    scratch.clear();
    if (k.priority) {
        scratch += '<';
        scratch += priority;
        scratch += '>';
    }
    if (k.version && !version.empty()) {
        scratch += version;
        scratch += ' ';
    }
    if (k.timestamp) {
        scratch += stamp;
        scratch += ' ';
    }
    if (k.hostname) {
        scratch += host;
        scratch += ' ';
    }
    scratch += message;
    return scratch;
}

}  // namespace

int64_t syslog_civil_to_ms(int64_t year, int64_t month, int64_t day, int64_t hour, int64_t minute, int64_t second,
                           int64_t millis, bool local_zone, int64_t utc_offset_s) {
    int64_t m0 = month - 1;
    year += m0 >= 0 ? m0 / 12 : (m0 - 11) / 12;
    int64_t m = ((m0 % 12) + 12) % 12 + 1;
    int64_t secs = (days_from_civil(year, m, 1) + (day - 1)) * 86400 + hour * 3600 + minute * 60 + second;
    if (local_zone) {
        int64_t off = local_offset_s(secs);
        int64_t t = secs - off;
        int64_t off2 = local_offset_s(t);
        if (off2 != off) t = secs - off2;
        secs = t;
    } else {
        secs -= utc_offset_s;
    }
    return secs * 1000 + millis;
}

SyslogKeepFields parse_keep_fields(std::string_view value) {
    std::string v;
    size_t b = 0, e = value.size();
    while (b < e && isspace(static_cast<unsigned char>(value[b]))) b++;
    while (e > b && isspace(static_cast<unsigned char>(value[e - 1]))) e--;
    for (size_t i = b; i < e; i++) v += char(tolower(static_cast<unsigned char>(value[i])));
    SyslogKeepFields k;
    if (v == "false" || v == "none") return k;
    if (v == "true" || v == "all") {
        k.all = true;
        return k;
    }
    k.priority = v.find("priority") != std::string::npos;
    k.version = v.find("version") != std::string::npos;
    k.timestamp = v.find("timestamp") != std::string::npos;
    k.hostname = v.find("hostname") != std::string::npos;
    return k;
}

bool SyslogUtilsParser::build(std::string_view line, bool bad, bool incomplete, std::string_view prio,
                              EventBatch& out, std::span<const Header> extra, int64_t now_ms, bool plain) {
    int64_t facility = 0, severity = 0;
    syslog_match m;
    bool matched = false;
    if (!bad) {
        if (prio.empty()) return false;  // Integer.parseInt("") fails in Flume
        int64_t pri = digits(prio, 0, prio.size());
        facility = pri / 8;
        severity = pri % 8;
        size_t p0 = prio.size() + 2;  // '<' digits '>'
        if (p0 <= line.size() && line[p0 - 1] == '>') {
            SyslogStampCache* cache = _fast ? &_stamps : nullptr;
            matched = match_5424(line, p0, m, cache, plain);
            if (!matched) {
                int64_t now_s = now_ms / 1000;
                if (now_s != _year_for_s) {
                    _year_for_s = now_s;
                    _year = local_year(now_ms);
                }
                matched = match_3164(line, p0, _year, now_ms, m, cache, plain);
            }
        }
        if (matched) {
            // prio holds 1-3 digits (scan_prio), a version at most one.
            memcpy(_priority, prio.data(), prio.size());
            _priority_len = uint8_t(prio.size());
            if (!m.version.empty()) _version[0] = m.version[0];
            _version_len = uint8_t(m.version.size());
        }
    }
    emit(line, bad, incomplete, matched, prio, facility, severity, m, out, extra);
    return true;
}

inline uint32_t SyslogUtilsParser::read_offset(std::string_view v, EventBatch& out) {
    const auto at = reinterpret_cast<uintptr_t>(v.data()), read = reinterpret_cast<uintptr_t>(_read.data());
    if (!_fast || v.empty() || at < read || at + v.size() > read + _read.size()) return UINT32_MAX;
    // The read's bytes go into the batch once; its lines' bodies and header
    // values point there.
    if (_read_off == UINT32_MAX) _read_off = out.append_bytes(_read);
    return _read_off + uint32_t(at - read);
}

void SyslogUtilsParser::add_body(std::string_view body, EventBatch& out) {
    if (uint32_t off = read_offset(body, out); off != UINT32_MAX) out.add_at(off, uint32_t(body.size()));
    else out.add(body);
}

namespace {

// What SyslogUtilsParser writes into a batch once per feed call (checked by
// content before reuse): the header names, the status values, and the
// decimal numbers 0..124 (every Facility and Severity a 3-digit priority can
// give) for values by offset.
constexpr std::string_view header_keys = "FacilitySeveritypriorityversiontimestamphostflume.syslog.status";
constexpr size_t status_off = header_keys.size();  // "Invalid" then "Incomplete"
constexpr size_t numbers_off = status_off + syslog_invalid.size() + syslog_incomplete.size();
constexpr int64_t max_number = 124;
constexpr auto keys_block = [] {
    std::array<char, numbers_off + 10 + 90 * 2 + 25 * 3> b{};
    size_t i = 0;
    for (char c : header_keys) b[i++] = c;
    for (char c : syslog_invalid) b[i++] = c;
    for (char c : syslog_incomplete) b[i++] = c;
    for (int n = 0; n <= max_number; n++) {
        if (n >= 100) b[i++] = char('0' + n / 100);
        if (n >= 10) b[i++] = char('0' + n / 10 % 10);
        b[i++] = char('0' + n % 10);
    }
    return b;
}();
// Where the decimal text of n (0..max_number) starts in keys_block.
constexpr uint32_t number_off(int64_t n) {
    return uint32_t(numbers_off + (n < 10 ? n : n < 100 ? 10 + 2 * (n - 10) : 190 + 3 * (n - 100)));
}
constexpr uint32_t number_len(int64_t n) { return n < 10 ? 1 : n < 100 ? 2 : 3; }

}  // namespace

void SyslogUtilsParser::ensure_keys(EventBatch& out) {
    if (_keys_checked) return;
    const std::string_view keys(keys_block.data(), keys_block.size());
    uint32_t arena_end = out.append_bytes({});
    if (_keys_batch != &out || size_t(_keys_off) + keys.size() > arena_end ||
        memcmp(out.arena_data() + _keys_off, keys.data(), keys.size()) != 0) {
        _keys_off = out.append_bytes(keys);
        _keys_batch = &out;
    }
    _keys_checked = true;
    _last_stamp_valid = false;
}

// The line as most are: matched, with a timestamp and a host, nothing kept,
// and every view in the read. The same events as the general code below
// (tests/io/syslog_fast_path_test.cc), without its per-value choices.
void SyslogUtilsParser::emit_common(std::string_view line, std::string_view prio, int64_t facility, int64_t severity,
                                    const syslog_match& m, EventBatch& out, std::span<const Header> extra) {
    if (_read_off == UINT32_MAX) _read_off = out.append_bytes(_read);
    auto at = [&](std::string_view v) { return _read_off + uint32_t(v.data() - _read.data()); };
    const std::string_view body = m.message.empty() ? line : m.message;
    out.add_at(at(body), uint32_t(body.size()));
    ensure_keys(out);
    if (!_last_stamp_valid || m.stamp_ms != _last_stamp_ms) {
        char buf[24];
        const std::string_view text =
            m.stamp_text_len ? std::string_view(m.stamp_text, m.stamp_text_len) : int_text(m.stamp_ms, buf);
        _last_stamp_off = out.append_bytes(text);
        _last_stamp_len = uint32_t(text.size());
        _last_stamp_ms = m.stamp_ms;
        _last_stamp_valid = true;
    }
    // A matched priority has 1-3 digits: Facility <= 124, Severity <= 7, both in the keys block.
    const uint32_t k = _keys_off;
    const bool version = !m.version.empty();
    EventBatch::HeaderAt* h = out.add_headers_at(5 + version);
    h[0] = {k + 0, 8, k + number_off(facility), number_len(facility)};
    h[1] = {k + 8, 8, k + number_off(severity), number_len(severity)};
    h[2] = {k + 16, 8, at(prio), uint32_t(prio.size())};
    if (version) h[3] = {k + 24, 7, at(m.version), uint32_t(m.version.size())};
    h[3 + version] = {k + 31, 9, _last_stamp_off, _last_stamp_len};
    h[4 + version] = {k + 40, 4, at(m.host), uint32_t(m.host.size())};
    for (const auto& e : extra) out.add_header(e.key, e.value);
}

void SyslogUtilsParser::emit(std::string_view line, bool bad, bool incomplete, bool matched, std::string_view prio,
                             int64_t facility, int64_t severity, const syslog_match& m, EventBatch& out,
                             std::span<const Header> extra) {
    const bool keeps_none = !_keep.all && !_keep.priority && !_keep.version && !_keep.timestamp && !_keep.hostname;
    if (_fast && matched && !bad && !incomplete && keeps_none && m.has_stamp && m.stamp_ok && m.has_host &&
        m.host.size() <= 80 && in_read(line) && in_read(prio)) {
        emit_common(line, prio, facility, severity, m, out, extra);
        return;
    }
    // A matched line's priority and version are its own (the kept ones were
    // just set to them): views into the line, which may lie in the batch.
    const std::string_view priority = matched ? prio : std::string_view(_priority, _priority_len);
    const std::string_view version = matched ? m.version : std::string_view(_version, _version_len);
    std::string_view body = line;
    if (!_keep.all && matched && !m.message.empty()) {
        body = m.message;
        if (!keeps_none)
            body = keep_body(_keep, m.message, priority, version, m.stamp, m.has_host ? m.host : "-", _scratch);
    }
    add_body(body, out);
    ensure_keys(out);
    char buf[24];
    const bool has_stamp = matched && m.has_stamp && m.stamp_ok;
    std::string_view stamp_text;
    if (has_stamp)
        stamp_text = m.stamp_text_len ? std::string_view(m.stamp_text, m.stamp_text_len) : int_text(m.stamp_ms, buf);
    // Facility and Severity (0..124 and 0..7: a priority has at most 3
    // digits) are in the keys block; their text is only made for the
    // general path.
    char fbuf[24], sbuf[24];
    auto number = [&](int64_t n, char (&b)[24]) {
        return _fast && n <= max_number
                   ? std::string_view(keys_block.data() + number_off(n), n < 10 ? 1 : n < 100 ? 2 : 3)
                   : int_text(n, b);
    };
    // Values in order: Facility, Severity, priority, version, timestamp, host, status.
    const std::string_view v[7] = {number(facility, fbuf),
                                   number(severity, sbuf),
                                   priority,
                                   version,
                                   stamp_text,
                                   matched && m.has_host ? m.host : std::string_view(),
                                   bad ? syslog_invalid : incomplete ? syslog_incomplete : std::string_view()};
    if (v[5].size() > 80) {
        // A long host: the plain path.
        out.add_header("Facility", v[0]);
        out.add_header("Severity", v[1]);
        if (!priority.empty()) out.add_header("priority", priority);
        if (!version.empty()) out.add_header("version", version);
        if (has_stamp) out.add_header("timestamp", stamp_text);
        out.add_header("host", v[5]);
        if (!v[6].empty()) out.add_header(syslog_status_header, v[6]);
        for (const auto& h : extra) out.add_header(h.key, h.value);
        return;
    }
    // Each value's offset in the batch: already there (fast path: in the
    // read, in the keys block, or the previous event's timestamp), or copied
    // with the others in one append (at most 3+1+3+1+20+80+10 bytes).
    uint32_t off[7];
    char values[160];
    uint32_t in_values = 0;  // bit i: off[i] is relative to `values`
    size_t vlen = 0;
    const uint32_t k = _keys_off;
    for (int i = 0; i < 7; i++) {
        off[i] = 0;
        if (v[i].empty()) continue;
        if (_fast) {
            if (i < 2 && (i == 0 ? facility : severity) <= max_number) {
                off[i] = k + number_off(i == 0 ? facility : severity);
                continue;
            }
            if (i == 6) {
                off[i] = k + uint32_t(bad ? status_off : status_off + syslog_invalid.size());
                continue;
            }
            if (i == 4 && _last_stamp_valid && m.stamp_ms == _last_stamp_ms) {  // same value, same text
                off[i] = _last_stamp_off;
                continue;
            }
            if (uint32_t r = read_offset(v[i], out); r != UINT32_MAX) {
                off[i] = r;
                continue;
            }
        }
        memcpy(values + vlen, v[i].data(), v[i].size());
        off[i] = uint32_t(vlen);
        in_values |= 1u << i;
        vlen += v[i].size();
    }
    if (vlen) {
        const uint32_t base = out.append_bytes(std::string_view(values, vlen));
        for (int i = 0; i < 7; i++)
            if (in_values & (1u << i)) off[i] += base;
        if (_fast && (in_values & (1u << 4))) {
            _last_stamp_valid = true;
            _last_stamp_ms = m.stamp_ms;
            _last_stamp_off = off[4];
            _last_stamp_len = uint32_t(v[4].size());
        }
    }
    // Facility and Severity always; the others when they have a value.
    const bool host = matched && m.has_host;
    const uint32_t n = 2 + !v[2].empty() + !v[3].empty() + !v[4].empty() + host + !v[6].empty();
    EventBatch::HeaderAt* h = out.add_headers_at(n);
    auto set = [&](uint32_t key_off, uint32_t key_len, int value) {
        *h++ = {k + key_off, key_len, off[value], uint32_t(v[value].size())};
    };
    set(0, 8, 0);                    // Facility
    set(8, 8, 1);                    // Severity
    if (!v[2].empty()) set(16, 8, 2);   // priority
    if (!v[3].empty()) set(24, 7, 3);   // version
    if (!v[4].empty()) set(31, 9, 4);   // timestamp
    if (host) set(40, 4, 5);            // host
    if (!v[6].empty()) set(44, 19, 6);  // flume.syslog.status
    for (const auto& e : extra) out.add_header(e.key, e.value);
}

// The first '\n' in p[from, limit), or npos. *plain: the bytes from `from`
// up to it hold no '\r' and none >= 0x80 (so no line terminator Java's `.`
// refuses). One pass, 16 bytes at a time where SSE2 is there.
static size_t find_line_end(const char* p, size_t from, size_t limit, bool* plain) {
    size_t i = from;
    bool special = false;
#if defined(__SSE2__)
    const __m128i nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    for (; i + 16 <= limit; i += 16) {
        const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const unsigned at_nl = unsigned(_mm_movemask_epi8(_mm_cmpeq_epi8(v, nl)));
        // The top bit of (byte == '\r' ? 0xFF : byte): a '\r' or a byte >= 0x80.
        const unsigned odd = unsigned(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, cr), v)));
        if (at_nl != 0) {
            const unsigned k = unsigned(__builtin_ctz(at_nl));
            *plain = !special && (odd & ((1u << k) - 1)) == 0;
            return i + k;
        }
        special |= odd != 0;
    }
#endif
    for (; i < limit; i++) {
        const unsigned char c = static_cast<unsigned char>(p[i]);
        if (c == '\n') {
            *plain = !special;
            return i;
        }
        special |= c == '\r' || c >= 0x80;
    }
    *plain = false;
    return std::string_view::npos;
}

// The PRIO phase of a line starting at data[s] (a byte other than '\n').
// Returns false if the data ends inside it. Otherwise data_start is where
// DATA mode begins, bad says whether the line is invalid, prio the digits.
static bool scan_prio(std::string_view data, size_t s, size_t* data_start, bool* bad, std::string_view* prio) {
    if (data[s] != '<') {
        *bad = true;
        *data_start = s + 1;
        *prio = {};
        return true;
    }
    size_t p = s + 1, n = 0;
    while (p < data.size()) {
        char c = data[p];
        if (c == '>') {
            *bad = n == 0;
            *data_start = p + 1;
            *prio = data.substr(s + 1, n);
            return true;
        }
        if (!is_digit(c) || n == 3) {
            *bad = true;
            *data_start = p + 1;
            *prio = {};
            return true;
        }
        n++;
        p++;
    }
    return false;
}

size_t SyslogUtilsParser::continue_line(std::string_view data, EventBatch& out, std::span<const Header> extra,
                                        int64_t now_ms, uint32_t& events) {
    size_t i = 0;
    while (i < data.size()) {
        char c = data[i];
        switch (_mode) {
        case mode::start:
            return i;  // the line is done; the fast path takes over
        case mode::prio:
            _line += c;
            i++;
            if (c == '>') {
                _bad = _prio_len == 0;
                _mode = mode::data;
            } else if (!is_digit(c) || _prio_len == 3) {
                _bad = true;
                _prio_len = 0;
                _mode = mode::data;
            } else {
                _prio[_prio_len++] = c;
            }
            break;
        case mode::data: {
            size_t room = _max_size - _line.size();
            size_t avail = std::min(room, data.size() - i);
            const void* nl = memchr(data.data() + i, '\n', avail);
            if (nl) {
                size_t j = size_t(static_cast<const char*>(nl) - data.data());
                _line.append(data.data() + i, j - i);
                i = j + 1;
                if (build(_line, _bad, false, std::string_view(_prio, _bad ? 0 : _prio_len), out, extra, now_ms))
                    events++;
            } else {
                _line.append(data.data() + i, avail);
                i += avail;
                if (_line.size() < _max_size) return i;
                if (build(_line, _bad, true, std::string_view(_prio, _bad ? 0 : _prio_len), out, extra, now_ms))
                    events++;
            }
            _line.clear();
            _prio_len = 0;
            _bad = false;
            _mode = mode::start;
            return i;
        }
        }
    }
    return i;
}

uint32_t SyslogUtilsParser::feed_stream(std::string_view data, EventBatch& out, std::span<const Header> extra,
                                        int64_t now_ms) {
    _keys_checked = false;
    _read = data;
    _read_off = UINT32_MAX;
    uint32_t events = 0;
    size_t i = 0;
    if (_mode != mode::start) i = continue_line(data, out, extra, now_ms, events);
    const size_t n = data.size();
    while (i < n) {
        // START: newlines between events are skipped.
        if (data[i] == '\n') {
            i++;
            continue;
        }
        size_t s = i, ds = 0;
        bool bad = false;
        std::string_view prio;
        if (!scan_prio(data, s, &ds, &bad, &prio)) {
            // The data ends inside the priority: hold it.
            _line.assign(data.data() + s, n - s);
            _mode = mode::prio;
            _prio_len = n - s - 1;
            memcpy(_prio, data.data() + s + 1, _prio_len);
            _bad = false;
            return events;
        }
        // DATA: the line ends at '\n' before it holds max_size bytes.
        size_t limit = std::min(n, s + _max_size);
        bool plain = false;
        size_t j = std::string_view::npos;
        if (_fast) {
            j = ds < limit ? find_line_end(data.data(), ds, limit, &plain) : std::string_view::npos;
        } else if (const void* nl = ds < limit ? memchr(data.data() + ds, '\n', limit - ds) : nullptr) {
            j = size_t(static_cast<const char*>(nl) - data.data());
        }
        if (j != std::string_view::npos) {
            if (build(data.substr(s, j - s), bad, false, prio, out, extra, now_ms, plain)) events++;
            i = j + 1;
        } else if (s + _max_size <= n) {
            if (build(data.substr(s, _max_size), bad, true, prio, out, extra, now_ms)) events++;
            i = s + _max_size;
        } else {
            _line.assign(data.data() + s, n - s);
            _mode = mode::data;
            _bad = bad;
            _prio_len = prio.size();
            if (!prio.empty()) memcpy(_prio, prio.data(), prio.size());
            return events;
        }
    }
    return events;
}

bool SyslogUtilsParser::feed_datagram(std::string_view data, EventBatch& out, std::span<const Header> extra,
                                      int64_t now_ms) {
    _keys_checked = false;
    _read = {};  // one event: its body is copied
    size_t i = 0;
    while (i < data.size() && data[i] == '\n') i++;
    if (i == data.size()) return false;  // nothing but newlines: no priority
    size_t s = i, ds = 0;
    bool bad = false;
    std::string_view prio;
    if (!scan_prio(data, s, &ds, &bad, &prio)) {
        // Ends inside the priority: Flume builds the event from what it has.
        return build(data.substr(s), false, false, data.substr(s + 1), out, extra, now_ms);
    }
    size_t limit = std::min(data.size(), s + _max_size);
    const void* nl = ds < limit ? memchr(data.data() + ds, '\n', limit - ds) : nullptr;
    if (nl) {
        size_t j = size_t(static_cast<const char*>(nl) - data.data());
        return build(data.substr(s, j - s), bad, false, prio, out, extra, now_ms);
    }
    if (s + _max_size <= data.size()) return build(data.substr(s, _max_size), bad, true, prio, out, extra, now_ms);
    return build(data.substr(s), bad, false, prio, out, extra, now_ms);
}

// ------------------------------------------------------------ multiport

bool valid_utf8(std::string_view s) {
    size_t i = 0, n = s.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
        else return false;
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            unsigned char cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80) return false;
            cp = cp << 6 | (cc & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

namespace {

// Java's Integer.parseInt.
bool java_parse_int(std::string_view s, int64_t* out) {
    if (s.empty()) return false;
    size_t i = 0;
    bool neg = false;
    if (s[0] == '+' || s[0] == '-') {
        neg = s[0] == '-';
        i = 1;
        if (s.size() == 1) return false;
    }
    int64_t v = 0;
    for (; i < s.size(); i++) {
        if (!is_digit(s[i])) return false;
        v = v * 10 + (s[i] - '0');
        if (v > int64_t(INT32_MAX) + 1) return false;
    }
    if (neg) v = -v;
    if (v > INT32_MAX || v < INT32_MIN) return false;
    *out = v;
    return true;
}

// Bytes of the first `units` UTF-16 code units of UTF-8 text (Java's
// substring on a decoded line); npos if the text is shorter.
size_t utf16_units_to_bytes(std::string_view s, size_t pos, size_t units) {
    size_t i = pos;
    while (units > 0) {
        if (i >= s.size()) return std::string_view::npos;
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        size_t u = len == 4 ? 2 : 1;
        if (u > units) return std::string_view::npos;
        units -= u;
        i += len;
    }
    return i - pos;
}

// SyslogParser's RFC 3164 time: strict "Mmm d HH:mm:ss" after the first
// double space becomes one; 0 when it does not parse.
int64_t multiport_3164_ms(std::string_view ts, int64_t now_ms) {
    std::string t(ts);
    if (auto dd = t.find("  "); dd != std::string::npos) t.erase(dd, 1);
    int month = month_of(std::string_view(t).substr(0, 3), true);
    if (month == 0 || t.size() < 4 || t[3] != ' ') return 0;
    size_t p = 4, nd = 0;
    while (p + nd < t.size() && is_digit(t[p + nd]) && nd < 2) nd++;
    if (nd == 0) return 0;
    int64_t day = digits(t, p, nd);
    p += nd;
    if (p + 9 != t.size() || t[p] != ' ' || !all_digits(t, p + 1, 2) || t[p + 3] != ':' || !all_digits(t, p + 4, 2) ||
        t[p + 6] != ':' || !all_digits(t, p + 7, 2))
        return 0;
    int64_t h = digits(t, p + 1, 2), mi = digits(t, p + 4, 2), s = digits(t, p + 7, 2);
    if (h > 23 || mi > 59 || s > 59 || day < 1 || day > 31) return 0;
    int64_t year = local_year(now_ms);
    if (day > days_in_month(year, month) && !(month == 2 && day == 29)) return 0;
    auto at = [&](int64_t y, int64_t dm) {
        int64_t m0 = month - 1 + dm;
        int64_t yy = y + (m0 >= 0 ? m0 / 12 : (m0 - 11) / 12);
        int64_t mm = ((m0 % 12) + 12) % 12 + 1;
        int64_t d = std::min<int64_t>(day, days_in_month(yy, mm));
        return syslog_civil_to_ms(yy, mm, d, h, mi, s, 0, true);
    };
    int64_t fixed = at(year, 0);
    if (fixed > now_ms && at(year, -1) > now_ms) fixed = at(year - 1, 0);
    else if (fixed < now_ms && at(year, 1) < now_ms) fixed = at(year + 1, 0);
    return fixed;
}

// SyslogParser's RFC 5424 date; false when Flume throws.
bool multiport_5424_ms(std::string_view d, int64_t* out) {
    if (d.size() <= 19) return false;
    if (!(all_digits(d, 0, 4) && d[4] == '-' && all_digits(d, 5, 2) && d[7] == '-' && all_digits(d, 8, 2) &&
          d[10] == 'T' && all_digits(d, 11, 2) && d[13] == ':' && all_digits(d, 14, 2) && d[16] == ':' &&
          all_digits(d, 17, 2)))
        return false;
    int64_t mo = digits(d, 5, 2), day = digits(d, 8, 2), h = digits(d, 11, 2), mi = digits(d, 14, 2),
            s = digits(d, 17, 2), y = digits(d, 0, 4);
    if (mo < 1 || mo > 12 || day < 1 || day > days_in_month(y, mo) || h > 23 || mi > 59 || s > 59) return false;
    int64_t ts = syslog_civil_to_ms(y, mo, day, h, mi, s, 0, false, 0);
    size_t p = 19;
    if (d[p] == '.') {
        size_t e = p + 1;
        if (d.size() <= e) return false;
        while (e < d.size() && is_digit(d[e])) e++;
        if (e >= d.size()) return false;  // Flume reads past the end (an exception)
        if (e == p + 1) return false;
        std::string frac(d.substr(p, e - p));
        float f = strtof(frac.c_str(), nullptr);
        ts += int64_t(f * 1000.0f);
        p = e;
    }
    if (p >= d.size()) return false;
    char tz = d[p];
    if (tz == '+' || tz == '-') {
        if (d.size() <= p + 5) return false;
        if (!(all_digits(d, p + 1, 2) && d[p + 3] == ':' && all_digits(d, p + 4, 2))) return false;
        int64_t off = (digits(d, p + 1, 2) * 60 + digits(d, p + 4, 2)) * 60000;
        ts -= (tz == '+' ? 1 : -1) * off;
    }
    *out = ts;
    return true;
}

void invalid_event(std::string_view line, EventBatch& out, std::span<const Header> extra) {
    out.add(line);
    out.add_header(syslog_status_header, syslog_invalid);
    for (const auto& h : extra) out.add_header(h.key, h.value);
}

}  // namespace

void parse_multiport_line(std::string_view msg, bool incomplete, syslog_charset charset, SyslogKeepFields keep,
                          EventBatch& out, std::span<const Header> extra, int64_t now_ms) {
    bool decodable = charset == syslog_charset::latin1 ? true
                     : charset == syslog_charset::utf8
                         ? valid_utf8(msg)
                         : std::all_of(msg.begin(), msg.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!decodable || msg.empty() || msg[0] != '<') return invalid_event(msg, out, extra);
    size_t close = msg.find('>');
    if (close == std::string_view::npos || close == 0 || close > 6) return invalid_event(msg, out, extra);
    std::string_view priority = msg.substr(1, close - 1);
    int64_t pri = 0;
    if (!java_parse_int(priority, &pri)) return invalid_event(msg, out, extra);
    if (msg.size() <= close + 1) return invalid_event(msg, out, extra);
    size_t cur = close + 1;
    std::string_view version;
    if (msg.size() > cur + 2 && msg.substr(cur, 2) == "1 ") {
        version = "1";
        cur += 2;
    }
    int64_t ts = 0;
    std::string_view stamp;
    char first = msg[cur];
    if (first == '-') {
        ts = now_ms;
        stamp = msg.substr(cur, 1);
        if (msg.size() <= cur + 2) return invalid_event(msg, out, extra);
        cur += 2;
    } else if (first >= 'A' && first <= 'Z') {
        size_t len = utf16_units_to_bytes(msg, cur, 15);
        if (len == std::string_view::npos || msg.size() <= cur + len) return invalid_event(msg, out, extra);
        stamp = msg.substr(cur, len);
        ts = multiport_3164_ms(stamp, now_ms);
        // The stamp and the one character after it.
        size_t next = utf16_units_to_bytes(msg, cur + len, 1);
        cur += len + (next == std::string_view::npos ? 1 : next);
    } else {
        size_t sp = msg.find(' ', cur);
        if (sp == std::string_view::npos) return invalid_event(msg, out, extra);
        stamp = msg.substr(cur, sp - cur);
        if (!multiport_5424_ms(stamp, &ts)) return invalid_event(msg, out, extra);
        cur = sp + 1;
    }
    if (cur > msg.size()) return invalid_event(msg, out, extra);
    size_t sp = msg.find(' ', cur);
    if (sp == std::string_view::npos) return invalid_event(msg, out, extra);
    std::string_view host = msg.substr(cur, sp - cur);
    std::string scratch;
    std::string_view body = msg;
    if (msg.size() > sp + 1 && !keep.all)
        body = keep_body(keep, msg.substr(sp + 1), priority, version, stamp, host, scratch);
    out.add(body);
    char buf[24];
    out.add_header("Priority", priority);
    out.add_header("Facility", int_text(pri / 8, buf));
    out.add_header("Severity", int_text(pri % 8, buf));
    if (!version.empty()) out.add_header("Version", version);
    out.add_header("timestamp", int_text(ts, buf));
    out.add_header("host", host);
    if (incomplete) out.add_header(syslog_status_header, syslog_incomplete);
    for (const auto& h : extra) out.add_header(h.key, h.value);
}

}  // namespace sluice
