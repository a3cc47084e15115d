// SPDX-License-Identifier: Apache-2.0
// The avro source and sink against live agents over loopback
// (docs/avro-rpc.md, reference/flume.md §7): a client speaking the protocol
// byte for byte, the handshake variants, FAILED on a full channel, broken
// packs closing only their own connection, deflate, and sluice's avro sink
// feeding sluice's avro source between two agents.
#include <set>

#include "io/avro_rpc.h"
#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

namespace avro = sluice::avro;

std::string hex(std::string_view text) {
    std::string out;
    int nibbles = 0, v = 0;
    for (char c : text) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) continue;
        v = v * 16 + d;
        if (++nibbles == 2) {
            out += char(v);
            nibbles = v = 0;
        }
    }
    return out;
}

const std::string flume1 = "86 aa da e2 c4 54 74 c0 fe 93 ff d0 f2 35 0a 65";
// docs/avro-rpc.md §5: a Flume 1.x client's first append({}, "hello"), and the reply.
const std::string example_request = hex("00 00 00 01 00 00 00 02 00 00 00 2b " + flume1 + " 00 " + flume1 +
                                        " 02 00 00 0c 61 70 70 65 6e 64 00 00 00 07 00 0a 68 65 6c 6c 6f");
const std::string example_reply = hex("00 00 00 01 00 00 00 03 00 00 00 04 00 00 00 00 00 00 00 01 00 00 00 00 02 00 00");
// The reply to a later call (no handshake part) with this serial and status byte.
std::string reply_bytes(uint32_t serial, char status) {
    std::string r;
    avro::put_int32_be(r, serial);
    r += hex("00 00 00 03 00 00 00 00 00 00 00 01 00 00 00 00 02 00");
    r += status;
    return r;
}

// An appendBatch message (after the handshake) of bodies prefix0..prefixN-1, header seq=i.
std::string batch_message(const std::string& prefix, int n) {
    auto batch = std::make_shared<sluice::EventBatch>();
    for (int i = 0; i < n; i++) {
        batch->add(prefix + std::to_string(i));
        batch->add_header("seq", std::to_string(i));
    }
    std::string msg;
    avro::put_append_batch(msg, {sluice::EventSpan{batch, 0, uint32_t(n)}});
    return msg;
}

std::string pack(uint32_t serial, const std::string& message) {
    std::string out;
    avro::put_pack(out, serial, {message});
    return out;
}

std::string flume1_handshake() {
    std::string hs;
    avro::put_handshake_request(hs, avro::flume1_hash, {}, avro::flume1_hash);
    return hs;
}

class avro_test : public agent_test {
protected:
    void SetUp() override {
        _port = free_port();
        _out = _dir.file("out");
    }

    // avro source -> memory -> file_roll
    std::string config(key_values source = {}, key_values channel = {}, std::string sink_dir = {}, key_values sink = {}) {
        std::string t = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
                        "a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n"
                        "a1.sources.r1.port = " + std::to_string(_port) + "\na1.sources.r1.channels = c1\n";
        for (auto& [k, v] : source) t += "a1.sources.r1." + k + " = " + v + "\n";
        t += "a1.channels.c1.type = memory\n";
        for (auto& [k, v] : channel) t += "a1.channels.c1." + k + " = " + v + "\n";
        t += "a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\na1.sinks.k1.sink.rollInterval = 0\n"
             "a1.sinks.k1.sink.directory = " + (sink_dir.empty() ? _out : sink_dir) + "\n";
        for (auto& [k, v] : sink) t += "a1.sinks.k1." + k + " = " + v + "\n";
        return t;
    }

    int _port = 0;
    std::string _out;
};

