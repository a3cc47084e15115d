// SPDX-License-Identifier: Apache-2.0
// The netcat source against a live agent, byte for byte (reference/flume.md
// §4.1): framing, acknowledgements, the line limit, a full channel, back
// pressure, no loss, and draining on SIGTERM. Bodies are read back from a
// file_roll sink (rollInterval 0, so one file per shard).
#include <set>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

const std::string ok = "OK\n";
const std::string channel_full_reply =
    "FAILED: Space for commit to queue couldn't be acquired. Sinks are likely not keeping up with sources, or the "
    "buffer size is too tight\n";

std::string too_long_reply(size_t max) {
    return "FAILED: Event exceeds the maximum length (" + std::to_string(max) + " chars, including newline)\n";
}

class netcat_test : public agent_test {
protected:
    void SetUp() override {
        _port = free_port();
        _out = _dir.file("out");
    }

    // netcat -> memory -> file_roll (one file per shard, one event per write).
    flow_spec file_flow(key_values source = {}, key_values channel = {}) {
        flow_spec f;
        f.port = _port;
        f.source = std::move(source);
        f.channel = std::move(channel);
        f.sink = {{"sink.directory", _out}, {"sink.rollInterval", "0"}, {"sink.batchSize", "1"}};
        return f;
    }

    // A sink directory that cannot be created or opened: a path under a
    // regular file. unblock_sink() makes it a writable directory.
    std::string blocked_sink_dir() {
        _dir.write("blocker", "a regular file, not a directory\n");
        return _dir.file("blocker") + "/out";
    }
    void unblock_sink() {
        std::filesystem::remove(_dir.file("blocker"));
        std::filesystem::create_directories(_dir.file("blocker") + "/out");
    }

    int _port = 0;
    std::string _out;
};

class ack_backlog_test : public netcat_test {};

// ------------------------------------------------------------------ framing

TEST_P(netcat_test, one_ok_per_line_in_order) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow()), _port));
    std::string data;
    for (int i = 0; i < 1000; i++) data += "line-" + std::to_string(i) + "\n";
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all(data));
    std::string replies = c.read_exact(3000, seconds(30));
    EXPECT_EQ(replies, repeat(ok, 1000)) << printable(replies);
    c.shutdown_write();
    std::string more = c.read_to_eof(seconds(10));
    EXPECT_EQ(more, "") << "bytes after the 1000 acks: " << printable(more);
    EXPECT_TRUE(c.eof()) << "the server should close after the client's EOF";

    ASSERT_TRUE(wait_output_lines(_out, 1000)) << count_output_lines(_out) << " lines";
    auto bodies = read_output_bodies(_out);
    ASSERT_EQ(bodies.size(), 1000u);
    for (int i = 0; i < 1000; i++) ASSERT_EQ(bodies[size_t(i)], "line-" + std::to_string(i)) << "at " << i;
}

TEST_P(netcat_test, carriage_return_kept_and_empty_line_is_an_event) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow()), _port));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("a\r\n\nb\n"));
    std::string replies = c.read_exact(9);
    EXPECT_EQ(replies, repeat(ok, 3)) << printable(replies);
    ASSERT_TRUE(wait_output_lines(_out, 3));
    c.shutdown_write();
    EXPECT_EQ(c.read_to_eof(seconds(10)), "");
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    // Three events, bodies "a\r", "" and "b", each written as body + "\n".
    EXPECT_EQ(read_output_text(_out), "a\r\n\nb\n") << printable(read_output_text(_out));
}

TEST_P(netcat_test, bytes_after_last_newline_at_eof_are_discarded) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow()), _port));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("x\ny"));
    c.shutdown_write();
    std::string replies = c.read_to_eof(seconds(10));
    EXPECT_TRUE(c.eof()) << "the server should close after the client's EOF";
    EXPECT_EQ(replies, ok) << printable(replies);
    // Stopping drains the channel: whatever was delivered is in the files now.
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    EXPECT_EQ(read_output_text(_out), "x\n") << printable(read_output_text(_out));
}

