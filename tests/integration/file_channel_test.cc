// SPDX-License-Identifier: Apache-2.0
// The durable `file` channel against the real agent binary
// (docs/durable-format.md, reference/flume.md §8.2): acknowledged events
// survive SIGKILL, recovery from corrupt, truncated and checkpoint-less
// directories, lock conflicts, disk space, fewer shards after a restart, and
// `sluice channel inspect`.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "io/segment_log.h"
#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

namespace fs = std::filesystem;

class file_channel_test : public ::testing::TestWithParam<backend_param> {
protected:
    void SetUp() override {
        _port = free_port();
        _data = _dir.file("data");
        _ckpt = _dir.file("ckpt");
        _out = _dir.mkdir("out");
    }

    // netcat r1 -> file c1 (-> file_roll k1 into _out when with_sink).
    std::string config(bool with_sink, const key_values& channel = {}) const {
        std::string t;
        auto line = [&](const std::string& k, const std::string& v) { t += k + " = " + v + "\n"; };
        line("a1.sources", "r1");
        line("a1.channels", "c1");
        line("a1.sources.r1.type", "netcat");
        line("a1.sources.r1.bind", "127.0.0.1");
        line("a1.sources.r1.port", std::to_string(_port));
        line("a1.sources.r1.channels", "c1");
        line("a1.channels.c1.type", _type);
        line("a1.channels.c1.checkpointDir", _ckpt);
        line("a1.channels.c1.dataDirs", _data);
        line("a1.channels.c1.maxFileSize", "1048576");
        line("a1.channels.c1.minimumRequiredSpace", "1048576");
        for (auto& [k, v] : channel) line("a1.channels.c1." + k, v);
        if (with_sink) {
            line("a1.sinks", "k1");
            line("a1.sinks.k1.type", "file_roll");
            line("a1.sinks.k1.channel", "c1");
            line("a1.sinks.k1.sink.directory", _sink_dir.empty() ? _out : _sink_dir);
            line("a1.sinks.k1.sink.rollInterval", "0");
            line("a1.sinks.k1.sink.batchSize", "50");
        }
        return t;
    }

    void start(agent_process& a, bool with_sink, const key_values& channel = {}, unsigned shards = 0,
               const env_changes& env = {}) {
        agent_options o;
        o.backend = GetParam().backend;
        o.shards = shards ? shards : GetParam().shards;
        o.env = env;
        a.start(_dir.path(), config(with_sink, channel), o);
        ASSERT_TRUE(a.wait_port(_port, seconds(20))) << "agent did not start\n" << a.stderr_text();
    }

    void stop(agent_process& a) {
        exit_result r = a.stop(seconds(45));
        ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
    }

    // Sends lines first..first+n-1 as "e<k>" on `conns` connections and
    // expects an OK for each.
    void send_acked(int first, int n, int conns = 2) {
        std::vector<tcp_client> cs;
        for (int i = 0; i < conns; i++) cs.emplace_back(_port);
        std::vector<std::string> texts(conns);
        for (int k = first; k < first + n; k++) texts[k % conns] += "e" + std::to_string(k) + "\n";
        for (int i = 0; i < conns; i++) ASSERT_TRUE(cs[i].send_all(texts[i]));
        for (int i = 0; i < conns; i++) {
            size_t lines = size_t(std::count(texts[i].begin(), texts[i].end(), '\n'));
            std::string acks = cs[i].read_exact(lines * 3, seconds(30));
            ASSERT_EQ(acks, repeat("OK\n", lines)) << "connection " << i;
        }
    }

    // Sends "e<k>" for k in [first, first+n) on one connection, each line
    // after the previous one's OK: one commit per event.
    void send_one_by_one(int first, int n) {
        tcp_client c(_port);
        for (int k = first; k < first + n; k++) {
            ASSERT_TRUE(c.send_all("e" + std::to_string(k) + "\n"));
            ASSERT_EQ(c.read_exact(3, seconds(10)), "OK\n") << "line " << k;
        }
    }

    // Waits until the file_roll sink has failed a write (its disk is full).
    static void wait_for_sink_write_failure(agent_process& a) {
        ASSERT_TRUE(poll_until([&] { return a.stderr_text().find("write to") != std::string::npos; }, seconds(10)))
            << a.stderr_text();
    }

    static std::vector<int> numbers(const std::vector<std::string>& bodies) {
        std::vector<int> out;
        for (auto& b : bodies)
            if (b.size() > 1 && b[0] == 'e') out.push_back(std::atoi(b.c_str() + 1));
        std::sort(out.begin(), out.end());
        return out;
    }
    static std::vector<int> range(int first, int n) {
        std::vector<int> v(static_cast<size_t>(n));
        for (int i = 0; i < n; i++) v[size_t(i)] = first + i;
        return v;
    }

    std::vector<std::string> segments() const {
        std::vector<std::string> out;
        for (auto& chain : fs::directory_iterator(_data))
            if (chain.is_directory())
                for (auto& f : fs::directory_iterator(chain.path()))
                    if (f.path().extension() == ".seg") out.push_back(f.path());
        std::sort(out.begin(), out.end());
        return out;
    }

    exit_result inspect() const {
        return run_command({sluice_binary(), "channel", "inspect", _data, _ckpt}, _dir.path(), {}, seconds(30));
    }

    temp_dir _dir;
    int _port = 0;
    std::string _data, _ckpt, _out;
    std::string _type = "file", _sink_dir;
};

// Records of a segment file, read with the format's own scanner; their
// payloads point into `bytes`.
std::vector<sluice::seglog::Record> records_of(const std::string& bytes) {
    using namespace sluice::seglog;
    SegmentHeader h;
    EXPECT_TRUE(decode_header(bytes, h).is_ok());
    std::vector<Record> out;
    uint64_t seq = h.first_seq;
    scan_segment(bytes, h.index, header_size, seq, [&](const Record& r) { out.push_back(r); });
    return out;
}

void flip_byte(const std::string& path, uint64_t offset) {
    int fd = ::open(path.c_str(), O_RDWR);
    ASSERT_GE(fd, 0);
    char c;
    ASSERT_EQ(::pread(fd, &c, 1, off_t(offset)), 1);
    c = char(c ^ 0x5a);
    ASSERT_EQ(::pwrite(fd, &c, 1, off_t(offset)), 1);
    ::close(fd);
}

