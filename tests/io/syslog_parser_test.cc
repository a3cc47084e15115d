// SPDX-License-Identifier: Apache-2.0
// Flume's syslog parsing (docs/syslog.md §1–2, reference/flume.md §5): the
// valid, invalid and incomplete cases with the headers and bodies Flume gives.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "io/syslog_parser.h"

namespace sluice {
namespace {

struct ev {
    std::map<std::string, std::string> headers;
    std::string body;
};

std::vector<ev> events(const EventBatch& b) {
    std::vector<ev> out;
    for (uint32_t i = 0; i < b.size(); i++) {
        ev e;
        e.body = std::string(b[i].body());
        for (uint32_t h = 0; h < b[i].header_count(); h++)
            e.headers[std::string(b[i].header(h).key)] = std::string(b[i].header(h).value);
        out.push_back(e);
    }
    return out;
}

// 2024-06-15T12:00:00Z: a fixed "now" for RFC 3164's year.
constexpr int64_t now_ms = 1718452800000;

std::vector<ev> tcp(std::string_view text, size_t event_size = 2500, std::string_view keep = "none") {
    SyslogUtilsParser p(event_size, parse_keep_fields(keep));
    EventBatch b;
    p.feed_stream(text, b, {}, now_ms);
    return events(b);
}

using H = std::map<std::string, std::string>;

class SyslogUtilsTest : public testing::Test {
protected:
    void SetUp() override {
        setenv("TZ", "UTC", 1);
        tzset();
    }
};

TEST_F(SyslogUtilsTest, Rfc5424WithZuluStampVersionAndHost) {
    auto e = tcp("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 - hi\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].headers, (H{{"Facility", "20"},
                                {"Severity", "5"},
                                {"priority", "165"},
                                {"version", "1"},
                                {"timestamp", "1065910455003"},
                                {"host", "mymachine.example.com"}}));
    EXPECT_EQ(e[0].body, "evntslog - ID47 - hi");
}

TEST_F(SyslogUtilsTest, Rfc5424OffsetsAndFractions) {
    // +02:00 is two hours ahead of UTC; ".5" is 5 ms (SimpleDateFormat's S), six digits are cut to three.
    auto e = tcp("<13>1 2003-10-11T22:14:15.5+02:00 h m\n<13>1 2003-10-11T22:14:15.123456-01:30 h m\n");
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].headers["timestamp"], std::to_string(1065910455000 - 7200000 + 5));
    EXPECT_EQ(e[1].headers["timestamp"], std::to_string(1065910455000 + 5400000 + 123));
    // No zone: the local zone (UTC here).
    auto z = tcp("<13>1 2003-10-11T22:14:15 h m\n");
    EXPECT_EQ(z[0].headers["timestamp"], "1065910455000");
}

TEST_F(SyslogUtilsTest, Rfc5424NilStampAndHost) {
    auto e = tcp("<13>1 - - hello world\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].headers, (H{{"Facility", "1"}, {"Severity", "5"}, {"priority", "13"}, {"version", "1"}}));
    EXPECT_EQ(e[0].body, "hello world");
}

TEST_F(SyslogUtilsTest, Rfc3164WithYearWindow) {
    auto e = tcp("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8\n");
    ASSERT_EQ(e.size(), 1u);
    // now is June 2024: October 2024 is more than a month ahead, so 2023.
    EXPECT_EQ(e[0].headers, (H{{"Facility", "4"},
                                {"Severity", "2"},
                                {"priority", "34"},
                                {"timestamp", "1697062455000"},
                                {"host", "mymachine"}}));
    EXPECT_EQ(e[0].body, "su: 'su root' failed for lonvick on /dev/pts/8");
    // A single-digit day with two spaces; in the past, same year.
    auto f = tcp("<13>Jun  1 00:00:00 web1 up\n");
    EXPECT_EQ(f[0].headers["timestamp"], "1717200000000");
    // More than eleven months in the past: next year... only reachable with
    // dates just after now in the calendar: Jul 2024 is < 1 month ahead: kept.
    auto g = tcp("<13>Jul  1 00:00:00 web1 up\n");
    EXPECT_EQ(g[0].headers["timestamp"], "1719792000000");
}

TEST_F(SyslogUtilsTest, NoPatternMatchKeepsTheWholeLine) {
    auto e = tcp("<10>Good data\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].headers, (H{{"Facility", "1"}, {"Severity", "2"}}));
    EXPECT_EQ(e[0].body, "<10>Good data");
}

TEST_F(SyslogUtilsTest, CrlfDefeatsBothPatterns) {
    auto e = tcp("<13>Jan  1 00:00:00 h m\r\n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].headers, (H{{"Facility", "1"}, {"Severity", "5"}}));
    EXPECT_EQ(e[0].body, "<13>Jan  1 00:00:00 h m\r");
}

TEST_F(SyslogUtilsTest, InvalidCases) {
    for (std::string line : {"hello", "<1000>x", "<>x", "<1a>x", "x<13>y"}) {
        auto e = tcp(line + "\n");
        ASSERT_EQ(e.size(), 1u) << line;
        EXPECT_EQ(e[0].headers, (H{{"Facility", "0"}, {"Severity", "0"}, {"flume.syslog.status", "Invalid"}}))
            << line;
        EXPECT_EQ(e[0].body, line);
    }
}

TEST_F(SyslogUtilsTest, EmptyLinesAreSkipped) {
    auto e = tcp("\n\n<13>1 - - a\n\n\n<13>1 - - b\n");
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].body, "a");
    EXPECT_EQ(e[1].body, "b");
}

TEST_F(SyslogUtilsTest, IncompleteAtEventSizeAndTheRestIsANewEvent) {
    // eventSize 20: "<13>1 - - " is 10 bytes, then 15 x's.
    auto e = tcp("<13>1 - - xxxxxxxxxxxxxxx\n", 20);
    ASSERT_EQ(e.size(), 2u);
    EXPECT_EQ(e[0].body, "xxxxxxxxxx");
    EXPECT_EQ(e[0].headers["flume.syslog.status"], "Incomplete");
    EXPECT_EQ(e[0].headers["priority"], "13");
    EXPECT_EQ(e[1].body, "xxxxx");
    EXPECT_EQ(e[1].headers["flume.syslog.status"], "Invalid");
    // The stale priority and version of the previous event (Flume's quirk).
    EXPECT_EQ(e[1].headers["priority"], "13");
    // A line of exactly eventSize bytes is flagged incomplete; its '\n' is skipped.
    auto f = tcp("<13>1 - - 0123456789\n<13>1 - - b\n", 20);
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].headers["flume.syslog.status"], "Incomplete");
    EXPECT_EQ(f[1].body, "b");
    EXPECT_EQ(f[1].headers.count("flume.syslog.status"), 0u);
}

