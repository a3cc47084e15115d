// SPDX-License-Identifier: Apache-2.0
// Named points where a recovery test can stop the process as SIGKILL would:
// with SLUICE_CRASH_AT=<name> in the environment, the first crash_point(name)
// reached raises SIGKILL (no flush, no destructors, files as the kernel has
// them). Without the variable a point costs one predictable branch. The
// names a component defines are listed where it calls them.
//
// Named points where a test can make an operation fail as the system would:
// with SLUICE_FAIL_AT=<name>:<n>, the first n calls of fail_point(name)
// return true, and the caller then reports the failure it would get from
// the kernel (the point's comment says which). Without the variable, false.
#pragma once

#include <string_view>

namespace sluice {

void crash_point(std::string_view name);
bool fail_point(std::string_view name);

}  // namespace sluice