TEST_P(file_channel_test, acknowledged_events_are_delivered_and_checkpointed) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 5000));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 5000; }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(a));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, 5000));
    exit_result r = inspect();
    EXPECT_EQ(r.code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("checkpoint: low seq"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("ok: every CRC verified"), std::string::npos) << r.out;

    // Nothing comes back after a clean stop.
    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true));
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_EQ(count_output_lines(_out), 5000u);
}

// Regression (found by bench/soak.sh): a checkpoint syncs the dirty segments
// itself; commits made while a grouped sync was in flight were then neither
// in that sync's target nor dirty any more, so no later sync acknowledged
// them and clients waiting for those acks stalled for good. Tiny segments
// make the sink free one (and so checkpoint) every few hundred events; the
// long group delay keeps a second sync from starting while one is in flight.
TEST_P(file_channel_test, commits_synced_by_a_checkpoint_are_acknowledged) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true, {{"maxFileSize", "65536"}, {"commitGroupDelay", "10000"}}));
    const int conns = 4, rounds = 150, per_round = 40;
    std::vector<tcp_client> cs;
    for (int i = 0; i < conns; i++) cs.emplace_back(_port);
    int next = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < conns; i++) {
            std::string text;
            for (int k = 0; k < per_round; k++) text += "e" + std::to_string(next++) + "\n";
            ASSERT_TRUE(cs[i].send_all(text));
        }
        for (int i = 0; i < conns; i++)
            ASSERT_EQ(cs[i].read_exact(size_t(per_round) * 3, seconds(5)), repeat("OK\n", size_t(per_round)))
                << "round " << r << ", connection " << i << ": acknowledgements stalled\n" << a.stderr_text();
    }
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= size_t(next); }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(a));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, next));
}

// One read of a client's lines is one put, and one put is one record, which
// must fit in a segment. With the smallest segments a single send of 256 KiB
// of lines makes a read bigger than a segment: the put that does not fit is
// retried line by line (as Flume's one transaction per line would go), so
// every line is acknowledged and none fails.
TEST_P(file_channel_test, a_read_bigger_than_a_segment_is_put_line_by_line) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true, {{"maxFileSize", "65536"}}));
    const int n = 2000;
    std::string text;
    for (int k = 0; k < n; k++) text += "e" + std::to_string(k) + " " + std::string(120, 'x') + "\n";
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all(text));
    ASSERT_EQ(c.read_exact(size_t(n) * 3, seconds(30)), repeat("OK\n", size_t(n))) << a.stderr_text();
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= size_t(n); }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(a));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, n));
}

TEST_P(file_channel_test, sigkill_keeps_every_committed_event_not_taken) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false));  // no sink: everything stays in the channel
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 3000, 3));
    a.kill_now();
    exit_result r = inspect();
    EXPECT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("queued"), std::string::npos);

    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 3000; }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, 3000)) << "exactly once: no take happened before the kill";
    EXPECT_NE(b.stderr_text().find("recovered"), std::string::npos);
}

// An fdatasync that fails (fail point file_channel.fdatasync, core/crash_point.h:
// the first three syncs report EIO): the commit is not acknowledged until a
// sync succeeds, each failure is logged and retried 100 ms later, and what is
// then acknowledged survives SIGKILL.
TEST_P(file_channel_test, failed_fdatasyncs_withhold_the_ack_until_a_retry_succeeds) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {}, 1, {{"SLUICE_FAIL_AT", "file_channel.fdatasync:3"}}));
    {
        tcp_client c(_port);
        const int64_t sent_ms = now_ms();
        ASSERT_TRUE(c.send_all("e0\n"));
        ASSERT_EQ(c.read_exact(3, seconds(10)), "OK\n") << a.stderr_text();
        // Nothing else commits, so only the retry timer starts a sync: three
        // failures mean three retries, 100 ms apart, before the one that succeeds.
        EXPECT_GE(now_ms() - sent_ms, 300) << "acknowledged before a sync succeeded\n" << a.stderr_text();
    }
    auto failures = [&] {
        const std::string err = a.stderr_text();
        size_t n = 0;
        for (size_t at = err.find("fdatasync: Input/output error; retrying"); at != std::string::npos;
             at = err.find("fdatasync: Input/output error; retrying", at + 1))
            n++;
        return n;
    };
    ASSERT_TRUE(poll_until([&] { return failures() == 3; }, seconds(5))) << a.stderr_text();
    ASSERT_NO_FATAL_FAILURE(send_acked(1, 999, 1));  // syncs succeed now
    EXPECT_EQ(failures(), 3u);
    a.kill_now();

    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 1000; }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, 1000));
}

// The crash test of the issue: numbered events with acks, SIGKILL at random
// moments, restart; every acknowledged event reaches the sink at least once.
TEST_P(file_channel_test, random_sigkills_lose_no_acknowledged_event) {
    std::mt19937 rng(20261122);
    std::set<int> acked;
    int next = 0, rounds = 5;
    uint64_t duplicates = 0;
    for (int round = 0; round < rounds; round++) {
        agent_process a;
        // Small segments and frequent checkpoints: kills land mid-commit,
        // mid-rollover and mid-checkpoint too.
        ASSERT_NO_FATAL_FAILURE(start(a, true, {{"maxFileSize", "65536"}, {"checkpointInterval", "50"}}));
        std::atomic<bool> stop_sending{false};
        std::thread sender([&] {
            while (!stop_sending) {
                tcp_client c;
                try {
                    c.connect(_port, milliseconds(500));
                } catch (...) {
                    return;
                }
                while (!stop_sending) {
                    std::string chunk;
                    int first = next;
                    for (int i = 0; i < 50; i++) chunk += "e" + std::to_string(next++) + "\n";
                    if (!c.send_all(chunk, seconds(5))) return;
                    std::string acks;
                    c.read_some(acks, seconds(5), 150);
                    while (acks.size() < 150 && !c.eof()) {
                        if (c.read_some(acks, seconds(5), 150 - acks.size()) == 0) break;
                    }
                    // Every complete "OK\n" acknowledges the next event, in order.
                    size_t oks = 0;
                    while (oks * 3 + 3 <= acks.size() && acks.compare(oks * 3, 3, "OK\n") == 0) oks++;
                    for (size_t i = 0; i < oks; i++) acked.insert(first + int(i));
                    if (oks < 50) return;  // killed mid-chunk
                }
            }
        });
        std::this_thread::sleep_for(milliseconds(150 + rng() % 600));
        a.kill_now();
        stop_sending = true;
        sender.join();
    }
    agent_process last;
    ASSERT_NO_FATAL_FAILURE(start(last, true));
    int total_acked = int(acked.size());
    ASSERT_GT(total_acked, 0);
    std::vector<int> got;
    bool all = poll_until(
        [&] {
            got = numbers(read_output_bodies(_out));
            std::set<int> have(got.begin(), got.end());
            return std::includes(have.begin(), have.end(), acked.begin(), acked.end());
        },
        seconds(60), milliseconds(100));
    ASSERT_NO_FATAL_FAILURE(stop(last));
    got = numbers(read_output_bodies(_out));
    std::set<int> have(got.begin(), got.end());
    std::vector<int> missing;
    std::set_difference(acked.begin(), acked.end(), have.begin(), have.end(), std::back_inserter(missing));
    duplicates = got.size() - have.size();
    EXPECT_TRUE(all && missing.empty()) << missing.size() << " acknowledged events lost, first "
                                        << (missing.empty() ? -1 : missing.front());
    std::cout << "[ crash    ] " << rounds << " SIGKILL rounds: " << total_acked << " events acknowledged, "
              << have.size() << " distinct delivered, " << duplicates << " duplicates\n";
}

