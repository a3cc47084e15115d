// SPDX-License-Identifier: Apache-2.0
// The `logger`, `file_roll` and `null` sinks (reference/flume.md §9).
//
// Each is a per-shard instance driven by the shard's SinkRunner: process()
// runs one take transaction of up to the batch size on the shard's slice of
// the channel, delivers, and commits (or rolls back, so the events are
// delivered again later).
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/component.h"
#include "core/java_format.h"
#include "core/log.h"
#include "io/components.h"

namespace sluice {

namespace {

// Flume's batch accounting for a take of `got` out of `batch`.
void count_batch(CounterGroup& c, unsigned shard, uint32_t got, uint32_t batch) {
    if (got == 0) c.add(shard, sink_counter::batch_empty);
    else if (got < batch) c.add(shard, sink_counter::batch_underflow);
    else c.add(shard, sink_counter::batch_complete);
}

// ------------------------------------------------------------------ logger

class LoggerSink final : public Sink {
public:
    LoggerSink(SinkContext& ctx)
        : _shard(ctx.shard.id()), _channel(ctx.channel), _counters(ctx.counters), _name(ctx.settings.name()),
          _max_bytes(size_t(ctx.settings.get_int("maxBytesToLog"))) {}

    SinkStatus process() override {
        auto tx = _channel.begin_take(_shard);
        uint32_t got = tx->take(batch);
        count_batch(_counters, _shard, got, batch);
        if (got == 0) {
            (void)tx->commit();
            return SinkStatus::backoff;
        }
        _counters.add(_shard, sink_counter::event_drain_attempt, got);
        _records.clear();
        for (const auto& span : tx->events()) {
            for (uint32_t i = 0; i < span.size(); i++) {
                EventView e = span[i];
                _records.push_back("Event: { headers:" + java_headers_string(e) +
                                   " body:" + flume_hex_dump(e.body(), _max_bytes) + " }");
            }
        }
        // One record per event, as Flume logs them, written with one write per batch.
        log_records(LogLevel::info, "org.apache.flume.sink.LoggerSink", _records);
        record_delivery(_counters, _shard, tx->events());
        (void)tx->commit();
        _counters.add(_shard, sink_counter::event_drain_success, got);
        return SinkStatus::ready;
    }

private:
    static constexpr uint32_t batch = 100;
    unsigned _shard;
    Channel& _channel;
    CounterGroup& _counters;
    std::string _name;
    size_t _max_bytes;
    std::vector<std::string> _records;
};

// ------------------------------------------------------------------ null

class NullSink final : public Sink {
public:
    NullSink(SinkContext& ctx)
        : _shard(ctx.shard.id()), _channel(ctx.channel), _counters(ctx.counters), _name(ctx.settings.name()),
          _batch(uint32_t(ctx.settings.get_int("batchSize"))),
          _log_every(uint64_t(ctx.settings.get_int("logEveryNEvents"))) {}