TEST_P(netcat_test, lines_split_over_one_byte_writes) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow()), _port));
    tcp_client c(_port);
    c.set_nodelay();
    const std::string data = "first line\n\nthird\r\nfourth, a longer line with some words in it\n";
    for (char ch : data) {
        ASSERT_TRUE(c.send_all(std::string_view(&ch, 1)));
        std::this_thread::sleep_for(milliseconds(2));  // separate segments, not a wait for a condition
    }
    std::string replies = c.read_exact(12);
    EXPECT_EQ(replies, repeat(ok, 4)) << printable(replies);
    ASSERT_TRUE(wait_output_lines(_out, 4));
    std::vector<std::string> want = {"first line", "", "third\r", "fourth, a longer line with some words in it"};
    EXPECT_EQ(read_output_bodies(_out), want);
}

// Writes that end inside a line and carry several more: the held partial
// line is completed by the next read, which is framed on. Latin-1 is
// transcoded to UTF-8 (Flume stores bodies as UTF-8); UTF-8 is kept as sent.
TEST_P(netcat_test, lines_cut_inside_writes_of_several_lines_in_each_encoding) {
    const std::vector<std::string> data = {"caf\xe9 one\nsec", "ond\nthird li", "ne\nfourth\nfif", "th\n"};
    for (const char* enc : {"utf-8", "iso-8859-1"}) {
        SCOPED_TRACE(enc);
        _port = free_port();
        _out = _dir.file(std::string("out-") + enc);
        ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow({{"encoding", enc}})), _port));
        tcp_client c(_port);
        c.set_nodelay();
        for (const std::string& w : data) {
            ASSERT_TRUE(c.send_all(w));
            std::this_thread::sleep_for(milliseconds(20));  // separate segments, not a wait for a condition
        }
        std::string replies = c.read_exact(15);
        EXPECT_EQ(replies, repeat(ok, 5)) << printable(replies);
        ASSERT_TRUE(wait_output_lines(_out, 5));
        const std::string cafe = std::string(enc) == "utf-8" ? "caf\xe9 one" : "caf\xc3\xa9 one";
        std::vector<std::string> want = {cafe, "second", "third line", "fourth", "fifth"};
        EXPECT_EQ(read_output_bodies(_out), want);
        auto r = _agent.stop();
        EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    }
}

TEST_P(netcat_test, no_replies_when_ack_every_event_is_false) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow({{"ack-every-event", "false"}})), _port));
    tcp_client c(_port);
    std::string data;
    for (int i = 0; i < 200; i++) data += "e" + std::to_string(i) + "\n";
    ASSERT_TRUE(c.send_all(data));
    ASSERT_TRUE(wait_output_lines(_out, 200)) << count_output_lines(_out) << " lines";
    c.shutdown_write();
    std::string replies = c.read_to_eof(seconds(10));
    EXPECT_TRUE(c.eof());
    EXPECT_EQ(replies, "") << printable(replies);
    auto bodies = read_output_bodies(_out);
    ASSERT_EQ(bodies.size(), 200u);
    for (int i = 0; i < 200; i++) EXPECT_EQ(bodies[size_t(i)], "e" + std::to_string(i));
}

// ------------------------------------------------------------------ max-line-length

TEST_P(netcat_test, default_max_line_length_is_512_chars_including_newline) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow()), _port));
    const std::string longest(511, 'x');
    {
        tcp_client c(_port);
        ASSERT_TRUE(c.send_all(longest + "\n"));
        EXPECT_EQ(c.read_exact(3), ok);
    }
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("ok1\nok2\n" + std::string(512, 'y') + "\nafter\n"));
    std::string replies = c.read_to_eof(seconds(10));
    EXPECT_TRUE(c.eof()) << "the server must close the connection after a line that is too long";
    EXPECT_EQ(replies, ok + ok + too_long_reply(512)) << printable(replies);

    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    auto bodies = read_output_bodies(_out);
    std::multiset<std::string> got(bodies.begin(), bodies.end());
    std::multiset<std::string> want = {longest, "ok1", "ok2"};
    EXPECT_EQ(got, want);
}

