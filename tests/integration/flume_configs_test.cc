// SPDX-License-Identifier: Apache-2.0
// The configurations of tests/integration/flume-configs/ run end to end with
// the real binary: routing by header (multiplexing), a failover sink group
// whose primary fails and recovers, an interceptor chain seen in the output,
// load balancing on both sides of a channel, syslog into a durable channel
// across a SIGKILL, avro fan-in from two agents, and failover between two
// avro collectors.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

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

// ------------------------------------------------------------------ multi-agent topologies

std::string config_path(const std::string& name) {
    return source_dir() + "/tests/integration/flume-configs/" + name + ".properties";
}

// Starts agent `agent` of flume-configs/<file>.properties with `env` and
// waits until `port` accepts.
void start_config(agent_process& a, const std::string& dir, const std::string& file, const std::string& agent,
                  env_changes env, int port, std::vector<std::string> extra = {}) {
    agent_options o;
    o.name = agent;
    o.env = std::move(env);
    o.extra_args = std::move(extra);
    a.start(dir, read_file(config_path(file)), o);
    ASSERT_TRUE(a.wait_port(port, seconds(15))) << file << " (" << agent << ") did not start:\n" << a.stderr_text();
}

void stop_ok(agent_process& a, const std::string& what) {
    exit_result r = a.stop(seconds(30));
    EXPECT_TRUE(r.exited && r.signal == 0 && r.code == 0) << what << ": " << describe(r);
}

// One HTTP GET; the whole response.
std::string http_get(int port, const std::string& path) {
    tcp_client c(port);
    c.send_all("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
    return c.read_to_eof(seconds(10));
}

// The value of counter `name` in the /metrics JSON of a one-channel agent, or -1.
long long metric(int monitor_port, const std::string& name) {
    std::string m = http_get(monitor_port, "/metrics");
    auto at = m.find("\"" + name + "\":\"");
    if (at == std::string::npos) return -1;
    return std::atoll(m.c_str() + at + name.size() + 4);
}

// Sends `lines` on one connection and expects an OK for each.
void send_acked(int port, const std::vector<std::string>& lines) {
    tcp_client c(port);
    std::string text;
    for (auto& l : lines) text += l + "\n";
    ASSERT_TRUE(c.send_all(text));
    EXPECT_EQ(c.read_exact(3 * lines.size(), seconds(30)), repeat("OK\n", lines.size()));
}

std::vector<std::string> numbered(const std::string& prefix, int first, int n) {
    std::vector<std::string> out;
    for (int i = first; i < first + n; i++) out.push_back(prefix + std::to_string(i));
    return out;
}

// syslog -> file channel -> file_roll: each line's message arrives; what the
// channel committed survives SIGKILL and is delivered once after the restart.
TEST(FlumeConfigTopologies, SyslogThroughAFileChannelKeepsCommittedEventsAcrossSigkill) {
    temp_dir dir;
    const int port = free_port(), mport = free_port();
    env_changes env = {{"SLUICE_TEST_PORT", std::to_string(port)}, {"SLUICE_TEST_OUT", dir.path()}};
    const std::vector<std::string> monitoring = {"-Dflume.monitoring.type=http",
                                                 "-Dflume.monitoring.port=" + std::to_string(mport)};
    const std::string out = dir.file("out");
    // The sink cannot write yet (a regular file where its directory goes):
    // everything stays in the channel, committed and not taken.
    write_file(out, "blocker");
    auto syslog = [](int i) { return "<13>Nov 22 09:00:00 web1 line-" + std::to_string(i) + "\n"; };
    std::vector<std::string> want;
    {
        agent_process a;
        ASSERT_NO_FATAL_FAILURE(start_config(a, dir.path(), "syslog_file_channel", "a1", env, port, monitoring));
        ASSERT_TRUE(a.wait_port(mport)) << a.stderr_text();
        tcp_client c1(port), c2(port);
        std::string t1, t2;
        for (int i = 0; i < 500; i++) {
            (i % 2 ? t2 : t1) += syslog(i);
            want.push_back("line-" + std::to_string(i));
        }
        ASSERT_TRUE(c1.send_all(t1));
        ASSERT_TRUE(c2.send_all(t2));
        long long put = -1;
        ASSERT_TRUE(poll_until([&] { return (put = metric(mport, "EventPutSuccessCount")) >= 500; }, seconds(20)))
            << put << " committed\n" << a.stderr_text();
        EXPECT_EQ(put, 500);
        EXPECT_EQ(count_output_lines(out), 0u);
        a.kill_now();
    }
    std::filesystem::remove(out);
    std::filesystem::create_directories(out);
    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start_config(b, dir.path(), "syslog_file_channel", "a1", env, port));
    {
        tcp_client c(port);
        std::string text;
        for (int i = 500; i < 800; i++) {
            text += syslog(i);
            want.push_back("line-" + std::to_string(i));
        }
        ASSERT_TRUE(c.send_all(text));
    }
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) >= 800; }, seconds(20)))
        << count_output_lines(out) << " lines\n" << b.stderr_text();
    stop_ok(b, "agent after the restart");
    auto bodies = read_output_bodies(out);
    std::multiset<std::string> got(bodies.begin(), bodies.end()), expected(want.begin(), want.end());
    EXPECT_EQ(got, expected) << "each line once, its syslog message as the body";
    EXPECT_NE(b.stderr_text().find("recovered"), std::string::npos) << b.stderr_text();
    EXPECT_GT(list_files(out).size(), 0u);
}

