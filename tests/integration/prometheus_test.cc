// SPDX-License-Identifier: Apache-2.0
// A real Prometheus server (Debian's) scrapes a running agent's /prometheus
// endpoint; the values are read back through Prometheus's HTTP query API.
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

using std::chrono::seconds;

std::string http_get(int port, const std::string& path) {
    tcp_client c(port);
    c.send_all("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    return c.read_to_eof(seconds(10));
}

TEST(Prometheus, ScrapesTheAgentsCounters) {
    const char* prometheus = "/usr/bin/prometheus";
    ASSERT_EQ(access(prometheus, X_OK), 0) << "prometheus is not installed (tools/deps.sh installs Debian's)";
    temp_dir dir;
    int port = free_port(), mport = free_port(), pport = free_port();
    std::string conf = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
                       "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = " +
                       std::to_string(port) +
                       "\na1.sources.r1.channels = c1\na1.channels.c1.type = memory\n"
                       "a1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n";
    agent_options o;
    o.extra_args = {"-Dsluice.monitoring.type=http", "-Dsluice.monitoring.port=" + std::to_string(mport)};
    agent_process agent;
    agent.start(dir.path(), conf, o);
    ASSERT_TRUE(agent.wait_port(port)) << agent.stderr_text();
    {
        tcp_client c(port);
        ASSERT_TRUE(c.send_all("1\n2\n3\n4\n5\n"));
        EXPECT_EQ(c.read_exact(15), repeat("OK\n", 5));
    }

    std::string yml = dir.write("prometheus.yml", "global:\n  scrape_interval: 1s\n"
                                                  "scrape_configs:\n  - job_name: sluice\n    metrics_path: /prometheus\n"
                                                  "    static_configs:\n      - targets: ['127.0.0.1:" +
                                                      std::to_string(mport) + "']\n");
    child_process prom;
    prom.spawn({prometheus, "--config.file=" + yml, "--storage.tsdb.path=" + dir.mkdir("tsdb"),
                "--web.listen-address=127.0.0.1:" + std::to_string(pport), "--log.level=warn"},
               dir.path());
    std::string answer;
    auto query = [&](const std::string& q) {
        answer = http_get(pport, "/api/v1/query?query=" + q);
        return answer;
    };
    // The counter as Prometheus stored it, labelled with the component name.
    ASSERT_TRUE(poll_until([&] {
        return query("sluice_source_event_accepted_count").find("\"value\":[") != std::string::npos &&
               answer.find(",\"5\"]") != std::string::npos;
    }, seconds(40), std::chrono::milliseconds(500)))
        << answer << "\n" << prom.stderr_text();
    EXPECT_NE(answer.find("\"name\":\"r1\""), std::string::npos) << answer;
    EXPECT_NE(answer.find("\"job\":\"sluice\""), std::string::npos) << answer;
    // The sink's drain count and its latency histogram, through PromQL.
    ASSERT_TRUE(poll_until([&] { return query("sluice_sink_delivery_latency_seconds_count").find(",\"5\"]") != std::string::npos; },
                           seconds(20), std::chrono::milliseconds(500)))
        << answer;
    EXPECT_NE(query("sum(sluice_sink_event_drain_success_count)").find(",\"5\"]"), std::string::npos) << answer;
    EXPECT_NE(query("sluice_channel_channel_capacity").find(",\"100\"]"), std::string::npos) << answer;
    prom.stop(seconds(20));
    EXPECT_EQ(agent.stop().code, 0);
}

}  // namespace
}  // namespace sluice_it
