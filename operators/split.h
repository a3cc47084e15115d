// SPDX-License-Identifier: Apache-2.0
// Splitting a record at a one-byte separator, as flatMap(split(c)) does:
// the non-empty pieces in order (Spark's split drops the empty strings a
// separator run makes). The separators of 16 bytes at a time are found as
// one bit mask and walked with count-trailing-zeros, so the loop branches
// once per piece and once per 16 bytes instead of once per byte (a word's
// end was the mispredicted branch of word count's byte loop).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string_view>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice::ops {

// Bit i is set when p[i] == sep, for i < 16. Reads p[0, 16).
inline uint32_t separator_mask16(const char* p, char sep) {
#if defined(__SSE2__)
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    return uint32_t(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8(sep))));
#else
    uint32_t mask = 0;
    for (int i = 0; i < 16; i++) mask |= uint32_t(p[i] == sep) << i;
    return mask;
#endif
}

// Bit i is set when p[base + i] == sep, for i < min(n - base, 16) (base < n).
// Reads only p[0, n): a short last block is read as the record's last 16
// bytes, shifted, when the record has them, else from a copy.
inline uint32_t separator_mask(const char* p, size_t n, size_t base, char sep) {
    const size_t left = n - base;
    if (left >= 16) return separator_mask16(p + base, sep);
    if (n >= 16) return separator_mask16(p + n - 16, sep) >> (16 - left);
    char copy[16] = {};
    std::memcpy(copy, p + base, left);
    return separator_mask16(copy, sep) & ((1u << left) - 1);
}

// Calls piece(std::string_view) for every non-empty piece of rec between
// separators, in order. The views point into rec.
template <class F>
inline void for_each_piece(std::string_view rec, char sep, F&& piece) {
    const char* p = rec.data();
    const size_t n = rec.size();
    size_t start = 0;  // the current piece's first byte
    for (size_t base = 0; base < n; base += 16) {
        for (uint32_t mask = separator_mask(p, n, base, sep); mask != 0; mask &= mask - 1) {
            const size_t at = base + size_t(std::countr_zero(mask));
            if (at > start) piece(std::string_view(p + start, at - start));
            start = at + 1;
        }
    }
    if (n > start) piece(std::string_view(p + start, n - start));
}

}  // namespace sluice::ops