// Two edge agents forward over Avro RPC to one collector: it gets every
// event of both, with the header the edges set, and nothing else.
TEST(FlumeConfigTopologies, AvroFanInFromTwoAgents) {
    temp_dir dir;
    const int cport = free_port(), p1 = free_port(), p2 = free_port();
    const std::string out = dir.file("collected");
    agent_process collector, web1, web2;
    ASSERT_NO_FATAL_FAILURE(start_config(collector, dir.path(), "avro_collector", "collector",
                                         {{"SLUICE_TEST_AVRO_PORT", std::to_string(cport)}, {"SLUICE_TEST_OUT", out}},
                                         cport));
    for (auto [agent, port] : {std::pair{&web1, p1}, std::pair{&web2, p2}})
        ASSERT_NO_FATAL_FAILURE(start_config(*agent, dir.path(), "avro_fan_in", "web",
                                             {{"SLUICE_TEST_PORT", std::to_string(port)},
                                              {"SLUICE_TEST_AVRO_PORT", std::to_string(cport)}},
                                             port));
    const int n = 1000;
    std::thread other([&] { send_acked(p2, numbered("web2-", 0, n)); });
    send_acked(p1, numbered("web1-", 0, n));
    other.join();
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) >= 2 * n; }, seconds(20)))
        << count_output_lines(out) << " of " << 2 * n << "\n" << collector.stderr_text();
    stop_ok(web1, "web1");
    stop_ok(web2, "web2");
    stop_ok(collector, "collector");
    auto bodies = read_output_bodies(out);
    std::multiset<std::string> got(bodies.begin(), bodies.end()), want;
    for (const char* p : {"web1-", "web2-"})
        for (auto& b : numbered(p, 0, n)) want.insert("{tier=web} " + b);
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "exactly the events sent, once each";
}