TEST_P(avro_test, worked_example_and_batches_are_answered_byte_for_byte) {
    ASSERT_NO_FATAL_FAILURE(start_agent(config(), _port));
    tcp_client c;
    c.connect(_port);
    ASSERT_TRUE(c.send_all(example_request));
    std::string reply = c.read_exact(example_reply.size());
    EXPECT_EQ(reply, example_reply) << printable(reply);
    // Established: later calls carry no handshake; serials are echoed.
    ASSERT_TRUE(c.send_all(pack(2, batch_message("b", 50))));
    EXPECT_EQ(c.read_exact(reply_bytes(2, 0).size()), reply_bytes(2, '\0'));
    // Pipelined calls, each split in two pieces: answered in order.
    std::string two = pack(7, batch_message("x", 3)) + pack(8, batch_message("y", 2));
    ASSERT_TRUE(c.send_all(two.substr(0, 5)));
    std::this_thread::sleep_for(milliseconds(20));
    ASSERT_TRUE(c.send_all(two.substr(5)));
    EXPECT_EQ(c.read_exact(2 * reply_bytes(0, 0).size()), reply_bytes(7, '\0') + reply_bytes(8, '\0'));
    ASSERT_TRUE(wait_output_lines(_out, 56));
    auto bodies = read_output_bodies(_out);
    std::multiset<std::string> got(bodies.begin(), bodies.end());
    EXPECT_EQ(got.count("hello"), 1u);
    EXPECT_EQ(got.count("b0"), 1u);
    EXPECT_EQ(got.count("b49"), 1u);
    EXPECT_EQ(got.count("y1"), 1u);
    EXPECT_EQ(bodies.size(), 56u);
}

TEST_P(avro_test, unknown_protocol_hash_gets_none_then_the_resent_call_runs) {
    ASSERT_NO_FATAL_FAILURE(start_agent(config(), _port));
    tcp_client c;
    c.connect(_port);
    avro::Md5 mine{};
    mine.fill(0x5a);
    std::string hs;
    avro::put_handshake_request(hs, mine, {}, mine);
    ASSERT_TRUE(c.send_all(pack(1, hs + batch_message("n", 1))));
    // NONE: the handshake response alone (sluice's protocol text and hash).
    std::string expected_hs;
    avro::put_handshake_response(expected_hs, avro::Match::none);
    std::string none;
    avro::put_pack(none, 1, {expected_hs});
    std::string got = c.read_exact(none.size());
    EXPECT_EQ(got, none) << printable(got);
    // Resent with the protocol text: CLIENT (our server hash guess was wrong) + OK.
    std::string hs2;
    avro::put_handshake_request(hs2, mine, avro::protocol_text(), mine);
    ASSERT_TRUE(c.send_all(pack(2, hs2 + batch_message("n", 1))));
    std::string client_hs;
    avro::put_handshake_response(client_hs, avro::Match::client);
    std::string expected;
    avro::put_response_pack(expected, 2, client_hs, avro::CallStatus::ok);
    got = c.read_exact(expected.size());
    EXPECT_EQ(got, expected) << printable(got);
    ASSERT_TRUE(wait_output_lines(_out, 1));
    EXPECT_EQ(read_output_bodies(_out), std::vector<std::string>{"n0"});
}

TEST_P(avro_test, full_channel_answers_failed_after_keep_alive) {
    // The sink cannot write (its directory is a path under a regular file):
    // the channel fills up and stays full.
    _dir.write("blocker", "not a directory\n");
    ASSERT_NO_FATAL_FAILURE(start_agent(
        config({}, {{"capacity", "5"}, {"transactionCapacity", "5"}, {"keep-alive", "1"}}, _dir.file("blocker") + "/out",
               {{"sink.batchSize", "1"}}),
        _port));
    tcp_client c;
    c.connect(_port);
    ASSERT_TRUE(c.send_all(pack(1, flume1_handshake() + batch_message("f", 5))));
    std::string first = c.read_exact(example_reply.size());
    EXPECT_EQ(first, example_reply) << printable(first);
    auto t0 = now_ms();
    ASSERT_TRUE(c.send_all(pack(2, batch_message("g", 1))));
    std::string second = c.read_exact(reply_bytes(2, 0).size(), seconds(15));
    EXPECT_EQ(second, reply_bytes(2, '\x02')) << "FAILED: " << printable(second);
    EXPECT_GE(now_ms() - t0, 900) << "FAILED only after the channel's keep-alive";
    // More events than transactionCapacity in one call: FAILED at once.
    ASSERT_TRUE(c.send_all(pack(3, batch_message("h", 6))));
    EXPECT_EQ(c.read_exact(reply_bytes(3, 0).size(), seconds(15)), reply_bytes(3, '\x02'));
    // Let the sink drain at shutdown.
    std::filesystem::remove(_dir.file("blocker"));
    std::filesystem::create_directories(_dir.file("blocker") + "/out");
}

