// SPDX-License-Identifier: Apache-2.0
// The `streams` component: docs/streams.md §6 is the design this implements.
#pragma once

#include "core/registry.h"
#include "operators/pipeline.h"

namespace sluice::ops {

// The descriptor of streams (kind stream). `user` functions, if given, are
// usable in ops; it must outlive every agent built with the descriptor.
ComponentDescriptor stream_descriptor(const UserFunctions* user = nullptr);

}  // namespace sluice::ops
