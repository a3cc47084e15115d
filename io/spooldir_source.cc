// SPDX-License-Identifier: Apache-2.0
// The `spooldir` source: Flume's SpoolDirectorySource with the LINE
// deserializer (reference/flume.md §10). Files put in `spoolDir` are read one
// at a time, each line one event; a file is renamed to <name><fileSuffix>
// (or deleted) only after all its events were committed. The tracker (meta)
// file (docs/file_sources.md) records how far the file being read has been
// committed, so a restart resumes it without losing a line (a line may come
// twice after a kill, never zero times) and never reads a completed file.
//
// One spool directory is one reader: the owner shard (docs/file_sources.md)
// does the work, the other instances idle. Files are read synchronously in
// 64 KiB chunks, one batch per step, with a step per shard iteration, so the
// shard's other work runs between batches. A full channel stops reading; the
// batch is retried after 250 ms, doubling up to maxBackoff, as Flume does.
//
// Flume's fatal cases (a file modified after it was read, a completed name
// already taken, undecodable input with decodeErrorPolicy=FAIL) stop the
// source with Flume's message; the file is left in place, nothing is lost.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <random>

#include "core/component.h"
#include "core/log.h"
#include "io/atomic_file.h"
#include "io/components.h"
#include "io/file_source_util.h"

namespace sluice {

namespace {

constexpr size_t read_chunk = 64 * 1024;
constexpr int64_t backoff_first_ms = 250;
constexpr std::string_view meta_file_name = ".flumespool-main.meta";
constexpr std::string_view meta_magic = "sluice-spooldir-meta 1";

enum class order { oldest, youngest, random };

struct spool_options {
    std::string dir;  // absolute
    std::string suffix;
    std::string tracker_dir;  // absolute
    bool delete_immediate = false;
    bool file_header = false, basename_header = false;
    std::string file_header_key, basename_header_key;
    std::shared_ptr<const std::regex> include, ignore;
    order consume_order = order::oldest;
    int64_t poll_delay_ms = 500;
    bool recursive = false;
    int64_t max_backoff_ms = 4000;
    uint32_t batch_size = 100;
    charset cs = charset::utf8;
    decode_policy policy = decode_policy::fail;
    size_t max_line_length = 2048;
};

std::string absolute_path(const std::string& p) {
    if (!p.empty() && p[0] == '/') return p;
    char cwd[4096];
    if (!::getcwd(cwd, sizeof(cwd))) return p;
    return std::string(cwd) + "/" + p;
}

int64_t mtime_ms(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000; }
int64_t mtime_ns(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec; }

struct candidate {
    std::string path, name;
    int64_t mtime_ms;
};

class SpoolDirSource final : public Source {
public:
    SpoolDirSource(SourceContext& ctx, spool_options o)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(o)), _owner(owner_shard(_name, ctx.shard.count()) == ctx.shard.id()),
          _meta_path(_opts.tracker_dir + "/" + std::string(meta_file_name)), _rng(std::random_device{}()) {}
    ~SpoolDirSource() override {
        *_alive = false;
        if (_timer) _shard.cancel_timer(_timer);
        if (_fd >= 0) ::close(_fd);
        close_meta();
    }

    Status start() override {
        if (!_owner) return Status::ok();
        if (Status st = check_directories(); !st) return Status(st.code(), describe() + ": " + st.message());
        load_meta();
        log_info("%s: started", describe().c_str());
        schedule(0);
        return Status::ok();
    }

    void stop(Task done) override {
        _stopped = true;
        *_alive = false;  // the callback below takes over
        if (_timer) _shard.cancel_timer(_timer);
        _timer = 0;
        // A batch read but not committed is not in the meta file: it is read
        // again after a restart.
        if (_fd >= 0) ::close(_fd);
        _fd = -1;
        if (!_owner) {
            done();
            return;
        }
        // Record what became durable, then report stopped (the channels run until the sources are done).
        _processor.when_durable([this, done = std::move(done)] {
            if (_durable_off < _committed_off && !_path.empty()) {
                _durable_off = _committed_off;
                write_meta();
            }
            close_meta();
            done();
        });
    }

private:
    std::string describe() const { return "Spool Directory source " + _name + ": { spoolDir: " + _opts.dir + " }"; }

