// SPDX-License-Identifier: Apache-2.0
// The io_uring backend (liburing 2.3, kernel >= 6.1).
//
// One ring per shard, SINGLE_ISSUER | DEFER_TASKRUN (created disabled and
// enabled on the shard thread, which becomes its only issuer), a CQ four times
// the SQ so it does not overflow. Receives are single-shot recv with buffer
// selection from a ring-mapped provided-buffer group, re-armed after each
// completion: a connection never holds more than one buffer, and pausing a
// connection is exact (the next recv is simply not armed). Accepts are
// multishot. Completions are reaped in batches, and the CQ head advanced once
// per batch.
#include "io/reactors.h"

#include <liburing.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "core/assert.h"
#include "core/log.h"

namespace sluice {

namespace {

constexpr unsigned sq_entries = 1024;
constexpr unsigned cq_entries = 8192;
constexpr unsigned buf_count = 128;     // power of two (the buffer ring's size)
constexpr unsigned buf_size = 64 * 1024;
constexpr uint16_t buf_group = 0;

enum op : uint8_t {
    op_none, op_accept, op_recv, op_send, op_wake, op_cancel, op_close_grace, op_accept_retry, op_sync, op_connect,
    op_recvmsg
};

// user_data: op (8 bits) | generation (24 bits) | slot (32 bits)
uint64_t pack(op o, uint32_t gen, uint32_t slot) { return uint64_t(o) << 56 | uint64_t(gen & 0xffffff) << 32 | slot; }
op op_of(uint64_t ud) { return op(ud >> 56); }
uint32_t gen_of(uint64_t ud) { return uint32_t(ud >> 32) & 0xffffff; }
uint32_t slot_of(uint64_t ud) { return uint32_t(ud); }

class UringReactor final : public Reactor {
public:
    ~UringReactor() override;
    Status init();

    std::string_view name() const override { return "io_uring"; }
    Status attach_thread() override;
    int poll(int64_t timeout_us) override;
    void wake() override;
    Result<ListenerId> add_listener(int listen_fd, AcceptHandler* handler) override;
    void close_listener(ListenerId id) override;
    Result<StreamId> add_stream(int fd, StreamHandler* handler) override;
    void pause_reading(StreamId id) override;
    void resume_reading(StreamId id) override;
    void send(StreamId id, const char* data, size_t len) override;
    void close_stream(StreamId id) override;
    void sync_data(int fd, std::function<void(int)> done) override;
    Result<ConnectId> connect(int fd, const sockaddr* addr, socklen_t addr_len, ConnectHandler* handler) override;
    void cancel_connect(ConnectId id) override;
    Result<DatagramId> add_datagram(int fd, DatagramHandler* handler) override;
    void close_datagram(DatagramId id) override;

private:
    // A connect under way; the address must stay put until the kernel has read it.
    struct connect_op {
        sockaddr_storage addr{};
        socklen_t addr_len = 0;
        ConnectHandler* handler = nullptr;
        uint32_t gen = 0;
        bool live = false;
    };
    std::vector<std::unique_ptr<connect_op>> _connects;
    struct pending_send {
        const char* data;
        size_t len;
        size_t done;
    };
    struct stream {
        int fd = -1;
        StreamHandler* handler = nullptr;
        uint32_t gen = 0;
        bool live = false;
        bool recv_armed = false;
        bool paused = false;
        bool eof = false;
        bool closing = false;
        bool send_armed = false;
        bool grace_armed = false;
        std::deque<pending_send> sends;
    };
    struct listener {
        int fd = -1;
        AcceptHandler* handler = nullptr;
        uint32_t gen = 0;
        bool live = false;
        bool armed = false;
    };

    // A datagram socket: one recvmsg in flight into its own buffer. The
    // memory stays until that recvmsg has completed, even after close.
    struct datagram {
        int fd = -1;
        DatagramHandler* handler = nullptr;
        uint32_t gen = 0;
        bool live = false;
        bool armed = false;
        std::vector<char> buf = std::vector<char>(max_datagram_bytes);
        sockaddr_storage from{};
        iovec iov{};
        msghdr msg{};
    };

