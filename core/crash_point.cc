// SPDX-License-Identifier: Apache-2.0
#include "core/crash_point.h"

#include <csignal>
#include <cstdlib>
#include <string>

#include "core/log.h"

namespace sluice {

namespace {
// Read once, at the first point reached: tests set the variable before start.
const std::string& armed_point() {
    static const std::string name = [] {
        const char* v = std::getenv("SLUICE_CRASH_AT");
        return std::string(v ? v : "");
    }();
    return name;
}
}  // namespace

void crash_point(std::string_view name) {
    const std::string& armed = armed_point();
    if (armed.empty() || armed != name) return;
    log_warn("crash point %s reached: SIGKILL (SLUICE_CRASH_AT)", armed.c_str());
    std::raise(SIGKILL);
}

}  // namespace sluice
