// SPDX-License-Identifier: Apache-2.0
// The logger and file_roll sinks behind a live netcat source
// (reference/flume.md §9): the logger's event format and hex dump, file_roll
// file names, serializers and rolling.
#include <regex>
#include <set>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

class sinks_test : public agent_test {
protected:
    void SetUp() override {
        _port = free_port();
        _out = _dir.file("out");
    }
    int _port = 0;
    std::string _out;
};

// ------------------------------------------------------------------ logger

TEST_P(sinks_test, logger_prints_flume_event_format_and_hex_dump) {
    // One source into two channels: k1 logs with the default maxBytesToLog
    // (16), k2 with 32.
    std::string cfg =
        "a1.sources = r1\n"
        "a1.channels = c1 c2\n"
        "a1.sinks = k1 k2\n"
        "a1.sources.r1.type = netcat\n"
        "a1.sources.r1.bind = 127.0.0.1\n"
        "a1.sources.r1.port = " + std::to_string(_port) + "\n"
        "a1.sources.r1.channels = c1 c2\n"
        "a1.channels.c1.type = memory\n"
        "a1.channels.c2.type = memory\n"
        "a1.sinks.k1.type = logger\n"
        "a1.sinks.k1.channel = c1\n"
        "a1.sinks.k2.type = logger\n"
        "a1.sinks.k2.channel = c2\n"
        "a1.sinks.k2.maxBytesToLog = 32\n";
    ASSERT_NO_FATAL_FAILURE(start_agent(cfg, _port));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("hello\n0123456789abcdefghij\n\n"));
    ASSERT_EQ(c.read_exact(9), "OK\nOK\nOK\n");

    const std::string hello = "Event: { headers:{} body: 68 65 6C 6C 6F" + std::string(34, ' ') + "hello }";
    const std::string first16 =
        "Event: { headers:{} body: 30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66 0123456789abcdef";
    const std::string dump16 = first16 + " }";
    const std::string dump32 = first16 + "\n00000010 67 68 69 6A" + std::string(37, ' ') + "ghij }";
    const std::string empty = "Event: { headers:{} body: }";
    bool all = poll_until(
        [&] {
            std::string err = _agent.stderr_text();
            return count_occurrences(err, hello) >= 2 && err.find(dump16) != std::string::npos &&
                   err.find(dump32) != std::string::npos && count_occurrences(err, empty) >= 2;
        },
        seconds(15));
    std::string err = _agent.stderr_text();
    EXPECT_TRUE(all) << err;
    EXPECT_EQ(count_occurrences(err, hello), 2u) << err;
    EXPECT_EQ(count_occurrences(err, dump16), 1u) << "maxBytesToLog=16 shows 16 bytes\n" << err;
    EXPECT_EQ(count_occurrences(err, dump32), 1u) << "maxBytesToLog=32 shows a second line\n" << err;
    EXPECT_EQ(count_occurrences(err, empty), 2u) << err;
    // The dump goes no further than maxBytesToLog.
    EXPECT_EQ(err.find(first16 + " }\n00000010"), std::string::npos);
}

// ------------------------------------------------------------------ file_roll

flow_spec file_roll_flow(int port, key_values sink) {
    flow_spec f;
    f.port = port;
    f.sink = std::move(sink);
    return f;
}

TEST_P(sinks_test, file_roll_default_names) {
    ASSERT_NO_FATAL_FAILURE(start_agent(
        flow_config(file_roll_flow(_port, {{"sink.directory", _out}, {"sink.rollInterval", "0"}, {"sink.batchSize", "1"}})),
        _port));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("named\n"));
    ASSERT_EQ(c.read_exact(3), "OK\n");
    ASSERT_TRUE(wait_output_lines(_out, 1));
    auto names = list_files(_out);
    ASSERT_FALSE(names.empty());
    EXPECT_LE(names.size(), size_t(GetParam().shards)) << "rollInterval 0: one file per shard at most";
    const std::regex re(R"(^\d{13}-\d+$)");
    std::set<int64_t> stamps;
    for (auto& n : names) {
        EXPECT_TRUE(std::regex_match(n, re)) << n;
        stamps.insert(std::strtoll(n.c_str(), nullptr, 10));
    }
    EXPECT_EQ(stamps.size(), 1u) << "the start time in the names is fixed at sink creation";
    int64_t wall = std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    EXPECT_LE(*stamps.begin(), wall);
    EXPECT_GE(*stamps.begin(), wall - 120000) << "the stamp is the start time in epoch ms";
    EXPECT_EQ(read_output_text(_out), "named\n");
}