    io_uring_sqe* sqe();
    void arm_recvmsg(uint32_t slot);
    void on_recvmsg(uint32_t slot, uint32_t gen, int res);
    void arm_recv(uint32_t slot);
    void arm_send(uint32_t slot);
    void arm_accept(uint32_t slot);
    void arm_wake();
    void handle(io_uring_cqe* cqe);
    void on_recv(uint32_t slot, io_uring_cqe* cqe);
    void on_send(uint32_t slot, int res);
    void maybe_finish_close(uint32_t slot);
    void return_buffer(uint16_t bid);
    stream* live_stream(StreamId id);

    io_uring _ring{};
    bool _ring_ok = false;
    io_uring_buf_ring* _buf_ring = nullptr;
    size_t _buf_ring_bytes = 0;
    char* _bufs = nullptr;
    int _wake_fd = -1;
    uint64_t _wake_buf = 0;
    std::vector<stream> _streams;
    std::vector<uint32_t> _free_streams;
    std::vector<listener> _listeners;
    std::vector<std::unique_ptr<datagram>> _datagrams;
    std::vector<uint32_t> _closed_ready;  // streams whose on_closed is due
    std::vector<std::function<void(int)>> _syncs;  // sync_data in flight, by slot
    std::vector<uint32_t> _free_syncs;
    __kernel_timespec _grace{2, 0};
    __kernel_timespec _accept_backoff{0, 100 * 1000 * 1000};
};

UringReactor::~UringReactor() {
    for (auto& s : _streams)
        if (s.fd >= 0) ::close(s.fd);
    for (auto& l : _listeners)
        if (l.fd >= 0) ::close(l.fd);
    for (auto& d : _datagrams)
        if (d->fd >= 0) ::close(d->fd);
    if (_ring_ok) io_uring_queue_exit(&_ring);
    if (_buf_ring) munmap(_buf_ring, _buf_ring_bytes);
    if (_bufs) munmap(_bufs, size_t(buf_count) * buf_size);
    if (_wake_fd >= 0) ::close(_wake_fd);
}

Status UringReactor::init() {
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE | IORING_SETUP_R_DISABLED;
    p.cq_entries = cq_entries;
    int rc = io_uring_queue_init_params(sq_entries, &_ring, &p);
    if (rc < 0) return io_error("io_uring_queue_init_params", -rc);
    _ring_ok = true;
    _wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (_wake_fd < 0) return io_error("eventfd", errno);
    // The provided-buffer ring, set up by hand: liburing 2.3 has no
    // io_uring_setup_buf_ring(). Entries and buffers are page-aligned anonymous memory.
    _buf_ring_bytes = sizeof(io_uring_buf) * buf_count;
    void* mem = mmap(nullptr, _buf_ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return io_error("mmap buffer ring", errno);
    _buf_ring = static_cast<io_uring_buf_ring*>(mem);
    mem = mmap(nullptr, size_t(buf_count) * buf_size, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    if (mem == MAP_FAILED) return io_error("mmap buffers", errno);
    _bufs = static_cast<char*>(mem);
    return Status::ok();
}

Status UringReactor::attach_thread() {
    // liburing 2.3 declares io_uring_enable_rings() but does not export it:
    // make the register call directly.
    int rc = int(syscall(__NR_io_uring_register, _ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0));
    if (rc < 0) return io_error("io_uring_register(ENABLE_RINGS)", errno);
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<uint64_t>(_buf_ring);
    reg.ring_entries = buf_count;
    reg.bgid = buf_group;
    rc = io_uring_register_buf_ring(&_ring, &reg, 0);
    if (rc < 0) return io_error("io_uring_register_buf_ring", -rc);
    io_uring_buf_ring_init(_buf_ring);
    for (unsigned i = 0; i < buf_count; i++)
        io_uring_buf_ring_add(_buf_ring, _bufs + size_t(i) * buf_size, buf_size, uint16_t(i),
                              io_uring_buf_ring_mask(buf_count), int(i));
    io_uring_buf_ring_advance(_buf_ring, int(buf_count));
    io_uring_register_ring_fd(&_ring);  // a small win per enter; failure is harmless
    arm_wake();
    return Status::ok();
}

io_uring_sqe* UringReactor::sqe() {
    io_uring_sqe* e = io_uring_get_sqe(&_ring);
    if (!e) {
        io_uring_submit(&_ring);
        e = io_uring_get_sqe(&_ring);
        SLUICE_ASSERT(e != nullptr, "io_uring submission queue stuck full");
    }
    return e;
}

void UringReactor::arm_wake() {
    auto* e = sqe();
    io_uring_prep_read(e, _wake_fd, &_wake_buf, sizeof(_wake_buf), 0);
    io_uring_sqe_set_data64(e, pack(op_wake, 0, 0));
}

void UringReactor::wake() {
    uint64_t one = 1;
    ssize_t w = ::write(_wake_fd, &one, sizeof(one));
    (void)w;  // EAGAIN means a wake-up is already pending
}

void UringReactor::return_buffer(uint16_t bid) {
    io_uring_buf_ring_add(_buf_ring, _bufs + size_t(bid) * buf_size, buf_size, bid, io_uring_buf_ring_mask(buf_count), 0);
    io_uring_buf_ring_advance(_buf_ring, 1);
}

int UringReactor::poll(int64_t timeout_us) {
    int rc;
    if (timeout_us == 0 || !_closed_ready.empty()) {
        rc = io_uring_submit_and_get_events(&_ring);
    } else if (timeout_us < 0) {
        io_uring_cqe* cqe = nullptr;
        rc = io_uring_submit_and_wait_timeout(&_ring, &cqe, 1, nullptr, nullptr);
    } else {
        __kernel_timespec ts{timeout_us / 1000000, (timeout_us % 1000000) * 1000};
        io_uring_cqe* cqe = nullptr;
        rc = io_uring_submit_and_wait_timeout(&_ring, &cqe, 1, &ts, nullptr);
    }
    (void)rc;  // -ETIME / -EINTR just mean nothing completed
    int handled = 0;
    for (;;) {
        io_uring_cqe* cqes[256];
        unsigned n = io_uring_peek_batch_cqe(&_ring, cqes, 256);
        if (n == 0) break;
        for (unsigned i = 0; i < n; i++) handle(cqes[i]);
        io_uring_cq_advance(&_ring, n);
        handled += int(n);
    }
    // on_closed may destroy handlers; run it outside any completion handling.
    while (!_closed_ready.empty()) {
        auto ready = std::move(_closed_ready);
        _closed_ready.clear();
        for (uint32_t slot : ready) {
            stream& s = _streams[slot];
            StreamHandler* h = s.handler;
            uint32_t gen = s.gen;  // kept: stale completions must still miss
            s = stream{};
            s.gen = gen;
            _free_streams.push_back(slot);
            h->on_closed();
            handled++;
        }
    }
    return handled;
}

void UringReactor::handle(io_uring_cqe* cqe) {
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    uint32_t slot = slot_of(ud);
    switch (op_of(ud)) {
    case op_wake: {
        arm_wake();
        return;
    }
    case op_recv: on_recv(slot, cqe); return;
    case op_connect: {
        if (slot >= _connects.size() || !_connects[slot]->live || _connects[slot]->gen != gen_of(ud)) return;
        connect_op& c = *_connects[slot];
        c.live = false;
        c.handler->on_connected(cqe->res < 0 ? -cqe->res : 0);
        return;
    }
    case op_sync: {
        auto done = std::move(_syncs[slot]);
        _syncs[slot] = nullptr;
        _free_syncs.push_back(slot);
        done(cqe->res);
        return;
    }
    case op_recvmsg: on_recvmsg(slot, gen_of(ud), cqe->res); return;
    case op_send: {
        if (slot < _streams.size() && _streams[slot].live && _streams[slot].gen == gen_of(ud)) on_send(slot, cqe->res);
        return;
    }
    case op_accept: {
        if (slot >= _listeners.size() || !_listeners[slot].live || _listeners[slot].gen != gen_of(ud)) {
            if (cqe->res >= 0) ::close(cqe->res);
            return;
        }
        listener& l = _listeners[slot];
        if (!(cqe->flags & IORING_CQE_F_MORE)) l.armed = false;
        if (cqe->res >= 0) {
            l.handler->on_accept(cqe->res);
        } else if (cqe->res == -EMFILE || cqe->res == -ENFILE || cqe->res == -ENOBUFS || cqe->res == -ENOMEM) {
            log_warn("accept: %s; retrying in 100 ms", strerror(-cqe->res));
            auto* e = sqe();
            io_uring_prep_timeout(e, &_accept_backoff, 0, 0);
            io_uring_sqe_set_data64(e, pack(op_accept_retry, l.gen, slot));
            return;
        } else if (cqe->res != -ECANCELED && cqe->res != -EINTR && cqe->res != -ECONNABORTED) {
            l.handler->on_accept_error(-cqe->res);
            return;
        }
        if (!l.armed && l.live) arm_accept(slot);
        return;
    }
    case op_accept_retry: {
        if (slot < _listeners.size() && _listeners[slot].live && _listeners[slot].gen == gen_of(ud) && !_listeners[slot].armed)
            arm_accept(slot);
        return;
    }
    case op_close_grace: {
        // Queued sends did not finish in time: cut them off.
        if (slot < _streams.size() && _streams[slot].live && _streams[slot].gen == gen_of(ud)) {
            stream& s = _streams[slot];
            s.grace_armed = false;
            if (s.send_armed) {
                auto* e = sqe();
                io_uring_prep_cancel64(e, pack(op_send, s.gen, slot), 0);
                io_uring_sqe_set_data64(e, pack(op_cancel, 0, 0));
            }
        }
        return;
    }
    default: return;
    }
}

void UringReactor::on_recv(uint32_t slot, io_uring_cqe* cqe) {
    uint64_t ud = io_uring_cqe_get_data64(cqe);
    bool have_buf = cqe->flags & IORING_CQE_F_BUFFER;
    uint16_t bid = have_buf ? uint16_t(cqe->flags >> IORING_CQE_BUFFER_SHIFT) : 0;
    bool current = slot < _streams.size() && _streams[slot].live && _streams[slot].gen == gen_of(ud);
    if (!current) {
        if (have_buf) return_buffer(bid);
        return;
    }
    stream& s = _streams[slot];
    s.recv_armed = false;
    int res = cqe->res;
    if (res > 0) {
        if (!s.closing) s.handler->on_data(std::string_view(_bufs + size_t(bid) * buf_size, size_t(res)));
        return_buffer(bid);
        // The handler may have paused, closed, or (through on_data) anything.
        stream& s2 = _streams[slot];
        if (s2.live && !s2.paused && !s2.closing && !s2.eof && !s2.recv_armed) arm_recv(slot);
    } else if (res == -ENOBUFS) {
        // Every buffer is lent out for now; try again (they come back this batch).
        if (have_buf) return_buffer(bid);
        if (!s.paused && !s.closing) arm_recv(slot);
    } else if (res == -ECANCELED || res == -EINTR) {
        if (have_buf) return_buffer(bid);
        if (!s.paused && !s.closing && !s.eof) arm_recv(slot);
    } else {
        if (have_buf) return_buffer(bid);
        s.eof = true;
        if (!s.closing) s.handler->on_eof(res == 0 ? 0 : -res);
    }
    maybe_finish_close(slot);
}

void UringReactor::on_send(uint32_t slot, int res) {
    stream& s = _streams[slot];
    s.send_armed = false;
    if (s.sends.empty()) return;
    pending_send& p = s.sends.front();
    if (res > 0) {
        p.done += size_t(res);
        if (p.done < p.len) {
            if (!s.closing || s.grace_armed) arm_send(slot);
            else maybe_finish_close(slot);
            return;
        }
        size_t len = p.len;
        s.sends.pop_front();
        s.handler->on_sent(ssize_t(len));
    } else {
        // The stream is broken (EPIPE, ECONNRESET, cancelled): fail every queued send.
        while (!_streams[slot].sends.empty()) {
            _streams[slot].sends.pop_front();
            _streams[slot].handler->on_sent(res == 0 ? -EPIPE : res);
        }
    }
    stream& s2 = _streams[slot];
    if (!s2.live) return;
    if (!s2.sends.empty() && !s2.send_armed && (!s2.closing || s2.grace_armed)) arm_send(slot);
    maybe_finish_close(slot);
}

void UringReactor::maybe_finish_close(uint32_t slot) {
    stream& s = _streams[slot];
    if (!s.live || !s.closing) return;
    if (s.recv_armed) return;
    if (s.send_armed) return;
    if (!s.sends.empty() && s.grace_armed) {
        arm_send(slot);
        return;
    }
    // Sends that will never be made are reported as failed.
    while (!s.sends.empty()) {
        s.sends.pop_front();
        s.handler->on_sent(-ECANCELED);
    }
    ::close(s.fd);
    s.fd = -1;
    s.live = false;
    _closed_ready.push_back(slot);
}

void UringReactor::arm_recv(uint32_t slot) {
    stream& s = _streams[slot];
    auto* e = sqe();
    io_uring_prep_recv(e, s.fd, nullptr, buf_size, 0);
    e->flags |= IOSQE_BUFFER_SELECT;
    e->buf_group = buf_group;
    io_uring_sqe_set_data64(e, pack(op_recv, s.gen, slot));
    s.recv_armed = true;
}

void UringReactor::arm_send(uint32_t slot) {
    stream& s = _streams[slot];
    pending_send& p = s.sends.front();
    auto* e = sqe();
    io_uring_prep_send(e, s.fd, p.data + p.done, p.len - p.done, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(e, pack(op_send, s.gen, slot));
    s.send_armed = true;
}

void UringReactor::arm_accept(uint32_t slot) {
    listener& l = _listeners[slot];
    auto* e = sqe();
    io_uring_prep_multishot_accept(e, l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(e, pack(op_accept, l.gen, slot));
    l.armed = true;
}

Result<ListenerId> UringReactor::add_listener(int listen_fd, AcceptHandler* handler) {
    uint32_t slot = uint32_t(_listeners.size());
    for (uint32_t i = 0; i < _listeners.size(); i++)
        if (!_listeners[i].live && _listeners[i].fd < 0) slot = i;
    if (slot == _listeners.size()) _listeners.emplace_back();
    listener& l = _listeners[slot];
    l.fd = listen_fd;
    l.handler = handler;
    l.gen = (l.gen + 1) & 0xffffff;
    l.live = true;
    arm_accept(slot);
    return ListenerId(slot);
}

void UringReactor::close_listener(ListenerId id) {
    if (id >= _listeners.size() || !_listeners[id].live) return;
    listener& l = _listeners[id];
    l.live = false;
    // Stale accept completions are recognised by the generation and closed.
    auto* e = sqe();
    io_uring_prep_cancel64(e, pack(op_accept, l.gen, id), 0);
    io_uring_sqe_set_data64(e, pack(op_cancel, 0, 0));
    io_uring_submit(&_ring);
    ::close(l.fd);
    l.fd = -1;
}

UringReactor::stream* UringReactor::live_stream(StreamId id) {
    if (id >= _streams.size() || !_streams[id].live) return nullptr;
    return &_streams[id];
}

Result<StreamId> UringReactor::add_stream(int fd, StreamHandler* handler) {
    uint32_t slot;
    if (!_free_streams.empty()) {
        slot = _free_streams.back();
        _free_streams.pop_back();
    } else {
        slot = uint32_t(_streams.size());
        _streams.emplace_back();
    }
    stream& s = _streams[slot];
    uint32_t gen = (s.gen + 1) & 0xffffff;
    s = stream{};
    s.gen = gen;
    s.fd = fd;
    s.handler = handler;
    s.live = true;
    arm_recv(slot);
    return StreamId(slot);
}

void UringReactor::pause_reading(StreamId id) {
    if (auto* s = live_stream(id)) s->paused = true;  // the recv in flight (if any) still completes
}

void UringReactor::resume_reading(StreamId id) {
    auto* s = live_stream(id);
    if (!s || !s->paused) return;
    s->paused = false;
    if (!s->recv_armed && !s->eof && !s->closing) arm_recv(id);
}

void UringReactor::send(StreamId id, const char* data, size_t len) {
    auto* s = live_stream(id);
    SLUICE_ASSERT(s != nullptr && !s->closing, "send on a closed stream");
    s->sends.push_back({data, len, 0});
    if (!s->send_armed) arm_send(id);
}

void UringReactor::close_stream(StreamId id) {
    auto* s = live_stream(id);
    if (!s || s->closing) return;
    s->closing = true;
    if (s->recv_armed) {
        auto* e = sqe();
        io_uring_prep_cancel64(e, pack(op_recv, s->gen, id), 0);
        io_uring_sqe_set_data64(e, pack(op_cancel, 0, 0));
    }
    if (!s->sends.empty()) {
        s->grace_armed = true;
        auto* e = sqe();
        io_uring_prep_timeout(e, &_grace, 0, 0);
        io_uring_sqe_set_data64(e, pack(op_close_grace, s->gen, id));
    }
    maybe_finish_close(id);
}

Result<ConnectId> UringReactor::connect(int fd, const sockaddr* addr, socklen_t addr_len, ConnectHandler* handler) {
    if (addr_len > sizeof(sockaddr_storage)) return Status(errc::invalid_argument, "connect: address too long");
    uint32_t slot = uint32_t(_connects.size());
    for (uint32_t i = 0; i < _connects.size(); i++)
        if (!_connects[i]->live) {
            slot = i;
            break;
        }
    if (slot == _connects.size()) _connects.push_back(std::make_unique<connect_op>());
    connect_op& c = *_connects[slot];
    std::memcpy(&c.addr, addr, addr_len);
    c.addr_len = addr_len;
    c.handler = handler;
    c.gen = (c.gen + 1) & 0xffffff;
    c.live = true;
    auto* e = sqe();
    io_uring_prep_connect(e, fd, reinterpret_cast<const sockaddr*>(&c.addr), c.addr_len);
    io_uring_sqe_set_data64(e, pack(op_connect, c.gen, slot));
    return ConnectId(slot);
}

void UringReactor::cancel_connect(ConnectId id) {
    if (id >= _connects.size() || !_connects[id]->live) return;
    auto* e = sqe();
    io_uring_prep_cancel64(e, pack(op_connect, _connects[id]->gen, id), 0);
    io_uring_sqe_set_data64(e, pack(op_cancel, 0, 0));
}

Result<DatagramId> UringReactor::add_datagram(int fd, DatagramHandler* handler) {
    uint32_t slot = uint32_t(_datagrams.size());
    for (uint32_t i = 0; i < _datagrams.size(); i++)
        if (!_datagrams[i]->live && !_datagrams[i]->armed) slot = i;
    if (slot == _datagrams.size()) _datagrams.push_back(std::make_unique<datagram>());
    datagram& d = *_datagrams[slot];
    d.fd = fd;
    d.handler = handler;
    d.gen = (d.gen + 1) & 0xffffff;
    d.live = true;
    arm_recvmsg(slot);
    return DatagramId(slot);
}

void UringReactor::arm_recvmsg(uint32_t slot) {
    datagram& d = *_datagrams[slot];
    d.iov = {d.buf.data(), d.buf.size()};
    d.msg = msghdr{};
    d.msg.msg_name = &d.from;
    d.msg.msg_namelen = sizeof(d.from);
    d.msg.msg_iov = &d.iov;
    d.msg.msg_iovlen = 1;
    auto* e = sqe();
    io_uring_prep_recvmsg(e, d.fd, &d.msg, 0);
    io_uring_sqe_set_data64(e, pack(op_recvmsg, d.gen, slot));
    d.armed = true;
}

void UringReactor::on_recvmsg(uint32_t slot, uint32_t gen, int res) {
    if (slot >= _datagrams.size()) return;
    datagram& d = *_datagrams[slot];
    if (d.gen != gen) return;
    d.armed = false;
    if (!d.live) return;
    if (res >= 0) {
        bool truncated = d.msg.msg_flags & MSG_TRUNC;
        d.handler->on_datagram(std::string_view(d.buf.data(), size_t(res)), truncated,
                               reinterpret_cast<const sockaddr*>(&d.from), d.msg.msg_namelen);
    } else if (res != -EINTR && res != -EAGAIN && res != -ECANCELED && res != -ENOBUFS && res != -ENOMEM &&
               res != -ECONNREFUSED) {
        d.live = false;
        d.handler->on_datagram_error(-res);
        return;
    }
    datagram& d2 = *_datagrams[slot];  // the handler may have closed it
    if (d2.live && !d2.armed && d2.gen == gen) arm_recvmsg(slot);
}

void UringReactor::close_datagram(DatagramId id) {
    if (id >= _datagrams.size() || _datagrams[id]->fd < 0) return;
    datagram& d = *_datagrams[id];
    d.live = false;
    if (d.armed) {
        auto* e = sqe();
        io_uring_prep_cancel64(e, pack(op_recvmsg, d.gen, id), 0);
        io_uring_sqe_set_data64(e, pack(op_cancel, 0, 0));
        io_uring_submit(&_ring);
    }
    ::close(d.fd);
    d.fd = -1;
}

}  // namespace

Result<std::unique_ptr<Reactor>> make_uring_reactor() {
    auto r = std::make_unique<UringReactor>();
    Status st = r->init();
    if (!st) return st;
    return std::unique_ptr<Reactor>(std::move(r));
}

// fsync is always punted to io_uring's worker threads: the shard goes on
// while the kernel writes.
void UringReactor::sync_data(int fd, std::function<void(int)> done) {
    uint32_t slot;
    if (!_free_syncs.empty()) {
        slot = _free_syncs.back();
        _free_syncs.pop_back();
        _syncs[slot] = std::move(done);
    } else {
        slot = uint32_t(_syncs.size());
        _syncs.push_back(std::move(done));
    }
    io_uring_sqe* e = sqe();
    io_uring_prep_fsync(e, fd, IORING_FSYNC_DATASYNC);
    io_uring_sqe_set_data64(e, pack(op_sync, 0, slot));
}

Status probe_io_uring() {
    io_uring ring;
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    int rc = io_uring_queue_init_params(8, &ring, &p);
    if (rc < 0) return io_error("io_uring_setup", -rc);
    Status st;
    io_uring_probe* probe = io_uring_get_probe_ring(&ring);
    if (!probe) {
        st = Status(errc::unsupported, "io_uring: cannot probe opcodes");
    } else {
        for (int opcode : {IORING_OP_RECV, IORING_OP_SEND, IORING_OP_ACCEPT, IORING_OP_READ, IORING_OP_TIMEOUT,
                           IORING_OP_ASYNC_CANCEL, IORING_OP_FSYNC, IORING_OP_CONNECT, IORING_OP_RECVMSG}) {
            if (!io_uring_opcode_supported(probe, opcode)) {
                st = Status(errc::unsupported, "io_uring: opcode " + std::to_string(opcode) + " not supported");
                break;
            }
        }
        io_uring_free_probe(probe);
    }
    io_uring_queue_exit(&ring);
    return st;
}

}  // namespace sluice
