// SPDX-License-Identifier: Apache-2.0
// The `TAILDIR` source: Flume's TaildirSource (reference/flume.md §10). Tails
// the files of each file group (a directory and a regex on file names), each
// complete line one event, and records in the position file (JSON, Flume's
// format; docs/file_sources.md) how far each file has been committed.
//
// Guarantees: the position of a file only moves past lines whose events were
// committed; the position file is replaced atomically every writePosInterval
// and at stop. So a clean stop and restart neither loses nor repeats a line,
// and a kill repeats at most what was committed since the last write.
//
// Files are known by inode. A file renamed within the group keeps its
// position; a file renamed out of the group (rotation: app.log -> app.log.1
// plus a new app.log) is read to its end through the descriptor still open,
// then dropped; a file smaller than its position was truncated and is read
// again from 0. A line is complete at its newline; a partial last line waits.
//
// One source is one reader on the owner shard (docs/file_sources.md). Files
// are read synchronously with pread in 64 KiB chunks, at most a few batches
// per step, so the shard's other work runs in between. When no file had new
// lines, the next pass waits backoffSleepIncrement more each time, up to
// maxBackoffSleep (Flume's PollableSourceRunner); a full channel stops reading
// and the batch is retried the same way.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>

#include "core/component.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/components.h"
#include "io/file_source_util.h"

namespace sluice {

namespace {

constexpr size_t read_chunk = 64 * 1024;
constexpr int batches_per_step = 8;

struct file_group {
    std::string name;
    std::string dir;
    std::shared_ptr<const std::regex> re;
    std::vector<std::pair<std::string, std::string>> headers;
    // cachePatternMatching: the names matched when the directory had this mtime.
    int64_t seen_dir_mtime_ns = -1;
    int64_t checked_ms = 0;
    std::vector<std::string> names;
};

struct taildir_options {
    std::vector<file_group> groups;
    std::string position_file;
    bool byte_offset_header = false;
    bool skip_to_end = false;
    int64_t idle_timeout_ms = 120000;
    int64_t write_pos_interval_ms = 3000;
    uint32_t batch_size = 100;
    int64_t max_batch_count = INT64_MAX;
    int64_t backoff_increment_ms = 1000;
    int64_t max_backoff_ms = 5000;
    bool cache_pattern_matching = true;
    bool file_header = false;
    std::string file_header_key = "file";
};

struct tail_file {
    uint64_t inode = 0;
    std::string path;
    size_t group = 0;
    int fd = -1;
    uint64_t committed = 0;  // durable in the channels: what the position file records
    uint64_t generation = 0;  // bumped when the file is truncated (late durability callbacks are stale)
    uint64_t read_pos = 0;   // just after the last line made into an event
    uint64_t next_read = 0;  // file offset of the next byte to read (carry holds [read_pos, next_read))
    std::string carry;
    int64_t size_seen = 0;
    int64_t mtime_seen_ns = 0;
    int64_t last_read_ms = 0;
    bool matched = true;  // seen in the group's files at the last scan
};

int64_t now_ms() { return wall_clock_ms(); }

class TaildirSource final : public Source {
public:
    TaildirSource(SourceContext& ctx, taildir_options o)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(o)), _owner(owner_shard(_name, ctx.shard.count()) == ctx.shard.id()) {}
    ~TaildirSource() override {
        *_alive = false;
        if (_timer) _shard.cancel_timer(_timer);
        if (_pos_timer) _shard.cancel_timer(_pos_timer);
        for (auto& [inode, f] : _files)
            if (f.fd >= 0) ::close(f.fd);
    }

