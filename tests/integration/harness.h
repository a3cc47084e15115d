// SPDX-License-Identifier: Apache-2.0
// Header-only helpers for the integration tests: they run the real `sluice`
// binary as a child process and talk to it over loopback sockets and files.
//
// Everything here is bounded in time: every wait takes a deadline, and an
// agent still running when its handle goes away is killed with SIGKILL.
// Conditions are polled (poll_until) rather than waited for with fixed sleeps.
#pragma once

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

extern char** environ;

namespace sluice_it {

using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

inline const char* sluice_binary() { return SLUICE_BINARY; }
inline std::string source_dir() { return SLUICE_SOURCE_DIR; }

// ------------------------------------------------------------------ time

inline int64_t now_ms() {
    return std::chrono::duration_cast<milliseconds>(clock_type::now().time_since_epoch()).count();
}

// Polls `cond` every `step` until it holds or `timeout` passes; returns
// whether it held (the condition is evaluated once more at the deadline).
inline bool poll_until(const std::function<bool()>& cond, milliseconds timeout, milliseconds step = milliseconds(20)) {
    auto deadline = clock_type::now() + timeout;
    for (;;) {
        if (cond()) return true;
        if (clock_type::now() >= deadline) return cond();
        std::this_thread::sleep_for(step);
    }
}

// ------------------------------------------------------------------ files

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void write_file(const std::string& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), std::streamsize(text.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

// Names (not paths) of the regular files in `dir`, sorted; empty if `dir`
// does not exist.
inline std::vector<std::string> list_files(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
         it.increment(ec)) {
        if (it->is_regular_file(ec)) out.push_back(it->path().filename().string());
    }
    std::sort(out.begin(), out.end());
    return out;
}

// A directory made with mkdtemp under /tmp, removed with its contents.
class temp_dir {
public:
    temp_dir() {
        char tmpl[] = "/tmp/sluice-it-XXXXXX";
        if (!mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + strerror(errno));
        _path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(_path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return _path; }
    std::string file(const std::string& name) const { return _path + "/" + name; }
    std::string write(const std::string& name, std::string_view text) const {
        std::string p = file(name);
        write_file(p, text);
        return p;
    }
    std::string mkdir(const std::string& name) const {
        std::string p = file(name);
        std::filesystem::create_directories(p);
        return p;
    }

private:
    std::string _path;
};

// The lines of a file_roll sink's output: the files of `dir` in the order of
// their roll counter (the number after the last '-'), and per file the
// complete lines (a trailing partial line, still being written, is left out).
struct output_line {
    std::string file;
    std::string body;
};

inline uint64_t roll_counter(const std::string& name) {
    auto dash = name.rfind('-');
    if (dash == std::string::npos) return 0;
    return std::strtoull(name.c_str() + dash + 1, nullptr, 10);
}

inline std::vector<output_line> read_output_lines(const std::string& dir) {
    auto names = list_files(dir);
    std::stable_sort(names.begin(), names.end(),
                     [](const std::string& a, const std::string& b) { return roll_counter(a) < roll_counter(b); });
    std::vector<output_line> out;
    for (const auto& n : names) {
        std::string text = read_file(dir + "/" + n);
        size_t pos = 0;
        for (;;) {
            size_t nl = text.find('\n', pos);
            if (nl == std::string::npos) break;
            out.push_back({n, text.substr(pos, nl - pos)});
            pos = nl + 1;
        }
    }
    return out;
}

inline std::vector<std::string> read_output_bodies(const std::string& dir) {
    std::vector<std::string> out;
    for (auto& l : read_output_lines(dir)) out.push_back(std::move(l.body));
    return out;
}

inline size_t count_output_lines(const std::string& dir) {
    size_t n = 0;
    for (const auto& name : list_files(dir)) {
        std::string text = read_file(dir + "/" + name);
        n += size_t(std::count(text.begin(), text.end(), '\n'));
    }
    return n;
}

// Concatenation of every file in `dir` (in roll-counter order).
inline std::string read_output_text(const std::string& dir) {
    auto names = list_files(dir);
    std::stable_sort(names.begin(), names.end(),
                     [](const std::string& a, const std::string& b) { return roll_counter(a) < roll_counter(b); });
    std::string out;
    for (const auto& n : names) out += read_file(dir + "/" + n);
    return out;
}

// ------------------------------------------------------------------ unusable directories

// Whether a new file can be created in `dir` now: a real attempt, since root
// passes the permission checks that modes (and access()) describe.
inline bool can_create_in(const std::string& dir) {
    std::string probe = dir + "/.sluice-it-probe";
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return false;
    ::close(fd);
    ::unlink(probe.c_str());
    return true;
}

// Makes directories refuse new files (and renames in them) while held, by a
// means that works for the user the tests run as: mode 0555 for an ordinary
// user; for root, whom modes do not stop, the immutable attribute (chattr +i,
// set with FS_IOC_SETFLAGS). Files already open stay writable, as they would
// after a chmod. `block` returns false with `error()` set when neither works
// here: the test must fail then, not skip.
class dir_blocker {
public:
    dir_blocker() = default;
    ~dir_blocker() { unblock(); }
    dir_blocker(const dir_blocker&) = delete;
    dir_blocker& operator=(const dir_blocker&) = delete;

