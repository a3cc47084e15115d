// SPDX-License-Identifier: Apache-2.0
// What the file and process sources (exec, spooldir, TAILDIR, seq) share:
// which shard does a source's work, charsets, atomic small-file writes, and
// the TAILDIR position file's JSON (docs/file_sources.md).
#pragma once

#include <cstdint>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace sluice {

// The shard that runs a single-reader source (docs/file_sources.md): FNV-1a
// of the source name modulo the shard count. The same on every shard.
unsigned owner_shard(std::string_view source_name, unsigned shards);

enum class charset { utf8, latin1, ascii };
enum class decode_policy { fail, replace, ignore };

// Parses a charset name (case-insensitive): UTF-8, ISO-8859-1, US-ASCII.
bool parse_charset(std::string_view name, charset& out);

// Appends `in`, decoded from `cs`, to `out` as UTF-8. Bytes not valid in `cs`
// become U+FFFD (replace), are dropped (ignore), or make it return false
// (fail; `out` then holds a prefix).
bool decode_to_utf8(std::string_view in, charset cs, decode_policy policy, std::string& out);

// The number of leading bytes of `in` that hold its first `max_chars` Java
// chars (UTF-16 units: a 4-byte UTF-8 sequence counts 2, an invalid byte 1),
// or in.size() when it holds fewer; `chars` gets the count covered.
size_t bytes_for_chars(std::string_view in, charset cs, size_t max_chars, size_t* chars);


// Compiles a Java-style pattern with std::regex (ECMAScript), without
// throwing: a bad pattern is an invalid_argument Status with the reason.
Result<std::shared_ptr<const std::regex>> compile_regex(const std::string& pattern);

// "~/x" -> "$HOME/x"; anything else unchanged.
std::string expand_home(const std::string& path);

// Retrying a commit the channel had no room for, the way Flume's put waits:
// Flume's commit blocks up to the channel's keep-alive for room, and only
// then fails (ChannelFullException, counted as ChannelWriteFail). Channels
// here never block, so a source retries after 1 ms, doubling up to 20 ms,
// until keep-alive has passed since the first failure; then `gave_up` is set
// (the caller counts the failure and applies its own back-off, as Flume's
// source would) and the next failure starts a new window.
class FullChannelRetry {
public:
    // The delay before the next attempt, in microseconds.
    int64_t next_delay_us(int64_t keep_alive_ms, bool& gave_up);
    void reset() { _since_us = 0; }

private:
    int64_t _since_us = 0;
    int64_t _delay_us = 0;
};

// One entry of a TAILDIR position file.
struct TailPosition {
    uint64_t inode = 0;
    uint64_t pos = 0;
    std::string file;
};

// Parses Flume's position file: [{"inode":N,"pos":N,"file":"..."}, ...].
// Unknown keys are skipped; a missing key or malformed JSON is an error (corrupt).
Result<std::vector<TailPosition>> parse_position_file(std::string_view text);
std::string format_position_file(const std::vector<TailPosition>& positions);

}  // namespace sluice
