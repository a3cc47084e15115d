// SPDX-License-Identifier: Apache-2.0
// The Reactor contract (core/reactor.h) for both backends, driven by calling
// poll() on the test thread over real loopback connections; and the runtime
// tests of tests/core/runtime_test.cc re-run over the real backends.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/reactor.h"
#include "io/reactors.h"

// The runtime tests, parameterised over the backends defined below.
#define SLUICE_RUNTIME_TEST_EXTERNAL_BACKENDS
#include "tests/core/runtime_test.cc"

namespace sluice {
namespace runtime_test {

const std::vector<RuntimeBackend>& runtime_test_backends() {
    static const std::vector<RuntimeBackend> v = {
        {"epoll", nullptr, [](unsigned) { return make_epoll_reactor(); }},
        {"io_uring", [] { return probe_io_uring(); }, [](unsigned) { return make_uring_reactor(); }},
    };
    return v;
}

}  // namespace runtime_test

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// ------------------------------------------------------------ sockets

struct listen_socket {
    int fd = -1;
    uint16_t port = 0;
};

listen_socket make_listener() {
    listen_socket l;
    l.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    EXPECT_GE(l.fd, 0);
    int one = 1;
    setsockopt(l.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(l.fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    EXPECT_EQ(::listen(l.fd, 64), 0);
    socklen_t len = sizeof(a);
    getsockname(l.fd, reinterpret_cast<sockaddr*>(&a), &len);
    l.port = ntohs(a.sin_port);
    return l;
}

// A blocking client socket; rcvbuf > 0 shrinks its receive buffer (before connect).
int connect_client(uint16_t port, int rcvbuf = 0) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0) << strerror(errno);
    return fd;
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// Deterministic, position-dependent bytes, so that any loss, duplication or
// reordering shows up in a comparison.
std::string pattern(size_t n, uint32_t seed) {
    std::string s(n, '\0');
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        s[i] = char(x >> 24);
    }
    return s;
}

// Reads until EOF (or error); returns what was read.
std::string read_to_eof(int fd, std::chrono::milliseconds pause_between_reads = 0ms) {
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
        if (r > 0) {
            out.append(buf, size_t(r));
            if (pause_between_reads.count() > 0) std::this_thread::sleep_for(pause_between_reads);
            continue;
        }
        if (r < 0 && errno == EINTR) continue;
        return out;
    }
}

// ------------------------------------------------------------ handlers

struct accept_recorder final : AcceptHandler {
    std::vector<int> fds;
    std::vector<int> errors;
    void on_accept(int fd) override { fds.push_back(fd); }
    void on_accept_error(int err) override { errors.push_back(err); }
};

struct stream_recorder final : StreamHandler {
    std::string data;
    int eofs = 0, eof_err = -1;
    std::vector<ssize_t> sent;
    int closed = 0;
    bool after_closed = false;  // any call after on_closed
    bool data_after_eof = false;
    std::function<void()> closed_hook;

    void on_data(std::string_view d) override {
        after_closed |= closed > 0;
        data_after_eof |= eofs > 0;
        data.append(d);
    }
    void on_eof(int err) override {
        after_closed |= closed > 0;
        eofs++;
        eof_err = err;
    }
    void on_sent(ssize_t result) override {
        after_closed |= closed > 0;
        sent.push_back(result);
    }
    void on_closed() override {
        after_closed |= closed > 0;
        closed++;
        if (closed_hook) closed_hook();
    }
};

// ------------------------------------------------------------ fixture

class ReactorTest : public testing::TestWithParam<std::string> {
protected:
    void SetUp() override {
        if (GetParam() == "io_uring") {
            Status st = probe_io_uring();
            if (!st) GTEST_SKIP() << "io_uring unavailable: " << st.to_string();
        }
        auto r = GetParam() == "io_uring" ? make_uring_reactor() : make_epoll_reactor();
        ASSERT_TRUE(r.is_ok()) << r.status().to_string();
        _reactor = std::move(r.value());
        Status st = _reactor->attach_thread();
        ASSERT_TRUE(st.is_ok()) << st.to_string();
        _listener = make_listener();
    }
    void TearDown() override {
        for (int fd : _client_fds) ::close(fd);
        _reactor.reset();
    }

    Reactor& reactor() { return *_reactor; }

