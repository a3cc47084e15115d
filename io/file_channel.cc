// SPDX-License-Identifier: Apache-2.0
// The `file` channel: Flume's FileChannel (reference/flume.md §8.2) on the
// segment format of docs/durable-format.md.
//
// Each shard owns one chain of memory-mapped segments (its slice): puts and
// takes on a shard append to that shard's chain without a lock, and what the
// slices share is the channel's capacity (an atomic, as in the memory
// channel). A commit copies its record into the mapping and is visible to
// takers at once; sources acknowledge it only once it is durable
// (Channel::when_durable), after a grouped fdatasync that runs on the
// reactor's worker threads (io/sync_order.h: syncs of different segments
// finish in any order, and a commit counts as durable only once every sync
// started before its own has succeeded too). Takes hand out the put's own
// batches while the chain holds them (takeCacheBytes), else read events back
// from the mapping, so beyond that bound the channel holds in memory only an
// index of what is queued.
#include "io/file_channel.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/assert.h"
#include "core/component.h"
#include "core/crash_point.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/segment_log.h"
#include "io/sync_order.h"

namespace sluice {

using namespace seglog;

namespace {

constexpr int64_t sync_retry_us = 100 * 1000;
constexpr uint64_t page_bytes = 4096;  // the smallest page a mapping has: touching each one dirties it
// A chain's spare segment while it is made and until it is used.
constexpr std::string_view spare_file_name = "spare.tmp";

std::string full_text(const std::string& name) {
    return "The channel has reached it's capacity. This might be the result of a sink on the channel having too low "
           "of batch size, a downstream system running slower than normal, or that the channel capacity is just too "
           "low. [channel=" + name + "]";
}

std::string expand_home(const std::string& path) {
    if (path.rfind("~/", 0) != 0) return path;
    const char* home = getenv("HOME");
    return std::string(home ? home : "") + path.substr(1);
}

Status make_dirs(const std::string& path) {
    std::string cur;
    for (size_t i = 0; i <= path.size(); i++) {
        if (i == path.size() || (path[i] == '/' && i > 0)) {
            cur = path.substr(0, i);
            if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return io_error("mkdir " + cur, errno);
        }
    }
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return Status(errc::io, path + " is not a directory");
    if (::access(path.c_str(), W_OK) != 0) return io_error(path, errno);
    return Status::ok();
}

// A committed record's events as the put handed them over, kept in memory
// so a take hands out those batches instead of decoding the record (the
// same events: the record was encoded from them). Held while a run of the
// record is queued or taken, within takeCacheBytes per chain; a record
// committed beyond it is read back from its segment when taken.
struct held_events {
    held_events(std::vector<EventSpan> s, uint64_t first, uint64_t b, uint64_t* total)
        : spans(std::move(s)), first_seq(first), bytes(b), held_total(total) {
        *held_total += bytes;
    }
    held_events(const held_events&) = delete;
    held_events& operator=(const held_events&) = delete;
    ~held_events() { *held_total -= bytes; }

    std::vector<EventSpan> spans;
    uint64_t first_seq;   // of spans' first event
    uint64_t bytes;       // the spans' batches' body bytes: what is held, about
    uint64_t* held_total;  // the chain's count (shard only)
};

// Events [seq, seq+count) of one events record, the next of them at `off`
// (when the run is not held: a held run is never decoded, so its `off`
// stays at the record's first event).
struct run {
    Segment* seg;
    uint64_t off;
    uint64_t seq;
    uint32_t count;
    int64_t time_ms;
    // The seq after the record's last event: the same for every run cut from
    // one record, and different for any two records (runs may only be
    // rejoined within a record: `off` walks one record's events).
    uint64_t record_end_seq;
    std::shared_ptr<const held_events> held;  // null: decode from the segment
};

}  // namespace



class Chain;

// A thread of the channel for the blocking work no shard should wait for
// (docs/durable-format.md §5): making spare segments (allocating and
// pre-faulting 64 MiB takes 10-35 ms) and writing checkpoint files (a
// write, two syncs and a rename: 2-3 ms).
class ChannelWorker {
public:
    ChannelWorker() = default;
    ChannelWorker(const ChannelWorker&) = delete;
    ChannelWorker& operator=(const ChannelWorker&) = delete;
    ~ChannelWorker() { stop(); }

    // Main thread, at the channel's start: the thread inherits the
    // process's CPUs, not a pinned shard's.
    void start() { _thread = std::thread([this] { loop(); }); }
    // Any thread: runs `job` on the worker's thread, after those posted
    // before it. False (and nothing runs) once stopped.
    bool post(std::function<void()> job);
    // Ends the thread once the job in progress is done; later ones are dropped.
    void stop();

private:
    void loop();

    std::mutex _mu;
    std::condition_variable _cv;
    std::deque<std::function<void()>> _jobs;
    bool _stop = false;  // under _mu
    std::thread _thread;
};

// What the chains of one channel share. Counters are atomics (any shard).
struct file_shared {
    const file_options& opts;
    CounterGroup& counters;
    ChannelWorker* worker = nullptr;  // null: chains make segments and checkpoints themselves
    alignas(cache_line) std::atomic<int64_t> used_events{0};
    std::atomic<uint64_t> put_errors{0}, take_errors{0}, checkpoint_errors{0}, backup_checkpoint_errors{0};
};

// One shard's chain of segments and the queue of what it holds. After
// start, only the owning shard's thread touches it.
class Chain : public std::enable_shared_from_this<Chain> {
public:
    Chain(file_shared& sh, unsigned id, std::string data_dir)
        : _sh(sh), _id(id), _data_dir(std::move(data_dir)), _dir(_data_dir + "/" + chain_dir_name(id)) {}

    unsigned id() const { return _id; }
    // Main thread, before the shards use the chain.
    Status recover();
    // Appends the whole queue of `from` (a chain of a shard that no longer
    // exists) to this chain, syncs, and deletes `from`'s files.
    Status adopt(Chain& from, const std::string& checkpoint_dir, const std::string& backup_dir);
    void attach(Shard& shard);  // on the shard: arm timers
    void detach();              // on the shard: final sync and checkpoint, timers off

    Status append_events(const std::vector<EventSpan>& spans, uint32_t count, int64_t time_ms);
    Status append_take(const std::vector<SeqRange>& ranges);
    // Removes up to `want` events from the queue head, appending them in
    // order to `out` (the put's own batches where held, else one batch
    // decoded from the segments) and what was taken to `pieces`. Returns
    // how many.
    uint32_t take(uint32_t want, std::vector<EventSpan>& out, std::vector<run>& pieces);
    void untake(std::vector<run>& pieces);  // rollback: back to the head, in order
    void consumed(const std::vector<run>& pieces);

    uint64_t queued() const { return _queued.load(std::memory_order_relaxed); }
    void add_listener(std::function<void()> fn) { _listeners.push_back(std::move(fn)); }
    void notify() {
        for (auto& fn : _listeners) fn();
    }
    uint64_t commit_mark() const { return _commits; }
    void when_durable(uint64_t mark, std::function<void()> fn);

