// SPDX-License-Identifier: Apache-2.0
// The file and process sources (exec, spooldir, TAILDIR, seq) run in the real
// `sluice` binary against real files and child processes; what they deliver
// is read back from a file_roll sink.
#include <set>

#include "harness.h"
#include "io/file_source_util.h"

namespace sluice_it {
namespace {

// r1 (the given type and keys) -> memory channel c1 -> file_roll k1 into `out`.
std::string source_config(const std::string& type, const key_values& keys, const std::string& out,
                          const key_values& channel = {}, const std::string& serializer = "TEXT") {
    std::string t;
    auto line = [&](const std::string& k, const std::string& v) { t += k + " = " + v + "\n"; };
    line("a1.sources", "r1");
    line("a1.channels", "c1");
    line("a1.sinks", "k1");
    line("a1.sources.r1.type", type);
    line("a1.sources.r1.channels", "c1");
    for (auto& [k, v] : keys) line("a1.sources.r1." + k, v);
    line("a1.channels.c1.type", "memory");
    line("a1.channels.c1.capacity", "10000");
    line("a1.channels.c1.transactionCapacity", "1000");
    for (auto& [k, v] : channel) line("a1.channels.c1." + k, v);
    line("a1.sinks.k1.type", "file_roll");
    line("a1.sinks.k1.channel", "c1");
    line("a1.sinks.k1.sink.directory", out);
    line("a1.sinks.k1.sink.rollInterval", "0");
    line("a1.sinks.k1.sink.serializer", serializer);
    return t;
}

std::string numbered_lines(const std::string& prefix, int from, int to) {
    std::string s;
    for (int i = from; i < to; i++) s += prefix + std::to_string(i) + "\n";
    return s;
}

std::multiset<std::string> as_multiset(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

class file_sources_test : public ::testing::TestWithParam<backend_param> {
protected:
    void TearDown() override {
        if (_agent.running()) {
            exit_result r = _agent.stop(seconds(45));
            EXPECT_TRUE(r.exited && r.signal == 0 && r.code == 0) << "agent at teardown: " << describe(r);
        } else if (HasFailure()) {
            std::cerr << "agent stderr:\n" << _agent.stderr_text() << "\n";
        }
    }

    agent_options options() const {
        agent_options o;
        o.backend = GetParam().backend;
        o.shards = GetParam().shards;
        return o;
    }

    // Starts the agent and waits for its "started" line.
    void start(agent_process& agent, const std::string& config) {
        agent.start(_dir.path(), config, options());
        ASSERT_TRUE(poll_until([&] { return !agent.running() || agent.stderr_text().find("agent a1 started") != std::string::npos; },
                               seconds(15)))
            << agent.stderr_text();
        ASSERT_TRUE(agent.running()) << agent.stderr_text();
    }

    void stop_cleanly(agent_process& agent) {
        exit_result r = agent.stop(seconds(45));
        ASSERT_TRUE(r.exited && r.signal == 0 && r.code == 0) << describe(r);
    }

    temp_dir _dir;
    agent_process _agent;
};

// ------------------------------------------------------------------ seq

TEST_P(file_sources_test, SeqDeliversTotalEventsThenTheAgentExits) {
    std::string out = _dir.mkdir("out");
    _agent.start(_dir.path(),
                 source_config("seq", {{"totalEvents", "2500"}, {"batchSize", "100"}}, out,
                               {{"capacity", "300"}, {"transactionCapacity", "100"}}),
                 options());
    exit_result r = _agent.wait(seconds(30));
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
    auto bodies = read_output_bodies(out);
    ASSERT_EQ(bodies.size(), 2500u);
    std::set<std::string> distinct(bodies.begin(), bodies.end());
    EXPECT_EQ(distinct.size(), 2500u);
    for (int i = 0; i < 2500; i++) EXPECT_TRUE(distinct.count(std::to_string(i))) << i;
    EXPECT_NE(r.err.find("SOURCE.r1: EventReceivedCount=2500 EventAcceptedCount=2500"), std::string::npos) << r.err;
}

TEST_P(file_sources_test, SeqBatchLargerThanTransactionCapacityIsAConfigError) {
    std::string out = _dir.mkdir("out");
    _agent.start(_dir.path(),
                 source_config("seq", {{"totalEvents", "10"}, {"batchSize", "2000"}}, out), options());
    exit_result r = _agent.wait(seconds(20));
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_NE(r.err.find("batchSize"), std::string::npos) << r.err;
}

// ------------------------------------------------------------------ exec

TEST_P(file_sources_test, ExecRestartsTheCommandAndKillsItOnStop) {
    std::string out = _dir.mkdir("out");
    std::string runs = _dir.file("runs");
    // Each run appends a line to `runs`, prints two lines (the second without
    // a newline: the end of output ends it) and exits.
    start(_agent, source_config("exec",
                                {{"command", "echo run >> " + runs + "; echo first; printf second"},
                                 {"shell", "/bin/sh -c"},
                                 {"restart", "true"},
                                 {"restartThrottle", "100"},
                                 {"batchTimeout", "50"},
                                 {"batchSize", "5"}},
                                out));
    ASSERT_TRUE(poll_until([&] { return count_occurrences(read_file(runs), "run") >= 3; }, seconds(20)));
    stop_cleanly(_agent);
    size_t run_count = count_occurrences(read_file(runs), "run");
    auto bodies = read_output_bodies(out);
    size_t firsts = 0, seconds_ = 0;
    for (auto& b : bodies) {
        if (b == "first") firsts++;
        else if (b == "second") seconds_++;
        else ADD_FAILURE() << "unexpected body '" << b << "'";
    }
    // Every completed run delivered both lines; the run cut by the stop at most one fewer.
    EXPECT_GE(firsts, 3u);
    EXPECT_LE(firsts, run_count);
    EXPECT_GE(seconds_ + 1, firsts);
}

TEST_P(file_sources_test, ExecStopKillsALongRunningCommand) {
    std::string out = _dir.mkdir("out");
    std::string pidfile = _dir.file("pid");
    start(_agent, source_config("exec",
                                {{"command", "echo $$ > " + pidfile + ".tmp; mv " + pidfile + ".tmp " + pidfile +
                                                 "; echo hello; exec sleep 60"},
                                 {"shell", "/bin/sh -c"},
                                 {"batchTimeout", "50"}},
                                out));
    ASSERT_TRUE(poll_until([&] { return !read_file(pidfile).empty(); }, seconds(15)));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) >= 1; }, seconds(15)));
    pid_t child = pid_t(std::stol(read_file(pidfile)));
    ASSERT_EQ(::kill(child, 0), 0);
    auto t0 = clock_type::now();
    stop_cleanly(_agent);
    EXPECT_LT(clock_type::now() - t0, seconds(10));
    EXPECT_TRUE(poll_until([&] { return ::kill(child, 0) != 0; }, seconds(5))) << "the command outlived the agent";
    EXPECT_EQ(read_output_bodies(out), std::vector<std::string>{"hello"});
}

