// SPDX-License-Identifier: Apache-2.0
// The `sluice` command line on configuration files (DESIGN.md §2): `check`,
// fatal configuration errors with one line per problem, warnings, --lenient,
// ${env:X}, and a missing file.
#include <regex>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

class cli_test : public ::testing::Test {
protected:
    exit_result sluice(std::vector<std::string> args, const env_changes& env = {}) {
        args.insert(args.begin(), sluice_binary());
        return run_command(args, _dir.path(), env, seconds(30));
    }
    exit_result check(const std::string& file, std::vector<std::string> extra = {}, const env_changes& env = {}) {
        std::vector<std::string> args = {"check", "-n", "a1", "-f", file};
        args.insert(args.end(), extra.begin(), extra.end());
        return sluice(args, env);
    }
    // The non-empty lines of `text`.
    static std::vector<std::string> lines_of(const std::string& text) {
        std::vector<std::string> out;
        for (auto& l : split_lines(text))
            if (!l.empty()) out.push_back(l);
        return out;
    }

    temp_dir _dir;
};

const char* good_config =
    "a1.sources = r1\n"
    "a1.channels = c1\n"
    "a1.sinks = k1\n"
    "a1.sources.r1.type = netcat\n"
    "a1.sources.r1.bind = 127.0.0.1\n"
    "a1.sources.r1.port = 44444\n"
    "a1.sources.r1.channels = c1\n"
    "a1.channels.c1.type = memory\n"
    "a1.sinks.k1.type = logger\n"
    "a1.sinks.k1.channel = c1\n";