    // The worker's thread: makes this chain's spare (blocking) and hands it over.
    void make_spare();
    // Main thread, before attach: makes the spare the chain will want
    // first (a new channel's first segment), so no shard waits for it.
    void make_first_spare();
    // Deletes a spare nobody will use (the channel stops).
    void drop_spare();

private:
    Result<uint64_t> room_for(uint64_t len);
    // Whether the chain's directory has room for one more segment above
    // minimumRequiredSpace (true when statvfs cannot tell). Any thread.
    bool room_for_segment(int64_t* usable, int64_t* required) const;
    void ask_for_spare();
    std::unique_ptr<Segment> take_spare();
    Status next_segment();
    Status segment_failed(const Status& st);  // logs (rate-limited); the put error
    void recycle(std::unique_ptr<Segment> seg);
    // [off, off + len) of s was written: the next sync covers it.
    void dirtied(Segment* s, uint64_t off, uint64_t len);
    // A sync of [lo, hi) of s failed. Linux may have marked the pages whose
    // writeback failed clean, so that a second fdatasync would find nothing
    // to write and succeed: each page's first byte is written again (its own
    // value) to make every page dirty, and the next sync covers the range.
    void redirty(Segment* s, uint64_t lo, uint64_t hi);
    void maybe_sync();
    void start_sync();
    // A group sync: its segments, each with what it covers.
    struct sync_range {
        Segment* seg;
        uint64_t lo, hi;
    };
    void sync_done(uint64_t seq, int err, const std::vector<sync_range>& ranges);
    void release_waiters();  // runs the when_durable callbacks now due
    // Blocking, at detach, adopt and checkpoint_now: syncs every dirty
    // segment, in turn with the group syncs. 0 when all succeeded (their
    // commits are durable now), else the first errno: the failed segments
    // stay dirty, their pages written again, and nothing more is durable.
    int sync_now();
    // Syncs what is dirty, then runs fn once every sync started so far is done.
    void after_syncs(std::function<void(bool synced)> fn);
    // Checkpoints without blocking the shard: syncs through the reactor, the
    // file written on the worker, the recycling back on the shard.
    void checkpoint();
    void checkpoint_written(const Checkpoint& cp, size_t keep, bool ok);
    // cp is on disk: recycles the first `keep` segments, which it skips.
    void checkpoint_done(const Checkpoint& cp, size_t keep);
    void checkpoint_now();  // blocking: at detach, or without a worker
    // The checkpoint due now and how many consumed segments at the front it
    // frees; false when nothing changed since the last one.
    bool next_checkpoint(Checkpoint* cp, size_t* keep) const;
    void arm_checkpoint_timer();
    void arm_fsync_timer();
    void add_queued(int64_t d) { _queued.store(uint64_t(int64_t(queued()) + d), std::memory_order_relaxed); }
    Segment* write_seg() { return _live.empty() ? nullptr : _live.back().get(); }

    file_shared& _sh;
    const unsigned _id;
    const std::string _data_dir, _dir;
    Shard* _shard = nullptr;

    std::deque<std::unique_ptr<Segment>> _live;  // index order; back() is written
    std::deque<std::unique_ptr<Segment>> _free;
    uint64_t _next_index = 1, _next_seq = 0, _write_off = 0;

    uint64_t _held_bytes = 0;  // before _queue: its runs' held_events count down into it
    std::deque<run> _queue;
    std::atomic<uint64_t> _queued{0};
    std::vector<std::function<void()>> _listeners;
    uint64_t _low = 0;                        // every seq below is consumed
    std::map<uint64_t, uint64_t> _consumed;   // consumed ranges above _low: first -> end

    // Group commit.
    uint64_t _commits = 0, _durable = 0;
    SyncOrder _syncs;  // the group syncs and a checkpoint's own, by start order
    std::vector<Segment*> _dirty;
    uint64_t _unsynced_bytes = 0;
    int64_t _oldest_unsynced_us = 0;
    TimerId _group_timer = 0, _checkpoint_timer = 0, _fsync_timer = 0;
    std::deque<std::pair<uint64_t, std::function<void()>>> _waiters;
    bool _checkpoint_due = false;
    // A checkpoint under way (its syncs, then its file on the worker), and
    // one more asked for meanwhile.
    bool _checkpoint_running = false, _checkpoint_again = false;
    // Callbacks, by the last sync started before them: they run once every
    // sync up to it has finished (false: one failed).
    std::deque<std::pair<uint64_t, std::function<void(bool)>>> _after_syncs;
    int64_t _space_logged_us = INT64_MIN / 2;
    bool _segment_failing = false;  // the last new segment could not be made
    int64_t _segment_logged_us = 0;
    uint64_t _checkpointed_low = UINT64_MAX;

    // The spare: made on the worker's thread, handed over under _spare_mu.
    // _spare_asked is the shard's: a spare was asked for and not yet taken.
    std::mutex _spare_mu;
    std::unique_ptr<Segment> _spare;
    bool _spare_failed = false;
    bool _spare_asked = false;

