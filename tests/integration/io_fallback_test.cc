// SPDX-License-Identifier: Apache-2.0
// io_uring blocked the way containers block it (Docker's default seccomp
// profile makes io_uring_setup fail with EPERM): the agent must notice at
// start, say so, and serve on epoll; and with -Dsluice.io=io_uring it must
// refuse to start rather than fall back silently.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {
using std::chrono::seconds;

// Starts `args` with io_uring_setup denied (EPERM) by a seccomp filter that
// the child installs on itself before exec; stderr goes to `err_path`.
pid_t spawn_without_io_uring(const std::vector<std::string>& args, const std::string& err_path) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null = ::open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(err, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    sock_fprog prog{static_cast<unsigned short>(sizeof(filter) / sizeof(filter[0])), filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(97);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(98);
}

int wait_exit(pid_t pid, int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    return -1;
}

std::string netcat_config(int port) {
    return "a1.sources = r1\na1.channels = c1\na1.sinks = k1\n"
           "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = " +
           std::to_string(port) +
           "\na1.sources.r1.channels = c1\n"
           "a1.channels.c1.type = memory\n"
           "a1.sinks.k1.type = logger\na1.sinks.k1.channel = c1\n";
}

TEST(IoFallback, BlockedIoUringFallsBackToEpollAndServes) {
    temp_dir dir;
    int port = free_port();
    std::string conf = dir.write("a.properties", netcat_config(port));
    std::string err = dir.file("stderr.txt");
    pid_t pid = spawn_without_io_uring({sluice_binary(), "agent", "-n", "a1", "-f", conf, "--shards", "2"}, err);
    ASSERT_TRUE(poll_until([&] {
        int fd = connect_once(port);
        if (fd >= 0) ::close(fd);
        return fd >= 0;
    }, seconds(10))) << read_file(err);
    {
        tcp_client c(port);
        ASSERT_TRUE(c.send_all("hello\n"));
        EXPECT_EQ(c.read_exact(3), "OK\n");
    }
    ASSERT_TRUE(poll_until([&] { return read_file(err).find("hello }") != std::string::npos; }, seconds(10)));
    kill(pid, SIGTERM);
    EXPECT_EQ(wait_exit(pid, 30000), 0);
    std::string text = read_file(err);
    EXPECT_NE(text.find("io_uring is not available"), std::string::npos) << text;
    EXPECT_NE(text.find("Operation not permitted"), std::string::npos) << text;
    EXPECT_NE(text.find("2 shards, epoll"), std::string::npos) << text;
}

TEST(IoFallback, ExplicitIoUringRefusesToStartWhenBlocked) {
    temp_dir dir;
    std::string conf = dir.write("a.properties", netcat_config(free_port()));
    std::string err = dir.file("stderr.txt");
    pid_t pid = spawn_without_io_uring({sluice_binary(), "agent", "-n", "a1", "-f", conf, "-Dsluice.io=io_uring"}, err);
    EXPECT_EQ(wait_exit(pid, 30000), 1);
    EXPECT_NE(read_file(err).find("io_uring_setup: Operation not permitted"), std::string::npos) << read_file(err);
}

}  // namespace
}  // namespace sluice_it
