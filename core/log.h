// SPDX-License-Identifier: Apache-2.0
// Process-wide logging to stderr, one line per call, never interleaved:
//   2026-11-22 10:00:00,123 INFO  [shard-0] message
// Safe from any thread. The level is set once at start-up (sluice.log.level /
// flume.root.logger). Not for the per-event path, except the logger sink,
// whose whole purpose is a line per event.
#pragma once

#include <cstdarg>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3 };

void set_log_level(LogLevel level);
LogLevel log_level();
bool parse_log_level(std::string_view text, LogLevel* out);

void log_line(LogLevel level, std::string_view component, std::string_view message);
// Several records written with one write(), each with the prefix; a record
// may span lines (as a Flume hex dump does), continuation lines get no prefix.
void log_records(LogLevel level, std::string_view component, const std::vector<std::string>& records);
void logf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) ::sluice::logf(::sluice::LogLevel::debug, __VA_ARGS__)
#define log_info(...) ::sluice::logf(::sluice::LogLevel::info, __VA_ARGS__)
#define log_warn(...) ::sluice::logf(::sluice::LogLevel::warn, __VA_ARGS__)
#define log_error(...) ::sluice::logf(::sluice::LogLevel::error, __VA_ARGS__)

}  // namespace sluice