// ------------------------------------------------------------------ spooldir

TEST_P(file_sources_test, SpoolDirRenamesCompletedFilesWithTheirHeaders) {
    std::string out = _dir.mkdir("out");
    std::string spool = _dir.mkdir("spool");
    write_file(spool + "/a.log", numbered_lines("a", 0, 250));
    write_file(spool + "/b.log", "b0\nb1");  // last line without a newline
    write_file(spool + "/skip.tmp", "never\n");
    write_file(spool + "/.hidden", "never\n");
    start(_agent, source_config("spooldir",
                                {{"spoolDir", spool},
                                 {"pollDelay", "50"},
                                 {"batchSize", "40"},
                                 {"ignorePattern", "^.*\\.tmp$"},
                                 {"basenameHeader", "true"}},
                                out, {}, "header_and_text"));
    ASSERT_TRUE(poll_until([&] { return list_files(spool) == std::vector<std::string>{".hidden", "a.log.COMPLETED", "b.log.COMPLETED", "skip.tmp"}; },
                           seconds(20)))
        << printable(read_output_text(out));
    // A file that arrives later is read too.
    write_file(spool + "/c.log", "c0\n");
    ASSERT_TRUE(poll_until([&] { return std::filesystem::exists(spool + "/c.log.COMPLETED"); }, seconds(20)));
    stop_cleanly(_agent);
    std::vector<std::string> expected;
    for (int i = 0; i < 250; i++) expected.push_back("{basename=a.log} a" + std::to_string(i));
    expected.push_back("{basename=b.log} b0");
    expected.push_back("{basename=b.log} b1");
    expected.push_back("{basename=c.log} c0");
    EXPECT_EQ(as_multiset(read_output_bodies(out)), as_multiset(expected));
    EXPECT_EQ(read_file(spool + "/a.log.COMPLETED"), numbered_lines("a", 0, 250));
    EXPECT_FALSE(std::filesystem::exists(spool + "/.flumespool/.flumespool-main.meta"));
}

