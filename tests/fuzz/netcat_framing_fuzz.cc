// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the netcat source's line framing (io/line_framer.h).
// Input: byte 0 chooses max_chars (2..257), byte 1 after how many lines
// on_line stops (0: never); the rest is the text read from the socket.
// Traps on any broken invariant:
//   - consumed <= size;
//   - lines are in order, back to back, inside the text, hold no '\n' and are
//     each followed by one; consumed is just past the last one;
//   - every framed line counts fewer than max_chars Java characters;
//   - too_long: the line at `consumed` counts at least max_chars (partial
//     count when it has no newline yet); otherwise, unless on_line stopped,
//     no '\n' is left after consumed and the partial tail counts fewer than
//     max_chars;
//   - java_char_count: at most one character per byte, at least one per four
//     bytes, the partial count never exceeds the full one and differs only by
//     the incomplete sequence at the very end, and the count is additive
//     across an ASCII byte.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/line_framer.h"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void check_count(std::string_view s) {
    size_t full = sluice::java_char_count(s, false);
    size_t part = sluice::java_char_count(s, true);
    check(full <= s.size());
    check(full * 4 >= s.size());
    check(part <= full);
    // Only an incomplete trailing sequence (at most 3 bytes, one character
    // per byte in the full count) is left out.
    check(full - part <= 3);
    if (s.size() >= 4) check(part * 4 >= s.size() - 3);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 2) return 0;
    const size_t max_chars = 2 + size_t(data[0]);  // 2..257
    const size_t stop_after = data[1];
    std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

    check_count(text);
    // Additive across any ASCII byte (it ends every sequence before it).
    for (size_t i = 0; i < text.size(); i += 1 + text.size() / 8) {
        if (static_cast<unsigned char>(text[i]) >= 0x80) continue;
        size_t whole = sluice::java_char_count(text, false);
        size_t left = sluice::java_char_count(text.substr(0, i), false);
        size_t right = sluice::java_char_count(text.substr(i + 1), false);
        check(whole == left + 1 + right);
        size_t whole_p = sluice::java_char_count(text, true);
        size_t right_p = sluice::java_char_count(text.substr(i + 1), true);
        check(whole_p == left + 1 + right_p);
    }

    size_t lines = 0;
    size_t next = 0;  // where the next line must start
    bool stopped = false;
    auto r = sluice::frame_lines(text, max_chars, [&](size_t off, size_t len) {
        check(!stopped);
        check(off == next);
        check(off <= text.size() && len <= text.size() - off);
        check(off + len < text.size() && text[off + len] == '\n');
        std::string_view line = text.substr(off, len);
        check(line.find('\n') == std::string_view::npos);
        check(sluice::java_char_count(line, false) < max_chars);
        check_count(line);
        next = off + len + 1;
        ++lines;
        if (stop_after != 0 && lines == stop_after) {
            stopped = true;
            return false;
        }
        return true;
    });
    check(r.consumed <= text.size());
    check(r.consumed == next);
    std::string_view rest = text.substr(r.consumed);
    if (stopped) {
        check(!r.too_long);
    } else if (r.too_long) {
        size_t nl = rest.find('\n');
        std::string_view line = rest.substr(0, nl);
        check(line.size() >= max_chars);
        check(sluice::java_char_count(line, nl == std::string_view::npos) >= max_chars);
    } else {
        check(rest.find('\n') == std::string_view::npos);
        check(sluice::java_char_count(rest, true) < max_chars);
    }
    return 0;
}
