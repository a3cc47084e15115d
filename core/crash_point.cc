// SPDX-License-Identifier: Apache-2.0
#include "core/crash_point.h"

#include <atomic>
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

// SLUICE_FAIL_AT=<name>:<n>, read once, at the first point reached.
struct armed_failure {
    std::string name;
    std::atomic<long> left{0};
    armed_failure() {
        const char* v = std::getenv("SLUICE_FAIL_AT");
        std::string s(v ? v : "");
        size_t colon = s.rfind(':');
        if (colon == std::string::npos) return;
        name = s.substr(0, colon);
        left = std::atol(s.c_str() + colon + 1);
    }
};
armed_failure& armed_failure_point() {
    static armed_failure f;
    return f;
}
}  // namespace

void crash_point(std::string_view name) {
    const std::string& armed = armed_point();
    if (armed.empty() || armed != name) return;
    log_warn("crash point %s reached: SIGKILL (SLUICE_CRASH_AT)", armed.c_str());
    std::raise(SIGKILL);
}

bool fail_point(std::string_view name) {
    armed_failure& f = armed_failure_point();
    if (f.name.empty() || f.name != name) return false;
    if (f.left.fetch_sub(1, std::memory_order_relaxed) <= 0) return false;
    log_warn("fail point %s reached: the operation fails (SLUICE_FAIL_AT)", f.name.c_str());
    return true;
}

}  // namespace sluice