TEST_P(file_sources_test, SpoolDirDeletePolicyImmediate) {
    std::string out = _dir.mkdir("out");
    std::string spool = _dir.mkdir("spool");
    write_file(spool + "/one", numbered_lines("x", 0, 100));
    write_file(spool + "/two", numbered_lines("y", 0, 100));
    start(_agent, source_config("spooldir", {{"spoolDir", spool}, {"pollDelay", "50"}, {"deletePolicy", "immediate"}}, out));
    ASSERT_TRUE(poll_until([&] { return list_files(spool).empty() && count_output_lines(out) >= 200; }, seconds(20)));
    stop_cleanly(_agent);
    std::vector<std::string> expected = split_lines(numbered_lines("x", 0, 100) + numbered_lines("y", 0, 100));
    EXPECT_EQ(as_multiset(read_output_bodies(out)), as_multiset(expected));
}

TEST_P(file_sources_test, SpoolDirNameCollisionWithACompletedFileStopsTheSource) {
    std::string out = _dir.mkdir("out");
    std::string spool = _dir.mkdir("spool");
    write_file(spool + "/a.log.COMPLETED", "old\n");
    write_file(spool + "/a.log", "new\n");
    start(_agent, source_config("spooldir", {{"spoolDir", spool}, {"pollDelay", "50"}}, out));
    ASSERT_TRUE(poll_until([&] { return _agent.stderr_text().find("Spooling assumptions violated") != std::string::npos; },
                           seconds(20)));
    std::string err = _agent.stderr_text();
    EXPECT_NE(err.find("FATAL: Spool Directory source r1: { spoolDir: " + spool +
                       " }: Uncaught exception in SpoolDirectorySource thread. Restart or reconfigure Flume to "
                       "continue processing. java.lang.IllegalStateException: File name has been re-used with "
                       "different files. Spooling assumptions violated for " + spool + "/a.log.COMPLETED"),
              std::string::npos)
        << err;
    stop_cleanly(_agent);
    // Nothing is lost: the file stays, the completed one is untouched.
    EXPECT_EQ(read_file(spool + "/a.log"), "new\n");
    EXPECT_EQ(read_file(spool + "/a.log.COMPLETED"), "old\n");
}

// Flume's LINE deserializer: a line of maxLineLength characters or more is
// cut, and the newline after an exact cut makes an empty event; an empty file
// gives one empty event; REPLACE puts U+FFFD for bytes that are not UTF-8.
TEST_P(file_sources_test, SpoolDirLineDeserializerRecursionAndDecoding) {
    std::string out = _dir.mkdir("out");
    std::string spool = _dir.mkdir("spool");
    _dir.mkdir("spool/sub");
    _dir.mkdir("spool/.hidden-dir");
    write_file(spool + "/long.txt", "abcdefgh\nxyz\n\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\n");
    write_file(spool + "/empty.txt", "");
    write_file(spool + "/sub/inner.txt", "bad\xFF" "byte\n");
    write_file(spool + "/.hidden-dir/no.txt", "never\n");
    start(_agent, source_config("spooldir",
                                {{"spoolDir", spool},
                                 {"pollDelay", "50"},
                                 {"recursiveDirectorySearch", "true"},
                                 {"decodeErrorPolicy", "REPLACE"},
                                 {"deserializer.maxLineLength", "4"}},
                                out));
    ASSERT_TRUE(poll_until([&] { return std::filesystem::exists(spool + "/sub/inner.txt.COMPLETED") &&
                                        std::filesystem::exists(spool + "/long.txt.COMPLETED") &&
                                        std::filesystem::exists(spool + "/empty.txt.COMPLETED"); },
                           seconds(20)));
    stop_cleanly(_agent);
    // "bad\uFFFDbyte" is 8 characters: cut at 4, then the newline alone.
    std::vector<std::string> expected = {"abcd", "efgh", "", "xyz", "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", "\xC3\xA9",
                                         "", "bad\xEF\xBF\xBD", "byte", ""};
    EXPECT_EQ(as_multiset(read_output_bodies(out)), as_multiset(expected));
    EXPECT_TRUE(std::filesystem::exists(spool + "/.hidden-dir/no.txt"));
}