    friend class FileChannel;
};

Status Chain::recover() {
    if (Status st = make_dirs(_dir); !st) return st;
    const auto& o = _sh.opts;
    ::unlink((_dir + "/" + std::string(spare_file_name)).c_str());  // interrupted or never used
    std::vector<uint64_t> found = list_segments(_dir);
    for (uint64_t idx : found) {
        std::string path = _dir + "/" + segment_file_name(idx);
        auto seg = Segment::open(path, true);
        SegmentHeader h;
        Status st = seg ? decode_header(seg.value()->bytes(), h) : seg.status();
        if (st && (h.index != idx || h.chain != _id))
            st = Status(errc::corrupt, "header names chain " + std::to_string(h.chain) + " segment " + std::to_string(h.index));
        _next_index = std::max(_next_index, idx + 1);
        if (!st) {
            log_warn("file channel %s: %s: %s; left alone", o.name.c_str(), path.c_str(), st.message().c_str());
            continue;
        }
        if (h.file_size != seg.value()->size())
            log_warn("file channel %s: %s is %llu bytes, its header says %llu (truncated?)", o.name.c_str(), path.c_str(),
                     (unsigned long long)seg.value()->size(), (unsigned long long)h.file_size);
        seg.value()->header = h;
        if (h.state == segment_state::free)
            _free.push_back(std::move(seg.value()));
        else
            _live.push_back(std::move(seg.value()));
    }

    // The checkpoint, if one is usable.
    Checkpoint cp;
    bool have_cp = false;
    std::string why = "none";
    for (const std::string& dir : {o.checkpoint_dir, o.backup_checkpoint_dir}) {
        if (dir.empty() || have_cp) continue;
        std::string path = dir + "/checkpoint-" + std::to_string(_id);
        auto bytes = read_small_file(path, checkpoint_size);
        if (!bytes) continue;
        Status st = decode_checkpoint(bytes.value(), cp);
        if (st && cp.chain != _id) st = Status(errc::corrupt, "checkpoint of another chain");
        if (st && !_live.empty() &&
            std::none_of(_live.begin(), _live.end(), [&](auto& seg) { return seg->header.index == cp.segment_index; }))
            st = Status(errc::corrupt, "its segment " + std::to_string(cp.segment_index) + " is gone");
        if (st) {
            have_cp = true;
        } else {
            why = path + ": " + st.message();
        }
    }
    if (!have_cp && !_live.empty())
        log_warn("file channel %s: chain %u: no usable checkpoint (%s); replaying every live segment", o.name.c_str(), _id,
                 why.c_str());
    if (!have_cp) cp = Checkpoint{};

    // Live segments before the checkpoint's hold only consumed events.
    while (have_cp && !_live.empty() && _live.front()->header.index < cp.segment_index) {
        auto seg = std::move(_live.front());
        _live.pop_front();
        recycle(std::move(seg));
    }

    // Scan: segments [0, end_seg) are the log.
    std::vector<run> runs;
    std::vector<SeqRange> takes;
    uint64_t records = 0;
    size_t end_seg = _live.size();
    std::string bad, bad_path;
    uint64_t bad_offset = 0;
    if (!_live.empty()) _next_seq = _live.front()->header.first_seq;
    for (size_t i = 0; i < _live.size(); i++) {
        Segment& seg = *_live[i];
        if (seg.header.first_seq != _next_seq) {
            bad = "segment starts at seq " + std::to_string(seg.header.first_seq) + ", expected " + std::to_string(_next_seq);
            bad_path = seg.path();
            end_seg = i;  // writing goes on where the previous segment ended
            break;
        }
        // Version 1 checkpoints name a segment, and the scan covers all of it.
        ScanEnd end = scan_segment(seg.bytes(), seg.header.index, header_size, _next_seq, [&](const Record& r) {
            records++;
            if (r.type == record_type::take) {
                decode_take(r, takes);
                return;
            }
            if (r.seq + r.count <= cp.low) return;
            run rn{&seg, r.offset + record_header_size, r.seq, r.count, r.time_ms, r.seq + r.count, nullptr};
            if (rn.seq < cp.low) {
                uint32_t skip = uint32_t(cp.low - rn.seq);
                bool ok = skip_events(seg.bytes(), rn.off, skip);
                SLUICE_ASSERT(ok, "an events record with a good CRC does not decode");
                rn.seq += skip;
                rn.count -= skip;
            }
            runs.push_back(rn);
        });
        _write_off = end.offset;
        if (!end.bad.empty()) {
            bad = end.bad;
            bad_path = seg.path();
            bad_offset = end.offset;
            // Truncate: the bad record's length becomes the end of the log.
            if (end.offset + 8 <= seg.size()) std::memset(seg.data() + end.offset, 0, 8);
            end_seg = i + 1;
            break;
        }
    }
    if (!bad.empty()) {
        log_warn("file channel %s: chain %u: %s offset %llu: %s; the log ends there (%zu segment(s) from there on "
                 "skipped)",
                 o.name.c_str(), _id, bad_path.c_str(), (unsigned long long)bad_offset, bad.c_str(),
                 _live.size() - end_seg);
        while (_live.size() > end_seg) {
            auto seg = std::move(_live.back());
            _live.pop_back();
            recycle(std::move(seg));
        }
    }
    if (_live.empty()) {
        _next_seq = std::max(_next_seq, cp.low);
        _write_off = 0;
    }

    // What is left: the runs minus the consumed ranges.
    std::sort(takes.begin(), takes.end(), [](auto& a, auto& b) { return a.first < b.first; });
    size_t t = 0;
    for (run rn : runs) {
        while (rn.count > 0) {
            while (t < takes.size() && takes[t].first + takes[t].n <= rn.seq) t++;
            if (t < takes.size() && takes[t].first <= rn.seq) {
                uint32_t skip = uint32_t(std::min<uint64_t>(takes[t].first + takes[t].n - rn.seq, rn.count));
                bool ok = skip_events(rn.seg->bytes(), rn.off, skip);
                SLUICE_ASSERT(ok, "an events record with a good CRC does not decode");
                rn.seq += skip;
                rn.count -= skip;
                continue;
            }
            uint32_t keep = rn.count;
            if (t < takes.size() && takes[t].first < rn.seq + rn.count) keep = uint32_t(takes[t].first - rn.seq);
            run part = rn;
            part.count = keep;
            _queue.push_back(part);
            part.seg->live_events += keep;
            if (keep == rn.count) break;  // the whole rest of the record: no need to find where it ends
            bool ok = skip_events(rn.seg->bytes(), rn.off, keep);
            SLUICE_ASSERT(ok, "an events record with a good CRC does not decode");
            rn.seq += keep;
            rn.count -= keep;
        }
    }
    _low = _queue.empty() ? _next_seq : _queue.front().seq;
    for (auto& r : takes)
        if (r.first > _low) _consumed[r.first] = std::max(_consumed[r.first], r.first + r.n);
    uint64_t n = 0;
    for (auto& r : _queue) n += r.count;
    add_queued(int64_t(n));
    _sh.used_events.fetch_add(int64_t(n));
    if (!_live.empty() || n > 0)
        log_info("file channel %s: chain %u: recovered %llu events (%llu records, %zu live segments, scan from %s)",
                 o.name.c_str(), _id, (unsigned long long)n, (unsigned long long)records, _live.size(),
                 have_cp ? "checkpoint" : "the oldest segment");
    // Segments whose events are all consumed (before the first that holds
    // one) go back to the free list once a checkpoint says so.
    _checkpoint_due = true;
    return Status::ok();
}

Result<uint64_t> Chain::room_for(uint64_t len) {
    auto too_big = [&](uint64_t segment_size) {
        return Status(errc::invalid_argument, "a transaction of " + std::to_string(len) +
                                                  " bytes does not fit in a segment of maxFileSize " +
                                                  std::to_string(segment_size) + " [channel=" + _sh.opts.name + "]");
    };
    // Refused before the current segment is closed for it: a source that
    // retries such a put in smaller pieces must not roll a segment per try.
    if (len > _sh.opts.max_file_size - header_size) return too_big(_sh.opts.max_file_size);
    Segment* seg = write_seg();
    if (!seg || _write_off + len > seg->size()) {
        if (Status st = next_segment(); !st) return st;
        seg = write_seg();
        if (len > seg->size() - header_size) return too_big(seg->size());  // a smaller recycled segment
    }
    uint64_t off = _write_off;
    if (!_spare_asked && _free.empty() && off > seg->size() / 2) ask_for_spare();
    // The log must keep ending in a zero length (a recycled segment holds old records).
    uint64_t after = align8(off + len);
    if (after + 8 <= seg->size()) std::memset(seg->data() + after, 0, 8);
    return off;
}

Status Chain::next_segment() {
    const auto& o = _sh.opts;
    SegmentHeader h{_id, _next_index, _next_seq, o.max_file_size, segment_state::live};
    std::string path = _dir + "/" + segment_file_name(_next_index);
    std::unique_ptr<Segment> seg;
    if (!_free.empty()) {
        seg = std::move(_free.front());
        _free.pop_front();
        if (Status st = seg->rename_to(path); !st) {
            _free.push_front(std::move(seg));
            return segment_failed(st);
        }
        h.file_size = seg->size();
        std::memset(seg->data() + header_size, 0, 8);
        seg->set_header(h);
    } else if ((seg = take_spare())) {
        if (Status st = seg->rename_to(path); !st) {
            ::unlink(seg->path().c_str());
            return segment_failed(st);
        }
        seg->set_header(h);
    } else {
        int64_t usable = 0, required = 0;
        if (!room_for_segment(&usable, &required)) {
            // Every put fails now: say so once a second, not once a put.
            int64_t now = monotonic_us();
            if (now - _space_logged_us >= 1000000) {
                _space_logged_us = now;
                log_error("file channel %s: Usable space exhausted, only %lld bytes remaining, required %lld bytes",
                          o.name.c_str(), (long long)usable, (long long)required);
            }
            _segment_failing = true;  // "again" is logged once a segment is made
            return Status(errc::io, "Put failed due to IO error [channel=" + o.name + "]");
        }
        auto created = Segment::create(path, h);
        if (!created) return segment_failed(created.status());
        seg = std::move(created.value());
        seg->prefault();
    }
    if (_segment_failing) {
        _segment_failing = false;
        log_info("file channel %s: writing segments in %s again", o.name.c_str(), _dir.c_str());
    }
    _next_index++;
    // Its header (and the zeroed first record) go to disk with its first sync.
    seg->unsynced_lo = 0;
    seg->unsynced_hi = header_size + 8;
    _live.push_back(std::move(seg));
    _write_off = header_size;
    return Status::ok();
}

bool Chain::room_for_segment(int64_t* usable, int64_t* required) const {
    *required = _sh.opts.min_required_space + int64_t(_sh.opts.max_file_size);
    struct statvfs vfs {};
    if (::statvfs(_dir.c_str(), &vfs) != 0) return true;
    *usable = int64_t(vfs.f_bavail) * int64_t(vfs.f_frsize);
    return *usable >= *required;
}

Status Chain::segment_failed(const Status& st) {
    const auto& o = _sh.opts;
    // Every put (and take) fails the same way until the directory is usable
    // again: say so when it starts, then once every 10 s.
    int64_t now = monotonic_us();
    if (!_segment_failing || now - _segment_logged_us >= 10000000) {
        _segment_logged_us = now;
        log_error("file channel %s: %sdataDirs: cannot write a new segment in %s: %s (puts fail until it can; "
                  "committed events are kept)",
                  o.name.c_str(), o.key_prefix.c_str(), _dir.c_str(), st.message().c_str());
    }
    _segment_failing = true;
    return Status(errc::io, "Put failed due to IO error [channel=" + o.name + "]");
}

void Chain::ask_for_spare() {
    std::weak_ptr<Chain> self = weak_from_this();
    if (!_sh.worker || self.expired()) return;
    _spare_asked = _sh.worker->post([self] {
        if (auto c = self.lock()) c->make_spare();
    });
}

std::unique_ptr<Segment> Chain::take_spare() {
    if (!_spare_asked) return nullptr;
    std::lock_guard lock(_spare_mu);
    // Ready; or failed (ask again at the next half-full segment); or still
    // being made (a later segment takes it; no second one is asked for).
    if (_spare || _spare_failed) _spare_asked = false;
    _spare_failed = false;
    return std::move(_spare);
}

void Chain::make_spare() {
    const auto& o = _sh.opts;
    const std::string path = _dir + "/" + std::string(spare_file_name);
    int64_t usable = 0, required = 0;
    if (!room_for_segment(&usable, &required)) {
        std::lock_guard lock(_spare_mu);
        _spare_failed = true;  // the chain's own attempt reports the space
        return;
    }
    ::unlink(path.c_str());
    auto made = Segment::create(path, SegmentHeader{_id, 0, 0, o.max_file_size, segment_state::free});
    if (made) made.value()->prefault();
    std::lock_guard lock(_spare_mu);
    if (!made) {
        log_warn("file channel %s: cannot make a spare segment: %s (the next segment is made when needed)",
                 o.name.c_str(), made.status().message().c_str());
        _spare_failed = true;
        return;
    }
    _spare = std::move(made.value());
}

void Chain::make_first_spare() {
    if (!_free.empty() || (write_seg() && _write_off <= write_seg()->size() / 2)) return;
    _spare_asked = true;
    make_spare();
}

void Chain::drop_spare() {
    std::lock_guard lock(_spare_mu);
    if (_spare) ::unlink(_spare->path().c_str());
    _spare.reset();
}

bool ChannelWorker::post(std::function<void()> job) {
    std::lock_guard lock(_mu);
    if (_stop) return false;
    _jobs.push_back(std::move(job));
    _cv.notify_one();
    return true;
}

void ChannelWorker::stop() {
    {
        std::lock_guard lock(_mu);
        _stop = true;
        _cv.notify_one();
    }
    if (_thread.joinable()) _thread.join();
}

void ChannelWorker::loop() {
    pthread_setname_np(pthread_self(), "sluice-chanwork");
    std::unique_lock lock(_mu);
    for (;;) {
        _cv.wait(lock, [&] { return _stop || !_jobs.empty(); });
        if (_stop) return;
        std::function<void()> job = std::move(_jobs.front());
        _jobs.pop_front();
        lock.unlock();
        job();
        job = nullptr;  // what it holds goes here, not under the lock
        lock.lock();
    }
}

void Chain::recycle(std::unique_ptr<Segment> seg) {
    SegmentHeader h = seg->header;
    h.state = segment_state::free;
    h.first_seq = 0;
    seg->set_header(h);
    seg->live_events = 0;
    _free.push_back(std::move(seg));
}

Status Chain::append_events(const std::vector<EventSpan>& spans, uint32_t count, int64_t time_ms) {
    uint64_t len = events_record_length(spans);
    if (len > UINT32_MAX)
        return Status(errc::invalid_argument, "a transaction of " + std::to_string(len) + " bytes is too large [channel=" + _sh.opts.name + "]");
    auto off = room_for(len);
    if (!off) return off.status();
    Segment* seg = write_seg();
    write_events_record(seg->data() + off.value(), seg->header.index, _next_seq, time_ms, spans, count, uint32_t(len));
    std::shared_ptr<const held_events> held;
    uint64_t bytes = 0;
    for (const auto& sp : spans) bytes += sp.batch->body_bytes();
    if (_held_bytes + bytes <= _sh.opts.take_cache_bytes) held = std::make_shared<held_events>(spans, _next_seq, bytes, &_held_bytes);
    _queue.push_back(run{seg, off.value() + record_header_size, _next_seq, count, time_ms, _next_seq + count, std::move(held)});
    seg->live_events += count;
    _next_seq += count;
    _write_off = align8(off.value() + len);
    add_queued(count);
    dirtied(seg, off.value(), len);
    _commits++;
    if (_sh.opts.fsync_per_transaction)
        maybe_sync();
    else
        _durable = _commits;  // acknowledged at commit; synced every fsyncInterval
    return Status::ok();
}

Status Chain::append_take(const std::vector<SeqRange>& ranges) {
    uint64_t len = take_record_length(ranges.size());
    auto off = room_for(len);
    if (!off) return off.status();
    Segment* seg = write_seg();
    write_take_record(seg->data() + off.value(), seg->header.index, ranges);
    _write_off = align8(off.value() + len);
    // Not waited for: a lost take record means a redelivery, never a loss.
    dirtied(seg, off.value(), len);
    return Status::ok();
}

namespace {

// Appends events [skip, skip + n) of `h` to `out` as spans of its batches.
void append_held(const held_events& h, uint64_t skip, uint32_t n, std::vector<EventSpan>& out) {
    for (const auto& sp : h.spans) {
        if (n == 0) break;
        if (skip >= sp.size()) {
            skip -= sp.size();
            continue;
        }
        const uint32_t from = sp.begin + uint32_t(skip), k = std::min<uint32_t>(n, sp.end - from);
        out.push_back(EventSpan{sp.batch, from, from + k});
        n -= k;
        skip = 0;
    }
    SLUICE_ASSERT(n == 0, "a held record has fewer events than its run");
}

}  // namespace

uint32_t Chain::take(uint32_t want, std::vector<EventSpan>& out, std::vector<run>& pieces) {
    // Size the batch of decoded events once: grown by doubling, it copied a
    // take's bytes about once more and faulted in fresh pages for each step.
    size_t bytes = 0;
    uint64_t headers = 0;
    uint32_t events = 0, to_decode = 0;
    for (auto it = _queue.begin(); it != _queue.end() && events < want; ++it) {
        const uint32_t n = std::min(want - events, it->count);
        events += n;
        if (it->held) continue;
        size_t end = it->off;
        bool ok = skip_events(it->seg->bytes(), end, n, &headers);
        SLUICE_ASSERT(ok, "a committed events record does not decode");
        bytes += end - it->off;  // the events' bytes and their length fields: a little more than needed
        to_decode += n;
    }
    std::shared_ptr<EventBatch> decoded;
    if (to_decode > 0) {
        decoded = std::make_shared<EventBatch>();
        decoded->reserve_more(to_decode, bytes, size_t(headers));
    }
    uint32_t decoded_from = 0;  // decoded events not yet in `out`
    auto flush_decoded = [&] {
        if (decoded && decoded->size() > decoded_from) out.push_back(EventSpan{decoded, decoded_from, decoded->size()});
        if (decoded) decoded_from = decoded->size();
    };
    uint32_t got = 0;
    while (got < want && !_queue.empty()) {
        run& head = _queue.front();
        uint32_t n = std::min(want - got, head.count);
        run piece = head;
        piece.count = n;
        if (head.held) {
            flush_decoded();
            append_held(*head.held, head.seq - head.held->first_seq, n, out);
        } else {
            if (decoded->empty()) decoded->set_received_ms(head.time_ms);
            bool ok = decode_events(head.seg->bytes(), head.off, n, *decoded);
            SLUICE_ASSERT(ok, "a committed events record does not decode");
        }
        pieces.push_back(std::move(piece));
        head.seq += n;
        head.count -= n;
        if (head.count == 0) _queue.pop_front();
        got += n;
    }
    flush_decoded();
    add_queued(-int64_t(got));
    return got;
}

void Chain::untake(std::vector<run>& pieces) {
    uint64_t n = 0;
    for (auto it = pieces.rbegin(); it != pieces.rend(); ++it) {
        // Rejoin the head run when this piece is what was cut from it. A
        // piece that was a whole record is never joined to the next record.
        if (!_queue.empty() && _queue.front().record_end_seq == it->record_end_seq &&
            _queue.front().seq == it->seq + it->count) {
            _queue.front().off = it->off;
            _queue.front().seq = it->seq;
            _queue.front().count += it->count;
        } else {
            _queue.push_front(*it);
        }
        n += it->count;
    }
    pieces.clear();
    add_queued(int64_t(n));
}

void Chain::consumed(const std::vector<run>& pieces) {
    for (const auto& p : pieces) {
        p.seg->live_events -= p.count;
        if (p.seq == _low) {
            _low += p.count;
        } else {
            _consumed[p.seq] = p.seq + p.count;
        }
        while (!_consumed.empty() && _consumed.begin()->first <= _low) {
            _low = std::max(_low, _consumed.begin()->second);
            _consumed.erase(_consumed.begin());
        }
    }
    // A consumed segment at the front is freed by the next checkpoint:
    // take it soon rather than at checkpointInterval.
    if (_live.size() > 1 && _live.front()->live_events == 0 && !_checkpoint_due && _shard) {
        _checkpoint_due = true;
        auto self = weak_from_this();
        _shard->defer([self] {
            if (auto c = self.lock()) c->checkpoint();
        });
    }
}

void Chain::when_durable(uint64_t mark, std::function<void()> fn) {
    if (mark <= _durable) return fn();
    _waiters.emplace_back(mark, std::move(fn));
}

// After a failed sync Linux may have marked the failed pages clean; writing
// a byte of each (the same value) makes it dirty again, so the next sync
// really writes it.
static void touch_pages(Segment* s, uint64_t lo, uint64_t hi) {
    if (lo >= hi) return;
    for (uint64_t off = lo / page_bytes * page_bytes; off < hi; off += page_bytes) {
        volatile char* b = s->data() + off;
        *b = *b;
    }
}

void Chain::redirty(Segment* s, uint64_t lo, uint64_t hi) {
    if (lo >= hi) return;
    touch_pages(s, lo, hi);
    dirtied(s, lo, hi - lo);
}

void Chain::dirtied(Segment* s, uint64_t off, uint64_t len) {
    if (std::find(_dirty.begin(), _dirty.end(), s) == _dirty.end()) _dirty.push_back(s);
    s->unsynced_lo = std::min(s->unsynced_lo, off);
    s->unsynced_hi = std::max(s->unsynced_hi, off + len);
    if (_unsynced_bytes == 0) _oldest_unsynced_us = monotonic_us();
    _unsynced_bytes += len;
}

// A sync starts when none runs; while one runs, commits gather for the next,
// which starts early only when the group reaches commitGroupBytes or its
// oldest commit has waited commitGroupDelay.
void Chain::maybe_sync() {
    if (_dirty.empty() || !_shard || _durable == _commits) return;
    const auto& o = _sh.opts;
    int64_t waited = monotonic_us() - _oldest_unsynced_us;
    if (_syncs.idle() || _unsynced_bytes >= o.group_bytes || waited >= o.group_delay_us) {
        start_sync();
        return;
    }
    if (_group_timer) return;
    auto self = weak_from_this();
    _group_timer = _shard->add_timer(o.group_delay_us - waited, [self] {
        if (auto c = self.lock()) {
            c->_group_timer = 0;
            c->maybe_sync();
        }
    });
}

void Chain::start_sync() {
    struct pending {
        std::vector<sync_range> ranges;
        size_t left;
        int err = 0;
    };
    auto p = std::make_shared<pending>();
    for (Segment* s : _dirty) {
        p->ranges.push_back({s, s->unsynced_lo, s->unsynced_hi});
        s->unsynced_lo = UINT64_MAX;
        s->unsynced_hi = 0;
    }
    p->left = _dirty.size();
    _dirty.clear();
    _unsynced_bytes = 0;
    const uint64_t seq = _syncs.start(_commits);
    auto self = weak_from_this();
    for (const sync_range& r : p->ranges) {
        _shard->reactor().sync_data(r.seg->fd(), [self, p, seq](int res) {
            // Fail point file_channel.fdatasync: the sync reports EIO.
            if (res == 0 && fail_point("file_channel.fdatasync")) res = -EIO;
            if (res < 0 && p->err == 0) p->err = -res;
            if (--p->left > 0) return;
            if (auto c = self.lock()) c->sync_done(seq, p->err, p->ranges);
        });
    }
}

void Chain::sync_done(uint64_t seq, int err, const std::vector<sync_range>& ranges) {
    _syncs.finish(seq, err == 0);
    if (err != 0) {
        // Nothing is acknowledged until a sync succeeds; try again shortly.
        log_error("file channel %s: fdatasync: %s; retrying", _sh.opts.name.c_str(), strerror(err));
        for (const sync_range& r : ranges) redirty(r.seg, r.lo, r.hi);
        // What waited for this sync does not get it (a checkpoint waits for its next turn).
        auto failed = std::move(_after_syncs);
        _after_syncs.clear();
        for (auto& [after, fn] : failed) fn(false);
        if (!_shard) return;  // detached meanwhile: the agent stops, nothing is left to acknowledge
        auto self = weak_from_this();
        _shard->add_timer(sync_retry_us, [self] {
            if (auto c = self.lock()) c->maybe_sync();
        });
        return;
    }
    _durable = std::max(_durable, _syncs.durable());
    release_waiters();
    while (!_after_syncs.empty() && _syncs.finished_through(_after_syncs.front().first)) {
        auto fn = std::move(_after_syncs.front().second);
        _after_syncs.pop_front();
        fn(true);
    }
    maybe_sync();
}

void Chain::after_syncs(std::function<void(bool synced)> fn) {
    if (!_dirty.empty()) start_sync();
    if (_syncs.idle()) return fn(true);
    _after_syncs.emplace_back(_syncs.started(), std::move(fn));
}

void Chain::release_waiters() {
    while (!_waiters.empty() && _waiters.front().first <= _durable) {
        auto fn = std::move(_waiters.front().second);
        _waiters.pop_front();
        fn();
    }
}

int Chain::sync_now() {
    const uint64_t seq = _syncs.start(_commits);
    int first_err = 0;
    std::vector<Segment*> failed;
    for (Segment* s : _dirty) {
        int err = ::fdatasync(s->fd()) == 0 ? 0 : errno;
        // Fail point file_channel.fdatasync: the sync reports EIO.
        if (err == 0 && fail_point("file_channel.fdatasync")) err = EIO;
        if (err == 0) {
            s->unsynced_lo = UINT64_MAX;
            s->unsynced_hi = 0;
            continue;
        }
        log_error("file channel %s: fdatasync %s: %s", _sh.opts.name.c_str(), s->path().c_str(), strerror(err));
        touch_pages(s, s->unsynced_lo, s->unsynced_hi);
        failed.push_back(s);
        if (first_err == 0) first_err = err;
    }
    _dirty = std::move(failed);
    _syncs.finish(seq, first_err == 0);
    if (first_err != 0) return first_err;
    _unsynced_bytes = 0;
    _durable = std::max(_durable, _syncs.durable());
    release_waiters();
    return 0;
}

bool Chain::next_checkpoint(Checkpoint* cp, size_t* keep) const {
    // The segment holding _low: the first with an event not consumed.
    size_t k = 0;
    while (k + 1 < _live.size() && _live[k]->live_events == 0) k++;
    if (_live.empty() || (_low == _checkpointed_low && k == 0)) return false;
    *cp = Checkpoint{_id, _low, _live[k]->header.index, header_size, wall_clock_ms()};
    *keep = k;
    return true;
}

// Writes the checkpoint file, and its backup with dualCheckpoints; true if
// the first was written (the backup's failure is counted and logged only).
// Any thread: it touches only files and atomic counters.
static bool write_checkpoint_files(file_shared& sh, const Checkpoint& cp) {
    const file_options& o = sh.opts;
    const std::string bytes = encode_checkpoint(cp);
    const std::string name = "checkpoint-" + std::to_string(cp.chain);
    if (Status st = write_file_atomically(o.checkpoint_dir + "/" + name, bytes, true); !st) {
        sh.checkpoint_errors.fetch_add(1, std::memory_order_relaxed);
        log_error("file channel %s: checkpoint: %s", o.name.c_str(), st.message().c_str());
        return false;
    }
    if (o.dual_checkpoints) {
        if (Status st = write_file_atomically(o.backup_checkpoint_dir + "/" + name, bytes, true); !st) {
            sh.backup_checkpoint_errors.fetch_add(1, std::memory_order_relaxed);
            log_error("file channel %s: backup checkpoint: %s", o.name.c_str(), st.message().c_str());
        }
    }
    return true;
}

void Chain::checkpoint() {
    _checkpoint_due = false;
    if (!_shard || !_sh.worker) return checkpoint_now();
    if (_checkpoint_running) {
        _checkpoint_again = true;
        return;
    }
    Checkpoint cp;
    size_t keep;
    if (!next_checkpoint(&cp, &keep)) return;
    _checkpoint_running = true;
    std::weak_ptr<Chain> self = weak_from_this();
    // What the checkpoint points at must be on disk before it: the group
    // sync's path syncs it (and makes the commits it covers durable).
    after_syncs([self, cp, keep](bool synced) {
        auto c = self.lock();
        if (!c || !c->_shard) return;
        if (!synced) return c->checkpoint_written(cp, keep, false);
        crash_point("file_channel.checkpoint.segments_synced");
        Runtime* rt = &c->_shard->runtime();
        const unsigned shard = c->_shard->id();
        file_shared* sh = &c->_sh;
        bool posted = c->_sh.worker->post([self, cp, keep, rt, shard, sh] {
            const bool ok = write_checkpoint_files(*sh, cp);
            rt->submit(shard, [self, cp, keep, ok] {
                if (auto c = self.lock()) c->checkpoint_written(cp, keep, ok);
            });
        });
        if (!posted) c->checkpoint_written(cp, keep, false);  // the channel is stopping: detach checkpoints
    });
}

void Chain::checkpoint_written(const Checkpoint& cp, size_t keep, bool ok) {
    _checkpoint_running = false;
    if (ok) checkpoint_done(cp, keep);
    // After a failure the next checkpoint waits for its timer or the next
    // consumed segment, not for this moment.
    if (std::exchange(_checkpoint_again, false) && ok && _shard) checkpoint();
}

void Chain::checkpoint_now() {
    _checkpoint_due = false;
    Checkpoint cp;
    size_t keep;
    if (!next_checkpoint(&cp, &keep)) return;
    // What the checkpoint points at must be on disk before it. This sync
    // takes the dirty segments from the group sync, so it makes their
    // commits durable itself: else a commit waiting for the next group sync
    // (its segment no longer dirty) would wait until another commit came.
    if (int err = sync_now(); err != 0) {
        log_error("file channel %s: fdatasync before a checkpoint: %s; the checkpoint waits", _sh.opts.name.c_str(),
                  strerror(err));
        return;
    }
    crash_point("file_channel.checkpoint.segments_synced");
    if (!write_checkpoint_files(_sh, cp)) return;  // nothing is recycled without a checkpoint
    checkpoint_done(cp, keep);
}

void Chain::checkpoint_done(const Checkpoint& cp, size_t keep) {
    crash_point("file_channel.checkpoint.written");  // consumed segments not yet recycled
    _checkpointed_low = cp.low;
    // Only checkpoints recycle, one at a time: the first `keep` are still the
    // consumed ones the checkpoint skips (re-checked: a checkpoint written on
    // the worker returns after more takes and puts).
    for (size_t i = 0; i < keep && _live.size() > 1 && _live.front()->live_events == 0; i++) {
        auto seg = std::move(_live.front());
        _live.pop_front();
        recycle(std::move(seg));
    }
}

void Chain::attach(Shard& shard) {
    _shard = &shard;
    arm_checkpoint_timer();
    if (!_sh.opts.fsync_per_transaction) arm_fsync_timer();
    if (_checkpoint_due) checkpoint();
}

void Chain::arm_checkpoint_timer() {
    auto self = weak_from_this();
    _checkpoint_timer = _shard->add_timer(_sh.opts.checkpoint_interval_ms * 1000, [self] {
        if (auto c = self.lock()) {
            c->checkpoint();
            c->arm_checkpoint_timer();
        }
    });
}

void Chain::arm_fsync_timer() {
    auto self = weak_from_this();
    _fsync_timer = _shard->add_timer(_sh.opts.fsync_interval_ms * 1000, [self] {
        if (auto c = self.lock()) {
            if (!c->_dirty.empty() && c->_syncs.idle()) c->start_sync();
            c->arm_fsync_timer();
        }
    });
}

void Chain::detach() {
    if (!_shard) return;
    for (TimerId* t : {&_group_timer, &_checkpoint_timer, &_fsync_timer}) {
        if (*t) _shard->cancel_timer(*t);
        *t = 0;
    }
    sync_now();  // a failure is logged; it withholds the acknowledgements, dropped below
    if (_sh.opts.checkpoint_on_close) {
        _checkpointed_low = UINT64_MAX;
        checkpoint_now();
    }
    // Nobody is left to acknowledge to (the sources stopped first).
    _waiters.clear();
    _shard = nullptr;
}

Status Chain::adopt(Chain& from, const std::string& checkpoint_dir, const std::string& backup_dir) {
    uint64_t moved = 0;
    const uint32_t per_record = std::max<uint32_t>(1, _sh.opts.tx_capacity);
    while (!from._queue.empty()) {
        std::vector<EventSpan> spans;
        std::vector<run> pieces;
        int64_t time_ms = from._queue.front().time_ms;
        uint32_t n = from.take(per_record, spans, pieces);
        if (Status st = append_events(spans, n, time_ms); !st) return st;
        moved += n;
    }
    // The old chain's files go only once the copies are on disk.
    if (int err = sync_now(); err != 0)
        return io_error("file channel " + _sh.opts.name + ": moving the events of chain " + std::to_string(from._id) +
                            " (no such shard now) to chain " + std::to_string(_id) + ", whose files are kept: fdatasync",
                        err);
    for (auto* list : {&from._live, &from._free}) {
        for (auto& s : *list) ::unlink(s->path().c_str());
        list->clear();
    }
    ::rmdir(from._dir.c_str());
    for (const std::string& dir : {checkpoint_dir, backup_dir})
        if (!dir.empty()) ::unlink((dir + "/checkpoint-" + std::to_string(from._id)).c_str());
    log_info("file channel %s: chain %u (no such shard now): %llu events moved to chain %u", _sh.opts.name.c_str(),
             from._id, (unsigned long long)moved, _id);
    return Status::ok();
}

// ------------------------------------------------------------------ channel

class FileChannel final : public Channel {
public:
    FileChannel(ChannelContext& ctx, file_options opts)
        : Channel(ctx.settings.name(), ctx.shards), _opts(std::move(opts)), _sh{_opts, ctx.counters},
          _runtime(ctx.runtime) {
        _sh.worker = &_worker;
        ctx.counters.set_gauges([this](auto& out) {
            uint64_t size = uint64_t(std::max<int64_t>(0, _sh.used_events.load(std::memory_order_relaxed)));
            out.emplace_back("ChannelSize", std::to_string(size));
            out.emplace_back("ChannelCapacity", std::to_string(_opts.capacity));
            out.emplace_back("ChannelFillPercentage", java_double(double(size) * 100.0 / double(_opts.capacity)));
            out.emplace_back("Open", _open.load() ? "true" : "false");
            out.emplace_back("Unhealthy", "0");
            out.emplace_back("Closed", _open.load() ? "0" : "1");
            out.emplace_back("EventPutErrorCount", std::to_string(_sh.put_errors.load()));
            out.emplace_back("EventTakeErrorCount", std::to_string(_sh.take_errors.load()));
            out.emplace_back("CheckpointWriteErrorCount", std::to_string(_sh.checkpoint_errors.load()));
            out.emplace_back("CheckpointBackupWriteErrorCount", std::to_string(_sh.backup_checkpoint_errors.load()));
        });
    }
    ~FileChannel() override {
        for (int fd : _locks) ::close(fd);
    }