// A failover group over two avro sinks, each to its own collector: the
// primary takes everything while it answers (the backup stays idle), the
// primary collector stops mid-run and events go on to the backup; it comes
// back and, after the penalty, takes everything again. Every event the client
// got an OK for is at one of the collectors.
TEST(FlumeConfigTopologies, FailoverBetweenTwoAvroCollectors) {
    temp_dir dir;
    const int port = free_port(), b1_port = free_port(), b2_port = free_port();
    const std::string b1_out = dir.file("b1"), b2_out = dir.file("b2");
    const env_changes b1_env = {{"SLUICE_TEST_AVRO_PORT", std::to_string(b1_port)}, {"SLUICE_TEST_OUT", b1_out}};
    const env_changes b2_env = {{"SLUICE_TEST_AVRO_PORT", std::to_string(b2_port)}, {"SLUICE_TEST_OUT", b2_out}};
    agent_process b1, b2, a;
    ASSERT_NO_FATAL_FAILURE(start_config(b1, dir.path(), "avro_collector", "collector", b1_env, b1_port));
    ASSERT_NO_FATAL_FAILURE(start_config(b2, dir.path(), "avro_collector", "collector", b2_env, b2_port));
    ASSERT_NO_FATAL_FAILURE(start_config(a, dir.path(), "avro_failover", "a1",
                                         {{"SLUICE_TEST_PORT", std::to_string(port)},
                                          {"SLUICE_TEST_PRIMARY_PORT", std::to_string(b1_port)},
                                          {"SLUICE_TEST_BACKUP_PORT", std::to_string(b2_port)}},
                                         port));

    // A client sends 10 lines every 10 ms all along and records what was acknowledged.
    std::mutex mu;
    std::set<std::string> acked;
    std::atomic<bool> stop_sending{false};
    std::atomic<int> next{0};
    std::string sender_error;
    std::thread sender([&] {
        tcp_client c(port);
        while (!stop_sending) {
            int first = next.fetch_add(10);
            std::string text;
            for (int i = first; i < first + 10; i++) text += "ev-" + std::to_string(i) + "\n";
            if (!c.send_all(text)) {
                sender_error = "send failed";
                return;
            }
            std::string replies = c.read_exact(30, seconds(10));
            std::lock_guard lk(mu);
            for (int i = 0; i < 10 && size_t(i * 3 + 3) <= replies.size(); i++)
                if (replies.compare(size_t(i) * 3, 3, "OK\n") == 0) acked.insert("ev-" + std::to_string(first + i));
            if (replies != repeat("OK\n", 10)) {
                sender_error = "replies: " + printable(replies);
                return;
            }
            std::this_thread::sleep_for(milliseconds(10));
        }
    });
    auto lines_at = [](const std::string& d) { return count_output_lines(d); };

    // 1. The primary takes the events, the backup none.
    ASSERT_TRUE(poll_until([&] { return lines_at(b1_out) >= 200; }, seconds(15))) << a.stderr_text();
    EXPECT_EQ(lines_at(b2_out), 0u) << "the backup is idle while the primary delivers";

    // 2. The primary stops (cleanly: what it acknowledged is written out);
    //    events go on to the backup.
    stop_ok(b1, "b1");
    const size_t b1_before = lines_at(b1_out);
    const size_t b2_before = lines_at(b2_out);
    ASSERT_TRUE(poll_until([&] { return lines_at(b2_out) >= b2_before + 200; }, seconds(15))) << a.stderr_text();
    EXPECT_EQ(lines_at(b1_out), b1_before) << "b1 is down";
    EXPECT_NE(a.stderr_text().find("sink primary failed and has been sent to the failover list"), std::string::npos)
        << a.stderr_text();

    // 3. The primary comes back and takes events again (after its penalty
    //    or reconnect back-off: a few seconds at most).
    ASSERT_NO_FATAL_FAILURE(start_config(b1, dir.path(), "avro_collector", "collector", b1_env, b1_port));
    ASSERT_TRUE(poll_until([&] { return lines_at(b1_out) >= b1_before + 200; }, seconds(15))) << a.stderr_text();
    EXPECT_NE(a.stderr_text().find("sink primary delivers again and is back in the failover order"), std::string::npos)
        << a.stderr_text();
    // Once the primary is back the backup gets nothing more. Its collector
    // writes out what it acknowledged within its sink's batch/roll time, so
    // its count settles first.
    std::this_thread::sleep_for(seconds(2));
    const size_t b2_after = lines_at(b2_out);
    ASSERT_TRUE(poll_until([&] { return lines_at(b1_out) >= b1_before + 600; }, seconds(15))) << a.stderr_text();
    EXPECT_EQ(lines_at(b2_out), b2_after) << "the backup is idle again";

    stop_sending = true;
    sender.join();
    EXPECT_EQ(sender_error, "");
    stop_ok(a, "a1");  // drains its channel into the primary
    stop_ok(b1, "b1");
    stop_ok(b2, "b2");

    std::multiset<std::string> delivered;
    for (const auto& d : {b1_out, b2_out})
        for (auto& body : read_output_bodies(d)) delivered.insert(body.substr(body.find(' ') + 1));
    std::vector<std::string> missing;
    for (const auto& e : acked)
        if (!delivered.count(e)) missing.push_back(e);
    EXPECT_TRUE(missing.empty()) << missing.size() << " acknowledged events lost, first " << missing.front();
    for (const auto& e : delivered) EXPECT_EQ(e.rfind("ev-", 0), 0u) << e;
    size_t duplicates = delivered.size() - std::set<std::string>(delivered.begin(), delivered.end()).size();
    std::cout << "[ failover ] " << acked.size() << " acknowledged, " << delivered.size() << " delivered, "
              << duplicates << " duplicates\n";
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