TEST_F(cli_test, check_accepts_the_example_and_prints_the_flow) {
    const std::string file = source_dir() + "/conf/example.properties";
    exit_result r = check(file);
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_NE(r.out.find("agent a1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("r1 -> c1 -> k1"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("r1 -> c2 -> k2"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("source r1 (netcat)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("sink k2 (file_roll)"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("error"), std::string::npos) << r.err;
}

// A SPILLABLEMEMORY channel without overflow never touches its directories,
// so it may share the defaults with a file channel; with overflow it may not.
TEST_F(cli_test, spillable_channel_without_overflow_shares_no_directory) {
    const std::string base =
        "a1.sources = r1\n"
        "a1.channels = f1 s1\n"
        "a1.sources.r1.type = netcat\n"
        "a1.sources.r1.bind = 127.0.0.1\n"
        "a1.sources.r1.port = 44444\n"
        "a1.sources.r1.channels = f1 s1\n"
        "a1.channels.f1.type = file\n"
        "a1.channels.s1.type = SPILLABLEMEMORY\n";
    exit_result memory_only = check(_dir.write("m.properties", base + "a1.channels.s1.overflowCapacity = 0\n"));
    ASSERT_TRUE(memory_only.exited) << describe(memory_only);
    EXPECT_EQ(memory_only.code, 0) << describe(memory_only);
    exit_result spilling = check(_dir.write("s.properties", base));
    ASSERT_TRUE(spilling.exited) << describe(spilling);
    EXPECT_EQ(spilling.code, 1) << describe(spilling);
    EXPECT_NE(spilling.err.find("s.properties:8: a1.channels.s1.checkpointDir: directory "), std::string::npos)
        << spilling.err;
}

TEST_F(cli_test, every_problem_is_reported_on_its_own_line_with_file_line_and_key) {
    const std::string file = _dir.write("a.properties",
                                        "a1.sources = r1 r2\n"                     // 1
                                        "a1.channels = c1\n"                       // 2
                                        "a1.sinks = k1\n"                          // 3
                                        "a1.sources.r1.type = nosuchsource\n"      // 4
                                        "a1.sources.r1.channels = c1\n"            // 5
                                        "a1.sinks.k1.type = logger\n"              // 6
                                        "a1.sinks.k1.channel = c9\n"               // 7
                                        "a1.sources.r2.type = netcat\n"            // 8
                                        "a1.sources.r2.port = abc\n"               // 9
                                        "a1.sources.r2.channels = c1\n"            // 10
                                        "a1.channels.c1.type = memory\n");         // 11
    exit_result r = check(file);
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_EQ(r.out, "") << "no topology is printed for a broken file";
    auto lines = lines_of(r.err);
    auto line_with = [&](const std::string& key) -> std::string {
        std::string found;
        for (auto& l : lines)
            if (l.find(key + ":") != std::string::npos) {
                EXPECT_EQ(found, "") << "two lines for " << key << "\n" << r.err;
                found = l;
            }
        return found;
    };
    // Each problem: "<file>:<line>: <full key>: <message>".
    std::string channel = line_with("a1.sinks.k1.channel");
    EXPECT_EQ(channel, file + ":7: a1.sinks.k1.channel: unknown channel 'c9'") << r.err;

    std::string type = line_with("a1.sources.r1.type");
    EXPECT_EQ(type.rfind(file + ":4: a1.sources.r1.type: ", 0), 0u) << r.err;
    EXPECT_NE(type.find("nosuchsource"), std::string::npos) << type;
    EXPECT_NE(type.find("netcat"), std::string::npos) << "the known types are listed: " << type;

    std::string port = line_with("a1.sources.r2.port");
    EXPECT_EQ(port.rfind(file + ":9: a1.sources.r2.port: ", 0), 0u) << r.err;
    EXPECT_NE(port.find("abc"), std::string::npos) << port;

    std::string bind = line_with("a1.sources.r2.bind");
    EXPECT_TRUE(std::regex_search(bind, std::regex("^" + file + R"(:\d+: a1\.sources\.r2\.bind: )"))) << r.err;
    EXPECT_NE(bind.find("missing"), std::string::npos) << bind;

    EXPECT_EQ(lines.size(), 4u) << "one line per problem, nothing else:\n" << r.err;
}

TEST_F(cli_test, agent_refuses_a_broken_file_too) {
    const std::string file = _dir.write("b.properties",
                                        "a1.sources = r1\n"
                                        "a1.channels = c1\n"
                                        "a1.sinks = k1\n"
                                        "a1.sources.r1.type = netcat\n"
                                        "a1.sources.r1.bind = 127.0.0.1\n"
                                        "a1.sources.r1.port = 0x10\n"
                                        "a1.sources.r1.channels = c1\n"
                                        "a1.channels.c1.type = memory\n"
                                        "a1.sinks.k1.type = logger\n"
                                        "a1.sinks.k1.channel = c9\n");
    exit_result r = sluice({"agent", "-n", "a1", "-f", file, "--shards", "1"});
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_NE(r.err.find(file + ":6: a1.sources.r1.port: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(file + ":10: a1.sinks.k1.channel: unknown channel 'c9'"), std::string::npos) << r.err;
}

TEST_F(cli_test, unknown_key_alone_is_a_warning_with_a_suggestion) {
    const std::string file = _dir.write("w.properties", std::string(good_config) + "a1.sources.r1.prot = 44444\n");
    exit_result r = check(file);
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 0) << describe(r);
    auto lines = lines_of(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_NE(lines[0].find("warning"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find(file + ":11: a1.sources.r1.prot"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("'port'"), std::string::npos) << "suggests the key meant: " << lines[0];
    EXPECT_NE(r.out.find("r1 -> c1 -> k1"), std::string::npos) << r.out;
}

TEST_F(cli_test, misspelt_required_key_fails_and_names_the_right_key) {
    std::string cfg = good_config;
    cfg.replace(cfg.find("a1.sources.r1.port"), std::string("a1.sources.r1.port").size(), "a1.sources.r1.prot");
    const std::string file = _dir.write("m.properties", cfg);
    exit_result r = check(file);
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_NE(r.err.find("a1.sources.r1.prot"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("'port'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("a1.sources.r1.port: "), std::string::npos) << "the missing key is an error: " << r.err;
}

TEST_F(cli_test, missing_configuration_file) {
    const std::string file = _dir.file("does-not-exist.properties");
    for (const char* cmd : {"check", "agent"}) {
        exit_result r = sluice({cmd, "-n", "a1", "-f", file});
        ASSERT_TRUE(r.exited) << describe(r);
        EXPECT_EQ(r.code, 1) << cmd << ": " << describe(r);
        EXPECT_NE(r.err.find(file), std::string::npos) << cmd << ": " << r.err;
    }
}

TEST_F(cli_test, lenient_drops_a_broken_sink_and_keeps_the_rest) {
    const std::string file = _dir.write("l.properties",
                                        "a1.sources = r1\n"
                                        "a1.channels = c1 c2\n"
                                        "a1.sinks = k1 k2\n"
                                        "a1.sources.r1.type = netcat\n"
                                        "a1.sources.r1.bind = 127.0.0.1\n"
                                        "a1.sources.r1.port = 44444\n"
                                        "a1.sources.r1.channels = c1 c2\n"
                                        "a1.channels.c1.type = memory\n"
                                        "a1.channels.c2.type = memory\n"
                                        "a1.sinks.k1.type = logger\n"
                                        "a1.sinks.k1.channel = c1\n"
                                        "a1.sinks.k2.type = logger\n"
                                        "a1.sinks.k2.channel = c9\n");
    exit_result strict = check(file);
    EXPECT_EQ(strict.code, 1) << describe(strict);

    exit_result r = check(file, {"--lenient"});
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_NE(r.out.find("r1 -> c1 -> k1"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("k2"), std::string::npos) << "the broken sink is dropped:\n" << r.out;
    EXPECT_NE(r.err.find("a1.sinks.k2.channel"), std::string::npos) << "the drop is reported: " << r.err;
    EXPECT_NE(r.err.find("warning"), std::string::npos) << r.err;
}

TEST_F(cli_test, lenient_agent_runs_the_rest) {
    int port = free_port();
    const std::string file = _dir.write("l2.properties",
                                        "a1.sources = r1\n"
                                        "a1.channels = c1\n"
                                        "a1.sinks = k1 k2\n"
                                        "a1.sources.r1.type = netcat\n"
                                        "a1.sources.r1.bind = 127.0.0.1\n"
                                        "a1.sources.r1.port = " + std::to_string(port) + "\n"
                                        "a1.sources.r1.channels = c1\n"
                                        "a1.channels.c1.type = memory\n"
                                        "a1.sinks.k1.type = logger\n"
                                        "a1.sinks.k1.channel = c1\n"
                                        "a1.sinks.k2.type = nosuchsink\n"
                                        "a1.sinks.k2.channel = c1\n");
    child_process p;
    p.spawn({sluice_binary(), "agent", "-n", "a1", "-f", file, "--shards", "1", "--lenient"}, _dir.path());
    ASSERT_TRUE(poll_until([&] {
        if (!p.running()) return true;
        int fd = connect_once(port);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
    }, seconds(15)));
    ASSERT_TRUE(p.running()) << p.stderr_text();
    {
        tcp_client c(port);
        ASSERT_TRUE(c.send_all("still works\n"));
        EXPECT_EQ(c.read_exact(3), "OK\n");
    }
    EXPECT_TRUE(poll_until([&] { return p.stderr_text().find("still works }") != std::string::npos; }, seconds(10)))
        << p.stderr_text();
    exit_result r = p.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    EXPECT_NE(r.err.find("a1.sinks.k2.type"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("SINK.k2:"), std::string::npos) << "k2 was dropped: " << r.err;
}

TEST_F(cli_test, env_substitution) {
    std::string cfg = good_config;
    cfg.replace(cfg.find("port = 44444"), std::string("port = 44444").size(), "port = ${env:SLUICE_IT_PORT}");
    const std::string file = _dir.write("e.properties", cfg);

    exit_result r = check(file, {}, {{"SLUICE_IT_PORT", "45123"}});
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_NE(r.out.find("port = 45123"), std::string::npos) << r.out;

    exit_result unset = check(file, {}, {{"SLUICE_IT_PORT", std::nullopt}});
    ASSERT_TRUE(unset.exited) << describe(unset);
    EXPECT_EQ(unset.code, 1) << describe(unset);
    EXPECT_NE(unset.err.find("SLUICE_IT_PORT"), std::string::npos) << unset.err;
    EXPECT_NE(unset.err.find(file + ":6:"), std::string::npos) << unset.err;
}

TEST_F(cli_test, env_substitution_reaches_the_running_agent) {
    int port = free_port();
    std::string cfg = good_config;
    cfg.replace(cfg.find("port = 44444"), std::string("port = 44444").size(), "port = ${env:SLUICE_IT_PORT}");
    const std::string file = _dir.write("e2.properties", cfg);
    child_process p;
    p.spawn({sluice_binary(), "agent", "-n", "a1", "-f", file, "--shards", "1"}, _dir.path(),
            {{"SLUICE_IT_PORT", std::to_string(port)}});
    tcp_client c;
    ASSERT_NO_THROW(c.connect(port, seconds(15))) << p.stderr_text();
    ASSERT_TRUE(c.send_all("via env\n"));
    EXPECT_EQ(c.read_exact(3), "OK\n");
    exit_result r = p.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
}

}  // namespace
}  // namespace sluice_it
