// SPDX-License-Identifier: Apache-2.0
// The Avro RPC codec (io/avro_rpc.h) against byte sequences written from the
// protocol definition (docs/avro-rpc.md), not from our own encoder.
#include "io/avro_rpc.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::avro {
namespace {

// "00 0a 68" -> bytes
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

const char* flume1 = "86 aa da e2 c4 54 74 c0 fe 93 ff d0 f2 35 0a 65";

TEST(AvroEncoding, ZigZagLongs) {
    struct {
        int64_t v;
        const char* bytes;
    } cases[] = {{0, "00"}, {1, "02"}, {-1, "01"}, {64, "80 01"}, {-65, "81 01"}, {INT64_MAX, "fe ff ff ff ff ff ff ff ff 01"}};
    for (auto& c : cases) {
        std::string out;
        put_long(out, c.v);
        EXPECT_EQ(out, hex(c.bytes)) << c.v;
        Reader r(out);
        int64_t back = 0;
        ASSERT_TRUE(r.get_long(&back));
        EXPECT_EQ(back, c.v);
    }
    const std::string eleven_bytes = hex("ff ff ff ff ff ff ff ff ff ff 01");
    Reader eleven(eleven_bytes);
    int64_t v;
    EXPECT_FALSE(eleven.get_long(&v)) << "a varint longer than 10 bytes";
}

TEST(AvroEncoding, LengthsBeyondTheMessageFail) {
    const std::string r_bytes = hex("0a 68 69");
    Reader r(r_bytes);  // says 5 bytes, has 2
    std::string_view s;
    EXPECT_FALSE(r.get_bytes(&s));
    const std::string neg_bytes = hex("01");
    Reader neg(neg_bytes);
    EXPECT_FALSE(neg.get_bytes(&s));
    const std::string block_bytes = hex("c8 01 00");
    Reader block(block_bytes);  // 100 items in 1 byte
    int64_t n;
    EXPECT_FALSE(block.get_block(&n, 2));
}

// docs/avro-rpc.md §5, the worked example.
const std::string example_request = hex(std::string("00 00 00 01 00 00 00 02 00 00 00 2b") + flume1 + "00" + flume1 +
                                        "02 00 00 0c 61 70 70 65 6e 64 00 00 00 07 00 0a 68 65 6c 6c 6f");
const std::string example_reply = hex("00 00 00 01 00 00 00 03 00 00 00 04 00 00 00 00 00 00 00 01 00 00 00 00 02 00 00");

TEST(AvroRpc, WorkedExampleDecodesAndTheReplyIsByteExact) {
    FrameDecoder dec(1 << 20);
    // Byte by byte: a pack is only complete at its last byte.
    uint32_t serial = 0;
    std::string msg, err;
    for (size_t i = 0; i < example_request.size(); i++) {
        ASSERT_EQ(dec.next(&serial, &msg, &err), FrameDecoder::Next::need_more) << i;
        dec.feed(example_request.substr(i, 1));
    }
    ASSERT_EQ(dec.next(&serial, &msg, &err), FrameDecoder::Next::frame) << err;
    EXPECT_EQ(serial, 1u);
    EXPECT_EQ(msg.size(), 0x2bu + 7);

    Reader r(msg);
    HandshakeRequest hs;
    ASSERT_TRUE(read_handshake_request(r, &hs));
    EXPECT_EQ(hs.client_hash, flume1_hash);
    EXPECT_EQ(hs.server_hash, flume1_hash);
    EXPECT_FALSE(hs.has_client_protocol);
    ServerHandshake server;
    std::vector<Md5> learned;
    std::string hs_reply;
    bool run = false;
    ASSERT_TRUE(server.answer(hs, learned, &hs_reply, &run).is_ok());
    EXPECT_TRUE(run);
    EXPECT_TRUE(server.established);

    Method m;
    EventBatch batch;
    ASSERT_TRUE(read_call(r, &m, &batch, &err)) << err;
    EXPECT_EQ(m, Method::append);
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_EQ(batch[0].body(), "hello");
    EXPECT_EQ(batch[0].header_count(), 0u);

    std::string reply;
    put_response_pack(reply, serial, hs_reply, CallStatus::ok);
    EXPECT_EQ(reply, example_reply);

    // The client side reads the same reply.
    FrameDecoder cdec(1 << 20);
    cdec.feed(example_reply);
    ASSERT_EQ(cdec.next(&serial, &msg, &err), FrameDecoder::Next::frame);
    CallResponse resp;
    ASSERT_TRUE(read_call_response(msg, true, &resp));
    EXPECT_EQ(resp.handshake.match, Match::both);
    ASSERT_TRUE(resp.has_status);
    EXPECT_EQ(resp.status, CallStatus::ok);
}

TEST(AvroRpc, AppendBatchParametersOfTheReference) {
    // appendBatch([{a: b} "hi"]) parameters: 02 02 02 61 02 62 00 04 68 69 00
    std::string msg = hex("00 16") + "appendBatch" + hex("02 02 02 61 02 62 00 04 68 69 00");
    Reader r(msg);
    Method m;
    EventBatch batch;
    std::string err;
    ASSERT_TRUE(read_call(r, &m, &batch, &err)) << err;
    EXPECT_EQ(m, Method::append_batch);
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_EQ(batch[0].body(), "hi");
    ASSERT_EQ(batch[0].header_count(), 1u);
    EXPECT_EQ(batch[0].header(0).key, "a");
    EXPECT_EQ(batch[0].header(0).value, "b");

    // Our encoder writes exactly those bytes.
    auto shared = std::make_shared<EventBatch>();
    shared->add("hi");
    shared->add_header("a", "b");
    std::string out;
    put_append_batch(out, {EventSpan{shared, 0, 1}});
    EXPECT_EQ(out, msg);
}

TEST(AvroRpc, BlocksWithNegativeCountsAndSeveralBlocksDecode) {
    // Two events in two array blocks, the first with a negative count and a byte size.
    std::string msg = hex("00 16") + "appendBatch" + hex("01 06 00 02 78 02 00 02 79 00");
    Reader r(msg);
    Method m;
    EventBatch batch;
    std::string err;
    ASSERT_TRUE(read_call(r, &m, &batch, &err)) << err;
    ASSERT_EQ(batch.size(), 2u);
    EXPECT_EQ(batch[0].body(), "x");
    EXPECT_EQ(batch[1].body(), "y");
}

TEST(AvroRpc, BadCallsAreRejected) {
    struct {
        std::string msg;
        const char* why;
    } cases[] = {
        {hex("00 08") + "send" + hex("00"), "unknown message"},
        {hex("00 0c") + "append" + hex("00 0a 68 69"), "body shorter than its length"},
        {hex("00 0c") + "append" + hex("00 04 68 69 00"), "bytes left over"},
        {hex("00 16") + "appendBatch" + hex("02 00 04 68 69"), "array not terminated"},
        {hex("02"), "meta map not terminated"},
    };
    for (auto& c : cases) {
        Reader r(c.msg);
        Method m;
        EventBatch batch;
        std::string err;
        EXPECT_FALSE(read_call(r, &m, &batch, &err)) << c.why;
        EXPECT_FALSE(err.empty()) << c.why;
    }
}

TEST(AvroRpc, HandshakeKnownHashesAnswerBoth) {
    for (const Md5* h : {&flume1_hash, &flume2_hash, &sluice_hash}) {
        HandshakeRequest req;
        req.client_hash = *h;
        req.server_hash = *h;
        ServerHandshake s;
        std::vector<Md5> learned;
        std::string reply;
        bool run = false;
        ASSERT_TRUE(s.answer(req, learned, &reply, &run).is_ok());
        EXPECT_TRUE(run);
        EXPECT_EQ(reply, hex("00 00 00 00"));
    }
}

TEST(AvroRpc, HandshakeUnknownHashAnswersNoneThenAcceptsTheResentText) {
    Md5 unknown{};
    unknown.fill(0x11);
    // First request: unknown hash, no text -> NONE with sluice's protocol and hash.
    std::string req_bytes;
    req_bytes.append(16, '\x11');
    req_bytes += hex("00");
    req_bytes.append(16, '\x11');
    req_bytes += hex("02 00");
    Reader r(req_bytes);
    HandshakeRequest req;
    ASSERT_TRUE(read_handshake_request(r, &req));
    ServerHandshake s;
    std::vector<Md5> learned;
    std::string reply;
    bool run = true;
    ASSERT_TRUE(s.answer(req, learned, &reply, &run).is_ok());
    EXPECT_FALSE(run);
    EXPECT_FALSE(s.established);
    std::string expected = hex("04 02");
    put_bytes(expected, protocol_text());
    expected += hex("02");
    expected.append(reinterpret_cast<const char*>(sluice_hash.data()), 16);
    expected += hex("00");
    EXPECT_EQ(reply, expected);
    std::string pack;
    put_handshake_only_pack(pack, 7, reply);
    CallResponse resp;
    ASSERT_TRUE(read_call_response(pack.substr(12), true, &resp));
    EXPECT_EQ(resp.handshake.match, Match::none);
    EXPECT_FALSE(resp.has_status);
    EXPECT_EQ(resp.handshake.server_protocol, protocol_text());
    EXPECT_EQ(resp.handshake.server_hash, sluice_hash);

    // Resent with the client's text (and the server hash just learned): BOTH,
    // and the client hash is known from now on.
    std::string again;
    put_handshake_request(again, unknown, protocol_text(), sluice_hash);
    Reader r2(again);
    HandshakeRequest req2;
    ASSERT_TRUE(read_handshake_request(r2, &req2));
    EXPECT_TRUE(req2.has_client_protocol);
    ASSERT_TRUE(s.answer(req2, learned, &reply, &run).is_ok());
    EXPECT_TRUE(run);
    EXPECT_TRUE(s.established);
    EXPECT_EQ(reply, hex("00 00 00 00"));
    ASSERT_EQ(learned.size(), 1u);

    // A known client that guessed a wrong server hash: CLIENT with our text.
    HandshakeRequest req3;
    req3.client_hash = unknown;
    req3.server_hash = unknown;
    ServerHandshake s3;
    ASSERT_TRUE(s3.answer(req3, learned, &reply, &run).is_ok());
    EXPECT_TRUE(run);
    EXPECT_EQ(reply[0], '\x02');

    // A text that is not Flume's protocol is refused.
    HandshakeRequest bad;
    bad.client_hash.fill(0x22);
    bad.has_client_protocol = true;
    bad.client_protocol = R"({"protocol":"Mail","messages":{"send":{}}})";
    ServerHandshake s4;
    EXPECT_FALSE(s4.answer(bad, learned, &reply, &run).is_ok());
}

TEST(AvroRpc, FramesSplitAnywhereAndEmptyBuffersAreLegal) {
    std::string packs;
    put_pack(packs, 5, {"ab", "", "c"});
    put_pack(packs, 6, {});
    FrameDecoder dec(1 << 20);
    dec.feed(packs);
    uint32_t serial;
    std::string msg, err;
    ASSERT_EQ(dec.next(&serial, &msg, &err), FrameDecoder::Next::frame);
    EXPECT_EQ(serial, 5u);
    EXPECT_EQ(msg, "abc");
    ASSERT_EQ(dec.next(&serial, &msg, &err), FrameDecoder::Next::frame);
    EXPECT_EQ(serial, 6u);
    EXPECT_EQ(msg, "");
    EXPECT_EQ(dec.next(&serial, &msg, &err), FrameDecoder::Next::need_more);
}

TEST(AvroRpc, OversizedPacksAreErrorsBeforeTheirBytesArrive) {
    FrameDecoder dec(1024);
    dec.feed(hex("00 00 00 01 7f ff ff ff"));  // 2^31 buffers
    uint32_t serial;
    std::string msg, err;
    EXPECT_EQ(dec.next(&serial, &msg, &err), FrameDecoder::Next::error);
    EXPECT_NE(err.find("max-frame-size"), std::string::npos);

    FrameDecoder dec2(1024);
    dec2.feed(hex("00 00 00 01 00 00 00 01 00 10 00 00"));  // one buffer of 1 MiB
    EXPECT_EQ(dec2.next(&serial, &msg, &err), FrameDecoder::Next::error);
}

TEST(AvroRpc, ErrorResponsesAreFailures) {
    // meta, error flag 1, union branch 0, string "boom"
    CallResponse resp;
    ASSERT_TRUE(read_call_response(hex("00 01 00 08 62 6f 6f 6d"), false, &resp));
    EXPECT_EQ(resp.status, CallStatus::failed);
    EXPECT_EQ(resp.error, "boom");
    CallResponse failed;
    ASSERT_TRUE(read_call_response(hex("00 00 02"), false, &failed));
    EXPECT_EQ(failed.status, CallStatus::failed);
}

TEST(AvroDeflate, AStreamOfSyncFlushedWritesRoundTrips) {
    Deflater d(6);
    std::string wire;
    d.write("hello ", wire);
    EXPECT_EQ(wire.substr(0, 2), hex("78 9c")) << "zlib header, level 6";
    EXPECT_EQ(wire.substr(wire.size() - 4), hex("00 00 ff ff")) << "sync flush";
    size_t first = wire.size();
    d.write("world", wire);
    Inflater in(1 << 20);
    std::string out, err;
    // Split anywhere: what is complete comes out.
    ASSERT_TRUE(in.read(std::string_view(wire).substr(0, first), out, &err)) << err;
    EXPECT_EQ(out, "hello ");
    ASSERT_TRUE(in.read(std::string_view(wire).substr(first), out, &err)) << err;
    EXPECT_EQ(out, "hello world");
}

TEST(AvroDeflate, CorruptStreamsAndBombsAreErrors) {
    Inflater in(1 << 20);
    std::string out, err;
    EXPECT_FALSE(in.read(hex("12 34 56 78"), out, &err));
    EXPECT_FALSE(err.empty());

    Deflater d(9);
    std::string wire;
    d.write(std::string(4 << 20, 'a'), wire);
    Inflater small(1 << 20);
    std::string big;
    EXPECT_FALSE(small.read(wire, big, &err));
    EXPECT_NE(err.find("inflates to more than"), std::string::npos);
}

}  // namespace
}  // namespace sluice::avro
