// SPDX-License-Identifier: Apache-2.0
//
// sluice-ceiling: the least a netcat receiver can do — accept, read(256 KiB),
// count newlines with memchr, and (with --acks) answer `OK\n` per line with
// one write per read. It is the yardstick for the end-to-end benchmarks
// (bench/netcat_e2e.sh, bench/compare): sluice's events per CPU-second are
// reported as a fraction of this program's.
//
//   sluice-ceiling --port P [--bind ADDR] [--conns N] [--acks] [--out FILE]
//
// --out FILE also appends what it receives to FILE (created or truncated;
// the yardstick for "TCP lines -> file"): whole lines only, one writev per
// read on an O_APPEND descriptor shared by all connections, so lines of
// different connections never interleave; a connection's partial last line
// waits in its own buffer for the rest (and is written as is at EOF).
//
// --port 0 binds an ephemeral port. Once listening it prints
// `listening port=P` on stderr, so a script can start it without racing for a
// port or probing it (a probe connection would count as a client).
// It exits after N connections were accepted and all of them closed (--conns
// N), or on SIGINT/SIGTERM, printing on stdout one line:
//   events=N seconds=F cpu_seconds=F events_per_cpu_s=F bytes=N conns=N
// `seconds` runs from the first accept to the last close (or the signal);
// cpu_seconds is user+system of the whole process (getrusage RUSAGE_SELF),
// whose only busy threads are the per-connection readers.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace sluice::ceiling {

