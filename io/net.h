// SPDX-License-Identifier: Apache-2.0
// Socket helpers shared by the network sources.
#pragma once

#include <string>

#include "core/status.h"

namespace sluice {

// A listening TCP socket on host:port (host may be a name, an IPv4 or IPv6
// address, or 0.0.0.0), non-blocking, close-on-exec, SO_REUSEADDR, and
// SO_REUSEPORT when `reuse_port` (one listener per shard on the same port;
// the kernel spreads connections over them).
Result<int> listen_tcp(const std::string& host, int port, bool reuse_port, int backlog = 1024);

// "host:port" of the peer of a connected socket, for log lines.
std::string peer_name(int fd);

}  // namespace sluice