// A SIGKILL at each step of a checkpoint, reached deterministically
// (SLUICE_CRASH_AT, core/crash_point.h): with the segments synced but no
// checkpoint written; with the new checkpoint complete but not yet renamed
// over the old one; with it renamed but the consumed segments not yet
// recycled. Small segments make the sink's first consumed segment trigger
// the checkpoint. The restarted agent delivers every acknowledged event, and
// on one shard none twice: a checkpoint runs between the shard's tasks, never
// inside a sink's write-then-commit.
TEST_P(file_channel_test, sigkill_at_each_step_of_a_checkpoint_loses_nothing) {
    const std::string base = _dir.path();
    for (const std::string point : {"file_channel.checkpoint.segments_synced",
                                    "atomic_file.before_rename", "file_channel.checkpoint.written"}) {
        SCOPED_TRACE(point);
        const std::string sub = base + "/" + point;
        _data = sub + "/data";
        _ckpt = sub + "/ckpt";
        _out = sub + "/out";
        fs::create_directories(_out);

        agent_process a;
        ASSERT_NO_FATAL_FAILURE(start(a, true, {{"maxFileSize", "65536"}}, 0, {{"SLUICE_CRASH_AT", point}}));
        std::set<int> acked;
        int next = 0;
        {
            tcp_client c(_port);
            const int64_t deadline = now_ms() + 30000;
            while (now_ms() < deadline) {
                std::string chunk;
                const int first = next;
                for (int i = 0; i < 50; i++) chunk += "e" + std::to_string(next++) + "\n";
                if (!c.send_all(chunk, seconds(5))) break;
                std::string acks;
                while (acks.size() < 150 && !c.eof())
                    if (c.read_some(acks, seconds(5), 150 - acks.size()) == 0) break;
                size_t oks = 0;
                while (oks * 3 + 3 <= acks.size() && acks.compare(oks * 3, 3, "OK\n") == 0) oks++;
                for (size_t i = 0; i < oks; i++) acked.insert(first + int(i));
                if (oks < 50) break;  // the agent is gone
            }
        }
        exit_result r = a.wait(seconds(10));
        ASSERT_TRUE(r.exited && r.signal == SIGKILL) << "the crash point was not reached\n" << describe(r);
        EXPECT_NE(r.err.find("crash point " + point + " reached"), std::string::npos) << r.err;
        ASSERT_GT(acked.size(), 0u);

        agent_process b;
        ASSERT_NO_FATAL_FAILURE(start(b, true, {{"maxFileSize", "65536"}}));
        std::vector<int> got;
        auto delivered_all = [&] {
            got = numbers(read_output_bodies(_out));
            std::set<int> have(got.begin(), got.end());
            return std::includes(have.begin(), have.end(), acked.begin(), acked.end());
        };
        EXPECT_TRUE(poll_until(delivered_all, seconds(30), milliseconds(100))) << b.stderr_text();
        ASSERT_NO_FATAL_FAILURE(stop(b));
        got = numbers(read_output_bodies(_out));
        std::set<int> have(got.begin(), got.end());
        std::vector<int> missing;
        std::set_difference(acked.begin(), acked.end(), have.begin(), have.end(), std::back_inserter(missing));
        EXPECT_TRUE(missing.empty()) << missing.size() << " acknowledged events lost, first "
                                     << (missing.empty() ? -1 : missing.front());
        if (GetParam().shards == 1) {
            EXPECT_EQ(got.size(), have.size()) << "an event delivered twice";
        }
        std::cout << "[ crash at ] " << point << ": " << acked.size() << " acknowledged, " << have.size()
                  << " distinct delivered, " << got.size() - have.size() << " duplicates\n";
    }
}

TEST_P(file_channel_test, flipped_byte_ends_the_log_there_and_inspect_reports_it) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {}, 1));  // one chain: one segment to damage
    // Ten separate commits of 100 events: ten records.
    for (int i = 0; i < 10; i++) ASSERT_NO_FATAL_FAILURE(send_acked(i * 100, 100, 1));
    ASSERT_NO_FATAL_FAILURE(stop(a));
    auto segs = segments();
    ASSERT_EQ(segs.size(), 1u);
    std::string bytes = read_file(segs[0]);
    auto recs = records_of(bytes);
    ASSERT_GE(recs.size(), 10u);
    // Damage the body of the 6th record.
    uint64_t events_before = 0;
    for (size_t i = 0; i < 5; i++) events_before += recs[i].count;
    flip_byte(segs[0], recs[5].offset + recs[5].length - 3);

    exit_result r = inspect();
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.out.find("CORRUPT at offset " + std::to_string(recs[5].offset) + ": record CRC mismatch"),
              std::string::npos)
        << r.out;

    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true, {}, 1));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= events_before; }, seconds(20)));
    std::this_thread::sleep_for(milliseconds(300));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, int(events_before)))
        << "the records before the damage, and nothing after it";
    EXPECT_NE(b.stderr_text().find("record CRC mismatch; the log ends there"), std::string::npos) << b.stderr_text();
    // The channel goes on working.
    ASSERT_NO_FATAL_FAILURE(send_acked(5000, 100, 1));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= events_before + 100; }, seconds(20)));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_EQ(inspect().code, 0) << "recovery truncated the log at the damage";
}