    // `dir` and, when `recursive`, every directory under it.
    bool block(const std::string& dir, bool recursive = false) {
        std::vector<std::string> dirs = {dir};
        std::error_code ec;
        if (recursive)
            for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
                 !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
                if (it->is_directory(ec)) dirs.push_back(it->path().string());
        for (const auto& d : dirs) {
            if (!block_one(d)) return false;
            if (can_create_in(d)) {
                _error = "files can still be created in " + d + " after " + how();
                return false;
            }
        }
        return true;
    }

    void unblock() {
        for (auto it = _blocked.rbegin(); it != _blocked.rend(); ++it) {
            if (::geteuid() == 0) set_immutable(*it, false);
            else ::chmod(it->c_str(), 0755);
        }
        _blocked.clear();
    }

    static std::string how() { return ::geteuid() == 0 ? "chattr +i (running as root)" : "chmod 0555"; }
    const std::string& error() const { return _error; }

private:
    bool block_one(const std::string& d) {
        bool ok = ::geteuid() == 0 ? set_immutable(d, true) : ::chmod(d.c_str(), 0555) == 0;
        if (!ok) {
            if (_error.empty()) _error = how() + " on " + d + " failed: " + strerror(errno);
            return false;
        }
        _blocked.push_back(d);
        return true;
    }

    bool set_immutable(const std::string& d, bool on) {
        int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) return false;
        int flags = 0;
        bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
        if (ok) {
            flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
            ok = ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
        }
        int err = errno;
        ::close(fd);
        errno = err;
        return ok;
    }

    std::vector<std::string> _blocked;
    std::string _error;
};

// A small tmpfs mounted on a directory, for a disk that fills: needs
// CAP_SYS_ADMIN. `mount()` says whether it worked (and why not).
class small_tmpfs {
public:
    ~small_tmpfs() {
        if (_mounted) ::umount2(_dir.c_str(), MNT_DETACH);
    }
    bool mount(const std::string& dir, size_t bytes) {
        _dir = dir;
        std::filesystem::create_directories(dir);
        std::string opts = "size=" + std::to_string(bytes) + ",mode=0755";
        if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
            _error = std::string("mount -t tmpfs on ") + dir + ": " + strerror(errno);
            return false;
        }
        _mounted = true;
        return true;
    }
    const std::string& error() const { return _error; }

