// SPDX-License-Identifier: Apache-2.0
// Invariant checks. A failed SLUICE_ASSERT is a bug in sluice, not an
// expected failure: it prints the location and the condition, then aborts.
// It stays on in release builds; keep it off the per-event path.
#pragma once

namespace sluice::detail {
[[noreturn]] void assert_fail(const char* cond, const char* file, int line, const char* msg);
}

#define SLUICE_ASSERT(cond, msg)                                                   \
    do {                                                                           \
        if (__builtin_expect(!(cond), 0))                                          \
            ::sluice::detail::assert_fail(#cond, __FILE__, __LINE__, (msg));       \
    } while (0)