TEST_P(file_channel_test, truncated_segment_keeps_the_records_before_the_cut) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {}, 1));
    for (int i = 0; i < 6; i++) ASSERT_NO_FATAL_FAILURE(send_acked(i * 100, 100, 1));
    a.kill_now();
    auto segs = segments();
    ASSERT_EQ(segs.size(), 1u);
    std::string bytes = read_file(segs[0]);
    auto recs = records_of(bytes);
    ASSERT_GE(recs.size(), 6u);
    uint64_t kept = 0;
    for (size_t i = 0; i < 3; i++) kept += recs[i].count;
    fs::resize_file(segs[0], recs[3].offset + 10);  // cut through the 4th record

    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true, {}, 1));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= kept; }, seconds(20)));
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, int(kept)));
    EXPECT_NE(b.stderr_text().find("truncated?"), std::string::npos) << b.stderr_text();
}

TEST_P(file_channel_test, missing_stale_or_corrupt_checkpoints_replay_without_redelivery) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 1000));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 1000; }, seconds(20)));
    ASSERT_NO_FATAL_FAILURE(stop(a));
    // Keep these checkpoints as "stale" ones for later.
    std::map<std::string, std::string> stale;
    for (auto& f : fs::directory_iterator(_ckpt))
        if (f.path().filename().string().rfind("checkpoint-", 0) == 0) stale[f.path()] = read_file(f.path());
    ASSERT_FALSE(stale.empty());

    // 1. Missing: every live segment is replayed; take records say all is consumed.
    for (auto& [p, _] : stale) fs::remove(p);
    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true));
    ASSERT_NO_FATAL_FAILURE(send_acked(1000, 1000));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 2000; }, seconds(20)));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_NE(b.stderr_text().find("no usable checkpoint"), std::string::npos);

    // 2. Stale: an older checkpoint is only a longer replay.
    for (auto& [p, bytes] : stale) write_file(p, bytes);
    agent_process c;
    ASSERT_NO_FATAL_FAILURE(start(c, true));
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(stop(c));

    // 3. Corrupt: a flipped byte makes it unusable, and the replay covers it.
    for (auto& [p, _] : stale) flip_byte(p, 20);
    EXPECT_EQ(inspect().code, 1);
    agent_process d;
    ASSERT_NO_FATAL_FAILURE(start(d, true));
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(stop(d));
    EXPECT_NE(d.stderr_text().find("checkpoint CRC mismatch"), std::string::npos) << d.stderr_text();

    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, 2000)) << "each event exactly once";
}

TEST_P(file_channel_test, torn_take_record_redelivers_and_loses_nothing) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true, {{"checkpointOnClose", "false"}, {"checkpointInterval", "600000"}}));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 500, 1));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 500; }, seconds(20)));
    std::this_thread::sleep_for(milliseconds(200));
    a.kill_now();
    // Tear the last take record (the cursor): its events come back.
    std::string seg, bytes;  // recs point into bytes
    std::vector<sluice::seglog::Record> recs;
    for (auto& s : segments()) {
        std::string b = read_file(s);
        auto r = records_of(b);
        if (!r.empty()) seg = s, bytes = std::move(b), recs = records_of(bytes);
    }
    ASSERT_FALSE(recs.empty());
    auto last_take = std::find_if(recs.rbegin(), recs.rend(),
                                  [](auto& r) { return r.type == sluice::seglog::record_type::take; });
    ASSERT_NE(last_take, recs.rend());
    std::vector<sluice::seglog::SeqRange> ranges;
    ASSERT_TRUE(sluice::seglog::decode_take(*last_take, ranges));
    uint64_t torn = 0;
    for (auto& r : ranges) torn += r.n;
    flip_byte(seg, last_take->offset + last_take->length - 1);

    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 500 + torn; }, seconds(20)));
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    auto got = numbers(read_output_bodies(_out));
    std::set<int> have(got.begin(), got.end());
    EXPECT_EQ(have.size(), 500u) << "nothing lost";
    EXPECT_EQ(got.size(), 500 + torn) << "exactly the torn take's events twice";
}

TEST_P(file_channel_test, dual_checkpoints_use_the_backup_when_the_primary_is_gone) {
    std::string backup = _dir.file("backup");
    key_values keys = {{"useDualCheckpoints", "true"}, {"backupCheckpointDir", backup}};
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true, keys));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 1000));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 1000; }, seconds(20)));
    ASSERT_NO_FATAL_FAILURE(stop(a));
    size_t primaries = 0;
    for (auto& f : fs::directory_iterator(_ckpt))
        if (f.path().filename().string().rfind("checkpoint-", 0) == 0) {
            EXPECT_EQ(read_file(f.path()), read_file(backup + "/" + f.path().filename().string()));
            fs::remove(f.path());
            primaries++;
        }
    ASSERT_GT(primaries, 0u);
    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true, keys));
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_EQ(b.stderr_text().find("no usable checkpoint"), std::string::npos) << b.stderr_text();
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, 1000));
}

TEST_P(file_channel_test, acks_at_commit_without_fsync_per_transaction_still_survive_sigkill) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {{"fsyncPerTransaction", "false"}, {"fsyncInterval", "1"}}));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 2000, 2));
    a.kill_now();  // the page cache keeps what was written; only a power cut could lose the last second
    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 2000; }, seconds(20)));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, 2000));
}

