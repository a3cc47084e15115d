// SPDX-License-Identifier: Apache-2.0
// sluice-sync-floor: the least a durable acknowledgement can wait on this
// disk at a given rate, the yardstick for bench/durable_latency.sh as
// sluice-ceiling is for the socket benchmarks. `rate` events of `bytes`
// bytes per second arrive every `tick_us` (as loadgen's paced writers send)
// and are copied into 64 MiB segment files through a shared mapping, as the
// file channel appends. One fdatasync at a time runs on a second thread and
// covers everything that arrived before it started; the next starts as soon
// as it ends (the channel's grouping when commits never reach
// commitGroupBytes within commitGroupDelay). An event's latency is from its
// arrival to the end of the first sync that started after it. No network,
// no framing, no CRC: whatever an engine adds is on top of this.
//
// Segments (io/segment_log.h's Segment) are made before the clock starts:
// fallocated and prefaulted as the channel's spares are (fresh), or written
// once and synced (WARM=1, the recycled segments of a long-running agent).
//
//   sluice-sync-floor DIR [rate=600000] [bytes=120] [seconds=4] [tick_us=50]
//   LONG_SYNC_MS=3 sluice-sync-floor ...   # also list the syncs over 3 ms
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/segment_log.h"

using namespace sluice::seglog;
using clk = std::chrono::steady_clock;

namespace {

constexpr uint64_t segment_bytes = 64 << 20;

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "sluice-sync-floor: %s\n", what.c_str());
    std::exit(1);
}

int64_t now_ns() { return std::chrono::duration_cast<std::chrono::nanoseconds>(clk::now().time_since_epoch()).count(); }