    // Polls the reactor until pred() holds; false after `timeout`.
    template <typename Pred>
    bool pump_until(Pred pred, std::chrono::milliseconds timeout = 10s) {
        auto deadline = clock_type::now() + timeout;
        while (!pred()) {
            if (clock_type::now() > deadline) return false;
            _reactor->poll(10000);
        }
        return true;
    }
    // Polls without waiting for pred: `rounds` short polls.
    void pump_for(int rounds) {
        for (int i = 0; i < rounds; i++) _reactor->poll(5000);
    }

    // Connects a client and returns (client fd, stream id), with the server
    // side accepted through the reactor's listener and added as a stream.
    struct conn {
        int client = -1;
        int server = -1;
        StreamId id = 0;
    };
    conn connect_stream(StreamHandler* h, int client_rcvbuf = 0, int server_rcvbuf = 0, int server_sndbuf = 0) {
        conn c;
        if (!_listening) {
            auto l = _reactor->add_listener(_listener.fd, &_acceptor);
            EXPECT_TRUE(l.is_ok());
            _listening = true;
        }
        size_t before = _acceptor.fds.size();
        c.client = connect_client(_listener.port, client_rcvbuf);
        _client_fds.push_back(c.client);
        EXPECT_TRUE(pump_until([&] { return _acceptor.fds.size() > before; })) << "no accept";
        if (_acceptor.fds.size() <= before) return c;
        c.server = _acceptor.fds.back();
        if (server_rcvbuf > 0) setsockopt(c.server, SOL_SOCKET, SO_RCVBUF, &server_rcvbuf, sizeof(server_rcvbuf));
        if (server_sndbuf > 0) setsockopt(c.server, SOL_SOCKET, SO_SNDBUF, &server_sndbuf, sizeof(server_sndbuf));
        auto id = _reactor->add_stream(c.server, h);
        EXPECT_TRUE(id.is_ok()) << id.status().to_string();
        if (id) c.id = id.value();
        return c;
    }
    // Closes a client fd that the test closed itself (so TearDown does not).
    void forget_client(int fd) { std::erase(_client_fds, fd); }

    std::unique_ptr<Reactor> _reactor;
    listen_socket _listener;
    accept_recorder _acceptor;
    bool _listening = false;
    std::vector<int> _client_fds;
};

TEST_P(ReactorTest, Name) { EXPECT_EQ(reactor().name(), GetParam()); }

TEST_P(ReactorTest, ListenerAcceptsLoopbackConnections) {
    auto l = reactor().add_listener(_listener.fd, &_acceptor);
    ASSERT_TRUE(l.is_ok());
    _listening = true;
    int c1 = connect_client(_listener.port);
    int c2 = connect_client(_listener.port);
    _client_fds = {c1, c2};
    ASSERT_TRUE(pump_until([&] { return _acceptor.fds.size() == 2; }));
    EXPECT_TRUE(_acceptor.errors.empty());
    // Each accepted fd is the peer of one of our clients.
    for (int fd : _acceptor.fds) {
        sockaddr_in peer{};
        socklen_t len = sizeof(peer);
        ASSERT_EQ(getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len), 0);
        bool match = false;
        for (int c : {c1, c2}) {
            sockaddr_in local{};
            socklen_t l2 = sizeof(local);
            getsockname(c, reinterpret_cast<sockaddr*>(&local), &l2);
            match |= local.sin_port == peer.sin_port;
        }
        EXPECT_TRUE(match);
        EXPECT_TRUE(fcntl(fd, F_GETFL) & O_NONBLOCK) << "accepted sockets are non-blocking";
        ::close(fd);
    }

    // close_listener closes the listening fd: new connections are refused.
    reactor().close_listener(l.value());
    pump_for(3);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(_listener.port);
    EXPECT_NE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ::close(fd);
    pump_for(3);
    EXPECT_EQ(_acceptor.fds.size(), 2u);
    EXPECT_TRUE(_acceptor.errors.empty()) << "closing is not an accept error";
}