TEST_P(avro_test, a_broken_pack_closes_only_its_connection) {
    ASSERT_NO_FATAL_FAILURE(start_agent(config({{"max-frame-size", "65536"}}), _port));
    tcp_client good;
    good.connect(_port);
    ASSERT_TRUE(good.send_all(pack(1, flume1_handshake() + batch_message("a", 1))));
    EXPECT_EQ(good.read_exact(example_reply.size()), example_reply);

    const std::string broken[] = {
        hex("00 00 00 01 7f ff ff ff"),                    // 2^31 buffers
        hex("00 00 00 01 00 00 00 01 00 10 00 00"),        // one 1 MiB buffer, over max-frame-size
        pack(1, hex("00 01 02 03")),                        // not a handshake
        pack(1, flume1_handshake() + hex("00 08") + "send"),  // unknown message
    };
    for (const auto& bytes : broken) {
        tcp_client bad;
        bad.connect(_port);
        ASSERT_TRUE(bad.send_all(bytes));
        std::string rest = bad.read_to_eof(seconds(10));
        EXPECT_EQ(rest, "") << "closed without a reply: " << printable(bytes);
    }
    // The first client is unaffected.
    ASSERT_TRUE(good.send_all(pack(2, batch_message("b", 1))));
    EXPECT_EQ(good.read_exact(reply_bytes(2, 0).size()), reply_bytes(2, '\0'));
    ASSERT_TRUE(wait_output_lines(_out, 2));
    EXPECT_EQ(count_occurrences(_agent.stderr_text(), "avro source r1: closing the connection"), 4u)
        << tail(_agent.stderr_text());
}

TEST_P(avro_test, deflate_connection_is_one_zlib_stream_each_way) {
    ASSERT_NO_FATAL_FAILURE(start_agent(config({{"compression-type", "deflate"}}), _port));
    tcp_client c;
    c.connect(_port);
    avro::Deflater out(6);
    avro::Inflater in(1 << 20);
    std::string wire;
    out.write(example_request, wire);
    ASSERT_TRUE(c.send_all(wire));
    std::string plain, err;
    ASSERT_TRUE(poll_until(
        [&] {
            std::string got;
            c.read_some(got, milliseconds(100));
            EXPECT_TRUE(in.read(got, plain, &err)) << err;
            return plain.size() >= example_reply.size();
        },
        seconds(10)));
    EXPECT_EQ(plain, example_reply);
    wire.clear();
    out.write(pack(2, batch_message("z", 10)), wire);
    ASSERT_TRUE(c.send_all(wire));
    plain.clear();
    ASSERT_TRUE(poll_until(
        [&] {
            std::string got;
            c.read_some(got, milliseconds(100));
            EXPECT_TRUE(in.read(got, plain, &err)) << err;
            return plain.size() >= reply_bytes(2, 0).size();
        },
        seconds(10)));
    EXPECT_EQ(plain, reply_bytes(2, '\0'));
    ASSERT_TRUE(wait_output_lines(_out, 11));
}