// A segment made as the channel makes its spares (Segment::create and
// prefault), or written once and synced as a recycled one has been.
std::unique_ptr<Segment> make_segment(const std::string& path, uint64_t index, bool warm) {
    ::unlink(path.c_str());
    auto s = Segment::create(path, SegmentHeader{0, index, 0, segment_bytes, segment_state::live});
    if (!s) fail(s.status().message());
    if (warm) {
        std::memset(s.value()->data() + header_size, 1, segment_bytes - header_size);
        if (::fdatasync(s.value()->fd()) != 0) fail("fdatasync " + path + ": " + std::strerror(errno));
    } else {
        s.value()->prefault();
    }
    return std::move(s.value());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR [rate=600000] [bytes=120] [seconds=4] [tick_us=50]\n", argv[0]);
        return 2;
    }
    const std::string dir = argv[1];
    const double rate = argc > 2 ? std::atof(argv[2]) : 600000;
    const uint64_t bytes = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 120;
    const double seconds = argc > 4 ? std::atof(argv[4]) : 4;
    const int64_t tick_ns = (argc > 5 ? std::atoll(argv[5]) : 50) * 1000;
    const bool warm = getenv("WARM") && std::string(getenv("WARM")) == "1";
    if (rate <= 0 || bytes == 0 || bytes > segment_bytes - header_size || seconds <= 0 || tick_ns <= 0) {
        std::fprintf(stderr, "sluice-sync-floor: rate, bytes, seconds and tick_us must be positive\n");
        return 2;
    }

    const uint64_t total_events = uint64_t(rate * seconds);
    const uint64_t per_segment = (segment_bytes - header_size) / bytes;
    std::vector<std::unique_ptr<Segment>> segs;
    for (uint64_t i = 0; i * per_segment < total_events; i++)
        segs.push_back(make_segment(dir + "/floor-" + std::to_string(i) + ".seg", i + 1, warm));

    // Arrivals: the time of each tick and how many events had arrived by its
    // end. The two threads share only `arrived` (events copied so far) and
    // `done`; `syncs` is the syncer's until it is joined.
    std::vector<std::pair<int64_t, uint64_t>> ticks;
    ticks.reserve(size_t(seconds * 1e9 / double(tick_ns)) + 16);
    struct sync_span {
        int64_t start, end;
        uint64_t covers;  // events arrived before it started
    };
    std::vector<sync_span> syncs;
    std::atomic<uint64_t> arrived{0};
    std::atomic<bool> done{false};
    std::thread syncer([&] {
        uint64_t synced = 0;
        for (;;) {
            const uint64_t covers = arrived.load(std::memory_order_acquire);
            if (covers == synced) {
                if (done.load(std::memory_order_acquire) && arrived.load() == synced) return;
                std::this_thread::sleep_for(std::chrono::microseconds(5));
                continue;
            }
            const int64_t start = now_ns();
            // Every segment written since the last sync (at most two at a switch).
            const uint64_t first = synced / per_segment, last = (covers - 1) / per_segment;
            for (uint64_t k = first; k <= last; k++)
                if (::fdatasync(segs[k]->fd()) != 0) fail(std::string("fdatasync: ") + std::strerror(errno));
            syncs.push_back({start, now_ns(), covers});
            synced = covers;
        }
    });

    const int64_t t0 = now_ns();
    uint64_t n = 0;
    for (int64_t tick = t0; n < total_events; tick += tick_ns) {
        int64_t wait = tick - now_ns();
        if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
        const uint64_t due = std::min(total_events, uint64_t(double(tick + tick_ns - t0) * rate / 1e9));
        for (; n < due; n++) {
            const uint64_t k = n / per_segment, off = header_size + (n % per_segment) * bytes;
            std::memset(segs[k]->data() + off, int('a' + n % 26), bytes);
        }
        arrived.store(n, std::memory_order_release);
        ticks.emplace_back(now_ns(), n);
    }
    done.store(true, std::memory_order_release);
    syncer.join();
    const double wall = double(now_ns() - t0) / 1e9;

    // Each tick's events are acknowledged at the end of the first sync that
    // started after they arrived (sync covers >= the tick's count).
    std::vector<std::pair<double, uint64_t>> lat;  // (µs, events)
    size_t s = 0;
    uint64_t prev = 0;
    for (const auto& [at, count] : ticks) {
        while (s < syncs.size() && syncs[s].covers < count) s++;
        if (s == syncs.size()) break;
        lat.emplace_back(double(syncs[s].end - at) / 1e3, count - prev);
        prev = count;
    }
    std::sort(lat.begin(), lat.end());
    uint64_t total = 0;
    for (const auto& l : lat) total += l.second;
    auto pct = [&](double p) {
        uint64_t want = uint64_t(p * double(total)), seen = 0;
        for (const auto& l : lat)
            if ((seen += l.second) >= want) return l.first / 1e3;
        return lat.empty() ? 0.0 : lat.back().first / 1e3;
    };
    std::vector<double> sync_ms;
    for (const auto& sp : syncs) sync_ms.push_back(double(sp.end - sp.start) / 1e6);
    if (getenv("LONG_SYNC_MS")) {  // when the tail came, and what it covered
        const double over = std::atof(getenv("LONG_SYNC_MS"));
        for (const auto& sp : syncs)
            if (double(sp.end - sp.start) / 1e6 > over)
                std::fprintf(stderr, "sync at %.3f s took %.2f ms (%llu events arrived by its start)\n",
                             double(sp.start - t0) / 1e9, double(sp.end - sp.start) / 1e6,
                             (unsigned long long)sp.covers);
    }
    std::sort(sync_ms.begin(), sync_ms.end());
    auto spct = [&](double p) { return sync_ms.empty() ? 0.0 : sync_ms[size_t(p * double(sync_ms.size() - 1))]; };
    std::printf("sync floor: %.0f events/s of %llu bytes for %.1f s (%s segments): arrival->durable p50/p99 %.2f / "
                "%.2f ms, p99.9 %.2f ms; %zu syncs, each p50/p99 %.2f / %.2f ms\n",
                double(n) / wall, (unsigned long long)bytes, wall, warm ? "written" : "fallocated", pct(0.5),
                pct(0.99), pct(0.999), syncs.size(), spct(0.5), spct(0.99));
    for (const auto& sg : segs) ::unlink(sg->path().c_str());
    return 0;
}
