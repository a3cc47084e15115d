// SPDX-License-Identifier: Apache-2.0
// The epoll backend: the same contract as the io_uring one (core/reactor.h),
// with readiness instead of completions. Reads go into one per-reactor 64 KiB
// buffer (handlers copy what they keep), writes are tried at once and finished
// on EPOLLOUT. Callbacks that the contract says come later (on_sent,
// on_closed) are queued and run from poll(), never from inside the call that
// caused them, so handlers can call back into the reactor freely.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include "core/assert.h"
#include "core/log.h"
#include "core/runtime.h"
#include "io/reactors.h"

namespace sluice {

namespace {

constexpr size_t read_size = 64 * 1024;
constexpr int reads_per_wakeup = 4;  // fairness between connections
constexpr int64_t close_grace_us = 2000000;

class EpollReactor final : public Reactor {
public:
    ~EpollReactor() override;
    Status init();
    std::string_view name() const override { return "epoll"; }
    int poll(int64_t timeout_us) override;
    void wake() override;
    Result<ListenerId> add_listener(int listen_fd, AcceptHandler* handler) override;
    void close_listener(ListenerId id) override;
    Result<StreamId> add_stream(int fd, StreamHandler* handler) override;
    void pause_reading(StreamId id) override;
    void resume_reading(StreamId id) override;
    void send(StreamId id, const char* data, size_t len) override;
    void close_stream(StreamId id) override;
    // fdatasync here and now (epoll has nothing better); done runs at the next poll.
    void sync_data(int fd, std::function<void(int)> done) override {
        int res = ::fdatasync(fd) == 0 ? 0 : -errno;
        _synced.emplace_back(res, std::move(done));
    }
    Result<ConnectId> connect(int fd, const sockaddr* addr, socklen_t addr_len, ConnectHandler* handler) override;
    void cancel_connect(ConnectId id) override;
    Result<DatagramId> add_datagram(int fd, DatagramHandler* handler) override;
    void close_datagram(DatagramId id) override;

private:
    struct connect_op {
        int fd = -1;
        ConnectHandler* handler = nullptr;
        bool live = false;        // not answered yet
        bool registered = false;  // waiting for EPOLLOUT
    };
    void finish_connect(uint32_t slot, int err);
    std::vector<connect_op> _connects;
    std::vector<std::pair<uint32_t, int>> _connected_ready;  // on_connected due
    struct pending_send {
        const char* data;
        size_t len;
        size_t done;
    };
    struct stream {
        int fd = -1;
        StreamHandler* handler = nullptr;
        bool live = false, paused = false, eof = false, closing = false;
        bool registered = false;  // in the epoll set (left out when nothing is wanted: HUP would spin)
        int64_t close_deadline_us = 0;
        std::deque<pending_send> sends;
    };
    struct listener {
        int fd = -1;
        AcceptHandler* handler = nullptr;
        bool live = false;
        int64_t retry_at_us = 0;
    };
    struct datagram {
        int fd = -1;
        DatagramHandler* handler = nullptr;
        bool live = false;
    };
    enum kind : uint32_t { k_wake = 0, k_listener = 1, k_stream = 2, k_connect = 3, k_datagram = 4 };
    static uint64_t tag(kind k, uint32_t slot) { return uint64_t(k) << 32 | slot; }

    void update_interest(uint32_t slot);
    void do_read(uint32_t slot);
    void do_write(uint32_t slot);
    void do_accept(uint32_t slot);
    void do_recvmsg(uint32_t slot);
    void finish_close(uint32_t slot);
    stream* live_stream(StreamId id);