TEST_P(file_sources_test, SpoolDirDecodeErrorPolicyFailStopsTheSource) {
    std::string out = _dir.mkdir("out");
    std::string spool = _dir.mkdir("spool");
    write_file(spool + "/bad.txt", "ok\nbad\xFF\n");
    start(_agent, source_config("spooldir", {{"spoolDir", spool}, {"pollDelay", "50"}, {"inputCharset", "US-ASCII"}}, out));
    ASSERT_TRUE(poll_until([&] { return _agent.stderr_text().find("FATAL: Spool Directory source r1") != std::string::npos; },
                           seconds(20)));
    stop_cleanly(_agent);
    EXPECT_TRUE(read_output_bodies(out).empty());
    EXPECT_EQ(read_file(spool + "/bad.txt"), "ok\nbad\xFF\n");
}

TEST_P(file_sources_test, SpoolDirMissingDirectoryFailsTheStart) {
    std::string out = _dir.mkdir("out");
    _agent.start(_dir.path(), source_config("spooldir", {{"spoolDir", _dir.file("nope")}}, out), options());
    exit_result r = _agent.wait(seconds(20));
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("Directory does not exist: " + _dir.file("nope")), std::string::npos) << r.err;
}

// Restart in the middle of a file, the channel being the durable `file`
// channel. A clean stop: every line exactly once over both runs. A kill -9:
// every line at least once over both runs (what the channel held comes back
// from its segments), and the second run reads the file from the offset the
// tracker recorded on. A completed file is never read again.
TEST_P(file_sources_test, SpoolDirResumesAPartlyReadFileAfterStopAndAfterKill) {
    for (bool kill9 : {false, true}) {
        SCOPED_TRACE(kill9 ? "kill -9" : "SIGTERM");
        temp_dir dir;
        std::string out1 = dir.mkdir("out1"), out2 = dir.mkdir("out2"), spool = dir.mkdir("spool");
        const int n = 30000;
        write_file(spool + "/done.log", "d0\nd1\n");
        std::string big = numbered_lines("line-", 0, n);
        write_file(spool + "/big.log", big);
        // done.log is older: it is completed first.
        std::filesystem::last_write_time(spool + "/done.log",
                                         std::filesystem::last_write_time(spool + "/big.log") - std::chrono::hours(1));
        key_values keys = {{"spoolDir", spool}, {"pollDelay", "50"}, {"batchSize", "20"}};
        key_values channel = {{"type", "file"},
                              {"checkpointDir", dir.file("checkpoint")},
                              {"dataDirs", dir.file("data")}};
        std::string meta = spool + "/.flumespool/.flumespool-main.meta";
        agent_process first;
        first.start(dir.path(), source_config("spooldir", keys, out1, channel), options());
        // Wait until big.log is partly committed.
        ASSERT_TRUE(poll_until([&] { return read_file(meta).find("big.log") != std::string::npos; }, seconds(20),
                               milliseconds(2)));
        if (kill9) {
            first.kill_now();
        } else {
            exit_result r = first.stop(seconds(45));
            ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
        }
        ASSERT_TRUE(std::filesystem::exists(spool + "/big.log")) << "the file was finished before the stop; make it bigger";
        ASSERT_TRUE(std::filesystem::exists(spool + "/done.log.COMPLETED"));
        auto meta_lines = split_lines(read_file(meta));
        ASSERT_EQ(meta_lines.size(), 3u) << read_file(meta);
        EXPECT_EQ(meta_lines[0], "sluice-spooldir-meta 1");
        EXPECT_EQ(meta_lines[1].size(), 20u);
        EXPECT_EQ(meta_lines[2], spool + "/big.log");
        size_t offset = std::stoull(meta_lines[1]);
        ASSERT_GT(offset, 0u);
        ASSERT_LT(offset, big.size());
        ASSERT_EQ(big[offset - 1], '\n');
        int first_line_after = int(std::count(big.begin(), big.begin() + long(offset), '\n'));

        agent_process second;
        second.start(dir.path(), source_config("spooldir", keys, out2, channel), options());
        ASSERT_TRUE(poll_until([&] { return std::filesystem::exists(spool + "/big.log.COMPLETED"); }, seconds(60)));
        auto after_offset = split_lines(numbered_lines("line-", first_line_after, n));
        ASSERT_TRUE(poll_until([&] { return count_output_lines(out2) >= after_offset.size(); }, seconds(30)));
        exit_result r = second.stop(seconds(45));
        ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
        EXPECT_NE(r.err.find("resuming " + spool + "/big.log at byte " + std::to_string(offset)), std::string::npos);

        auto run1 = read_output_bodies(out1), run2 = read_output_bodies(out2);
        std::multiset<std::string> second_run(run2.begin(), run2.end());
        for (auto& l : after_offset) ASSERT_GE(second_run.count(l), 1u) << l;
        auto all = run1;
        all.insert(all.end(), run2.begin(), run2.end());
        if (!kill9) {
            // A clean stop drained the channel: over both runs, each line exactly once.
            EXPECT_EQ(as_multiset(all), as_multiset(split_lines("d0\nd1\n" + big)));
        } else {
            std::set<std::string> seen(all.begin(), all.end());
            for (auto& l : split_lines("d0\nd1\n" + big)) ASSERT_TRUE(seen.count(l)) << "lost: " << l;
            // done.log was completed before the kill: read once only (maybe delivered again by the channel).
            EXPECT_FALSE(std::filesystem::exists(spool + "/done.log"));
        }
        EXPECT_FALSE(std::filesystem::exists(meta));
    }
}

