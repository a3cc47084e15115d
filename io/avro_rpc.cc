// SPDX-License-Identifier: Apache-2.0
#include "io/avro_rpc.h"

#include <cstring>

namespace sluice::avro {

const Md5 flume1_hash = {0x86, 0xaa, 0xda, 0xe2, 0xc4, 0x54, 0x74, 0xc0,
                         0xfe, 0x93, 0xff, 0xd0, 0xf2, 0x35, 0x0a, 0x65};
const Md5 flume2_hash = {0x80, 0x76, 0xc5, 0x37, 0x14, 0xe0, 0x1f, 0x6e,
                         0x2c, 0x1d, 0xeb, 0x95, 0x44, 0xe7, 0xb1, 0xfe};
const Md5 sluice_hash = {0x30, 0xda, 0x54, 0x05, 0x9d, 0xf7, 0x2d, 0x95,
                         0x84, 0xb8, 0x67, 0xd5, 0x20, 0x2e, 0x20, 0x69};

std::string_view protocol_text() {
    return R"({"protocol":"AvroSourceProtocol","namespace":"org.apache.flume.source.avro","types":[{"type":"enum","name":"Status","symbols":["OK","FAILED","UNKNOWN"]},{"type":"record","name":"AvroFlumeEvent","fields":[{"name":"headers","type":{"type":"map","values":"string"}},{"name":"body","type":"bytes"}]}],"messages":{"append":{"request":[{"name":"event","type":"AvroFlumeEvent"}],"response":"Status"},"appendBatch":{"request":[{"name":"events","type":{"type":"array","items":"AvroFlumeEvent"}}],"response":"Status"}}})";
}

bool is_known_hash(const Md5& h) { return h == flume1_hash || h == flume2_hash || h == sluice_hash; }

// ------------------------------------------------------------ encoding

void put_long(std::string& out, int64_t v) {
    uint64_t z = (uint64_t(v) << 1) ^ uint64_t(v >> 63);
    char buf[10];
    size_t n = 0;
    while (z >= 0x80) {
        buf[n++] = char((z & 0x7f) | 0x80);
        z >>= 7;
    }
    buf[n++] = char(z);
    out.append(buf, n);
}

void put_bytes(std::string& out, std::string_view s) {
    put_long(out, int64_t(s.size()));
    out.append(s);
}

void put_int32_be(std::string& out, uint32_t v) {
    char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out.append(b, 4);
}

void put_event(std::string& out, const EventView& e) {
    uint32_t headers = e.header_count();
    if (headers > 0) {
        put_long(out, headers);
        for (uint32_t i = 0; i < headers; i++) {
            Header h = e.header(i);
            put_bytes(out, h.key);
            put_bytes(out, h.value);
        }
    }
    out += '\0';
    put_bytes(out, e.body());
}

bool Reader::get_long(int64_t* v) {
    if (!_ok) return false;
    uint64_t z = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (_p == _end) return fail();
        uint8_t b = uint8_t(*_p++);
        z |= uint64_t(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = int64_t(z >> 1) ^ -int64_t(z & 1);
            return true;
        }
    }
    return fail();  // more than 10 bytes
}

bool Reader::get_bool(bool* v) {
    if (!_ok || _p == _end) return fail();
    uint8_t b = uint8_t(*_p++);
    if (b > 1) return fail();
    *v = b == 1;
    return true;
}

bool Reader::get_bytes(std::string_view* v) {
    int64_t len = 0;
    if (!get_long(&len)) return false;
    if (len < 0 || uint64_t(len) > left()) return fail();
    *v = std::string_view(_p, size_t(len));
    _p += len;
    return true;
}

bool Reader::get_fixed16(Md5* v) {
    if (!_ok || left() < 16) return fail();
    std::memcpy(v->data(), _p, 16);
    _p += 16;
    return true;
}

bool Reader::get_block(int64_t* count, size_t min_item_bytes) {
    if (!get_long(count)) return false;
    if (*count < 0) {
        if (*count == INT64_MIN) return fail();
        *count = -*count;
        int64_t size = 0;
        if (!get_long(&size) || size < 0) return fail();
    }
    if (min_item_bytes > 0 && uint64_t(*count) > left() / min_item_bytes) return fail();
    return true;
}