TEST_P(ReactorTest, OnDataReceivesExactlyTheBytesSent) {
    stream_recorder h;
    auto c = connect_stream(&h);
    const std::string payload = pattern(1 << 20, 1);
    std::thread client([&] {
        size_t off = 0;
        while (off < payload.size()) {
            ssize_t w = ::send(c.client, payload.data() + off, std::min<size_t>(payload.size() - off, 100000), 0);
            if (w <= 0) break;
            off += size_t(w);
        }
        ::shutdown(c.client, SHUT_WR);
    });
    bool eof = pump_until([&] { return h.eofs > 0; });
    client.join();
    ASSERT_TRUE(eof);
    EXPECT_EQ(h.data.size(), payload.size());
    EXPECT_TRUE(h.data == payload) << "bytes differ";
    EXPECT_EQ(h.eofs, 1);
    EXPECT_EQ(h.eof_err, 0);
    EXPECT_FALSE(h.data_after_eof);
    reactor().close_stream(c.id);
    ASSERT_TRUE(pump_until([&] { return h.closed > 0; }));
    EXPECT_EQ(h.closed, 1);
    EXPECT_FALSE(h.after_closed);
}

TEST_P(ReactorTest, PauseReadingStopsDeliveryAndResumeDeliversTheRest) {
    stream_recorder h;
    auto c = connect_stream(&h, 0, 16384);
    reactor().pause_reading(c.id);
    set_nonblocking(c.client);
    int sndbuf = 16384;
    setsockopt(c.client, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    const std::string payload = pattern(64 << 20, 2);
    size_t sent = 0;
    bool blocked = false;
    auto deadline = clock_type::now() + 20s;
    while (!blocked && sent < payload.size() && clock_type::now() < deadline) {
        ssize_t w = ::send(c.client, payload.data() + sent, std::min<size_t>(payload.size() - sent, 65536),
                           MSG_NOSIGNAL);
        if (w > 0) {
            sent += size_t(w);
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            // Give the kernel (and the reactor) a moment, then see if it is still full.
            pump_for(4);
            w = ::send(c.client, payload.data() + sent, 1, MSG_NOSIGNAL);
            if (w > 0) sent += size_t(w);
            else blocked = true;
        } else {
            FAIL() << "send: " << strerror(errno);
        }
        reactor().poll(0);
    }
    ASSERT_TRUE(blocked) << "the peer's send buffer never filled: reading did not stop (" << sent << " bytes sent)";
    // At most the read that was already in flight when pausing was delivered.
    EXPECT_LE(h.data.size(), size_t(65536));
    size_t delivered = h.data.size();
    pump_for(10);
    EXPECT_EQ(h.data.size(), delivered) << "data delivered while paused";

    reactor().resume_reading(c.id);
    // Send the rest of a bounded amount while the reactor reads.
    const size_t total = sent + (1 << 20);
    deadline = clock_type::now() + 20s;
    while ((sent < total || h.data.size() < total) && clock_type::now() < deadline) {
        if (sent < total) {
            ssize_t w = ::send(c.client, payload.data() + sent, std::min<size_t>(total - sent, 65536), MSG_NOSIGNAL);
            if (w > 0) sent += size_t(w);
        }
        reactor().poll(sent < total ? 0 : 10000);
    }
    ASSERT_EQ(h.data.size(), total);
    EXPECT_TRUE(h.data == payload.substr(0, total)) << "bytes differ";

    // Pause and resume again, then EOF.
    reactor().pause_reading(c.id);
    reactor().resume_reading(c.id);
    ::shutdown(c.client, SHUT_WR);
    ASSERT_TRUE(pump_until([&] { return h.eofs > 0; }));
    EXPECT_EQ(h.eof_err, 0);
    reactor().close_stream(c.id);
    ASSERT_TRUE(pump_until([&] { return h.closed > 0; }));
}

TEST_P(ReactorTest, LargeSendToASlowReaderArrivesCompleteAndInOrder) {
    stream_recorder h;
    auto c = connect_stream(&h, 65536, 0, 65536);
    const std::string a = pattern(1 << 20, 3), b = "0123456789", d = pattern(3 << 20, 4);
    std::string got;
    std::thread client([&] { got = read_to_eof(c.client, 1ms); });

    reactor().send(c.id, a.data(), a.size());
    reactor().send(c.id, b.data(), b.size());
    reactor().send(c.id, d.data(), d.size());
    EXPECT_TRUE(h.sent.empty()) << "on_sent is never called from inside send()";
    bool all_sent = pump_until([&] { return h.sent.size() == 3; }, 60s);
    if (all_sent) {
        EXPECT_EQ(h.sent, (std::vector<ssize_t>{ssize_t(a.size()), ssize_t(b.size()), ssize_t(d.size())}));
    }
    reactor().close_stream(c.id);
    bool closed = pump_until([&] { return h.closed > 0; });
    if (!closed) ::shutdown(c.client, SHUT_RDWR);  // unblocks the client
    client.join();
    ASSERT_TRUE(all_sent);
    ASSERT_TRUE(closed);
    EXPECT_EQ(got.size(), a.size() + b.size() + d.size());
    EXPECT_TRUE(got == a + b + d) << "bytes differ";
    EXPECT_EQ(h.closed, 1);
}

// ------------------------------------------------------------ connect

struct connect_recorder : ConnectHandler {
    int calls = 0;
    int err = -1;
    bool in_call = false;  // set by the test around connect(): the answer must not come from inside
    bool answered_inside = false;
    void on_connected(int e) override {
        answered_inside |= in_call;
        calls++;
        err = e;
    }
};

int nonblocking_socket() { return ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0); }