    int _epfd = -1, _wake_fd = -1;
    std::vector<char> _buf = std::vector<char>(read_size);
    std::vector<stream> _streams;
    std::vector<uint32_t> _free;
    std::vector<listener> _listeners;
    std::vector<datagram> _datagrams;
    struct sent_note {
        uint32_t slot;
        ssize_t result;
    };
    std::vector<sent_note> _sent;          // on_sent due
    std::vector<uint32_t> _closed_ready;   // on_closed due
    std::vector<std::pair<int, std::function<void(int)>>> _synced;  // sync_data results, done due
    std::vector<uint32_t> _closing;        // streams waiting for their sends to drain
};

EpollReactor::~EpollReactor() {
    for (auto& s : _streams)
        if (s.fd >= 0) ::close(s.fd);
    for (auto& l : _listeners)
        if (l.fd >= 0) ::close(l.fd);
    for (auto& d : _datagrams)
        if (d.fd >= 0) ::close(d.fd);
    if (_epfd >= 0) ::close(_epfd);
    if (_wake_fd >= 0) ::close(_wake_fd);
}

Status EpollReactor::init() {
    _epfd = epoll_create1(EPOLL_CLOEXEC);
    if (_epfd < 0) return io_error("epoll_create1", errno);
    _wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (_wake_fd < 0) return io_error("eventfd", errno);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag(k_wake, 0);
    if (epoll_ctl(_epfd, EPOLL_CTL_ADD, _wake_fd, &ev) < 0) return io_error("epoll_ctl", errno);
    return Status::ok();
}

void EpollReactor::wake() {
    uint64_t one = 1;
    ssize_t w = ::write(_wake_fd, &one, sizeof(one));
    (void)w;
}

int EpollReactor::poll(int64_t timeout_us) {
    int handled = 0;
    int64_t now = monotonic_us();
    // Deadlines of our own: accept retries and close grace periods.
    int64_t next_deadline = -1;
    for (auto& l : _listeners)
        if (l.live && l.retry_at_us) next_deadline = next_deadline < 0 ? l.retry_at_us : std::min(next_deadline, l.retry_at_us);
    for (uint32_t slot : _closing) {
        auto& s = _streams[slot];
        if (s.live && s.closing)
            next_deadline = next_deadline < 0 ? s.close_deadline_us : std::min(next_deadline, s.close_deadline_us);
    }
    while (!_synced.empty()) {
        auto synced = std::move(_synced);
        _synced.clear();
        for (auto& [res, done] : synced) done(res);
        handled += int(synced.size());
    }
    if (!_sent.empty() || !_closed_ready.empty() || !_connected_ready.empty() || handled > 0) timeout_us = 0;
    if (next_deadline >= 0) {
        int64_t until = std::max<int64_t>(0, next_deadline - now);
        timeout_us = timeout_us < 0 ? until : std::min(timeout_us, until);
    }
    int timeout_ms = timeout_us < 0 ? -1 : int((timeout_us + 999) / 1000);
    epoll_event evs[256];
    int n = epoll_wait(_epfd, evs, 256, timeout_ms);
    for (int i = 0; i < n; i++) {
        uint64_t t = evs[i].data.u64;
        uint32_t slot = uint32_t(t);
        switch (kind(t >> 32)) {
        case k_wake: {
            uint64_t v;
            ssize_t r = ::read(_wake_fd, &v, sizeof(v));
            (void)r;
            break;
        }
        case k_listener:
            if (slot < _listeners.size() && _listeners[slot].live) do_accept(slot);
            break;
        case k_connect:
            if (slot < _connects.size() && _connects[slot].live && _connects[slot].registered) {
                int err = 0;
                socklen_t len = sizeof(err);
                if (getsockopt(_connects[slot].fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
                finish_connect(slot, err);
            }
            break;
        case k_datagram:
            if (slot < _datagrams.size() && _datagrams[slot].live) do_recvmsg(slot);
            break;
        case k_stream:
            if (slot >= _streams.size() || !_streams[slot].live) break;
            if (evs[i].events & EPOLLOUT) do_write(slot);
            if (slot < _streams.size() && _streams[slot].live && (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                do_read(slot);
            break;
        }
        handled++;
    }
    now = monotonic_us();
    for (uint32_t i = 0; i < _listeners.size(); i++) {
        auto& l = _listeners[i];
        if (l.live && l.retry_at_us && l.retry_at_us <= now) {
            l.retry_at_us = 0;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = tag(k_listener, i);
            epoll_ctl(_epfd, EPOLL_CTL_ADD, l.fd, &ev);
        }
    }
    auto closing = _closing;
    for (uint32_t slot : closing) {
        auto& s = _streams[slot];
        if (s.live && s.closing && s.close_deadline_us <= now) {
            // The peer is not reading: cut the queued sends off.
            while (!s.sends.empty()) {
                s.sends.pop_front();
                _sent.push_back({slot, -ECANCELED});
            }
            finish_close(slot);
        }
    }
    while (!_connected_ready.empty()) {
        auto ready = std::move(_connected_ready);
        _connected_ready.clear();
        for (auto [slot, err] : ready) {
            ConnectHandler* h = _connects[slot].handler;
            _connects[slot] = connect_op{};
            h->on_connected(err);
            handled++;
        }
    }
    while (!_sent.empty() || !_closed_ready.empty()) {
        auto sent = std::move(_sent);
        _sent.clear();
        for (auto& note : sent) {
            // A stream closed since keeps its handler until on_closed, which comes after.
            _streams[note.slot].handler->on_sent(note.result);
            handled++;
        }
        auto ready = std::move(_closed_ready);
        _closed_ready.clear();
        for (uint32_t slot : ready) {
            if (!_sent.empty()) {  // on_sent notes queued by the handlers above come first
                _closed_ready.push_back(slot);
                continue;
            }
            StreamHandler* h = _streams[slot].handler;
            _streams[slot] = stream{};
            _free.push_back(slot);
            h->on_closed();
            handled++;
        }
    }
    return handled;
}

void EpollReactor::do_accept(uint32_t slot) {
    for (int i = 0; i < 64; i++) {
        listener& l = _listeners[slot];
        if (!l.live) return;
        int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            l.handler->on_accept(fd);
            continue;
        }
        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            log_warn("accept: %s; retrying in 100 ms", strerror(errno));
            epoll_ctl(_epfd, EPOLL_CTL_DEL, l.fd, nullptr);
            l.retry_at_us = monotonic_us() + 100000;
            return;
        }
        l.handler->on_accept_error(errno);
        return;
    }
}

void EpollReactor::update_interest(uint32_t slot) {
    stream& s = _streams[slot];
    epoll_event ev{};
    ev.events = 0;
    if (!s.paused && !s.eof && !s.closing) ev.events |= EPOLLIN | EPOLLRDHUP;
    if (!s.sends.empty()) ev.events |= EPOLLOUT;
    ev.data.u64 = tag(k_stream, slot);
    if (ev.events == 0) {
        if (s.registered) epoll_ctl(_epfd, EPOLL_CTL_DEL, s.fd, nullptr);
        s.registered = false;
        return;
    }
    epoll_ctl(_epfd, s.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s.fd, &ev);
    s.registered = true;
}

void EpollReactor::do_read(uint32_t slot) {
    for (int i = 0; i < reads_per_wakeup; i++) {
        stream& s = _streams[slot];
        if (!s.live || s.paused || s.eof || s.closing) return;
        ssize_t r = ::recv(s.fd, _buf.data(), _buf.size(), 0);
        if (r > 0) {
            s.handler->on_data(std::string_view(_buf.data(), size_t(r)));
            if (size_t(r) < _buf.size()) return;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        s.eof = true;
        int err = r == 0 ? 0 : errno;
        update_interest(slot);
        s.handler->on_eof(err);
        return;
    }
}

void EpollReactor::do_write(uint32_t slot) {
    stream& s = _streams[slot];
    while (!s.sends.empty()) {
        pending_send& p = s.sends.front();
        ssize_t w = ::send(s.fd, p.data + p.done, p.len - p.done, MSG_NOSIGNAL);
        if (w > 0) {
            p.done += size_t(w);
            if (p.done == p.len) {
                _sent.push_back({slot, ssize_t(p.len)});
                s.sends.pop_front();
            }
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) break;
        int err = w < 0 ? errno : EPIPE;
        while (!s.sends.empty()) {
            s.sends.pop_front();
            _sent.push_back({slot, -ssize_t(err)});
        }
    }
    update_interest(slot);
    if (s.closing && s.sends.empty()) finish_close(slot);
}

Result<ListenerId> EpollReactor::add_listener(int listen_fd, AcceptHandler* handler) {
    uint32_t slot = uint32_t(_listeners.size());
    _listeners.push_back({listen_fd, handler, true, 0});
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag(k_listener, slot);
    if (epoll_ctl(_epfd, EPOLL_CTL_ADD, listen_fd, &ev) < 0) return io_error("epoll_ctl", errno);
    return ListenerId(slot);
}

void EpollReactor::close_listener(ListenerId id) {
    if (id >= _listeners.size() || !_listeners[id].live) return;
    auto& l = _listeners[id];
    epoll_ctl(_epfd, EPOLL_CTL_DEL, l.fd, nullptr);
    ::close(l.fd);
    l.fd = -1;
    l.live = false;
}

EpollReactor::stream* EpollReactor::live_stream(StreamId id) {
    if (id >= _streams.size() || !_streams[id].live || _streams[id].closing) return nullptr;
    return &_streams[id];
}

Result<StreamId> EpollReactor::add_stream(int fd, StreamHandler* handler) {
    uint32_t slot;
    if (!_free.empty()) {
        slot = _free.back();
        _free.pop_back();
    } else {
        slot = uint32_t(_streams.size());
        _streams.emplace_back();
    }
    stream& s = _streams[slot];
    s = stream{};
    s.fd = fd;
    s.handler = handler;
    s.live = true;
    s.registered = true;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = tag(k_stream, slot);
    if (epoll_ctl(_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int err = errno;
        s = stream{};
        _free.push_back(slot);
        return io_error("epoll_ctl", err);
    }
    return StreamId(slot);
}

void EpollReactor::pause_reading(StreamId id) {
    auto* s = live_stream(id);
    if (!s || s->paused) return;
    s->paused = true;
    update_interest(id);
}

void EpollReactor::resume_reading(StreamId id) {
    auto* s = live_stream(id);
    if (!s || !s->paused) return;
    s->paused = false;
    update_interest(id);
}

void EpollReactor::send(StreamId id, const char* data, size_t len) {
    auto* s = live_stream(id);
    SLUICE_ASSERT(s != nullptr, "send on a closed stream");
    bool was_empty = s->sends.empty();
    s->sends.push_back({data, len, 0});
    if (was_empty) do_write(id);
}

void EpollReactor::close_stream(StreamId id) {
    auto* s = live_stream(id);
    if (!s) return;
    s->closing = true;
    if (s->sends.empty()) {
        finish_close(id);
        return;
    }
    s->close_deadline_us = monotonic_us() + close_grace_us;
    _closing.push_back(id);
    update_interest(id);
}

void EpollReactor::finish_close(uint32_t slot) {
    stream& s = _streams[slot];
    if (s.fd < 0) return;
    if (s.registered) epoll_ctl(_epfd, EPOLL_CTL_DEL, s.fd, nullptr);
    s.registered = false;
    ::close(s.fd);
    s.fd = -1;
    std::erase(_closing, slot);
    _closed_ready.push_back(slot);
}

Result<ConnectId> EpollReactor::connect(int fd, const sockaddr* addr, socklen_t addr_len, ConnectHandler* handler) {
    uint32_t slot = uint32_t(_connects.size());
    for (uint32_t i = 0; i < _connects.size(); i++)
        if (!_connects[i].live && _connects[i].handler == nullptr) {
            slot = i;
            break;
        }
    if (slot == _connects.size()) _connects.emplace_back();
    connect_op& c = _connects[slot];
    c.fd = fd;
    c.handler = handler;
    c.live = true;
    int rc = ::connect(fd, addr, addr_len);
    if (rc == 0 || errno != EINPROGRESS) {
        finish_connect(slot, rc == 0 ? 0 : errno);  // answered from poll(), as the contract says
        return ConnectId(slot);
    }
    epoll_event ev{};
    ev.events = EPOLLOUT;
    ev.data.u64 = tag(k_connect, slot);
    if (epoll_ctl(_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        finish_connect(slot, errno);
        return ConnectId(slot);
    }
    c.registered = true;
    return ConnectId(slot);
}

void EpollReactor::cancel_connect(ConnectId id) {
    if (id >= _connects.size() || !_connects[id].live) return;
    finish_connect(id, ECANCELED);
}

void EpollReactor::finish_connect(uint32_t slot, int err) {
    connect_op& c = _connects[slot];
    if (c.registered) epoll_ctl(_epfd, EPOLL_CTL_DEL, c.fd, nullptr);
    c.registered = false;
    c.live = false;  // the slot is reused only after on_connected (handler cleared then)
    _connected_ready.push_back({slot, err});
}

Result<DatagramId> EpollReactor::add_datagram(int fd, DatagramHandler* handler) {
    uint32_t slot = uint32_t(_datagrams.size());
    for (uint32_t i = 0; i < _datagrams.size(); i++)
        if (!_datagrams[i].live && _datagrams[i].fd < 0) slot = i;
    if (slot == _datagrams.size()) _datagrams.emplace_back();
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag(k_datagram, slot);
    if (epoll_ctl(_epfd, EPOLL_CTL_ADD, fd, &ev) < 0) return io_error("epoll_ctl", errno);
    _datagrams[slot] = {fd, handler, true};
    return DatagramId(slot);
}

void EpollReactor::do_recvmsg(uint32_t slot) {
    // A bounded number per wake-up: fairness with the other sockets.
    for (int i = 0; i < 64; i++) {
        datagram& d = _datagrams[slot];
        if (!d.live) return;
        sockaddr_storage from{};
        iovec iov{_buf.data(), std::min(_buf.size(), max_datagram_bytes)};
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof(from);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        ssize_t r = ::recvmsg(d.fd, &msg, MSG_DONTWAIT);
        if (r >= 0) {
            d.handler->on_datagram(std::string_view(_buf.data(), size_t(r)), msg.msg_flags & MSG_TRUNC,
                                   reinterpret_cast<const sockaddr*>(&from), msg.msg_namelen);
            continue;
        }
        if (errno == EAGAIN || errno == EINTR || errno == ENOBUFS || errno == ENOMEM || errno == ECONNREFUSED) return;
        int err = errno;
        epoll_ctl(_epfd, EPOLL_CTL_DEL, d.fd, nullptr);
        d.live = false;
        d.handler->on_datagram_error(err);
        return;
    }
}

void EpollReactor::close_datagram(DatagramId id) {
    if (id >= _datagrams.size() || _datagrams[id].fd < 0) return;
    datagram& d = _datagrams[id];
    if (d.live) epoll_ctl(_epfd, EPOLL_CTL_DEL, d.fd, nullptr);
    ::close(d.fd);
    d = datagram{};
}

}  // namespace

Result<std::unique_ptr<Reactor>> make_epoll_reactor() {
    auto r = std::make_unique<EpollReactor>();
    Status st = r->init();
    if (!st) return st;
    return std::unique_ptr<Reactor>(std::move(r));
}

Result<ReactorFactory> select_reactor(std::string_view kind, std::string* chosen) {
    if (kind == "epoll") {
        *chosen = "epoll";
        return ReactorFactory([](unsigned) { return make_epoll_reactor(); });
    }
    if (kind != "auto" && kind != "io_uring")
        return Status(errc::invalid_argument, "sluice.io: expected auto, io_uring or epoll, got '" + std::string(kind) + "'");
    Status probe = probe_io_uring();
    if (!probe) {
        if (kind == "io_uring") return probe;
        log_warn("io_uring is not available (%s); using epoll", probe.message().c_str());
        *chosen = "epoll";
        return ReactorFactory([](unsigned) { return make_epoll_reactor(); });
    }
    *chosen = "io_uring";
    return ReactorFactory([](unsigned) { return make_uring_reactor(); });
}

}  // namespace sluice