TEST_P(sinks_test, file_roll_prefix_extension_and_header_and_text) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_roll_flow(_port, {{"sink.directory", _out},
                                                                           {"sink.rollInterval", "0"},
                                                                           {"sink.batchSize", "1"},
                                                                           {"sink.pathManager.prefix", "p"},
                                                                           {"sink.pathManager.extension", "txt"},
                                                                           {"sink.serializer", "header_and_text"}})),
                                        _port));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("body1\n\n"));
    ASSERT_EQ(c.read_exact(6), "OK\nOK\n");
    ASSERT_TRUE(wait_output_lines(_out, 2));
    auto names = list_files(_out);
    ASSERT_FALSE(names.empty());
    const std::regex re(R"(^p\d{13}-\d+\.txt$)");
    for (auto& n : names) EXPECT_TRUE(std::regex_match(n, re)) << n;
    EXPECT_EQ(read_output_text(_out), "{} body1\n{} \n") << printable(read_output_text(_out));
}

TEST_P(sinks_test, file_roll_serializer_without_newline) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_roll_flow(_port, {{"sink.directory", _out},
                                                                           {"sink.rollInterval", "0"},
                                                                           {"sink.batchSize", "1"},
                                                                           {"sink.serializer.appendNewline", "false"}})),
                                        _port));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("ab\ncd\n"));
    ASSERT_EQ(c.read_exact(6), "OK\nOK\n");
    ASSERT_TRUE(poll_until([&] { return read_output_text(_out).size() >= 4; }, seconds(15)));
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    EXPECT_EQ(read_output_text(_out), "abcd");
}

TEST_P(sinks_test, file_roll_rolls_every_interval) {
    ASSERT_NO_FATAL_FAILURE(start_agent(
        flow_config(file_roll_flow(_port, {{"sink.directory", _out}, {"sink.rollInterval", "1"}, {"sink.batchSize", "1"}})),
        _port));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("one\n"));
    ASSERT_EQ(c.read_exact(3), "OK\n");
    ASSERT_TRUE(wait_output_lines(_out, 1));
    int64_t first_seen = now_ms();
    auto lines = read_output_lines(_out);
    ASSERT_EQ(lines.size(), 1u);
    const std::string first_file = lines[0].file;

    // A new file is started about every second, events or not: wait until
    // every shard has started one after those that exist now.
    uint64_t max_before = 0;
    for (auto& name : list_files(_out)) max_before = std::max(max_before, roll_counter(name));
    auto newer_files = [&] {
        size_t n = 0;
        for (auto& name : list_files(_out))
            if (roll_counter(name) > max_before) n++;
        return n;
    };
    ASSERT_TRUE(poll_until([&] { return newer_files() >= GetParam().shards; }, seconds(10)))
        << "no roll: " << ::testing::PrintToString(list_files(_out));
    int64_t rolled = now_ms();
    EXPECT_LE(rolled - first_seen, 5000);
    ASSERT_TRUE(c.send_all("two\n"));
    ASSERT_EQ(c.read_exact(3), "OK\n");
    ASSERT_TRUE(wait_output_lines(_out, 2));
    lines = read_output_lines(_out);
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].body, "one");
    EXPECT_EQ(lines[1].body, "two");
    EXPECT_NE(lines[1].file, first_file) << "the event after the roll is in a new file";
    // Rolling goes on without events: at least two more files within ~3 s.
    size_t before = list_files(_out).size();
    EXPECT_TRUE(poll_until([&] { return list_files(_out).size() >= before + 2; }, seconds(8)))
        << list_files(_out).size() << " files";
}

INSTANTIATE_TEST_SUITE_P(backends, sinks_test, ::testing::ValuesIn(all_backends()), backend_param_name);

}  // namespace
}  // namespace sluice_it
