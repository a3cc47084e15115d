// SPDX-License-Identifier: Apache-2.0
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "core/crash_point.h"

namespace sluice {

Status write_file_atomically(const std::string& path, std::string_view bytes, bool durable) {
    const std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return io_error("open " + tmp, errno);
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            ::close(fd);
            return io_error("write " + tmp, e);
        }
        done += size_t(n);
    }
    if (durable && ::fdatasync(fd) != 0) {
        int e = errno;
        ::close(fd);
        return io_error("fdatasync " + tmp, e);
    }
    ::close(fd);
    crash_point("atomic_file.before_rename");  // the new file complete, the old one in place
    if (::rename(tmp.c_str(), path.c_str()) != 0) return io_error("rename " + tmp + " to " + path, errno);
    if (!durable) return Status::ok();
    const size_t slash = path.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return io_error("open " + dir, errno);
    int rc = ::fsync(dfd);
    int e = errno;
    ::close(dfd);
    if (rc != 0) return io_error("fsync " + dir, e);
    return Status::ok();
}

}  // namespace sluice
