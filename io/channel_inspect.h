// SPDX-License-Identifier: Apache-2.0
// `sluice channel inspect DIR...`: a read-only report on durable channel
// directories (docs/durable-format.md §8).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

namespace sluice {

// Prints segments, records, checkpoints and what is queued for every chain
// found in `dirs` (data and checkpoint directories, in any order), verifying
// every CRC. Takes no lock: safe to run beside an agent, though a running
// agent's latest appends may not be seen. Returns 0, or 1 on corruption (a
// bad record before the end of a chain, a bad segment header or checkpoint)
// or when a directory cannot be read.
int inspect_channel_dirs(const std::vector<std::string>& dirs, std::FILE* out);

}  // namespace sluice