    Status start() override;
    void stop() override;
    std::unique_ptr<PutTransaction> begin_put(unsigned shard) override;
    std::unique_ptr<TakeTransaction> begin_take(unsigned shard) override;
    void on_available(unsigned shard, std::function<void()> fn) override { _chains[shard]->add_listener(std::move(fn)); }
    uint32_t transaction_capacity() const override { return _opts.tx_capacity; }
    int64_t keep_alive_ms() const override { return _opts.keep_alive_ms; }
    uint64_t size() const override { return uint64_t(std::max<int64_t>(0, _sh.used_events.load(std::memory_order_relaxed))); }
    uint64_t slice_size(unsigned shard) const override { return _chains[shard]->queued(); }
    uint64_t commit_mark(unsigned shard) const override { return _chains[shard]->commit_mark(); }
    void when_durable(unsigned shard, uint64_t mark, std::function<void()> fn) override {
        _chains[shard]->when_durable(mark, std::move(fn));
    }

private:
    friend class FilePut;
    friend class FileTake;
    // Creates `dir` (the value of `key`) if needed, checks it can be written,
    // and locks it; a failure names the key and the directory.
    Status lock(const std::string& dir, const std::string& key);

    file_options _opts;
    file_shared _sh;
    Runtime* _runtime;
    ChannelWorker _worker;  // after _opts and _sh, which its jobs read: joined before they go
    std::vector<std::shared_ptr<Chain>> _chains;
    std::vector<int> _locks;
    std::atomic<bool> _open{false};
};

Status FileChannel::lock(const std::string& dir, const std::string& key) {
    auto unusable = [&](const Status& st) {
        return Status(st.code(), _opts.key_prefix + key + ": cannot use directory " + dir + ": " + st.message() +
                                     " [channel=" + _opts.name + "]");
    };
    if (Status st = make_dirs(dir); !st) return unusable(st);
    std::string path = dir + "/in_use.lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return unusable(io_error("open " + path, errno));
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return Status(errc::resource, "Cannot lock " + dir + ". The directory is already locked. [channel=" + _opts.name + "]");
    }
    _locks.push_back(fd);
    return Status::ok();
}