// New segments are spares made ahead (docs/durable-format.md §5): allocated
// and pre-faulted off the shard, then renamed into the chain when it
// needs a segment, so spare.tmp's file becomes a segment. A spare left by a
// killed agent is deleted at start, an unused one at stop, and neither
// costs an event.
TEST_P(file_channel_test, new_segments_are_spares_made_ahead_and_lose_nothing) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {{"maxFileSize", "65536"}}, 1));
    const std::string spare = _data + "/chain-0/spare.tmp";
    auto inode = [](const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_ino) : uint64_t(0);
    };
    auto segment_inodes = [&] {
        std::set<uint64_t> out;
        for (auto& s : segments()) out.insert(inode(s));
        return out;
    };
    // Past half of the first segment a spare is asked for; rolling to new
    // segments, the chain renames it in.
    int sent = 0;
    uint64_t spare_ino = 0;
    while (sent < 40000 && !spare_ino) {
        ASSERT_NO_FATAL_FAILURE(send_acked(sent, 200, 1));
        sent += 200;
        poll_until([&] { return (spare_ino = inode(spare)) != 0; }, milliseconds(50));
    }
    ASSERT_NE(spare_ino, 0u) << "no spare after " << sent << " events";
    while (sent < 40000 && !segment_inodes().count(spare_ino)) {
        ASSERT_NO_FATAL_FAILURE(send_acked(sent, 200, 1));
        sent += 200;
    }
    ASSERT_TRUE(segment_inodes().count(spare_ino)) << "the spare never became a segment";
    // The next one, then a SIGKILL with the spare in place.
    while (sent < 80000 && !fs::exists(spare)) {
        ASSERT_NO_FATAL_FAILURE(send_acked(sent, 200, 1));
        sent += 200;
        poll_until([&] { return fs::exists(spare); }, milliseconds(50));
    }
    ASSERT_TRUE(fs::exists(spare));
    a.kill_now();
    // What a kill mid-creation leaves: not a segment.
    fs::resize_file(spare, 100);

    // The write segment is past half: a new spare is made at start.
    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, false, {{"maxFileSize", "65536"}}, 1));
    ASSERT_TRUE(fs::exists(spare));
    ASSERT_EQ(fs::file_size(spare), 65536u) << "the killed agent's spare was replaced at start";
    sluice::seglog::SegmentHeader h;
    ASSERT_TRUE(sluice::seglog::decode_header(read_file(spare), h).is_ok());
    EXPECT_EQ(h.state, sluice::seglog::segment_state::free);
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_FALSE(fs::exists(spare)) << "an unused spare is deleted at stop";

    // The sink's take records ask for spares again.
    agent_process c;
    ASSERT_NO_FATAL_FAILURE(start(c, true, {{"maxFileSize", "65536"}}, 1));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= size_t(sent); }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(send_acked(sent, 2000, 1));
    sent += 2000;
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= size_t(sent); }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(c));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, sent));
    EXPECT_FALSE(fs::exists(spare)) << "an unused spare is deleted at stop";
    EXPECT_EQ(inspect().code, 0);
}

TEST_P(file_channel_test, a_second_agent_on_the_same_directories_fails_at_start) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true));
    int first_port = _port;
    _port = free_port();
    agent_process b;
    agent_options o;
    o.backend = GetParam().backend;
    b.start(_dir.path(), config(true), o);
    exit_result r = b.wait(seconds(20));
    EXPECT_TRUE(r.exited && r.code == 1) << describe(r);
    EXPECT_NE(r.err.find("Cannot lock " + _ckpt + ". The directory is already locked. [channel=c1]"), std::string::npos)
        << r.err;
    _port = first_port;
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 10, 1));
    ASSERT_NO_FATAL_FAILURE(stop(a));
}

TEST_P(file_channel_test, fewer_shards_after_a_restart_moves_the_events) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {}, 2));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 2000, 4));
    a.kill_now();
    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true, {}, 1));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 2000; }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, 2000));
    EXPECT_FALSE(fs::exists(_data + "/chain-1")) << "the chain of the shard that is gone was emptied and removed";
}

// The copies of a gone shard's events must be on disk before its chain is
// removed: when that sync fails (fail point file_channel.fdatasync, the
// first sync of the start), the agent does not start, says why, and keeps
// the old chain; the next start moves the events and delivers all of them
// (those the failed start had copied may come twice: at least once).
TEST_P(file_channel_test, a_failed_sync_while_moving_a_gone_shards_events_keeps_its_chain) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {}, 2));
    // Connections land on shards by the kernel's hash: with 16 of them, the
    // chance that none reaches shard 1 (nothing to move) is 2^-15.
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 2000, 16));
    a.kill_now();

    agent_process b;
    agent_options o;
    o.backend = GetParam().backend;
    o.shards = 1;
    o.env = {{"SLUICE_FAIL_AT", "file_channel.fdatasync:1"}};
    b.start(_dir.path(), config(true), o);
    exit_result r = b.wait(seconds(20));
    EXPECT_TRUE(r.exited && r.code == 1) << describe(r);
    EXPECT_NE(r.err.find("moving the events of chain 1 (no such shard now) to chain 0, whose files are kept: "
                         "fdatasync: Input/output error"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(fs::exists(_data + "/chain-1")) << "the old chain is kept until its events are on disk elsewhere";

    agent_process c;
    ASSERT_NO_FATAL_FAILURE(start(c, true, {}, 1));
    auto distinct = [&] {
        std::vector<int> got = numbers(read_output_bodies(_out));
        return std::set<int>(got.begin(), got.end());
    };
    ASSERT_TRUE(poll_until([&] { return distinct().size() >= 2000; }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(c));
    std::vector<int> got = numbers(read_output_bodies(_out));
    std::set<int> all = distinct();
    EXPECT_EQ(std::vector<int>(all.begin(), all.end()), range(0, 2000));
    std::printf("[ moved again after the failed start: %zu duplicates of 2000 ]\n", got.size() - all.size());
    EXPECT_FALSE(fs::exists(_data + "/chain-1"));
}

// A disk that fills during a run: puts fail with Flume's text once a new
// segment would cut into minimumRequiredSpace, nothing committed is harmed,
// and puts work again once space returns. The filler is a real fallocated
// file on the same file system. One instance only: two at once would eat
// each other's margin.
class file_channel_disk_test : public file_channel_test {};

TEST_P(file_channel_disk_test, low_disk_space_fails_puts_and_ingest_resumes_by_itself) {
    struct statvfs v {};
    fs::create_directories(_data);
    ASSERT_EQ(::statvfs(_data.c_str(), &v), 0);
    int64_t avail = int64_t(v.f_bavail) * int64_t(v.f_frsize);
    const int64_t filler_size = int64_t(4) << 30;
    if (avail < filler_size + (int64_t(2) << 30)) GTEST_SKIP() << "needs 6 GiB free on " << _data;
    // Room now, none once the filler takes 4 GiB (with 2 GiB of slack for
    // whatever else the machine writes meanwhile).
    int64_t min_required = avail - (int64_t(2) << 30);
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {{"maxFileSize", "65536"}, {"minimumRequiredSpace", std::to_string(min_required)}}, 1));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 500, 1));

    std::string filler = _dir.file("filler");
    int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::posix_fallocate(fd, 0, filler_size), 0);
    ::close(fd);

    // Enough events to need new segments: some must fail, with Flume's text.
    tcp_client c(_port);
    std::string lines;
    const std::string pad(200, 'x');  // 4000 x 200 bytes: many 64 KiB segments
    for (int k = 1000; k < 5000; k++) lines += "e" + std::to_string(k) + " " + pad + "\n";
    ASSERT_TRUE(c.send_all(lines));
    std::string replies = c.read_lines(4000, seconds(30));
    size_t failed = count_occurrences(replies, "FAILED: Put failed due to IO error [channel=c1]\n");
    size_t ok = count_occurrences(replies, "OK\n");
    EXPECT_EQ(ok + failed, 4000u) << printable(replies);
    EXPECT_GT(failed, 0u);
    EXPECT_NE(a.stderr_text().find("Usable space exhausted, only "), std::string::npos);
    std::set<int> acked_late;
    {
        auto rl = split_lines(replies);
        for (size_t i = 0; i < rl.size(); i++)
            if (rl[i] == "OK") acked_late.insert(1000 + int(i));
    }

    fs::remove(filler);
    ASSERT_NO_FATAL_FAILURE(send_acked(10000, 2000, 1));  // resumes by itself
    ASSERT_NO_FATAL_FAILURE(stop(a));

    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true, {{"maxFileSize", "65536"}}, 1));
    size_t expect = 500 + acked_late.size() + 2000;
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= expect; }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    auto got = numbers(read_output_bodies(_out));
    std::set<int> have(got.begin(), got.end());
    for (int k = 0; k < 500; k++) EXPECT_TRUE(have.count(k)) << k;
    for (int k : acked_late) EXPECT_TRUE(have.count(k)) << k;
    for (int k = 10000; k < 12000; k++) EXPECT_TRUE(have.count(k)) << k;
}