namespace {

constexpr size_t read_size = 256 * 1024;

struct options {
    std::string bind = "127.0.0.1";
    int port = -1;
    uint64_t conns = 0;  // 0: run until a signal
    bool acks = false;
    std::string out;  // --out: also append the lines to this file
};

[[noreturn]] void usage(const char* msg, const char* arg) {
    std::fprintf(stderr, "sluice-ceiling: %s%s\nusage: sluice-ceiling --port P [--bind ADDR] [--conns N] [--acks] [--out FILE]\n",
                 msg, arg);
    std::exit(2);
}

uint64_t parse_u64(const char* text, uint64_t max) {
    char* end = nullptr;
    errno = 0;
    if (*text == '-' || *text == '\0') usage("bad number: ", text);
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) usage("bad number: ", text);
    return v;
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage("missing value for ", argv[i]);
            return argv[++i];
        };
        if (a == "--port") {
            o.port = static_cast<int>(parse_u64(value(), 65535));
        } else if (a == "--bind") {
            o.bind = value();
        } else if (a == "--conns") {
            o.conns = parse_u64(value(), 1 << 20);
        } else if (a == "--acks") {
            o.acks = true;
        } else if (a == "--out") {
            o.out = value();
            if (o.out.empty()) usage("--out: empty file name", "");
        } else if (a == "--help" || a == "-h") {
            usage("", "");
        } else {
            usage("unknown argument: ", argv[i]);
        }
    }
    if (o.port < 0) usage("--port is required", "");
    return o;
}

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Shared counters. Per-connection counts are published per read (relaxed:
// they are only summed for the final line) so a signal mid-run still reports
// what was received.
struct totals {
    std::atomic<uint64_t> events{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> accepted{0};
    std::atomic<uint64_t> closed{0};
    std::atomic<int64_t> first_accept_ns{0};
    std::atomic<int64_t> last_close_ns{0};
    std::atomic<bool> error{false};
    int wake_fd = -1;  // written to when a connection closes, to wake main
    int out_fd = -1;   // --out: the O_APPEND file, or -1
};

std::mutex g_print_mutex;

void conn_error(totals& t, int fd, const char* what) {
    t.error.store(true);
    std::lock_guard lock(g_print_mutex);
    std::fprintf(stderr, "sluice-ceiling: fd %d: %s: %s\n", fd, what, std::strerror(errno));
}

// Appends `head` then `tail` to the --out file in one writev (a regular
// file's O_APPEND write is not interleaved with other writers'); loops on a
// short write. False on an error (reported).
bool append_out(totals& t, int fd, std::string_view head, std::string_view tail) {
    iovec iov[2] = {{const_cast<char*>(head.data()), head.size()}, {const_cast<char*>(tail.data()), tail.size()}};
    int first = head.empty() ? 1 : 0;
    while (first < 2) {
        const ssize_t w = writev(t.out_fd, iov + first, 2 - first);
        if (w < 0) {
            if (errno == EINTR) continue;
            conn_error(t, fd, "write --out file");
            return false;
        }
        size_t done = static_cast<size_t>(w);
        while (first < 2 && done >= iov[first].iov_len) done -= iov[first++].iov_len;
        if (first < 2) {
            iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + done;
            iov[first].iov_len -= done;
        }
    }
    return true;
}

// Reads until EOF; counts lines; with acks writes 3 bytes per line read, in
// one write per read (the pre-filled `oks` buffer holds one OK per byte that
// a read can return, so it always suffices). With an --out file, appends the
// complete lines of each read (and the partial one carried from the last).
void serve(totals& t, int fd, bool acks, const char* oks) {
    std::unique_ptr<char[]> buf(new char[read_size]);
    std::string carry;  // --out: this connection's partial last line
    for (;;) {
        const ssize_t n = read(fd, buf.get(), read_size);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != ECONNRESET) conn_error(t, fd, "read");
            break;
        }
        if (n == 0) {
            if (t.out_fd >= 0 && !carry.empty()) append_out(t, fd, carry, {});
            break;
        }
        uint64_t lines = 0;
        const char* p = buf.get();
        const char* end = p + n;
        while ((p = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)))) != nullptr) {
            ++lines;
            ++p;
        }
        t.events.fetch_add(lines, std::memory_order_relaxed);
        t.bytes.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        if (t.out_fd >= 0) {
            const std::string_view got(buf.get(), static_cast<size_t>(n));
            const size_t last_nl = got.rfind('\n');
            if (last_nl == std::string_view::npos) {
                carry.append(got);
            } else {
                if (!append_out(t, fd, carry, got.substr(0, last_nl + 1))) break;
                carry.assign(got.substr(last_nl + 1));
            }
        }
        if (acks && lines > 0) {
            size_t left = lines * 3;
            const char* out = oks;
            while (left > 0) {
                const ssize_t w = send(fd, out, left, MSG_NOSIGNAL);
                if (w < 0) {
                    if (errno == EINTR) continue;
                    if (errno != EPIPE && errno != ECONNRESET) conn_error(t, fd, "write");
                    goto done;
                }
                left -= static_cast<size_t>(w);
                out += w;
            }
        }
    }
done:
    if (close(fd) != 0) conn_error(t, fd, "close");
    t.last_close_ns.store(now_ns());
    t.closed.fetch_add(1);
    const uint64_t one = 1;
    // Best effort: the wake fd is a pipe/eventfd the main loop polls.
    if (write(t.wake_fd, &one, sizeof one) < 0) conn_error(t, fd, "wake");
}

