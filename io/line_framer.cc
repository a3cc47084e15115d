// SPDX-License-Identifier: Apache-2.0
#include "io/line_framer.h"

#include <cstdint>

namespace sluice {

size_t java_char_count(std::string_view s, bool partial, size_t* counted_bytes) {
    size_t n = 0;
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        uint8_t b = *p;
        size_t need;
        if (b < 0x80) {
            n++;
            p++;
            continue;
        } else if (b >= 0xC2 && b <= 0xDF) {
            need = 1;
        } else if (b >= 0xE0 && b <= 0xEF) {
            need = 2;
        } else if (b >= 0xF0 && b <= 0xF4) {
            need = 3;
        } else {
            n++;  // not a lead byte: one replacement character
            p++;
            continue;
        }
        size_t have = 0;
        while (have < need && p + 1 + have < end && (p[1 + have] & 0xC0) == 0x80) have++;
        if (have < need) {
            if (partial && p + 1 + have == end) break;  // may complete in the next read
            n++;  // truncated sequence: one replacement character for the lead byte
            p++;
            continue;
        }
        n += need == 3 ? 2 : 1;  // outside the BMP: a surrogate pair
        p += 1 + need;
    }
    if (counted_bytes) *counted_bytes = size_t(p - reinterpret_cast<const uint8_t*>(s.data()));
    return n;
}

}  // namespace sluice
