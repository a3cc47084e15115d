// SPDX-License-Identifier: Apache-2.0
// The durable segment format of docs/durable-format.md: segment headers,
// records, checkpoints, and the recovery scanner. Pure encoding and decoding
// over bytes plus the one file type (Segment) — the file channel
// (io/file_channel.cc) and `sluice channel inspect` build on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/status.h"

namespace sluice::seglog {

constexpr size_t header_size = 4096;      // records start here
constexpr size_t record_header_size = 32;
constexpr size_t checkpoint_size = 52;
constexpr uint64_t min_file_size = 64 * 1024;

enum class segment_state : uint32_t { live = 1, free = 2 };
enum class record_type : uint8_t { events = 1, take = 2 };

uint32_t crc32c(uint32_t crc, const void* data, size_t len);

struct SegmentHeader {
    uint32_t chain = 0;
    uint64_t index = 0;
    uint64_t first_seq = 0;
    uint64_t file_size = 0;
    segment_state state = segment_state::live;
};
// Writes the 48 header bytes (the rest of the 4 KiB page stays as it is).
void encode_header(const SegmentHeader& h, char* out);
// Ok, or (corrupt, why) for a header that is not a valid segment header. A
// file shorter than its header's file_size (truncated) still decodes: its
// records are scanned as far as they go.
Status decode_header(std::string_view bytes, SegmentHeader& out);

// What a good record holds; `payload` points into the scanned bytes.
struct Record {
    uint64_t offset = 0;
    uint32_t length = 0;
    record_type type = record_type::events;
    uint32_t count = 0;
    uint64_t seq = 0;
    int64_t time_ms = 0;  // events: when the source received them
    std::string_view payload;
};

inline uint64_t align8(uint64_t n) { return (n + 7) & ~uint64_t(7); }

// Bytes an events record holding these events needs (without padding).
uint64_t events_record_length(const std::vector<EventSpan>& spans);
// Writes an events record for `spans` (first event numbered `seq`) at `out`,
// which has room for events_record_length() bytes. The CRC goes in last.
void write_events_record(char* out, uint64_t segment_index, uint64_t seq, int64_t time_ms,
                         const std::vector<EventSpan>& spans, uint32_t count, uint32_t length);
struct SeqRange {
    uint64_t first;
    uint32_t n;
};
inline uint64_t take_record_length(size_t ranges) { return record_header_size + 16 * ranges; }
void write_take_record(char* out, uint64_t segment_index, const std::vector<SeqRange>& ranges);

// Where a scan of one segment stopped.
struct ScanEnd {
    uint64_t offset = 0;       // the end of the good records
    std::string bad;           // why the record at `offset` is bad; empty when it is a clean end
    bool data_after = false;   // bad record, or something non-zero after the end
};
// Scans the records of a segment (`bytes` is the whole file) from `offset`,
// calling fn for each good one. `next_seq` is the seq the next events record
// must carry; it is advanced past each events record. Stops at the first
// record that is bad or absent.
ScanEnd scan_segment(std::string_view bytes, uint64_t segment_index, uint64_t offset, uint64_t& next_seq,
                     const std::function<void(const Record&)>& fn);

// Decodes `count` events from an events payload starting at byte `offset`
// into `batch`; returns the offset after them, or nothing if the payload is
// malformed (it cannot be, past a good CRC, unless the writer was broken).
bool decode_events(std::string_view payload, size_t& offset, uint32_t count, EventBatch& batch);
// Steps over `count` events of a payload (as decode_events, without copying);
// adds their number of headers to *headers when given.
bool skip_events(std::string_view payload, size_t& offset, uint32_t count, uint64_t* headers = nullptr);
// Decodes a take record's ranges.
bool decode_take(const Record& r, std::vector<SeqRange>& out);

struct Checkpoint {
    uint32_t chain = 0;
    uint64_t low = 0;
    uint64_t segment_index = 0;
    uint64_t offset = header_size;
    int64_t written_ms = 0;
};
std::string encode_checkpoint(const Checkpoint& c);
Status decode_checkpoint(std::string_view bytes, Checkpoint& out);
Result<std::string> read_small_file(const std::string& path, size_t max_bytes);

std::string segment_file_name(uint64_t index);  // 16 hex digits + ".seg"
std::string chain_dir_name(unsigned chain);     // chain-<c>
// Lists segment indexes found in a chain directory, ascending.
std::vector<uint64_t> list_segments(const std::string& chain_dir);
// Chain numbers with a directory under data_dir, ascending.
std::vector<unsigned> list_chains(const std::string& data_dir);

// A segment file mapped shared into memory. Owned by one chain (one shard).
class Segment {
public:
    ~Segment();
    Segment(const Segment&) = delete;
    Segment& operator=(const Segment&) = delete;

    // Creates a new file of `size` bytes (fallocate, no holes), writes the
    // header, and maps it.
    static Result<std::unique_ptr<Segment>> create(const std::string& path, const SegmentHeader& h);
    // Maps an existing segment file; `writable` maps it read-write.
    static Result<std::unique_ptr<Segment>> open(const std::string& path, bool writable);

    const std::string& path() const { return _path; }
    int fd() const { return _fd; }
    char* data() { return _data; }
    const char* data() const { return _data; }
    uint64_t size() const { return _size; }
    std::string_view bytes() const { return {_data, _size}; }

    // Rewrites the header in place (recycling, freeing).
    void set_header(const SegmentHeader& h);
    // Renames the file (recycling under a new index).
    Status rename_to(const std::string& path);
    // Brings every page into memory so appends do not take first-touch faults.
    void prefault();

    // Bookkeeping of the owning chain.
    SegmentHeader header;
    uint64_t live_events = 0;  // events in it not yet consumed
    // Bytes written since the last sync of this segment started: [lo, hi).
    uint64_t unsynced_lo = UINT64_MAX, unsynced_hi = 0;

private:
    Segment() = default;
    std::string _path;
    int _fd = -1;
    char* _data = nullptr;
    uint64_t _size = 0;
};

}  // namespace sluice::seglog
