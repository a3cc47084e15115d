// SPDX-License-Identifier: Apache-2.0
// Every component type sluice ships, and the one list that registers them.
#pragma once

#include "core/registry.h"

namespace sluice {

ComponentDescriptor netcat_source_descriptor();
ComponentDescriptor replay_source_descriptor();
ComponentDescriptor avro_source_descriptor();
ComponentDescriptor avro_sink_descriptor();
ComponentDescriptor seq_source_descriptor();
ComponentDescriptor exec_source_descriptor();
ComponentDescriptor spooldir_source_descriptor();
ComponentDescriptor taildir_source_descriptor();
ComponentDescriptor syslogtcp_source_descriptor();
ComponentDescriptor multiport_syslogtcp_source_descriptor();
ComponentDescriptor syslogudp_source_descriptor();
ComponentDescriptor netcatudp_source_descriptor();
ComponentDescriptor http_source_descriptor();
ComponentDescriptor logger_sink_descriptor();
ComponentDescriptor file_roll_sink_descriptor();
ComponentDescriptor null_sink_descriptor();
ComponentDescriptor kafka_source_descriptor();
ComponentDescriptor kafka_sink_descriptor();
ComponentDescriptor kafka_channel_descriptor();

// Adds every built-in source, channel and sink to `r` (once, at start-up).
void register_builtin_components(Registry& r);

}  // namespace sluice
