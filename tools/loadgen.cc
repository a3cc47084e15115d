// SPDX-License-Identifier: Apache-2.0
//
// sluice-loadgen: drives a line-protocol endpoint (a sluice or Flume netcat or
// syslog TCP source, or bench/ceiling.cc) with a deterministic stream of word lines and
// reports throughput and, with --acks, per-event ack latency.
//
// Contract (DESIGN.md §2, bench/README.md):
//   * The byte stream of connection i depends only on (--seed, --conns, --words,
//     --vocab, --zipf, --line-bytes, --pool-mb, --events/--duration) and i:
//     the same flags give the same bytes.
//   * Lines are generated once, before the clock starts, into a shared pool
//     (at most --pool-mb MiB, default 64). Each connection starts at its own
//     offset in the pool and cycles through it. When the whole run fits in the
//     pool (the default 1M events do) no line is ever repeated; bigger runs
//     repeat the pool, which keeps the word distribution. Writing straight
//     from the pool is what lets one sender core keep up with the kernel's
//     loopback ceiling (~2.6 GB/s here); generating lines on the fly cannot.
//   * Output (stdout), one line each, keys fixed:
//       events=N bytes=N seconds=F events_per_s=F mb_per_s=F
//       acks=N failed=N p50_us=F p90_us=F p99_us=F p999_us=F   (with --acks)
//     MB is 10^6 bytes. `seconds` runs from the start of sending to the last
//     byte written (no acks) or to the last ack read (--acks).
//   * Exit 0 on success, 1 when a connection failed, a reply was not `OK`, or
//     acks were missing; 2 on a usage error. Every problem is printed on
//     stderr.
//
// --proto avro (docs/avro-rpc.md) drives a sluice or Flume avro source: each
// connection sends appendBatch calls of --batch events (bodies are the pool's
// lines without their newline; --line-bytes B gives B-1 byte bodies), keeps up
// to --inflight calls outstanding, and counts the events of each OK as acked;
// ack latency is per call, from its write to its reply. --deflate speaks
// compression-type = deflate. One thread per connection. Any answer but OK, or
// a broken connection, is a failure.
//
// Threads: one writer per connection, plus one reader per connection that
// reads the replies (with --acks: counts OKs and measures latency; without:
// any reply is unexpected — Flume's netcat writes `FAILED: ...` even with acks
// off — and is reported as a failure).
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <latch>
#include <optional>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "io/avro_rpc.h"

