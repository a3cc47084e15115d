// SPDX-License-Identifier: Apache-2.0
#include "core/assert.h"

#include <cstdio>
#include <cstdlib>

namespace sluice::detail {
void assert_fail(const char* cond, const char* file, int line, const char* msg) {
    std::fprintf(stderr, "sluice: invariant violated at %s:%d: %s (%s)\n", file, line, msg, cond);
    std::fflush(stderr);
    std::abort();
}
}  // namespace sluice::detail
