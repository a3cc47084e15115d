// SPDX-License-Identifier: Apache-2.0
// Connection limits of the netcat source (sluice-only keys): max-connections
// over all shards, and idle-timeout against clients that hold a connection
// without sending (slowloris).
#include <gtest/gtest.h>

#include <thread>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string config(int port, const std::string& extra) {
    return "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
           "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = " +
           std::to_string(port) + "\na1.sources.r1.channels = c1\n" + extra +
           "a1.channels.c1.type = memory\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n";
}

TEST(Limits, MaxConnectionsHoldsOverAllShards) {
    temp_dir dir;
    int port = free_port();
    agent_options o;
    o.shards = 2;
    agent_process agent;
    agent.start(dir.path(), config(port, "a1.sources.r1.max-connections = 2\n"), o);
    ASSERT_TRUE(agent.wait_port(port)) << agent.stderr_text();
    // wait_port's probe connection is gone once a fresh connection is served.
    auto a = std::make_unique<tcp_client>(port);
    ASSERT_TRUE(poll_until([&] {
        a = std::make_unique<tcp_client>(port);
        a->send_all("a\n");
        return a->read_exact(3, seconds(2)) == "OK\n";
    }, seconds(10)));
    // Closes of earlier probes may still be under way on the agent: retry
    // until a second connection is held too.
    std::unique_ptr<tcp_client> b;
    ASSERT_TRUE(poll_until([&] {
        b = std::make_unique<tcp_client>(port);
        b->send_all("b\n");
        return b->read_exact(3, seconds(2)) == "OK\n";
    }, seconds(10)));
    // With two held, a third is closed at once, whichever shard it lands on.
    tcp_client c(port);
    c.send_all("c\n");
    EXPECT_EQ(c.read_to_eof(seconds(10)), "");
    // Room again once one closes.
    a.reset();
    EXPECT_TRUE(poll_until([&] {
        tcp_client d(port);
        d.send_all("d\n");
        return d.read_exact(3, seconds(2)) == "OK\n";
    }, seconds(10)));
    EXPECT_NE(agent.stderr_text().find("max-connections (2) reached"), std::string::npos);
    EXPECT_EQ(agent.stop().code, 0);
}

TEST(Limits, IdleConnectionsAreClosedActiveOnesAreNot) {
    temp_dir dir;
    int port = free_port();
    agent_process agent;
    agent.start(dir.path(), config(port, "a1.sources.r1.idle-timeout = 2\n"), {});
    ASSERT_TRUE(agent.wait_port(port)) << agent.stderr_text();
    tcp_client idle(port);
    idle.send_all("half a line without its end");  // slowloris: never finishes
    tcp_client active(port);
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 12; i++) {  // a line every 250 ms for 3 s: past the timeout
        ASSERT_TRUE(active.send_all("x\n"));
        ASSERT_EQ(active.read_exact(3, seconds(5)), "OK\n") << "active connection closed at round " << i;
        std::this_thread::sleep_for(milliseconds(250));
    }
    EXPECT_EQ(idle.read_to_eof(seconds(5)), "");  // closed by the agent
    auto waited = std::chrono::steady_clock::now() - start;
    EXPECT_LT(waited, seconds(10));
    EXPECT_NE(agent.stderr_text().find("idle for over 2000 ms"), std::string::npos);
    EXPECT_EQ(agent.stop().code, 0);
}

}  // namespace
}  // namespace sluice_it