    Status check_directories() {
        struct stat st;
        if (::stat(_opts.dir.c_str(), &st) != 0) return Status(errc::config, "Directory does not exist: " + _opts.dir);
        if (!S_ISDIR(st.st_mode)) return Status(errc::config, "Path is not a directory: " + _opts.dir);
        // Flume's canary: the directory must let us create, read and delete files.
        std::string canary = _opts.dir + "/flume-spooldir-perm-check-XXXXXX";
        int fd = ::mkstemp(canary.data());
        bool ok = fd >= 0 && ::write(fd, "testing flume file permissions\n", 31) == 31;
        if (fd >= 0) ::close(fd);
        if (fd >= 0 && ::unlink(canary.c_str()) != 0) ok = false;
        if (!ok) return Status(errc::io, "Unable to read and modify files in the spooling directory: " + _opts.dir);
        if (::stat(_opts.tracker_dir.c_str(), &st) != 0) {
            if (::mkdir(_opts.tracker_dir.c_str(), 0755) != 0)
                return io_error("Unable to mkdir nonexistent meta directory " + _opts.tracker_dir, errno);
        } else if (!S_ISDIR(st.st_mode)) {
            return Status(errc::io, "Specified meta directory is not a directory" + _opts.tracker_dir);
        }
        return Status::ok();
    }

