// SPDX-License-Identifier: Apache-2.0
// The durable segment format (docs/durable-format.md, io/segment_log.*):
// CRC32C, segment headers, events and take records, the recovery scanner,
// checkpoints, and segment files on disk.
#include "io/segment_log.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "io/atomic_file.h"

namespace sluice::seglog {
namespace {

// A bit-at-a-time CRC32C, independent of the implementation under test.
uint32_t reference_crc32c(std::string_view s) {
    uint32_t c = 0xFFFFFFFFu;
    for (unsigned char b : s) {
        c ^= b;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

uint32_t crc_of(std::string_view s) { return crc32c(0, s.data(), s.size()); }

template <typename T>
T read_le(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
template <typename T>
void write_le(char* p, T v) {
    std::memcpy(p, &v, sizeof v);
}

// A temporary directory, removed with everything in it at the end of a test.
class TempDir {
public:
    TempDir() {
        char tmpl[] = "/tmp/sluice-seglog-XXXXXX";
        const char* made = mkdtemp(tmpl);
        EXPECT_NE(made, nullptr);
        _path = made ? made : "";
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(_path, ec);
    }
    const std::string& path() const { return _path; }

private:
    std::string _path;
};

void touch(const std::string& path) { std::ofstream(path) << "x"; }

// ------------------------------------------------------------------ CRC32C

TEST(Crc32c, StandardCheckValue) {
    EXPECT_EQ(crc_of("123456789"), 0xE3069283u);
    EXPECT_EQ(reference_crc32c("123456789"), 0xE3069283u);
}

TEST(Crc32c, KnownVectors) {
    EXPECT_EQ(crc_of(""), 0u);
    // RFC 3720 (iSCSI) B.4: 32 bytes of zeros, 32 bytes of 0xFF, 0..31.
    EXPECT_EQ(crc_of(std::string(32, '\0')), 0x8A9136AAu);
    EXPECT_EQ(crc_of(std::string(32, '\xFF')), 0x62A8AB43u);
    std::string ascending;
    for (int i = 0; i < 32; i++) ascending.push_back(char(i));
    EXPECT_EQ(crc_of(ascending), 0x46DD794Eu);
}

TEST(Crc32c, AnySplitGivesTheSameResult) {
    std::string data;
    for (int i = 0; i < 300; i++) data.push_back(char((i * 131 + 7) & 0xff));
    const uint32_t whole = crc_of(data);
    EXPECT_EQ(whole, reference_crc32c(data));
    for (size_t split = 0; split <= data.size(); split++) {
        uint32_t a = crc32c(0, data.data(), split);
        EXPECT_EQ(crc32c(a, data.data() + split, data.size() - split), whole) << "split at " << split;
    }
    // Unaligned starts and every length up to 40 (the 8-byte loop and its tail).
    for (size_t start = 0; start < 8; start++)
        for (size_t len = 0; len <= 40; len++)
            EXPECT_EQ(crc32c(0, data.data() + start, len), reference_crc32c(std::string_view(data).substr(start, len)))
                << start << "+" << len;
}

// --------------------------------------------------------- segment header

SegmentHeader sample_header(uint64_t file_size = 8192) {
    SegmentHeader h;
    h.chain = 3;
    h.index = 0x0102030405060708ull;
    h.first_seq = 1234567;
    h.file_size = file_size;
    h.state = segment_state::live;
    return h;
}

std::string encoded_header(const SegmentHeader& h) {
    std::string b(h.file_size, '\0');
    encode_header(h, b.data());
    return b;
}

// Rewrites the header CRC after a field was changed on purpose.
void reseal_header(std::string& b) { write_le<uint32_t>(b.data() + 44, crc32c(0, b.data(), 44)); }

TEST(SegmentHeader, RoundTripAndLayout) {
    for (segment_state st : {segment_state::live, segment_state::free}) {
        SegmentHeader h = sample_header();
        h.state = st;
        std::string b = encoded_header(h);
        EXPECT_EQ(b.substr(0, 8), "SLUICSEG");
        EXPECT_EQ(read_le<uint32_t>(b.data() + 8), 1u);
        EXPECT_EQ(read_le<uint32_t>(b.data() + 12), 3u);
        EXPECT_EQ(read_le<uint64_t>(b.data() + 16), h.index);
        EXPECT_EQ(read_le<uint64_t>(b.data() + 24), 1234567u);
        EXPECT_EQ(read_le<uint64_t>(b.data() + 32), 8192u);
        EXPECT_EQ(read_le<uint32_t>(b.data() + 40), uint32_t(st));
        EXPECT_EQ(read_le<uint32_t>(b.data() + 44), crc32c(0, b.data(), 44));
        for (size_t i = 48; i < header_size; i++) ASSERT_EQ(b[i], 0) << i;

        SegmentHeader got;
        ASSERT_TRUE(decode_header(b, got)) << decode_header(b, got).message();
        EXPECT_EQ(got.chain, h.chain);
        EXPECT_EQ(got.index, h.index);
        EXPECT_EQ(got.first_seq, h.first_seq);
        EXPECT_EQ(got.file_size, h.file_size);
        EXPECT_EQ(got.state, st);
    }
}

void expect_rejected(const std::string& b, const std::string& why) {
    SegmentHeader got;
    Status st = decode_header(b, got);
    EXPECT_FALSE(st);
    EXPECT_EQ(st.code(), errc::corrupt);
    EXPECT_NE(st.message().find(why), std::string::npos) << "message: " << st.message();
}

TEST(SegmentHeader, EachCorruptionIsRejectedWithAMessage) {
    const std::string good = encoded_header(sample_header());
    {
        std::string b = good;
        b[3] = 'X';
        reseal_header(b);
        expect_rejected(b, "bad magic");
    }
    for (size_t i = 8; i < 48; i++) {  // any flipped bit of the fields or the CRC itself
        std::string b = good;
        b[i] ^= 0x10;
        expect_rejected(b, "CRC mismatch");
    }
    {
        std::string b = good;
        write_le<uint32_t>(b.data() + 8, 2);
        reseal_header(b);
        expect_rejected(b, "version 2 unknown");
    }
    for (uint32_t state : {0u, 3u, 0xFFFFFFFFu}) {
        std::string b = good;
        write_le<uint32_t>(b.data() + 40, state);
        reseal_header(b);
        expect_rejected(b, "state " + std::to_string(state) + " unknown");
    }
    expect_rejected(good.substr(0, header_size - 1), "shorter than a segment header");
}

// A truncated (or extended) file still decodes: recovery scans what is there
// and warns about the size (io/file_channel.cc).
TEST(SegmentHeader, SizeMismatchDecodesWithTheHeadersSize) {
    const std::string good = encoded_header(sample_header());
    for (const std::string& b : {good + std::string(8, '\0'), good.substr(0, 4096)}) {
        SegmentHeader h;
        ASSERT_TRUE(decode_header(b, h).is_ok()) << b.size();
        EXPECT_EQ(h.file_size, 8192u);
    }
}

// ------------------------------------------------------------------ records

// Events: one with headers and a body, one with an empty body and no headers,
// one with binary bytes (NULs, high bytes) in a header and the body.
std::shared_ptr<EventBatch> sample_batch() {
    auto b = std::make_shared<EventBatch>();
    b->add("hello world");
    b->add_header("host", "web-1");
    b->add_header("timestamp", "1700000000000");
    b->add("");
    b->add(std::string_view("\0\x01\xFF\x80zz\n", 7));
    b->add_header(std::string_view("k\0y", 3), std::string_view("\xFE\0", 2));
    b->add("last");
    b->add_header("", "");
    return b;
}

void expect_same_events(const EventBatch& got, uint32_t got_from, const EventBatch& want, uint32_t want_from,
                        uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        EventView g = got[got_from + i], w = want[want_from + i];
        EXPECT_EQ(g.body(), w.body()) << i;
        ASSERT_EQ(g.header_count(), w.header_count()) << i;
        for (uint32_t h = 0; h < g.header_count(); h++) {
            EXPECT_EQ(g.header(h).key, w.header(h).key) << i << "/" << h;
            EXPECT_EQ(g.header(h).value, w.header(h).value) << i << "/" << h;
        }
    }
}

// A buffer laid out as a segment: a header page, then records appended as
// the writer does (8-aligned, 8 zero bytes after each, length written last).
struct SegmentBuffer {
    explicit SegmentBuffer(uint64_t index, uint64_t first_seq = 100, size_t size = 16384)
        : index(index), bytes(size, '\0') {
        SegmentHeader h;
        h.index = index;
        h.first_seq = first_seq;
        h.file_size = size;
        encode_header(h, bytes.data());
    }
    // Returns the offset of the record.
    uint64_t add_events(uint64_t seq, int64_t time_ms, const std::vector<EventSpan>& spans) {
        uint32_t count = 0;
        for (const auto& s : spans) count += s.size();
        uint64_t len = events_record_length(spans);
        uint64_t at = end;
        EXPECT_LE(at + len + 8, bytes.size());
        write_events_record(bytes.data() + at, index, seq, time_ms, spans, count, uint32_t(len));
        end = align8(at + len);
        return at;
    }
    uint64_t add_take(const std::vector<SeqRange>& ranges) {
        uint64_t at = end;
        write_take_record(bytes.data() + at, index, ranges);
        end = align8(at + take_record_length(ranges.size()));
        return at;
    }
    uint64_t index;
    std::string bytes;
    uint64_t end = header_size;
};

struct Scanned {
    ScanEnd end;
    std::vector<Record> records;
    uint64_t next_seq = 0;
};

Scanned scan(std::string_view bytes, uint64_t index, uint64_t first_seq, uint64_t from = header_size) {
    Scanned s;
    s.next_seq = first_seq;
    s.end = scan_segment(bytes, index, from, s.next_seq, [&](const Record& r) { s.records.push_back(r); });
    return s;
}

TEST(Records, EventsRecordLayout) {
    auto batch = sample_batch();
    std::vector<EventSpan> spans{{batch, 0, 2}};
    // 32 header + (8 + 11 + 8+4+5 + 8+9+13) + (8 + 0)
    EXPECT_EQ(events_record_length(spans), 32u + 66u + 8u);
    std::string buf(events_record_length(spans), '\x55');
    write_events_record(buf.data(), 9, 500, 1700000000123, spans, 2, uint32_t(buf.size()));
    EXPECT_EQ(read_le<uint32_t>(buf.data()), buf.size());
    EXPECT_EQ(buf[8], 1);
    EXPECT_EQ(buf.substr(9, 3), std::string(3, '\0'));
    EXPECT_EQ(read_le<uint32_t>(buf.data() + 12), 2u);
    EXPECT_EQ(read_le<uint64_t>(buf.data() + 16), 500u);
    EXPECT_EQ(read_le<int64_t>(buf.data() + 24), 1700000000123);
    // The CRC is seeded with the segment index (8 bytes), then bytes 8.. of the record.
    std::string seeded(8, '\0');
    write_le<uint64_t>(seeded.data(), 9);
    EXPECT_EQ(read_le<uint32_t>(buf.data() + 4), reference_crc32c(seeded + buf.substr(8)));
    // First event: 2 headers, body of 11, then key/value pairs, then the body.
    EXPECT_EQ(read_le<uint32_t>(buf.data() + 32), 2u);
    EXPECT_EQ(read_le<uint32_t>(buf.data() + 36), 11u);
    EXPECT_EQ(read_le<uint32_t>(buf.data() + 40), 4u);
    EXPECT_EQ(buf.substr(44, 4), "host");
    EXPECT_EQ(buf.substr(buf.size() - 8 - 11, 11), "hello world");  // then the empty event
}

TEST(Records, EventsRoundTripThroughTheScanner) {
    auto batch = sample_batch();
    SegmentBuffer seg(5, 100);
    // Several spans in one record (one of them the whole batch), then a
    // second record of one span, then a take with several ranges.
    seg.add_events(100, 1700000000001, {{batch, 0, 1}, {batch, 1, 3}, {batch, 3, 4}});
    seg.add_events(104, 1700000000002, {{batch, 0, 4}});
    seg.add_take({{100, 3}, {103, 1}, {104, 4}});
    seg.add_events(108, 1700000000003, {{batch, 1, 2}});  // one event, empty body

    Scanned s = scan(seg.bytes, 5, 100);
    EXPECT_EQ(s.end.bad, "");
    EXPECT_FALSE(s.end.data_after);
    EXPECT_EQ(s.end.offset, seg.end);
    EXPECT_EQ(s.next_seq, 109u);
    ASSERT_EQ(s.records.size(), 4u);

    const Record& r0 = s.records[0];
    EXPECT_EQ(r0.offset, header_size);
    EXPECT_EQ(r0.type, record_type::events);
    EXPECT_EQ(r0.count, 4u);
    EXPECT_EQ(r0.seq, 100u);
    EXPECT_EQ(r0.time_ms, 1700000000001);
    EXPECT_EQ(r0.payload.size(), r0.length - record_header_size);
    EXPECT_EQ(r0.payload.data(), seg.bytes.data() + header_size + record_header_size);

    EventBatch got;
    size_t off = 0;
    ASSERT_TRUE(decode_events(r0.payload, off, r0.count, got));
    EXPECT_EQ(off, r0.payload.size());
    ASSERT_EQ(got.size(), 4u);
    expect_same_events(got, 0, *batch, 0, 4);

    size_t skipped = 0;
    ASSERT_TRUE(skip_events(r0.payload, skipped, r0.count));
    EXPECT_EQ(skipped, r0.payload.size());
    // Decoding event by event lands where skipping does.
    size_t one = 0, by_skip = 0;
    EventBatch each;
    for (uint32_t i = 0; i < r0.count; i++) {
        ASSERT_TRUE(decode_events(r0.payload, one, 1, each));
        ASSERT_TRUE(skip_events(r0.payload, by_skip, 1));
        EXPECT_EQ(one, by_skip);
    }

    const Record& r1 = s.records[1];
    EXPECT_EQ(r1.offset, align8(header_size + r0.length));
    EXPECT_EQ(r1.seq, 104u);
    EXPECT_EQ(r1.time_ms, 1700000000002);
    off = 0;
    ASSERT_TRUE(decode_events(r1.payload, off, r1.count, got));  // appends
    ASSERT_EQ(got.size(), 8u);
    expect_same_events(got, 4, *batch, 0, 4);

    const Record& r2 = s.records[2];
    EXPECT_EQ(r2.type, record_type::take);
    EXPECT_EQ(r2.count, 3u);
    EXPECT_EQ(r2.seq, 0u);
    EXPECT_EQ(r2.time_ms, 0);
    EXPECT_EQ(r2.length, take_record_length(3));
    std::vector<SeqRange> ranges;
    ASSERT_TRUE(decode_take(r2, ranges));
    ASSERT_EQ(ranges.size(), 3u);
    EXPECT_EQ(ranges[0].first, 100u);
    EXPECT_EQ(ranges[0].n, 3u);
    EXPECT_EQ(ranges[1].first, 103u);
    EXPECT_EQ(ranges[1].n, 1u);
    EXPECT_EQ(ranges[2].first, 104u);
    EXPECT_EQ(ranges[2].n, 4u);
    std::vector<SeqRange> none;
    EXPECT_FALSE(decode_take(r0, none));  // not a take record

    const Record& r3 = s.records[3];
    EXPECT_EQ(r3.seq, 108u);
    EventBatch empty_body;
    off = 0;
    ASSERT_TRUE(decode_events(r3.payload, off, 1, empty_body));
    ASSERT_EQ(empty_body.size(), 1u);
    EXPECT_EQ(empty_body[0].body(), "");
    EXPECT_EQ(empty_body[0].header_count(), 0u);
}

TEST(Records, TruncatedPayloadsDoNotDecode) {
    auto batch = sample_batch();
    std::vector<EventSpan> spans{{batch, 0, 4}};
    std::string buf(events_record_length(spans), '\0');
    write_events_record(buf.data(), 1, 0, 0, spans, 4, uint32_t(buf.size()));
    std::string_view payload = std::string_view(buf).substr(record_header_size);
    for (size_t cut = 0; cut < payload.size(); cut++) {
        EventBatch b;
        size_t off = 0, skip = 0;
        EXPECT_FALSE(decode_events(payload.substr(0, cut), off, 4, b)) << cut;
        EXPECT_FALSE(skip_events(payload.substr(0, cut), skip, 4)) << cut;
    }
    // More events than the payload holds.
    EventBatch b;
    size_t off = 0, skip = 0;
    EXPECT_FALSE(decode_events(payload, off, 5, b));
    EXPECT_FALSE(skip_events(payload, skip, 5));
    // Lengths near 2^32 do not wrap around.
    std::string evil(16, '\0');
    write_le<uint32_t>(evil.data(), 1);              // one header
    write_le<uint32_t>(evil.data() + 8, 0xFFFFFFFF);  // key length
    EventBatch e;
    off = skip = 0;
    EXPECT_FALSE(decode_events(evil, off, 1, e));
    EXPECT_FALSE(skip_events(evil, skip, 1));
    // A header count whose double wraps around in 32 bits (2 * 0x80000002
    // is 4): decoding fails, and skipping must not step over 4 strings.
    std::string wrap(payload.substr(0, 8 + 4 + 4 + 4 + 5 + 4 + 9 + 4 + 13 + 11));
    ASSERT_EQ(read_le<uint32_t>(wrap.data()), 2u);
    write_le<uint32_t>(wrap.data(), 0x80000002u);
    EventBatch w;
    off = skip = 0;
    EXPECT_FALSE(decode_events(wrap, off, 1, w));
    EXPECT_FALSE(skip_events(wrap, skip, 1));
    write_le<uint32_t>(evil.data(), 0);
    write_le<uint32_t>(evil.data() + 4, 0xFFFFFFF8);  // body length
    off = skip = 0;
    EXPECT_FALSE(decode_events(evil, off, 1, e));
    EXPECT_FALSE(skip_events(evil, skip, 1));
}

// ------------------------------------------------------------------ scanner

TEST(Scanner, StopsCleanlyAtAZeroLength) {
    SegmentBuffer seg(1, 0);
    Scanned empty = scan(seg.bytes, 1, 0);
    EXPECT_EQ(empty.end.offset, header_size);
    EXPECT_EQ(empty.end.bad, "");
    EXPECT_FALSE(empty.end.data_after);
    EXPECT_TRUE(empty.records.empty());

    auto batch = sample_batch();
    seg.add_events(0, 1, {{batch, 0, 2}});
    uint64_t end = seg.end;
    // What lies after a zero length (an old life's records) is not read.
    std::memset(seg.bytes.data() + end + 8, 0xAB, 64);
    Scanned s = scan(seg.bytes, 1, 0);
    EXPECT_EQ(s.records.size(), 1u);
    EXPECT_EQ(s.end.offset, end);
    EXPECT_EQ(s.end.bad, "");
    EXPECT_EQ(s.next_seq, 2u);

    // No room for another record header at the very end of the file.
    std::string tight = seg.bytes.substr(0, end + record_header_size - 1);
    std::memset(tight.data() + end, 0xAB, tight.size() - end);
    Scanned t = scan(tight, 1, 0);
    EXPECT_EQ(t.records.size(), 1u);
    EXPECT_EQ(t.end.offset, end);
    EXPECT_EQ(t.end.bad, "");
    // A scan that starts past the end finds nothing.
    Scanned past = scan(seg.bytes, 1, 0, seg.bytes.size() + 100);
    EXPECT_TRUE(past.records.empty());
    EXPECT_EQ(past.end.bad, "");
}

TEST(Scanner, AnyFlippedByteOfARecordMakesItBad) {
    auto batch = sample_batch();
    SegmentBuffer seg(7, 40);
    seg.add_events(40, 99, {{batch, 0, 1}});
    const uint64_t second = seg.add_events(41, 100, {{batch, 1, 3}});
    const uint32_t second_len = read_le<uint32_t>(seg.bytes.data() + second);
    ASSERT_EQ(scan(seg.bytes, 7, 40).records.size(), 2u);

    for (uint32_t i = 0; i < second_len; i++) {
        for (unsigned char bit : {0x01, 0x80}) {
            std::string b = seg.bytes;
            b[second + i] ^= char(bit);
            Scanned s = scan(b, 7, 40);
            // The first record is still delivered; the second is not.
            ASSERT_EQ(s.records.size(), 1u) << "byte " << i;
            EXPECT_EQ(s.end.offset, second) << "byte " << i;
            EXPECT_NE(s.end.bad, "") << "byte " << i;
            EXPECT_TRUE(s.end.data_after) << "byte " << i;
            EXPECT_EQ(s.next_seq, 41u) << "byte " << i;
        }
    }
}

TEST(Scanner, LengthOutOfBounds) {
    auto batch = sample_batch();
    SegmentBuffer seg(2, 0, 8192);
    const uint64_t at = seg.add_events(0, 0, {{batch, 0, 1}});
    for (uint32_t bad : {1u, 8u, 31u, uint32_t(seg.bytes.size() - at + 1), 0xFFFFFFFFu}) {
        std::string b = seg.bytes;
        write_le<uint32_t>(b.data() + at, bad);
        Scanned s = scan(b, 2, 0);
        EXPECT_TRUE(s.records.empty());
        EXPECT_EQ(s.end.offset, at);
        EXPECT_EQ(s.end.bad, "record length " + std::to_string(bad) + " out of bounds");
        EXPECT_TRUE(s.end.data_after);
    }
    // A record that ends exactly at the end of the file is good.
    std::string exact = seg.bytes.substr(0, at + read_le<uint32_t>(seg.bytes.data() + at));
    EXPECT_EQ(scan(exact, 2, 0).records.size(), 1u);
}

TEST(Scanner, WrongSeqIsBad) {
    auto batch = sample_batch();
    SegmentBuffer seg(3, 10);
    seg.add_events(10, 0, {{batch, 0, 2}});
    const uint64_t gap = seg.add_events(13, 0, {{batch, 0, 1}});  // expected 12
    Scanned s = scan(seg.bytes, 3, 10);
    ASSERT_EQ(s.records.size(), 1u);
    EXPECT_EQ(s.end.offset, gap);
    EXPECT_EQ(s.end.bad, "events record seq 13, expected 12");
    EXPECT_TRUE(s.end.data_after);
    EXPECT_EQ(s.next_seq, 12u);
    // The segment's first sequence number is checked too.
    Scanned first = scan(seg.bytes, 3, 9);
    EXPECT_TRUE(first.records.empty());
    EXPECT_EQ(first.end.bad, "events record seq 10, expected 9");
    // Take records carry no seq of their own and do not advance it.
    SegmentBuffer t(3, 10);
    t.add_take({{10, 1}});
    t.add_events(10, 0, {{batch, 0, 1}});
    Scanned ts = scan(t.bytes, 3, 10);
    EXPECT_EQ(ts.records.size(), 2u);
    EXPECT_EQ(ts.end.bad, "");
    EXPECT_EQ(ts.next_seq, 11u);
}

// A record with a good CRC whose header fields are wrong.
void rewrite_and_reseal(std::string& b, uint64_t at, uint64_t index, uint8_t type, uint32_t count) {
    char* p = b.data() + at;
    p[8] = char(type);
    write_le<uint32_t>(p + 12, count);
    uint32_t len = read_le<uint32_t>(p);
    char idx[8];
    write_le<uint64_t>(idx, index);
    write_le<uint32_t>(p + 4, crc32c(crc32c(0, idx, 8), p + 8, len - 8));
}

TEST(Scanner, UnknownTypeIsBad) {
    auto batch = sample_batch();
    for (uint8_t type : {uint8_t(0), uint8_t(3), uint8_t(200)}) {
        SegmentBuffer seg(4, 0);
        const uint64_t at = seg.add_events(0, 0, {{batch, 0, 1}});
        rewrite_and_reseal(seg.bytes, at, 4, type, 1);
        Scanned s = scan(seg.bytes, 4, 0);
        EXPECT_TRUE(s.records.empty());
        EXPECT_EQ(s.end.offset, at);
        EXPECT_EQ(s.end.bad, "record type " + std::to_string(type) + " unknown");
        EXPECT_TRUE(s.end.data_after);
    }
}

TEST(Scanner, TakeRecordWhoseSizeDoesNotMatchItsCount) {
    SegmentBuffer seg(4, 0);
    const uint64_t at = seg.add_take({{0, 1}, {5, 2}});
    rewrite_and_reseal(seg.bytes, at, 4, uint8_t(record_type::take), 3);
    Scanned s = scan(seg.bytes, 4, 0);
    EXPECT_TRUE(s.records.empty());
    EXPECT_EQ(s.end.bad, "take record size does not match its range count");
}

TEST(Scanner, ARecordOfAnotherSegmentIndexIsBad) {
    // Recycling safety: segment 5's records, still in the file after it was
    // recycled as segment 6, are not records of segment 6.
    auto batch = sample_batch();
    SegmentBuffer seg(5, 0);
    seg.add_events(0, 0, {{batch, 0, 4}});
    seg.add_take({{0, 4}});
    EXPECT_EQ(scan(seg.bytes, 5, 0).records.size(), 2u);
    for (uint64_t other : {uint64_t(6), uint64_t(4), uint64_t(5) | (uint64_t(1) << 40)}) {
        Scanned s = scan(seg.bytes, other, 0);
        EXPECT_TRUE(s.records.empty());
        EXPECT_EQ(s.end.offset, header_size);
        EXPECT_EQ(s.end.bad, "record CRC mismatch");
    }
}

// --------------------------------------------------------------- checkpoint

TEST(Checkpoint, RoundTripAndLayout) {
    Checkpoint c;
    c.chain = 2;
    c.low = 987654321;
    c.segment_index = 17;
    c.offset = header_size;
    c.written_ms = 1700000000456;
    std::string b = encode_checkpoint(c);
    ASSERT_EQ(b.size(), checkpoint_size);
    EXPECT_EQ(b.substr(0, 8), "SLUICCKP");
    EXPECT_EQ(read_le<uint32_t>(b.data() + 8), 1u);
    EXPECT_EQ(read_le<uint32_t>(b.data() + 12), 2u);
    EXPECT_EQ(read_le<uint64_t>(b.data() + 16), 987654321u);
    EXPECT_EQ(read_le<uint64_t>(b.data() + 24), 17u);
    EXPECT_EQ(read_le<uint64_t>(b.data() + 32), header_size);
    EXPECT_EQ(read_le<int64_t>(b.data() + 40), 1700000000456);
    EXPECT_EQ(read_le<uint32_t>(b.data() + 48), reference_crc32c(b.substr(0, 48)));

    Checkpoint got;
    ASSERT_TRUE(decode_checkpoint(b, got));
    EXPECT_EQ(got.chain, 2u);
    EXPECT_EQ(got.low, 987654321u);
    EXPECT_EQ(got.segment_index, 17u);
    EXPECT_EQ(got.offset, header_size);
    EXPECT_EQ(got.written_ms, 1700000000456);
}

TEST(Checkpoint, CorruptionIsRejected) {
    Checkpoint c;
    c.segment_index = 3;
    const std::string good = encode_checkpoint(c);
    auto rejected = [](const std::string& b, const std::string& why) {
        Checkpoint got;
        Status st = decode_checkpoint(b, got);
        EXPECT_FALSE(st);
        EXPECT_EQ(st.code(), errc::corrupt);
        EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
    };
    for (size_t i = 0; i < checkpoint_size; i++) {
        std::string b = good;
        b[i] ^= 0x04;
        rejected(b, i < 8 ? "bad magic" : "CRC mismatch");
    }
    rejected(good.substr(0, checkpoint_size - 1), "checkpoint has 51 bytes");
    rejected(good + "x", "checkpoint has 53 bytes");
    rejected("", "checkpoint has 0 bytes");
    std::string v2 = good;
    write_le<uint32_t>(v2.data() + 8, 2);
    write_le<uint32_t>(v2.data() + 48, crc32c(0, v2.data(), 48));
    rejected(v2, "version unknown");
}

TEST(Checkpoint, WrittenAtomicallyAndReadBack) {
    TempDir dir;
    Checkpoint c;
    c.chain = 1;
    c.low = 5;
    c.segment_index = 2;
    ASSERT_TRUE(write_file_atomically(dir.path() + "/checkpoint-1", encode_checkpoint(c), true));
    c.low = 6;  // a second write replaces the first
    ASSERT_TRUE(write_file_atomically(dir.path() + "/checkpoint-1", encode_checkpoint(c), true));

    auto bytes = read_small_file(dir.path() + "/checkpoint-1", checkpoint_size);
    ASSERT_TRUE(bytes);
    Checkpoint got;
    ASSERT_TRUE(decode_checkpoint(bytes.value(), got));
    EXPECT_EQ(got.low, 6u);
    EXPECT_EQ(got.chain, 1u);
    // Nothing but the checkpoint is left in the directory.
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"checkpoint-1"});

    // read_small_file reads at most max_bytes + 1 (so a caller sees "too big").
    ASSERT_TRUE(write_file_atomically(dir.path() + "/big", std::string(100, 'z'), true));
    auto big = read_small_file(dir.path() + "/big", checkpoint_size);
    ASSERT_TRUE(big);
    EXPECT_EQ(big.value().size(), checkpoint_size + 1);
    Checkpoint none;
    EXPECT_FALSE(decode_checkpoint(big.value(), none));

    EXPECT_FALSE(read_small_file(dir.path() + "/missing", 10));
    EXPECT_FALSE(write_file_atomically(dir.path() + "/no-such-dir/x", "y", true));
}

// ------------------------------------------------------------ segment files

TEST(SegmentFile, CreateWriteReopen) {
    TempDir dir;
    const std::string path = dir.path() + "/" + segment_file_name(1);
    SegmentHeader h;
    h.chain = 0;
    h.index = 1;
    h.first_seq = 0;
    h.file_size = min_file_size;
    auto batch = sample_batch();
    uint64_t end = 0;
    {
        auto made = Segment::create(path, h);
        ASSERT_TRUE(made) << made.status().message();
        Segment& seg = *made.value();
        EXPECT_EQ(seg.size(), min_file_size);
        EXPECT_EQ(seg.path(), path);
        EXPECT_GE(seg.fd(), 0);
        EXPECT_EQ(seg.header.index, 1u);
        struct stat st {};
        ASSERT_EQ(stat(path.c_str(), &st), 0);
        EXPECT_EQ(uint64_t(st.st_size), min_file_size);
        EXPECT_GE(uint64_t(st.st_blocks) * 512, min_file_size);  // allocated, no holes
        seg.prefault();

        std::vector<EventSpan> spans{{batch, 0, 4}};
        uint32_t len = uint32_t(events_record_length(spans));
        write_events_record(seg.data() + header_size, 1, 0, 77, spans, 4, len);
        end = align8(header_size + len);
        write_take_record(seg.data() + end, 1, {{0, 2}});
        end = align8(end + take_record_length(1));
        // Creating it again fails: a segment file is never overwritten.
        EXPECT_FALSE(Segment::create(path, h));
    }
    auto opened = Segment::open(path, false);
    ASSERT_TRUE(opened) << opened.status().message();
    const Segment& seg = *opened.value();
    EXPECT_EQ(seg.size(), min_file_size);
    SegmentHeader got;
    ASSERT_TRUE(decode_header(seg.bytes(), got));
    EXPECT_EQ(got.index, 1u);
    EXPECT_EQ(got.file_size, min_file_size);
    EXPECT_EQ(got.state, segment_state::live);
    Scanned s = scan(seg.bytes(), 1, 0);
    EXPECT_EQ(s.end.bad, "");
    EXPECT_EQ(s.end.offset, end);
    ASSERT_EQ(s.records.size(), 2u);
    EventBatch events;
    size_t off = 0;
    ASSERT_TRUE(decode_events(s.records[0].payload, off, 4, events));
    expect_same_events(events, 0, *batch, 0, 4);
    EXPECT_EQ(s.records[0].time_ms, 77);
    EXPECT_EQ(s.records[1].type, record_type::take);
}

TEST(SegmentFile, RecycleUnderANewIndex) {
    TempDir dir;
    SegmentHeader h;
    h.index = 5;
    h.file_size = min_file_size;
    auto made = Segment::create(dir.path() + "/" + segment_file_name(5), h);
    ASSERT_TRUE(made);
    Segment& seg = *made.value();
    auto batch = sample_batch();
    std::vector<EventSpan> spans{{batch, 0, 2}};
    write_events_record(seg.data() + header_size, 5, 0, 0, spans, 2, uint32_t(events_record_length(spans)));
    EXPECT_EQ(scan(seg.bytes(), 5, 0).records.size(), 1u);

    // Recycled as segment 6 without zeroing the old record: it is not replayed.
    const std::string new_path = dir.path() + "/" + segment_file_name(6);
    ASSERT_TRUE(seg.rename_to(new_path));
    EXPECT_EQ(seg.path(), new_path);
    h.index = 6;
    h.first_seq = 2;
    seg.set_header(h);
    EXPECT_EQ(seg.header.index, 6u);
    Scanned s = scan(seg.bytes(), 6, 2);
    EXPECT_TRUE(s.records.empty());
    EXPECT_EQ(s.end.bad, "record CRC mismatch");
    EXPECT_EQ(list_segments(dir.path()), std::vector<uint64_t>{6});

    auto reopened = Segment::open(new_path, true);
    ASSERT_TRUE(reopened);
    SegmentHeader got;
    ASSERT_TRUE(decode_header(reopened.value()->bytes(), got));
    EXPECT_EQ(got.index, 6u);
    EXPECT_EQ(got.first_seq, 2u);
}

TEST(SegmentFile, OpenRejectsShortAndMissingFiles) {
    TempDir dir;
    touch(dir.path() + "/short.seg");
    auto shortf = Segment::open(dir.path() + "/short.seg", false);
    ASSERT_FALSE(shortf);
    EXPECT_EQ(shortf.status().code(), errc::corrupt);
    EXPECT_FALSE(Segment::open(dir.path() + "/missing.seg", false));
}

TEST(SegmentFile, Names) {
    EXPECT_EQ(segment_file_name(1), "0000000000000001.seg");
    EXPECT_EQ(segment_file_name(0xABCDEF0123456789ull), "abcdef0123456789.seg");
    EXPECT_EQ(chain_dir_name(0), "chain-0");
    EXPECT_EQ(chain_dir_name(12), "chain-12");
}

TEST(SegmentFile, ListSegmentsAndChains) {
    TempDir dir;
    const std::string chain = dir.path() + "/" + chain_dir_name(0);
    ASSERT_EQ(mkdir(chain.c_str(), 0755), 0);
    for (uint64_t i : {uint64_t(10), uint64_t(2), uint64_t(0xffffffffffffffffull), uint64_t(1)})
        touch(chain + "/" + segment_file_name(i));
    for (const char* other : {"0000000000000003.seg.tmp", "000000000000003.seg", "00000000000000003.seg",
                              "000000000000000A.seg", "000000000000000g.seg", "000000000000000a.SEG",
                              "0000000000000004.sex", "checkpoint-0", "in_use.lock"})
        touch(chain + "/" + other);
    EXPECT_EQ(list_segments(chain), (std::vector<uint64_t>{1, 2, 10, 0xffffffffffffffffull}));
    EXPECT_TRUE(list_segments(dir.path() + "/missing").empty());

    for (unsigned c : {3u, 1u, 12u}) ASSERT_EQ(mkdir((dir.path() + "/" + chain_dir_name(c)).c_str(), 0755), 0);
    for (const char* other : {"chain-", "chain-x", "chain-1a", "chains-2", "Chain-4", "chain--5", "chain-99999999999"})
        ASSERT_EQ(mkdir((dir.path() + "/" + other).c_str(), 0755), 0);
    touch(dir.path() + "/in_use.lock");
    EXPECT_EQ(list_chains(dir.path()), (std::vector<unsigned>{0, 1, 3, 12}));
    EXPECT_TRUE(list_chains(dir.path() + "/missing").empty());
}

}  // namespace
}  // namespace sluice::seglog