    // Fills the file system up to `leave` free bytes with a file `name`;
    // returns the free bytes left, or -1.
    long long fill(const std::string& name, long long leave) {
        std::string path = _dir + "/" + name;
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) return -1;
        long long left = free_bytes();
        off_t at = ::lseek(fd, 0, SEEK_END);
        if (left > leave && ::posix_fallocate(fd, at, off_t(left - leave)) != 0) {
            ::close(fd);
            return -1;
        }
        ::close(fd);
        return free_bytes();
    }
    long long free_bytes() const {
        struct statvfs v {};
        if (::statvfs(_dir.c_str(), &v) != 0) return -1;
        return (long long)v.f_bavail * (long long)v.f_frsize;
    }

private:
    std::string _dir, _error;
    bool _mounted = false;
};

// ------------------------------------------------------------------ sockets

// A port that was free on every address a moment ago.
inline int free_port() {
    // Below the kernel's ephemeral range (32768-60999 by default): a port
    // the kernel picked for bind(0) could be handed out again as another
    // test's client source port before the agent binds it (tests run in
    // parallel). Probed from a random start; bound on every address, as the
    // monitoring server binds.
    static std::atomic<unsigned> calls{0};
    std::mt19937 rng(unsigned(::getpid()) * 7919u + calls++ * 104729u + unsigned(::time(nullptr)));
    constexpr int lo = 20000, span = 12000;
    int start = int(rng() % span);
    for (int i = 0; i < span; i++) {
        int port = lo + (start + i) % span;
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) throw std::runtime_error("socket");
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_ANY);
        a.sin_port = htons(uint16_t(port));
        bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
        ::close(fd);
        if (ok) return port;
    }
    throw std::runtime_error("no free port in 20000-31999");
}

// Whether process `pid` holds a TCP socket listening on `port` (IPv4 or
// IPv6, from /proc/net/tcp{,6} and /proc/PID/fd). A killed agent's listener
// may outlive its process for a moment (io_uring closes its files from
// deferred work), so a port that accepts is not proof the new agent is up.
inline bool listens_on(pid_t pid, int port) {
    std::set<std::string> inodes;
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        std::ifstream in(table);
        std::string line;
        std::getline(in, line);  // header
        while (std::getline(in, line)) {
            std::istringstream f(line);
            std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
            f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
            size_t colon = local.rfind(':');
            if (state != "0A" || colon == std::string::npos) continue;  // 0A: LISTEN
            if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) inodes.insert("socket:[" + inode + "]");
        }
    }
    if (inodes.empty()) return false;
    std::error_code ec;
    for (auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
        std::error_code rec;
        auto target = std::filesystem::read_symlink(fd.path(), rec);
        if (!rec && inodes.count(target.string())) return true;
    }
    return false;
}