    Status start() override {
        if (!_owner) return Status::ok();
        for (auto& g : _opts.groups) {
            struct stat st;
            if (::stat(g.dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
                return Status(errc::config, "TAILDIR source " + _name + ": Directory does not exist: " + g.dir);
        }
        std::error_code ec;
        auto parent = std::filesystem::path(_opts.position_file).parent_path();
        if (!parent.empty()) std::filesystem::create_directories(parent, ec);
        if (ec)
            return Status(errc::io, "TAILDIR source " + _name + ": Error creating positionFile parent directories: " +
                                        ec.message());
        load_positions();
        scan();
        _loaded.clear();  // positions apply to the files present at start only
        log_info("TAILDIR source %s: tailing %zu file(s), position file %s", _name.c_str(), _files.size(),
                 _opts.position_file.c_str());
        schedule(0);
        arm_position_writer();
        return Status::ok();
    }

    void stop(Task done) override {
        _stopped = true;
        if (_timer) _shard.cancel_timer(_timer);
        if (_pos_timer) _shard.cancel_timer(_pos_timer);
        _timer = _pos_timer = 0;
        // An uncommitted batch is not in the positions: it is read again.
        if (!_owner) {
            done();
            return;
        }
        // Positions of what became durable, then report stopped.
        *_alive = false;
        _processor.when_durable([this, done = std::move(done)] {
            for (auto& [inode, f] : _files) f.committed = std::max(f.committed, _last_committed[inode]);
            write_positions();
            done();
        });
    }

private:
    void schedule(int64_t delay_ms) { schedule_us(delay_ms * 1000); }
    void schedule_us(int64_t delay_us) {
        if (_timer || _stopped) return;
        _timer = _shard.add_timer(delay_us, [this] {
            _timer = 0;
            step();
        });
    }

    void arm_position_writer() {
        _pos_timer = _shard.add_timer(_opts.write_pos_interval_ms * 1000, [this] {
            _pos_timer = 0;
            write_positions();
            if (!_stopped) arm_position_writer();
        });
    }

    // ------------------------------------------------------------ positions

    void load_positions() {
        int fd = ::open(_opts.position_file.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            log_info("TAILDIR source %s: File not found: %s, not updating position", _name.c_str(),
                     _opts.position_file.c_str());
            return;
        }
        std::string text;
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd, buf, sizeof(buf));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            text.append(buf, size_t(n));
        }
        ::close(fd);
        auto parsed = parse_position_file(text);
        if (!parsed) {
            log_error("TAILDIR source %s: Failed loading positionFile: %s: %s", _name.c_str(),
                      _opts.position_file.c_str(), parsed.status().message().c_str());
            return;
        }
        for (auto& p : parsed.value()) _loaded[p.inode] = p;
    }