TEST_P(avro_test, ok_means_on_disk_with_a_file_channel) {
    // avro -> file channel, no sink: an OK'd batch survives kill -9.
    auto file_config = [&](bool with_sink) {
        std::string t = "a1.sources = r1\na1.channels = c1\n"
                        "a1.sources.r1.type = avro\na1.sources.r1.bind = 127.0.0.1\n"
                        "a1.sources.r1.port = " + std::to_string(_port) + "\na1.sources.r1.channels = c1\n"
                        "a1.channels.c1.type = file\na1.channels.c1.checkpointDir = " + _dir.file("ckpt") +
                        "\na1.channels.c1.dataDirs = " + _dir.file("data") +
                        "\na1.channels.c1.maxFileSize = 1048576\na1.channels.c1.minimumRequiredSpace = 1048576\n";
        if (with_sink)
            t += "a1.sinks = k1\na1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\n"
                 "a1.sinks.k1.sink.rollInterval = 0\na1.sinks.k1.sink.directory = " + _out + "\n";
        return t;
    };
    agent_process first;
    agent_options o;
    o.backend = GetParam().backend;
    o.shards = GetParam().shards;
    first.start(_dir.path(), file_config(false), o);
    ASSERT_TRUE(first.wait_port(_port, seconds(20))) << first.stderr_text();
    tcp_client c;
    c.connect(_port);
    ASSERT_TRUE(c.send_all(pack(1, flume1_handshake() + batch_message("d", 100))));
    EXPECT_EQ(c.read_exact(example_reply.size()), example_reply);
    first.signal(SIGKILL);
    first.wait(seconds(10));
    c.close();
    ASSERT_NO_FATAL_FAILURE(start_agent(file_config(true), _port));
    ASSERT_TRUE(wait_output_lines(_out, 100));
    auto bodies = read_output_bodies(_out);
    std::set<std::string> got(bodies.begin(), bodies.end());
    EXPECT_EQ(got.size(), 100u);
    EXPECT_TRUE(got.count("d0") && got.count("d99"));
}

TEST_P(avro_test, ip_filter_rules_decide_by_the_first_match) {
    ASSERT_NO_FATAL_FAILURE(
        start_agent(config({{"ipFilter", "true"}, {"ipFilterRules", "deny:ip:10.*, deny:ip:127.0.0.*,allow:ip:*"}}), _port));
    tcp_client c;
    c.connect(_port);
    (void)c.send_all(example_request, seconds(2));  // may fail: the server closes at once
    EXPECT_EQ(c.read_to_eof(seconds(10)), "") << "127.0.0.1 is denied: closed without a reply";
    EXPECT_TRUE(_agent.running());
}