bool Reader::skip_bytes_map() {
    for (;;) {
        int64_t n = 0;
        if (!get_block(&n, 2)) return false;
        if (n == 0) return true;
        for (int64_t i = 0; i < n; i++) {
            std::string_view k, v;
            if (!get_bytes(&k) || !get_bytes(&v)) return false;
        }
    }
}

// ------------------------------------------------------------ framing

namespace {
uint32_t be32(const char* p) {
    auto u = reinterpret_cast<const uint8_t*>(p);
    return uint32_t(u[0]) << 24 | uint32_t(u[1]) << 16 | uint32_t(u[2]) << 8 | u[3];
}
}  // namespace

FrameDecoder::Next FrameDecoder::next(uint32_t* serial, std::string* message, std::string* error) {
    // Compact what earlier frames used up, once it is worth the move.
    if (_pos > 0 && (_pos == _in.size() || _pos > 65536)) {
        _in.erase(0, _pos);
        _pos = 0;
    }
    const char* p = _in.data() + _pos;
    size_t avail = _in.size() - _pos;
    if (avail < 8) return Next::need_more;
    uint32_t n = be32(p + 4);
    if (uint64_t(n) * 4 > _max_frame) {
        *error = "a pack announces " + std::to_string(n) + " buffers (limit: max-frame-size " +
                 std::to_string(_max_frame) + " bytes)";
        return Next::error;
    }
    // Walk the buffer headers that are there; the message is complete when all are.
    size_t off = 8;
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (avail < off + 4) return Next::need_more;
        uint32_t len = be32(p + off);
        total += len;
        if (total + uint64_t(n) * 4 > _max_frame) {
            *error = "a pack exceeds max-frame-size (" + std::to_string(_max_frame) + " bytes)";
            return Next::error;
        }
        off += 4;
        if (avail < off + len) return Next::need_more;
        off += len;
    }
    *serial = be32(p);
    message->clear();
    message->reserve(size_t(total));
    size_t at = 8;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t len = be32(p + at);
        message->append(p + at + 4, len);
        at += 4 + len;
    }
    _pos += off;
    return Next::frame;
}

void put_pack(std::string& out, uint32_t serial, const std::vector<std::string_view>& buffers) {
    put_int32_be(out, serial);
    put_int32_be(out, uint32_t(buffers.size()));
    for (auto b : buffers) {
        put_int32_be(out, uint32_t(b.size()));
        out.append(b);
    }
}

// ------------------------------------------------------------ handshake

bool read_handshake_request(Reader& r, HandshakeRequest* out) {
    int64_t branch = 0;
    if (!r.get_fixed16(&out->client_hash) || !r.get_long(&branch)) return false;
    if (branch == 1) {
        out->has_client_protocol = true;
        if (!r.get_bytes(&out->client_protocol)) return false;
    } else if (branch != 0) {
        return r.fail();
    }
    if (!r.get_fixed16(&out->server_hash) || !r.get_long(&branch)) return false;
    if (branch == 1) return r.skip_bytes_map();
    if (branch != 0) return r.fail();
    return true;
}

bool read_handshake_response(Reader& r, HandshakeResponse* out) {
    int64_t match, branch;
    if (!r.get_long(&match) || match < 0 || match > 2) return r.fail();
    out->match = Match(match);
    if (!r.get_long(&branch)) return false;
    if (branch == 1) {
        std::string_view text;
        if (!r.get_bytes(&text)) return false;
        out->has_server_protocol = true;
        out->server_protocol.assign(text);
    } else if (branch != 0) {
        return r.fail();
    }
    if (!r.get_long(&branch)) return false;
    if (branch == 1) {
        out->has_server_hash = true;
        if (!r.get_fixed16(&out->server_hash)) return false;
    } else if (branch != 0) {
        return r.fail();
    }
    if (!r.get_long(&branch)) return false;
    if (branch == 1) return r.skip_bytes_map();
    if (branch != 0) return r.fail();
    return true;
}