namespace sluice::loadgen {

namespace {

constexpr uint64_t unlimited = std::numeric_limits<uint64_t>::max();

// ---------------------------------------------------------------- options --

struct options {
    std::string proto;
    std::string host = "127.0.0.1";
    int port = 0;
    uint64_t events = 1000000;
    bool events_given = false;
    unsigned conns = 1;
    unsigned words = 10;
    uint64_t vocab = 1000;
    double zipf = 0.0;
    uint64_t seed = 1;
    bool acks = false;
    double rate = 0.0;  // events/s over all connections; 0 = unpaced
    uint64_t line_bytes = 0;
    uint64_t write_size = 65536;
    double duration = 0.0;  // seconds; 0 = stop after --events
    bool quiet = false;
    uint64_t window = 65536;    // --acks: max unacknowledged line bytes per connection
    double ack_timeout = 10.0;  // --acks: fail when no reply arrives for this long
    uint64_t pool_mb = 64;
    // --proto avro
    uint64_t batch = 100;
    uint64_t inflight = 1;
    bool deflate = false;
    int syslog_format = 5424;  // --proto syslog: 3164 or 5424
};

[[noreturn]] void usage_error(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::fputs("sluice-loadgen: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputs("\n(see sluice-loadgen --help)\n", stderr);
    va_end(ap);
    std::exit(2);
}

void print_help() {
    std::fputs(
        "usage: sluice-loadgen --proto netcat --port P [options]\n"
        "  --host H           target host (default 127.0.0.1)\n"
        "  --port P           target port (required)\n"
        "  --events N         total events over all connections (default 1000000)\n"
        "  --duration S       stop after S seconds instead (with --events: whichever first)\n"
        "  --conns C          connections, one writer thread each; events split evenly (default 1)\n"
        "  --words W          words per line (default 10)\n"
        "  --vocab V          vocabulary size; words are w0..w<V-1> (default 1000)\n"
        "  --zipf S           Zipf exponent; 0 = uniform (default 0); w0 is the most frequent\n"
        "  --seed N           generator seed; same flags and seed give the same bytes (default 1)\n"
        "  --line-bytes B     pad (or cut) every line to exactly B bytes incl. the newline\n"
        "  --write-size B     bytes per write() when unpaced (default 65536)\n"
        "  --rate R           events/s over all connections, token bucket per connection (0 = max)\n"
        "  --acks             expect one `OK` line per event; report ack latency percentiles\n"
        "  --window B         with --acks: max unacknowledged line bytes per connection (default 65536)\n"
        "  --ack-timeout S    with --acks: fail when no reply comes for S seconds (default 10)\n"
        "  --pool-mb M        size cap of the pre-generated line pool (default 64)\n"
        "  --syslog-format F  --proto syslog: 3164 or 5424 (default 5424) line headers before the words\n"
        "  --quiet            no banner on stderr\n"
        "  avro (--proto avro): appendBatch calls; acks are always read\n"
        "  --batch N          events per appendBatch (default 100)\n"
        "  --inflight K       calls outstanding per connection (default 1)\n"
        "  --deflate          compression-type = deflate (zlib stream each way)\n",
        stdout);
}

uint64_t parse_u64(const char* flag, const char* text, uint64_t min, uint64_t max) {
    errno = 0;
    char* end = nullptr;
    if (*text == '-' || *text == '\0') usage_error("%s: expected a non-negative integer, got '%s'", flag, text);
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0') usage_error("%s: expected a non-negative integer, got '%s'", flag, text);
    if (v < min || v > max) {
        usage_error("%s: %s is out of range [%" PRIu64 ", %" PRIu64 "]", flag, text, min, max);
    }
    return v;
}

double parse_double(const char* flag, const char* text, double min) {
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(text, &end);
    if (errno != 0 || *end != '\0' || end == text || !std::isfinite(v) || v < min) {
        usage_error("%s: expected a number >= %g, got '%s'", flag, min, text);
    }
    return v;
}

// ----------------------------------------------------------------- syslog --
// --proto syslog: each line is a syslog line over TCP (a sluice or Flume
// syslogtcp / multiport_syslogtcp source): an RFC 3164 or RFC 5424 header,
// then the words. The header is fixed but for the priority, which cycles
// through facilities and severities with the line number, so the bytes stay
// a function of the flags. Syslog has no replies: --acks is refused.

int parse_syslog_format(const char* flag, const char* text) {
    std::string_view v = text;
    if (v == "3164") return 3164;
    if (v == "5424") return 5424;
    usage_error("%s: expected 3164 or 5424, got '%s'", flag, text);
}

void check_syslog_options(const options& o) {
    if (o.acks) usage_error("--proto syslog: syslog sources send no replies; --acks does not apply");
}

// The header of line `index` ("<PRI>..."), to which the words are appended.
void append_syslog_header(const options& o, uint64_t index, std::string& out) {
    char buf[96];
    const unsigned pri = static_cast<unsigned>(index % 192);  // facility 0..23, severity 0..7
    int n = o.syslog_format == 3164
                ? std::snprintf(buf, sizeof buf, "<%u>Jun 15 12:00:00 loadgen sluice-loadgen: ", pri)
                : std::snprintf(buf, sizeof buf, "<%u>1 2024-06-15T12:00:00.000Z loadgen sluice-loadgen - - - ", pri);
    out.append(buf, static_cast<size_t>(n));
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_inline = false;
        if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
            value = arg.substr(eq + 1);
            arg.resize(eq);
            has_inline = true;
        }
        auto next = [&]() -> const char* {
            if (has_inline) return value.c_str();
            if (i + 1 >= argc) usage_error("%s needs a value", arg.c_str());
            return argv[++i];
        };
        const char* f = arg.c_str();
        if (arg == "--help" || arg == "-h") {
            print_help();
            std::exit(0);
        } else if (arg == "--proto") {
            o.proto = next();
        } else if (arg == "--host") {
            o.host = next();
        } else if (arg == "--port") {
            o.port = static_cast<int>(parse_u64(f, next(), 1, 65535));
        } else if (arg == "--events") {
            o.events = parse_u64(f, next(), 1, unlimited - 1);
            o.events_given = true;
        } else if (arg == "--conns") {
            o.conns = static_cast<unsigned>(parse_u64(f, next(), 1, 4096));
        } else if (arg == "--words") {
            o.words = static_cast<unsigned>(parse_u64(f, next(), 0, 1 << 20));
        } else if (arg == "--vocab") {
            o.vocab = parse_u64(f, next(), 1, uint64_t{1} << 28);
        } else if (arg == "--zipf") {
            o.zipf = parse_double(f, next(), 0.0);
        } else if (arg == "--seed") {
            o.seed = parse_u64(f, next(), 0, unlimited);
        } else if (arg == "--acks") {
            if (has_inline) usage_error("--acks takes no value");
            o.acks = true;
        } else if (arg == "--rate") {
            o.rate = parse_double(f, next(), 0.0);
        } else if (arg == "--line-bytes") {
            o.line_bytes = parse_u64(f, next(), 0, 1 << 24);
        } else if (arg == "--write-size") {
            o.write_size = parse_u64(f, next(), 1, 1 << 30);
        } else if (arg == "--duration") {
            o.duration = parse_double(f, next(), 0.0);
        } else if (arg == "--quiet") {
            if (has_inline) usage_error("--quiet takes no value");
            o.quiet = true;
        } else if (arg == "--window") {
            o.window = parse_u64(f, next(), 1, 1 << 30);
        } else if (arg == "--ack-timeout") {
            o.ack_timeout = parse_double(f, next(), 0.001);
        } else if (arg == "--batch") {
            o.batch = parse_u64(f, next(), 1, 1 << 20);
        } else if (arg == "--inflight") {
            o.inflight = parse_u64(f, next(), 1, 1 << 16);
        } else if (arg == "--deflate") {
            if (has_inline) usage_error("--deflate takes no value");
            o.deflate = true;
        } else if (arg == "--syslog-format") {
            o.syslog_format = parse_syslog_format(f, next());
        } else if (arg == "--pool-mb") {
            o.pool_mb = parse_u64(f, next(), 1, 1 << 16);
        } else {
            usage_error("unknown argument '%s'", argv[i]);
        }
    }
    if (o.proto.empty()) usage_error("--proto is required (netcat, syslog, avro)");
    if (o.proto == "syslog") check_syslog_options(o);
    if (o.proto != "netcat" && o.proto != "avro" && o.proto != "syslog")
        usage_error("--proto %s: unknown protocol (netcat, syslog, avro)", o.proto.c_str());
    if (o.port == 0) usage_error("--port is required");
    if (o.duration > 0 && !o.events_given) o.events = unlimited;
    if (o.events != unlimited && o.events < o.conns) {
        usage_error("--events %" PRIu64 " is less than --conns %u", o.events, o.conns);
    }
    return o;
}

// ------------------------------------------------------------------- time --

int64_t now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);  // cannot fail for CLOCK_MONOTONIC
    return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