// One connect attempt to 127.0.0.1:port; the connected fd, or -1. A
// non-zero `rcvbuf` is set before connecting, so it bounds the window the
// client offers from the start.
inline int connect_once(int port, int rcvbuf = 0) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (rcvbuf > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(uint16_t(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) < 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// A TCP client on loopback. Blocking by default; reads are bounded by
// timeouts through poll().
class tcp_client {
public:
    tcp_client() = default;
    explicit tcp_client(int port, milliseconds timeout = seconds(10)) { connect(port, timeout); }
    ~tcp_client() { close(); }
    tcp_client(const tcp_client&) = delete;
    tcp_client& operator=(const tcp_client&) = delete;
    tcp_client(tcp_client&& o) noexcept : _fd(o._fd), _eof(o._eof) { o._fd = -1; }

    void connect(int port, milliseconds timeout = seconds(10), int rcvbuf = 0) {
        close();
        poll_until([&] { return (_fd = connect_once(port, rcvbuf)) >= 0; }, timeout, milliseconds(50));
        if (_fd < 0) throw std::runtime_error("cannot connect to port " + std::to_string(port));
        _eof = false;
    }
    bool connected() const { return _fd >= 0; }
    int fd() const { return _fd; }
    bool eof() const { return _eof; }

    void set_nodelay() {
        int one = 1;
        ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    void set_nonblocking() { ::fcntl(_fd, F_SETFL, ::fcntl(_fd, F_GETFL) | O_NONBLOCK); }

    // Sends everything (blocking socket) or throws; false if the peer is gone.
    bool send_all(std::string_view data, milliseconds timeout = seconds(30)) {
        auto deadline = clock_type::now() + timeout;
        while (!data.empty()) {
            ssize_t w = ::send(_fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (w > 0) {
                data.remove_prefix(size_t(w));
                continue;
            }
            if (w < 0 && errno == EINTR) continue;
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (clock_type::now() >= deadline) throw std::runtime_error("send timed out");
                pollfd p{_fd, POLLOUT, 0};
                ::poll(&p, 1, 50);
                continue;
            }
            return false;
        }
        return true;
    }

    // One non-blocking send attempt: bytes written, 0 on EAGAIN, -1 on error.
    ssize_t try_send(std::string_view data) {
        ssize_t w = ::send(_fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w >= 0) return w;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
        return -1;
    }

    void shutdown_write() { ::shutdown(_fd, SHUT_WR); }

    // Reads what arrives within `timeout` (at most `max` bytes); stops early
    // at EOF. Appends to `out`; returns the number of bytes read.
    size_t read_some(std::string& out, milliseconds timeout, size_t max = 1 << 20) {
        auto deadline = clock_type::now() + timeout;
        size_t got = 0;
        char buf[65536];
        while (got < max && !_eof) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now()).count();
            if (left <= 0) break;
            pollfd p{_fd, POLLIN, 0};
            int r = ::poll(&p, 1, int(left));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            ssize_t n = ::recv(_fd, buf, std::min(sizeof(buf), max - got), MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (n <= 0) {
                _eof = true;  // EOF, or a reset (counted as the end as well)
                break;
            }
            out.append(buf, size_t(n));
            got += size_t(n);
        }
        return got;
    }

    // Reads until `n` bytes in total have come, EOF, or the timeout.
    std::string read_exact(size_t n, milliseconds timeout = seconds(20)) {
        std::string out;
        auto deadline = clock_type::now() + timeout;
        while (out.size() < n && !_eof) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) break;
            if (read_some(out, left, n - out.size()) == 0 && !_eof) break;
        }
        return out;
    }

    // Reads until `n` newline characters have come, EOF, or the timeout.
    std::string read_lines(size_t n, milliseconds timeout = seconds(20)) {
        std::string out;
        auto deadline = clock_type::now() + timeout;
        while (size_t(std::count(out.begin(), out.end(), '\n')) < n && !_eof) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) break;
            // Short slices: read_some waits for its whole `max` (or its timeout).
            read_some(out, std::min(left, milliseconds(20)), 1 << 16);
        }
        return out;
    }

    // Reads until the peer closes (returns what came), or the timeout.
    std::string read_to_eof(milliseconds timeout = seconds(20)) {
        std::string out;
        auto deadline = clock_type::now() + timeout;
        while (!_eof) {
            auto left = std::chrono::duration_cast<milliseconds>(deadline - clock_type::now());
            if (left.count() <= 0) break;
            read_some(out, left);
        }
        return out;
    }

    void close() {
        if (_fd >= 0) ::close(_fd);
        _fd = -1;
    }

private:
    int _fd = -1;
    bool _eof = false;
};

// ------------------------------------------------------------------ processes

struct exit_result {
    bool exited = false;     // false: still running at the deadline (then killed)
    int code = -1;           // exit code when it exited normally
    int signal = 0;          // the signal when it was killed by one
    std::string out, err;    // captured stdout and stderr
};

inline std::string describe(const exit_result& r) {
    std::string s = r.exited ? (r.signal ? "killed by signal " + std::to_string(r.signal)
                                         : "exit " + std::to_string(r.code))
                             : "did not exit in time";
    return s + "\n--- stdout ---\n" + r.out + "\n--- stderr ---\n" + r.err;
}

// Environment changes for a child: set (value) or unset (nullopt).
using env_changes = std::map<std::string, std::optional<std::string>>;