void put_handshake_request(std::string& out, const Md5& client_hash, std::string_view client_protocol,
                           const Md5& server_hash) {
    out.append(reinterpret_cast<const char*>(client_hash.data()), 16);
    if (client_protocol.empty()) {
        out += '\0';
    } else {
        out += '\x02';
        put_bytes(out, client_protocol);
    }
    out.append(reinterpret_cast<const char*>(server_hash.data()), 16);
    out += "\x02";  // meta: the map branch ...
    out += '\0';    // ... an empty map
}

void put_handshake_response(std::string& out, Match match) {
    put_long(out, int64_t(match));
    if (match == Match::both) {
        out.append(3, '\0');  // serverProtocol, serverHash, meta: null
        return;
    }
    out += '\x02';
    put_bytes(out, protocol_text());
    out += '\x02';
    out.append(reinterpret_cast<const char*>(sluice_hash.data()), 16);
    out += '\0';
}

Status ServerHandshake::answer(const HandshakeRequest& req, std::vector<Md5>& learned, std::string* reply,
                               bool* run_call) {
    bool client_known = is_known_hash(req.client_hash);
    for (const auto& h : learned)
        if (h == req.client_hash) client_known = true;
    if (!client_known && req.has_client_protocol) {
        // A client protocol is acceptable if it is Flume's (any doc, any
        // version): what matters is the messages and the record it declares.
        auto t = req.client_protocol;
        if (t.find("\"appendBatch\"") == std::string_view::npos ||
            t.find("\"AvroFlumeEvent\"") == std::string_view::npos)
            return Status(errc::corrupt, "the client's protocol is not Flume's AvroSourceProtocol");
        if (learned.size() < 64) learned.push_back(req.client_hash);
        client_known = true;
    }
    reply->clear();
    if (!client_known) {
        put_handshake_response(*reply, Match::none);
        *run_call = false;
        return Status::ok();
    }
    put_handshake_response(*reply, is_known_hash(req.server_hash) ? Match::both : Match::client);
    established = true;
    *run_call = true;
    return Status::ok();
}

// ------------------------------------------------------------ calls

namespace {

bool read_event(Reader& r, EventBatch* batch, std::vector<std::pair<std::string_view, std::string_view>>& headers) {
    headers.clear();
    for (;;) {
        int64_t n = 0;
        if (!r.get_block(&n, 2)) return false;
        if (n == 0) break;
        for (int64_t i = 0; i < n; i++) {
            std::string_view k, v;
            if (!r.get_bytes(&k) || !r.get_bytes(&v)) return false;
            headers.emplace_back(k, v);
        }
    }
    std::string_view body;
    if (!r.get_bytes(&body)) return false;
    batch->add(body);
    for (auto& [k, v] : headers) batch->add_header(k, v);
    return true;
}

}  // namespace

bool read_call(Reader& r, Method* method, EventBatch* batch, std::string* error) {
    std::string_view name;
    if (!r.skip_bytes_map() || !r.get_bytes(&name)) {
        *error = "a call's meta or message name does not decode";
        return false;
    }
    std::vector<std::pair<std::string_view, std::string_view>> headers;
    if (name.empty()) {
        *method = Method::ping;
    } else if (name == "append") {
        *method = Method::append;
        if (!read_event(r, batch, headers)) {
            *error = "an append's event does not decode";
            return false;
        }
    } else if (name == "appendBatch") {
        *method = Method::append_batch;
        for (;;) {
            int64_t n = 0;
            if (!r.get_block(&n, 2)) {
                *error = "an appendBatch's array does not decode";
                return false;
            }
            if (n == 0) break;
            for (int64_t i = 0; i < n; i++) {
                if (!read_event(r, batch, headers)) {
                    *error = "an appendBatch's event does not decode";
                    return false;
                }
            }
        }
    } else {
        *error = "unknown message '" + std::string(name.substr(0, 64)) + "'";
        return false;
    }
    if (r.left() != 0) {
        *error = std::to_string(r.left()) + " bytes left over after the call's parameters";
        return false;
    }
    return true;
}

