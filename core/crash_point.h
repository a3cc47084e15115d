// SPDX-License-Identifier: Apache-2.0
// Named points where a recovery test can stop the process as SIGKILL would:
// with SLUICE_CRASH_AT=<name> in the environment, the first crash_point(name)
// reached raises SIGKILL (no flush, no destructors, files as the kernel has
// them). Without the variable a point costs one predictable branch. The
// names a component defines are listed where it calls them.
#pragma once

#include <string_view>

namespace sluice {

void crash_point(std::string_view name);

}  // namespace sluice