Status FileChannel::start() {
    if (!_runtime) return Status(errc::invalid_argument, "file channel " + _opts.name + ": no runtime");
    std::vector<std::pair<std::string, std::string>> dirs = {{_opts.checkpoint_dir, "checkpointDir"}};
    if (_opts.dual_checkpoints) dirs.emplace_back(_opts.backup_checkpoint_dir, "backupCheckpointDir");
    for (auto& d : _opts.data_dirs)
        if (std::find_if(dirs.begin(), dirs.end(), [&](auto& used) { return used.first == d; }) == dirs.end())
            dirs.emplace_back(d, "dataDirs");
    for (auto& [dir, key] : dirs)
        if (Status st = lock(dir, key); !st) return st;
    unsigned shards = this->shards();
    size_t ndirs = _opts.data_dirs.size();
    for (unsigned c = 0; c < shards; c++) {
        auto chain = std::make_shared<Chain>(_sh, c, _opts.data_dirs[c % ndirs]);
        if (Status st = chain->recover(); !st) return st;
        _chains.push_back(std::move(chain));
    }
    // Chains of shards that do not exist now (fewer shards than last time).
    for (size_t i = 0; i < ndirs; i++) {
        for (unsigned c : list_chains(_opts.data_dirs[i])) {
            if (c < shards || c % ndirs != i) continue;
            Chain orphan(_sh, c, _opts.data_dirs[i]);
            if (Status st = orphan.recover(); !st) return st;
            if (Status st = _chains[c % shards]->adopt(orphan, _opts.checkpoint_dir, _opts.backup_checkpoint_dir); !st) return st;
        }
    }
    for (auto& c : _chains) c->make_first_spare();
    _worker.start();
    _runtime->run_on_all([&](Shard& shard) { _chains[shard.id()]->attach(shard); });
    _open = true;
    return Status::ok();
}

