// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the Avro RPC decoders the avro source and sink run on
// untrusted bytes (io/avro_rpc.h, docs/avro-rpc.md).
// Input: byte 0 picks the path — bit 0: deflate (the rest is inflated first,
// as a deflate connection would), bit 1: the client side (responses) instead
// of the server side (requests); byte 1 splits the stream into reads of
// 1..256 bytes. The rest is the byte stream of one connection.
// Traps on any broken invariant:
//   - a frame never exceeds max-frame-size; the decoder never reports a frame
//     after an error;
//   - a decoded call re-encodes (appendBatch) to a message that decodes to the
//     same events (bodies and headers);
//   - a handshake answer is BOTH/CLIENT exactly when the call may run.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/avro_rpc.h"

namespace {

namespace avro = sluice::avro;

void check(bool ok) {
    if (!ok) __builtin_trap();
}

constexpr size_t max_frame = 1 << 16;

void check_roundtrip(const std::shared_ptr<sluice::EventBatch>& batch) {
    std::string msg;
    avro::put_append_batch(msg, {sluice::EventSpan{batch, 0, batch->size()}});
    avro::Reader r(msg);
    avro::Method m;
    sluice::EventBatch again;
    std::string err;
    check(avro::read_call(r, &m, &again, &err));
    check(m == avro::Method::append_batch);
    check(again.size() == batch->size());
    for (uint32_t i = 0; i < again.size(); i++) {
        check(again[i].body() == (*batch)[i].body());
        check(again[i].header_count() == (*batch)[i].header_count());
        for (uint32_t h = 0; h < again[i].header_count(); h++) {
            check(again[i].header(h).key == (*batch)[i].header(h).key);
            check(again[i].header(h).value == (*batch)[i].header(h).value);
        }
    }
}

void server_message(const std::string& message, avro::ServerHandshake& hs, std::vector<avro::Md5>& learned) {
    avro::Reader r(message);
    if (!hs.established) {
        avro::HandshakeRequest req;
        if (!avro::read_handshake_request(r, &req)) return;
        std::string reply;
        bool run = false;
        if (!hs.answer(req, learned, &reply, &run).is_ok()) return;
        check(run == hs.established);
        avro::CallResponse parsed;
        std::string pack;
        avro::put_handshake_only_pack(pack, 1, reply);
        check(avro::read_call_response(std::string_view(pack).substr(12), true, &parsed));
        check((parsed.handshake.match == avro::Match::none) == !run);
        if (!run) return;
    }
    auto batch = std::make_shared<sluice::EventBatch>();
    avro::Method m;
    std::string err;
    if (!avro::read_call(r, &m, batch.get(), &err)) {
        check(!err.empty());
        return;
    }
    check_roundtrip(batch);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    bool deflate = data[0] & 1, client = data[0] & 2;
    size_t step = size_t(data[1]) + 1;
    std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

    avro::Inflater inflater(max_frame * 4);
    avro::FrameDecoder frames(max_frame);
    avro::ServerHandshake hs;
    std::vector<avro::Md5> learned;
    bool established = false;
    std::string plain, message, error;
    for (size_t at = 0; at < input.size(); at += step) {
        std::string_view piece = input.substr(at, step);
        if (deflate) {
            plain.clear();
            if (!inflater.read(piece, plain, &error)) return 0;
            frames.feed(plain);
        } else {
            frames.feed(piece);
        }
        for (;;) {
            uint32_t serial;
            auto next = frames.next(&serial, &message, &error);
            if (next == avro::FrameDecoder::Next::need_more) break;
            if (next == avro::FrameDecoder::Next::error) {
                check(!error.empty());
                return 0;
            }
            check(message.size() <= max_frame);
            if (client) {
                avro::CallResponse resp;
                if (avro::read_call_response(message, !established, &resp) && resp.has_handshake &&
                    resp.handshake.match != avro::Match::none)
                    established = true;
            } else {
                server_message(message, hs, learned);
            }
        }
    }
    return 0;
}