    void write_positions() {
        std::vector<TailPosition> out;
        for (auto& [inode, f] : _files) out.push_back({inode, f.committed, f.path});
        std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.file < b.file; });
        if (Status st = write_file_atomically(_opts.position_file, format_position_file(out), true); !st) {
            log_error("TAILDIR source %s: Failed writing positionFile: %s", _name.c_str(), st.message().c_str());
            _counters.add(_shard.id(), source_counter::generic_processing_fail);
        }
    }

    // ------------------------------------------------------------ finding files

    const std::vector<std::string>& matching_names(file_group& g) {
        struct stat st;
        int64_t now = now_ms();
        int64_t dir_mtime = ::stat(g.dir.c_str(), &st) == 0 ? int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec : -2;
        // As Flume: list again unless the directory is unchanged since a
        // listing made a full second after its last change.
        bool fresh = _opts.cache_pattern_matching && dir_mtime == g.seen_dir_mtime_ns &&
                     dir_mtime / 1000000 + 1000 < g.checked_ms;
        if (fresh) return g.names;
        g.names.clear();
        if (DIR* d = ::opendir(g.dir.c_str())) {
            while (dirent* e = ::readdir(d)) {
                std::string name = e->d_name;
                if (name == "." || name == "..") continue;
                if (std::regex_match(name, *g.re)) g.names.push_back(name);
            }
            ::closedir(d);
        }
        g.seen_dir_mtime_ns = dir_mtime;
        g.checked_ms = now;
        return g.names;
    }

    // Flume's updateTailFiles: match the groups' files, follow renames by
    // inode, notice truncation, and start new files.
    void scan() {
        for (auto& [inode, f] : _files) f.matched = false;
        for (size_t gi = 0; gi < _opts.groups.size(); gi++) {
            auto& g = _opts.groups[gi];
            for (const auto& name : matching_names(g)) {
                std::string path = g.dir + "/" + name;
                struct stat st;
                if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
                uint64_t inode = st.st_ino;
                int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
                auto it = _files.find(inode);
                if (it == _files.end()) {
                    tail_file f;
                    f.inode = inode;
                    f.path = path;
                    f.group = gi;
                    uint64_t pos = _opts.skip_to_end ? uint64_t(st.st_size) : 0;
                    if (auto l = _loaded.find(inode); l != _loaded.end()) {
                        pos = l->second.pos;
                        if (pos > uint64_t(st.st_size)) {
                            log_info("TAILDIR source %s: Pos %llu is larger than file size! Restarting from pos 0, "
                                     "file: %s, inode: %llu",
                                     _name.c_str(), (unsigned long long)pos, path.c_str(), (unsigned long long)inode);
                            pos = 0;
                        }
                    }
                    f.committed = f.read_pos = f.next_read = pos;
                    f.size_seen = st.st_size;
                    f.mtime_seen_ns = mtime;
                    f.last_read_ms = now_ms();
                    it = _files.emplace(inode, std::move(f)).first;
                } else {
                    tail_file& f = it->second;
                    if (f.matched) continue;  // already matched by an earlier group
                    if (f.path != path) {
                        log_info("TAILDIR source %s: %s was renamed to %s", _name.c_str(), f.path.c_str(), path.c_str());
                        f.path = path;
                    }
                    f.group = gi;
                    if (uint64_t(st.st_size) < f.read_pos) {
                        log_info("TAILDIR source %s: Pos %llu is larger than file size! Restarting from pos 0, file: %s, "
                                 "inode: %llu",
                                 _name.c_str(), (unsigned long long)f.read_pos, path.c_str(),
                                 (unsigned long long)inode);
                        f.committed = f.read_pos = f.next_read = 0;
                        _last_committed.erase(inode);
                        f.generation++;
                        f.carry.clear();
                    }
                    f.size_seen = st.st_size;
                    f.mtime_seen_ns = mtime;
                }
                it->second.matched = true;
            }
        }
        // Files no longer matched (rotated away, deleted) are read to their
        // end through their open descriptor, then dropped (see drain).
        _queue.clear();
        std::vector<std::pair<int64_t, uint64_t>> order;
        for (auto& [inode, f] : _files) order.push_back({f.mtime_seen_ns, inode});
        std::sort(order.begin(), order.end());
        for (auto& [mt, inode] : order) _queue.push_back(inode);
        _queue_pos = 0;
        _batches_in_file = 0;
    }

    // ------------------------------------------------------------ reading

    bool ensure_open(tail_file& f) {
        if (f.fd >= 0) return true;
        if (!f.matched) return false;  // gone from the group with no descriptor left
        bool grown = uint64_t(f.size_seen) != f.next_read;
        if (!grown) return false;
        int fd = ::open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        struct stat st;
        if (::fstat(fd, &st) != 0 || st.st_ino != f.inode) {
            ::close(fd);
            return false;
        }
        f.fd = fd;
        return true;
    }

    // Up to `limit` complete lines of `f` into a new batch (null if none).
    std::shared_ptr<EventBatch> read_lines(tail_file& f, uint32_t limit) {
        if (!ensure_open(f)) return nullptr;
        std::shared_ptr<EventBatch> batch;
        const auto& g = _opts.groups[f.group];
        size_t cpos = 0;
        bool eof = false;
        while (!batch || batch->size() < limit) {
            size_t nl = f.carry.find('\n', cpos);
            if (nl == std::string::npos) {
                if (eof) break;
                if (cpos > 0) {
                    f.carry.erase(0, cpos);
                    cpos = 0;
                }
                size_t old = f.carry.size();
                f.carry.resize(old + read_chunk);
                ssize_t n;
                do {
                    n = ::pread(f.fd, f.carry.data() + old, read_chunk, off_t(f.next_read));
                } while (n < 0 && errno == EINTR);
                if (n < 0) {
                    log_error("TAILDIR source %s: reading %s: %s", _name.c_str(), f.path.c_str(), strerror(errno));
                    _counters.add(_shard.id(), source_counter::event_read_fail);
                    n = 0;
                }
                f.carry.resize(old + size_t(n));
                f.next_read += uint64_t(n);
                if (n == 0) eof = true;
                else f.last_read_ms = now_ms();
                continue;
            }
            std::string_view line(f.carry.data() + cpos, nl - cpos);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (!batch) {
                batch = std::make_shared<EventBatch>(limit, 4096);
                batch->set_received_us(wall_clock_us());
            }
            batch->add(line);
            for (auto& [k, v] : g.headers) batch->add_header(k, v);
            if (_opts.byte_offset_header) batch->add_header("byteoffset", std::to_string(f.read_pos));
            if (_opts.file_header) batch->add_header(_opts.file_header_key, f.path);
            f.read_pos += nl + 1 - cpos;
            cpos = nl + 1;
        }
        f.carry.erase(0, cpos);
        return batch;
    }

    // ------------------------------------------------------------ the loop

    void step() {
        if (_stopped) return;
        if (_pending.batch && !commit_pending()) return;
        if (_queue_pos >= _queue.size()) {
            // A pass ended: wait if it found nothing, as Flume's runner does.
            if (_pass_started && !_pass_found) {
                _idle_passes++;
                _pass_started = false;
                schedule(std::min(_idle_passes * _opts.backoff_increment_ms, _opts.max_backoff_ms));
                return;
            }
            if (_pass_found) _idle_passes = 0;
            scan();
            close_idle();
            _pass_started = true;
            _pass_found = false;
        }
        uint32_t limit = std::min(_opts.batch_size, _processor.max_batch());
        for (int done = 0; done < batches_per_step && _queue_pos < _queue.size();) {
            auto it = _files.find(_queue[_queue_pos]);
            if (it == _files.end()) {
                next_file();
                continue;
            }
            tail_file& f = it->second;
            auto batch = read_lines(f, limit);
            if (!batch) {
                if (!f.matched) drop(it);
                next_file();
                continue;
            }
            done++;
            _pass_found = true;
            _pending = EventSpan{batch, 0, batch->size()};
            _pending_inode = f.inode;
            _pending_end = f.read_pos;
            _counters.add(_shard.id(), source_counter::event_received, batch->size());
            _counters.add(_shard.id(), source_counter::append_batch_received);
            if (!commit_pending()) return;
            if (batch->size() < limit || ++_batches_in_file >= _opts.max_batch_count) next_file();
        }
        schedule(0);
    }

    void next_file() {
        _queue_pos++;
        _batches_in_file = 0;
    }

    void drop(std::map<uint64_t, tail_file>::iterator it) {
        if (it->second.fd >= 0) ::close(it->second.fd);
        log_info("TAILDIR source %s: %s is no longer tailed", _name.c_str(), it->second.path.c_str());
        _files.erase(it);
    }

    // Flume closes files not modified for idleTimeout (reopened when they grow).
    void close_idle() {
        int64_t now = now_ms();
        for (auto& [inode, f] : _files)
            if (f.fd >= 0 && f.matched && now - f.last_read_ms > _opts.idle_timeout_ms) {
                ::close(f.fd);
                f.fd = -1;
            }
    }

    bool commit_pending() {
        while (_pending.size() > 0) {
            uint32_t n = std::min(_pending.size(), _processor.max_batch());
            Status st = _processor.put(EventSpan{_pending.batch, _pending.begin, _pending.begin + n}, _progress);
            if (!st) {
                bool full = st.code() == errc::channel_full, gave_up = false;
                int64_t keep_alive_ms = _progress.failed ? _progress.failed->keep_alive_ms() : 3000;
                int64_t delay_us = full ? _retry.next_delay_us(keep_alive_ms, gave_up) : 0;
                if (full && !gave_up) {
                    schedule_us(delay_us);  // Flume's put would still be waiting for room
                    return false;
                }
                _counters.add(_shard.id(), source_counter::channel_write_fail);
                if (!_full_logged)
                    log_warn("TAILDIR source %s: Unable to deliver event. Exception follows: %s", _name.c_str(),
                             st.message().c_str());
                _full_logged = true;
                _full_retries++;
                schedule(std::min(_full_retries * _opts.backoff_increment_ms, _opts.max_backoff_ms));
                return false;
            }
            _retry.reset();
            _progress.reset();
            _pending.begin += n;
            _counters.add(_shard.id(), source_counter::event_accepted, n);
        }
        _full_logged = false;
        _full_retries = 0;
        _counters.add(_shard.id(), source_counter::append_batch_accepted);
        // Positions record only what the channels hold durably (a `file`
        // channel syncs later; memory channels run this inline).
        uint64_t generation = 0;
        if (auto it = _files.find(_pending_inode); it != _files.end()) generation = it->second.generation;
        _last_committed[_pending_inode] = _pending_end;
        _processor.when_durable([this, alive = _alive, inode = _pending_inode, end = _pending_end, generation] {
            if (!*alive) return;
            auto it = _files.find(inode);
            if (it != _files.end() && it->second.generation == generation && end > it->second.committed)
                it->second.committed = end;
        });
        _pending = EventSpan{};
        return true;
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name;
    taildir_options _opts;
    bool _owner;
    bool _stopped = false, _full_logged = false;
    TimerId _timer = 0, _pos_timer = 0;
    std::map<uint64_t, TailPosition> _loaded;  // the position file read at start
    std::map<uint64_t, tail_file> _files;      // by inode
    std::map<uint64_t, uint64_t> _last_committed;  // by inode: end of the last committed batch
    std::vector<uint64_t> _queue;              // this pass's files, oldest change first
    size_t _queue_pos = 0;
    int64_t _batches_in_file = 0;
    bool _pass_started = false, _pass_found = false;
    int64_t _idle_passes = 0, _full_retries = 0;
    EventSpan _pending;
    uint64_t _pending_inode = 0, _pending_end = 0;
    ChannelProcessor::Progress _progress;
    FullChannelRetry _retry;
    std::shared_ptr<bool> _alive = std::make_shared<bool>(true);  // false once stopped (durability callbacks)
};