TEST_P(netcat_test, too_long_line_without_newline_fails_when_the_buffer_fills) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow()), _port));
    tcp_client c(_port);
    c.set_nodelay();
    ASSERT_TRUE(c.send_all(std::string(300, 'z')));
    std::string early;
    c.read_some(early, milliseconds(300));
    EXPECT_EQ(early, "") << "300 chars without a newline fit: no reply yet";
    EXPECT_FALSE(c.eof());
    ASSERT_TRUE(c.send_all(std::string(212, 'z')));  // 512 chars now: the buffer is full
    std::string replies = early + c.read_to_eof(seconds(10));
    EXPECT_TRUE(c.eof());
    EXPECT_EQ(replies, too_long_reply(512)) << printable(replies);
}

TEST_P(netcat_test, configured_max_line_length_is_in_the_message) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow({{"max-line-length", "10"}})), _port));
    {
        tcp_client c(_port);
        ASSERT_TRUE(c.send_all("123456789\n"));
        EXPECT_EQ(c.read_exact(3), ok);
    }
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("1234567890\n"));
    std::string replies = c.read_to_eof(seconds(10));
    EXPECT_TRUE(c.eof());
    EXPECT_EQ(replies, too_long_reply(10)) << printable(replies);
    ASSERT_TRUE(wait_output_lines(_out, 1));
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    EXPECT_EQ(read_output_text(_out), "123456789\n");
}

TEST_P(netcat_test, max_line_length_counts_characters_not_bytes) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow({{"max-line-length", "10"}})), _port));
    const std::string e_acute = "\xC3\xA9";          // U+00E9: 2 bytes, 1 char
    const std::string grin = "\xF0\x9F\x98\x80";     // U+1F600: 4 bytes, 2 Java chars (a surrogate pair)
    const std::string nine = repeat(e_acute, 9);     // 18 bytes, 9 chars: fits
    const std::string nine_too = repeat(grin, 4) + "a";  // 17 bytes, 9 Java chars: fits
    {
        tcp_client c(_port);
        ASSERT_TRUE(c.send_all(nine + "\n" + nine_too + "\n"));
        std::string replies = c.read_exact(6);
        EXPECT_EQ(replies, ok + ok) << printable(replies);
    }
    {
        tcp_client c(_port);
        ASSERT_TRUE(c.send_all(repeat(e_acute, 10) + "\n"));
        std::string replies = c.read_to_eof(seconds(10));
        EXPECT_TRUE(c.eof());
        EXPECT_EQ(replies, too_long_reply(10)) << printable(replies);
    }
    {
        tcp_client c(_port);
        ASSERT_TRUE(c.send_all(repeat(grin, 5) + "\n"));  // 10 Java chars
        std::string replies = c.read_to_eof(seconds(10));
        EXPECT_TRUE(c.eof());
        EXPECT_EQ(replies, too_long_reply(10)) << printable(replies);
    }
    ASSERT_TRUE(wait_output_lines(_out, 2));
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    auto bodies = read_output_bodies(_out);
    std::multiset<std::string> got(bodies.begin(), bodies.end());
    std::multiset<std::string> want = {nine, nine_too};
    EXPECT_EQ(got, want);
}

TEST_P(netcat_test, multibyte_character_split_across_reads_counts_once) {
    // A line that fits, written so that one read ends inside a multibyte
    // character: the partial character must not count as several characters.
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow({{"max-line-length", "10"}})), _port));
    const std::string euro = "\xE2\x82\xAC";       // U+20AC: 3 bytes, 1 char
    const std::string grin = "\xF0\x9F\x98\x80";   // U+1F600: 4 bytes, 2 Java chars
    const std::vector<std::pair<std::string, std::string>> cases = {
        {repeat(euro, 8) + euro.substr(0, 2), euro.substr(2) + "\n"},                // 9 chars
        {"a" + repeat(grin, 3) + grin.substr(0, 3), grin.substr(3) + "\n"},           // 9 Java chars
        {repeat("\xC3\xA9", 8) + "\xC3", "\xA9\n"},                                  // 9 chars
    };
    std::multiset<std::string> want;
    for (auto& [first, second] : cases) {
        tcp_client c(_port);
        c.set_nodelay();
        ASSERT_TRUE(c.send_all(first));
        // Not a wait for a condition: a pause so the two parts arrive in
        // separate reads.
        std::this_thread::sleep_for(milliseconds(150));
        ASSERT_TRUE(c.send_all(second));
        c.shutdown_write();
        std::string replies = c.read_to_eof(seconds(10));
        EXPECT_EQ(replies, ok) << "line " << printable(first + second) << " got " << printable(replies);
        want.insert(first + second.substr(0, second.size() - 1));
    }
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    auto bodies = read_output_bodies(_out);
    EXPECT_EQ(std::multiset<std::string>(bodies.begin(), bodies.end()), want);
}