TEST_F(SyslogUtilsTest, AnySplitOfTheStreamGivesTheSameEvents) {
    std::string text = "<13>1 - - a\nbad\n<165>1 2003-10-11T22:14:15.003Z h x y\n<34>Oct 11 22:14:15 m z\n" +
                       std::string(30, 'q') + "\n<5>\n";
    auto whole = tcp(text, 25);
    for (size_t cut = 0; cut <= text.size(); cut++) {
        SyslogUtilsParser p(25, SyslogKeepFields{});
        EventBatch b;
        p.feed_stream(std::string_view(text).substr(0, cut), b, {}, now_ms);
        p.feed_stream(std::string_view(text).substr(cut), b, {}, now_ms);
        auto got = events(b);
        ASSERT_EQ(got.size(), whole.size()) << cut;
        for (size_t i = 0; i < got.size(); i++) {
            EXPECT_EQ(got[i].body, whole[i].body) << cut;
            EXPECT_EQ(got[i].headers, whole[i].headers) << cut;
        }
    }
}

TEST_F(SyslogUtilsTest, KeepFields) {
    std::string line = "<13>1 2003-10-11T22:14:15.003Z web1 up\n";
    EXPECT_EQ(tcp(line, 2500, "all")[0].body, "<13>1 2003-10-11T22:14:15.003Z web1 up");
    EXPECT_EQ(tcp(line, 2500, "true")[0].body, "<13>1 2003-10-11T22:14:15.003Z web1 up");
    EXPECT_EQ(tcp(line, 2500, "false")[0].body, "up");
    EXPECT_EQ(tcp(line, 2500, "Timestamp hostname")[0].body, "2003-10-11T22:14:15.003Z web1 up");
    EXPECT_EQ(tcp(line, 2500, "priority version")[0].body, "<13>1 up");
    EXPECT_EQ(tcp("<13>Jan  5 10:00:00 web1 up\n", 2500, "timestamp hostname")[0].body, "Jan  5 10:00:00 web1 up");
}

TEST_F(SyslogUtilsTest, EmptyMessageKeepsTheWholeLine) {
    auto e = tcp("<13>1 - h \n");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].body, "<13>1 - h ");
    EXPECT_EQ(e[0].headers["host"], "h");
}

TEST_F(SyslogUtilsTest, ExtraHeadersComeLast) {
    SyslogUtilsParser p(2500, SyslogKeepFields{});
    EventBatch b;
    Header extra[] = {{"ip", "127.0.0.1"}};
    p.feed_stream("<13>1 - - a\n", b, extra, now_ms);
    auto e = events(b);
    EXPECT_EQ(e[0].headers["ip"], "127.0.0.1");
}