    SinkStatus process() override {
        auto tx = _channel.begin_take(_shard);
        uint32_t got = tx->take(_batch);
        count_batch(_counters, _shard, got, _batch);
        _counters.add(_shard, sink_counter::event_drain_attempt, got);
        record_delivery(_counters, _shard, tx->events());
        (void)tx->commit();
        _counters.add(_shard, sink_counter::event_drain_success, got);
        if (_log_every > 0) {
            uint64_t before = _count;
            _count += got;
            if (before / _log_every != _count / _log_every)
                log_info("Null sink %s successful processed %llu events.", _name.c_str(), (unsigned long long)_count);
        }
        // Flume: BACKOFF as soon as a take in the batch came back empty.
        return got < _batch ? SinkStatus::backoff : SinkStatus::ready;
    }

private:
    unsigned _shard;
    Channel& _channel;
    CounterGroup& _counters;
    std::string _name;
    uint32_t _batch;
    uint64_t _log_every;
    uint64_t _count = 0;
};

// ------------------------------------------------------------------ file_roll

// What the per-shard instances of one file_roll sink share: the start time in
// file names and the roll counter, so every file name is unique.
struct file_roll_shared {
    std::mutex mu;
    int64_t start_ms = wall_clock_ms();
    uint64_t counter = 0;
    std::string last_stamp;  // ROLLTIME: counter restarts for each new stamp
};

class FileRollSink final : public Sink {
public:
    FileRollSink(SinkContext& ctx, std::shared_ptr<file_roll_shared> shared)
        : _shard(ctx.shard.id()), _channel(ctx.channel), _counters(ctx.counters), _name(ctx.settings.name()),
          _shared(std::move(shared)) {
        const auto& s = ctx.settings;
        _dir = s.get_string("sink.directory");
        _roll_ms = s.get_duration_ms("sink.rollInterval");
        std::string ser = lower(s.get_string("sink.serializer"));
        _header_and_text = ser == "header_and_text";
        _append_newline = s.get_bool("sink.serializer.appendNewline");
        _batch = uint32_t(s.get_int("sink.batchSize"));
        _rolltime = lower(s.get_string("sink.pathManager")) == "rolltime";
        _prefix = s.get_string("sink.pathManager.prefix");
        _extension = s.get_string("sink.pathManager.extension");
    }
    ~FileRollSink() override { close_file(); }

    Status start() override {
        // As in Flume, a directory that cannot be used does not stop the
        // agent: the sink retries (and a failover group moves on). The
        // problem is said at once, naming the key and the directory.
        struct stat st;
        if (::stat(_dir.c_str(), &st) < 0 && ::mkdir(_dir.c_str(), 0755) < 0 && errno != EEXIST)
            log_error("file_roll sink %s: sink.directory %s cannot be created: %s (events stay in the channel until "
                      "it can)",
                      _name.c_str(), _dir.c_str(), strerror(errno));
        else if (::access(_dir.c_str(), W_OK) != 0)
            log_error("file_roll sink %s: sink.directory %s cannot be written: %s (events stay in the channel until "
                      "it can)",
                      _name.c_str(), _dir.c_str(), strerror(errno));
        if (_roll_ms > 0) _next_roll_ms = wall_clock_ms() + _roll_ms;
        return Status::ok();
    }

    SinkStatus process() override {
        if (_roll_ms > 0 && wall_clock_ms() >= _next_roll_ms) {
            close_file();
            while (_next_roll_ms <= wall_clock_ms()) _next_roll_ms += _roll_ms;
        }
        // Flume opens the file on the first process() after start or a roll,
        // events or not: a quiet sink still leaves one (empty) file per interval.
        if (_fd < 0 && !open_file()) {
            _counters.add(_shard, sink_counter::event_write_fail);
            return SinkStatus::failed;
        }
        auto tx = _channel.begin_take(_shard);
        uint32_t got = tx->take(_batch);
        count_batch(_counters, _shard, got, _batch);
        if (got == 0) {
            (void)tx->commit();
            return SinkStatus::backoff;
        }
        _counters.add(_shard, sink_counter::event_drain_attempt, got);
        _buf.clear();
        for (const auto& span : tx->events()) {
            for (uint32_t i = 0; i < span.size(); i++) {
                EventView e = span[i];
                if (_header_and_text) {
                    _buf += java_headers_string(e);
                    _buf += ' ';
                }
                _buf += e.body();
                if (_append_newline) _buf += '\n';
            }
        }
        // Whatever part of the batch reached the file is cut off again when
        // the batch does not complete, so the events, coming again, are
        // written once.
        const uint64_t before = _file_bytes;
        if (!write_all(_buf)) {
            tx->rollback();
            _counters.add(_shard, sink_counter::event_write_fail);
            cut_back(before);
            return SinkStatus::failed;
        }
        std::vector<EventSpan> delivered = tx->events();  // commit empties the transaction
        if (Status st = tx->commit(); !st) {
            // The channel could not record the take (a durable channel out of
            // disk space, say): the events stay in it and come again.
            if (!_commit_failing)
                log_error("file_roll sink %s: %s; the batch is taken back from %s and retried", _name.c_str(),
                          st.message().c_str(), _path.c_str());
            _commit_failing = true;
            tx->rollback();
            _counters.add(_shard, sink_counter::event_write_fail);
            cut_back(before);
            return SinkStatus::failed;
        }
        if (_write_failing || _commit_failing)
            log_info("file_roll sink %s: delivering to %s again", _name.c_str(), _path.c_str());
        _write_failing = _commit_failing = false;
        record_delivery(_counters, _shard, delivered);
        _counters.add(_shard, sink_counter::event_drain_success, got);
        return got < _batch ? SinkStatus::backoff : SinkStatus::ready;
    }