// A channel much smaller than the input: the sources wait for room (the
// sink drains it) and lose nothing.
TEST_P(file_sources_test, SmallChannelPushesBackWithoutLoss) {
    std::string out = _dir.mkdir("out");
    std::string spool = _dir.mkdir("spool");
    std::string logs = _dir.mkdir("logs");
    write_file(spool + "/s.log", numbered_lines("s", 0, 3000));
    write_file(logs + "/t.log", numbered_lines("t", 0, 3000));
    std::string config;
    auto line = [&](const std::string& k, const std::string& v) { config += k + " = " + v + "\n"; };
    line("a1.sources", "sp ta ex");
    line("a1.channels", "c1");
    line("a1.sinks", "k1");
    line("a1.sources.sp.type", "spooldir");
    line("a1.sources.sp.spoolDir", spool);
    line("a1.sources.sp.batchSize", "20");
    line("a1.sources.sp.pollDelay", "50");
    line("a1.sources.ta.type", "TAILDIR");
    line("a1.sources.ta.filegroups", "g");
    line("a1.sources.ta.filegroups.g", logs + "/t\\.log");
    line("a1.sources.ta.positionFile", _dir.file("pos.json"));
    line("a1.sources.ta.batchSize", "20");
    line("a1.sources.ex.type", "exec");
    line("a1.sources.ex.command", "seq -f e%g 0 2999");
    line("a1.sources.ex.batchSize", "20");
    line("a1.sources.ex.batchTimeout", "50");
    for (const char* s : {"sp", "ta", "ex"}) line(std::string("a1.sources.") + s + ".channels", "c1");
    line("a1.channels.c1.type", "memory");
    line("a1.channels.c1.capacity", "30");
    line("a1.channels.c1.transactionCapacity", "20");
    line("a1.sinks.k1.type", "file_roll");
    line("a1.sinks.k1.channel", "c1");
    line("a1.sinks.k1.sink.directory", out);
    line("a1.sinks.k1.sink.rollInterval", "0");
    line("a1.sinks.k1.sink.batchSize", "7");
    start(_agent, config);
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) >= 9000; }, seconds(60)));
    std::this_thread::sleep_for(milliseconds(200));
    stop_cleanly(_agent);
    auto expected = split_lines(numbered_lines("s", 0, 3000) + numbered_lines("t", 0, 3000) + numbered_lines("e", 0, 3000));
    EXPECT_EQ(as_multiset(read_output_bodies(out)), as_multiset(expected));
}