// A child process with stdout and stderr captured to files in `dir`.
class child_process {
public:
    child_process() = default;
    ~child_process() { kill_now(); }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    void spawn(const std::vector<std::string>& args, const std::string& dir, const env_changes& env = {}) {
        static int seq = 0;
        std::string tag = std::to_string(::getpid()) + "-" + std::to_string(++seq);
        _out_path = dir + "/stdout-" + tag + ".txt";
        _err_path = dir + "/stderr-" + tag + ".txt";

        std::vector<std::string> env_strings;
        for (char** e = environ; *e; e++) {
            std::string kv = *e;
            std::string k = kv.substr(0, kv.find('='));
            if (env.count(k)) continue;
            env_strings.push_back(kv);
        }
        for (auto& [k, v] : env)
            if (v) env_strings.push_back(k + "=" + *v);
        std::vector<char*> envp;
        for (auto& s : env_strings) envp.push_back(s.data());
        envp.push_back(nullptr);
        std::vector<std::string> argv_copy = args;
        std::vector<char*> argv;
        for (auto& a : argv_copy) argv.push_back(a.data());
        argv.push_back(nullptr);

        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, _out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_addopen(&fa, 2, _err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        // The child must not inherit a blocked SIGTERM or an ignored SIGPIPE.
        posix_spawnattr_t attr;
        posix_spawnattr_init(&attr);
        sigset_t none, all;
        sigemptyset(&none);
        sigfillset(&all);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &all);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        pid_t pid = -1;
        int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (rc != 0) throw std::runtime_error(std::string("posix_spawn: ") + strerror(rc));
        _pid = pid;
        _done = false;
    }

    pid_t pid() const { return _pid; }
    std::string stderr_text() const { return read_file(_err_path); }
    std::string stdout_text() const { return read_file(_out_path); }

    // Whether the child is still running (reaps it if it has exited).
    bool running() {
        if (_pid <= 0 || _done) return false;
        int status = 0;
        pid_t r = ::waitpid(_pid, &status, WNOHANG);
        if (r == _pid) {
            record(status);
            return false;
        }
        return true;
    }

    // Waits up to `timeout` for the child to exit. If it does not, kills it
    // with SIGKILL and returns exited = false.
    exit_result wait(milliseconds timeout) {
        exit_result r;
        if (_pid > 0 && !_done) {
            poll_until([&] { return !running(); }, timeout, milliseconds(10));
            if (!_done) {
                kill_now();
                r.exited = false;
                r.out = stdout_text();
                r.err = stderr_text();
                return r;
            }
        }
        r.exited = _done;
        r.code = _code;
        r.signal = _signal;
        r.out = stdout_text();
        r.err = stderr_text();
        return r;
    }

    void signal(int sig) {
        if (_pid > 0 && !_done) ::kill(_pid, sig);
    }

    // SIGTERM, then wait.
    exit_result stop(milliseconds timeout = seconds(45)) {
        signal(SIGTERM);
        return wait(timeout);
    }

    void kill_now() {
        if (_pid > 0 && !_done) {
            ::kill(_pid, SIGKILL);
            int status = 0;
            if (::waitpid(_pid, &status, 0) == _pid) record(status);
            _done = true;
        }
    }

private:
    void record(int status) {
        _done = true;
        if (WIFEXITED(status)) _code = WEXITSTATUS(status);
        if (WIFSIGNALED(status)) _signal = WTERMSIG(status);
    }

    pid_t _pid = -1;
    bool _done = true;
    int _code = -1, _signal = 0;
    std::string _out_path, _err_path;
};

// Runs a command to completion (bounded): for `sluice check` and friends.
inline exit_result run_command(const std::vector<std::string>& args, const std::string& dir,
                               const env_changes& env = {}, milliseconds timeout = seconds(30)) {
    child_process p;
    p.spawn(args, dir, env);
    return p.wait(timeout);
}

// ------------------------------------------------------------------ the agent

