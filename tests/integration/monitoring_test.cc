// SPDX-License-Identifier: Apache-2.0
// The monitoring endpoint (DESIGN §5): Flume's /metrics JSON and the
// Prometheus text format, read over a real socket from a running agent.
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

using std::chrono::seconds;

// One HTTP/1.0-style exchange: the whole response (headers and body).
std::string http(int port, const std::string& method, const std::string& path) {
    tcp_client c(port);
    c.send_all(method + " " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    return c.read_to_eof(seconds(10));
}

std::string status_line(const std::string& response) { return response.substr(0, response.find("\r\n")); }

TEST(Monitoring, MetricsAndPrometheusOverHttp) {
    temp_dir dir;
    int port = free_port(), mport = free_port();
    std::string out = dir.mkdir("out");
    std::string conf = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
                       "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = " +
                       std::to_string(port) +
                       "\na1.sources.r1.channels = c1\na1.channels.c1.type = memory\n"
                       "a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\na1.sinks.k1.sink.rollInterval = 0\n"
                       "a1.sinks.k1.sink.directory = " + out + "\n";
    agent_options o;
    o.shards = 2;
    // Flume's spelling of the switch; sluice.monitoring.* is the same.
    o.extra_args = {"-Dflume.monitoring.type=http", "-Dflume.monitoring.port=" + std::to_string(mport)};
    agent_process agent;
    agent.start(dir.path(), conf, o);
    ASSERT_TRUE(agent.wait_port(port)) << agent.stderr_text();
    ASSERT_TRUE(agent.wait_port(mport)) << agent.stderr_text();
    {
        tcp_client c(port);
        ASSERT_TRUE(c.send_all("a\nb\nc\n"));
        EXPECT_EQ(c.read_exact(9), "OK\nOK\nOK\n");
    }
    std::string metrics;
    ASSERT_TRUE(poll_until([&] {
        metrics = http(mport, "GET", "/metrics");
        return metrics.find("\"EventDrainSuccessCount\":\"3\"") != std::string::npos;
    }, seconds(10))) << metrics;
    EXPECT_EQ(status_line(metrics), "HTTP/1.1 200 OK");
    EXPECT_NE(metrics.find("Content-Type: application/json;charset=utf-8"), std::string::npos);
    // Flume's keys and attribute names, every attribute present, values as strings.
    for (const char* s : {"\"SOURCE.r1\":{", "\"CHANNEL.c1\":{", "\"SINK.k1\":{", "\"EventReceivedCount\":\"3\"",
                          "\"EventAcceptedCount\":\"3\"", "\"AppendBatchAcceptedCount\":\"0\"", "\"OpenConnectionCount\":\"0\"",
                          "\"ChannelSize\":\"0\"", "\"ChannelCapacity\":\"100\"", "\"ChannelFillPercentage\":\"0.0\"",
                          "\"EventPutSuccessCount\":\"3\"", "\"EventTakeSuccessCount\":\"3\"", "\"ConnectionCreatedCount\":",
                          "\"BatchUnderflowCount\":", "\"StopTime\":\"0\"", "\"Type\":\"SINK\""})
        EXPECT_NE(metrics.find(s), std::string::npos) << s << "\n" << metrics;

    std::string prom = http(mport, "GET", "/prometheus");
    EXPECT_EQ(status_line(prom), "HTTP/1.1 200 OK");
    EXPECT_NE(prom.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
    for (const char* s : {"# TYPE sluice_source_event_accepted_count counter\n", "sluice_source_event_accepted_count{name=\"r1\"} 3\n",
                          "# TYPE sluice_channel_channel_size gauge\n", "sluice_channel_channel_size{name=\"c1\"} 0\n",
                          "sluice_sink_event_drain_success_count{name=\"k1\"} 3\n",
                          "# TYPE sluice_sink_delivery_latency_seconds histogram\n",
                          "sluice_sink_delivery_latency_seconds_bucket{name=\"k1\",le=\"+Inf\"} 3\n",
                          "sluice_sink_delivery_latency_seconds_count{name=\"k1\"} 3\n",
                          // netcat acknowledges each event: receipt to OK
                          "# TYPE sluice_source_ack_latency_seconds histogram\n",
                          "sluice_source_ack_latency_seconds_bucket{name=\"r1\",le=\"+Inf\"} 3\n",
                          "sluice_source_ack_latency_seconds_count{name=\"r1\"} 3\n"})
        EXPECT_NE(prom.find(s), std::string::npos) << s << "\n" << prom;

    EXPECT_NE(http(mport, "GET", "/").find("href=\"./metrics\""), std::string::npos);
    EXPECT_EQ(status_line(http(mport, "POST", "/metrics")), "HTTP/1.1 200 OK");  // Flume answers any method but these:
    EXPECT_EQ(status_line(http(mport, "TRACE", "/metrics")), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(status_line(http(mport, "OPTIONS", "/")), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(status_line(http(mport, "GET", "/nothing")), "HTTP/1.1 404 Not Found");
    auto r = agent.stop();
    EXPECT_EQ(r.code, 0) << describe(r);
}

TEST(Monitoring, UnknownMonitoringTypeIsRefused) {
    temp_dir dir;
    std::string conf = dir.write("a.properties", "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
                                                 "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"
                                                 "a1.sources.r1.port = " + std::to_string(free_port()) +
                                                 "\na1.sources.r1.channels = c1\na1.channels.c1.type = memory\n"
                                                 "a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n");
    auto r = run_command({sluice_binary(), "agent", "-n", "a1", "-f", conf, "-Dsluice.monitoring.type=ganglia"}, dir.path());
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("monitoring type 'ganglia' is not supported; supported: http"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice_it
