// SPDX-License-Identifier: Apache-2.0
// The syslog and UDP netcat sources against the real binary over real
// loopback sockets (docs/syslog.md): headers and bodies as Flume gives them,
// over-long lines, and what a full channel does (TCP: push back, then drop and
// count; UDP: drop and count).
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

void send_udp(int port, std::string_view d) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(uint16_t(port));
    ASSERT_EQ(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)), ssize_t(d.size()));
    ::close(fd);
}

std::string metrics(int mport) {
    tcp_client c(mport);
    c.send_all("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    return c.read_to_eof(seconds(10));
}

bool has_counter(const std::string& m, const std::string& name, const std::string& value) {
    return m.find("\"" + name + "\":\"" + value + "\"") != std::string::npos;
}

class SyslogTest : public agent_test {
protected:
    // An agent whose source r1 is `source` (type and keys, lines of
    // "key = value" after a1.sources.r1.), a memory channel with `channel`
    // keys, and a header_and_text file_roll sink (or no sink).
    std::string config(const std::string& source, const std::string& channel = "", bool sink = true) {
        std::string t = "a1.sources = r1\na1.channels = c1\n";
        if (sink) t += "a1.sinks = k1\n";
        std::istringstream in(source);
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) t += "a1.sources.r1." + line + "\n";
        t += "a1.sources.r1.channels = c1\n";
        if (channel.find("type = ") == std::string::npos) t += "a1.channels.c1.type = memory\n";
        std::istringstream cin(channel);
        for (std::string line; std::getline(cin, line);)
            if (!line.empty()) t += "a1.channels.c1." + line + "\n";
        if (sink) {
            _out = _dir.mkdir("out");
            t += "a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\na1.sinks.k1.sink.rollInterval = 0\n"
                 "a1.sinks.k1.sink.serializer = header_and_text\na1.sinks.k1.sink.directory = " +
                 _out + "\n";
        }
        return t;
    }
    // Starts an agent that has no TCP port of its own to wait on: waits for
    // the monitoring port and then for the start line.
    void start_udp_agent(const std::string& conf) {
        _mport = free_port();
        start_agent(conf, _mport,
                    {"-Dsluice.monitoring.type=http", "-Dsluice.monitoring.port=" + std::to_string(_mport),
                     "-Dsluice.drain.timeout=200ms"});
        ASSERT_TRUE(poll_until([&] { return _agent.stderr_text().find("agent a1 started") != std::string::npos; },
                               seconds(10)));
    }
    std::vector<std::string> lines(size_t n) {
        EXPECT_TRUE(wait_output_lines(_out, n)) << read_output_text(_out);
        return read_output_bodies(_out);
    }
    static const std::string* find_line(const std::vector<std::string>& ls, const std::string& needle) {
        for (const auto& l : ls)
            if (l.find(needle) != std::string::npos) return &l;
        return nullptr;
    }
    std::string _out;
    int _mport = 0;
};

TEST_P(SyslogTest, SyslogTcpHeadersBodiesAndOverlongLines) {
    int port = free_port();
    start_agent(config("type = syslogtcp\nhost = 127.0.0.1\nport = " + std::to_string(port) +
                       "\neventSize = 60\nclientIPHeader = ip\n"),
                port);
    tcp_client c(port);
    ASSERT_TRUE(c.send_all("<165>1 2003-10-11T22:14:15.003Z host1 app msg\n"
                           "<10>Good data\n"
                           "not syslog\n"
                           "<13>1 - - " + std::string(55, 'x') + "\n"));
    c.close();
    auto ls = lines(5);
    ASSERT_EQ(ls.size(), 5u) << read_output_text(_out);
    const std::string* l = find_line(ls, "app msg");
    ASSERT_TRUE(l);
    for (const char* h : {"Facility=20", "Severity=5", "priority=165", "version=1", "timestamp=1065910455003",
                          "host=host1", "ip=127.0.0.1"})
        EXPECT_NE(l->find(h), std::string::npos) << h << " in " << *l;
    l = find_line(ls, "<10>Good data");
    ASSERT_TRUE(l);
    EXPECT_NE(l->find("Facility=1"), std::string::npos);
    EXPECT_EQ(l->find("flume.syslog.status"), std::string::npos);
    l = find_line(ls, "} not syslog");
    ASSERT_TRUE(l);
    EXPECT_NE(l->find("flume.syslog.status=Invalid"), std::string::npos);
    // 10 bytes of "<13>1 - - " + 50 x's fill eventSize 60: Incomplete; 5 x's follow as an invalid event.
    l = find_line(ls, "} " + std::string(50, 'x'));
    ASSERT_TRUE(l) << read_output_text(_out);
    EXPECT_NE(l->find("flume.syslog.status=Incomplete"), std::string::npos);
    l = nullptr;
    for (const auto& x : ls)
        if (x.size() > 7 && x.substr(x.size() - 7) == "} xxxxx") l = &x;
    ASSERT_TRUE(l);
    EXPECT_NE(l->find("flume.syslog.status=Invalid"), std::string::npos);
}

