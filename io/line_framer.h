// SPDX-License-Identifier: Apache-2.0
// Newline framing as Flume's netcat source does it (reference/flume.md §4.1):
// split on '\n' only ('\r' stays in the body), and a line may hold at most
// max_chars - 1 characters before its newline, where characters are counted
// as Java counts them after decoding UTF-8 (UTF-16 code units: a 4-byte
// sequence counts 2; a byte that is not valid UTF-8 counts 1).
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace sluice {

// Java's String.length() of the UTF-8 text `s` (invalid bytes count 1 each).
// With `partial`, `s` may continue: an incomplete sequence at its very end is
// not counted yet (the rest of the character may be in the next read).
// `counted_bytes` (optional): the bytes counted, all of `s` but such an
// incomplete tail.
size_t java_char_count(std::string_view s, bool partial = false, size_t* counted_bytes = nullptr);

struct FrameResult {
    size_t consumed = 0;    // bytes up to and including the last framed '\n'
    bool too_long = false;  // a line reached max_chars without its newline;
                            // framing stopped at its start (consumed points there)
};

// Calls on_line(offset, length) for each complete line of `text` (length
// without the '\n'), in order, and stops early if on_line returns false
// (consumed then points after that line's newline).
template <typename OnLine>
FrameResult frame_lines(std::string_view text, size_t max_chars, OnLine&& on_line) {
    FrameResult r;
    const char* base = text.data();
    size_t pos = 0;
    while (pos < text.size()) {
        const void* nl = std::memchr(base + pos, '\n', text.size() - pos);
        size_t end = nl ? size_t(static_cast<const char*>(nl) - base) : text.size();
        size_t len = end - pos;
        // Bytes bound characters from above, so short lines need no count.
        if (len >= max_chars && java_char_count(text.substr(pos, len), nl == nullptr) >= max_chars) {
            r.too_long = true;
            r.consumed = pos;
            return r;
        }
        if (!nl) break;
        bool go_on = on_line(pos, len);
        pos = end + 1;
        r.consumed = pos;
        if (!go_on) return r;
    }
    return r;
}

}  // namespace sluice