// ------------------------------------------------------------ unusable directories, full disk

// The directories of the durable channel at start and during a run. One
// backend, one shard: one chain whose segment boundary the test can reach.
class file_channel_dirs_test : public file_channel_test {
protected:
    // Sends lines "<prefix><k><pad>" for k in [first, first+n) on one
    // connection; returns the numbers acknowledged with OK, and expects every
    // other reply to be `failure`.
    std::set<int> send_some_acked(const std::string& prefix, int first, int n, const std::string& failure) {
        tcp_client c(_port);
        std::string text;
        const std::string pad(200, 'x');
        for (int k = first; k < first + n; k++) text += prefix + std::to_string(k) + " " + pad + "\n";
        EXPECT_TRUE(c.send_all(text));
        std::string replies = c.read_lines(size_t(n), seconds(30));
        auto lines = split_lines(replies);
        EXPECT_EQ(lines.size(), size_t(n)) << printable(replies);
        std::set<int> acked;
        for (size_t i = 0; i < lines.size(); i++) {
            if (lines[i] == "OK") acked.insert(first + int(i));
            else EXPECT_EQ(lines[i], failure) << "reply " << i;
        }
        return acked;
    }

    // Every output body's number (bodies "<prefix><k> ...": any prefix).
    std::multiset<int> delivered() const {
        std::multiset<int> out;
        for (auto& b : read_output_bodies(_out)) {
            size_t d = b.find_first_of("0123456789");
            if (d != std::string::npos) out.insert(std::atoi(b.c_str() + d));
        }
        return out;
    }

    // Polls until every number of `acked` is in the output, then checks each is there exactly once.
    void expect_delivered_once(const std::set<int>& acked) {
        std::multiset<int> got;
        bool all = poll_until(
            [&] {
                got = delivered();
                for (int k : acked)
                    if (!got.count(k)) return false;
                return true;
            },
            seconds(30), milliseconds(100));
        std::vector<int> missing, twice;
        for (int k : acked) {
            if (!got.count(k)) missing.push_back(k);
            if (got.count(k) > 1) twice.push_back(k);
        }
        EXPECT_TRUE(all && missing.empty()) << missing.size() << " acknowledged events missing, first "
                                            << (missing.empty() ? -1 : missing.front());
        EXPECT_TRUE(twice.empty()) << twice.size() << " events delivered twice, first "
                                   << (twice.empty() ? -1 : twice.front());
        EXPECT_EQ(got.size(), acked.size()) << "nothing but the acknowledged events";
    }
};

TEST_P(file_channel_dirs_test, directories_that_cannot_be_created_or_written_fail_the_start) {
    // checkpointDir under a regular file: it cannot be created (even by root).
    _dir.write("blocker", "a regular file\n");
    _ckpt = _dir.file("blocker") + "/ckpt";
    agent_process a;
    agent_options o;
    o.backend = GetParam().backend;
    a.start(_dir.path(), config(true), o);
    exit_result r = a.wait(seconds(20));
    EXPECT_TRUE(r.exited && r.code == 1) << describe(r);
    EXPECT_NE(r.err.find("a1.channels.c1.checkpointDir: cannot use directory " + _ckpt + ": mkdir " + _ckpt +
                         ": Not a directory [channel=c1]"),
              std::string::npos)
        << r.err;

    // dataDirs exists but takes no new files.
    _ckpt = _dir.file("ckpt");
    fs::create_directories(_data);
    dir_blocker blocker;
    ASSERT_TRUE(blocker.block(_data)) << blocker.error();
    agent_process b;
    b.start(_dir.path(), config(true), o);
    r = b.wait(seconds(20));
    EXPECT_TRUE(r.exited && r.code == 1) << describe(r);
    EXPECT_NE(r.err.find("a1.channels.c1.dataDirs: cannot use directory " + _data + ": "), std::string::npos) << r.err;
    blocker.unblock();

    // Once usable, the same configuration starts.
    agent_process c;
    ASSERT_NO_FATAL_FAILURE(start(c, true));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 10, 1));
    ASSERT_NO_FATAL_FAILURE(stop(c));
}