sockaddr_in loopback(uint16_t port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    return a;
}

TEST_P(ReactorTest, ConnectReachesAListenerAndTheSocketCarriesAStream) {
    auto l = reactor().add_listener(_listener.fd, &_acceptor);
    ASSERT_TRUE(l.is_ok());
    _listening = true;
    int fd = nonblocking_socket();
    connect_recorder cr;
    sockaddr_in a = loopback(_listener.port);
    cr.in_call = true;
    auto id = reactor().connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a), &cr);
    cr.in_call = false;
    ASSERT_TRUE(id.is_ok()) << id.status().to_string();
    ASSERT_TRUE(pump_until([&] { return cr.calls > 0 && !_acceptor.fds.empty(); }));
    EXPECT_FALSE(cr.answered_inside);
    EXPECT_EQ(cr.err, 0);
    // The connected socket works as a stream.
    stream_recorder h;
    auto sid = reactor().add_stream(fd, &h);
    ASSERT_TRUE(sid.is_ok());
    reactor().send(sid.value(), "ping", 4);
    char buf[8] = {};
    ASSERT_TRUE(pump_until([&] { return !h.sent.empty(); }));
    ASSERT_EQ(::recv(_acceptor.fds.back(), buf, sizeof(buf), 0), 4);
    EXPECT_EQ(std::string(buf, 4), "ping");
    reactor().close_stream(sid.value());
    ASSERT_TRUE(pump_until([&] { return h.closed > 0; }));
    pump_for(3);
    EXPECT_EQ(cr.calls, 1) << "on_connected exactly once";
}

TEST_P(ReactorTest, ConnectToAClosedPortFailsWithConnectionRefused) {
    // A port that was just bound and released: nothing listens there.
    listen_socket dead = make_listener();
    ::close(dead.fd);
    int fd = nonblocking_socket();
    connect_recorder cr;
    sockaddr_in a = loopback(dead.port);
    ASSERT_TRUE(reactor().connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a), &cr).is_ok());
    ASSERT_TRUE(pump_until([&] { return cr.calls > 0; }));
    EXPECT_EQ(cr.err, ECONNREFUSED);
    pump_for(3);
    EXPECT_EQ(cr.calls, 1);
    ::close(fd);
}

TEST_P(ReactorTest, CancelConnectEndsAConnectThatHangs) {
    // A listener whose accept queue is full (backlog 0, never accepting)
    // drops further SYNs: a connect to it hangs until cancelled.
    int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = loopback(0);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    ASSERT_EQ(::listen(lfd, 0), 0);
    socklen_t len = sizeof(a);
    getsockname(lfd, reinterpret_cast<sockaddr*>(&a), &len);
    std::vector<int> fillers;
    connect_recorder cr;
    int fd = -1;
    Result<ConnectId> id = Status(errc::io, "not tried");
    for (int i = 0; i < 8; i++) {
        // Fill the queue with connects of our own until one hangs.
        fd = nonblocking_socket();
        id = reactor().connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a), &cr);
        ASSERT_TRUE(id.is_ok());
        pump_for(10);
        if (cr.calls == 0) break;  // this one hangs
        cr = connect_recorder{};
        fillers.push_back(fd);
        fd = -1;
    }
    ASSERT_GE(fd, 0) << "no connect hung";
    ASSERT_EQ(cr.calls, 0);
    reactor().cancel_connect(id.value());
    ASSERT_TRUE(pump_until([&] { return cr.calls > 0; }));
    EXPECT_EQ(cr.err, ECANCELED);
    pump_for(3);
    EXPECT_EQ(cr.calls, 1);
    ::close(fd);
    for (int f : fillers) ::close(f);
    ::close(lfd);
}

