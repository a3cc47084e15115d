// SPDX-License-Identifier: Apache-2.0
// sluice-micro: Google Benchmark micro-benchmarks of the hot paths, on the
// project's own classes (bench/README.md says what each one measures and
// docs/benchmarks.md holds the figures):
//
//   LineFramer/*       io/line_framer.h frame_lines over a 256 KiB read
//   SpscRing/*         core/spsc_ring.h, the cross-shard ring of core/runtime,
//                      producer and consumer on two threads, batched publish
//   KeyPartition       XXH3 (operators/key_table.h key_hash) mod shards,
//                      the owner-shard choice of operators/stream.cc
//   KeyTable/*         operators/key_table.h KeyTable<Acc>: a batch's
//                      key_hash + find_or_insert + Acc::add (stream.cc's
//                      accept_pair for reduceByKey)
//   KeyTablePrefetched/*  the same through operators/pending_adds.h, as the
//                      stream adds to tables of 8192 keys or more
//   ShortKeySums/*     the same batch as the stream adds integer sums of keys
//                      of 1 to 7 bytes: operators/short_key_sums.h through
//                      ShortKeyAdds, then the fold into a KeyTable<Acc>
//   WindowSlide/*      operators/window.h reduce_window_step, plain and inverse
//   SegmentAppend/*    io/segment_log.h records appended to a mapped segment
//                      with one fdatasync per group of bytes (io/file_channel)
//   SyslogTcpParse/*   io/syslog_parser.h SyslogUtilsParser::feed_stream over
//                      64 KiB reads of sluice-loadgen's syslog lines into a
//                      fresh EventBatch per read, as io/syslog_tcp_source.cc
//                      does (RFC 5424 or RFC 3164 headers, 10 words)
//
// Key draws are `w<id>` words (as sluice-loadgen makes them), uniform or
// Zipf(1.0), from a fixed seed.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/event.h"
#include "core/spsc_ring.h"
#include "io/line_framer.h"
#include "io/segment_log.h"
#include "io/syslog_parser.h"
#include "operators/aggregate.h"
#include "operators/key_table.h"
#include "operators/pending_adds.h"
#include "operators/short_key_sums.h"
#include "operators/window.h"

using namespace sluice;

