// SPDX-License-Identifier: Apache-2.0
#include "io/channel_inspect.h"

#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <map>

#include "io/segment_log.h"

namespace sluice {

using namespace seglog;

namespace {

std::string time_text(int64_t ms) {
    time_t t = time_t(ms / 1000);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

bool is_dir(const std::string& p) {
    struct stat st {};
    return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

struct chain_report {
    std::string dir;
    bool have_checkpoint = false;
    Checkpoint checkpoint;
};

}  // namespace

int inspect_channel_dirs(const std::vector<std::string>& dirs, std::FILE* out) {
    int rc = 0;
    std::map<unsigned, chain_report> chains;
    for (const auto& d : dirs) {
        if (!is_dir(d)) {
            std::fprintf(out, "%s: not a directory\n", d.c_str());
            rc = 1;
            continue;
        }
        for (unsigned c : list_chains(d)) chains[c].dir = d + "/" + chain_dir_name(c);
        // Checkpoints: checkpoint-<c>.
        for (unsigned c = 0; c < 4096; c++) {
            auto bytes = read_small_file(d + "/checkpoint-" + std::to_string(c), checkpoint_size);
            if (!bytes) continue;
            Checkpoint cp;
            if (Status st = decode_checkpoint(bytes.value(), cp); !st) {
                std::fprintf(out, "%s/checkpoint-%u: CORRUPT: %s\n", d.c_str(), c, st.message().c_str());
                rc = 1;
                continue;
            }
            chains[c].have_checkpoint = true;
            chains[c].checkpoint = cp;
        }
    }
    if (chains.empty()) {
        std::fprintf(out, "no chains or checkpoints found\n");
        return rc;
    }
    for (auto& [id, ch] : chains) {
        std::fprintf(out, "chain %u%s%s\n", id, ch.dir.empty() ? "" : "  ", ch.dir.c_str());
        uint64_t low = ch.have_checkpoint ? ch.checkpoint.low : 0;
        if (ch.have_checkpoint)
            std::fprintf(out, "  checkpoint: low seq %llu, segment %llu, written %s\n",
                         (unsigned long long)ch.checkpoint.low, (unsigned long long)ch.checkpoint.segment_index,
                         time_text(ch.checkpoint.written_ms).c_str());
        else
            std::fprintf(out, "  checkpoint: none\n");
        if (ch.dir.empty()) continue;
        uint64_t next_seq = UINT64_MAX, events = 0, first_seq = UINT64_MAX;
        std::vector<SeqRange> takes;
        bool ended = false;
        for (uint64_t idx : list_segments(ch.dir)) {
            std::string path = ch.dir + "/" + segment_file_name(idx);
            auto seg = Segment::open(path, false);
            SegmentHeader h;
            Status st = seg ? decode_header(seg.value()->bytes(), h) : seg.status();
            if (st && (h.index != idx || h.chain != id)) st = Status(errc::corrupt, "header names another segment");
            if (!st) {
                std::fprintf(out, "  segment %016llx  CORRUPT: %s\n", (unsigned long long)idx, st.message().c_str());
                rc = 1;
                continue;
            }
            if (h.state == segment_state::free) {
                std::fprintf(out, "  segment %016llx  free  %llu bytes\n", (unsigned long long)idx,
                             (unsigned long long)h.file_size);
                continue;
            }
            if (ended) {
                std::fprintf(out, "  segment %016llx  live, after the end of the log: CORRUPT\n", (unsigned long long)idx);
                rc = 1;
                continue;
            }
            if (next_seq == UINT64_MAX) next_seq = first_seq = h.first_seq;
            if (h.first_seq != next_seq) {
                std::fprintf(out, "  segment %016llx  CORRUPT: starts at seq %llu, expected %llu\n",
                             (unsigned long long)idx, (unsigned long long)h.first_seq, (unsigned long long)next_seq);
                rc = 1;
                ended = true;
                continue;
            }
            uint64_t records = 0, seg_events = 0, seg_takes = 0;
            ScanEnd end = scan_segment(seg.value()->bytes(), idx, header_size, next_seq, [&](const Record& r) {
                records++;
                if (r.type == record_type::events)
                    seg_events += r.count;
                else if (decode_take(r, takes))
                    seg_takes += r.count;
            });
            events += seg_events;
            std::fprintf(out, "  segment %016llx  live  first seq %llu  records %llu  events %llu  take ranges %llu  used %llu of %llu bytes\n",
                         (unsigned long long)idx, (unsigned long long)h.first_seq, (unsigned long long)records,
                         (unsigned long long)seg_events, (unsigned long long)seg_takes,
                         (unsigned long long)end.offset, (unsigned long long)h.file_size);
            if (!end.bad.empty()) {
                std::fprintf(out, "    CORRUPT at offset %llu: %s\n", (unsigned long long)end.offset, end.bad.c_str());
                rc = 1;
                ended = true;
            }
        }
        // Queued: events at or above the checkpoint's low seq not named by a take record.
        uint64_t from = first_seq == UINT64_MAX ? 0 : std::max(first_seq, low);
        uint64_t to = next_seq == UINT64_MAX ? from : next_seq;
        std::sort(takes.begin(), takes.end(), [](auto& a, auto& b) { return a.first < b.first; });
        uint64_t taken = 0, covered = from;
        for (auto& t : takes) {
            uint64_t b = std::max(t.first, covered), e = std::min(t.first + t.n, to);
            if (e > b) {
                taken += e - b;
                covered = e;
            }
        }
        std::fprintf(out, "  events written %llu, queued %llu (seq %llu..%llu)\n", (unsigned long long)events,
                     (unsigned long long)(to > from ? to - from - taken : 0), (unsigned long long)from,
                     (unsigned long long)to);
    }
    std::fprintf(out, rc == 0 ? "ok: every CRC verified\n" : "CORRUPTION FOUND\n");
    return rc;
}

}  // namespace sluice