// filegroups.<g> = /dir/regex: the directory part is literal, the file name a regex.
bool split_group_path(const std::string& path, std::string& dir, std::string& pattern) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos || slash + 1 == path.size()) return false;
    dir = slash == 0 ? "/" : path.substr(0, slash);
    pattern = path.substr(slash + 1);
    return true;
}

void check_taildir(const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
    auto groups = s.get_list("filegroups");
    auto paths = s.get_prefixed("filegroups.");
    if (groups.empty()) problems.emplace_back("filegroups", "Missing param: filegroups");
    for (const auto& g : groups) {
        auto it = std::find_if(paths.begin(), paths.end(), [&](auto& kv) { return kv.first == g; });
        if (it == paths.end()) {
            problems.emplace_back("filegroups", "Mapping for tailing files is empty or invalid: 'filegroups." + g + "'");
            continue;
        }
        std::string dir, pattern;
        if (!split_group_path(it->second, dir, pattern) || it->second[0] != '/') {
            problems.emplace_back("filegroups." + g, "expected an absolute path whose file name part is a regex, got '" +
                                                         it->second + "'");
            continue;
        }
        auto re = compile_regex(pattern);
        if (!re) problems.emplace_back("filegroups." + g, re.status().message());
    }
    for (auto& [k, v] : paths)
        if (std::find(groups.begin(), groups.end(), k) == groups.end())
            problems.emplace_back("filegroups." + k, "file group '" + k + "' is not listed in filegroups");
}

}  // namespace

