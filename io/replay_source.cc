// SPDX-License-Identifier: Apache-2.0
// The `replay` source (docs/streams.md §7): reads a file once, each line
// `<epoch-ms> <body>` an event with that `timestamp` header, a line with only
// `<epoch-ms>` a tick that advances event time. Runs on shard 0 only (the
// instances on other shards finish at once), so a replay is one ordered input
// whatever the number of shards.
//
// A tick waits until the source's channels have been drained, so every event
// before it has been taken by the streams when they learn the new time.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"

namespace sluice {

namespace {

constexpr size_t read_chunk = 64 * 1024;

class ReplaySource final : public Source {
public:
    explicit ReplaySource(SourceContext& ctx)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _path(ctx.settings.get_string("path")), _channels(ctx.channels), _advance(ctx.advance_event_time) {}
    ~ReplaySource() override {
        if (_fd > 0) ::close(_fd);
        if (_timer) _shard.cancel_timer(_timer);
    }

    Status start() override {
        if (_shard.id() != 0) {
            _eof = _done = true;
            return Status::ok();
        }
        if (_path == "-") {
            _fd = ::dup(0);
        } else {
            _fd = ::open(_path.c_str(), O_RDONLY | O_CLOEXEC);
        }
        if (_fd < 0) return io_error("replay source " + _name + ": cannot open " + _path, errno);
        schedule(0);
        return Status::ok();
    }

    void stop(Task done) override {
        _stopped = true;
        if (_timer) _shard.cancel_timer(_timer);
        _timer = 0;
        done();
    }

    bool finished() const override { return _done; }

private:
    void schedule(int64_t delay_us) {
        if (_timer || _stopped) return;
        _timer = _shard.add_timer(delay_us, [this] {
            _timer = 0;
            step();
        });
    }

    // One step: put what is parsed, handle a pending tick, or read more.
    void step() {
        if (_stopped) return;
        if (!put_pending()) {
            schedule(1000);  // the channel is full: try again shortly
            return;
        }
        if (_tick_pending) {
            for (auto* c : _channels)
                if (c->size() > 0) {
                    schedule(500);
                    return;
                }
            _tick_pending = false;
            if (_advance) _advance(_tick_ms);
        }
        if (_eof) {
            finish_input();
            return;
        }
        char buf[read_chunk];
        ssize_t n = ::read(_fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            schedule(0);
            return;
        }
        if (n < 0) {
            log_error("replay source %s: read failed: %s", _name.c_str(), strerror(errno));
            _eof = true;
        } else if (n == 0) {
            _eof = true;
        } else {
            _carry.append(buf, size_t(n));
        }
        parse_lines(_eof);
        schedule(0);
    }

    void finish_input() {
        if (!_carry.empty()) parse_lines(true);
        if (!put_pending()) {
            schedule(1000);
            return;
        }
        // The last tick (if any) is handled by step(); done when everything is in.
        if (_tick_pending) {
            schedule(500);
            return;
        }
        _done = true;
    }

    // Parses complete lines of _carry (all of it at end of input) into events,
    // stopping at a tick so that events after it wait for it.
    void parse_lines(bool at_end) {
        size_t pos = 0;
        while (pos < _carry.size() && !_tick_pending) {
            size_t nl = _carry.find('\n', pos);
            if (nl == std::string::npos && !at_end) break;
            size_t end = nl == std::string::npos ? _carry.size() : nl;
            std::string_view line(_carry.data() + pos, end - pos);
            pos = nl == std::string::npos ? _carry.size() : nl + 1;
            _line_no++;
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            if (line.empty()) continue;
            size_t sp = line.find(' ');
            std::string_view ts = line.substr(0, sp);
            int64_t ms = 0;
            auto [p, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ms);
            if (ec != std::errc() || p != ts.data() + ts.size()) {
                log_warn("replay source %s: %s:%llu: expected '<epoch-ms> <body>', skipped", _name.c_str(), _path.c_str(),
                         (unsigned long long)_line_no);
                _counters.add(_shard.id(), source_counter::event_read_fail);
                continue;
            }
            if (sp == std::string_view::npos) {
                _tick_pending = true;
                _tick_ms = ms;
                continue;
            }
            if (!_batch) {
                _batch = std::make_shared<EventBatch>();
                _batch->set_received_us(wall_clock_us());
            }
            _batch->add(line.substr(sp + 1));
            _batch->add_header("timestamp", ts);
        }
        _carry.erase(0, pos);
        if (_batch && !_batch->empty()) {
            _counters.add(_shard.id(), source_counter::event_received, _batch->size());
            _pending.push_back(EventSpan{std::move(_batch), 0, 0});
            _pending.back().end = _pending.back().batch->size();
            _batch.reset();
        }
    }

    // Commits pending events; false if a channel is full (kept for later).
    bool put_pending() {
        while (!_pending.empty()) {
            EventSpan& head = _pending.front();
            uint32_t n = std::min(head.size(), _processor.max_batch());
            Status st = _processor.put(EventSpan{head.batch, head.begin, head.begin + n}, _progress);
            if (!st) {
                if (st.code() != errc::channel_full) log_warn("replay source %s: %s", _name.c_str(), st.message().c_str());
                _counters.add(_shard.id(), source_counter::channel_write_fail);
                return false;
            }
            _progress.reset();
            _counters.add(_shard.id(), source_counter::event_accepted, n);
            head.begin += n;
            if (head.size() == 0) _pending.erase(_pending.begin());
        }
        return true;
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name, _path;
    std::vector<Channel*> _channels;
    std::function<void(int64_t)> _advance;
    int _fd = -1;
    bool _eof = false, _done = false, _stopped = false;
    bool _tick_pending = false;
    int64_t _tick_ms = 0;
    uint64_t _line_no = 0;
    std::string _carry;
    std::shared_ptr<EventBatch> _batch;
    std::vector<EventSpan> _pending;
    ChannelProcessor::Progress _progress;
    TimerId _timer = 0;
};

}  // namespace

ComponentDescriptor replay_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "replay";
    d.description =
        "Reads a file once: each line `<epoch-ms> <body>` is an event with that `timestamp` header; a line with only "
        "`<epoch-ms>` advances event time. When every source has finished, the agent emits the last batches, drains "
        "and exits 0. For deterministic pipeline tests.";
    d.keys = {
        {"path", KeyType::string, "", true, "The file to read; - for standard input."},
    };
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        return std::unique_ptr<Source>(new ReplaySource(ctx));
    };
    return d;
}

}  // namespace sluice
