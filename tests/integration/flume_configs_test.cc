// SPDX-License-Identifier: Apache-2.0
// The configurations of tests/integration/flume-configs/ run end to end with
// the real binary: routing by header (multiplexing), a failover sink group
// whose primary fails and recovers, an interceptor chain seen in the output,
// and load balancing on both sides of a channel.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class FlumeConfigs : public ::testing::Test {
protected:
    // Starts the agent on flume-configs/<name>.properties; waits for its port.
    void start(const std::string& name) {
        _port = free_port();
        agent_options o;
        o.env = {{"SLUICE_TEST_PORT", std::to_string(_port)}, {"SLUICE_TEST_OUT", _dir.path()}};
        _agent.start(_dir.path(), read_file(source_dir() + "/tests/integration/flume-configs/" + name + ".properties"),
                     o);
        ASSERT_TRUE(_agent.wait_port(_port)) << _agent.stderr_text();
    }
    // Sends lines; expects one OK each.
    void send(tcp_client& c, const std::vector<std::string>& lines) {
        std::string text;
        for (auto& l : lines) text += l + "\n";
        ASSERT_TRUE(c.send_all(text));
        EXPECT_EQ(c.read_exact(3 * lines.size()), repeat("OK\n", lines.size())) << _agent.stderr_text();
    }
    std::string out(const std::string& sub) const { return _dir.path() + "/" + sub; }

    temp_dir _dir;
    int _port = 0;
    agent_process _agent;
};

TEST_F(FlumeConfigs, MultiplexingByHeaderIntoTwoChannels) {
    start("multiplexing");
    tcp_client c(_port);
    send(c, {"CA one", "NY two", "CA three", "no state here"});
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out("ca")) == 2 && count_output_lines(out("other")) == 2; },
                           seconds(10)))
        << _agent.stderr_text();
    EXPECT_EQ(read_output_bodies(out("ca")), (std::vector<std::string>{"{state=CA} CA one", "{state=CA} CA three"}));
    EXPECT_EQ(read_output_bodies(out("other")), (std::vector<std::string>{"NY two", "no state here"}));
}

TEST_F(FlumeConfigs, FailoverToBackupAndBackToThePrimary) {
    // The primary writes under out/primary/out: a regular file at out/primary
    // makes its directory impossible to create (even for root).
    write_file(out("primary"), "blocker");
    start("failover");
    tcp_client c(_port);
    send(c, {"a", "b"});
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out("backup")) == 2; }, seconds(10))) << _agent.stderr_text();
    EXPECT_EQ(read_output_bodies(out("backup")), (std::vector<std::string>{"a", "b"}));
    EXPECT_NE(_agent.stderr_text().find("sink primary failed and has been sent to the failover list"), std::string::npos)
        << _agent.stderr_text();

    // The primary can write again; after its penalty (2 s after the first
    // failure) it is tried first, delivers, and is the active sink again.
    std::filesystem::remove(out("primary"));
    std::filesystem::create_directories(out("primary/out"));
    std::this_thread::sleep_for(milliseconds(2200));
    send(c, {"c"});
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out("primary/out")) == 1; }, seconds(10)))
        << _agent.stderr_text();
    send(c, {"d", "e"});
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out("primary/out")) == 3; }, seconds(10)))
        << _agent.stderr_text();
    EXPECT_EQ(read_output_bodies(out("primary/out")), (std::vector<std::string>{"c", "d", "e"}));
    EXPECT_EQ(count_output_lines(out("backup")), 2u) << "nothing more went to the backup";
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
}

TEST_F(FlumeConfigs, InterceptorChainInTheOutput) {
    start("interceptors");
    tcp_client c(_port);
    int64_t before = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    send(c, {"hello", "DEBUG noise", "pay 1234-5678-9012-3456 now"});  // a dropped line is still acknowledged
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out("out")) == 2; }, seconds(10))) << _agent.stderr_text();
    auto lines = read_output_bodies(out("out"));
    ASSERT_EQ(lines.size(), 2u);
    std::regex shape("^\\{(.*)\\} (.*)$");
    std::vector<std::string> bodies;
    for (const auto& line : lines) {
        std::smatch m;
        ASSERT_TRUE(std::regex_match(line, m, shape)) << line;
        std::string headers = m[1];
        bodies.push_back(m[2]);
        std::smatch ts;
        ASSERT_TRUE(std::regex_search(headers, ts, std::regex("timestamp=(\\d+)"))) << line;
        EXPECT_GE(std::stoll(ts[1]), before);
        EXPECT_TRUE(std::regex_search(headers, std::regex("agent_host=[0-9a-f.:]+"))) << line;
        EXPECT_NE(headers.find("datacenter=east-1"), std::string::npos) << line;
        EXPECT_EQ(headers.find("scratch"), std::string::npos) << "added, then removed later in the chain: " << line;
    }
    EXPECT_EQ(bodies, (std::vector<std::string>{"hello", "pay XXXX-3456 now"}));
}

TEST_F(FlumeConfigs, LoadBalancingChannelsAndSinks) {
    start("load_balance");
    tcp_client c(_port);
    std::vector<std::string> lines;
    for (int i = 0; i < 10; i++) lines.push_back("event " + std::to_string(i));
    send(c, lines);
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out("k1")) + count_output_lines(out("k2")) == 10; },
                           seconds(10)))
        << _agent.stderr_text();
    EXPECT_EQ(read_output_bodies(out("k1")),
              (std::vector<std::string>{"event 0", "event 2", "event 4", "event 6", "event 8"}))
        << "round robin per event";
    EXPECT_EQ(read_output_bodies(out("k2")),
              (std::vector<std::string>{"event 1", "event 3", "event 5", "event 7", "event 9"}));
}

TEST(RoutingCheck, ProblemsNameFileLineAndKey) {
    temp_dir dir;
    std::string conf = read_file(source_dir() + "/tests/integration/flume-configs/multiplexing.properties");
    conf += "a1.sources.r1.interceptors.state.serializers.s1.type = com.example.Custom\n"
            "a1.sinkgroups = g1\n"
            "a1.sinkgroups.g1.sinks = k_ca k_other\n"
            "a1.sinkgroups.g1.processor.type = failover\n"
            "a1.sinkgroups.g1.processor.priority.k_ca = 1\n"
            "a1.sinkgroups.g1.processor.priority.k_other = 1\n";
    std::string file = dir.write("bad.properties", conf);
    auto r = run_command({sluice_binary(), "check", "-n", "a1", "-f", file}, dir.path(),
                         {{"SLUICE_TEST_PORT", "1"}, {"SLUICE_TEST_OUT", dir.path()}});
    EXPECT_TRUE(r.exited);
    EXPECT_EQ(r.code, 1) << r.err;
    EXPECT_NE(r.err.find(file + ":36: a1.sources.r1.interceptors.state.serializers.s1.type: unknown serializer "
                                "'com.example.Custom'"),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(file + ":41: a1.sinkgroups.g1.processor.priority.k_other: sink 'k_other' has the priority of "
                                "another sink of the group"),
              std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace sluice_it