struct agent_options {
    std::string name = "a1";        // -n NAME
    std::string backend = "epoll";  // -Dsluice.io=
    unsigned shards = 1;
    std::vector<std::string> extra_args;
    env_changes env;
};

// A running `sluice agent -n NAME` (a1 unless agent_options says otherwise),
// started from a config text written to a file in `dir`.
class agent_process {
public:
    agent_process() = default;
    ~agent_process() { _child.kill_now(); }

    void start(const std::string& dir, const std::string& config_text, const agent_options& o) {
        static int seq = 0;
        _config_path = dir + "/agent-" + std::to_string(++seq) + ".properties";
        write_file(_config_path, config_text);
        std::vector<std::string> args = {sluice_binary(),      "agent",       "-n", o.name, "-f", _config_path,
                                         "--shards",           std::to_string(o.shards),
                                         "-Dsluice.io=" + o.backend};
        args.insert(args.end(), o.extra_args.begin(), o.extra_args.end());
        _child.spawn(args, dir, o.env);
    }

    // Waits until the agent itself listens on `port` and it accepts
    // connections (the agent is up), at most `timeout`; false if the agent
    // exited or the time ran out. The probe connection is closed without
    // sending anything.
    bool wait_port(int port, milliseconds timeout = seconds(10)) {
        bool ok = poll_until(
            [&] {
                if (!_child.running()) return true;
                if (!listens_on(_child.pid(), port)) return false;
                int fd = connect_once(port);
                if (fd < 0) return false;
                ::close(fd);
                _ready = true;
                return true;
            },
            timeout, milliseconds(20));
        return ok && _ready && _child.running();
    }

    bool running() { return _child.running(); }
    pid_t pid() const { return _child.pid(); }
    std::string stderr_text() const { return _child.stderr_text(); }
    const std::string& config_path() const { return _config_path; }

    exit_result stop(milliseconds timeout = seconds(45)) { return _child.stop(timeout); }
    exit_result wait(milliseconds timeout) { return _child.wait(timeout); }
    void signal(int sig) { _child.signal(sig); }
    void kill_now() { _child.kill_now(); }

    // Resident set size in KiB (/proc/<pid>/status VmRSS), or -1.
    long rss_kb() const {
        std::ifstream in("/proc/" + std::to_string(_child.pid()) + "/status");
        std::string line;
        while (std::getline(in, line))
            if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
        return -1;
    }

private:
    child_process _child;
    std::string _config_path;
    bool _ready = false;
};

// ------------------------------------------------------------------ text

inline size_t count_occurrences(std::string_view hay, std::string_view needle) {
    size_t n = 0;
    for (size_t pos = hay.find(needle); pos != std::string_view::npos; pos = hay.find(needle, pos + needle.size())) n++;
    return n;
}

inline std::string repeat(std::string_view s, size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (size_t i = 0; i < n; i++) out += s;
    return out;
}

inline std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) {
            out.push_back(text.substr(pos));
            break;
        }
        out.push_back(text.substr(pos, nl - pos));
        pos = nl + 1;
    }
    return out;
}

// A readable rendering of bytes for failure messages.
inline std::string printable(std::string_view s, size_t max = 400) {
    std::string out;
    for (size_t i = 0; i < s.size() && i < max; i++) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c < 32 || c >= 127) {
            char b[8];
            snprintf(b, sizeof(b), "\\x%02X", c);
            out += b;
        } else {
            out += char(c);
        }
    }
    if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
    return out;
}

// For tests that measure the agent's RSS: AddressSanitizer keeps freed memory
// in a quarantine (256 MB by default) that would be counted as growth; a small
// one leaves the agent's own memory use visible.
inline env_changes small_asan_quarantine() {
    const char* cur = std::getenv("ASAN_OPTIONS");
    std::string v = cur && *cur ? std::string(cur) + ":" : std::string();
    return {{"ASAN_OPTIONS", v + "quarantine_size_mb=4:thread_local_quarantine_size_kb=256"}};
}