int main_impl(int argc, char** argv) {
    const options o = parse_args(argc, argv);

    // Signals are taken synchronously through a signalfd by the main thread;
    // blocked before any thread starts so every thread inherits the mask.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
        std::perror("sluice-ceiling: pthread_sigmask");
        return 1;
    }
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        std::perror("sluice-ceiling: signal");
        return 1;
    }
    const int sig_fd = signalfd(-1, &mask, SFD_CLOEXEC);
    if (sig_fd < 0) {
        std::perror("sluice-ceiling: signalfd");
        return 1;
    }
    int wake[2];
    if (pipe2(wake, O_CLOEXEC) != 0) {
        std::perror("sluice-ceiling: pipe2");
        return 1;
    }

    const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        std::perror("sluice-ceiling: socket");
        return 1;
    }
    int one = 1;
    if (setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        std::perror("sluice-ceiling: SO_REUSEADDR");
        return 1;
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(o.port));
    if (inet_pton(AF_INET, o.bind.c_str(), &addr.sin_addr) != 1) usage("--bind: not an IPv4 address: ", o.bind.c_str());
    if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        std::fprintf(stderr, "sluice-ceiling: bind %s:%d: %s\n", o.bind.c_str(), o.port, std::strerror(errno));
        return 1;
    }
    if (listen(lfd, 128) != 0) {
        std::perror("sluice-ceiling: listen");
        return 1;
    }
    socklen_t len = sizeof addr;
    if (getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        std::perror("sluice-ceiling: getsockname");
        return 1;
    }
    std::fprintf(stderr, "listening port=%d\n", ntohs(addr.sin_port));
    std::fflush(stderr);

    std::string oks;
    if (o.acks) {
        oks.reserve(read_size * 3);
        for (size_t i = 0; i < read_size; ++i) oks += "OK\n";
    }

    totals t;
    t.wake_fd = wake[1];
    if (!o.out.empty()) {
        t.out_fd = open(o.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
        if (t.out_fd < 0) {
            std::fprintf(stderr, "sluice-ceiling: --out %s: %s\n", o.out.c_str(), std::strerror(errno));
            return 1;
        }
    }
    bool signalled = false;
    for (;;) {
        if (o.conns > 0 && t.accepted.load() >= o.conns && t.closed.load() == t.accepted.load()) break;
        pollfd pfds[3] = {{lfd, POLLIN, 0}, {sig_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
        // Stop accepting once N connections are in: later ones would not be
        // measured.
        const nfds_t nfds = 3;
        if (o.conns > 0 && t.accepted.load() >= o.conns) pfds[0].fd = -1;
        if (poll(pfds, nfds, -1) < 0) {
            if (errno == EINTR) continue;
            std::perror("sluice-ceiling: poll");
            return 1;
        }
        if (pfds[1].revents & POLLIN) {
            signalled = true;
            break;
        }
        if (pfds[2].revents & POLLIN) {
            char drain[64];
            if (read(wake[0], drain, sizeof drain) < 0 && errno != EINTR) {
                std::perror("sluice-ceiling: read wake pipe");
                return 1;
            }
        }
        if (pfds[0].revents & POLLIN) {
            const int cfd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
            if (cfd < 0) {
                if (errno == EINTR || errno == ECONNABORTED || errno == EAGAIN) continue;
                std::perror("sluice-ceiling: accept");
                return 1;
            }
            int64_t zero = 0;
            t.first_accept_ns.compare_exchange_strong(zero, now_ns());
            t.accepted.fetch_add(1);
            std::thread(serve, std::ref(t), cfd, o.acks, oks.data()).detach();
        }
    }

    rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) {
        std::perror("sluice-ceiling: getrusage");
        return 1;
    }
    const double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                       static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    const int64_t first = t.first_accept_ns.load();
    const int64_t last = signalled ? now_ns() : t.last_close_ns.load();
    const double seconds = first == 0 ? 0.0 : static_cast<double>(last - first) / 1e9;
    const uint64_t events = t.events.load();
    if (t.out_fd >= 0 && !signalled && close(t.out_fd) != 0) {
        std::perror("sluice-ceiling: close --out file");
        return 1;
    }
    std::printf("events=%" PRIu64 " seconds=%.6f cpu_seconds=%.6f events_per_cpu_s=%.1f bytes=%" PRIu64
                " conns=%" PRIu64 "\n",
                events, seconds, cpu, cpu > 0 ? static_cast<double>(events) / cpu : 0.0, t.bytes.load(),
                t.accepted.load());
    if (std::fflush(stdout) != 0) return 1;
    // Detached readers may still be blocked (signal case): leave without
    // running destructors under them.
    std::_Exit(t.error.load() ? 1 : 0);
}

}  // namespace

}  // namespace sluice::ceiling

int main(int argc, char** argv) { return sluice::ceiling::main_impl(argc, argv); }