    void stop() override { close_file(); }

    // The next time process() must run even if no event arrives (a roll).
    int64_t next_deadline_ms() const { return _roll_ms > 0 ? _next_roll_ms : -1; }

private:
    static std::string lower(std::string s) {
        for (auto& c : s) c = char(tolower(static_cast<unsigned char>(c)));
        return s;
    }

    std::string next_path() {
        std::lock_guard lk(_shared->mu);
        std::string name = _prefix;
        if (_rolltime) {
            time_t now = time(nullptr);
            struct tm tm;
            localtime_r(&now, &tm);
            char stamp[32];
            strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
            if (_shared->last_stamp != stamp) {
                _shared->last_stamp = stamp;
                _shared->counter = 0;
            }
            name += stamp;
        } else {
            name += std::to_string(_shared->start_ms);
        }
        name += "-" + std::to_string(++_shared->counter);
        if (!_extension.empty()) name += "." + _extension;
        return _dir + "/" + name;
    }

    // Truncates the file to `size` bytes (where the failed batch began); if
    // that fails too, the file is left and a new one started.
    void cut_back(uint64_t size) {
        if (_fd < 0 || _file_bytes == size) return;
        if (::ftruncate(_fd, off_t(size)) == 0) {
            _file_bytes = size;
            return;
        }
        log_error("file_roll sink %s: cannot truncate %s after a failed batch: %s; starting a new file",
                  _name.c_str(), _path.c_str(), strerror(errno));
        close_file();
    }

    bool open_file() {
        std::string path = next_path();
        _path = path;
        _file_bytes = 0;
        _fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (_fd < 0) {
            _counters.add(_shard, sink_counter::connection_failed);
            if (!_open_failing)
                log_error("file_roll sink %s: cannot open %s: %s (events stay in the channel; retrying)", _name.c_str(),
                          path.c_str(), strerror(errno));
            _open_failing = true;
            return false;
        }
        if (_open_failing) log_info("file_roll sink %s: writing to %s again", _name.c_str(), path.c_str());
        _open_failing = false;
        _counters.add(_shard, sink_counter::connection_created);
        return true;
    }

    void close_file() {
        if (_fd < 0) return;
        ::close(_fd);
        _fd = -1;
        _counters.add(_shard, sink_counter::connection_closed);
    }

    bool write_all(std::string_view data) {
        while (!data.empty()) {
            ssize_t w = ::write(_fd, data.data(), data.size());
            if (w < 0) {
                if (errno == EINTR) continue;
                // Once per failing streak: the sink retries every back-off.
                if (!_write_failing)
                    log_error("file_roll sink %s: write to %s failed: %s (events stay in the channel; retrying)",
                              _name.c_str(), _path.c_str(), strerror(errno));
                _write_failing = true;
                return false;
            }
            _file_bytes += uint64_t(w);
            data.remove_prefix(size_t(w));
        }
        return true;
    }