TEST(avro_config, tls_and_bad_filter_rules_are_configuration_errors) {
    temp_dir dir;
    std::string conf = dir.write("a.properties",
                                 "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
                                 "a1.sources.r1.type = avro\na1.sources.r1.bind = 0.0.0.0\na1.sources.r1.port = 4141\n"
                                 "a1.sources.r1.channels = c1\na1.sources.r1.ssl = true\n"
                                 "a1.sources.r1.ipFilter = true\na1.sources.r1.ipFilterRules = permit:ip:*\n"
                                 "a1.channels.c1.type = memory\n"
                                 "a1.sinks.k1.type = avro\na1.sinks.k1.channel = c1\na1.sinks.k1.hostname = h\n"
                                 "a1.sinks.k1.port = 4141\na1.sinks.k1.ssl = true\n");
    exit_result r = run_command({sluice_binary(), "check", "-n", "a1", "-f", conf}, dir.path());
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("a1.sources.r1.ssl: TLS is not supported by sluice's avro source"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("a1.sinks.k1.ssl: TLS is not supported by sluice's avro sink"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("a1.sources.r1.ipFilterRules: rule 'permit:ip:*': expected allow or deny"), std::string::npos)
        << r.err;
}

// sluice's avro sink -> sluice's avro source, two agents.
class avro_two_agents_test : public avro_test {
protected:
    // Agent a1 (this fixture's): netcat :_in_port -> memory -> avro sink -> :_port.
    std::string sender_config(key_values sink) {
        std::string t = "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
                        "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\n"
                        "a1.sources.r1.port = " + std::to_string(_in_port) + "\na1.sources.r1.channels = c1\n"
                        "a1.channels.c1.type = memory\na1.channels.c1.capacity = 10000\n"
                        "a1.channels.c1.transactionCapacity = 1000\n"
                        "a1.sinks.k1.type = avro\na1.sinks.k1.channel = c1\na1.sinks.k1.hostname = 127.0.0.1\n"
                        "a1.sinks.k1.port = " + std::to_string(_port) + "\n";
        for (auto& [k, v] : sink) t += "a1.sinks.k1." + k + " = " + v + "\n";
        return t;
    }
    void start_receiver(key_values source) {
        agent_options o;
        o.backend = GetParam().backend;
        o.shards = GetParam().shards;
        _receiver.start(_dir.path(), config(std::move(source), {{"capacity", "10000"}, {"transactionCapacity", "1000"}}), o);
        ASSERT_TRUE(_receiver.wait_port(_port, seconds(15))) << _receiver.stderr_text();
    }
    void TearDown() override {
        avro_test::TearDown();  // the sender first: it drains into the receiver
        if (_receiver.running()) {
            exit_result r = _receiver.stop(seconds(45));
            EXPECT_TRUE(r.exited && r.code == 0) << "receiver: " << tail(describe(r));
            if (HasFailure()) std::cerr << "receiver stderr:\n" << tail(r.err) << "\n";
        }
    }

    void send_lines(int n) {
        tcp_client c;
        c.connect(_in_port);
        std::string data;
        for (int i = 0; i < n; i++) data += "event-" + std::to_string(i) + "\n";
        ASSERT_TRUE(c.send_all(data));
        EXPECT_EQ(c.read_exact(size_t(n) * 3, seconds(20)), repeat("OK\n", size_t(n)));
    }
    void expect_all_delivered(int n) {
        ASSERT_TRUE(wait_output_lines(_out, size_t(n), seconds(30))) << count_output_lines(_out) << " of " << n;
        auto bodies = read_output_bodies(_out);
        std::set<std::string> got(bodies.begin(), bodies.end());
        EXPECT_EQ(got.size(), size_t(n));
        EXPECT_TRUE(got.count("event-0") && got.count("event-" + std::to_string(n - 1)));
    }

    int _in_port = free_port();
    agent_process _receiver;
};

TEST_P(avro_two_agents_test, sink_delivers_to_source_end_to_end) {
    ASSERT_NO_FATAL_FAILURE(start_receiver({}));
    ASSERT_NO_FATAL_FAILURE(start_agent(sender_config({{"batch-size", "100"}}), _in_port));
    ASSERT_NO_FATAL_FAILURE(send_lines(2000));
    expect_all_delivered(2000);
}

TEST_P(avro_two_agents_test, deflate_end_to_end) {
    ASSERT_NO_FATAL_FAILURE(start_receiver({{"compression-type", "deflate"}}));
    ASSERT_NO_FATAL_FAILURE(start_agent(
        sender_config({{"compression-type", "deflate"}, {"compression-level", "9"}, {"batch-size", "50"}}), _in_port));
    ASSERT_NO_FATAL_FAILURE(send_lines(1000));
    expect_all_delivered(1000);
}

TEST_P(avro_two_agents_test, sink_keeps_events_until_the_source_comes_up) {
    // The receiver is not there yet: connects fail, nothing is lost.
    ASSERT_NO_FATAL_FAILURE(start_agent(sender_config({}), _in_port));
    ASSERT_NO_FATAL_FAILURE(send_lines(300));
    std::this_thread::sleep_for(milliseconds(300));
    ASSERT_NO_FATAL_FAILURE(start_receiver({}));
    expect_all_delivered(300);
}

INSTANTIATE_TEST_SUITE_P(backends, avro_test, ::testing::ValuesIn(all_backends()), backend_param_name);
INSTANTIATE_TEST_SUITE_P(backends, avro_two_agents_test, ::testing::ValuesIn(all_backends()), backend_param_name);

}  // namespace
}  // namespace sluice_it