// The data and checkpoint directories stop taking new files mid-run: puts
// that need a new segment fail with Flume's text (the log names the key and
// the directory), the agent keeps serving, and once the directories are
// writable again ingest resumes by itself; every acknowledged event is
// delivered exactly once.
TEST_P(file_channel_dirs_test, data_directory_made_read_only_mid_run_resumes_and_loses_nothing) {
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(
        start(a, true, {{"maxFileSize", "65536"}, {"checkpointInterval", "500"}, {"transactionCapacity", "100"}}));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 200, 1));
    std::set<int> acked;
    for (int k = 0; k < 200; k++) acked.insert(k);
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 200; }, seconds(20)));

    dir_blocker blocker;
    ASSERT_TRUE(blocker.block(_data, true)) << blocker.error();
    ASSERT_TRUE(blocker.block(_ckpt)) << blocker.error();
    // ~200 KB: several 64 KiB segments' worth, so puts run out of segment.
    auto more = send_some_acked("e", 1000, 1000, "FAILED: Put failed due to IO error [channel=c1]");
    EXPECT_LT(more.size(), 1000u) << "puts needing a new segment must fail";
    acked.insert(more.begin(), more.end());
    EXPECT_NE(a.stderr_text().find("file channel c1: a1.channels.c1.dataDirs: cannot write a new segment in " + _data +
                                   "/chain-0: "),
              std::string::npos)
        << a.stderr_text();
    // Another client is still answered (with FAILED while the channel cannot write).
    {
        auto other = send_some_acked("e", 5000, 1, "FAILED: Put failed due to IO error [channel=c1]");
        acked.insert(other.begin(), other.end());
    }

    blocker.unblock();
    // Resumes by itself: ~100 KB, so new segments are needed again.
    auto after = send_some_acked("e", 10000, 500, "(none)");
    EXPECT_EQ(after.size(), 500u);
    acked.insert(after.begin(), after.end());
    EXPECT_NE(a.stderr_text().find("file channel c1: writing segments in " + _data + "/chain-0 again"),
              std::string::npos)
        << a.stderr_text();
    expect_delivered_once(acked);
    ASSERT_NO_FATAL_FAILURE(stop(a));
    EXPECT_LE(count_occurrences(a.stderr_text(), "cannot write a new segment"), 2u) << "logged once, not per put";
}

// Regression: a rolled-back take that held whole records was joined to the
// record after them, so the next take walked from one record into the next
// as if they were one, and the agent stopped on "a committed events record
// does not decode". Each acknowledged line below is its own record; the
// sink's disk is full, so its takes of 50 (over many records) roll back
// until space returns; then every line is delivered once, intact.
TEST_P(file_channel_dirs_test, takes_over_many_records_rolled_back_by_a_full_sink_disk_lose_nothing) {
    small_tmpfs disk;
    if (!disk.mount(_dir.file("sinkdisk"), size_t(1) << 20)) {
        ASSERT_NE(::geteuid(), 0u) << "root, yet " << disk.error();
        GTEST_SKIP() << "cannot fill a disk here without root: " << disk.error();
    }
    _sink_dir = _dir.file("sinkdisk");
    _out = _sink_dir;
    ASSERT_GE(disk.fill("filler", 0), 0);
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true));
    const int n = 300;
    ASSERT_NO_FATAL_FAILURE(send_one_by_one(0, n));
    ASSERT_NO_FATAL_FAILURE(wait_for_sink_write_failure(a));
    std::this_thread::sleep_for(milliseconds(1500));  // a few more rolled-back takes
    fs::remove(_sink_dir + "/filler");
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= size_t(n); }, seconds(30))) << a.stderr_text();
    ASSERT_NO_FATAL_FAILURE(stop(a));
    EXPECT_EQ(numbers(read_output_bodies(_out)), range(0, n));
}

// Takes hand out the put's own batches while the chain holds them
// (takeCacheBytes) and decode the rest from the segments. Events recovered
// at a restart are decoded; those put after it are held (all of them, a few,
// or none), and a failing sink keeps rolling back takes of the mixed queue:
// the events still come out once each and in order.
TEST_P(file_channel_dirs_test, takes_mixing_held_and_decoded_records_keep_order) {
    for (const char* cache : {"33554432", "40", "0"}) {
        SCOPED_TRACE(std::string("takeCacheBytes = ") + cache);
        small_tmpfs disk;
        const std::string mount = _dir.file(std::string("sinkdisk") + cache);
        if (!disk.mount(mount, size_t(1) << 20)) {
            ASSERT_NE(::geteuid(), 0u) << "root, yet " << disk.error();
            GTEST_SKIP() << "cannot fill a disk here without root: " << disk.error();
        }
        _sink_dir = mount;
        _out = mount;
        _data = _dir.file(std::string("data") + cache);
        _ckpt = _dir.file(std::string("ckpt") + cache);
        const key_values keys = {{"takeCacheBytes", cache}};
        const int n = 200, recovered = 75;  // the sink takes 50 at a time: one take mixes both
        {
            agent_process a;
            ASSERT_NO_FATAL_FAILURE(start(a, false, keys, 1));
            ASSERT_NO_FATAL_FAILURE(send_one_by_one(0, recovered));
            ASSERT_NO_FATAL_FAILURE(stop(a));
        }
        ASSERT_GE(disk.fill("filler", 0), 0);
        agent_process b;
        ASSERT_NO_FATAL_FAILURE(start(b, true, keys, 1));
        ASSERT_NO_FATAL_FAILURE(send_one_by_one(recovered, n - recovered));
        ASSERT_NO_FATAL_FAILURE(wait_for_sink_write_failure(b));
        std::this_thread::sleep_for(milliseconds(500));  // a few more rolled-back takes
        fs::remove(mount + "/filler");
        ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= size_t(n); }, seconds(30))) << b.stderr_text();
        ASSERT_NO_FATAL_FAILURE(stop(b));
        std::vector<std::string> want;
        for (int k = 0; k < n; k++) want.push_back("e" + std::to_string(k));
        EXPECT_EQ(read_output_bodies(_out), want);
    }
}

// The channel's disk (a small tmpfs) fills during a run while a sink drains
// it: puts fail with Flume's texts, the sink's takes (which need log room
// too) are retried without a duplicate, and once space returns ingest resumes
// by itself with nothing acknowledged lost.
TEST_P(file_channel_dirs_test, disk_full_mid_run_with_a_draining_sink_loses_nothing) {
    small_tmpfs disk;
    if (!disk.mount(_dir.file("disk"), size_t(8) << 20)) {
        ASSERT_NE(::geteuid(), 0u) << "root, yet " << disk.error();
        GTEST_SKIP() << "cannot fill a disk here without root: " << disk.error();
    }
    _data = _dir.file("disk") + "/data";
    _ckpt = _dir.file("disk") + "/ckpt";
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(
        start(a, true, {{"maxFileSize", "65536"}, {"checkpointInterval", "500"}, {"transactionCapacity", "100"}}));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 200, 1));
    std::set<int> acked;
    for (int k = 0; k < 200; k++) acked.insert(k);

    // Less free space than minimumRequiredSpace (1 MiB) + one segment.
    ASSERT_GE(disk.fill("filler", 512 << 10), 0);
    auto more = send_some_acked("e", 1000, 1000, "FAILED: Put failed due to IO error [channel=c1]");
    EXPECT_LT(more.size(), 1000u) << "puts needing a new segment must fail";
    acked.insert(more.begin(), more.end());
    EXPECT_NE(a.stderr_text().find("file channel c1: Usable space exhausted, only "), std::string::npos)
        << a.stderr_text();
    {
        auto other = send_some_acked("e", 5000, 1, "FAILED: Put failed due to IO error [channel=c1]");
        acked.insert(other.begin(), other.end());
    }

    fs::remove(_dir.file("disk") + "/filler");
    // Resumes by itself: ~100 KB, so new segments are needed again.
    auto after = send_some_acked("e", 10000, 500, "(none)");
    EXPECT_EQ(after.size(), 500u);
    acked.insert(after.begin(), after.end());
    expect_delivered_once(acked);
    ASSERT_NO_FATAL_FAILURE(stop(a));
    EXPECT_NE(a.stderr_text().find("writing segments in " + _data + "/chain-0 again"), std::string::npos)
        << a.stderr_text();
}

