// SPDX-License-Identifier: Apache-2.0
// SyslogUtilsParser's fast path (timestamps through SyslogStampCache, the
// read copied into the batch once with bodies and header values pointing into
// it, lines scanned for '\n', '\r' and high bytes in one pass) against the
// general path (set_fast_path(false)): over many generated lines, both give
// the same events, byte for byte and header for header, in order. The lines
// cover the common RFC 5424 / RFC 3164 shapes and their edges: fractional
// seconds, zones, stamps before and at the epoch, missing fields, NILVALUE,
// bad priorities, line terminators in the message, over-long lines, and
// random mutations of all of these.
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "io/syslog_parser.h"

namespace sluice {
namespace {

// 2024-06-15T12:00:00Z: "now" for RFC 3164's year.
constexpr int64_t now_ms = 1718452800000;

struct flat_event {
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // in order
    bool operator==(const flat_event&) const = default;
};

std::vector<flat_event> flatten(const EventBatch& b) {
    std::vector<flat_event> out;
    for (uint32_t i = 0; i < b.size(); i++) {
        flat_event e;
        e.body = std::string(b[i].body());
        for (uint32_t h = 0; h < b[i].header_count(); h++)
            e.headers.emplace_back(std::string(b[i].header(h).key), std::string(b[i].header(h).value));
        out.push_back(std::move(e));
    }
    return out;
}

std::string show(const flat_event& e) {
    std::string s = "body=[" + e.body + "]";
    for (const auto& [k, v] : e.headers) s += " " + k + "=" + v;
    return s;
}

template <class T>
const T& pick(std::mt19937& rng, const std::vector<T>& from) {
    return from[std::uniform_int_distribution<size_t>(0, from.size() - 1)(rng)];
}

// One syslog line (without its '\n') from pieces chosen at random: mostly
// well-formed RFC 5424 and RFC 3164 shapes, with every edge in the mix.
std::string random_line(std::mt19937& rng) {
    static const std::vector<std::string> prios = {
        "<0>", "<13>", "<165>", "<191>", "<010>", "<999>", "<7>", "<34>", "<1000>", "<>", "<a>", "<13", "13>", "",
        "<-1>", "<1 >"};
    static const std::vector<std::string> versions = {"1", "1", "1", "", "", "2", "12", "x"};
    static const std::vector<std::string> seps = {" ", " ", " ", " ", "\t", "", "  ", "\r", "\v"};
    static const std::vector<std::string> dates = {
        "2024-06-15T12:00:00", "2024-06-15T12:00:00", "2024-06-15T12:00:01", "2003-10-11T22:14:15",
        "1969-12-31T23:59:59", "1970-01-01T00:00:00", "1970-01-01T00:00:01", "2024-13-40T25:61:61",
        "2024-02-29T00:00:00", "2024-6-15T12:00:00", "2024-06-15 12:00:00", "0000-00-00T00:00:00",
        "9999-12-31T23:59:59"};
    static const std::vector<std::string> fractions = {"", "", ".000", ".5", ".05", ".123", ".999", ".123456",
                                                       ".1234567", ".", ".12a"};
    static const std::vector<std::string> zones = {"Z", "Z", "", "+02:00", "-05:30", "+00:00", "+2:00", "z",
                                                   "+14:00", "-"};
    static const std::vector<std::string> stamps3164 = {
        "Jun 15 12:00:00", "Jun  5 12:00:00", "Jan 1 00:00:00", "Dec 31 23:59:59", "Foo 1 00:00:00",
        "jun 15 12:00:00", "Feb 29 10:00:00", "Jun 15 12:00", "Jul 4 1:00:00", "Jun\t15 12:00:00", "Jun 15  12:00:00"};
    static const std::vector<std::string> hosts = {"loadgen",   "loadgen", "-",   "host.example.com", "a@b-c.d",
                                                   "_x",        "",        "-x",  "h\xc3\xa9",        "web1",
                                                   std::string(100, 'h'), std::string(79, 'k')};
    static const std::vector<std::string> messages = {
        "sluice-loadgen - - - w1 w2 w3", "su: 'su root' failed", "hi", "", "x\r", "caf\xc3\xa9 ok", "a\xc2\x85" "b",
        "ls\xe2\x80\xa8 next", "\xe2\x80\xa9", "tab\there", "w" + std::string(300, 'x'), "- - -", "  ", "\xff\xfe"};
    std::string line = pick(rng, prios);
    const int shape = std::uniform_int_distribution<int>(0, 9)(rng);
    if (shape < 5) {  // RFC 5424
        line += pick(rng, versions) + pick(rng, seps);
        if (std::uniform_int_distribution<int>(0, 7)(rng) == 0) line += "-";
        else line += pick(rng, dates) + pick(rng, fractions) + pick(rng, zones);
        line += pick(rng, seps) + pick(rng, hosts) + pick(rng, seps) + pick(rng, messages);
    } else if (shape < 9) {  // RFC 3164
        if (std::uniform_int_distribution<int>(0, 5)(rng) == 0) line += pick(rng, versions) + pick(rng, seps);
        line += pick(rng, stamps3164) + pick(rng, seps) + pick(rng, hosts) + pick(rng, seps) + pick(rng, messages);
    } else {  // free text
        line += pick(rng, messages);
    }
    // Now and then a mutation or two anywhere in the line.
    static const std::string alphabet = "0123456789<>-:.TZ+ \t\r\xc2\x85\xe2\x80\xa8" "abcJunx";
    int mutations = std::uniform_int_distribution<int>(0, 9)(rng) < 2 ? std::uniform_int_distribution<int>(1, 3)(rng) : 0;
    for (int i = 0; i < mutations && !line.empty(); i++) {
        size_t at = std::uniform_int_distribution<size_t>(0, line.size() - 1)(rng);
        char c = alphabet[std::uniform_int_distribution<size_t>(0, alphabet.size() - 1)(rng)];
        switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
        case 0: line[at] = c; break;
        case 1: line.insert(at, 1, c); break;
        default: line.erase(at, 1); break;
        }
    }
    return line;
}

// Runs of lines that share a second (as a busy sender's do), with the
// fraction, zone and priority varying: what the stamp cache sees most.
std::string same_second_run(std::mt19937& rng, int lines) {
    static const std::vector<std::string> seconds = {"2024-06-15T12:00:00", "2024-06-15T12:00:01",
                                                     "1970-01-01T00:00:00", "1969-12-31T23:59:59"};
    static const std::vector<std::string> fractions = {"", ".000", ".001", ".5", ".999", ".123456"};
    static const std::vector<std::string> zones = {"Z", "Z", "Z", "", "+01:00"};
    const std::string& second = pick(rng, seconds);
    std::string text;
    for (int i = 0; i < lines; i++) {
        text += "<" + std::to_string(std::uniform_int_distribution<int>(0, 191)(rng)) + ">1 " + second +
                pick(rng, fractions) + pick(rng, zones) + " loadgen sluice-loadgen - - - w" + std::to_string(i) + "\n";
        if (i % 7 == 3) text += "<13>Jun 15 12:00:00 loadgen app: w" + std::to_string(i) + "\n";
    }
    return text;
}

// The generated stream: random lines, same-second runs, empty lines.
std::string random_stream(std::mt19937& rng, int lines) {
    std::string text;
    for (int i = 0; i < lines; i++) {
        int what = std::uniform_int_distribution<int>(0, 19)(rng);
        if (what == 0) text += same_second_run(rng, 20);
        else if (what == 1) text += "\n";
        else text += random_line(rng) + "\n";
    }
    return text;
}

// Feeds `text` to a parser in pieces whose sizes `next_piece` gives.
template <class NextPiece>
std::vector<flat_event> parse_stream(std::string_view text, bool fast, size_t event_size, std::string_view keep,
                                     std::span<const Header> extra, NextPiece next_piece) {
    SyslogUtilsParser p(event_size, parse_keep_fields(keep));
    p.set_fast_path(fast);
    std::vector<flat_event> all;
    for (size_t i = 0; i < text.size();) {
        size_t n = std::min(next_piece(), text.size() - i);
        // A fresh batch per read, as the source makes them.
        EventBatch b(n / 48 + 16, n * 2 + 1024, n / 16 + 64);
        p.feed_stream(text.substr(i, n), b, extra, now_ms);
        for (auto& e : flatten(b)) all.push_back(std::move(e));
        i += n;
    }
    return all;
}

void expect_same(const std::vector<flat_event>& fast, const std::vector<flat_event>& general, const char* what) {
    ASSERT_EQ(fast.size(), general.size()) << what;
    for (size_t i = 0; i < fast.size(); i++)
        ASSERT_EQ(fast[i], general[i]) << what << ": event " << i << "\n fast:    " << show(fast[i])
                                       << "\n general: " << show(general[i]);
}

class SyslogFastPathTest : public testing::TestWithParam<std::tuple<size_t, const char*>> {
protected:
    void SetUp() override {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};

TEST_P(SyslogFastPathTest, GeneratedStreamsGiveTheSameEvents) {
    const auto [event_size, keep] = GetParam();
    const Header extra[] = {{"client", "127.0.0.1"}};
    for (unsigned seed = 1; seed <= 4; seed++) {
        std::mt19937 rng(seed);
        const std::string text = random_stream(rng, 1500);
        SCOPED_TRACE("seed " + std::to_string(seed));
        const size_t whole = text.size();
        auto general = parse_stream(text, false, event_size, keep, extra, [&] { return whole; });
        ASSERT_GT(general.size(), 1000u);
        // The fast path in one read, in 64 KiB reads, and in reads of random
        // sizes (lines and priorities split across reads; caches kept across
        // reads and batches).
        expect_same(parse_stream(text, true, event_size, keep, extra, [&] { return whole; }), general, "one read");
        expect_same(parse_stream(text, true, event_size, keep, extra, [] { return size_t(65536); }), general,
                    "64 KiB reads");
        std::mt19937 cuts(seed * 7919);
        expect_same(parse_stream(text, true, event_size, keep, extra,
                                 [&] { return std::uniform_int_distribution<size_t>(1, 300)(cuts); }),
                    general, "random reads");
        // And the general path does not depend on the split either.
        std::mt19937 cuts2(seed * 104729);
        expect_same(parse_stream(text, false, event_size, keep, {},
                                 [&] { return std::uniform_int_distribution<size_t>(1, 300)(cuts2); }),
                    parse_stream(text, false, event_size, keep, {}, [&] { return whole; }), "general, random reads");
    }
}

TEST_P(SyslogFastPathTest, DatagramsGiveTheSameEvents) {
    const auto [event_size, keep] = GetParam();
    (void)event_size;
    std::mt19937 rng(99);
    SyslogUtilsParser fast(65536, parse_keep_fields(keep)), general(65536, parse_keep_fields(keep));
    general.set_fast_path(false);
    for (int i = 0; i < 3000; i++) {
        std::string dg = random_line(rng);
        if (i % 5 == 0) dg += "\ntrailing";
        EventBatch a, b;
        bool made_a = fast.feed_datagram(dg, a, {}, now_ms);
        bool made_b = general.feed_datagram(dg, b, {}, now_ms);
        ASSERT_EQ(made_a, made_b) << dg;
        expect_same(flatten(a), flatten(b), "datagram");
    }
}

// eventSize: the default, and small enough that many lines are cut.
// keepFields: each way the body is made.
INSTANTIATE_TEST_SUITE_P(Shapes, SyslogFastPathTest,
                         testing::Combine(testing::Values(size_t(2500), size_t(64)),
                                          testing::Values("none", "all", "priority version timestamp hostname",
                                                          "hostname")));

// The cases the stamp cache must tell apart, one by one.
TEST(SyslogFastPathEdges, StampCacheKeysOnTheWholeStamp) {
    setenv("TZ", "UTC", 1);
    tzset();
    const std::string text =
        "<13>1 2024-06-15T12:00:00.5Z h a\n"        // 1718452800005
        "<13>1 2024-06-15T12:00:00.500Z h b\n"      // 1718452800500
        "<13>1 2024-06-15T12:00:00+01:00 h c\n"     // same date-time, another zone
        "<13>1 2024-06-15T12:00:00 h d\n"           // no zone: local (UTC here)
        "<13>1 2024-06-15T12:00:00.1234567Z h e\n"  // 7 digits: no RFC 5424 match
        "<13>1 1970-01-01T00:00:00.005Z h f\n"      // the epoch second: 5
        "<13>1 1969-12-31T23:59:59.500Z h g\n"      // before it: -500
        "<13>1 1969-12-31T23:59:59.500Z h g2\n"     // same again (the reused value)
        "<13>1 1970-01-01T00:00:01.005Z h i\n"      // 1005
        "<13>Jun 15 12:00:00 h j\n"
        "<13>Jun 15 12:00:00 h k\n"
        "<13>Jun  5 12:00:00 h l\n";
    SyslogUtilsParser fast(2500, parse_keep_fields("none")), general(2500, parse_keep_fields("none"));
    general.set_fast_path(false);
    EventBatch a, b;
    fast.feed_stream(text, a, {}, now_ms);
    general.feed_stream(text, b, {}, now_ms);
    expect_same(flatten(a), flatten(b), "edges");
    std::vector<std::string> stamps;
    for (uint32_t i = 0; i < a.size(); i++) {
        std::string_view v;
        stamps.push_back(a[i].find_header("timestamp", &v) ? std::string(v) : "none");
    }
    EXPECT_EQ(stamps, (std::vector<std::string>{"1718452800005", "1718452800500", "1718449200000", "1718452800000",
                                                "none", "5", "-500", "-500", "1005", "1718452800000",
                                                "1718452800000", "1717588800000"}));
}

}  // namespace
}  // namespace sluice