TEST_P(SyslogTest, MultiportListensOnEveryPortWithPortHeader) {
    int p1 = free_port(), p2 = free_port();
    start_agent(config("type = multiport_syslogtcp\nhost = 127.0.0.1\nports = " + std::to_string(p1) + " " +
                       std::to_string(p2) + "\nportHeader = port\ncharset.port." + std::to_string(p2) +
                       " = ISO-8859-1\n"),
                p1);
    ASSERT_TRUE(_agent.wait_port(p2));
    {
        tcp_client a(p1), b(p2);
        ASSERT_TRUE(a.send_all("<10>1 2020-01-01T00:00:00Z h1 on one\nbad line\n"));
        ASSERT_TRUE(b.send_all("<13>1 - h2 on two \xe9\n"));
    }
    auto ls = lines(3);
    const std::string* l = find_line(ls, "} on one");
    ASSERT_TRUE(l) << read_output_text(_out);
    for (const std::string& h : std::vector<std::string>{"Priority=10", "Facility=1", "Severity=2", "Version=1", "timestamp=1577836800000",
                                "host=h1", "port=" + std::to_string(p1)})
        EXPECT_NE(l->find(h), std::string::npos) << h << " in " << *l;
    l = find_line(ls, "} bad line");
    ASSERT_TRUE(l);
    EXPECT_NE(l->find("flume.syslog.status=Invalid"), std::string::npos);
    l = find_line(ls, "on two");
    ASSERT_TRUE(l);
    EXPECT_NE(l->find("host=h2"), std::string::npos);
    EXPECT_NE(l->find("port=" + std::to_string(p2)), std::string::npos);
    EXPECT_EQ(l->find("flume.syslog.status"), std::string::npos) << "ISO-8859-1 decodes every byte";
}

TEST_P(SyslogTest, SyslogUdpOneEventPerDatagram) {
    int port = free_port();
    start_udp_agent(config("type = syslogudp\nhost = 127.0.0.1\nport = " + std::to_string(port) +
                           "\nclientIPHeader = ip\nkeepFields = hostname\n"));
    send_udp(port, "<34>Oct 11 22:14:15 mymachine su: failed\nsecond line dropped");
    send_udp(port, "<13>1 - - no newline");
    auto ls = lines(2);
    const std::string* l = find_line(ls, "} mymachine su: failed");
    ASSERT_TRUE(l) << read_output_text(_out);
    EXPECT_NE(l->find("host=mymachine"), std::string::npos);
    EXPECT_NE(l->find("ip=127.0.0.1"), std::string::npos);
    EXPECT_TRUE(find_line(ls, "} - no newline")) << "keepFields hostname keeps the '-' host";
    EXPECT_FALSE(find_line(ls, "second line"));
}

TEST_P(SyslogTest, NetcatUdpBodyUpToTheFirstNewlineWithSender) {
    int port = free_port();
    start_udp_agent(config("type = netcatudp\nbind = 127.0.0.1\nport = " + std::to_string(port) +
                           "\nremoteAddress = sender\n"));
    send_udp(port, "hello udp\nrest is dropped");
    send_udp(port, "whole");
    auto ls = lines(2);
    const std::string* l = find_line(ls, "} hello udp");
    ASSERT_TRUE(l) << read_output_text(_out);
    EXPECT_NE(l->find("sender=/127.0.0.1:"), std::string::npos);
    EXPECT_TRUE(find_line(ls, "} whole"));
    EXPECT_FALSE(find_line(ls, "rest"));
}

TEST_P(SyslogTest, SyslogUdpFullChannelDropsAndCounts) {
    int port = free_port();
    start_udp_agent(config("type = syslogudp\nhost = 127.0.0.1\nport = " + std::to_string(port) + "\n",
                           "capacity = 3\ntransactionCapacity = 3\n", false));
    for (int i = 0; i < 10; i++) send_udp(port, "<13>1 - - e" + std::to_string(i));
    std::string m;
    EXPECT_TRUE(poll_until(
        [&] {
            m = metrics(_mport);
            // Received is counted before the put: wait for both to settle.
            return has_counter(m, "EventReceivedCount", "10") && has_counter(m, "ChannelWriteFail", "7");
        },
        seconds(10)))
        << m;
    EXPECT_TRUE(has_counter(m, "EventAcceptedCount", "3")) << m;
    EXPECT_TRUE(has_counter(m, "ChannelWriteFail", "7")) << m;
    EXPECT_TRUE(has_counter(m, "ChannelSize", "3")) << m;
}