// ------------------------------------------------------------------ TAILDIR

TEST_P(file_sources_test, TaildirTwoGroupsRotationTruncationAndCleanRestart) {
    std::string out1 = _dir.mkdir("out1"), out2 = _dir.mkdir("out2");
    std::string logs = _dir.mkdir("logs"), other = _dir.mkdir("other");
    std::string pos = _dir.file("state/taildir_position.json");
    key_values keys = {{"filegroups", "g1 g2"},
                       {"filegroups.g1", logs + "/app\\.log"},
                       {"filegroups.g2", other + "/.*\\.txt"},
                       {"headers.g1.grp", "one"},
                       {"headers.g2.grp", "two"},
                       {"positionFile", pos},
                       {"writePosInterval", "100"},
                       {"backoffSleepIncrement", "10"},
                       {"maxBackoffSleep", "50"},
                       {"batchSize", "50"}};
    auto append = [](const std::string& path, const std::string& text) {
        std::ofstream o(path, std::ios::app | std::ios::binary);
        o << text;
    };
    append(logs + "/app.log", numbered_lines("a", 0, 300));
    append(other + "/x.txt", numbered_lines("x", 0, 10) + "x-partial");
    append(other + "/ignored.log", "never\n");
    std::multiset<std::string> expected;
    for (auto& l : split_lines(numbered_lines("a", 0, 300))) expected.insert("{grp=one} " + l);
    for (auto& l : split_lines(numbered_lines("x", 0, 10))) expected.insert("{grp=two} " + l);

    start(_agent, source_config("TAILDIR", keys, out1, {}, "header_and_text"));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out1) >= expected.size(); }, seconds(20)));

    // The partial line completes; rotation: more lines, rename, a new file.
    append(other + "/x.txt", "-done\n");
    expected.insert("{grp=two} x-partial-done");
    append(logs + "/app.log", numbered_lines("b", 0, 50));
    std::filesystem::rename(logs + "/app.log", logs + "/app.log.1");
    append(logs + "/app.log", numbered_lines("c", 0, 20));
    for (auto& l : split_lines(numbered_lines("b", 0, 50) + numbered_lines("c", 0, 20))) expected.insert("{grp=one} " + l);
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out1) >= expected.size(); }, seconds(20)));

    // Truncation: the file starts over.
    std::filesystem::resize_file(other + "/x.txt", 0);
    ASSERT_TRUE(poll_until([&] { return _agent.stderr_text().find("is larger than file size") != std::string::npos; },
                           seconds(20)));
    append(other + "/x.txt", "t0\nt1\n");
    expected.insert("{grp=two} t0");
    expected.insert("{grp=two} t1");
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out1) >= expected.size(); }, seconds(20)));
    stop_cleanly(_agent);
    EXPECT_EQ(as_multiset(read_output_bodies(out1)), expected);

    // The position file: Flume's JSON, committed positions of both files.
    auto positions = sluice::parse_position_file(read_file(pos));
    ASSERT_TRUE(positions) << read_file(pos);
    std::map<std::string, uint64_t> by_file;
    for (auto& p : positions.value()) by_file[p.file] = p.pos;
    EXPECT_EQ(by_file[logs + "/app.log"], numbered_lines("c", 0, 20).size());
    EXPECT_EQ(by_file[other + "/x.txt"], 6u);
    EXPECT_FALSE(std::filesystem::exists(pos + ".tmp"));

    // Lines written while the agent is down come once, and nothing before them again.
    append(logs + "/app.log", numbered_lines("d", 0, 30));
    append(other + "/x.txt", "t2\n");
    agent_process second;
    start(second, source_config("TAILDIR", keys, out2, {}, "header_and_text"));
    std::multiset<std::string> expected2;
    for (auto& l : split_lines(numbered_lines("d", 0, 30))) expected2.insert("{grp=one} " + l);
    expected2.insert("{grp=two} t2");
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out2) >= expected2.size(); }, seconds(20)));
    std::this_thread::sleep_for(milliseconds(300));  // anything repeated would show up now
    stop_cleanly(second);
    EXPECT_EQ(as_multiset(read_output_bodies(out2)), expected2);
}

