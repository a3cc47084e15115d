// SPDX-License-Identifier: Apache-2.0
// The two Reactor backends (core/reactor.h) and how one is chosen.
#pragma once

#include <memory>
#include <string_view>

#include "core/reactor.h"
#include "core/runtime.h"

namespace sluice {

// Whether io_uring can be used here (a container may block it): sets up a
// small ring with the flags the reactor uses and checks the opcodes.
Status probe_io_uring();
Result<std::unique_ptr<Reactor>> make_uring_reactor();
Result<std::unique_ptr<Reactor>> make_epoll_reactor();

// `kind`: "auto" (io_uring if the probe passes, else epoll, with a log line),
// "io_uring" (fail if unavailable), or "epoll". Sets *chosen to the backend name.
Result<ReactorFactory> select_reactor(std::string_view kind, std::string* chosen);

}  // namespace sluice
