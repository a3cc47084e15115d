// SPDX-License-Identifier: Apache-2.0
// The `memory` channel: Flume's MemoryChannel (reference/flume.md §8.1) with
// a queue slice per shard and capacity shared through atomics.
#pragma once

#include "core/registry.h"

namespace sluice {

ComponentDescriptor memory_channel_descriptor();

// Flume's texts, as clients see them after "FAILED: ".
inline constexpr std::string_view memory_channel_full_text =
    "Space for commit to queue couldn't be acquired. Sinks are likely not keeping up with sources, or the "
    "buffer size is too tight";

}  // namespace sluice
