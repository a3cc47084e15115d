// SPDX-License-Identifier: Apache-2.0
// Durable append throughput of the segment format (docs/durable-format.md):
// records of `batch` events of `size` bytes appended to recycled (already
// allocated) 64 MiB segments the way the file channel does, on one core,
// with a grouped fdatasync once `group` bytes are unsynced: by default one
// sync at a time beside the appends, as the channel does (so a group is at
// least `group` bytes); SYNC=serial syncs every `group` bytes in turn with
// the appends, SYNC=msync the same with msync. Prints GB/s (the clock stops
// once everything is synced), events/s and the sync latency percentiles.
//
//   sluice-durable-append DIR [size=100] [batch=100] [group=1048576] [total_mb=2048]
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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
    const std::string mode = getenv("SYNC") ? getenv("SYNC") : "";
    const bool use_msync = mode == "msync", serial = use_msync || mode == "serial";

    // As the channel syncs: one fdatasync at a time runs beside the appends
    // (there in io_uring's worker, here in a thread) and covers everything
    // appended before it started; a group that fills while one runs waits
    // for it to end, then the next starts. SYNC=serial appends and syncs in
    // turn on one thread.
    std::mutex mu;
    std::condition_variable cv;
    int sync_fd = -1;  // the sync asked for and not yet done; guarded by mu
    bool quit = false;
    std::thread syncer;
    if (!serial)
        syncer = std::thread([&] {
            std::unique_lock lk(mu);
            for (;;) {
                cv.wait(lk, [&] { return sync_fd >= 0 || quit; });
                if (sync_fd < 0) return;
                int fd = sync_fd;
                lk.unlock();
                auto s0 = clk::now();
                ::fdatasync(fd);
                double us = std::chrono::duration<double, std::micro>(clk::now() - s0).count();
                lk.lock();
                sync_us.push_back(us);
                sync_fd = -1;
                cv.notify_all();
            }
        });
    auto sync_in_flight = [&] {
        std::lock_guard lk(mu);
        return sync_fd >= 0;
    };
    auto wait_for_sync = [&] {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return sync_fd < 0; });
    };
    auto t0 = clk::now();
    while (written < total) {
        if (off + len + 8 > seg_size) {
            if (!serial) wait_for_sync();
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
        if (unsynced >= group && !serial) {
            if (!sync_in_flight()) {
                std::lock_guard lk(mu);
                sync_fd = segs[cur]->fd();
                unsynced = 0;
                cv.notify_all();
            }
        } else if (unsynced >= group) {
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
    if (!serial) {
        wait_for_sync();
        ::fdatasync(segs[cur]->fd());  // the tail: everything appended is durable before the clock stops
        {
            std::lock_guard lk(mu);
            quit = true;
        }
        cv.notify_all();
        syncer.join();
    }
    double secs = std::chrono::duration<double>(clk::now() - t0).count();
    std::sort(sync_us.begin(), sync_us.end());
    auto pct = [&](double p) { return sync_us.empty() ? 0.0 : sync_us[size_t(p * double(sync_us.size() - 1))]; };
    std::printf("durable append: %zu-byte events, %u per record, sync every %llu bytes: %.2f GB/s, %.1f M events/s, "
                "sync p50 %.0f us p99 %.0f us (%zu syncs%s)\n",
                size, batch, (unsigned long long)group, double(written) / secs / 1e9, double(nevents) / secs / 1e6,
                pct(0.5), pct(0.99), sync_us.size(), serial ? ", serial" : ", beside the appends");
    for (int i = 0; i < 2; i++) ::unlink((dir + "/bench-" + std::to_string(i) + ".seg").c_str());
    return 0;
}