void put_response_pack(std::string& out, uint32_t serial, std::string_view handshake, CallStatus status) {
    static const char meta = '\0';
    const char result[2] = {'\0', char(uint8_t(status) * 2)};
    put_pack(out, serial, {handshake, std::string_view(&meta, 1), std::string_view(result, 2)});
}

void put_handshake_only_pack(std::string& out, uint32_t serial, std::string_view handshake) {
    put_pack(out, serial, {handshake});
}

void put_append_batch(std::string& out, const std::vector<EventSpan>& events) {
    out += '\0';  // meta
    put_bytes(out, "appendBatch");
    uint64_t n = 0;
    for (const auto& s : events) n += s.size();
    if (n > 0) {
        put_long(out, int64_t(n));
        for (const auto& s : events)
            for (uint32_t i = 0; i < s.size(); i++) put_event(out, s[i]);
    }
    out += '\0';
}

bool read_call_response(std::string_view message, bool expect_handshake, CallResponse* out) {
    Reader r(message);
    if (expect_handshake) {
        out->has_handshake = true;
        if (!read_handshake_response(r, &out->handshake)) return false;
        if (out->handshake.match == Match::none) {
            out->has_status = false;
            return true;  // nothing else follows
        }
        if (r.left() == 0) return true;  // a ping's answer
    }
    bool is_error;
    if (!r.skip_bytes_map() || !r.get_bool(&is_error)) return false;
    if (is_error) {
        int64_t branch = 0;
        std::string_view text;
        if (!r.get_long(&branch) || branch != 0 || !r.get_bytes(&text)) return false;
        out->error.assign(text);
        out->has_status = true;
        out->status = CallStatus::failed;
        return r.left() == 0;
    }
    int64_t s = 0;
    if (!r.get_long(&s) || s < 0 || s > 2) return false;
    out->has_status = true;
    out->status = CallStatus(s);
    return r.left() == 0;
}

// ------------------------------------------------------------ deflate

Deflater::Deflater(int level) { deflateInit(&_z, level); }
Deflater::~Deflater() { deflateEnd(&_z); }

void Deflater::write(std::string_view in, std::string& out) {
    _z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    _z.avail_in = uInt(in.size());
    size_t start = out.size();
    out.resize(start + deflateBound(&_z, uLong(in.size())) + 16);
    size_t used = start;
    for (;;) {
        _z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        _z.avail_out = uInt(out.size() - used);
        ::deflate(&_z, Z_SYNC_FLUSH);
        used = out.size() - _z.avail_out;
        if (_z.avail_in == 0 && _z.avail_out > 0) break;
        out.resize(out.size() * 2);
    }
    out.resize(used);
}

Inflater::Inflater(size_t max_output) : _max_output(max_output) { inflateInit(&_z); }
Inflater::~Inflater() { inflateEnd(&_z); }

bool Inflater::read(std::string_view in, std::string& out, std::string* error) {
    if (_ended) {
        if (in.empty()) return true;
        *error = "data after the end of the deflate stream";
        return false;
    }
    _z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    _z.avail_in = uInt(in.size());
    size_t start = out.size();
    for (;;) {
        size_t used = out.size();
        if (used - start >= _max_output) {
            *error = "a deflate read inflates to more than " + std::to_string(_max_output) + " bytes";
            return false;
        }
        out.resize(used + std::max<size_t>(in.size() * 4, 16384));
        _z.next_out = reinterpret_cast<Bytef*>(out.data() + used);
        _z.avail_out = uInt(out.size() - used);
        int rc = ::inflate(&_z, Z_SYNC_FLUSH);
        bool room_left = _z.avail_out > 0;
        out.resize(out.size() - _z.avail_out);
        if (rc == Z_STREAM_END) {
            _ended = true;
            if (_z.avail_in > 0) {
                *error = "data after the end of the deflate stream";
                return false;
            }
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            *error = std::string("corrupt deflate stream: ") + (_z.msg ? _z.msg : "inflate failed");
            return false;
        }
        // Done when the input is used up and zlib holds nothing back (it
        // stopped with output room to spare).
        if (_z.avail_in == 0 && room_left) break;
    }
    return true;
}

}  // namespace sluice::avro