    unsigned _shard;
    Channel& _channel;
    CounterGroup& _counters;
    std::string _name;
    std::shared_ptr<file_roll_shared> _shared;
    std::string _dir, _prefix, _extension;
    int64_t _roll_ms = 0, _next_roll_ms = 0;
    bool _header_and_text = false, _append_newline = true, _rolltime = false;
    uint32_t _batch = 100;
    int _fd = -1;
    std::string _path;         // of the file open (or last tried)
    uint64_t _file_bytes = 0;  // bytes written to it
    bool _open_failing = false, _write_failing = false, _commit_failing = false;
    std::string _buf;
};

}  // namespace

ComponentDescriptor logger_sink_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::sink;
    d.type = "logger";
    d.aliases = {"org.apache.flume.sink.LoggerSink"};
    d.description =
        "Logs each event at INFO, as Flume does: `Event: { headers:{...} body: <hex dump> <text> }`.";
    d.keys = {
        {"maxBytesToLog", KeyType::integer, "16", false, "Body bytes shown in the hex dump.", 0, INT32_MAX},
    };
    d.make_sink = [](SinkContext& ctx) -> Result<std::unique_ptr<Sink>> {
        return std::unique_ptr<Sink>(new LoggerSink(ctx));
    };
    return d;
}

ComponentDescriptor null_sink_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::sink;
    d.type = "null";
    d.aliases = {"org.apache.flume.sink.NullSink"};
    d.description = "Takes events and discards them.";
    d.keys = {
        {"batchSize", KeyType::integer, "100", false, "Events per transaction.", 1, INT32_MAX},
        {"logEveryNEvents", KeyType::integer, "10000", false, "Log a count line every N events (0: never).", 0},
    };
    d.batch_size_key = "batchSize";
    d.make_sink = [](SinkContext& ctx) -> Result<std::unique_ptr<Sink>> {
        return std::unique_ptr<Sink>(new NullSink(ctx));
    };
    return d;
}

ComponentDescriptor file_roll_sink_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::sink;
    d.type = "file_roll";
    d.aliases = {"org.apache.flume.sink.RollingFileSink"};
    d.description =
        "Writes events to files in a directory, starting a new file every rollInterval. With several shards each "
        "shard writes its own file; names stay unique because the roll counter is shared.";
    d.keys = {
        {"sink.directory", KeyType::string, "", true, "Directory the files are written in (created if missing)."},
        {"sink.rollInterval", KeyType::duration_s, "30", false, "Start a new file this often (seconds); 0: never."},
        {"sink.serializer", KeyType::choice, "TEXT", false,
         "TEXT: the body and a newline; header_and_text: the headers map, a space, the body.", INT64_MIN, INT64_MAX,
         {"TEXT", "header_and_text"},
         "Flume also takes avro_event and serializer class names; sluice has text and header_and_text only."},
        {"sink.serializer.appendNewline", KeyType::boolean, "true", false, "Write a newline after each event."},
        {"sink.batchSize", KeyType::integer, "100", false, "Events per transaction.", 1, INT32_MAX},
        {"sink.pathManager", KeyType::choice, "DEFAULT", false,
         "DEFAULT: <prefix><startMillis>-<n>; ROLLTIME: <prefix><yyyyMMddHHmmss>-<n>.", INT64_MIN, INT64_MAX,
         {"DEFAULT", "ROLLTIME"}},
        {"sink.pathManager.prefix", KeyType::string, "", false, "Text before each file name."},
        {"sink.pathManager.extension", KeyType::string, "", false, "File name extension (without the dot)."},
    };
    d.batch_size_key = "sink.batchSize";
    d.make_sink = [](SinkContext& ctx) -> Result<std::unique_ptr<Sink>> {
        return std::unique_ptr<Sink>(new FileRollSink(ctx, shared_component_state<file_roll_shared>(ctx.settings)));
    };
    return d;
}

}  // namespace sluice