void FileChannel::stop() {
    if (!_open.exchange(false)) return;
    // The worker first: a checkpoint it is writing ends (and hands its
    // recycling to the shard, ahead of detach) before detach writes the last.
    _worker.stop();
    _runtime->run_on_all([&](Shard& shard) { _chains[shard.id()]->detach(); });
    for (auto& c : _chains) c->drop_spare();
}

class FilePut final : public PutTransaction {
public:
    FilePut(FileChannel& ch, unsigned shard) : _ch(ch), _shard(shard) {}
    ~FilePut() override { rollback(); }

    Status put(const EventSpan& span) override {
        _ch._sh.counters.add(_shard, channel_counter::event_put_attempt, span.size());
        if (_count + span.size() > _ch._opts.tx_capacity) {
            return Status(errc::channel_full, "Put queue for FileBackedTransaction of capacity " +
                                                  std::to_string(_ch._opts.tx_capacity) +
                                                  " full, consider committing more frequently, increasing capacity "
                                                  "or increasing thread count. [channel=" + _ch._opts.name + "]");
        }
        if (span.size() == 0) return Status::ok();
        if (_spans.empty()) _time_ms = span.batch->received_ms();
        _spans.push_back(span);
        _count += span.size();
        return Status::ok();
    }

    Status commit() override {
        if (_count == 0) return Status::ok();
        if (!_ch._open.load(std::memory_order_relaxed))
            return Status(errc::closed, "Channel closed [channel=" + _ch._opts.name + "]");
        if (!reserve_capacity(_ch._sh.used_events, _count, _ch._opts.capacity))
            return Status(errc::channel_full, full_text(_ch._opts.name));
        Chain& chain = *_ch._chains[_shard];
        if (Status st = chain.append_events(_spans, _count, _time_ms); !st) {
            _ch._sh.used_events.fetch_sub(_count, std::memory_order_relaxed);
            _ch._sh.put_errors.fetch_add(1, std::memory_order_relaxed);
            return st;
        }
        _ch._sh.counters.add(_shard, channel_counter::event_put_success, _count);
        _spans.clear();
        _count = 0;
        chain.notify();
        return Status::ok();
    }

