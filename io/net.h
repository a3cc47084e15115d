// SPDX-License-Identifier: Apache-2.0
// Socket helpers shared by the network sources.
#pragma once

#include <sys/socket.h>

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

// A bound UDP socket on host:port (host empty: all interfaces), non-blocking,
// close-on-exec, SO_REUSEADDR, and SO_REUSEPORT when `reuse_port` (one per
// shard; the kernel spreads senders over them). `rcvbuf` > 0 asks for that
// receive buffer size.
Result<int> bind_udp(const std::string& host, int port, bool reuse_port, int rcvbuf = 0);

// The address of `sa` as text ("127.0.0.1", "::1"; IPv4-mapped IPv6 shown as
// IPv4) and its port; empty for other families.
std::string address_text(const sockaddr* sa, socklen_t len, int* port = nullptr);
// The address of a connected socket's peer / its own end.
std::string peer_address(int fd, int* port = nullptr);
int local_port(int fd);
// The host name of an address by reverse lookup (blocking; callers cache it),
// or the address text when there is none.
std::string reverse_lookup(const sockaddr* sa, socklen_t len);

}  // namespace sluice
