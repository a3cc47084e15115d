// SPDX-License-Identifier: Apache-2.0
#include "core/log.h"

#include <pthread.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <string>

#include "core/runtime.h"

namespace sluice {

namespace {
std::atomic<int> g_level{int(LogLevel::info)};
const char* level_name(LogLevel l) {
    switch (l) {
    case LogLevel::debug: return "DEBUG";
    case LogLevel::info: return "INFO ";
    case LogLevel::warn: return "WARN ";
    case LogLevel::error: return "ERROR";
    }
    return "?";
}
}  // namespace

void set_log_level(LogLevel level) { g_level.store(int(level)); }
LogLevel log_level() { return LogLevel(g_level.load()); }

bool parse_log_level(std::string_view text, LogLevel* out) {
    std::string t;
    for (char c : text) t += char(toupper(static_cast<unsigned char>(c)));
    if (t == "DEBUG" || t == "TRACE") *out = LogLevel::debug;
    else if (t == "INFO") *out = LogLevel::info;
    else if (t == "WARN" || t == "WARNING") *out = LogLevel::warn;
    else if (t == "ERROR" || t == "FATAL") *out = LogLevel::error;
    else return false;
    return true;
}

namespace {
std::string record_prefix(LogLevel level, std::string_view component) {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    localtime_r(&ts.tv_sec, &tm);
    char prefix[96];
    char thread[16] = "main";
    if (Shard* s = Shard::current()) snprintf(thread, sizeof(thread), "shard-%u", s->id() % 10000);
    int n = snprintf(prefix, sizeof(prefix), "%04d-%02d-%02d %02d:%02d:%02d,%03ld %s [%s] ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
                     level_name(level), thread);
    std::string head(prefix, size_t(std::min<int>(n, sizeof(prefix) - 1)));
    if (!component.empty()) {
        head += '(';
        head += component;
        head += ") ";
    }
    return head;
}

void write_fully(int fd, const std::string& text) {
    // One write per call: records from different threads never interleave.
    const char* p = text.data();
    size_t left = text.size();
    while (left > 0) {
        ssize_t w = ::write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        p += w;
        left -= size_t(w);
    }
}
}  // namespace

void log_line(LogLevel level, std::string_view component, std::string_view message) {
    if (int(level) < g_level.load(std::memory_order_relaxed)) return;
    std::string line = record_prefix(level, component);
    line += message;
    line += '\n';
    write_fully(2, line);
}

void log_records(LogLevel level, std::string_view component, const std::vector<std::string>& records) {
    if (int(level) < g_level.load(std::memory_order_relaxed) || records.empty()) return;
    std::string head = record_prefix(level, component);
    std::string text;
    for (auto& r : records) {
        text += head;
        text += r;
        text += '\n';
    }
    write_fully(2, text);
}

void logf(LogLevel level, const char* fmt, ...) {
    if (int(level) < g_level.load(std::memory_order_relaxed)) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    log_line(level, {}, buf);
}

}  // namespace sluice
