// SPDX-License-Identifier: Apache-2.0
// Replacing a small file whole (checkpoints, position files, trackers).
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice {

// Replaces `path` so that a reader, or a restart after the process died, sees
// the old content or the new, never a mix: writes `path`.tmp and renames it
// over `path`. With `durable` the new content also survives a power loss
// once this returns ok: the file is fdatasynced before the rename and the
// directory fsynced after it. A failure leaves the old file in place (and
// perhaps the .tmp beside it, which the next call overwrites).
Status write_file_atomically(const std::string& path, std::string_view bytes, bool durable);

}  // namespace sluice