// ------------------------------------------------------------------ configs

using key_values = std::vector<std::pair<std::string, std::string>>;

// One netcat source r1 -> memory channel c1 -> sink k1 of agent a1, with the
// given extra keys (later keys override earlier ones, as in Flume).
struct flow_spec {
    int port = 0;
    key_values source;
    key_values channel;
    std::string sink_type = "file_roll";
    key_values sink;
};

inline std::string flow_config(const flow_spec& f) {
    std::string t;
    auto line = [&](const std::string& k, const std::string& v) { t += k + " = " + v + "\n"; };
    line("a1.sources", "r1");
    line("a1.channels", "c1");
    line("a1.sinks", "k1");
    line("a1.sources.r1.type", "netcat");
    line("a1.sources.r1.bind", "127.0.0.1");
    line("a1.sources.r1.port", std::to_string(f.port));
    line("a1.sources.r1.channels", "c1");
    for (auto& [k, v] : f.source) line("a1.sources.r1." + k, v);
    line("a1.channels.c1.type", "memory");
    for (auto& [k, v] : f.channel) line("a1.channels.c1." + k, v);
    line("a1.sinks.k1.type", f.sink_type);
    line("a1.sinks.k1.channel", "c1");
    for (auto& [k, v] : f.sink) line("a1.sinks.k1." + k, v);
    return t;
}

// ------------------------------------------------------------------ fixture

struct backend_param {
    const char* backend;
    unsigned shards;
};

inline void PrintTo(const backend_param& p, std::ostream* os) { *os << p.backend << ", " << p.shards << " shard(s)"; }

inline std::string backend_param_name(const ::testing::TestParamInfo<backend_param>& info) {
    return std::string(info.param.backend) + "_" + std::to_string(info.param.shards) +
           (info.param.shards == 1 ? "shard" : "shards");
}

inline std::vector<backend_param> all_backends() {
    return {{"io_uring", 1}, {"io_uring", 2}, {"epoll", 1}, {"epoll", 2}};
}

// A test that runs one agent with the parameter's backend and shard count. At
// the end the agent (if still running) is stopped with SIGTERM and must exit
// 0 in time: a crash, a sanitizer report or a hang at shutdown fails the test.
class agent_test : public ::testing::TestWithParam<backend_param> {
protected:
    void TearDown() override {
        bool failed_before = HasFailure();
        if (_agent.running()) {
            exit_result r = _agent.stop(seconds(45));
            EXPECT_TRUE(r.exited && r.signal == 0 && r.code == 0) << "agent at teardown: " << tail(describe(r));
            if (failed_before) std::cerr << "agent stderr:\n" << tail(r.err) << "\n";
        } else if (failed_before) {
            std::cerr << "agent stderr:\n" << tail(_agent.stderr_text()) << "\n";
        }
    }

    static std::string tail(const std::string& s, size_t n = 6000) {
        return s.size() <= n ? s : "..." + s.substr(s.size() - n);
    }

    // Starts the agent on `config` and waits until `port` accepts.
    void start_agent(const std::string& config, int port, std::vector<std::string> extra = {}, env_changes env = {}) {
        agent_options o;
        o.env = std::move(env);
        o.backend = GetParam().backend;
        o.shards = GetParam().shards;
        o.extra_args = std::move(extra);
        _agent.start(_dir.path(), config, o);
        ASSERT_TRUE(_agent.wait_port(port, seconds(15))) << "agent did not start listening on " << port << "\n"
                                                         << tail(_agent.stderr_text());
    }

    // Polls the file_roll output until it holds at least `n` complete lines.
    bool wait_output_lines(const std::string& dir, size_t n, milliseconds timeout = seconds(30)) {
        return poll_until([&] { return count_output_lines(dir) >= n; }, timeout, milliseconds(25));
    }

    temp_dir _dir;
    agent_process _agent;
};

}  // namespace sluice_it