void sleep_until_ns(int64_t t) {
    timespec ts{static_cast<time_t>(t / 1000000000), static_cast<long>(t % 1000000000)};
    // EINTR: just return early; callers re-check the clock.
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

// ---------------------------------------------------------------- errors --

// Failures from any thread are printed at once (so a hung run still shows
// them) and remembered for the exit code. Repeated reply failures are capped.
std::mutex g_print_mutex;
std::atomic<bool> g_failed{false};

void report_failure(const char* fmt, ...) {
    g_failed.store(true);
    std::lock_guard lock(g_print_mutex);
    va_list ap;
    va_start(ap, fmt);
    std::fputs("sluice-loadgen: ", stderr);
    std::vfprintf(stderr, fmt, ap);
    std::fputc('\n', stderr);
    va_end(ap);
}

// --------------------------------------------------------------- generator --

// xoshiro256** seeded through splitmix64: fast, and its output is fixed by the
// algorithm, unlike std:: distributions whose results vary across libraries.
class rng {
public:
    explicit rng(uint64_t seed) {
        for (auto& s : _s) s = splitmix(seed);
    }
    uint64_t next() {
        const uint64_t result = std::rotl(_s[1] * 5, 7) * 9;
        const uint64_t t = _s[1] << 17;
        _s[2] ^= _s[0];
        _s[3] ^= _s[1];
        _s[1] ^= _s[2];
        _s[0] ^= _s[3];
        _s[2] ^= t;
        _s[3] = std::rotl(_s[3], 45);
        return result;
    }
    // Uniform in [0, n) by Lemire's multiply-shift (bias < n / 2^64).
    uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
    // Uniform in [0, 1) with 53 random bits.
    double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

private:
    static uint64_t splitmix(uint64_t& x) {
        uint64_t z = (x += 0x9e3779b97f4a7c15);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
        z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
        return z ^ (z >> 31);
    }
    uint64_t _s[4];
};

// Word ids: uniform over [0, vocab), or Zipf(s) where id k has weight
// 1/(k+1)^s (so w0 is the most frequent), sampled by inverting the CDF.
class word_sampler {
public:
    word_sampler(uint64_t vocab, double zipf) : _vocab(vocab) {
        if (zipf <= 0) return;
        _cdf.resize(vocab);
        double sum = 0;
        for (uint64_t k = 0; k < vocab; ++k) {
            sum += std::pow(static_cast<double>(k + 1), -zipf);
            _cdf[k] = sum;
        }
        for (auto& c : _cdf) c /= sum;
        _cdf.back() = 1.0;
    }
    uint64_t sample(rng& r) const {
        if (_cdf.empty()) return r.below(_vocab);
        double u = r.unit();
        return static_cast<uint64_t>(std::upper_bound(_cdf.begin(), _cdf.end(), u) - _cdf.begin());
    }

private:
    uint64_t _vocab;
    std::vector<double> _cdf;
};

// The pre-generated lines: bytes plus the offset of each line's start
// (offsets.size() == lines + 1, offsets.back() == bytes.size()).
struct line_pool {
    std::string bytes;
    std::vector<uint64_t> offsets;
    uint64_t lines() const { return offsets.size() - 1; }
    uint64_t line_len(uint64_t i) const { return offsets[i + 1] - offsets[i]; }
};

// A line is `w<id>` words joined by single spaces (after the syslog header
// with --proto syslog), then '\n'. With
// line_bytes = B the line is exactly B bytes: too long lines are cut, short
// ones get one padding token of 'x's (" xxx...", or a single 'x' glued to the
// last word when only one byte is missing).
line_pool generate_pool(const options& o) {
    line_pool pool;
    const uint64_t cap_bytes = o.pool_mb << 20;
    const uint64_t want_lines = o.events;  // `unlimited` in pure --duration mode
    rng r(o.seed);
    word_sampler sampler(o.vocab, o.zipf);
    pool.offsets.push_back(0);
    std::string line;
    char num[24];
    while (pool.lines() < want_lines && pool.bytes.size() < cap_bytes) {
        line.clear();
        if (o.proto == "syslog") append_syslog_header(o, pool.lines(), line);
        for (unsigned w = 0; w < o.words; ++w) {
            if (w) line.push_back(' ');
            line.push_back('w');
            uint64_t id = sampler.sample(r);
            char* d = num + sizeof num;
            do {
                *--d = static_cast<char>('0' + id % 10);
                id /= 10;
            } while (id != 0);
            line.append(d, static_cast<size_t>(num + sizeof num - d));
        }
        if (o.line_bytes > 0) {
            const uint64_t body = o.line_bytes - 1;
            if (line.size() > body) {
                line.resize(body);
            } else if (line.size() + 1 == body) {
                line.push_back('x');
            } else if (line.size() < body) {
                line.push_back(' ');
                line.append(body - line.size(), 'x');
            }
        }
        line.push_back('\n');
        pool.bytes += line;
        pool.offsets.push_back(pool.bytes.size());
    }
    return pool;
}

// -------------------------------------------------------------- histogram --

// Log-linear histogram of nanosecond values: exact below 128, then 64
// sub-buckets per power of two (< 1.6% relative error). One per reader
// thread; merged at the end.
class histogram {
public:
    static constexpr int sub_bits = 7;
    static constexpr uint64_t sub = uint64_t{1} << sub_bits;
    static constexpr uint64_t half = sub / 2;

    histogram() : _counts(sub + (64 - sub_bits) * half, 0) {}

    void record(int64_t v) {
        ++_counts[index(v < 0 ? 0 : static_cast<uint64_t>(v))];
        ++_total;
    }
    void merge(const histogram& h) {
        for (size_t i = 0; i < _counts.size(); ++i) _counts[i] += h._counts[i];
        _total += h._total;
    }
    uint64_t total() const { return _total; }

    // The q-quantile (0 < q <= 1), as the midpoint of its bucket.
    double quantile(double q) const {
        if (_total == 0) return 0;
        uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(_total)));
        rank = std::clamp<uint64_t>(rank, 1, _total);
        uint64_t seen = 0;
        for (size_t i = 0; i < _counts.size(); ++i) {
            seen += _counts[i];
            if (seen >= rank) {
                auto [lo, hi] = bounds(i);
                return (static_cast<double>(lo) + static_cast<double>(hi)) / 2;
            }
        }
        return 0;
    }

