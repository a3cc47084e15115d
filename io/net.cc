// SPDX-License-Identifier: Apache-2.0
#include "io/net.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice {

Result<int> listen_tcp(const std::string& host, int port, bool reuse_port, int backlog) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) return Status(errc::io, "cannot resolve '" + host + "': " + gai_strerror(rc));
    Status last(errc::io, "no address for '" + host + "'");
    for (addrinfo* a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = io_error("socket", errno);
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0) {
            last = io_error("cannot bind " + host + ":" + service, errno);
            ::close(fd);
            continue;
        }
        if (listen(fd, backlog) < 0) {
            last = io_error("listen on " + host + ":" + service, errno);
            ::close(fd);
            continue;
        }
        freeaddrinfo(res);
        return fd;
    }
    freeaddrinfo(res);
    return last;
}

std::string peer_name(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return "?";
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss.ss_family == AF_INET) {
        auto* in = reinterpret_cast<sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    return std::string(host) + ":" + std::to_string(port);
}

Result<int> bind_udp(const std::string& host, int port, bool reuse_port, int rcvbuf) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) return Status(errc::io, "cannot resolve '" + host + "': " + gai_strerror(rc));
    Status last(errc::io, "no address for '" + host + "'");
    for (addrinfo* a = res; a; a = a->ai_next) {
        int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = io_error("socket", errno);
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0) {
            last = io_error("cannot bind " + (host.empty() ? std::string("*") : host) + ":" + service, errno);
            ::close(fd);
            continue;
        }
        freeaddrinfo(res);
        return fd;
    }
    freeaddrinfo(res);
    return last;
}

std::string address_text(const sockaddr* sa, socklen_t len, int* port) {
    char host[INET6_ADDRSTRLEN] = "";
    int p = 0;
    if (sa && sa->sa_family == AF_INET && len >= socklen_t(sizeof(sockaddr_in))) {
        auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        p = ntohs(in->sin_port);
    } else if (sa && sa->sa_family == AF_INET6 && len >= socklen_t(sizeof(sockaddr_in6))) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof(host));
        else inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        p = ntohs(in6->sin6_port);
    }
    if (port) *port = p;
    return host;
}

std::string peer_address(int fd, int* port) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return "";
    return address_text(reinterpret_cast<sockaddr*>(&ss), len, port);
}

int local_port(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return 0;
    int port = 0;
    address_text(reinterpret_cast<sockaddr*>(&ss), len, &port);
    return port;
}

std::string reverse_lookup(const sockaddr* sa, socklen_t len) {
    char host[NI_MAXHOST];
    if (getnameinfo(sa, len, host, sizeof(host), nullptr, 0, NI_NAMEREQD) == 0) return host;
    return address_text(sa, len);
}

}  // namespace sluice
