// SPDX-License-Identifier: Apache-2.0
// HTTP/1.x request parsing (io/http_parser.h) and the http source's JSON
// handler (io/http_source.h), docs/syslog.md §4.
#include <gtest/gtest.h>

#include <string>

#include "io/http_parser.h"
#include "io/http_source.h"

namespace sluice {
namespace {

using R = HttpRequestParser::result;

TEST(HttpParserTest, ContentLengthKeepAliveAndPipelining) {
    HttpRequestParser p;
    std::string two = "POST /a?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.0\r\n\r\n";
    // Byte by byte: the same result as all at once.
    R r = R::need_more;
    size_t i = 0;
    for (; i < two.size() && r == R::need_more; i++) r = p.feed(two.substr(i, 1));
    ASSERT_EQ(r, R::complete);
    EXPECT_EQ(p.request().method, "POST");
    EXPECT_EQ(p.request().target, "/a?x=1");
    EXPECT_EQ(p.request().path(), "/a");
    EXPECT_EQ(p.request().body, "hello");
    EXPECT_TRUE(p.request().keep_alive);
    EXPECT_EQ(*p.request().header("host"), "h");
    p.next();
    p.append(std::string_view(two).substr(i));
    ASSERT_EQ(p.parse(), R::complete);
    EXPECT_EQ(p.request().method, "GET");
    EXPECT_FALSE(p.request().keep_alive) << "HTTP/1.0 closes unless keep-alive is asked for";
}

TEST(HttpParserTest, ChunkedBodyWithExtensionsAndTrailers) {
    HttpRequestParser p;
    ASSERT_EQ(p.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n2\r\nde\r\n0\r\nX: y\r\n\r\n"),
              R::complete);
    EXPECT_EQ(p.request().body, "abcde");
}

TEST(HttpParserTest, LimitsAndMalformedRequests) {
    HttpLimits l{64, 10};
    {
        HttpRequestParser p(l);
        EXPECT_EQ(p.feed("GET / HTTP/1.1\r\nX: " + std::string(100, 'a')), R::error);
        EXPECT_EQ(p.error_status(), 431);
    }
    {
        HttpRequestParser p(l);
        EXPECT_EQ(p.feed("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n"), R::error);
        EXPECT_EQ(p.error_status(), 413);
    }
    {
        HttpRequestParser p(l);
        EXPECT_EQ(p.feed("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n"), R::error);
        EXPECT_EQ(p.error_status(), 413);
    }
    for (std::string bad : {"GET /\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1\r\nNoColon\r\n\r\n",
                            "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                            "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"}) {
        HttpRequestParser p;
        EXPECT_EQ(p.feed(bad), R::error) << bad;
        EXPECT_EQ(p.error_status(), 400) << bad;
    }
}

TEST(HttpParserTest, ExpectContinue) {
    HttpRequestParser p;
    EXPECT_EQ(p.feed("POST / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"), R::need_more);
    EXPECT_TRUE(p.wants_continue());
    p.continue_sent();
    EXPECT_FALSE(p.wants_continue());
    EXPECT_EQ(p.feed("[]"), R::complete);
}

std::string dump(const EventBatch& b) {
    std::string s;
    for (uint32_t i = 0; i < b.size(); i++) {
        s += "{";
        for (uint32_t h = 0; h < b[i].header_count(); h++)
            s += std::string(b[i].header(h).key) + "=" + std::string(b[i].header(h).value) + ";";
        s += "}" + std::string(b[i].body()) + "|";
    }
    return s;
}

TEST(JsonEventsTest, FlumeJsonHandlerFormat) {
    EventBatch b;
    std::string why;
    ASSERT_EQ(parse_json_events(R"( [ {"headers":{"a":"b","n":12,"t":true,"z":null},"body":"x\ty\u00e9"},
                                      {"body":"only"}, {"headers":{}}, {"other":[1,{"q":null}],"body":null} ] )",
                                b, &why),
              json_events_result::ok)
        << why;
    EXPECT_EQ(dump(b), "{a=b;n=12;t=true;}x\ty\xc3\xa9|{}only|{}|{}|");
}

TEST(JsonEventsTest, Failures) {
    std::string why;
    for (std::string bad : {"[", "{}", "[1]", "[{\"body\":{}}]", "[{\"headers\":[]}]", "[] x", "[{\"body\":\"x\"},]",
                            "[{'body':'x'}]", "[{\"headers\":{\"a\":\"1\",\"a\":\"2\"}}]"}) {
        EventBatch b;
        EXPECT_EQ(parse_json_events(bad, b, &why), json_events_result::bad_syntax) << bad;
    }
    for (std::string odd : {"", "  ", "null", "[null]"}) {
        EventBatch b;
        EXPECT_EQ(parse_json_events(odd, b, &why), json_events_result::unexpected) << odd;
    }
    EventBatch b;
    EXPECT_EQ(parse_json_events(R"([{"body":"\ud800x\ud83d\ude00"}])", b, &why), json_events_result::ok);
    EXPECT_EQ(b[0].body(), "?x\xf0\x9f\x98\x80");
}

}  // namespace
}  // namespace sluice
