// SPDX-License-Identifier: Apache-2.0
// The durable `file` channel (docs/durable-format.md).
#pragma once

#include "core/registry.h"

namespace sluice {

ComponentDescriptor file_channel_descriptor();

}  // namespace sluice
