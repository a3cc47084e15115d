// SPDX-License-Identifier: Apache-2.0
// Flume's Avro RPC (docs/avro-rpc.md): the Avro binary encoding it needs, the
// Netty framing, the handshake, the append/appendBatch calls, and the
// connection-wide zlib streams of compression-type = deflate.
//
// Pure codecs, no I/O: the `avro` source and sink and sluice-loadgen drive
// them. Decoders take untrusted bytes: every length and count is checked
// against what is left, nothing is allocated from a count before the bytes
// behind it are there, and a bad input is an errc::corrupt Status.
#pragma once

#include <zlib.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace sluice::avro {

using Md5 = std::array<uint8_t, 16>;

// The protocol hashes sluice knows (docs/avro-rpc.md §4).
extern const Md5 flume1_hash;   // Flume 1.9.0 - 1.11.0
extern const Md5 flume2_hash;   // Flume 2.0 (Avro >= 1.11.1)
extern const Md5 sluice_hash;   // MD5 of protocol_text()
std::string_view protocol_text();
bool is_known_hash(const Md5& h);

enum class CallStatus : uint8_t { ok = 0, failed = 1, unknown = 2 };
enum class Match : uint8_t { both = 0, client = 1, none = 2 };

// ------------------------------------------------------------ encoding

void put_long(std::string& out, int64_t v);
void put_bytes(std::string& out, std::string_view s);  // also strings
void put_int32_be(std::string& out, uint32_t v);
void put_event(std::string& out, const EventView& e);  // one AvroFlumeEvent

// A bounded reader over one message. After the first failure every call
// fails, so a decoder can check ok() once at the end of a group of reads.
class Reader {
public:
    explicit Reader(std::string_view data) : _p(data.data()), _end(data.data() + data.size()) {}
    bool get_long(int64_t* v);
    bool get_bool(bool* v);
    bool get_bytes(std::string_view* v);  // also strings
    bool get_fixed16(Md5* v);
    // A map or array block header: *count items follow (0: the end). Negative
    // counts (with a byte size) are accepted; a count that cannot fit in what
    // is left (each item takes at least `min_item_bytes`) fails.
    bool get_block(int64_t* count, size_t min_item_bytes);
    bool skip_bytes_map();  // a map<bytes> (handshake/call meta)
    size_t left() const { return size_t(_end - _p); }
    bool ok() const { return _ok; }
    bool fail() { _ok = false; return false; }

private:
    const char* _p;
    const char* _end;
    bool _ok = true;
};

// ------------------------------------------------------------ framing

// Splits a byte stream into packs (int32 serial, int32 n, n x (int32 len,
// bytes)); the message of a pack is its buffers concatenated.
class FrameDecoder {
public:
    explicit FrameDecoder(size_t max_frame) : _max_frame(max_frame) {}
    void feed(std::string_view data) { _in.append(data); }
    enum class Next { need_more, frame, error };
    // On `frame`, *message holds the pack's bytes (valid until the next call);
    // on `error`, *error says why (the stream cannot be resynchronised).
    Next next(uint32_t* serial, std::string* message, std::string* error);
    size_t buffered() const { return _in.size() - _pos; }

private:
    size_t _max_frame;
    std::string _in;
    size_t _pos = 0;
};

// A pack of the given buffers.
void put_pack(std::string& out, uint32_t serial, const std::vector<std::string_view>& buffers);

// ------------------------------------------------------------ handshake

struct HandshakeRequest {
    Md5 client_hash{};
    bool has_client_protocol = false;
    std::string_view client_protocol;
    Md5 server_hash{};
};
struct HandshakeResponse {
    Match match = Match::both;
    bool has_server_protocol = false;
    std::string server_protocol;
    bool has_server_hash = false;
    Md5 server_hash{};
};

bool read_handshake_request(Reader& r, HandshakeRequest* out);
bool read_handshake_response(Reader& r, HandshakeResponse* out);
// meta: an empty map (`02 00`), as Flume's client sends.
void put_handshake_request(std::string& out, const Md5& client_hash, std::string_view client_protocol,
                           const Md5& server_hash);
void put_handshake_response(std::string& out, Match match);  // CLIENT/NONE carry sluice's text and hash

// The server side of the handshake, per connection. Learned client
// protocols are remembered by the caller's `learned` list (per source).
struct ServerHandshake {
    bool established = false;
    // Answers one request's handshake: the bytes of the response's handshake
    // part, and whether the call may run (false on NONE). A client protocol
    // text that is not Flume's protocol is an error.
    Status answer(const HandshakeRequest& req, std::vector<Md5>& learned, std::string* reply, bool* run_call);
};

// ------------------------------------------------------------ calls

enum class Method { ping, append, append_batch };

// Decodes one request message after its handshake part: meta, name and
// parameters. Events are added to *batch (headers and body copied).
// `max_events`: more events than this in one call is an error (the limit of
// what one message can hold anyway is its size).
bool read_call(Reader& r, Method* method, EventBatch* batch, std::string* error);

// A response pack from the server: [handshake part] [meta] [error flag + status].
void put_response_pack(std::string& out, uint32_t serial, std::string_view handshake, CallStatus status);
// A handshake-only response pack (NONE, or a ping).
void put_handshake_only_pack(std::string& out, uint32_t serial, std::string_view handshake);

// The client side: a request message (not framed) for appendBatch of `events`.
void put_append_batch(std::string& out, const std::vector<EventSpan>& events);

// Decodes a response message. `expect_handshake`: the connection is not
// established yet. On a NONE response *hs says so and *has_status is false.
struct CallResponse {
    bool has_handshake = false;
    HandshakeResponse handshake;
    bool has_status = false;
    CallStatus status = CallStatus::unknown;
    std::string error;  // when the server answered with an error
};
bool read_call_response(std::string_view message, bool expect_handshake, CallResponse* out);

// ------------------------------------------------------------ deflate

// One direction of a deflate connection: a zlib stream over the whole
// connection, sync-flushed after each write.
class Deflater {
public:
    explicit Deflater(int level);
    ~Deflater();
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;
    // Appends the compressed form of `in`, ending with a sync flush.
    void write(std::string_view in, std::string& out);

private:
    z_stream _z{};
};

class Inflater {
public:
    // `max_output`: inflating more than this from one call is an error (a
    // zip bomb cannot make a connection hold unbounded memory).
    explicit Inflater(size_t max_output);
    ~Inflater();
    Inflater(const Inflater&) = delete;
    Inflater& operator=(const Inflater&) = delete;
    // Appends what `in` inflates to; false (with *error) on a corrupt stream.
    bool read(std::string_view in, std::string& out, std::string* error);

private:
    z_stream _z{};
    size_t _max_output;
    bool _ended = false;
};

}  // namespace sluice::avro
