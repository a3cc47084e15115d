// SPDX-License-Identifier: Apache-2.0
#include "io/components.h"

#include "core/memory_channel.h"
#include "io/file_channel.h"

namespace sluice {

void register_builtin_components(Registry& r) {
    r.add(netcat_source_descriptor());
    r.add(netcatudp_source_descriptor());
    r.add(syslogtcp_source_descriptor());
    r.add(multiport_syslogtcp_source_descriptor());
    r.add(syslogudp_source_descriptor());
    r.add(http_source_descriptor());
    r.add(replay_source_descriptor());
    r.add(avro_source_descriptor());
    r.add(kafka_source_descriptor());
    r.add(seq_source_descriptor());
    r.add(exec_source_descriptor());
    r.add(spooldir_source_descriptor());
    r.add(taildir_source_descriptor());
    r.add(memory_channel_descriptor());
    r.add(file_channel_descriptor());
    r.add(spillable_channel_descriptor());
    r.add(kafka_channel_descriptor());
    r.add(logger_sink_descriptor());
    r.add(file_roll_sink_descriptor());
    r.add(null_sink_descriptor());
    r.add(avro_sink_descriptor());
    r.add(kafka_sink_descriptor());
}

}  // namespace sluice