    // The meta file left by the previous run, if it parses.
    void load_meta() {
        int fd = ::open(_meta_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return;
        char buf[8192];
        ssize_t n = ::read(fd, buf, sizeof(buf));
        ::close(fd);
        std::string_view text(buf, n > 0 ? size_t(n) : 0);
        auto lines = [&] {
            std::vector<std::string_view> out;
            size_t pos = 0;
            while (pos < text.size()) {
                size_t nl = text.find('\n', pos);
                if (nl == std::string_view::npos) return std::vector<std::string_view>();  // torn: no final newline
                out.push_back(text.substr(pos, nl - pos));
                pos = nl + 1;
            }
            return out;
        }();
        uint64_t off = 0;
        bool ok = lines.size() == 3 && lines[0] == meta_magic && !lines[2].empty();
        if (ok) {
            auto [p, ec] = std::from_chars(lines[1].data(), lines[1].data() + lines[1].size(), off);
            ok = ec == std::errc() && p == lines[1].data() + lines[1].size();
        }
        if (!ok) {
            log_warn("%s: the tracker file %s is not one sluice wrote; ignoring it (the file being read is read again "
                     "from its start)",
                     describe().c_str(), _meta_path.c_str());
            ::unlink(_meta_path.c_str());
            return;
        }
        _resume_path = std::string(lines[2]);
        _resume_offset = off;
    }

    // The record for the current file. The offset has a fixed width, so the
    // record's length depends on the path only.
    std::string meta_record() const {
        char off[24];
        snprintf(off, sizeof(off), "%020llu", (unsigned long long)_durable_off);
        return std::string(meta_magic) + "\n" + off + "\n" + _path + "\n";
    }

    // After each commit. The first record for a file replaces the meta file
    // atomically (temp + rename); later ones overwrite it in place with one
    // pwrite of the whole record at offset 0, which a killed process cannot
    // leave half done (renaming per batch costs milliseconds on some file
    // systems). A record torn by a power loss does not parse: the file is
    // then read again from its start (duplicates, never loss).
    void write_meta() {
        std::string text = meta_record();
        if (_meta_fd >= 0) {
            ssize_t w = ::pwrite(_meta_fd, text.data(), text.size(), 0);
            if (w == ssize_t(text.size())) return;
            log_error("%s: cannot write %s: %s", describe().c_str(), _meta_path.c_str(),
                      w < 0 ? strerror(errno) : "short write");
            _counters.add(_shard.id(), source_counter::generic_processing_fail);
            ::close(_meta_fd);
            _meta_fd = -1;
        }
        if (Status st = write_file_atomically(_meta_path, text, false); !st) {
            log_error("%s: %s", describe().c_str(), st.message().c_str());
            _counters.add(_shard.id(), source_counter::generic_processing_fail);
            return;
        }
        _meta_fd = ::open(_meta_path.c_str(), O_WRONLY | O_CLOEXEC);
    }

    void close_meta() {
        if (_meta_fd >= 0) ::close(_meta_fd);
        _meta_fd = -1;
    }

    void delete_meta() {
        close_meta();
        if (::unlink(_meta_path.c_str()) != 0 && errno != ENOENT)
            log_error("%s: Unable to delete old meta file %s: %s", describe().c_str(), _meta_path.c_str(),
                      strerror(errno));
    }

    void schedule(int64_t delay_ms) { schedule_us(delay_ms * 1000); }
    void schedule_us(int64_t delay_us) {
        if (_timer || _stopped || _halted) return;
        _timer = _shard.add_timer(delay_us, [this] {
            _timer = 0;
            step();
        });
    }

    // Flume's "FATAL" case: the source stops processing until restarted.
    void halt(const std::string& cause, bool reading) {
        log_error("FATAL: %s: Uncaught exception in SpoolDirectorySource thread. Restart or reconfigure Flume to "
                  "continue processing. %s",
                  describe().c_str(), cause.c_str());
        _counters.add(_shard.id(), reading ? source_counter::event_read_fail : source_counter::generic_processing_fail);
        _halted = true;
        if (_fd >= 0) ::close(_fd);
        _fd = -1;
    }

    void step() {
        if (_stopped || _halted) return;
        if (_pending.batch && !commit_pending()) return;
        if (_fd < 0 && !open_next()) {
            schedule(_opts.poll_delay_ms);
            return;
        }
        if (!read_batch()) return;  // halted
        if (_pending.batch) {
            if (!commit_pending()) return;
            schedule(0);
            return;
        }
        // Nothing more in this file: once all of it is durable in the
        // channels, complete it and go on with the next.
        if (_durable_off < _committed_off) {
            schedule_us(1000);
            return;
        }
        if (retire()) schedule(0);
    }

    // ------------------------------------------------------------ choosing a file

    void list_candidates(const std::string& dir, bool top, std::vector<candidate>& out) {
        DIR* d = ::opendir(dir.c_str());
        if (!d) {
            log_error("%s: I/O exception occurred while listing directories. Files already matched will be "
                      "returned. %s: %s",
                      describe().c_str(), dir.c_str(), strerror(errno));
            _counters.add(_shard.id(), source_counter::generic_processing_fail);
            return;
        }
        while (dirent* e = ::readdir(d)) {
            std::string name = e->d_name;
            if (name == "." || name == "..") continue;
            std::string path = dir + "/" + name;
            struct stat st;
            if (::stat(path.c_str(), &st) != 0) continue;
            if (S_ISDIR(st.st_mode)) {
                if (!_opts.recursive || name[0] == '.' || std::regex_match(name, *_opts.ignore) ||
                    path == _opts.tracker_dir)
                    continue;
                list_candidates(path, false, out);
                continue;
            }
            if (!S_ISREG(st.st_mode)) continue;
            if (name[0] == '.') continue;
            if (name.size() >= _opts.suffix.size() &&
                name.compare(name.size() - _opts.suffix.size(), _opts.suffix.size(), _opts.suffix) == 0)
                continue;
            if (!std::regex_match(name, *_opts.include) || std::regex_match(name, *_opts.ignore)) continue;
            out.push_back({path, name, mtime_ms(st)});
        }
        ::closedir(d);
        (void)top;
    }

    bool open_next() {
        std::vector<candidate> files;
        list_candidates(_opts.dir, true, files);
        if (files.empty()) return false;
        const candidate* pick = nullptr;
        uint64_t offset = 0;
        if (!_resume_path.empty()) {
            for (auto& c : files)
                if (c.path == _resume_path) pick = &c, offset = _resume_offset;
            if (!pick) delete_meta();
            _resume_path.clear();
        }
        if (!pick) {
            if (_opts.consume_order == order::random) {
                pick = &files[std::uniform_int_distribution<size_t>(0, files.size() - 1)(_rng)];
            } else {
                pick = &files[0];
                bool youngest = _opts.consume_order == order::youngest;
                for (auto& c : files) {
                    if (c.mtime_ms == pick->mtime_ms) {
                        if (c.name < pick->name) pick = &c;
                    } else if (youngest ? c.mtime_ms > pick->mtime_ms : c.mtime_ms < pick->mtime_ms) {
                        pick = &c;
                    }
                }
            }
        }
        int fd = ::open(pick->path.c_str(), O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || ::fstat(fd, &st) != 0) {
            log_error("%s: Exception opening file: %s: %s", describe().c_str(), pick->path.c_str(), strerror(errno));
            _counters.add(_shard.id(), source_counter::generic_processing_fail);
            if (fd >= 0) ::close(fd);
            return false;
        }
        if (offset > uint64_t(st.st_size)) {
            log_warn("%s: the tracker file's offset %llu is beyond the end of %s; reading it from the start",
                     describe().c_str(), (unsigned long long)offset, pick->path.c_str());
            offset = 0;
        }
        if (offset > 0) {
            log_info("%s: resuming %s at byte %llu", describe().c_str(), pick->path.c_str(),
                     (unsigned long long)offset);
        }
        _fd = fd;
        _path = pick->path;
        _basename = pick->name;
        _mtime_ns = mtime_ns(st);
        _size = st.st_size;
        _committed_off = _durable_off = _read_off = _buf_file_off = offset;
        _buf.clear();
        _buf_pos = 0;
        _eof = false;
        _first_read = offset == 0;
        close_meta();  // the first record for this file replaces the meta file
        return true;
    }

    // ------------------------------------------------------------ reading

    // Reads up to batchSize lines into _pending. False if the source halted.
    bool read_batch() {
        std::shared_ptr<EventBatch> batch;
        uint32_t limit = std::min(_opts.batch_size, _processor.max_batch());
        std::string decoded;
        while (!batch || batch->size() < limit) {
            std::string_view line;
            size_t consumed = 0;
            if (!next_line(line, consumed)) {
                if (_eof) break;
                if (!fill()) return false;
                continue;
            }
            if (!batch) {
                batch = std::make_shared<EventBatch>(limit, 4096);
                batch->set_received_us(wall_clock_us());
            }
            decoded.clear();
            if (!decode_to_utf8(line, _opts.cs, _opts.policy, decoded)) {
                halt("java.nio.charset.MalformedInputException: cannot decode " + _path + " at byte " +
                         std::to_string(_buf_file_off + _buf_pos),
                     true);
                return false;
            }
            batch->add(decoded);
            add_headers(*batch);
            _buf_pos += consumed;
            _read_off = _buf_file_off + _buf_pos;
        }
        // Flume gives an empty file one empty event.
        if (!batch && _first_read && _eof && _read_off == 0) {
            batch = std::make_shared<EventBatch>();
            batch->set_received_us(wall_clock_us());
            batch->add(std::string_view());
            add_headers(*batch);
        }
        _first_read = false;
        if (batch) {
            _pending = EventSpan{batch, 0, batch->size()};
            _pending_end = _read_off;
            _counters.add(_shard.id(), source_counter::event_received, batch->size());
            _counters.add(_shard.id(), source_counter::append_batch_received);
        }
        return true;
    }

    void add_headers(EventBatch& b) {
        if (_opts.file_header) b.add_header(_opts.file_header_key, _path);
        if (_opts.basename_header) b.add_header(_opts.basename_header_key, _basename);
    }

    // The next line in the buffer, as the LINE deserializer cuts it: up to a
    // newline (not included), or maxLineLength characters (the newline, if it
    // follows, then makes an empty line, as in Flume), or the rest of the
    // file at its end. False when more bytes are needed (or at the end).
    bool next_line(std::string_view& line, size_t& consumed) {
        std::string_view data = std::string_view(_buf).substr(_buf_pos);
        size_t nl = data.find('\n');
        std::string_view seg = nl == std::string_view::npos ? data : data.substr(0, nl);
        if (seg.size() >= _opts.max_line_length) {
            size_t chars = 0;
            size_t cut = bytes_for_chars(seg, _opts.cs, _opts.max_line_length, &chars);
            if (chars >= _opts.max_line_length) {
                log_warn("%s: Line length exceeds max (%zu), truncating line!", describe().c_str(),
                         _opts.max_line_length);
                line = seg.substr(0, cut);
                consumed = cut;
                return true;
            }
        }
        if (nl != std::string_view::npos) {
            line = seg;
            consumed = nl + 1;
            return true;
        }
        if (_eof && !seg.empty()) {
            line = seg;
            consumed = seg.size();
            return true;
        }
        return false;
    }

    // Reads one chunk (synchronously: a regular file, bounded size).
    bool fill() {
        if (_buf_pos > 0) {
            _buf.erase(0, _buf_pos);
            _buf_file_off += _buf_pos;
            _buf_pos = 0;
        }
        size_t old = _buf.size();
        _buf.resize(old + read_chunk);
        ssize_t n;
        do {
            n = ::pread(_fd, _buf.data() + old, read_chunk, off_t(_buf_file_off + old));
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            int err = errno;
            _buf.resize(old);
            halt("java.io.IOException: reading " + _path + ": " + strerror(err), true);
            return false;
        }
        _buf.resize(old + size_t(n));
        if (n == 0) _eof = true;
        return true;
    }

    // ------------------------------------------------------------ committing

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
                log_warn("%s: The channel %s, and cannot write data now. The source will try again after %lld "
                         "milliseconds",
                         describe().c_str(), full ? "is full" : ("threw an exception (" + st.message() + ")").c_str(),
                         (long long)_backoff_ms);
                schedule_us(_backoff_ms * 1000);
                _backoff_ms = std::min(_backoff_ms * 2, _opts.max_backoff_ms);
                return false;
            }
            _retry.reset();
            _progress.reset();
            _pending.begin += n;
            _counters.add(_shard.id(), source_counter::event_accepted, n);
        }
        _backoff_ms = backoff_first_ms;
        _counters.add(_shard.id(), source_counter::append_batch_accepted);
        _pending = EventSpan{};
        _committed_off = _pending_end;
        // The tracker records only what the channels hold durably (a `file`
        // channel syncs later; memory channels run this inline).
        _processor.when_durable([this, alive = _alive, off = _committed_off, path = _path] {
            if (!*alive || path != _path || off <= _durable_off) return;
            _durable_off = off;
            write_meta();
        });
        return true;
    }

    // Completes the current file (all of it committed): Flume's checks, then
    // rename or delete, then the meta file goes. False if the source halted.
    bool retire() {
        ::close(_fd);
        _fd = -1;
        struct stat st;
        if (::stat(_path.c_str(), &st) != 0) {
            halt("java.io.FileNotFoundException: " + _path + " (" + strerror(errno) + ")", false);
            return false;
        }
        if (mtime_ns(st) != _mtime_ns) {
            halt("java.lang.IllegalStateException: File has been modified since being read: " + _path, false);
            return false;
        }
        if (st.st_size != _size) {
            halt("java.lang.IllegalStateException: File has changed size since being read: " + _path, false);
            return false;
        }
        if (_opts.delete_immediate) {
            log_info("%s: Preparing to delete file %s", describe().c_str(), _path.c_str());
            if (::unlink(_path.c_str()) != 0) {
                halt("java.io.IOException: Unable to delete spool file: " + _path, false);
                return false;
            }
        } else {
            std::string dest = _path + _opts.suffix;
            log_info("%s: Preparing to move file %s to %s", describe().c_str(), _path.c_str(), dest.c_str());
            struct stat dst;
            if (::lstat(dest.c_str(), &dst) == 0) {
                halt("java.lang.IllegalStateException: File name has been re-used with different files. Spooling "
                     "assumptions violated for " + dest,
                     false);
                return false;
            }
            if (::rename(_path.c_str(), dest.c_str()) != 0) {
                halt("org.apache.flume.FlumeException: Unable to move " + _path + " to " + dest +
                         ". This will likely cause duplicate events. Please verify that flume has sufficient "
                         "permissions to perform these operations.",
                     false);
                return false;
            }
        }
        delete_meta();
        return true;
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name;
    spool_options _opts;
    bool _owner;
    std::string _meta_path;
    std::minstd_rand _rng;
    TimerId _timer = 0;
    bool _stopped = false, _halted = false;
    int64_t _backoff_ms = backoff_first_ms;
    FullChannelRetry _retry;
    std::shared_ptr<bool> _alive = std::make_shared<bool>(true);  // false once stopped (durability callbacks)

    std::string _resume_path;  // from the meta file at start
    uint64_t _resume_offset = 0;

    // The file being read.
    int _fd = -1;
    int _meta_fd = -1;  // the meta file, once it holds a record for the current file
    std::string _path, _basename;
    int64_t _mtime_ns = 0;
    off_t _size = 0;
    uint64_t _committed_off = 0;  // after the last line committed
    uint64_t _durable_off = 0;    // after the last line durable in the channels: in the meta file
    uint64_t _read_off = 0;       // after the last line read
    std::string _buf;             // file bytes from _buf_file_off
    uint64_t _buf_file_off = 0;
    size_t _buf_pos = 0;          // next unread byte of _buf
    bool _eof = false, _first_read = false;

    EventSpan _pending;  // read, not yet committed (its uncommitted part)
    uint64_t _pending_end = 0;
    ChannelProcessor::Progress _progress;
};

