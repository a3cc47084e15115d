// SPDX-License-Identifier: Apache-2.0
// How Flume (Java) prints things users see, so sluice prints them the same:
// header maps in java.util.HashMap iteration order, and commons-io hex dumps.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"

namespace sluice {

// Java's String.hashCode() of UTF-8 text (hashed as UTF-16 code units).
int32_t java_string_hash(std::string_view utf8);

// The event's headers as Java's HashMap<String,String>.toString() prints them
// after inserting them in order: "{k1=v1, k2=v2}" in HashMap iteration order
// (bucket order of the final table, insertion order within a bucket).
std::string java_headers_string(const EventView& e);

// Flume's EventHelper.dumpEvent body part: commons-io HexDump of the first
// `max_bytes` bytes without the leading "00000000" offset and the final line
// end; empty for an empty body.
std::string flume_hex_dump(std::string_view body, size_t max_bytes);

}  // namespace sluice
