// SPDX-License-Identifier: Apache-2.0
// The `exec` source: Flume's ExecSource (reference/flume.md §10). Runs
// `command` as a child process and makes each line of its standard output one
// event, put in transactions of batchSize, or earlier once the oldest line
// waiting is batchTimeout old. Runs on the owner shard (docs/file_sources.md).
//
// The child's stdout is one end of a socketpair, read by the shard's reactor
// like any stream, so a silent or slow child never blocks the shard. When the
// channel is full, reading stops (the child blocks on its writes) and the
// batch is retried until it fits: unlike Flume, nothing read is dropped.
//
// The child runs in its own process group; stop() sends SIGTERM to the group
// (so `shell` pipelines end too), reads what the child had written, and sends
// SIGKILL if it has not exited after a grace period. When the child exits and
// `restart` is true, it is started again after restartThrottle ms.
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/component.h"
#include "core/log.h"
#include "io/components.h"
#include "io/file_source_util.h"

extern char** environ;

namespace sluice {

namespace {

constexpr int64_t retry_max_us = 20000;
constexpr int64_t reap_poll_us = 20000;
constexpr int64_t stop_grace_us = 3000000;
// A line longer than this is cut into events of this size (bounded memory).
constexpr size_t max_line_bytes = 16 << 20;

struct exec_options {
    std::string command;
    std::string shell;
    bool restart = false;
    int64_t restart_throttle_ms = 10000;
    bool log_stderr = false;
    uint32_t batch_size = 20;
    int64_t batch_timeout_ms = 3000;
    charset cs = charset::utf8;
};

std::vector<std::string> split_whitespace(std::string_view s) {
    std::vector<std::string> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && isspace(static_cast<unsigned char>(s[i]))) i++;
        size_t start = i;
        while (i < s.size() && !isspace(static_cast<unsigned char>(s[i]))) i++;
        if (i > start) out.emplace_back(s.substr(start, i - start));
    }
    return out;
}

class ExecSource;

// Lines of one of the child's output streams.
class ChildStream final : public StreamHandler {
public:
    ChildStream(ExecSource& src, bool is_stderr) : _src(src), _stderr(is_stderr) {}
    void on_data(std::string_view data) override;
    void on_eof(int err) override;
    void on_sent(ssize_t) override {}
    void on_closed() override;

    StreamId id = 0;
    bool open = false, closing = false;

private:
    ExecSource& _src;
    bool _stderr;
};

class ExecSource final : public Source {
public:
    ExecSource(SourceContext& ctx, exec_options o)
        : _shard(ctx.shard), _processor(ctx.processor), _counters(ctx.counters), _name(ctx.settings.name()),
          _opts(std::move(o)), _owner(owner_shard(_name, ctx.shard.count()) == ctx.shard.id()),
          _out(*this, false), _err(*this, true) {}

    ~ExecSource() override {
        for (TimerId* t : {&_batch_timer, &_retry_timer, &_reap_timer, &_restart_timer, &_kill_timer})
            if (*t) _shard.cancel_timer(*t);
        if (_pid > 0) {
            ::kill(-_pid, SIGKILL);
            ::waitpid(_pid, nullptr, 0);
        }
    }

    Status start() override {
        if (!_owner) return Status::ok();
        run_command();
        return Status::ok();
    }

    void stop(Task done) override {
        _stopping = true;
        _on_stopped = std::move(done);
        if (_restart_timer) _shard.cancel_timer(_restart_timer);
        _restart_timer = 0;
        if (_pid > 0) {
            ::kill(-_pid, SIGTERM);
            _kill_timer = _shard.add_timer(stop_grace_us, [this] {
                _kill_timer = 0;
                if (_pid > 0) ::kill(-_pid, SIGKILL);
                // A grandchild may hold the pipe open: stop reading it.
                close_streams();
            });
        }
        maybe_stopped();
    }