void check_spooldir(const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems) {
    for (const char* key : {"includePattern", "ignorePattern"}) {
        auto re = compile_regex(s.get_string(key));
        if (!re) problems.emplace_back(key, re.status().message());
    }
    charset cs;
    if (!parse_charset(s.get_string("inputCharset"), cs))
        problems.emplace_back("inputCharset", "unsupported charset '" + s.get_string("inputCharset") +
                                                  "'; supported: UTF-8, ISO-8859-1, US-ASCII");
    if (s.get_string("fileSuffix").empty()) problems.emplace_back("fileSuffix", "must not be empty");
}

}  // namespace

ComponentDescriptor spooldir_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "spooldir";
    d.aliases = {"org.apache.flume.source.SpoolDirectorySource"};
    d.description =
        "Reads the files put in a directory, one at a time, each line one event; a file is renamed with fileSuffix "
        "(or deleted) once all its events are committed. A tracker file lets a restart resume the file being read "
        "(docs/file_sources.md). Files must not change once in the directory. Runs on one shard.";
    d.keys = {
        {"spoolDir", KeyType::string, "", true, "The directory to read files from."},
        {"fileSuffix", KeyType::string, ".COMPLETED", false, "Appended to the name of a completed file."},
        {"deletePolicy", KeyType::choice, "never", false, "What to do with a completed file: rename it, or delete it.",
         INT64_MIN, INT64_MAX, {"never", "immediate"}},
        {"fileHeader", KeyType::boolean, "false", false, "Add a header with the file's absolute path."},
        {"fileHeaderKey", KeyType::string, "file", false, "The header name for fileHeader."},
        {"basenameHeader", KeyType::boolean, "false", false, "Add a header with the file's name."},
        {"basenameHeaderKey", KeyType::string, "basename", false, "The header name for basenameHeader."},
        {"includePattern", KeyType::string, "^.*$", false, "Read only files whose name matches this regex."},
        {"ignorePattern", KeyType::string, "^$", false,
         "Skip files (and, with recursiveDirectorySearch, directories) whose name matches this regex."},
        {"trackerDir", KeyType::string, ".flumespool", false,
         "Where the tracker file is kept; relative to spoolDir unless absolute."},
        {"consumeOrder", KeyType::choice, "oldest", false,
         "Which file to read next: oldest or youngest modification time (ties: smallest name), or any.", INT64_MIN,
         INT64_MAX, {"oldest", "youngest", "random"}},
        {"pollDelay", KeyType::duration_ms, "500", false, "How long to wait before looking for new files (ms).", 1},
        {"recursiveDirectorySearch", KeyType::boolean, "false", false, "Also read files in subdirectories."},
        {"maxBackoff", KeyType::duration_ms, "4000", false,
         "Longest wait (ms) before retrying a batch the channel had no room for (the wait starts at 250 ms and "
         "doubles).",
         1},
        {"batchSize", KeyType::integer, "100", false, "Most lines per transaction.", 1, INT32_MAX},
        {"inputCharset", KeyType::string, "UTF-8", false,
         "Character set of the files (UTF-8, ISO-8859-1 or US-ASCII); bodies are stored as UTF-8.", INT64_MIN,
         INT64_MAX, {}, "Only these three charsets."},
        {"decodeErrorPolicy", KeyType::choice, "FAIL", false,
         "Bytes not valid in inputCharset: FAIL stops the source, REPLACE puts U+FFFD, IGNORE drops them.",
         INT64_MIN, INT64_MAX, {"FAIL", "REPLACE", "IGNORE"}},
        {"deserializer", KeyType::choice, "LINE", false, "How a file is cut into events: one line each.", INT64_MIN,
         INT64_MAX, {"LINE"}, "Only LINE (Flume also has AVRO and BlobDeserializer)."},
        {"deserializer.maxLineLength", KeyType::integer, "2048", false,
         "Longest event in characters; a longer line is cut into events of this length.", 1, 1 << 24},
        {"deserializer.outputCharset", KeyType::choice, "UTF-8", false, "Character set of the event bodies.",
         INT64_MIN, INT64_MAX, {"UTF-8"}},
        {"bufferMaxLines", KeyType::integer, "", false, "Ignored (Flume ignores it too)."},
        {"bufferMaxLineLength", KeyType::integer, "", false,
         "Deprecated in Flume; ignored (use deserializer.maxLineLength)."},
    };
    d.batch_size_key = "batchSize";
    d.check = check_spooldir;
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        const auto& s = ctx.settings;
        spool_options o;
        o.dir = absolute_path(s.get_string("spoolDir"));
        while (o.dir.size() > 1 && o.dir.back() == '/') o.dir.pop_back();
        o.suffix = s.get_string("fileSuffix");
        std::string tracker = s.get_string("trackerDir");
        o.tracker_dir = !tracker.empty() && tracker[0] == '/' ? tracker : o.dir + "/" + tracker;
        std::string policy = s.get_string("deletePolicy");
        o.delete_immediate = policy.size() == 9 && (policy[0] == 'i' || policy[0] == 'I');
        o.file_header = s.get_bool("fileHeader");
        o.file_header_key = s.get_string("fileHeaderKey");
        o.basename_header = s.get_bool("basenameHeader");
        o.basename_header_key = s.get_string("basenameHeaderKey");
        auto inc = compile_regex(s.get_string("includePattern"));
        auto ign = compile_regex(s.get_string("ignorePattern"));
        if (!inc) return inc.status();
        if (!ign) return ign.status();
        o.include = inc.value();
        o.ignore = ign.value();
        std::string ord = s.get_string("consumeOrder");
        for (auto& c : ord) c = char(tolower(static_cast<unsigned char>(c)));
        o.consume_order = ord == "youngest" ? order::youngest : ord == "random" ? order::random : order::oldest;
        o.poll_delay_ms = s.get_duration_ms("pollDelay");
        o.recursive = s.get_bool("recursiveDirectorySearch");
        o.max_backoff_ms = s.get_duration_ms("maxBackoff");
        o.batch_size = uint32_t(s.get_int("batchSize"));
        parse_charset(s.get_string("inputCharset"), o.cs);
        std::string dep = s.get_string("decodeErrorPolicy");
        for (auto& c : dep) c = char(toupper(static_cast<unsigned char>(c)));
        o.policy = dep == "REPLACE" ? decode_policy::replace : dep == "IGNORE" ? decode_policy::ignore : decode_policy::fail;
        o.max_line_length = size_t(s.get_int("deserializer.maxLineLength"));
        return std::unique_ptr<Source>(new SpoolDirSource(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
