// SPDX-License-Identifier: Apache-2.0
// The I/O backend of one shard.
//
// A Reactor belongs to one shard and is used only from that shard's thread,
// except wake(), which any thread may call. Two implementations live in io/:
// io_uring (the default, probed at start) and epoll (the fallback, or
// -Dsluice.io=epoll). Both give the same contract, so sources and sinks are
// written once.
//
// Stream contract: after add_stream() the reactor reads the socket and calls
// the handler's on_data() with bytes that are valid only during the call; the
// handler copies what it keeps. pause_reading() stops further reads: at most
// the data of reads already completed is still delivered. send() queues bytes
// that must stay valid until on_sent(); sends on one stream complete in order.
// close_stream() cancels everything outstanding, closes the fd, and then calls
// on_closed() exactly once; after that the handler is never called again and
// may be destroyed.
//
// Connect contract: connect() starts connecting a non-blocking socket the
// caller owns (and keeps owning: it must not close it before the answer).
// on_connected() comes exactly once, from poll(), never from inside
// connect(): 0 when the socket is connected (then normally add_stream), or an
// errno. cancel_connect() makes a connect still under way end with ECANCELED
// (one that already finished keeps its result).
//
// Datagram contract: after add_datagram() the reactor receives from the
// (bound, non-blocking) socket and calls on_datagram() once per datagram, with
// bytes and sender address valid only during the call. A datagram larger than
// max_datagram_bytes is cut to that size (truncated = true). close_datagram()
// stops receiving and closes the fd; the handler is never called again after
// it returns and may be destroyed at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include <sys/socket.h>

#include "core/status.h"

namespace sluice {

class StreamHandler {
public:
    virtual ~StreamHandler() = default;
    virtual void on_data(std::string_view data) = 0;
    // The peer closed its side (or reset the connection: err != 0). No more on_data.
    virtual void on_eof(int err) = 0;
    // A send() finished: bytes written, or a negative errno (the stream is broken).
    virtual void on_sent(ssize_t result) = 0;
    virtual void on_closed() = 0;
};

class AcceptHandler {
public:
    virtual ~AcceptHandler() = default;
    // A new connection; the handler owns fd from here on (normally: add_stream).
    virtual void on_accept(int fd) = 0;
    // Accepting failed for good (e.g. the listener was closed); err is an errno.
    virtual void on_accept_error(int err) = 0;
};

class ConnectHandler {
public:
    virtual ~ConnectHandler() = default;
    virtual void on_connected(int err) = 0;
};

class DatagramHandler {
public:
    virtual ~DatagramHandler() = default;
    virtual void on_datagram(std::string_view data, bool truncated, const sockaddr* from, socklen_t from_len) = 0;
    // Receiving failed for good (err is an errno); no more datagrams come.
    virtual void on_datagram_error(int err) = 0;
};

using StreamId = uint32_t;
using ConnectId = uint32_t;
using ListenerId = uint32_t;
using DatagramId = uint32_t;

// The largest datagram delivered whole (the largest UDP payload fits).
inline constexpr size_t max_datagram_bytes = 65536;

class Reactor {
public:
    virtual ~Reactor() = default;
    virtual std::string_view name() const = 0;
    // Called once on the shard's thread before any other call but wake():
    // the reactor binds to the thread that will use it (io_uring's single issuer).
    virtual Status attach_thread() { return Status::ok(); }

    // Waits up to timeout_us (0: do not wait, <0: forever) for I/O or wake(),
    // then runs the handlers of what completed. Returns the number of completions.
    virtual int poll(int64_t timeout_us) = 0;
    // Any thread: makes the current or next poll() return promptly.
    virtual void wake() = 0;

    virtual Result<ListenerId> add_listener(int listen_fd, AcceptHandler* handler) = 0;
    // Stops accepting and closes listen_fd.
    virtual void close_listener(ListenerId id) = 0;

    virtual Result<ConnectId> connect(int fd, const sockaddr* addr, socklen_t addr_len, ConnectHandler* handler) = 0;
    virtual void cancel_connect(ConnectId id) = 0;

    virtual Result<StreamId> add_stream(int fd, StreamHandler* handler) = 0;
    virtual void pause_reading(StreamId id) = 0;
    virtual void resume_reading(StreamId id) = 0;
    virtual void send(StreamId id, const char* data, size_t len) = 0;
    // Stops reading, lets queued sends finish (a peer that does not read gets
    // them cut off), closes the fd, then calls on_closed().
    virtual void close_stream(StreamId id) = 0;

    // Flushes the written data of file `fd` to stable storage (fdatasync;
    // pages written through a shared mapping included), without blocking the
    // shard where the backend can. done(res) runs later on the shard thread,
    // never inside this call: res is 0 or -errno. fd stays open until then.
    virtual void sync_data(int fd, std::function<void(int)> done) = 0;

    virtual Result<DatagramId> add_datagram(int fd, DatagramHandler* handler) = 0;
    virtual void close_datagram(DatagramId id) = 0;
};

}  // namespace sluice