private:
    static size_t index(uint64_t v) {
        if (v < sub) return v;
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - sub_bits + 1;  // >= 1
        const uint64_t top = v >> shift;       // in [half, sub)
        return sub + static_cast<size_t>(shift - 1) * half + (top - half);
    }
    static std::pair<uint64_t, uint64_t> bounds(size_t i) {
        if (i < sub) return {i, i};
        const size_t k = i - sub;
        const int shift = static_cast<int>(k / half) + 1;
        const uint64_t top = half + k % half;
        return {top << shift, ((top + 1) << shift) - 1};
    }
    std::vector<uint64_t> _counts;
    uint64_t _total = 0;
};

// ------------------------------------------------------------- connection --

// One entry per write() call with --acks: the first event whose newline that
// call may carry, and the time just before the call. An event's ack latency
// is measured from the last such record at or before it, i.e. from the start
// of the write() that actually carried its newline to the read() that
// returned its reply. Written by the writer before the call (so the reply can
// never overtake it), read by the reader; an SPSC ring.
struct send_record {
    uint64_t first_event;
    int64_t ts_ns;
};

constexpr uint64_t record_ring_size = 1 << 16;

struct connection {
    unsigned id = 0;
    int fd = -1;
    uint64_t first_line = 0;  // pool line of this connection's event 0
    uint64_t target = 0;      // events to send (`unlimited` in --duration mode)

    // Writer-owned; final values are read after join().
    uint64_t sent = 0;  // events whose bytes were all written
    uint64_t bytes = 0;
    int64_t write_end_ns = 0;
    bool write_failed = false;

    // Writer -> reader.
    std::atomic<uint64_t> attempted{0};  // events handed to write() so far
    std::atomic<bool> writer_done{false};
    std::unique_ptr<send_record[]> records{new send_record[record_ring_size]};
    std::atomic<uint64_t> rec_head{0};  // next record to write (writer)

    // Reader -> writer.
    std::atomic<uint64_t> rec_tail{0};  // oldest record still needed (reader)
    std::atomic<uint64_t> acked{0};     // replies read (OK or not)
    std::atomic<uint32_t> reader_gen{0};  // bumped (and notified) when acked/rec_tail move or the reader quits
    std::atomic<bool> reader_quit{false};

    // Reader-owned; read after join().
    uint64_t ok = 0;
    uint64_t failed_replies = 0;
    int64_t last_ack_ns = 0;
    histogram hist;
};

constexpr unsigned max_printed_replies = 10;
std::atomic<unsigned> g_printed_replies{0};

// The state shared by all threads (read-only once threads run).
struct run {
    options opt;
    line_pool pool;
    int64_t start_ns = 0;
    int64_t deadline_ns = std::numeric_limits<int64_t>::max();
};

// Bytes of this connection's first n events (the pool is cycled).
uint64_t stream_bytes(const run& g, const connection& c, uint64_t n) {
    const uint64_t lines = g.pool.lines();
    const uint64_t total = g.pool.offsets.back();
    const uint64_t a = c.first_line + n;
    return (a / lines) * total + g.pool.offsets[a % lines] - g.pool.offsets[c.first_line];
}

void bump(connection& c) {
    c.reader_gen.fetch_add(1, std::memory_order_release);
    c.reader_gen.notify_one();
}