    void rollback() override {
        _spans.clear();
        _count = 0;
    }
    uint32_t size() const override { return _count; }

private:
    FileChannel& _ch;
    unsigned _shard;
    std::vector<EventSpan> _spans;
    uint32_t _count = 0;
    int64_t _time_ms = 0;
};

class FileTake final : public TakeTransaction {
public:
    FileTake(FileChannel& ch, unsigned shard) : _ch(ch), _shard(shard) {}
    ~FileTake() override { rollback(); }

    uint32_t take(uint32_t max) override {
        uint32_t want = std::min(max, _ch._opts.tx_capacity - _count);
        uint32_t got = 0;
        if (want > 0 && _ch._chains[_shard]->queued() > 0) {
            got = _ch._chains[_shard]->take(want, _spans, _pieces);
            _count += got;
        }
        _ch._sh.counters.add(_shard, channel_counter::event_take_attempt, got + (got < max ? 1 : 0));
        return got;
    }

    const std::vector<EventSpan>& events() const override { return _spans; }
    uint32_t size() const override { return _count; }

    Status commit() override {
        if (_count == 0) return Status::ok();
        std::vector<SeqRange> ranges;
        for (const auto& p : _pieces) {
            if (!ranges.empty() && ranges.back().first + ranges.back().n == p.seq)
                ranges.back().n += p.count;
            else
                ranges.push_back({p.seq, p.count});
        }
        Chain& chain = *_ch._chains[_shard];
        if (Status st = chain.append_take(ranges); !st) {
            _ch._sh.take_errors.fetch_add(1, std::memory_order_relaxed);
            return Status(st.code(), "Take failed due to IO error [channel=" + _ch._opts.name + "]");
        }
        chain.consumed(_pieces);
        _ch._sh.used_events.fetch_sub(_count, std::memory_order_release);
        _ch._sh.counters.add(_shard, channel_counter::event_take_success, _count);
        _pieces.clear();
        _spans.clear();
        _count = 0;
        return Status::ok();
    }

    void rollback() override {
        if (_count == 0) return;
        Chain& chain = *_ch._chains[_shard];
        chain.untake(_pieces);
        _spans.clear();
        _count = 0;
        chain.notify();
    }

private:
    FileChannel& _ch;
    unsigned _shard;
    std::vector<EventSpan> _spans;
    std::vector<run> _pieces;
    uint32_t _count = 0;
};

std::unique_ptr<PutTransaction> FileChannel::begin_put(unsigned shard) {
    SLUICE_ASSERT(shard < _chains.size(), "no such shard");
    return std::make_unique<FilePut>(*this, shard);
}
std::unique_ptr<TakeTransaction> FileChannel::begin_take(unsigned shard) {
    SLUICE_ASSERT(shard < _chains.size(), "no such shard");
    return std::make_unique<FileTake>(*this, shard);
}

