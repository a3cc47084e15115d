// SPDX-License-Identifier: Apache-2.0
// Durable append throughput of the segment format (docs/durable-format.md):
// records of `batch` events of `size` bytes appended to recycled (already
// allocated) 64 MiB segments the way the file channel does, with one
// fdatasync per `group` bytes, on one core. Prints GB/s, events/s and the
// sync latency percentiles.
//
//   sluice-durable-append DIR [size=100] [batch=100] [group=1048576] [total_mb=2048]
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "io/segment_log.h"

using namespace sluice;
using namespace sluice::seglog;
using clk = std::chrono::steady_clock;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR [size] [batch] [group] [total_mb]\n", argv[0]);
        return 2;
    }
    std::string dir = argv[1];
    size_t size = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 100;
    uint32_t batch = argc > 3 ? uint32_t(std::strtoul(argv[3], nullptr, 10)) : 100;
    uint64_t group = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 1 << 20;
    uint64_t total = (argc > 5 ? std::strtoull(argv[5], nullptr, 10) : 2048) << 20;
    const uint64_t seg_size = 64 << 20;

    auto events = std::make_shared<EventBatch>();
    for (uint32_t i = 0; i < batch; i++) events->add(std::string(size, char('a' + i % 26)));
    std::vector<EventSpan> spans{EventSpan{events, 0, batch}};
    uint64_t len = events_record_length(spans);

    // Two segments, created and pre-faulted once, then reused in turn (as
    // the channel recycles them).
    std::vector<std::unique_ptr<Segment>> segs;
    for (int i = 0; i < 2; i++) {
        std::string path = dir + "/bench-" + std::to_string(i) + ".seg";
        ::unlink(path.c_str());
        auto s = Segment::create(path, SegmentHeader{0, uint64_t(i + 1), 0, seg_size, segment_state::live});
        if (!s) {
            std::fprintf(stderr, "%s\n", s.status().message().c_str());
            return 1;
        }
        s.value()->prefault();
        std::memset(s.value()->data() + header_size, 1, seg_size - header_size);  // pages exist and are written once
        ::fdatasync(s.value()->fd());
        segs.push_back(std::move(s.value()));
    }

    std::vector<double> sync_us;
    uint64_t written = 0, unsynced = 0, seq = 0, index = 3, nevents = 0;
    size_t cur = 0;
    uint64_t off = header_size, synced_off = header_size;
    const bool use_msync = getenv("SYNC") && std::string(getenv("SYNC")) == "msync";
    auto t0 = clk::now();
    while (written < total) {
        if (off + len + 8 > seg_size) {
            ::fdatasync(segs[cur]->fd());
            cur ^= 1;
            segs[cur]->set_header(SegmentHeader{0, index++, seq, seg_size, segment_state::live});
            off = synced_off = header_size;
        }
        std::memset(segs[cur]->data() + align8(off + len), 0, 8);
        write_events_record(segs[cur]->data() + off, segs[cur]->header.index, seq, 0, spans, batch, uint32_t(len));
        seq += batch;
        nevents += batch;
        off = align8(off + len);
        written += len;
        unsynced += len;
        if (unsynced >= group) {
            auto s0 = clk::now();
            if (use_msync) {
                uint64_t from = synced_off & ~uint64_t(4095);
                ::msync(segs[cur]->data() + from, off - from, MS_SYNC);
                synced_off = off;
            } else {
                ::fdatasync(segs[cur]->fd());
            }
            sync_us.push_back(std::chrono::duration<double, std::micro>(clk::now() - s0).count());
            unsynced = 0;
        }
    }
    double secs = std::chrono::duration<double>(clk::now() - t0).count();
    std::sort(sync_us.begin(), sync_us.end());
    auto pct = [&](double p) { return sync_us.empty() ? 0.0 : sync_us[size_t(p * double(sync_us.size() - 1))]; };
    std::printf("durable append: %zu-byte events, %u per record, sync every %llu bytes: %.2f GB/s, %.1f M events/s, "
                "sync p50 %.0f us p99 %.0f us (%zu syncs)\n",
                size, batch, (unsigned long long)group, double(written) / secs / 1e9, double(nevents) / secs / 1e6,
                pct(0.5), pct(0.99), sync_us.size());
    for (int i = 0; i < 2; i++) ::unlink((dir + "/bench-" + std::to_string(i) + ".seg").c_str());
    return 0;
}
