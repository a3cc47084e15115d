// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the durable segment format's readers (io/segment_log.h),
// which recovery and `sluice channel inspect` run over whatever is on disk.
// Input:
//   byte 0      flags: bit 0 = reseal (rewrite each record's CRC before the
//               scan, as the scanner walks them, so mutations of record
//               contents reach the type/seq checks and the payload decoders
//               instead of all stopping at the CRC); bits 1..3 = extra bytes
//               (0..7) added to the scan's start offset (unaligned records);
//   byte 1      the segment index the records are scanned under;
//   bytes 2..9  the first sequence number (u64, little-endian);
//   bytes 10..57  the segment header's first 48 bytes (offset 0);
//   the rest    the segment from offset 4096 (the header page is zero between).
// Short inputs are padded with zeros. Runs decode_header over the segment,
// scan_segment from the start offset, and for each good record
// decode_events + skip_events (events) or decode_take (take). Traps on any
// broken invariant:
//   - the scan ends inside the segment (or its last 8-byte padding), records are in order, inside the
//     segment, 8-aligned relative to the start, and end where the scan says;
//   - a clean end is a zero length or no room for a record header;
//   - next_seq advances by exactly the events records' counts;
//   - decode_events and skip_events agree (result and offset); a decoded
//     record that uses its whole payload encodes back to the same bytes;
//   - decode_take accepts every take record the scanner delivers, and the
//     ranges encode back to the same record.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "io/segment_log.h"

namespace {

using namespace sluice;
using namespace sluice::seglog;

void check(bool ok) {
    if (!ok) __builtin_trap();
}

template <typename T>
T get(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

constexpr size_t prefix_size = 10;
constexpr size_t header_bytes = 48;

// Rewrites the CRC of every record the scanner would reach by length alone.
void reseal(std::string& seg, uint64_t index, uint64_t offset) {
    char idx[8];
    std::memcpy(idx, &index, 8);
    while (offset + record_header_size <= seg.size()) {
        char* p = seg.data() + offset;
        uint32_t length = get<uint32_t>(p);
        if (length < record_header_size || offset + length > seg.size()) return;
        uint32_t crc = crc32c(crc32c(0, idx, 8), p + 8, length - 8);
        std::memcpy(p + 4, &crc, 4);
        offset = align8(offset + length);
    }
}

void check_events(const Record& r) {
    EventBatch batch;
    size_t decoded_to = 0, skipped_to = 0;
    bool decoded = decode_events(r.payload, decoded_to, r.count, batch);
    bool skipped = skip_events(r.payload, skipped_to, r.count);
    check(decoded == skipped);
    check(decoded_to <= r.payload.size() && skipped_to <= r.payload.size());
    if (!decoded) return;
    check(decoded_to == skipped_to);
    check(batch.size() == r.count);
    if (decoded_to != r.payload.size()) return;  // trailing bytes: not what the writer makes
    auto shared = std::make_shared<const EventBatch>(std::move(batch));
    std::vector<EventSpan> spans{{shared, 0, shared->size()}};
    check(events_record_length(spans) == r.length);
    std::string again(r.length, '\0');
    write_events_record(again.data(), 0, r.seq, r.time_ms, spans, r.count, r.length);
    check(std::string_view(again).substr(record_header_size) == r.payload);
}

void check_take(const Record& r) {
    std::vector<SeqRange> ranges;
    check(decode_take(r, ranges));
    check(ranges.size() == r.count);
    check(take_record_length(ranges.size()) == r.length);
    std::string again(r.length, '\0');
    write_take_record(again.data(), 0, ranges);
    for (size_t i = 0; i < ranges.size(); i++) {
        const char* want = r.payload.data() + 16 * i;
        const char* got = again.data() + record_header_size + 16 * i;
        check(std::memcmp(want, got, 12) == 0);  // the zero field is not checked by readers
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string in(reinterpret_cast<const char*>(data), size);
    if (in.size() < prefix_size + header_bytes) in.resize(prefix_size + header_bytes, '\0');
    const bool resealed = in[0] & 1;
    const uint64_t start = header_size + ((uint8_t(in[0]) >> 1) & 7);
    const uint64_t index = uint8_t(in[1]);
    const uint64_t first_seq = get<uint64_t>(in.data() + 2);

    std::string seg(header_size, '\0');
    std::memcpy(seg.data(), in.data() + prefix_size, header_bytes);
    seg.append(in, prefix_size + header_bytes, std::string::npos);

    SegmentHeader h;
    Status st = decode_header(seg, h);
    check(st || !st.message().empty());
    // A size that differs from the file's is not an error (truncated
    // segments are scanned as far as they go).
    if (st) check(h.state == segment_state::live || h.state == segment_state::free);
    // The header decoder never reads past a short input either.
    (void)decode_header(std::string_view(seg).substr(0, (uint8_t(in[1]) * 16) % header_size), h);

    if (resealed) reseal(seg, index, start);

    uint64_t next_seq = first_seq;
    uint64_t events = 0;
    uint64_t expected_at = start;
    ScanEnd end = scan_segment(seg, index, start, next_seq, [&](const Record& r) {
        check(r.offset == expected_at);
        check(r.length >= record_header_size && r.offset + r.length <= seg.size());
        check(r.payload.data() == seg.data() + r.offset + record_header_size);
        check(r.payload.size() == r.length - record_header_size);
        expected_at = align8(r.offset + r.length);
        if (r.type == record_type::events) {
            events += r.count;
            check_events(r);
        } else {
            check(r.type == record_type::take);
            check_take(r);
        }
    });
    check(end.offset == expected_at);
    // Past the end only by the padding of a record that ends in the last 8
    // bytes of a file whose size is not a multiple of 8 (never one of ours).
    check(end.offset <= align8(seg.size()) || end.offset == start);
    check(next_seq == first_seq + events);
    if (end.bad.empty()) {
        check(!end.data_after);
        check(end.offset + record_header_size > seg.size() || get<uint32_t>(seg.data() + end.offset) == 0);
    } else {
        check(end.data_after);
    }
    return 0;
}