// ------------------------------------------------------------------ descriptor

namespace {

std::vector<std::string> split_commas(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); i++) {
        if (i == s.size() || s[i] == ',') {
            std::string part = s.substr(start, i - start);
            size_t b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
            if (b != std::string::npos) out.push_back(part.substr(b, e - b + 1));
            start = i + 1;
        }
    }
    return out;
}

constexpr int64_t flume_max_file_size = 2146435071;
constexpr int64_t min_required_space_floor = 1 << 20;

}  // namespace

file_options file_options_from(const ComponentSettings& s) {
    file_options o;
    o.name = s.name();
    o.key_prefix = s.config().key_prefix;
    o.checkpoint_dir = expand_home(s.get_string("checkpointDir"));
    o.dual_checkpoints = s.get_bool("useDualCheckpoints");
    if (o.dual_checkpoints) o.backup_checkpoint_dir = expand_home(s.get_string("backupCheckpointDir"));
    for (auto& dir : split_commas(s.get_string("dataDirs"))) o.data_dirs.push_back(expand_home(dir));
    o.checkpoint_interval_ms = s.get_duration_ms("checkpointInterval");
    o.max_file_size = uint64_t(s.get_int("maxFileSize")) & ~uint64_t(4095);
    o.min_required_space = std::max<int64_t>(s.get_int("minimumRequiredSpace"), min_required_space_floor);
    o.checkpoint_on_close = s.get_bool("checkpointOnClose");
    o.fsync_per_transaction = s.get_bool("fsyncPerTransaction");
    o.fsync_interval_ms = std::max<int64_t>(1, s.get_duration_ms("fsyncInterval"));
    o.group_bytes = uint64_t(s.get_int("commitGroupBytes"));
    o.group_delay_us = s.get_duration_ms("commitGroupDelay") * 1000;
    o.take_cache_bytes = uint64_t(s.get_int("takeCacheBytes"));
    return o;
}

std::unique_ptr<Channel> make_file_channel(ChannelContext& ctx, file_options opts) {
    return std::unique_ptr<Channel>(new FileChannel(ctx, std::move(opts)));
}

std::vector<KeySpec> file_channel_storage_keys() {
    std::vector<KeySpec> keys;
    for (const auto& k : file_channel_descriptor().keys)
        if (k.key != "capacity" && k.key != "transactionCapacity" && k.key != "keep-alive") keys.push_back(k);
    return keys;
}

void check_file_channel_storage(const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
    if (s.get_bool("useDualCheckpoints")) {
        std::string backup = s.get_string("backupCheckpointDir");
        if (backup.empty())
            problems.emplace_back("backupCheckpointDir", "useDualCheckpoints needs backupCheckpointDir");
        else if (expand_home(backup) == expand_home(s.get_string("checkpointDir")))
            problems.emplace_back("backupCheckpointDir", "backupCheckpointDir must differ from checkpointDir");
    }
    if (split_commas(s.get_string("dataDirs")).empty()) problems.emplace_back("dataDirs", "no data directory given");
    if (!s.get_prefixed("encryption.").empty())
        problems.emplace_back(s.get_prefixed("encryption.").front().first.insert(0, "encryption."),
                              "file channel encryption is not supported");
    if (s.get_duration_ms("checkpointInterval") <= 0)
        problems.emplace_back("checkpointInterval", "checkpointInterval must be positive");
}

ComponentDescriptor file_channel_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::channel;
    d.type = "file";
    d.aliases = {"org.apache.flume.channel.file.FileChannel"};
    d.description =
        "Events kept on disk in memory-mapped segment files (docs/durable-format.md): a put is acknowledged "
        "only once it is on disk, and a restart recovers every committed event not yet taken. A chain of "
        "segments per shard; capacity holds for the channel as a whole.";
    d.keys = {
        {"checkpointDir", KeyType::string, "~/.flume/file-channel/checkpoint", false,
         "Where the checkpoints (and a lock file) are kept."},
        {"dataDirs", KeyType::string, "~/.flume/file-channel/data", false,
         "Comma-separated directories for the segment files; shard i writes to the (i mod n)-th."},
        {"useDualCheckpoints", KeyType::boolean, "false", false, "Also write every checkpoint to backupCheckpointDir."},
        {"backupCheckpointDir", KeyType::string, "", false,
         "Where the backup checkpoints go (required with useDualCheckpoints; must differ from checkpointDir)."},
        {"compressBackupCheckpoint", KeyType::boolean, "false", false,
         "Accepted for Flume compatibility; sluice's checkpoint is 52 bytes, so there is nothing to compress."},
        {"checkpointOnClose", KeyType::boolean, "true", false, "Write a checkpoint when the channel stops."},
        {"capacity", KeyType::integer, "1000000", false, "The most events the channel holds.", 1},
        {"transactionCapacity", KeyType::integer, "10000", false, "The most events one transaction may put or take.", 1,
         INT32_MAX},
        {"checkpointInterval", KeyType::duration_ms, "30000", false,
         "Time between checkpoints; a checkpoint is also taken as soon as a whole segment has been consumed, so "
         "segments are recycled promptly."},
        {"maxFileSize", KeyType::bytes, "67108864", false,
         "Size of each segment file (at most 2146435071, at least 65536).", int64_t(seglog::min_file_size),
         flume_max_file_size, {},
         "Flume's default is 2146435071; sluice's segments are preallocated and pre-faulted, and smaller ones "
         "are recycled sooner, so its default is 64 MiB."},
        {"minimumRequiredSpace", KeyType::bytes, "524288000", false,
         "Puts fail (and resume by themselves) while a new segment would leave less free space than this; at "
         "least 1 MiB.", 0},
        {"keep-alive", KeyType::duration_s, "3", false,
         "How long a source waits for room before it fails; seconds, or 500ms."},
        {"fsyncPerTransaction", KeyType::boolean, "true", false,
         "Acknowledge a put only once it is on disk (commits are grouped into one sync). false: acknowledge at "
         "commit and sync every fsyncInterval."},
        {"fsyncInterval", KeyType::duration_s, "5", false, "Time between syncs when fsyncPerTransaction is false."},
        {"commitGroupBytes", KeyType::bytes, "1048576", false,
         "sluice: while a sync runs, the next one starts early once this many bytes are waiting for it.", 1},
        {"commitGroupDelay", KeyType::duration_ms, "2", false,
         "sluice: while a sync runs, the next one starts early once a commit has waited this long.", 0},
        {"takeCacheBytes", KeyType::bytes, "33554432", false,
         "sluice: bytes of committed events each shard keeps in memory (the put's own batches), so takes hand "
         "them out instead of reading them back from the segments; 0 reads every take from the segments.",
         0},
        {"use-log-replay-v1", KeyType::boolean, "false", false, "Accepted for Flume compatibility; sluice has one replay."},
        {"use-fast-replay", KeyType::boolean, "false", false, "Accepted for Flume compatibility; sluice has one replay."},
        {"encryption.", KeyType::prefix, "", false, "Flume's encryption keys: not supported (a configuration error)."},
    };
    // A directory belongs to one channel: its lock keeps out any other.
    for (auto& k : d.keys)
        if (k.key == "checkpointDir" || k.key == "dataDirs") k.owns_directories = true;
    d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
        if (s.get_int("transactionCapacity") > s.get_int("capacity"))
            problems.emplace_back("transactionCapacity", "transactionCapacity " + std::to_string(s.get_int("transactionCapacity")) +
                                                             " exceeds capacity " + std::to_string(s.get_int("capacity")));
        check_file_channel_storage(s, problems);
    };
    d.make_channel = [](ChannelContext& ctx) -> Result<std::unique_ptr<Channel>> {
        file_options o = file_options_from(ctx.settings);
        o.capacity = ctx.settings.get_int("capacity");
        o.tx_capacity = uint32_t(ctx.settings.get_int("transactionCapacity"));
        o.keep_alive_ms = ctx.settings.get_duration_ms("keep-alive");
        return make_file_channel(ctx, std::move(o));
    };
    return d;
}

}  // namespace sluice