INSTANTIATE_TEST_SUITE_P(backends, file_channel_dirs_test, ::testing::Values(backend_param{"io_uring", 1}),
                         backend_param_name);

// ------------------------------------------------------------ SPILLABLEMEMORY

TEST_P(file_channel_test, spillable_memory_keeps_only_spilled_events_across_a_restart) {
    _type = "SPILLABLEMEMORY";
    key_values keys = {{"memoryCapacity", "100"}, {"transactionCapacity", "50"}};
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, keys, 1));
    for (int i = 0; i < 10; i++) ASSERT_NO_FATAL_FAILURE(send_acked(i * 50, 50, 1));
    EXPECT_NE(a.stderr_text().find("memory full, spilling to disk"), std::string::npos);
    a.kill_now();

    agent_process b;
    ASSERT_NO_FATAL_FAILURE(start(b, true, keys, 1));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_out) >= 400; }, seconds(20)));
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(stop(b));
    // Memory took whole commits until one did not fit; from that commit on,
    // everything spilled (and stays spilled until memory drains: here, never).
    std::vector<int> got;
    for (auto& body : read_output_bodies(_out)) got.push_back(std::atoi(body.c_str() + 1));
    ASSERT_FALSE(got.empty());
    int first = got.front();
    EXPECT_GE(first, 50);
    EXPECT_LE(first, 100);
    EXPECT_EQ(got, range(first, 500 - first)) << "the spilled events, in arrival order, once each";
}

TEST_P(file_channel_test, spillable_memory_takes_in_arrival_order_across_memory_and_disk) {
    _type = "SPILLABLEMEMORY";
    _dir.write("blocker", "a regular file, not a directory\n");
    _sink_dir = _dir.file("blocker") + "/out";  // the sink fails until it exists
    key_values keys = {{"memoryCapacity", "100"}, {"transactionCapacity", "50"}};
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, true, keys, 1));
    for (int i = 0; i < 6; i++) ASSERT_NO_FATAL_FAILURE(send_acked(i * 50, 50, 1));
    fs::remove(_dir.file("blocker"));
    fs::create_directories(_sink_dir);
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_sink_dir) >= 300; }, seconds(30)));
    // Memory has room again, so new events go to memory behind the spilled ones.
    ASSERT_NO_FATAL_FAILURE(send_acked(300, 50, 1));
    ASSERT_TRUE(poll_until([&] { return count_output_lines(_sink_dir) >= 350; }, seconds(30)));
    ASSERT_NO_FATAL_FAILURE(stop(a));
    std::vector<int> got;
    for (auto& body : read_output_bodies(_sink_dir)) got.push_back(std::atoi(body.c_str() + 1));
    EXPECT_EQ(got, range(0, 350)) << "memory first, then the spilled events, then memory again: arrival order";
}

TEST_P(file_channel_test, spillable_memory_without_overflow_fails_with_flumes_text) {
    _type = "SPILLABLEMEMORY";
    agent_process a;
    ASSERT_NO_FATAL_FAILURE(start(a, false, {{"memoryCapacity", "10"}, {"overflowCapacity", "0"}, {"transactionCapacity", "10"}}, 1));
    ASSERT_NO_FATAL_FAILURE(send_acked(0, 10, 1));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("e10\n"));
    std::string reply = c.read_lines(1, seconds(20));
    EXPECT_EQ(reply,
              "FAILED: Spillable Memory Channel's memory capacity has been reached and overflow is disabled. Consider "
              "increasing memoryCapacity.\n");
    ASSERT_NO_FATAL_FAILURE(stop(a));
}

INSTANTIATE_TEST_SUITE_P(backends, file_channel_test,
                         ::testing::Values(backend_param{"io_uring", 2}, backend_param{"epoll", 1}), backend_param_name);
INSTANTIATE_TEST_SUITE_P(backends, file_channel_disk_test, ::testing::Values(backend_param{"io_uring", 1}),
                         backend_param_name);

TEST(file_channel_config, key_errors_name_file_line_and_key) {
    temp_dir dir;
    std::string base =
        "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
        "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = 1\n"
        "a1.sources.r1.channels = c1\na1.sinks.k1.type = null\na1.sinks.k1.channel = c1\n"
        "a1.channels.c1.type = file\n";
    struct bad_case {
        std::string keys, expect;
    } cases[] = {
        {"a1.channels.c1.useDualCheckpoints = true\n", "a1.channels.c1.backupCheckpointDir: useDualCheckpoints needs backupCheckpointDir"},
        {"a1.channels.c1.useDualCheckpoints = true\na1.channels.c1.checkpointDir = /x\na1.channels.c1.backupCheckpointDir = /x\n",
         "backupCheckpointDir must differ from checkpointDir"},
        {"a1.channels.c1.capacity = 10\na1.channels.c1.transactionCapacity = 20\n", "transactionCapacity 20 exceeds capacity 10"},
        {"a1.channels.c1.maxFileSize = 100\n", "a1.channels.c1.maxFileSize"},
        {"a1.channels.c1.encryption.activeKey = k\n", "file channel encryption is not supported"},
        {"a1.channels.c1.dataDirs = ,\n", "no data directory given"},
    };
    for (auto& c : cases) {
        std::string path = dir.write("c.properties", base + c.keys);
        exit_result r = run_command({sluice_binary(), "check", "-n", "a1", "-f", path}, dir.path(), {}, seconds(20));
        EXPECT_EQ(r.code, 1) << c.keys;
        EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.keys << "\n" << r.err;
        EXPECT_NE(r.err.find(path + ":"), std::string::npos) << r.err;
    }
}

}  // namespace
}  // namespace sluice_it
