// SPDX-License-Identifier: Apache-2.0
// The `http` source against the real binary over real loopback sockets
// (docs/syslog.md §4): Flume's JSON handler, its status codes (200 after the
// commit, 400 bad JSON, 500 handler errors, 503 full channel), keep-alive with
// several requests, chunked bodies, and the size limits (413, 431).
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

std::string post(const std::string& body, const std::string& extra_headers = "",
                 const std::string& content_type = "application/json") {
    return "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: " + content_type + "\r\n" + extra_headers +
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Reads one response (head and Content-Length body) from c.
std::string read_response(tcp_client& c, milliseconds timeout = seconds(20)) {
    std::string got;
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        size_t head_end = got.find("\r\n\r\n");
        if (head_end != std::string::npos) {
            size_t cl = got.find("Content-Length: ");
            size_t len = cl == std::string::npos || cl > head_end ? 0 : std::stoul(got.substr(cl + 16));
            if (got.size() >= head_end + 4 + len) return got.substr(0, head_end + 4 + len);
        }
        auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0 || c.eof()) return got;
        c.read_some(got, left, 1);
    }
}

std::string status_of(const std::string& r) { return r.substr(0, r.find("\r\n")); }

std::string metrics(int mport) {
    tcp_client c(mport);
    c.send_all("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return c.read_to_eof(seconds(10));
}

class HttpSourceTest : public agent_test {
protected:
    void start(const std::string& source_keys, const std::string& channel_keys = "", bool sink = true) {
        _port = free_port();
        _mport = free_port();
        std::string t = "a1.sources = r1\na1.channels = c1\n";
        if (sink) t += "a1.sinks = k1\n";
        t += "a1.sources.r1.type = http\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = " +
             std::to_string(_port) + "\na1.sources.r1.channels = c1\n" + source_keys +
             "a1.channels.c1.type = memory\n" + channel_keys;
        if (sink) {
            _out = _dir.mkdir("out");
            t += "a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\na1.sinks.k1.sink.rollInterval = 0\n"
                 "a1.sinks.k1.sink.serializer = header_and_text\na1.sinks.k1.sink.directory = " +
                 _out + "\n";
        }
        start_agent(t, _port,
                    {"-Dsluice.monitoring.type=http", "-Dsluice.monitoring.port=" + std::to_string(_mport),
                     "-Dsluice.drain.timeout=200ms"});
        ASSERT_TRUE(_agent.wait_port(_mport));
    }
    int _port = 0, _mport = 0;
    std::string _out;
};

TEST_P(HttpSourceTest, KeepAliveRequestsChunkedAndPipelined) {
    start("");
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all(post(R"([{"headers":{"a":"1","n":2},"body":"first"},{"body":"second"}])")));
    std::string r = read_response(c);
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK") << r;
    EXPECT_NE(r.find("Content-Length: 0"), std::string::npos);
    // The same connection: a chunked body, then two pipelined requests in one write.
    std::string body = R"([{"headers":{"k":"v"},"body":"third \u00e9\ud83d\ude00"}])";
    std::string chunked = "POST /any/path HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    chunked += "5;ext=1\r\n" + body.substr(0, 5) + "\r\n";
    char hex[16];
    snprintf(hex, sizeof(hex), "%zx", body.size() - 5);
    chunked += std::string(hex) + "\r\n" + body.substr(5) + "\r\n0\r\nTrailer: x\r\n\r\n";
    ASSERT_TRUE(c.send_all(chunked));
    EXPECT_EQ(status_of(read_response(c)), "HTTP/1.1 200 OK");
    ASSERT_TRUE(c.send_all(post(R"([{"body":"fourth"}])") + "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 19\r\n\r\n" +
                           R"([{"body":"fifth"}])" + "\n"));
    EXPECT_EQ(status_of(read_response(c)), "HTTP/1.1 200 OK");
    EXPECT_EQ(status_of(read_response(c)), "HTTP/1.1 200 OK");
    // Connection: close is honoured.
    ASSERT_TRUE(c.send_all(post("[]", "Connection: close\r\n")));
    r = read_response(c);
    EXPECT_EQ(status_of(r), "HTTP/1.1 200 OK");
    EXPECT_NE(r.find("Connection: close"), std::string::npos);
    c.read_to_eof(seconds(5));
    EXPECT_TRUE(c.eof());

    ASSERT_TRUE(wait_output_lines(_out, 5)) << read_output_text(_out);
    std::string out = read_output_text(_out);
    EXPECT_NE(out.find("n=2"), std::string::npos) << out;
    EXPECT_NE(out.find("a=1"), std::string::npos) << out;
    EXPECT_NE(out.find("} first\n"), std::string::npos) << out;
    EXPECT_NE(out.find("{} second\n"), std::string::npos) << out;
    EXPECT_NE(out.find("{k=v} third \xc3\xa9\xf0\x9f\x98\x80\n"), std::string::npos) << out;
    EXPECT_NE(out.find("{} fourth\n"), std::string::npos) << out;
    EXPECT_NE(out.find("{} fifth\n"), std::string::npos) << out;
    std::string m = metrics(_mport);
    EXPECT_NE(m.find("\"AppendBatchAcceptedCount\":\"5\""), std::string::npos) << m;
    EXPECT_NE(m.find("\"EventAcceptedCount\":\"5\""), std::string::npos) << m;
}