TEST_P(ReactorTest, PeerCloseIsEofWithoutError) {
    stream_recorder h;
    auto c = connect_stream(&h);
    ASSERT_EQ(::send(c.client, "bye", 3, 0), 3);
    ::close(c.client);
    forget_client(c.client);
    ASSERT_TRUE(pump_until([&] { return h.eofs > 0; }));
    EXPECT_EQ(h.data, "bye");
    EXPECT_EQ(h.eof_err, 0);
    pump_for(5);
    EXPECT_EQ(h.eofs, 1) << "on_eof once";
    EXPECT_EQ(h.closed, 0) << "EOF does not close the stream";
    reactor().close_stream(c.id);
    reactor().close_stream(c.id);  // twice: harmless
    ASSERT_TRUE(pump_until([&] { return h.closed > 0; }));
    pump_for(5);
    EXPECT_EQ(h.closed, 1);
    EXPECT_FALSE(h.after_closed);
}

TEST_P(ReactorTest, CloseStreamFlushesQueuedSendsThenClosesOnce) {
    auto h = std::make_unique<stream_recorder>();
    auto c = connect_stream(h.get());
    const std::string hello = "hello ", world = "world\n";
    reactor().send(c.id, hello.data(), hello.size());
    reactor().send(c.id, world.data(), world.size());
    reactor().close_stream(c.id);
    EXPECT_EQ(h->closed, 0) << "on_closed is never called from inside close_stream()";
    // The handler may be destroyed in on_closed: the reactor must not touch it after.
    std::vector<ssize_t> sent_at_close;
    int closed = 0;
    h->closed_hook = [&] {
        sent_at_close = h->sent;
        closed = h->closed;
        h.reset();
    };
    ASSERT_TRUE(pump_until([&] { return closed > 0; }));
    pump_for(5);
    EXPECT_EQ(closed, 1);
    EXPECT_EQ(sent_at_close, (std::vector<ssize_t>{ssize_t(hello.size()), ssize_t(world.size())}))
        << "every send reported, before on_closed";
    // The client reads both sends, then EOF.
    EXPECT_EQ(read_to_eof(c.client), "hello world\n");
}

TEST_P(ReactorTest, CloseStreamWithAPeerThatNeverReadsEndsAfterTheGracePeriod) {
    stream_recorder h;
    auto c = connect_stream(&h, 4096, 0, 4096);
    const std::string big = pattern(32 << 20, 5);
    const std::string small = "tail";
    reactor().send(c.id, big.data(), big.size());
    reactor().send(c.id, small.data(), small.size());
    pump_for(10);  // fill the socket buffers
    ASSERT_TRUE(h.sent.empty()) << "32 MB cannot have gone to a peer that does not read";
    auto t0 = clock_type::now();
    reactor().close_stream(c.id);
    ASSERT_TRUE(pump_until([&] { return h.closed > 0; }, 15s)) << "close_stream never finished";
    auto took = clock_type::now() - t0;
    EXPECT_GE(took, 1500ms) << "queued sends get a grace period";
    EXPECT_LT(took, 6s) << "the grace period is about 2 s";
    ASSERT_EQ(h.sent.size(), 2u) << "both sends reported";
    EXPECT_LT(h.sent[0], 0) << "the cut-off send failed";
    EXPECT_LT(h.sent[1], 0) << "the send never started failed";
    EXPECT_EQ(h.closed, 1);
    pump_for(5);
    EXPECT_FALSE(h.after_closed);
}