TEST_F(SyslogUtilsTest, Datagrams) {
    SyslogUtilsParser p(65536, SyslogKeepFields{});
    EventBatch b;
    EXPECT_TRUE(p.feed_datagram("<13>1 - - a", b, {}, now_ms));          // no newline: whole datagram
    EXPECT_TRUE(p.feed_datagram("<13>1 - - b\nignored", b, {}, now_ms)); // up to the first newline
    EXPECT_TRUE(p.feed_datagram("<13", b, {}, now_ms));                  // ends in the priority
    EXPECT_FALSE(p.feed_datagram("", b, {}, now_ms));
    EXPECT_FALSE(p.feed_datagram("\n\n", b, {}, now_ms));
    EXPECT_FALSE(p.feed_datagram("<", b, {}, now_ms));
    EXPECT_TRUE(p.feed_datagram("junk", b, {}, now_ms));
    auto e = events(b);
    ASSERT_EQ(e.size(), 4u);
    EXPECT_EQ(e[0].body, "a");
    EXPECT_EQ(e[1].body, "b");
    EXPECT_EQ(e[2].body, "<13");
    EXPECT_EQ(e[2].headers["Facility"], "1");
    EXPECT_EQ(e[3].headers["flume.syslog.status"], "Invalid");
    // Over 64 KiB: incomplete at 65536 bytes.
    EventBatch big;
    std::string d = "<13>1 - - " + std::string(70000, 'x');
    EXPECT_TRUE(p.feed_datagram(d, big, {}, now_ms));
    EXPECT_EQ(big[0].body().size(), 65536u - 10);
    EXPECT_EQ(events(big)[0].headers["flume.syslog.status"], "Incomplete");
}

TEST(SyslogKeepFieldsTest, Parsing) {
    EXPECT_FALSE(parse_keep_fields("none").all);
    EXPECT_TRUE(parse_keep_fields(" ALL ").all);
    auto k = parse_keep_fields("hostname,priority");
    EXPECT_TRUE(k.hostname && k.priority && !k.version && !k.timestamp && !k.all);
}

// ------------------------------------------------------------ multiport

std::vector<ev> mp(std::string_view line, bool incomplete = false, syslog_charset cs = syslog_charset::utf8,
                   std::string_view keep = "none") {
    EventBatch b;
    parse_multiport_line(line, incomplete, cs, parse_keep_fields(keep), b, {}, now_ms);
    return events(b);
}

class MultiportTest : public SyslogUtilsTest {};

TEST_F(MultiportTest, Rfc5424) {
    auto e = mp("<10>1 2020-01-01T00:00:00.5Z h1 hi there");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].headers, (H{{"Priority", "10"},
                                {"Facility", "1"},
                                {"Severity", "2"},
                                {"Version", "1"},
                                {"timestamp", "1577836800500"},
                                {"host", "h1"}}));
    EXPECT_EQ(e[0].body, "hi there");
    EXPECT_EQ(mp("<10>1 2020-01-01T02:00:00+02:00 h1 x")[0].headers["timestamp"], "1577836800000");
}

TEST_F(MultiportTest, NilStampIsNowAndHostDashIsKept) {
    auto e = mp("<13>1 - - msg");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].headers["timestamp"], std::to_string(now_ms));
    EXPECT_EQ(e[0].headers["host"], "-");
    EXPECT_EQ(e[0].body, "msg");
}

TEST_F(MultiportTest, Rfc3164) {
    auto e = mp("<34>Jun 11 22:14:15 mymachine su: failed");
    ASSERT_EQ(e.size(), 1u);
    EXPECT_EQ(e[0].headers["Priority"], "34");
    EXPECT_EQ(e[0].headers.count("Version"), 0u);
    EXPECT_EQ(e[0].headers["timestamp"], "1718144055000");
    EXPECT_EQ(e[0].headers["host"], "mymachine");
    EXPECT_EQ(e[0].body, "su: failed");
}

TEST_F(MultiportTest, InvalidLines) {
    for (std::string line : {"hello", "<ab>x", "<13>", "<13>1 2020-01-01T00:00:00Z", "<1234567>x", "<13>nohost"}) {
        auto e = mp(line);
        ASSERT_EQ(e.size(), 1u) << line;
        EXPECT_EQ(e[0].headers, (H{{"flume.syslog.status", "Invalid"}})) << line;
        EXPECT_EQ(e[0].body, line);
    }
}

TEST_F(MultiportTest, UndecodableBytesAreInvalidRaw) {
    auto e = mp("<13>1 - h \xff\xfe");
    EXPECT_EQ(e[0].headers, (H{{"flume.syslog.status", "Invalid"}}));
    EXPECT_EQ(e[0].body, "<13>1 - h \xff\xfe");
    // ISO-8859-1 decodes every byte.
    auto l = mp("<13>1 - h \xff\xfe", false, syslog_charset::latin1);
    EXPECT_EQ(l[0].body, "\xff\xfe");
}

TEST_F(MultiportTest, IncompleteAndKeepAll) {
    auto e = mp("<13>1 - h abc", true);
    EXPECT_EQ(e[0].headers["flume.syslog.status"], "Incomplete");
    EXPECT_EQ(mp("<13>1 - h abc", false, syslog_charset::utf8, "all")[0].body, "<13>1 - h abc");
    EXPECT_EQ(mp("<13>1 - h", false)[0].body, "<13>1 - h");  // nothing after the host: whole line
}

TEST(Utf8Test, StrictValidation) {
    EXPECT_TRUE(valid_utf8("h\xc3\xa9llo \xf0\x9f\x98\x80"));
    EXPECT_FALSE(valid_utf8("\xc0\x80"));          // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated
}

}  // namespace
}  // namespace sluice