TEST_P(netcat_test, too_long_reply_is_sent_even_without_acks) {
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(file_flow({{"ack-every-event", "false"}})), _port));
    tcp_client c(_port);
    ASSERT_TRUE(c.send_all("a\n" + std::string(600, 'q') + "\nb\n"));
    std::string replies = c.read_to_eof(seconds(10));
    EXPECT_TRUE(c.eof());
    EXPECT_EQ(replies, too_long_reply(512)) << printable(replies);
    ASSERT_TRUE(wait_output_lines(_out, 1));
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    EXPECT_EQ(read_output_text(_out), "a\n");
}

// ------------------------------------------------------------------ full channel

TEST_P(netcat_test, full_channel_replies_failed_after_keep_alive_and_keeps_the_connection) {
    flow_spec f = file_flow({}, {{"capacity", "5"}, {"transactionCapacity", "5"}, {"keep-alive", "1"}});
    f.sink = {{"sink.directory", blocked_sink_dir()}, {"sink.rollInterval", "0"}, {"sink.batchSize", "1"}};
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(f), _port, {"-Dsluice.drain.timeout=2s"}));
    tcp_client c(_port);
    std::string data;
    for (int i = 0; i < 8; i++) data += "ev" + std::to_string(i) + "\n";
    ASSERT_TRUE(c.send_all(data));
    std::string oks = c.read_exact(15, seconds(10));
    ASSERT_EQ(oks, repeat(ok, 5)) << printable(oks);
    int64_t last = now_ms();

    // Each further event waits keep-alive (1 s) for room, then fails alone.
    std::string failed;
    for (int i = 0; i < 3; i++) {
        std::string one = c.read_exact(channel_full_reply.size(), seconds(15));
        int64_t t = now_ms();
        EXPECT_EQ(one, channel_full_reply) << "reply " << i << ": " << printable(one);
        EXPECT_GE(t - last, 800) << "reply " << i << " came before keep-alive passed";
        last = t;
        failed += one;
    }
    std::string extra;
    c.read_some(extra, milliseconds(200));
    EXPECT_EQ(extra, "") << printable(extra);
    EXPECT_FALSE(c.eof()) << "a full channel must not close the connection";

    // The connection still works: a further line fails the same way, and
    // the client's EOF while the line waits for room closes the connection
    // once the line has its reply.
    ASSERT_TRUE(c.send_all("late\n"));
    c.shutdown_write();
    int64_t sent = now_ms();
    std::string late = c.read_exact(channel_full_reply.size(), seconds(15));
    EXPECT_EQ(late, channel_full_reply) << printable(late);
    EXPECT_GE(now_ms() - sent, 800);
    std::string after = c.read_to_eof(seconds(10));
    EXPECT_EQ(after, "") << printable(after);
    EXPECT_TRUE(c.eof()) << "the server closes after the client's EOF";

    // Once the sink can write, the five acknowledged events (and only they)
    // come out, in order.
    unblock_sink();
    std::string out = _dir.file("blocker") + "/out";
    ASSERT_TRUE(wait_output_lines(out, 5, seconds(20))) << count_output_lines(out) << " lines";
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);
    std::vector<std::string> want = {"ev0", "ev1", "ev2", "ev3", "ev4"};
    EXPECT_EQ(read_output_bodies(out), want);
}

// ------------------------------------------------------------------ back pressure