namespace {

// ------------------------------------------------------------ key draws

enum class dist { uniform, zipf };

// `draws` keys over a vocabulary of `vocab` words, laid out one after the
// other in one buffer (as the words of split lines are), with views into it.
struct key_draws {
    std::string text;
    std::vector<std::string_view> keys;
};

const key_draws& draws_for(uint64_t vocab, dist d, size_t draws) {
    static std::map<std::tuple<uint64_t, int, size_t>, std::unique_ptr<key_draws>> cache;
    auto& slot = cache[{vocab, int(d), draws}];
    if (slot) return *slot;
    slot = std::make_unique<key_draws>();
    std::mt19937_64 rng(42);
    std::vector<double> cdf;
    if (d == dist::zipf) {
        cdf.resize(vocab);
        double sum = 0;
        for (uint64_t k = 0; k < vocab; k++) cdf[k] = sum += 1.0 / double(k + 1);
        for (auto& c : cdf) c /= sum;
        cdf.back() = 1.0;
    }
    std::uniform_int_distribution<uint64_t> uni(0, vocab - 1);
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    std::vector<std::pair<size_t, size_t>> spans;
    spans.reserve(draws);
    for (size_t i = 0; i < draws; i++) {
        uint64_t id = d == dist::uniform ? uni(rng) : uint64_t(std::upper_bound(cdf.begin(), cdf.end(), unit(rng)) - cdf.begin());
        size_t at = slot->text.size();
        slot->text += 'w';
        slot->text += std::to_string(id);
        spans.emplace_back(at, slot->text.size() - at);
    }
    slot->keys.reserve(draws);
    for (auto [at, n] : spans) slot->keys.emplace_back(slot->text.data() + at, n);
    return *slot;
}

const char* dist_name(int64_t d) { return d == 0 ? "uniform" : "zipf"; }

// ------------------------------------------------------------ line framing

// A 256 KiB read (the netcat source's read size) of `line_bytes`-byte lines
// (newline included): ASCII, or 2-byte UTF-8 characters when `utf8`.
std::string lines_buffer(size_t line_bytes, bool utf8) {
    const size_t read_bytes = 256 * 1024;
    std::string line;
    if (utf8) {
        while (line.size() + 2 < line_bytes) line += "\xc3\xa9";  // é
        line.resize(line_bytes - 1, 'x');
    } else {
        line.assign(line_bytes - 1, 'x');
    }
    line += '\n';
    std::string buf;
    while (buf.size() + line.size() <= std::max(read_bytes, line.size())) buf += line;
    return buf;
}

// Args: line bytes, max_chars (the source's max-line-length), utf8.
void BM_LineFramer(benchmark::State& state) {
    const size_t line_bytes = size_t(state.range(0)), max_chars = size_t(state.range(1));
    const std::string buf = lines_buffer(line_bytes, state.range(2) != 0);
    uint64_t lines = 0;
    for (auto _ : state) {
        size_t sum = 0;
        FrameResult r = frame_lines(buf, max_chars, [&](size_t off, size_t len) {
            sum += off + len;
            return true;
        });
        if (r.too_long || r.consumed != buf.size()) state.SkipWithError("framing stopped early");
        benchmark::DoNotOptimize(sum);
        lines += buf.size() / line_bytes;
    }
    state.SetBytesProcessed(int64_t(state.iterations() * buf.size()));
    state.SetItemsProcessed(int64_t(lines));
}
// 100-byte lines at the netcat default (512); long ASCII lines under a large
// limit (no character count needed); long UTF-8 lines whose byte length
// reaches the limit, so every line is counted in Java characters.
BENCHMARK(BM_LineFramer)
    ->ArgNames({"line_bytes", "max_chars", "utf8"})
    ->Args({100, 512, 0})
    ->Args({4096, 1 << 20, 0})
    ->Args({65536, 1 << 20, 0})
    ->Args({65536, 40000, 1});

// ------------------------------------------------------------ cross-shard ring

// What core/runtime sends between shards: one pointer per message.
struct ring_message {
    void* task;
};

inline void spin_pause(unsigned& spins) {
    // Yield now and then, so the two sides also make progress on one CPU.
    if (++spins % 64 == 0) std::this_thread::yield();
#if defined(__x86_64__)
    else __builtin_ia32_pause();
#endif
}

SpscRing<ring_message>* g_ring = nullptr;

// Thread 0 produces, thread 1 consumes; each iteration moves one batch of
// `batch` messages (staged one by one, one publish), as a shard flushing its
// outbound backlog does. Ring of 1024 slots (RuntimeOptions::ring_slots).
void BM_SpscRing(benchmark::State& state) {
    const size_t batch = size_t(state.range(0));
    if (state.thread_index() == 0) g_ring = new SpscRing<ring_message>(1024);
    // (the loop's start is a barrier for both threads: the ring exists by then)
    if (state.thread_index() == 0) {
        uintptr_t next = 1;
        unsigned spins = 0;
        for (auto _ : state) {
            for (size_t i = 0; i < batch; i++) {
                while (!g_ring->try_stage(ring_message{reinterpret_cast<void*>(next)})) {
                    g_ring->publish();
                    spin_pause(spins);
                }
                next++;
            }
            g_ring->publish();
        }
        state.SetItemsProcessed(int64_t(state.iterations() * batch));
    } else {
        uintptr_t sum = 0;
        unsigned spins = 0;
        for (auto _ : state) {
            size_t got = 0;
            while (got < batch) {
                size_t n = g_ring->poll([&](const ring_message& m) { sum += reinterpret_cast<uintptr_t>(m.task); }, batch - got);
                if (n == 0) spin_pause(spins);
                got += n;
            }
        }
        benchmark::DoNotOptimize(sum);
    }
    // (the loop's end is a barrier too: both sides are done with the ring)
    if (state.thread_index() == 0) {
        delete g_ring;
        g_ring = nullptr;
    }
}
BENCHMARK(BM_SpscRing)->ArgName("batch")->Arg(1)->Arg(16)->Arg(256)->Threads(2)->UseRealTime();

// ------------------------------------------------------------ key partitioning

constexpr size_t draws_per_batch = 1 << 20;

// key_hash (XXH3, inlined) of each word, mod the shard count: which owner
// shard a key's partial goes to at the end of a batch.
void BM_KeyPartition(benchmark::State& state) {
    const auto& d = draws_for(100000, dist::uniform, draws_per_batch);
    const uint64_t shards = 4;
    std::vector<uint32_t> per_shard(shards);
    for (auto _ : state) {
        for (std::string_view k : d.keys) per_shard[ops::key_hash(k) % shards]++;
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(int64_t(state.iterations() * d.keys.size()));
    state.SetBytesProcessed(int64_t(state.iterations() * (d.text.size())));
    benchmark::DoNotOptimize(per_shard.data());
}
BENCHMARK(BM_KeyPartition);

// ------------------------------------------------------------ keyed aggregation

// One batch of 2^20 (key, 1) pairs into a fresh KeyTable<Acc>, as
// reduceByKey(sum) combines a batch on a shard: key_hash, find_or_insert,
// Acc::add. Args: vocabulary (keys), distribution (0 uniform, 1 Zipf 1.0).
void BM_KeyTable(benchmark::State& state) {
    const uint64_t vocab = uint64_t(state.range(0));
    const auto& d = draws_for(vocab, state.range(1) == 0 ? dist::uniform : dist::zipf, draws_per_batch);
    size_t held = 0;
    uint64_t seq = 0;
    for (auto _ : state) {
        ops::KeyTable<ops::Acc> table(64);
        for (std::string_view k : d.keys)
            table.find_or_insert(k, ops::key_hash(k), ops::Acc{}).add(ops::Agg::sum, ops::Num::of_int(1), ops::Order::at(0, seq++));
        held = table.size();
        benchmark::DoNotOptimize(table);
    }
    state.SetItemsProcessed(int64_t(state.iterations() * d.keys.size()));
    state.counters["keys_held"] = double(held);
    state.SetLabel(dist_name(state.range(1)));
}
BENCHMARK(BM_KeyTable)
    ->ArgNames({"keys", "zipf"})
    ->ArgsProduct({{1000, 100000, 1000000}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// The same batch as the stream adds it once the table holds 8192 keys or
// more: through PendingAdds, which prefetches each add's control byte and
// entry before applying it (operators/pending_adds.h).
void BM_KeyTablePrefetched(benchmark::State& state) {
    const uint64_t vocab = uint64_t(state.range(0));
    const auto& d = draws_for(vocab, state.range(1) == 0 ? dist::uniform : dist::zipf, draws_per_batch);
    size_t held = 0;
    uint64_t seq = 0;
    ops::PendingAdds pending;
    for (auto _ : state) {
        ops::KeyTable<ops::Acc> table(vocab);  // the stream sizes a batch's table by the last batch's keys
        for (std::string_view k : d.keys)
            pending.push(table, k, true, ops::key_hash(k), ops::Num::of_int(1), ops::Order::at(0, seq++), ops::Agg::sum);
        pending.flush(ops::Agg::sum);
        held = table.size();
        benchmark::DoNotOptimize(table);
    }
    state.SetItemsProcessed(int64_t(state.iterations() * d.keys.size()));
    state.counters["keys_held"] = double(held);
    state.SetLabel(dist_name(state.range(1)));
}
BENCHMARK(BM_KeyTablePrefetched)
    ->ArgNames({"keys", "zipf"})
    ->ArgsProduct({{100000, 1000000}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// The same batch as reduceByKey(sum) adds it when every key has 1 to 7
// bytes (the `w<id>` words all do): into ShortKeySums through ShortKeyAdds,
// then folded into a KeyTable<Acc> as the stream does at the batch's close
// (XXH3 once per key, not per add).
void BM_ShortKeySums(benchmark::State& state) {
    const uint64_t vocab = uint64_t(state.range(0));
    const auto& d = draws_for(vocab, state.range(1) == 0 ? dist::uniform : dist::zipf, draws_per_batch);
    size_t held = 0;
    ops::ShortKeyAdds adds;
    for (auto _ : state) {
        ops::ShortKeySums sums(vocab);  // the stream sizes a batch's table by the last batch's keys
        ops::KeyTable<ops::Acc> table(64);
        for (std::string_view k : d.keys) adds.push(sums, table, k, 1, ops::Agg::sum);
        adds.flush(ops::Agg::sum);
        sums.fold_into(table, ops::Agg::sum);
        held = table.size();
        benchmark::DoNotOptimize(table);
    }
    state.SetItemsProcessed(int64_t(state.iterations() * d.keys.size()));
    state.counters["keys_held"] = double(held);
    state.SetLabel(dist_name(state.range(1)));
}
BENCHMARK(BM_ShortKeySums)
    ->ArgNames({"keys", "zipf"})
    ->ArgsProduct({{1000, 100000, 1000000}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

// ------------------------------------------------------------ window slide

// reduceByKeyAndWindow(sum, 30 s window, 1 s slide) over 1 s batches: one
// step at steady state (the 30 batches of the window already held), where
// each batch holds every one of `keys` keys. Plain merges the 30 batch
// tables into a fresh table; inverse subtracts the batch that left and adds
// the one that came. Emitted rows (key, value) are copied out, as the owner
// does. Args: keys, inverse.
void BM_WindowSlide(benchmark::State& state) {
    const size_t keys = size_t(state.range(0));
    const bool inverse = state.range(1) != 0;
    const int64_t batch_ms = 1000;
    const ops::WindowSpec spec{30 * batch_ms, batch_ms, ops::Agg::sum, inverse, false};
    ops::KeyTable<ops::Acc> one_batch(keys);
    for (size_t i = 0; i < keys; i++) {
        std::string k = "w" + std::to_string(i);
        ops::Acc a;
        a.add(ops::Agg::sum, ops::Num::of_int(int64_t(i % 7 + 1)), ops::Order::at(0, i));
        one_batch.find_or_insert(k, ops::key_hash(k), a);
    }
    std::map<int64_t, ops::KeyList<ops::Acc>> batches;
    ops::KeyTable<ops::Acc> window_value(64);
    std::vector<std::pair<std::string, ops::Num>> rows;
    auto emit = [&](std::string_view k, ops::Num v) { rows.emplace_back(std::string(k), v); };
    int64_t t = batch_ms;
    for (; t <= 31 * batch_ms; t += batch_ms) {  // fill the window
        rows.clear();
        ops::reduce_window_step(batches, window_value, t, ops::KeyTable<ops::Acc>(one_batch), spec, emit);
    }
    for (auto _ : state) {
        state.PauseTiming();
        ops::KeyTable<ops::Acc> next(one_batch);
        rows.clear();
        state.ResumeTiming();
        ops::reduce_window_step(batches, window_value, t, std::move(next), spec, emit);
        t += batch_ms;
    }
    if (rows.size() != keys) state.SkipWithError("a step emitted the wrong number of rows");
    state.SetItemsProcessed(int64_t(state.iterations() * keys));
    state.SetLabel(inverse ? "inverse" : "plain");
}
BENCHMARK(BM_WindowSlide)
    ->ArgNames({"keys", "inverse"})
    ->ArgsProduct({{1000, 100000}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

// ------------------------------------------------------------ durable append

// Where segment files go: $SLUICE_BENCH_DIR, else $TMPDIR, else /tmp (a real
// disk file system: on tmpfs fdatasync costs nothing).
std::string bench_dir() {
    for (const char* v : {"SLUICE_BENCH_DIR", "TMPDIR"})
        if (const char* d = std::getenv(v); d && *d) return d;
    return "/tmp";
}

// Records of `batch` 100-byte events appended (write_events_record, as the
// file channel's put does) into two recycled, prefaulted 64 MiB segments,
// with one fdatasync per `group` bytes written (the channel's group commit)
// and on each segment switch. Args: batch, group bytes.
void BM_SegmentAppend(benchmark::State& state) {
    using namespace sluice::seglog;
    const uint32_t batch = uint32_t(state.range(0));
    const uint64_t group = uint64_t(state.range(1));
    const uint64_t seg_size = 64 << 20;
    std::string dir = bench_dir() + "/sluice-micro-XXXXXX";
    if (!::mkdtemp(dir.data())) {
        state.SkipWithError("mkdtemp failed");
        return;
    }
    auto events = std::make_shared<EventBatch>();
    for (uint32_t i = 0; i < batch; i++) events->add(std::string(100, char('a' + i % 26)));
    std::vector<EventSpan> spans{EventSpan{events, 0, batch}};
    const uint64_t len = events_record_length(spans);
    std::vector<std::unique_ptr<Segment>> segs;
    for (int i = 0; i < 2; i++) {
        auto s = Segment::create(dir + "/" + segment_file_name(uint64_t(i + 1)), SegmentHeader{0, uint64_t(i + 1), 0, seg_size, segment_state::live});
        if (!s) {
            state.SkipWithError(s.status().message().c_str());
            return;
        }
        s.value()->prefault();
        segs.push_back(std::move(s.value()));
    }
    size_t cur = 0;
    uint64_t off = header_size, unsynced = 0, seq = 0, index = 3, syncs = 0;
    for (auto _ : state) {
        if (off + len + 8 > seg_size) {
            ::fdatasync(segs[cur]->fd());
            syncs++;
            cur ^= 1;
            segs[cur]->set_header(SegmentHeader{0, index++, seq, seg_size, segment_state::live});
            off = header_size;
            unsynced = 0;
        }
        std::memset(segs[cur]->data() + align8(off + len), 0, 8);  // the end marker after the record
        write_events_record(segs[cur]->data() + off, segs[cur]->header.index, seq, 0, spans, batch, uint32_t(len));
        seq += batch;
        off = align8(off + len);
        unsynced += len;
        if (unsynced >= group) {
            ::fdatasync(segs[cur]->fd());
            syncs++;
            unsynced = 0;
        }
    }
    state.SetItemsProcessed(int64_t(state.iterations() * batch));
    state.SetBytesProcessed(int64_t(state.iterations() * len));
    state.counters["syncs"] = benchmark::Counter(double(syncs), benchmark::Counter::kIsRate);
    for (auto& s : segs) ::unlink(s->path().c_str());
    segs.clear();
    ::rmdir(dir.c_str());
}
BENCHMARK(BM_SegmentAppend)
    ->ArgNames({"batch", "group"})
    ->Args({1, 1 << 20})
    ->Args({100, 1 << 20})
    ->Args({1000, 1 << 20})
    ->UseRealTime();

// ------------------------------------------------------------ syslog parsing

// 64 KiB of syslog lines shaped as sluice-loadgen --proto syslog makes them:
// the priority cycles through 0..191, the stamp is fixed, then 10 words.
std::string syslog_buffer(int format) {
    const size_t read_bytes = 64 * 1024;
    std::mt19937_64 rng(7);
    std::string buf, line;
    for (unsigned i = 0;; i++) {
        char head[96];
        int n = format == 3164
                    ? std::snprintf(head, sizeof head, "<%u>Jun 15 12:00:00 loadgen sluice-loadgen: ", i % 192)
                    : std::snprintf(head, sizeof head, "<%u>1 2024-06-15T12:00:00.000Z loadgen sluice-loadgen - - - ",
                                    i % 192);
        line.assign(head, size_t(n));
        for (int w = 0; w < 10; w++) {
            if (w) line += ' ';
            line += 'w';
            line += std::to_string(rng() % 1000);
        }
        line += '\n';
        if (buf.size() + line.size() > read_bytes) break;
        buf += line;
    }
    return buf;
}

// Arg: the RFC (5424 or 3164). One iteration parses one read into a new
// batch sized as io/syslog_tcp_source.cc sizes it.
void BM_SyslogTcpParse(benchmark::State& state) {
    setenv("TZ", "UTC", 1);
    const std::string buf = syslog_buffer(int(state.range(0)));
    const size_t lines = size_t(std::count(buf.begin(), buf.end(), '\n'));
    SyslogUtilsParser parser(2500, parse_keep_fields("none"));
    const int64_t now_ms = 1718452800000;
    for (auto _ : state) {
        auto batch = std::make_shared<EventBatch>(buf.size() / 48 + 16, buf.size() * 2 + 1024, buf.size() / 16 + 64);
        uint32_t n = parser.feed_stream(buf, *batch, {}, now_ms);
        if (n != lines) state.SkipWithError("wrong event count");
        benchmark::DoNotOptimize(batch.get());
    }
    state.SetBytesProcessed(int64_t(state.iterations() * buf.size()));
    state.SetItemsProcessed(int64_t(state.iterations() * lines));
}
BENCHMARK(BM_SyslogTcpParse)->ArgName("rfc")->Arg(5424)->Arg(3164);

}  // namespace

int main(int argc, char** argv) {
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    struct statfs fs{};
    const std::string dir = bench_dir();
    benchmark::AddCustomContext("segment_dir", dir);
    if (::statfs(dir.c_str(), &fs) == 0) {
        char magic[32];
        std::snprintf(magic, sizeof magic, "0x%lx", static_cast<unsigned long>(fs.f_type));
        benchmark::AddCustomContext("segment_dir_fs_magic", magic);
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