    // ---- called by ChildStream
    void stdout_data(std::string_view data) {
        _carry.append(data);
        frame(false);
        update_reading();
    }
    void stderr_data(std::string_view data) {
        _err_carry.append(data);
        size_t pos = 0;
        for (;;) {
            size_t nl = _err_carry.find('\n', pos);
            if (nl == std::string::npos) break;
            log_stderr_line(std::string_view(_err_carry).substr(pos, nl - pos));
            pos = nl + 1;
        }
        _err_carry.erase(0, pos);
        if (_err_carry.size() > max_line_bytes) {
            log_stderr_line(_err_carry);
            _err_carry.clear();
        }
    }
    void stream_eof(bool is_stderr) {
        if (is_stderr) {
            if (!_err_carry.empty()) log_stderr_line(_err_carry);
            _err_carry.clear();
            close_stream(_err);
        } else {
            frame(true);  // the last line may lack its newline (BufferedReader returns it)
            close_stream(_out);
        }
    }
    void stream_closed() { after_output(); }

private:
    friend class ChildStream;

    void log_stderr_line(std::string_view line) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        log_info("StderrLogger[%llu] = '%.*s'", (unsigned long long)++_stderr_lines, int(line.size()), line.data());
    }

    void run_command() {
        if (_stopping) return;
        std::vector<std::string> args;
        if (!_opts.shell.empty()) {
            args = split_whitespace(_opts.shell);
            args.push_back(_opts.command);
        } else {
            args = split_whitespace(_opts.command);
        }
        int out_pair[2] = {-1, -1}, err_pair[2] = {-1, -1};
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, out_pair) != 0 ||
            (_opts.log_stderr && ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, err_pair) != 0)) {
            log_error("exec source %s: Failed while running command: %s: socketpair: %s", _name.c_str(),
                      _opts.command.c_str(), strerror(errno));
            for (int fd : {out_pair[0], out_pair[1], err_pair[0], err_pair[1]})
                if (fd >= 0) ::close(fd);
            after_exit();
            return;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out_pair[1], 1);
        if (_opts.log_stderr) posix_spawn_file_actions_adddup2(&fa, err_pair[1], 2);
        else posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        // The agent blocks SIGTERM/SIGINT (it waits for them with sigtimedwait):
        // the child must start with nothing blocked and default handlers, in a
        // process group of its own so that stop() reaches its children too.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        pid_t pid = -1;
        int rc = args.empty() ? ENOENT : posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        ::close(out_pair[1]);
        if (err_pair[1] >= 0) ::close(err_pair[1]);
        if (rc != 0) {
            log_error("exec source %s: Failed while running command: %s: %s", _name.c_str(), _opts.command.c_str(),
                      strerror(rc));
            ::close(out_pair[0]);
            if (err_pair[0] >= 0) ::close(err_pair[0]);
            _counters.add(_shard.id(), source_counter::generic_processing_fail);
            after_exit();
            return;
        }
        _pid = pid;
        _exit_code = -1;
        log_info("exec source %s: started command '%s' (pid %d)", _name.c_str(), _opts.command.c_str(), int(pid));
        open_stream(_out, out_pair[0]);
        if (err_pair[0] >= 0) open_stream(_err, err_pair[0]);
        if (!_out.open && !_err.open) after_output();
    }

    void open_stream(ChildStream& s, int fd) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
        auto id = _shard.reactor().add_stream(fd, &s);
        if (!id) {
            log_error("exec source %s: cannot read the command's output: %s", _name.c_str(),
                      id.status().message().c_str());
            ::close(fd);
            return;
        }
        s.id = id.value();
        s.open = true;
        s.closing = false;
        _paused = false;
    }

    void close_stream(ChildStream& s) {
        if (!s.open || s.closing) return;
        s.closing = true;
        _shard.reactor().close_stream(s.id);
    }
    void close_streams() {
        close_stream(_out);
        close_stream(_err);
    }

    // Cuts complete lines out of _carry into the pending batch (all of it at eof).
    void frame(bool at_eof) {
        size_t pos = 0;
        for (;;) {
            size_t nl = _carry.find('\n', pos);
            if (nl == std::string::npos) {
                if (_carry.size() - pos >= max_line_bytes) nl = pos + max_line_bytes;
                else break;
                add_line(std::string_view(_carry).substr(pos, nl - pos));
                pos = nl;
                continue;
            }
            add_line(std::string_view(_carry).substr(pos, nl - pos));
            pos = nl + 1;
        }
        _carry.erase(0, pos);
        if (at_eof && !_carry.empty()) {
            add_line(_carry);
            _carry.clear();
        }
        if (!_ready.empty() && !_put_in_progress) commit();
    }

    void add_line(std::string_view line) {
        // BufferedReader.readLine ends a line at \n, \r\n (or a lone \r, rare in practice).
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (!_batch) {
            _batch = std::make_shared<EventBatch>(_opts.batch_size, 4096);
            _batch->set_received_us(wall_clock_us());
            _batch_timer = _shard.add_timer(_opts.batch_timeout_ms * 1000, [this] {
                _batch_timer = 0;
                seal_batch();
                if (!_put_in_progress) commit();
            });
        }
        if (_opts.cs == charset::utf8) {
            _batch->add(line);
        } else {
            std::string decoded;
            decode_to_utf8(line, _opts.cs, decode_policy::replace, decoded);
            _batch->add(decoded);
        }
        _counters.add(_shard.id(), source_counter::event_received);
        if (_batch->size() >= _opts.batch_size) seal_batch();
    }

    // The open batch becomes ready to commit.
    void seal_batch() {
        if (!_batch || _batch->empty()) return;
        if (_batch_timer) _shard.cancel_timer(_batch_timer);
        _batch_timer = 0;
        uint32_t n = _batch->size();
        _ready.push_back(EventSpan{std::move(_batch), 0, n});
        _batch.reset();
    }

    // Commits ready batches; on a full channel, stops reading and retries.
    void commit() {
        while (!_ready.empty()) {
            EventSpan& head = _ready.front();
            uint32_t n = std::min(head.size(), _processor.max_batch());
            Status st = _processor.put(EventSpan{head.batch, head.begin, head.begin + n}, _progress);
            if (!st) {
                bool gave_up = false;
                int64_t keep_alive_ms = _progress.failed ? _progress.failed->keep_alive_ms() : 3000;
                int64_t delay_us = _retry.next_delay_us(keep_alive_ms, gave_up);
                if (st.code() != errc::channel_full) gave_up = true;
                if (gave_up) {
                    // Where Flume's put would have failed: count it, keep the batch.
                    _counters.add(_shard.id(), source_counter::channel_write_fail);
                    if (!_full_logged)
                        log_warn("exec source %s: cannot write to the channel, will retry: %s", _name.c_str(),
                                 st.message().c_str());
                    _full_logged = true;
                    delay_us = retry_max_us;
                }
                _put_in_progress = true;
                update_reading();
                if (!_retry_timer)
                    _retry_timer = _shard.add_timer(delay_us, [this] {
                        _retry_timer = 0;
                        commit();
                    });
                return;
            }
            _retry.reset();
            _progress.reset();
            _full_logged = false;
            _counters.add(_shard.id(), source_counter::event_accepted, n);
            _counters.add(_shard.id(), source_counter::append_batch_accepted);
            head.begin += n;
            if (head.size() == 0) _ready.erase(_ready.begin());
        }
        _put_in_progress = false;
        update_reading();
        after_output();
    }

    void update_reading() {
        if (!_out.open || _out.closing) return;
        bool want_pause = _put_in_progress || _ready.size() > 4;
        if (want_pause && !_paused) _shard.reactor().pause_reading(_out.id);
        if (!want_pause && _paused) _shard.reactor().resume_reading(_out.id);
        _paused = want_pause;
    }

    // Called when output streams close or batches commit: once the child's
    // output is all read and committed, wait for the child to exit.
    void after_output() {
        if (_out.open || _err.open) return;
        seal_batch();
        if (!_ready.empty()) {
            if (!_put_in_progress) commit();
            return;
        }
        if (_pid > 0) {
            if (!_reap_timer) reap();
            return;
        }
        maybe_stopped();
    }

    void reap() {
        int status = 0;
        pid_t r = ::waitpid(_pid, &status, WNOHANG);
        if (r == 0) {
            _reap_timer = _shard.add_timer(reap_poll_us, [this] {
                _reap_timer = 0;
                reap();
            });
            return;
        }
        if (r == _pid) _exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        _pid = -1;
        if (_kill_timer) _shard.cancel_timer(_kill_timer);
        _kill_timer = 0;
        after_exit();
    }

    void after_exit() {
        if (_stopping) {
            maybe_stopped();
            return;
        }
        if (_opts.restart) {
            // Flume's texts (the exit code is the shell's: 128 + signal when killed).
            log_info("exec source %s: Restarting in %lldms, exit code %d", _name.c_str(),
                     (long long)_opts.restart_throttle_ms, _exit_code);
            _restart_timer = _shard.add_timer(_opts.restart_throttle_ms * 1000, [this] {
                _restart_timer = 0;
                run_command();
            });
        } else {
            log_info("exec source %s: Command [%s] exited with %d", _name.c_str(), _opts.command.c_str(), _exit_code);
        }
    }

    void maybe_stopped() {
        if (!_stopping || !_on_stopped) return;
        if (_out.open || _err.open || _pid > 0) return;
        if (!_ready.empty() || (_batch && !_batch->empty())) {
            seal_batch();
            if (!_put_in_progress) commit();
            if (!_ready.empty()) return;  // retrying: the sinks drain the channel meanwhile
        }
        auto done = std::move(_on_stopped);
        _on_stopped = nullptr;
        done();
    }

    Shard& _shard;
    ChannelProcessor& _processor;
    CounterGroup& _counters;
    std::string _name;
    exec_options _opts;
    bool _owner;
    ChildStream _out, _err;
    pid_t _pid = -1;
    int _exit_code = -1;
    bool _stopping = false, _paused = false, _put_in_progress = false, _full_logged = false;
    Task _on_stopped;
    std::string _carry, _err_carry;
    std::shared_ptr<EventBatch> _batch;  // the batch being filled
    std::vector<EventSpan> _ready;       // sealed batches, not yet committed
    ChannelProcessor::Progress _progress;
    FullChannelRetry _retry;
    uint64_t _stderr_lines = 0;
    TimerId _batch_timer = 0, _retry_timer = 0, _reap_timer = 0, _restart_timer = 0, _kill_timer = 0;
};