ComponentDescriptor taildir_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "TAILDIR";
    d.aliases = {"org.apache.flume.source.taildir.TaildirSource"};
    d.description =
        "Tails files of file groups (a directory and a regex on file names), each complete line one event, and keeps "
        "the committed position of each file in a JSON position file (Flume's format; docs/file_sources.md). "
        "Follows rotation and truncation. Runs on one shard.";
    d.keys = {
        {"filegroups", KeyType::list, "", true, "The file groups (space-separated names)."},
        {"filegroups.", KeyType::prefix, "", false,
         "filegroups.<g>: the absolute path of group g's files; the file name part is a regex."},
        {"positionFile", KeyType::string, "~/.flume/taildir_position.json", false,
         "The JSON file holding each file's inode, committed position and path (~ = $HOME).", INT64_MIN, INT64_MAX,
         {},
         "Positions follow inodes: a file renamed within its group keeps its position (Flume 1.11 reads it again "
         "from the start), and a file rotated out of its group is read to its end before it is dropped."},
        {"headers.", KeyType::prefix, "", false, "headers.<g>.<key> = value: a header added to group g's events."},
        {"byteOffsetHeader", KeyType::boolean, "false", false,
         "Add a `byteoffset` header: the line's offset in its file."},
        {"skipToEnd", KeyType::boolean, "false", false,
         "Start files that have no recorded position at their end instead of their start."},
        {"idleTimeout", KeyType::duration_ms, "120000", false,
         "Close a file not modified for this long (ms); it is reopened when it grows.", 1},
        {"writePosInterval", KeyType::duration_ms, "3000", false, "How often the position file is written (ms).", 1},
        {"batchSize", KeyType::integer, "100", false, "Most lines per transaction.", 1, INT32_MAX},
        {"maxBatchCount", KeyType::integer, "9223372036854775807", false,
         "Most batches read from one file in a row before going on to the next.", 1},
        {"backoffSleepIncrement", KeyType::duration_ms, "1000", false,
         "After a pass that found no new line, wait this much longer than after the previous one (ms).", 1},
        {"maxBackoffSleep", KeyType::duration_ms, "5000", false, "Longest wait between passes (ms).", 1},
        {"cachePatternMatching", KeyType::boolean, "true", false,
         "Reuse the list of matching files while the directory is unchanged."},
        {"fileHeader", KeyType::boolean, "false", false, "Add a header with the file's absolute path."},
        {"fileHeaderKey", KeyType::string, "file", false, "The header name for fileHeader."},
    };
    d.batch_size_key = "batchSize";
    d.check = check_taildir;
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        const auto& s = ctx.settings;
        taildir_options o;
        auto paths = s.get_prefixed("filegroups.");
        auto headers = s.get_prefixed("headers.");
        for (const auto& name : s.get_list("filegroups")) {
            file_group g;
            g.name = name;
            std::string pattern;
            for (auto& [k, v] : paths)
                if (k == name) split_group_path(v, g.dir, pattern);
            auto re = compile_regex(pattern);
            if (!re) return re.status();
            g.re = re.value();
            for (auto& [k, v] : headers)
                if (k.size() > name.size() + 1 && k.compare(0, name.size() + 1, name + ".") == 0)
                    g.headers.emplace_back(k.substr(name.size() + 1), v);
            o.groups.push_back(std::move(g));
        }
        o.position_file = expand_home(s.get_string("positionFile"));
        o.byte_offset_header = s.get_bool("byteOffsetHeader");
        o.skip_to_end = s.get_bool("skipToEnd");
        o.idle_timeout_ms = s.get_duration_ms("idleTimeout");
        o.write_pos_interval_ms = s.get_duration_ms("writePosInterval");
        o.batch_size = uint32_t(s.get_int("batchSize"));
        o.max_batch_count = s.get_int("maxBatchCount");
        o.backoff_increment_ms = s.get_duration_ms("backoffSleepIncrement");
        o.max_backoff_ms = s.get_duration_ms("maxBackoffSleep");
        o.cache_pattern_matching = s.get_bool("cachePatternMatching");
        o.file_header = s.get_bool("fileHeader");
        o.file_header_key = s.get_string("fileHeaderKey");
        return std::unique_ptr<Source>(new TaildirSource(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
