// SPDX-License-Identifier: Apache-2.0
// The durable `file` channel (docs/durable-format.md).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/channel.h"
#include "core/component.h"
#include "core/registry.h"

namespace sluice {

ComponentDescriptor file_channel_descriptor();
// `SPILLABLEMEMORY` (io/spillable_channel.cc): memory that spills into an embedded file channel.
ComponentDescriptor spillable_channel_descriptor();

// What a file channel is built from (its keys, read by file_options_from,
// plus capacity, transactionCapacity and keep-alive, which its users set).
struct file_options {
    std::string name;
    std::string key_prefix;  // "a1.channels.c1.": full keys in messages
    std::string checkpoint_dir, backup_checkpoint_dir;
    std::vector<std::string> data_dirs;
    int64_t capacity = 0;
    uint32_t tx_capacity = 0;
    int64_t checkpoint_interval_ms = 0;
    uint64_t max_file_size = 0;
    int64_t min_required_space = 0;
    int64_t keep_alive_ms = 0;
    bool dual_checkpoints = false, checkpoint_on_close = true, fsync_per_transaction = true;
    int64_t fsync_interval_ms = 0;
    uint64_t group_bytes = 0;
    int64_t group_delay_us = 0;
    uint64_t take_cache_bytes = 0;
};
file_options file_options_from(const ComponentSettings& s);
std::unique_ptr<Channel> make_file_channel(ChannelContext& ctx, file_options opts);
// The file channel's keys without capacity, transactionCapacity and
// keep-alive (for channels that embed one: SPILLABLEMEMORY), and their checks.
std::vector<KeySpec> file_channel_storage_keys();
void check_file_channel_storage(const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& problems);

}  // namespace sluice
