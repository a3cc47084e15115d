// SPDX-License-Identifier: Apache-2.0
// The one error model of sluice.
//
// Expected failures (bad configuration, full channel, I/O error, corrupt
// input) are values: a Status, or a Result<T> that holds a value or a Status.
// An OK Status holds no allocation, so success costs a null check. Broken
// invariants are not Statuses: they go through SLUICE_ASSERT (core/assert.h),
// which logs and aborts. The data path never throws.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace sluice {

enum class errc : int {
    ok = 0,
    invalid_argument,  // a caller passed something malformed
    config,            // a configuration problem (file, line and key in the message)
    not_found,
    channel_full,      // the channel cannot take the events now; retrying later may work
    io,                // an operating-system call failed (errno in the message)
    closed,            // the object was stopped or closed
    corrupt,           // stored or received data failed a check
    unsupported,
    timed_out,
    resource,          // a limit was reached (memory, connections, file descriptors)
};

std::string_view errc_name(errc code);

class [[nodiscard]] Status {
public:
    Status() = default;
    Status(errc code, std::string message);
    static Status ok() { return {}; }

    bool is_ok() const { return _rep == nullptr; }
    explicit operator bool() const { return is_ok(); }
    errc code() const { return _rep ? _rep->code : errc::ok; }
    // The message as a user sees it (for channel errors: Flume's exception text).
    const std::string& message() const;
    // "code: message", for logs.
    std::string to_string() const;

private:
    struct rep {
        errc code;
        std::string message;
    };
    std::shared_ptr<const rep> _rep;
};

Status io_error(std::string_view what, int err);  // "what: strerror(err)"

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : _v(std::move(value)) {}
    Result(Status status) : _v(std::move(status)) {}

    bool is_ok() const { return _v.index() == 0; }
    explicit operator bool() const { return is_ok(); }
    T& value() & { return std::get<0>(_v); }
    T&& value() && { return std::get<0>(std::move(_v)); }
    const T& value() const& { return std::get<0>(_v); }
    T* operator->() { return &value(); }
    T& operator*() { return value(); }
    Status status() const { return is_ok() ? Status() : std::get<1>(_v); }

private:
    std::variant<T, Status> _v;
};

}  // namespace sluice
