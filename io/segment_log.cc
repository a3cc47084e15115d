// SPDX-License-Identifier: Apache-2.0
#include "io/segment_log.h"

#include <dirent.h>
#include <fcntl.h>
#include <nmmintrin.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "core/runtime.h"

namespace sluice::seglog {

namespace {

constexpr char segment_magic[8] = {'S', 'L', 'U', 'I', 'C', 'S', 'E', 'G'};
constexpr char checkpoint_magic[8] = {'S', 'L', 'U', 'I', 'C', 'C', 'K', 'P'};
constexpr uint32_t format_version = 1;

template <typename T>
void put(char* p, T v) {
    std::memcpy(p, &v, sizeof v);
}
template <typename T>
T get(const char* p) {
    T v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

// --- CRC32C: SSE4.2 when the CPU has it, else a table.
std::array<uint32_t, 256> make_table() {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        t[i] = c;
    }
    return t;
}

uint32_t crc_table(uint32_t c, const unsigned char* p, size_t n) {
    static const auto table = make_table();
    while (n--) c = table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c;
}

__attribute__((target("sse4.2"))) uint32_t crc_sse42(uint32_t c, const unsigned char* p, size_t n) {
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = uint32_t(c64);
    while (n--) c = _mm_crc32_u8(c, *p++);
    return c;
}

const bool have_sse42 = __builtin_cpu_supports("sse4.2");

uint32_t record_crc(uint64_t segment_index, const char* record, uint32_t length) {
    char idx[8];
    put(idx, segment_index);
    uint32_t c = crc32c(0, idx, 8);
    return crc32c(c, record + 8, length - 8);
}

void write_record_header(char* out, uint64_t segment_index, record_type type, uint32_t count, uint64_t seq,
                         int64_t time_ms, uint32_t length) {
    out[8] = char(type);
    out[9] = out[10] = out[11] = 0;
    put(out + 12, count);
    put(out + 16, seq);
    put(out + 24, time_ms);
    put(out + 4, record_crc(segment_index, out, length));
    // The length goes in last: until it is there, a reader sees the end of the log.
    put(out + 0, length);
}

}  // namespace

uint32_t crc32c(uint32_t crc, const void* data, size_t len) {
    auto* p = static_cast<const unsigned char*>(data);
    uint32_t c = ~crc;
    c = have_sse42 ? crc_sse42(c, p, len) : crc_table(c, p, len);
    return ~c;
}

void encode_header(const SegmentHeader& h, char* out) {
    std::memcpy(out, segment_magic, 8);
    put(out + 8, format_version);
    put(out + 12, h.chain);
    put(out + 16, h.index);
    put(out + 24, h.first_seq);
    put(out + 32, h.file_size);
    put(out + 40, uint32_t(h.state));
    put(out + 44, crc32c(0, out, 44));
}

Status decode_header(std::string_view b, SegmentHeader& h) {
    if (b.size() < header_size) return Status(errc::corrupt, "shorter than a segment header");
    const char* p = b.data();
    if (std::memcmp(p, segment_magic, 8) != 0) return Status(errc::corrupt, "not a segment (bad magic)");
    if (get<uint32_t>(p + 44) != crc32c(0, p, 44)) return Status(errc::corrupt, "segment header CRC mismatch");
    if (get<uint32_t>(p + 8) != format_version)
        return Status(errc::corrupt, "segment format version " + std::to_string(get<uint32_t>(p + 8)) + " unknown");
    h.chain = get<uint32_t>(p + 12);
    h.index = get<uint64_t>(p + 16);
    h.first_seq = get<uint64_t>(p + 24);
    h.file_size = get<uint64_t>(p + 32);
    uint32_t state = get<uint32_t>(p + 40);
    if (state != uint32_t(segment_state::live) && state != uint32_t(segment_state::free))
        return Status(errc::corrupt, "segment state " + std::to_string(state) + " unknown");
    h.state = segment_state(state);
    return Status::ok();
}

uint64_t events_record_length(const std::vector<EventSpan>& spans) {
    uint64_t n = record_header_size;
    for (const auto& s : spans) {
        for (uint32_t i = 0; i < s.size(); i++) {
            EventView e = s[i];
            n += 8 + e.body().size();
            for (uint32_t h = 0; h < e.header_count(); h++) {
                Header hd = e.header(h);
                n += 8 + hd.key.size() + hd.value.size();
            }
        }
    }
    return n;
}

void write_events_record(char* out, uint64_t segment_index, uint64_t seq, int64_t time_ms,
                         const std::vector<EventSpan>& spans, uint32_t count, uint32_t length) {
    char* p = out + record_header_size;
    auto put_bytes = [&](std::string_view s) {
        put(p, uint32_t(s.size()));
        std::memcpy(p + 4, s.data(), s.size());
        p += 4 + s.size();
    };
    for (const auto& s : spans) {
        for (uint32_t i = 0; i < s.size(); i++) {
            EventView e = s[i];
            put(p, e.header_count());
            put(p + 4, uint32_t(e.body().size()));
            p += 8;
            for (uint32_t h = 0; h < e.header_count(); h++) {
                Header hd = e.header(h);
                put_bytes(hd.key);
                put_bytes(hd.value);
            }
            std::memcpy(p, e.body().data(), e.body().size());
            p += e.body().size();
        }
    }
    write_record_header(out, segment_index, record_type::events, count, seq, time_ms, length);
}

void write_take_record(char* out, uint64_t segment_index, const std::vector<SeqRange>& ranges) {
    char* p = out + record_header_size;
    for (const auto& r : ranges) {
        put(p, r.first);
        put(p + 8, r.n);
        put(p + 12, uint32_t(0));
        p += 16;
    }
    write_record_header(out, segment_index, record_type::take, uint32_t(ranges.size()), 0, 0,
                        uint32_t(take_record_length(ranges.size())));
}

ScanEnd scan_segment(std::string_view bytes, uint64_t segment_index, uint64_t offset, uint64_t& next_seq,
                     const std::function<void(const Record&)>& fn) {
    ScanEnd end;
    const uint64_t size = bytes.size();
    for (;;) {
        end.offset = offset;
        if (offset + record_header_size > size) return end;  // no room for another record
        const char* p = bytes.data() + offset;
        uint32_t length = get<uint32_t>(p);
        if (length == 0) {
            // The end of the log. What follows may be a recycled segment's
            // old records, which are not ours (their CRCs name another index).
            return end;
        }
        end.data_after = true;
        if (length < record_header_size || offset + length > size) {
            end.bad = "record length " + std::to_string(length) + " out of bounds";
            return end;
        }
        if (get<uint32_t>(p + 4) != record_crc(segment_index, p, length)) {
            end.bad = "record CRC mismatch";
            return end;
        }
        Record r;
        r.offset = offset;
        r.length = length;
        r.type = record_type(uint8_t(p[8]));
        r.count = get<uint32_t>(p + 12);
        r.seq = get<uint64_t>(p + 16);
        r.time_ms = get<int64_t>(p + 24);
        r.payload = bytes.substr(offset + record_header_size, length - record_header_size);
        if (r.type == record_type::events) {
            if (r.seq != next_seq) {
                end.bad = "events record seq " + std::to_string(r.seq) + ", expected " + std::to_string(next_seq);
                return end;
            }
            next_seq += r.count;
        } else if (r.type == record_type::take) {
            if (r.payload.size() != uint64_t(r.count) * 16) {
                end.bad = "take record size does not match its range count";
                return end;
            }
        } else {
            end.bad = "record type " + std::to_string(int(uint8_t(p[8]))) + " unknown";
            return end;
        }
        end.data_after = false;
        fn(r);
        offset = align8(offset + length);
    }
}

bool decode_events(std::string_view payload, size_t& off, uint32_t count, EventBatch& batch) {
    auto need = [&](size_t n) { return payload.size() - off >= n; };
    for (uint32_t i = 0; i < count; i++) {
        if (!need(8)) return false;
        uint32_t headers = get<uint32_t>(payload.data() + off);
        uint32_t body_len = get<uint32_t>(payload.data() + off + 4);
        off += 8;
        // Headers come before the body in the record, after it in the batch:
        // remember where they are and add them once the event exists.
        size_t hdr_at = off;
        for (uint32_t h = 0; h < headers; h++) {
            for (int kv = 0; kv < 2; kv++) {
                if (!need(4)) return false;
                uint32_t n = get<uint32_t>(payload.data() + off);
                if (!need(4 + size_t(n))) return false;
                off += 4 + n;
            }
        }
        if (!need(body_len)) return false;
        batch.add(payload.substr(off, body_len));
        off += body_len;
        for (uint32_t h = 0; h < headers; h++) {
            uint32_t kn = get<uint32_t>(payload.data() + hdr_at);
            std::string_view k = payload.substr(hdr_at + 4, kn);
            hdr_at += 4 + kn;
            uint32_t vn = get<uint32_t>(payload.data() + hdr_at);
            std::string_view v = payload.substr(hdr_at + 4, vn);
            hdr_at += 4 + vn;
            batch.add_header(k, v);
        }
    }
    return true;
}

bool skip_events(std::string_view payload, size_t& off, uint32_t count, uint64_t* header_total) {
    for (uint32_t i = 0; i < count; i++) {
        if (payload.size() - off < 8) return false;
        uint32_t headers = get<uint32_t>(payload.data() + off);
        uint32_t body_len = get<uint32_t>(payload.data() + off + 4);
        off += 8;
        if (header_total) *header_total += headers;
        for (uint64_t h = 0; h < 2 * uint64_t(headers); h++) {  // 2 * headers overflows 32 bits
            if (payload.size() - off < 4) return false;
            uint32_t n = get<uint32_t>(payload.data() + off);
            if (payload.size() - off - 4 < n) return false;
            off += 4 + n;
        }
        if (payload.size() - off < body_len) return false;
        off += body_len;
    }
    return true;
}

bool decode_take(const Record& r, std::vector<SeqRange>& out) {
    if (r.type != record_type::take || r.payload.size() != uint64_t(r.count) * 16) return false;
    for (uint32_t i = 0; i < r.count; i++) {
        const char* p = r.payload.data() + size_t(i) * 16;
        out.push_back({get<uint64_t>(p), get<uint32_t>(p + 8)});
    }
    return true;
}

std::string encode_checkpoint(const Checkpoint& c) {
    std::string out(checkpoint_size, '\0');
    char* p = out.data();
    std::memcpy(p, checkpoint_magic, 8);
    put(p + 8, format_version);
    put(p + 12, c.chain);
    put(p + 16, c.low);
    put(p + 24, c.segment_index);
    put(p + 32, c.offset);
    put(p + 40, c.written_ms);
    put(p + 48, crc32c(0, p, 48));
    return out;
}

Status decode_checkpoint(std::string_view b, Checkpoint& c) {
    if (b.size() != checkpoint_size) return Status(errc::corrupt, "checkpoint has " + std::to_string(b.size()) + " bytes");
    const char* p = b.data();
    if (std::memcmp(p, checkpoint_magic, 8) != 0) return Status(errc::corrupt, "not a checkpoint (bad magic)");
    if (get<uint32_t>(p + 48) != crc32c(0, p, 48)) return Status(errc::corrupt, "checkpoint CRC mismatch");
    if (get<uint32_t>(p + 8) != format_version) return Status(errc::corrupt, "checkpoint version unknown");
    c.chain = get<uint32_t>(p + 12);
    c.low = get<uint64_t>(p + 16);
    c.segment_index = get<uint64_t>(p + 24);
    c.offset = get<uint64_t>(p + 32);
    c.written_ms = get<int64_t>(p + 40);
    return Status::ok();
}

Result<std::string> read_small_file(const std::string& path, size_t max_bytes) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return io_error("open " + path, errno);
    std::string out(max_bytes + 1, '\0');
    size_t got = 0;
    while (got < out.size()) {
        ssize_t n = ::read(fd, out.data() + got, out.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += size_t(n);
    }
    ::close(fd);
    out.resize(got);
    return out;
}

std::string segment_file_name(uint64_t index) {
    char buf[32];
    snprintf(buf, sizeof buf, "%016llx.seg", static_cast<unsigned long long>(index));
    return buf;
}

std::string chain_dir_name(unsigned chain) { return "chain-" + std::to_string(chain); }

std::vector<uint64_t> list_segments(const std::string& chain_dir) {
    std::vector<uint64_t> out;
    DIR* d = opendir(chain_dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        std::string_view n = e->d_name;
        if (n.size() != 20 || n.substr(16) != ".seg") continue;
        uint64_t v = 0;
        bool ok = true;
        for (char c : n.substr(0, 16)) {
            int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (digit < 0) ok = false;
            v = v << 4 | uint64_t(digit & 15);
        }
        if (ok) out.push_back(v);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<unsigned> list_chains(const std::string& data_dir) {
    std::vector<unsigned> out;
    DIR* d = opendir(data_dir.c_str());
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        std::string_view n = e->d_name;
        if (n.substr(0, 6) != "chain-" || n.size() == 6 || n.size() > 15) continue;
        unsigned v = 0;
        bool ok = true;
        for (char c : n.substr(6)) {
            if (c < '0' || c > '9') ok = false;
            v = v * 10 + unsigned(c - '0');
        }
        if (ok) out.push_back(v);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
}

// --- Segment

Segment::~Segment() {
    if (_data) munmap(_data, _size);
    if (_fd >= 0) ::close(_fd);
}

Result<std::unique_ptr<Segment>> Segment::create(const std::string& path, const SegmentHeader& h) {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("create " + path, errno);
    int rc = ::posix_fallocate(fd, 0, off_t(h.file_size));
    if (rc != 0) {
        ::close(fd);
        ::unlink(path.c_str());
        return io_error("fallocate " + path, rc);
    }
    void* m = mmap(nullptr, h.file_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return io_error("mmap " + path, e);
    }
    std::unique_ptr<Segment> s(new Segment());
    s->_path = path;
    s->_fd = fd;
    s->_data = static_cast<char*>(m);
    s->_size = h.file_size;
    s->set_header(h);
    return s;
}

Result<std::unique_ptr<Segment>> Segment::open(const std::string& path, bool writable) {
    int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) return io_error("open " + path, errno);
    struct stat st {};
    if (fstat(fd, &st) != 0 || st.st_size < off_t(header_size)) {
        ::close(fd);
        return Status(errc::corrupt, path + ": shorter than a segment header");
    }
    void* m = mmap(nullptr, size_t(st.st_size), writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        ::close(fd);
        return io_error("mmap " + path, e);
    }
    std::unique_ptr<Segment> s(new Segment());
    s->_path = path;
    s->_fd = fd;
    s->_data = static_cast<char*>(m);
    s->_size = uint64_t(st.st_size);
    return s;
}

void Segment::set_header(const SegmentHeader& h) {
    header = h;
    encode_header(h, _data);
}

Status Segment::rename_to(const std::string& path) {
    if (::rename(_path.c_str(), path.c_str()) != 0) return io_error("rename " + _path, errno);
    _path = path;
    return Status::ok();
}

void Segment::prefault() {
    // Reading every page allocates the page cache now, so appends only mark
    // pages dirty; writing them here would make the first sync flush the
    // whole file. By touching each page, not MADV_POPULATE_READ: populating
    // holds the process's mmap lock, and a shard's allocator that maps or
    // protects memory meanwhile waits for it (19 ms for a whole 64 MiB
    // segment, 14 ms behind one MiB when the populating thread lost its
    // CPU); a page fault takes only its own mapping's lock.
    unsigned char sum = 0;
    for (uint64_t off = 0; off < _size; off += 4096) sum ^= static_cast<volatile const unsigned char*>(
                                                              reinterpret_cast<unsigned char*>(_data))[off];
    (void)sum;
}

}  // namespace sluice::seglog
