// SPDX-License-Identifier: Apache-2.0
#include "core/status.h"

#include <cstring>

namespace sluice {

std::string_view errc_name(errc code) {
    switch (code) {
    case errc::ok: return "ok";
    case errc::invalid_argument: return "invalid argument";
    case errc::config: return "configuration error";
    case errc::not_found: return "not found";
    case errc::channel_full: return "channel full";
    case errc::io: return "I/O error";
    case errc::closed: return "closed";
    case errc::corrupt: return "corrupt data";
    case errc::unsupported: return "unsupported";
    case errc::timed_out: return "timed out";
    case errc::resource: return "resource limit";
    }
    return "unknown";
}

Status::Status(errc code, std::string message)
    : _rep(code == errc::ok ? nullptr : std::make_shared<const rep>(rep{code, std::move(message)})) {}

const std::string& Status::message() const {
    static const std::string empty;
    return _rep ? _rep->message : empty;
}

std::string Status::to_string() const {
    if (!_rep) return "ok";
    return std::string(errc_name(_rep->code)) + ": " + _rep->message;
}

Status io_error(std::string_view what, int err) {
    return Status(errc::io, std::string(what) + ": " + std::strerror(err));
}

}  // namespace sluice