TEST_P(ReactorTest, PeerResetIsReported) {
    stream_recorder h;
    auto c = connect_stream(&h);
    // Unread data at close, or SO_LINGER 0, makes the kernel send RST.
    linger lg{1, 0};
    setsockopt(c.client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ::close(c.client);
    forget_client(c.client);
    ASSERT_TRUE(pump_until([&] { return h.eofs > 0; }));
    EXPECT_EQ(h.eof_err, ECONNRESET);
    reactor().close_stream(c.id);
    ASSERT_TRUE(pump_until([&] { return h.closed > 0; }));
}

TEST_P(ReactorTest, SendToAClosedPeerFails) {
    stream_recorder h;
    auto c = connect_stream(&h);
    linger lg{1, 0};
    setsockopt(c.client, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    ::close(c.client);
    forget_client(c.client);
    ASSERT_TRUE(pump_until([&] { return h.eofs > 0; }));
    const std::string msg = pattern(1 << 20, 6);
    reactor().send(c.id, msg.data(), msg.size());
    ASSERT_TRUE(pump_until([&] { return !h.sent.empty(); }));
    EXPECT_LT(h.sent[0], 0);
    reactor().close_stream(c.id);
    ASSERT_TRUE(pump_until([&] { return h.closed > 0; }));
    EXPECT_EQ(h.sent.size(), 1u);
}

TEST_P(ReactorTest, ManyStreamsAtOnce) {
    constexpr int n = 20;
    std::vector<std::unique_ptr<stream_recorder>> hs;
    std::vector<conn> cs;
    for (int i = 0; i < n; i++) {
        hs.push_back(std::make_unique<stream_recorder>());
        cs.push_back(connect_stream(hs.back().get()));
    }
    for (int i = 0; i < n; i++) {
        std::string m = "stream " + std::to_string(i);
        ASSERT_EQ(::send(cs[size_t(i)].client, m.data(), m.size(), 0), ssize_t(m.size()));
        ::shutdown(cs[size_t(i)].client, SHUT_WR);
    }
    ASSERT_TRUE(pump_until([&] {
        for (auto& h : hs)
            if (h->eofs == 0) return false;
        return true;
    }));
    for (int i = 0; i < n; i++) EXPECT_EQ(hs[size_t(i)]->data, "stream " + std::to_string(i));
    for (auto& c : cs) reactor().close_stream(c.id);
    ASSERT_TRUE(pump_until([&] {
        for (auto& h : hs)
            if (h->closed == 0) return false;
        return true;
    }));
    // Slots are reused: a new stream after all closed works.
    stream_recorder again;
    auto c = connect_stream(&again);
    ASSERT_EQ(::send(c.client, "x", 1, 0), 1);
    ASSERT_TRUE(pump_until([&] { return again.data == "x"; }));
    for (auto& h : hs) EXPECT_EQ(h->closed, 1);
    reactor().close_stream(c.id);
    ASSERT_TRUE(pump_until([&] { return again.closed > 0; }));
}

TEST_P(ReactorTest, WakeFromAnotherThreadEndsABlockingPoll) {
    for (int round = 0; round < 3; round++) {
        std::thread waker([&] {
            std::this_thread::sleep_for(50ms);
            reactor().wake();
        });
        auto t0 = clock_type::now();
        // Nothing else is pending: only wake() can end this poll.
        reactor().poll(-1);
        auto took = clock_type::now() - t0;
        waker.join();
        EXPECT_LT(took, 5s);
    }
    // A wake before the poll is not lost.
    reactor().wake();
    reactor().wake();
    auto t0 = clock_type::now();
    reactor().poll(-1);
    EXPECT_LT(clock_type::now() - t0, 5s);
}

TEST_P(ReactorTest, PollTimesOut) {
    // A poll may end early (EINTR: e.g. io_uring task work queued to this
    // thread by an earlier test's ring), so take the longest of a few.
    clock_type::duration longest{};
    for (int i = 0; i < 3; i++) {
        auto t0 = clock_type::now();
        int n = reactor().poll(20000);
        auto took = clock_type::now() - t0;
        longest = std::max(longest, took);
        EXPECT_LT(took, 5s);
        EXPECT_EQ(n, 0) << "nothing can have completed";
    }
    EXPECT_GE(longest, 15ms);
    auto t0 = clock_type::now();
    reactor().poll(0);
    EXPECT_LT(clock_type::now() - t0, 1s) << "poll(0) does not wait";
}

// ------------------------------------------------------------ datagrams

struct datagram_recorder final : DatagramHandler {
    std::vector<std::string> data;
    std::vector<bool> truncated;
    std::vector<uint16_t> from_ports;
    std::vector<int> errors;
    std::function<void()> hook;
    void on_datagram(std::string_view d, bool trunc, const sockaddr* from, socklen_t len) override {
        data.emplace_back(d);
        truncated.push_back(trunc);
        uint16_t port = 0;
        if (from && len >= sizeof(sockaddr_in) && from->sa_family == AF_INET)
            port = ntohs(reinterpret_cast<const sockaddr_in*>(from)->sin_port);
        from_ports.push_back(port);
        if (hook) hook();
    }
    void on_datagram_error(int err) override { errors.push_back(err); }
};

int udp_socket(uint16_t* port) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    EXPECT_GE(fd, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(a.sin_port);
    return fd;
}

void send_udp(int fd, uint16_t port, std::string_view d) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    ASSERT_EQ(::sendto(fd, d.data(), d.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof(a)), ssize_t(d.size()));
}

TEST_P(ReactorTest, DatagramsArriveOneByOneWithTheSender) {
    uint16_t server_port = 0, client_port = 0;
    int server = udp_socket(&server_port);
    int client = udp_socket(&client_port);
    datagram_recorder h;
    auto id = reactor().add_datagram(server, &h);
    ASSERT_TRUE(id.is_ok()) << id.status().to_string();
    send_udp(client, server_port, "one");
    send_udp(client, server_port, "");
    send_udp(client, server_port, std::string(60000, 'z'));
    ASSERT_TRUE(pump_until([&] { return h.data.size() == 3; }));
    EXPECT_EQ(h.data[0], "one");
    EXPECT_EQ(h.data[1], "");
    EXPECT_EQ(h.data[2], std::string(60000, 'z'));
    for (size_t i = 0; i < 3; i++) {
        EXPECT_EQ(h.from_ports[i], client_port);
        EXPECT_FALSE(h.truncated[i]);
    }
    // Many more than one receive's worth, in order.
    for (int i = 0; i < 200; i++) send_udp(client, server_port, std::to_string(i));
    ASSERT_TRUE(pump_until([&] { return h.data.size() == 203; }));
    for (int i = 0; i < 200; i++) EXPECT_EQ(h.data[size_t(3 + i)], std::to_string(i));
    EXPECT_TRUE(h.errors.empty());

    // After close_datagram nothing more is delivered and the fd is closed.
    reactor().close_datagram(id.value());
    pump_for(3);
    EXPECT_EQ(fcntl(server, F_GETFD), -1) << "close_datagram closes the fd";
    ::close(client);
    EXPECT_EQ(h.data.size(), 203u);
}

TEST_P(ReactorTest, OversizedDatagramIsCutAndFlagged) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
    int big = 1 << 20;
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    datagram_recorder h;
    auto id = reactor().add_datagram(sv[0], &h);
    ASSERT_TRUE(id.is_ok());
    std::string d(max_datagram_bytes + 100, 'q');
    ASSERT_EQ(::send(sv[1], d.data(), d.size(), 0), ssize_t(d.size())) << strerror(errno);
    ASSERT_TRUE(::send(sv[1], "next", 4, 0) == 4);
    ASSERT_TRUE(pump_until([&] { return h.data.size() == 2; }));
    EXPECT_EQ(h.data[0].size(), max_datagram_bytes);
    EXPECT_TRUE(h.truncated[0]);
    EXPECT_EQ(h.data[1], "next");
    EXPECT_FALSE(h.truncated[1]);
    reactor().close_datagram(id.value());
    ::close(sv[1]);
}

TEST_P(ReactorTest, HandlerMayCloseItsDatagramSocketFromTheCallback) {
    uint16_t server_port = 0, client_port = 0;
    int server = udp_socket(&server_port);
    int client = udp_socket(&client_port);
    datagram_recorder h;
    auto id = reactor().add_datagram(server, &h);
    ASSERT_TRUE(id.is_ok());
    h.hook = [&] { reactor().close_datagram(id.value()); };
    send_udp(client, server_port, "a");
    send_udp(client, server_port, "b");
    ASSERT_TRUE(pump_until([&] { return h.data.size() >= 1; }));
    pump_for(5);
    EXPECT_EQ(h.data.size(), 1u);
    ::close(client);
}

INSTANTIATE_TEST_SUITE_P(Backends, ReactorTest, testing::Values("epoll", "io_uring"),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace sluice