TEST_P(netcat_test, stalled_sink_pushes_back_on_the_sender_with_bounded_memory) {
    // keep-alive is long so the source waits for room instead of failing.
    flow_spec f = file_flow({{"ack-every-event", "false"}},
                            {{"capacity", "100"}, {"transactionCapacity", "100"}, {"keep-alive", "120"}});
    const std::string out = blocked_sink_dir();
    f.sink = {{"sink.directory", out}, {"sink.rollInterval", "0"}, {"sink.batchSize", "100"}};
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(f), _port, {}, small_asan_quarantine()));

    // 100-byte lines: "<seq, 9 digits> <padding>\n".
    const size_t line_size = 100, total_lines = 80000;  // 8 MB
    std::string data;
    data.reserve(line_size * total_lines);
    char head[16];
    for (size_t i = 0; i < total_lines; i++) {
        snprintf(head, sizeof(head), "%09zu ", i);
        data += head;
        data.append(line_size - 11, char('a' + i % 26));
        data += '\n';
    }
    const long rss_before = _agent.rss_kb();
    ASSERT_GT(rss_before, 0);

    tcp_client c(_port);
    c.set_nonblocking();
    // A small send buffer: what the sender gets out is mostly what the agent
    // took (its socket receive buffer and its own buffers).
    int sndbuf = 256 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    size_t sent = 0;
    long rss_max = rss_before;
    // Write until no byte goes out for 2 s: the agent has stopped reading.
    int64_t last_progress = now_ms();
    while (sent < data.size() && now_ms() - last_progress < 2000) {
        ssize_t w = c.try_send(std::string_view(data).substr(sent, 1 << 16));
        ASSERT_GE(w, 0) << "send failed: " << strerror(errno);
        if (w > 0) {
            sent += size_t(w);
            last_progress = now_ms();
        } else {
            pollfd p{c.fd(), POLLOUT, 0};
            ::poll(&p, 1, 100);
            rss_max = std::max(rss_max, _agent.rss_kb());
        }
    }
    rss_max = std::max(rss_max, _agent.rss_kb());
    EXPECT_LT(sent, data.size()) << "the sender was never blocked: the agent buffered all of " << data.size()
                                 << " bytes";
    EXPECT_LT(sent, size_t(6) << 20) << "the agent took " << sent << " bytes with 100 events of room";
    EXPECT_LT(rss_max - rss_before, 64L * 1024) << "RSS grew from " << rss_before << " kB to " << rss_max << " kB";
    EXPECT_EQ(count_output_lines(out), 0u);
    std::string replies;
    c.read_some(replies, milliseconds(10));
    EXPECT_EQ(replies, "") << "no FAILED while waiting for room: " << printable(replies);

    // Now let the sink write, and send the rest.
    unblock_sink();
    ASSERT_TRUE(c.send_all(std::string_view(data).substr(sent), seconds(120)));
    c.shutdown_write();
    ASSERT_TRUE(wait_output_lines(out, total_lines, seconds(120))) << count_output_lines(out) << " lines";
    replies += c.read_to_eof(seconds(20));
    EXPECT_EQ(replies, "") << printable(replies);
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);

    // Exactly once, in order (one connection: one shard, so one file unless a
    // failed write started a new one; files are read in roll order).
    auto bodies = read_output_bodies(out);
    ASSERT_EQ(bodies.size(), total_lines);
    for (size_t i = 0; i < total_lines; i++) {
        ASSERT_EQ(bodies[i], std::string_view(data).substr(i * line_size, line_size - 1)) << "line " << i;
    }
}

// ------------------------------------------------------------------ no loss