void ChildStream::on_data(std::string_view data) {
    if (_stderr) _src.stderr_data(data);
    else _src.stdout_data(data);
}
void ChildStream::on_eof(int) { _src.stream_eof(_stderr); }
void ChildStream::on_closed() {
    open = false;
    closing = false;
    _src.stream_closed();
}

}  // namespace

ComponentDescriptor exec_source_descriptor() {
    ComponentDescriptor d;
    d.kind = ComponentKind::source;
    d.type = "exec";
    d.aliases = {"org.apache.flume.source.ExecSource"};
    d.description =
        "Runs a command and makes each line of its standard output one event. Runs on one shard; the command is "
        "killed (its process group) when the agent stops.";
    d.keys = {
        {"command", KeyType::string, "", true, "The command to run (split on white space, unless shell is set)."},
        {"shell", KeyType::string, "", false,
         "A shell to run the command with, e.g. `/bin/sh -c`: the command is passed to it as one argument."},
        {"restart", KeyType::boolean, "false", false, "Run the command again when it exits."},
        {"restartThrottle", KeyType::duration_ms, "10000", false, "How long to wait before running it again (ms).", 0},
        {"logStdErr", KeyType::boolean, "false", false, "Log the command's standard error lines (INFO)."},
        {"batchSize", KeyType::integer, "20", false, "Most lines per transaction.", 1, INT32_MAX, {},
         "When the channel is full, sluice stops reading the command's output (the command blocks on its writes) "
         "and retries the batch; Flume drops the batch and restarts the command."},
        {"batchTimeout", KeyType::duration_ms, "3000", false,
         "Commit lines waiting this long (ms) even if the batch is not full.", 1},
        {"charset", KeyType::choice, "UTF-8", false, "Character set of the output; bodies are stored as UTF-8.",
         INT64_MIN, INT64_MAX, {"UTF-8", "ISO-8859-1", "US-ASCII"},
         "Only these three charsets; bytes not valid in US-ASCII become U+FFFD."},
    };
    d.batch_size_key = "batchSize";
    d.make_source = [](SourceContext& ctx) -> Result<std::unique_ptr<Source>> {
        const auto& s = ctx.settings;
        exec_options o;
        o.command = s.get_string("command");
        o.shell = s.get_string("shell");
        o.restart = s.get_bool("restart");
        o.restart_throttle_ms = s.get_duration_ms("restartThrottle");
        o.log_stderr = s.get_bool("logStdErr");
        o.batch_size = uint32_t(s.get_int("batchSize"));
        o.batch_timeout_ms = s.get_duration_ms("batchTimeout");
        parse_charset(s.get_string("charset"), o.cs);
        return std::unique_ptr<Source>(new ExecSource(ctx, std::move(o)));
    };
    return d;
}

}  // namespace sluice