TEST_P(SyslogTest, SyslogTcpFullChannelPushesBackThenDropsAndCounts) {
    int port = free_port(), mport = free_port();
    start_agent(config("type = syslogtcp\nhost = 127.0.0.1\nport = " + std::to_string(port) + "\n",
                       "capacity = 3\ntransactionCapacity = 3\nkeep-alive = 1\n", false),
                port, {"-Dsluice.monitoring.type=http", "-Dsluice.monitoring.port=" + std::to_string(mport),
                       "-Dsluice.drain.timeout=200ms"});
    ASSERT_TRUE(_agent.wait_port(mport));
    tcp_client c(port);
    std::string text;
    for (int i = 0; i < 5; i++) text += "<13>1 - - e" + std::to_string(i) + "\n";
    ASSERT_TRUE(c.send_all(text));
    // Nothing is dropped before the channel's keep-alive (1 s) has passed.
    std::this_thread::sleep_for(milliseconds(300));
    std::string m = metrics(mport);
    EXPECT_TRUE(has_counter(m, "EventAcceptedCount", "3")) << m;
    EXPECT_TRUE(has_counter(m, "ChannelWriteFail", "0")) << m;
    EXPECT_TRUE(poll_until(
        [&] {
            m = metrics(mport);
            return has_counter(m, "ChannelWriteFail", "2");
        },
        seconds(15)))
        << m;
    EXPECT_TRUE(has_counter(m, "EventReceivedCount", "5")) << m;
    EXPECT_TRUE(has_counter(m, "EventAcceptedCount", "3")) << m;
}

// A read bigger than a durable channel's smallest segment cannot be one put:
// it goes in halves, and no line is dropped.
TEST_P(SyslogTest, SyslogTcpReadBiggerThanASegmentLosesNothing) {
    int port = free_port();
    start_agent(config("type = syslogtcp\nhost = 127.0.0.1\nport = " + std::to_string(port) + "\n",
                       "type = file\nmaxFileSize = 65536\nminimumRequiredSpace = 1048576\ncheckpointDir = " + _dir.file("ckpt") +
                           "\ndataDirs = " + _dir.file("data") + "\n"),
                port);
    const int n = 2000;
    std::string text;
    for (int i = 0; i < n; i++) text += "<13>1 - - e" + std::to_string(i) + " " + std::string(120, 'x') + "\n";
    tcp_client c(port);
    ASSERT_TRUE(c.send_all(text));
    std::vector<std::string> got = lines(size_t(n));
    ASSERT_EQ(got.size(), size_t(n)) << _agent.stderr_text();
    std::vector<int> numbers;
    for (const auto& l : got)
        if (size_t at = l.rfind(" e"); at != std::string::npos) numbers.push_back(std::atoi(l.c_str() + at + 2));
    std::sort(numbers.begin(), numbers.end());
    for (int i = 0; i < n; i++) ASSERT_EQ(numbers[size_t(i)], i);
    EXPECT_EQ(_agent.stderr_text().find("dropping"), std::string::npos) << _agent.stderr_text();
}

TEST_P(SyslogTest, LoadgenSyslogLinesParseAsRfc3164AndRfc5424) {
    int port = free_port();
    start_agent(config("type = syslogtcp\nhost = 127.0.0.1\nport = " + std::to_string(port) + "\n"), port);
    for (const char* format : {"3164", "5424"}) {
        auto r = run_command({SLUICE_LOADGEN, "--proto", "syslog", "--syslog-format", format, "--port",
                              std::to_string(port), "--events", "500", "--quiet"},
                             _dir.path());
        ASSERT_EQ(r.code, 0) << describe(r);
    }
    auto ls = lines(1000);
    ASSERT_EQ(ls.size(), 1000u);
    size_t v1 = 0;
    for (const auto& l : ls) {
        ASSERT_NE(l.find("host=loadgen"), std::string::npos) << l;
        ASSERT_NE(l.find("} sluice-loadgen"), std::string::npos) << l;
        ASSERT_EQ(l.find("flume.syslog.status"), std::string::npos) << l;
        v1 += l.find("version=1") != std::string::npos;
    }
    EXPECT_EQ(v1, 500u);
}

INSTANTIATE_TEST_SUITE_P(Backends, SyslogTest, testing::ValuesIn(all_backends()), backend_param_name);

TEST(SyslogConfig, MultiportRejectsUnsupportedCharsetAndBadPorts) {
    temp_dir dir;
    std::string conf = "a1.sources = r1\na1.channels = c1\na1.sources.r1.type = multiport_syslogtcp\n"
                       "a1.sources.r1.ports = 5140 x\na1.sources.r1.charset.default = UTF-16\n"
                       "a1.sources.r1.channels = c1\na1.channels.c1.type = memory\n";
    std::string path = dir.write("a.properties", conf);
    auto r = run_command({sluice_binary(), "check", "-n", "a1", "-f", path}, dir.path());
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_NE(r.err.find("ports"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("UTF-16"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sluice_it