int connect_to(const options& o) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(o.port);
    if (int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
        report_failure("cannot resolve %s: %s", o.host.c_str(), gai_strerror(rc));
        return -1;
    }
    int fd = -1;
    int last_errno = 0;
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        report_failure("cannot connect to %s:%d: %s", o.host.c_str(), o.port, std::strerror(last_errno));
        return -1;
    }
    // Paced and acked runs send small writes; Nagle would hold them back
    // behind unacknowledged data and add its delay to the measured latency.
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
        report_failure("setsockopt(TCP_NODELAY): %s", std::strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

// ----------------------------------------------------------------- writer --

// Writes the pool lines [p, q) (contiguous in the pool), which are this
// connection's events [c.sent, c.sent + q - p). Returns false on a socket error.
bool write_lines(run& g, connection& c, uint64_t p, uint64_t q) {
    const auto& off = g.pool.offsets;
    const char* base = g.pool.bytes.data();
    uint64_t pos = off[p];
    const uint64_t end = off[q];
    c.attempted.store(c.sent + (q - p), std::memory_order_release);
    while (pos < end) {
        if (g.opt.acks) {
            // The first event whose newline is not yet written: line i with
            // off[i] <= pos < off[i+1].
            const uint64_t line = static_cast<uint64_t>(std::upper_bound(off.begin() + static_cast<ptrdiff_t>(p),
                                                                         off.begin() + static_cast<ptrdiff_t>(q) + 1,
                                                                         pos) -
                                                        off.begin()) -
                                  1;
            uint64_t head = c.rec_head.load(std::memory_order_relaxed);
            while (head - c.rec_tail.load(std::memory_order_acquire) >= record_ring_size) {
                const uint32_t gen = c.reader_gen.load(std::memory_order_acquire);
                if (c.reader_quit.load()) return false;
                if (head - c.rec_tail.load(std::memory_order_acquire) < record_ring_size) break;
                c.reader_gen.wait(gen);
            }
            c.records[head % record_ring_size] = {c.sent + (line - p), now_ns()};
            c.rec_head.store(head + 1, std::memory_order_release);
        }
        const ssize_t n = send(c.fd, base + pos, end - pos, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            report_failure("conn %u: write failed after %" PRIu64 " events: %s", c.id, c.sent, std::strerror(errno));
            return false;
        }
        pos += static_cast<uint64_t>(n);
        c.bytes += static_cast<uint64_t>(n);
    }
    c.sent += q - p;
    return true;
}

void writer_main(run& g, connection& c, std::latch& start) {
    start.arrive_and_wait();
    const options& o = g.opt;
    const uint64_t lines = g.pool.lines();
    const auto& off = g.pool.offsets;
    const bool paced = o.rate > 0;
    const double rate_per_ns = o.rate / o.conns / 1e9;
    // Token bucket: at most 5 ms (and at least one event) of burst, so a
    // stalled writer does not catch up in one huge burst.
    const double bucket = std::max(1.0, rate_per_ns * 5e6);
    double tokens = 1.0;
    int64_t last = now_ns();
    bool ok = true;

    while (ok && c.sent < c.target) {
        int64_t now = now_ns();
        if (now >= g.deadline_ns) break;
        uint64_t limit = c.target - c.sent;
        if (paced) {
            tokens = std::min(bucket, tokens + static_cast<double>(now - last) * rate_per_ns);
            last = now;
            if (tokens < 1.0) {
                const int64_t wake = now + static_cast<int64_t>(std::ceil((1.0 - tokens) / rate_per_ns));
                sleep_until_ns(std::min(wake, g.deadline_ns));
                continue;
            }
            limit = std::min<uint64_t>(limit, static_cast<uint64_t>(tokens));
        }
        const uint64_t p = (c.first_line + c.sent) % lines;
        limit = std::min(limit, lines - p);  // one write stays contiguous in the pool
        // Paced or not, one write carries at most --write-size bytes (but
        // always at least one line); a paced writer sends what is due.
        uint64_t budget = o.write_size;
        if (o.acks) {
            // Keep at most --window bytes unacknowledged. When full, wait
            // until a quarter of the window (or one line) is free, so the
            // writer does not answer every ack with a tiny write.
            const uint64_t next_len = off[p + 1] - off[p];
            for (;;) {
                const uint32_t gen = c.reader_gen.load(std::memory_order_acquire);
                if (c.reader_quit.load()) {
                    ok = false;
                    break;
                }
                const uint64_t acked = c.acked.load(std::memory_order_acquire);
                const uint64_t in_flight = stream_bytes(g, c, c.sent) - stream_bytes(g, c, acked);
                const uint64_t free_bytes = in_flight >= o.window ? 0 : o.window - in_flight;
                const uint64_t need = paced ? next_len : std::max(next_len, std::min(o.window / 4, o.write_size));
                if (acked == c.sent || free_bytes >= need) {
                    budget = std::min(budget, free_bytes);
                    break;
                }
                c.reader_gen.wait(gen);
            }
            if (!ok) break;
        }
        // Lines [p, q): as many as fit in the budget, at least one.
        const auto first = off.begin() + static_cast<ptrdiff_t>(p);
        uint64_t q = static_cast<uint64_t>(
                         std::upper_bound(first + 1, first + static_cast<ptrdiff_t>(limit) + 1, off[p] + budget) - first) -
                     1 + p;
        q = std::max(q, p + 1);
        ok = write_lines(g, c, p, q);
        if (paced) tokens -= static_cast<double>(q - p);
    }
    c.write_end_ns = now_ns();
    c.write_failed = !ok;
    c.writer_done.store(true, std::memory_order_release);
    bump(c);  // not needed by the reader (it polls), harmless
}

// ----------------------------------------------------------------- reader --

void print_bad_reply(const connection& c, std::string_view reply, const char* what, uint64_t event) {
    if (g_printed_replies.fetch_add(1) >= max_printed_replies) return;
    std::lock_guard lock(g_print_mutex);
    std::fprintf(stderr, "sluice-loadgen: conn %u: %s for event %" PRIu64 ": '%.*s'\n", c.id, what, event,
                 static_cast<int>(std::min<size_t>(reply.size(), 400)), reply.data());
    if (g_printed_replies.load() == max_printed_replies) {
        std::fputs("sluice-loadgen: (further bad replies are counted, not printed)\n", stderr);
    }
}

// With --acks: reads replies until every sent event is answered, the server
// closes, or no reply comes for --ack-timeout. Without: drains and reports
// any reply, and after the writer is done waits (briefly) for the server to
// close, so late FAILED lines are still seen.
void reader_main(run& g, connection& c) {
    const options& o = g.opt;
    std::vector<char> buf(1 << 16);
    std::string carry;  // a reply split across reads
    uint64_t acked = 0;
    uint64_t tail = 0;  // local copy of rec_tail
    int64_t last_progress = now_ns();
    const int64_t ack_timeout_ns = static_cast<int64_t>(o.ack_timeout * 1e9);
    const int64_t drain_linger_ns = 2'000'000'000;
    int64_t writer_done_seen_ns = 0;
    bool quit = false;

    auto fail_quit = [&] {
        quit = true;
        c.reader_quit.store(true);
        bump(c);
    };

    while (!quit) {
        bool done = c.writer_done.load(std::memory_order_acquire);
        if (o.acks && done && acked >= c.sent) break;
        pollfd pfd{c.fd, POLLIN, 0};
        const int pr = poll(&pfd, 1, 50);
        if (pr < 0) {
            if (errno == EINTR) continue;
            report_failure("conn %u: poll: %s", c.id, std::strerror(errno));
            fail_quit();
            break;
        }
        const int64_t now = now_ns();
        done = c.writer_done.load(std::memory_order_acquire);  // may have changed while polling
        if (pr == 0) {
            if (o.acks) {
                const uint64_t attempted = c.attempted.load(std::memory_order_acquire);
                if (attempted == acked) {
                    last_progress = now;  // nothing outstanding: not a stall
                } else if (now - last_progress > ack_timeout_ns) {
                    report_failure("conn %u: no reply for %.1f s; %" PRIu64 " of %" PRIu64 " events acknowledged", c.id,
                                   o.ack_timeout, acked, attempted);
                    fail_quit();
                }
            } else if (done) {
                if (writer_done_seen_ns == 0) writer_done_seen_ns = now;
                if (now - writer_done_seen_ns > drain_linger_ns) break;  // server keeps it open: fine
            }
            continue;
        }
        const ssize_t n = read(c.fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            if (!o.acks && done) break;  // reset after our shutdown: nothing more to learn
            report_failure("conn %u: read failed after %" PRIu64 " replies: %s", c.id, acked, std::strerror(errno));
            fail_quit();
            break;
        }
        if (n == 0) {
            if (o.acks && (!done || acked < c.sent)) {
                report_failure("conn %u: server closed the connection after %" PRIu64 " replies (%" PRIu64
                               " events written)",
                               c.id, acked, c.attempted.load());
                fail_quit();
            } else if (!o.acks && !done) {
                report_failure("conn %u: server closed the connection while sending", c.id);
                fail_quit();
            }
            break;
        }
        last_progress = now;
        std::string_view data(buf.data(), static_cast<size_t>(n));
        const uint64_t head_limit = c.rec_head.load(std::memory_order_acquire);
        const uint64_t attempted = c.attempted.load(std::memory_order_acquire);
        while (!data.empty()) {
            const size_t nl = data.find('\n');
            if (nl == std::string_view::npos) {
                carry.append(data);
                if (carry.size() > 65536) carry.erase(0, carry.size() - 65536);
                break;
            }
            std::string_view reply = data.substr(0, nl);
            data.remove_prefix(nl + 1);
            if (!carry.empty()) {
                carry.append(reply);
                reply = carry;
            }
            if (!reply.empty() && reply.back() == '\r') reply.remove_suffix(1);
            if (!o.acks) {
                ++c.failed_replies;
                g_failed.store(true);
                print_bad_reply(c, reply, "unexpected reply (acks are off)", acked);
                ++acked;
            } else if (acked >= attempted) {
                ++c.failed_replies;
                g_failed.store(true);
                print_bad_reply(c, reply, "reply with no event outstanding", acked);
            } else {
                while (tail + 1 < head_limit && c.records[(tail + 1) % record_ring_size].first_event <= acked) ++tail;
                if (reply == "OK") {
                    ++c.ok;
                    c.hist.record(now - c.records[tail % record_ring_size].ts_ns);
                } else {
                    ++c.failed_replies;
                    g_failed.store(true);
                    print_bad_reply(c, reply, "reply is not OK", acked);
                }
                ++acked;
            }
            carry.clear();
        }
        if (o.acks) {
            c.last_ack_ns = now;
            c.rec_tail.store(tail, std::memory_order_release);
            c.acked.store(acked, std::memory_order_release);
            bump(c);
        }
    }
    c.acked.store(acked, std::memory_order_release);
    c.reader_quit.store(true);
    bump(c);
}

// ------------------------------------------------------------------- avro --

// The pool's lines as AvroFlumeEvents without headers (`00`, body length,
// body), back to back: a batch of consecutive lines is one slice of it.
struct avro_pool {
    std::string bytes;
    std::vector<uint64_t> offsets;  // event i is [offsets[i], offsets[i+1])
};

avro_pool encode_pool(const line_pool& pool) {
    avro_pool ap;
    ap.offsets.reserve(pool.offsets.size());
    ap.bytes.reserve(pool.bytes.size() + pool.lines() * 4);
    for (uint64_t i = 0; i < pool.lines(); ++i) {
        ap.offsets.push_back(ap.bytes.size());
        std::string_view line(pool.bytes.data() + pool.offsets[i], pool.line_len(i) - 1);  // without '\n'
        ap.bytes += '\0';
        sluice::avro::put_bytes(ap.bytes, line);
    }
    ap.offsets.push_back(ap.bytes.size());
    return ap;
}

struct avro_conn {
    unsigned id = 0;
    int fd = -1;
    uint64_t first_line = 0;
    uint64_t target = 0;
    uint64_t sent = 0, acked = 0, failed = 0, bytes = 0;
    int64_t end_ns = 0;
    histogram hist;
};

bool write_all_fd(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

void avro_worker(run& g, const avro_pool& ap, avro_conn& c, std::latch& start) {
    namespace avro = sluice::avro;
    const options& o = g.opt;
    const uint64_t lines = ap.offsets.size() - 1;
    std::optional<avro::Deflater> deflater;
    std::optional<avro::Inflater> inflater;
    if (o.deflate) {
        deflater.emplace(6);
        inflater.emplace(64 << 20);
    }
    avro::FrameDecoder frames(64 << 20);
    bool established = false, with_text = false;
    avro::Md5 server_hash = avro::flume1_hash;
    struct call {
        uint32_t serial;
        uint64_t first, n;
        int64_t t_ns;
    };
    std::deque<call> outstanding;
    uint32_t serial = 0;
    std::string message, packed, wire, plain, frame, error;
    std::vector<char> buf(1 << 16);
    const double rate_per_conn = o.rate / o.conns;

    auto send_call = [&](uint64_t first, uint64_t n) -> bool {
        message.clear();
        if (!established) {
            if (with_text)
                avro::put_handshake_request(message, avro::sluice_hash, avro::protocol_text(), server_hash);
            else
                avro::put_handshake_request(message, avro::flume1_hash, {}, avro::flume1_hash);
        }
        message += '\0';
        avro::put_bytes(message, "appendBatch");
        avro::put_long(message, static_cast<int64_t>(n));
        const uint64_t p = (c.first_line + first) % lines;
        message.append(ap.bytes, ap.offsets[p], ap.offsets[p + n] - ap.offsets[p]);
        message += '\0';
        packed.clear();
        avro::put_pack(packed, ++serial, {message});
        std::string_view out = packed;
        if (deflater) {
            wire.clear();
            deflater->write(packed, wire);
            out = wire;
        }
        c.bytes += ap.offsets[p + n] - ap.offsets[p];
        if (!write_all_fd(c.fd, out)) {
            report_failure("conn %u: write failed: %s", c.id, std::strerror(errno));
            return false;
        }
        return true;
    };

    start.arrive_and_wait();
    const int64_t ack_timeout_ns = static_cast<int64_t>(o.ack_timeout * 1e9);
    int64_t last_progress = now_ns();
    for (;;) {
        int64_t now = now_ns();
        // Send while the window allows (one call at a time until the handshake is done).
        while (outstanding.size() < o.inflight && (established || outstanding.empty()) && c.sent < c.target &&
               now < g.deadline_ns) {
            if (rate_per_conn > 0 &&
                static_cast<double>(c.sent) > static_cast<double>(now - g.start_ns) / 1e9 * rate_per_conn)
                break;
            const uint64_t p = (c.first_line + c.sent) % lines;
            const uint64_t n = std::min({o.batch, c.target - c.sent, lines - p});  // contiguous in the pool
            if (!send_call(c.sent, n)) return;
            outstanding.push_back({serial, c.sent, n, now});
            c.sent += n;
        }
        if (outstanding.empty()) {
            if (c.sent >= c.target || now >= g.deadline_ns) break;
            // Paced: wait for the next call's time.
            sleep_until_ns(now + 200000);
            continue;
        }
        pollfd pfd{c.fd, POLLIN, 0};
        int pr = poll(&pfd, 1, rate_per_conn > 0 ? 1 : 50);
        if (pr < 0 && errno != EINTR) {
            report_failure("conn %u: poll: %s", c.id, std::strerror(errno));
            return;
        }
        now = now_ns();
        if (pr <= 0) {
            if (now - last_progress > ack_timeout_ns) {
                report_failure("conn %u: no reply for %.1f s; %" PRIu64 " of %" PRIu64 " events acknowledged", c.id,
                               o.ack_timeout, c.acked, c.sent);
                return;
            }
            continue;
        }
        ssize_t r = read(c.fd, buf.data(), buf.size());
        if (r <= 0) {
            if (r < 0 && errno == EINTR) continue;
            report_failure("conn %u: server closed the connection after %" PRIu64 " acked events", c.id, c.acked);
            return;
        }
        last_progress = now;
        std::string_view data(buf.data(), static_cast<size_t>(r));
        if (inflater) {
            plain.clear();
            if (!inflater->read(data, plain, &error)) {
                report_failure("conn %u: %s", c.id, error.c_str());
                return;
            }
            data = plain;
        }
        frames.feed(data);
        for (;;) {
            uint32_t got_serial;
            auto next = frames.next(&got_serial, &frame, &error);
            if (next == avro::FrameDecoder::Next::need_more) break;
            if (next == avro::FrameDecoder::Next::error || outstanding.empty() ||
                got_serial != outstanding.front().serial) {
                report_failure("conn %u: unexpected response (serial %u): %s", c.id, got_serial, error.c_str());
                return;
            }
            avro::CallResponse resp;
            if (!avro::read_call_response(frame, !established, &resp)) {
                report_failure("conn %u: a response that does not decode", c.id);
                return;
            }
            call& front = outstanding.front();
            if (resp.has_handshake && resp.handshake.match == avro::Match::none) {
                if (with_text) {
                    report_failure("conn %u: the server refuses the protocol (handshake NONE twice)", c.id);
                    return;
                }
                with_text = true;
                if (resp.handshake.has_server_hash) server_hash = resp.handshake.server_hash;
                if (!send_call(front.first, front.n)) return;
                front.serial = serial;
                continue;
            }
            if (resp.has_handshake) established = true;
            if (resp.has_status && resp.status == avro::CallStatus::ok) {
                c.acked += front.n;
                c.hist.record(now - front.t_ns);
            } else {
                c.failed += front.n;
                g_failed.store(true);
                if (g_printed_replies.fetch_add(1) < max_printed_replies)
                    report_failure("conn %u: appendBatch of %" PRIu64 " events answered %s%s", c.id, front.n,
                                   resp.status == avro::CallStatus::failed ? "FAILED" : "UNKNOWN",
                                   resp.error.empty() ? "" : (": " + resp.error).c_str());
            }
            c.end_ns = now;
            outstanding.pop_front();
        }
    }
}

int avro_main(run& g) {
    const options& o = g.opt;
    const avro_pool ap = encode_pool(g.pool);
    std::vector<std::unique_ptr<avro_conn>> conns;
    for (unsigned i = 0; i < o.conns; ++i) {
        auto c = std::make_unique<avro_conn>();
        c->id = i;
        c->first_line = (static_cast<unsigned __int128>(i) * g.pool.lines() / o.conns);
        c->target = o.events == unlimited ? unlimited : o.events / o.conns + (i < o.events % o.conns ? 1 : 0);
        c->fd = connect_to(o);
        if (c->fd < 0) {
            for (auto& d : conns) close(d->fd);
            return 1;
        }
        conns.push_back(std::move(c));
    }
    std::latch start(static_cast<ptrdiff_t>(o.conns) + 1);
    std::vector<std::thread> workers;
    g.start_ns = now_ns();
    if (o.duration > 0) g.deadline_ns = g.start_ns + static_cast<int64_t>(o.duration * 1e9);
    for (auto& c : conns) workers.emplace_back(avro_worker, std::ref(g), std::cref(ap), std::ref(*c), std::ref(start));
    start.count_down();
    for (auto& t : workers) t.join();

    uint64_t events = 0, bytes = 0, acked = 0, failed = 0;
    int64_t end_ns = g.start_ns;
    histogram hist;
    for (auto& c : conns) {
        close(c->fd);
        events += c->acked + c->failed;
        bytes += c->bytes;
        acked += c->acked;
        failed += c->failed;
        hist.merge(c->hist);
        end_ns = std::max(end_ns, c->end_ns);
        if (c->target != unlimited && c->acked + c->failed < c->target && o.duration <= 0) {
            report_failure("conn %u: %" PRIu64 " of %" PRIu64 " events answered", c->id, c->acked + c->failed,
                           c->target);
        }
    }
    const double seconds = static_cast<double>(end_ns - g.start_ns) / 1e9;
    const double safe_s = seconds > 0 ? seconds : 1e-9;
    std::printf("events=%" PRIu64 " bytes=%" PRIu64 " seconds=%.6f events_per_s=%.1f mb_per_s=%.2f\n", events, bytes,
                seconds, static_cast<double>(events) / safe_s, static_cast<double>(bytes) / 1e6 / safe_s);
    std::printf("acks=%" PRIu64 " failed=%" PRIu64 " p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f\n", acked, failed,
                hist.quantile(0.5) / 1e3, hist.quantile(0.9) / 1e3, hist.quantile(0.99) / 1e3,
                hist.quantile(0.999) / 1e3);
    if (std::fflush(stdout) != 0) return 1;
    return g_failed.load() ? 1 : 0;
}

// ------------------------------------------------------------------- main --

int main_impl(int argc, char** argv) {
    run g;
    g.opt = parse_args(argc, argv);
    const options& o = g.opt;

    // A peer that closes must surface as EPIPE from send (MSG_NOSIGNAL covers
    // send; this covers anything else).
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        std::perror("signal(SIGPIPE)");
        return 1;
    }

    const int64_t gen_start = now_ns();
    g.pool = generate_pool(o);
    const double gen_s = static_cast<double>(now_ns() - gen_start) / 1e9;
    if (!o.quiet) {
        std::fprintf(stderr,
                     "sluice-loadgen: %s %s:%d conns=%u events=%s words=%u vocab=%" PRIu64
                     " zipf=%g seed=%" PRIu64 " rate=%g acks=%d pool=%" PRIu64 " lines/%.1f MiB (%.2f s)\n",
                     o.proto.c_str(), o.host.c_str(), o.port, o.conns,
                     o.events == unlimited ? "unlimited" : std::to_string(o.events).c_str(), o.words, o.vocab, o.zipf,
                     o.seed, o.rate, o.acks ? 1 : 0, g.pool.lines(),
                     static_cast<double>(g.pool.bytes.size()) / (1 << 20), gen_s);
    }

    if (o.proto == "avro") return avro_main(g);

    std::vector<std::unique_ptr<connection>> conns;
    for (unsigned i = 0; i < o.conns; ++i) {
        auto c = std::make_unique<connection>();
        c->id = i;
        c->first_line = (static_cast<unsigned __int128>(i) * g.pool.lines() / o.conns);
        c->target = o.events == unlimited ? unlimited : o.events / o.conns + (i < o.events % o.conns ? 1 : 0);
        c->fd = connect_to(o);
        if (c->fd < 0) {
            for (auto& d : conns) close(d->fd);
            return 1;
        }
        conns.push_back(std::move(c));
    }

    std::latch start(static_cast<ptrdiff_t>(o.conns) + 1);
    std::vector<std::thread> writers, readers;
    for (auto& c : conns) {
        writers.emplace_back(writer_main, std::ref(g), std::ref(*c), std::ref(start));
        readers.emplace_back(reader_main, std::ref(g), std::ref(*c));
    }
    g.start_ns = now_ns();
    if (o.duration > 0) g.deadline_ns = g.start_ns + static_cast<int64_t>(o.duration * 1e9);
    start.count_down();

    for (size_t i = 0; i < conns.size(); ++i) {
        writers[i].join();
        connection& c = *conns[i];
        // No more data: tell the server (Flume's netcat closes on EOF), but keep
        // reading replies. With --acks the reader still waits for the last OKs.
        if (shutdown(c.fd, SHUT_WR) != 0 && errno != ENOTCONN) {
            report_failure("conn %u: shutdown: %s", c.id, std::strerror(errno));
        }
    }
    for (auto& t : readers) t.join();

    uint64_t events = 0, bytes = 0, ok = 0, failed = 0;
    int64_t end_ns = g.start_ns;
    histogram hist;
    for (auto& c : conns) {
        if (close(c->fd) != 0) report_failure("conn %u: close: %s", c->id, std::strerror(errno));
        events += c->sent;
        bytes += c->bytes;
        ok += c->ok;
        failed += c->failed_replies;
        hist.merge(c->hist);
        end_ns = std::max(end_ns, o.acks ? std::max(c->last_ack_ns, c->write_end_ns) : c->write_end_ns);
        if (c->write_failed) g_failed.store(true);
        if (c->target != unlimited && c->sent < c->target && !c->write_failed && o.duration <= 0) {
            report_failure("conn %u: sent %" PRIu64 " of %" PRIu64 " events", c->id, c->sent, c->target);
        }
        if (o.acks && c->ok + c->failed_replies < c->sent) {
            report_failure("conn %u: %" PRIu64 " events were never acknowledged", c->id,
                           c->sent - c->ok - c->failed_replies);
        }
    }
    const double seconds = static_cast<double>(end_ns - g.start_ns) / 1e9;
    const double safe_s = seconds > 0 ? seconds : 1e-9;
    std::printf("events=%" PRIu64 " bytes=%" PRIu64 " seconds=%.6f events_per_s=%.1f mb_per_s=%.2f\n", events, bytes,
                seconds, static_cast<double>(events) / safe_s, static_cast<double>(bytes) / 1e6 / safe_s);
    if (o.acks) {
        std::printf("acks=%" PRIu64 " failed=%" PRIu64 " p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f\n", ok, failed,
                    hist.quantile(0.5) / 1e3, hist.quantile(0.9) / 1e3, hist.quantile(0.99) / 1e3,
                    hist.quantile(0.999) / 1e3);
    }
    // Not a failure, but the run did not measure what was asked: say so.
    if (o.rate > 0 && static_cast<double>(events) / safe_s < 0.95 * o.rate) {
        std::fprintf(stderr,
                     "sluice-loadgen: warning: asked for %.0f events/s, sent %.0f (the sender fell behind: CPU "
                     "contention, the server pushing back, or the ack window)\n",
                     o.rate, static_cast<double>(events) / safe_s);
    }
    if (std::fflush(stdout) != 0) {
        std::perror("sluice-loadgen: stdout");
        return 1;
    }
    return g_failed.load() ? 1 : 0;
}

}  // namespace

}  // namespace sluice::loadgen

int main(int argc, char** argv) { return sluice::loadgen::main_impl(argc, argv); }