// After a kill -9 the restarted source delivers exactly the lines after the
// positions the position file recorded (what was committed before them sat in
// the memory channel, which a kill empties: the channel's durability, not the
// source's). The recorded positions are ends of committed lines.
TEST_P(file_sources_test, TaildirAfterAKillResumesAtTheRecordedPositions) {
    std::string out1 = _dir.mkdir("out1"), out2 = _dir.mkdir("out2");
    std::string logs = _dir.mkdir("logs");
    std::string pos = _dir.file("pos.json");
    key_values keys = {{"filegroups", "g"},
                       {"filegroups.g", logs + "/.*\\.log"},
                       {"positionFile", pos},
                       {"writePosInterval", "20"},
                       {"batchSize", "10"},
                       {"backoffSleepIncrement", "10"},
                       {"maxBackoffSleep", "50"}};
    std::string a = numbered_lines("a", 0, 5000), b = numbered_lines("b", 0, 5000);
    write_file(logs + "/a.log", a);
    write_file(logs + "/b.log", b);
    agent_process first;
    first.start(_dir.path(), source_config("TAILDIR", keys, out1), options());
    ASSERT_TRUE(poll_until(
        [&] {
            auto p = sluice::parse_position_file(read_file(pos));
            if (!p) return false;
            for (auto& e : p.value())
                if (e.pos > 0) return true;
            return false;
        },
        seconds(20), milliseconds(2)));
    first.kill_now();
    auto recorded = sluice::parse_position_file(read_file(pos));
    ASSERT_TRUE(recorded) << read_file(pos);
    std::map<std::string, uint64_t> at;
    for (auto& e : recorded.value()) at[e.file] = e.pos;
    std::vector<std::string> expected;
    for (auto& [name, text] : {std::pair<std::string, std::string>{"a.log", a}, {"b.log", b}}) {
        uint64_t p = at[logs + "/" + name];
        ASSERT_LE(p, text.size());
        if (p > 0) {
            ASSERT_EQ(text[p - 1], '\n') << name << " position " << p << " is not the end of a line";
        }
        for (auto& l : split_lines(text.substr(p))) expected.push_back(l);
    }
    ASSERT_LT(expected.size(), 10000u) << "nothing was recorded before the kill";
    agent_process second;
    start(second, source_config("TAILDIR", keys, out2));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out2) >= expected.size(); }, seconds(30)));
    std::this_thread::sleep_for(milliseconds(200));
    stop_cleanly(second);
    EXPECT_EQ(as_multiset(read_output_bodies(out2)), as_multiset(expected));
}

TEST_P(file_sources_test, TaildirSkipToEndAndByteOffsetHeader) {
    std::string out = _dir.mkdir("out");
    std::string logs = _dir.mkdir("logs");
    write_file(logs + "/old.log", "before\n");
    start(_agent, source_config("TAILDIR",
                                {{"filegroups", "g"},
                                 {"filegroups.g", logs + "/.*\\.log"},
                                 {"positionFile", _dir.file("pos.json")},
                                 {"skipToEnd", "true"},
                                 {"byteOffsetHeader", "true"},
                                 {"backoffSleepIncrement", "10"},
                                 {"maxBackoffSleep", "50"}},
                                out, {}, "header_and_text"));
    {
        std::ofstream o(logs + "/old.log", std::ios::app);
        o << "after\r\nmore\n";
    }
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) >= 2; }, seconds(20)));
    stop_cleanly(_agent);
    EXPECT_EQ(read_output_bodies(out), (std::vector<std::string>{"{byteoffset=7} after", "{byteoffset=14} more"}));
}

TEST_P(file_sources_test, TaildirConfigErrorsNameTheKey) {
    std::string out = _dir.mkdir("out");
    exit_result r = run_command({sluice_binary(), "check", "-n", "a1", "-f",
                                 _dir.write("bad.properties",
                                            source_config("TAILDIR", {{"filegroups", "g1 g2"}, {"filegroups.g1", "/tmp/(x"}}, out))},
                                _dir.path());
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_NE(r.err.find("a1.sources.r1.filegroups.g1"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("filegroups.g2"), std::string::npos) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Backends, file_sources_test,
                         ::testing::Values(backend_param{"epoll", 1}, backend_param{"io_uring", 2}), backend_param_name);

}  // namespace
}  // namespace sluice_it