TEST_P(netcat_test, every_acknowledged_line_is_delivered_exactly_once) {
    flow_spec f = file_flow({}, {{"capacity", "10000"}, {"transactionCapacity", "1000"}, {"keep-alive", "10"}});
    f.sink = {{"sink.directory", _out}, {"sink.rollInterval", "0"}, {"sink.batchSize", "1000"}};
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(f), _port));
    const int conns = 4, per_conn = 25000;
    std::vector<std::string> replies(conns);
    std::vector<std::thread> threads;
    std::vector<std::unique_ptr<tcp_client>> clients;
    for (int k = 0; k < conns; k++) clients.push_back(std::make_unique<tcp_client>(_port));
    for (int k = 0; k < conns; k++) {
        threads.emplace_back([&, k] {
            std::string data;
            for (int i = 0; i < per_conn; i++) data += "c" + std::to_string(k) + "-" + std::to_string(i) + "\n";
            std::thread writer([&] {
                try {
                    clients[size_t(k)]->send_all(data, seconds(60));
                } catch (const std::exception&) {
                    // Fewer replies than lines: reported below.
                }
                clients[size_t(k)]->shutdown_write();
            });
            replies[size_t(k)] = clients[size_t(k)]->read_to_eof(seconds(90));
            writer.join();
        });
    }
    for (auto& t : threads) t.join();

    std::set<std::string> acked;
    for (int k = 0; k < conns; k++) {
        auto lines = split_lines(replies[size_t(k)]);
        EXPECT_EQ(lines.size(), size_t(per_conn)) << "connection " << k;
        for (size_t i = 0; i < lines.size(); i++) {
            if (lines[i] == "OK") acked.insert("c" + std::to_string(k) + "-" + std::to_string(i));
            else EXPECT_EQ(lines[i] + "\n", channel_full_reply) << "connection " << k << " reply " << i;
        }
    }
    EXPECT_EQ(acked.size(), size_t(conns * per_conn)) << "some lines were not acknowledged";
    ASSERT_TRUE(wait_output_lines(_out, acked.size(), seconds(60))) << count_output_lines(_out) << " lines";
    auto r = _agent.stop();
    EXPECT_TRUE(r.exited && r.code == 0) << describe(r);

    auto lines = read_output_lines(_out);
    std::map<std::string, int> seen;
    std::vector<int> next(conns, 0);
    for (auto& l : lines) {
        seen[l.body]++;
        // Per connection, in order.
        int k = -1, i = -1;
        ASSERT_EQ(sscanf(l.body.c_str(), "c%d-%d", &k, &i), 2) << "unexpected body " << printable(l.body);
        ASSERT_TRUE(k >= 0 && k < conns);
        EXPECT_GE(i, next[size_t(k)]) << "connection " << k << " out of order at " << l.body;
        next[size_t(k)] = i + 1;
    }
    size_t missing = 0, duplicated = 0;
    for (auto& a : acked) {
        auto it = seen.find(a);
        if (it == seen.end()) missing++;
        else if (it->second != 1) duplicated++;
    }
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(duplicated, 0u);
    EXPECT_EQ(lines.size(), acked.size()) << "events that were not acknowledged were delivered";
}

TEST_P(ack_backlog_test, sender_that_does_not_read_acks_is_paused_with_bounded_memory) {
    // Acks on, a fast sink, and a client that writes without reading: the
    // replies back up, and the agent must stop reading instead of queueing
    // without bound; once the client reads, every line gets its OK.
    flow_spec f = file_flow({}, {{"capacity", "10000"}, {"transactionCapacity", "1000"}, {"keep-alive", "30"}});
    f.sink_type = "null";
    f.sink = {{"batchSize", "1000"}};
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(f), _port, {}, small_asan_quarantine()));
    // More acks (6 MB) than the agent may queue (1 MB) plus what the socket
    // buffers hold (about 3.5 MB here with the client's small window).
    const size_t total_lines = 2000000;
    const std::string data = repeat("x\n", total_lines);
    const long rss_before = _agent.rss_kb();
    tcp_client c;
    c.connect(_port, seconds(10), 4096);
    int small = 64 * 1024;
    ::setsockopt(c.fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    c.set_nonblocking();
    size_t sent = 0;
    long rss_max = rss_before;
    int64_t last_progress = now_ms();
    while (sent < data.size() && now_ms() - last_progress < 2000) {
        ssize_t w = c.try_send(std::string_view(data).substr(sent, 1 << 16));
        ASSERT_GE(w, 0) << "send failed: " << strerror(errno);
        if (w > 0) {
            sent += size_t(w);
            last_progress = now_ms();
        } else {
            pollfd p{c.fd(), POLLOUT, 0};
            ::poll(&p, 1, 100);
            rss_max = std::max(rss_max, _agent.rss_kb());
        }
    }
    rss_max = std::max(rss_max, _agent.rss_kb());
    EXPECT_LT(sent, data.size()) << "the agent read all " << data.size() << " bytes while its acks were not read";
    EXPECT_LT(rss_max - rss_before, 64L * 1024) << "RSS grew from " << rss_before << " kB to " << rss_max << " kB";

    // Read the acks while sending the rest.
    std::string replies;
    bool wrote_all = false;
    std::thread writer([&] {
        try {
            wrote_all = c.send_all(std::string_view(data).substr(sent), seconds(60));
        } catch (const std::exception&) {
        }
        c.shutdown_write();
    });
    while (!c.eof() && replies.size() < total_lines * 3) {
        if (c.read_some(replies, seconds(30)) == 0) break;
    }
    writer.join();
    replies += c.read_to_eof(seconds(10));
    EXPECT_TRUE(wrote_all);
    EXPECT_EQ(replies.size(), total_lines * 3);
    EXPECT_EQ(count_occurrences(replies, ok), total_lines) << "every line is acknowledged with OK";
}