TEST_P(HttpSourceTest, MalformedJsonIs400AndHandlerErrorsAre500) {
    start("");
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all(post(R"([{"body":"x"})")));
    std::string r = read_response(c);
    EXPECT_EQ(status_of(r), "HTTP/1.1 400 Bad Request") << r;
    EXPECT_NE(r.find("Bad request from client. Request has invalid JSON Syntax."), std::string::npos) << r;
    // The connection stays usable.
    ASSERT_TRUE(c.send_all(post(R"({"body":"not a list"})")));
    EXPECT_EQ(status_of(read_response(c)), "HTTP/1.1 400 Bad Request");
    ASSERT_TRUE(c.send_all(post("")));
    r = read_response(c);
    EXPECT_EQ(status_of(r), "HTTP/1.1 500 Internal Server Error") << r;
    EXPECT_NE(r.find("Deserializer threw unexpected exception."), std::string::npos);
    ASSERT_TRUE(c.send_all(post("[]", "", "application/json; charset=UTF-16")));
    EXPECT_EQ(status_of(read_response(c)), "HTTP/1.1 500 Internal Server Error");
    ASSERT_TRUE(c.send_all("OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(status_of(read_response(c)), "HTTP/1.1 403 Forbidden");
    std::string m = metrics(_mport);
    EXPECT_NE(m.find("\"EventReadFail\":\"4\""), std::string::npos) << m;
    EXPECT_NE(m.find("\"AppendBatchReceivedCount\":\"0\""), std::string::npos) << m;
}

TEST_P(HttpSourceTest, FullChannelIs503AndNothingIsAcknowledged) {
    start("", "a1.channels.c1.capacity = 3\na1.channels.c1.transactionCapacity = 3\na1.channels.c1.keep-alive = 0\n",
          false);
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all(post(R"([{"body":"1"},{"body":"2"}])")));
    EXPECT_EQ(status_of(read_response(c)), "HTTP/1.1 200 OK");
    // Two more do not fit in what is left (one slot): the whole request is refused.
    ASSERT_TRUE(c.send_all(post(R"([{"body":"3"},{"body":"4"}])")));
    std::string r = read_response(c);
    EXPECT_EQ(status_of(r), "HTTP/1.1 503 Service Unavailable") << r;
    EXPECT_NE(r.find("Error appending event to channel. Channel might be full."), std::string::npos) << r;
    // More events than the transaction capacity: 503 with the channel's text.
    ASSERT_TRUE(c.send_all(post(R"([{"body":"a"},{"body":"b"},{"body":"c"},{"body":"d"}])")));
    r = read_response(c);
    EXPECT_EQ(status_of(r), "HTTP/1.1 503 Service Unavailable") << r;
    EXPECT_NE(r.find("Put queue for MemoryTransaction of capacity 3 full"), std::string::npos) << r;
    std::string m = metrics(_mport);
    EXPECT_NE(m.find("\"ChannelWriteFail\":\"2\""), std::string::npos) << m;
    EXPECT_NE(m.find("\"EventAcceptedCount\":\"2\""), std::string::npos) << m;
    EXPECT_NE(m.find("\"ChannelSize\":\"2\""), std::string::npos) << m;
}

TEST_P(HttpSourceTest, OversizedBodyIs413AndOversizedHeadersAre431) {
    start("a1.sources.r1.max-body-bytes = 1000\na1.sources.r1.max-header-bytes = 512\n");
    {
        tcp_client c(_port);
        ASSERT_TRUE(c.send_all("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"));
        std::string r = c.read_to_eof(seconds(10));
        EXPECT_EQ(status_of(r), "HTTP/1.1 413 Payload Too Large") << r;
        EXPECT_TRUE(c.eof());
    }
    {
        tcp_client c(_port);
        std::string chunk(800, 'x');
        c.send_all("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" + chunk + "\r\n320\r\n" +
                   chunk + "\r\n");
        EXPECT_EQ(status_of(c.read_to_eof(seconds(10))), "HTTP/1.1 413 Payload Too Large");
    }
    {
        tcp_client c(_port);
        c.send_all("POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1000, 'y') + "\r\n\r\n");
        std::string r = c.read_to_eof(seconds(10));
        EXPECT_EQ(status_of(r), "HTTP/1.1 431 Request Header Fields Too Large") << r;
    }
    EXPECT_TRUE(poll_until([&] { return _agent.stderr_text().find("413") != std::string::npos; }, seconds(5)))
        << "a log line for each refused request";
    std::string m = metrics(_mport);
    EXPECT_NE(m.find("\"EventReadFail\":\"3\""), std::string::npos) << m;
}

INSTANTIATE_TEST_SUITE_P(Backends, HttpSourceTest, testing::ValuesIn(all_backends()), backend_param_name);

TEST(HttpSourceConfig, OtherHandlersAndSslAreNotSupported) {
    temp_dir dir;
    std::string conf = "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = http\na1.sources.r1.port = 8080\n"
                       "a1.sources.r1.handler = org.apache.flume.sink.solr.morphline.BlobHandler\n"
                       "a1.sources.r1.ssl = true\na1.sources.r1.keystore = /k.jks\n"
                       "a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n";
    std::string path = dir.write("a.properties", conf);
    auto r = run_command({sluice_binary(), "check", "-n", "a1", "-f", path}, dir.path());
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_NE(r.err.find("a1.sources.r1.handler"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("not supported"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("a1.sources.r1.ssl"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("a1.sources.r1.keystore"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice_it
