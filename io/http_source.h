// SPDX-License-Identifier: Apache-2.0
// The `http` source's JSON handler (docs/syslog.md §4.2), exposed for its
// unit tests and fuzz target. The source itself is registered through
// io/components.h.
#pragma once

#include <string>
#include <string_view>

#include "core/event.h"

namespace sluice {

enum class json_events_result {
    ok,
    bad_syntax,  // Flume: 400 "Bad request from client. Request has invalid JSON Syntax."
    unexpected,  // Flume: 500 "Deserializer threw unexpected exception. <why>"
};

// Decodes Flume's JSON event list `[{"headers":{...},"body":"..."}, ...]`
// (UTF-8) and appends its events to `out`. On failure `out` may hold part of
// the events (callers discard it) and `why` says what was wrong.
json_events_result parse_json_events(std::string_view body, EventBatch& out, std::string* why);

}  // namespace sluice