// Expensive (millions of events), and about one connection: run on one shard
// per backend.
INSTANTIATE_TEST_SUITE_P(backends, ack_backlog_test,
                         ::testing::Values(backend_param{"io_uring", 1}, backend_param{"epoll", 1}),
                         backend_param_name);

// ------------------------------------------------------------------ SIGTERM

TEST_P(netcat_test, sigterm_drains_the_channel_and_prints_the_summary) {
    flow_spec f = file_flow();
    const std::string out = blocked_sink_dir();
    f.sink = {{"sink.directory", out}, {"sink.rollInterval", "0"}, {"sink.batchSize", "1"}};
    ASSERT_NO_FATAL_FAILURE(start_agent(flow_config(f), _port));
    tcp_client c(_port);
    std::string data;
    for (int i = 0; i < 50; i++) data += "drain-" + std::to_string(i) + "\n";
    ASSERT_TRUE(c.send_all(data));
    ASSERT_EQ(c.read_exact(150), repeat(ok, 50));

    // The 50 events are in the channel (the sink cannot write): stop now.
    _agent.signal(SIGTERM);
    ASSERT_TRUE(poll_until([&] { return _agent.stderr_text().find("SIGTERM") != std::string::npos; }, seconds(10)))
        << _agent.stderr_text();
    EXPECT_TRUE(c.read_to_eof(seconds(10)).empty());
    EXPECT_TRUE(c.eof()) << "stopping closes the client connections";
    EXPECT_TRUE(_agent.running()) << "the agent must wait for the channel to drain";
    unblock_sink();
    exit_result r = _agent.wait(seconds(45));
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 0) << describe(r);
    EXPECT_EQ(r.signal, 0);

    auto bodies = read_output_bodies(out);
    ASSERT_EQ(bodies.size(), 50u) << printable(read_output_text(out));
    for (int i = 0; i < 50; i++) EXPECT_EQ(bodies[size_t(i)], "drain-" + std::to_string(i));

    auto err_lines = split_lines(r.err);
    auto find_line = [&](const std::string& prefix) -> std::string {
        for (auto& l : err_lines)
            if (l.rfind(prefix, 0) == 0) return l;
        return "";
    };
    std::string src = find_line("SOURCE.r1:"), ch = find_line("CHANNEL.c1:"), sink = find_line("SINK.k1:");
    EXPECT_NE(src, "") << r.err;
    EXPECT_NE(ch, "") << r.err;
    ASSERT_NE(sink, "") << r.err;
    EXPECT_NE(src.find(" EventAcceptedCount=50"), std::string::npos) << src;
    EXPECT_NE(ch.find(" EventPutSuccessCount=50"), std::string::npos) << ch;
    EXPECT_NE(ch.find(" EventTakeSuccessCount=50"), std::string::npos) << ch;
    EXPECT_NE(sink.find(" EventDrainSuccessCount=50"), std::string::npos) << sink;
}

// ------------------------------------------------------------------ start-up

TEST_P(netcat_test, port_in_use_is_a_start_up_error) {
    // A listener without SO_REUSEPORT: the agent's bind must fail.
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::listen(fd, 16), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    int port = ntohs(a.sin_port);

    flow_spec f = file_flow();
    f.port = port;
    agent_options o;
    o.backend = GetParam().backend;
    o.shards = GetParam().shards;
    _agent.start(_dir.path(), flow_config(f), o);
    exit_result r = _agent.wait(seconds(20));
    ::close(fd);
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 1) << describe(r);
    EXPECT_TRUE(r.err.find("Address already in use") != std::string::npos || r.err.find("bind") != std::string::npos)
        << r.err;
}

INSTANTIATE_TEST_SUITE_P(backends, netcat_test, ::testing::ValuesIn(all_backends()), backend_param_name);

}  // namespace
}  // namespace sluice_it
