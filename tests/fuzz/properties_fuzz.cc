// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: an agent configuration file, end to end through the
// checks `sluice check` makes: the .properties grammar, Flume's structural
// rules (agent lists, component keys, ${...} substitution) and the
// registry-driven validation (every built-in component and the stream).
// Invariants: the parsed keys are unique and trimmed, their line numbers lie
// in the file, and the two parse_properties overloads agree.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/config.h"
#include "core/registry.h"
#include "io/components.h"
#include "operators/stream.h"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

void register_once() {
    static bool done = false;
    if (done) return;
    done = true;
    sluice::register_builtin_components(sluice::Registry::global());
    sluice::Registry::global().add(sluice::ops::stream_descriptor());
}

// Natural lines as Properties counts them (\n, \r, \r\n).
int natural_lines(std::string_view s) {
    int n = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\n' || s[i] == '\r') {
            ++n;
            if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
        }
    }
    if (!s.empty() && s.back() != '\n' && s.back() != '\r') ++n;
    return n;
}

bool trimmed(std::string_view s) {
    return s.empty() || (static_cast<unsigned char>(s.front()) > ' ' && static_cast<unsigned char>(s.back()) > ' ');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    register_once();
    std::string_view text(reinterpret_cast<const char*>(data), size);

    std::vector<sluice::ConfigProblem> problems;
    auto lines = sluice::parse_properties(text, "fuzz", problems);
    auto plain = sluice::parse_properties(text);
    check(plain.size() == lines.size());
    const int max_line = natural_lines(text);
    std::set<std::string_view> keys;
    for (size_t i = 0; i < lines.size(); ++i) {
        const auto& l = lines[i];
        check(keys.insert(l.key).second);
        check(trimmed(l.key) && trimmed(l.value));
        check(l.line >= 1 && l.line <= max_line);
        check(plain[i].key == l.key && plain[i].value == l.value && plain[i].line == l.line);
    }
    for (const auto& p : problems) {
        check(p.file == "fuzz");
        check(p.line >= 1 && p.line <= max_line);
        (void)p.to_string();
    }

    problems.clear();
    sluice::ReadOptions opts;
    opts.agent = "a1";
    opts.env = std::map<std::string, std::string>{};
    auto config = sluice::read_agent_config_text(text, "fuzz", opts, problems);
    for (const auto& p : problems) (void)p.to_string();

    // As `sluice check` does: validation sees what reading reported.
    auto strict_problems = problems;
    auto strict = sluice::validate_agent(config, false, strict_problems);
    if (strict) (void)sluice::describe_topology(*strict);
    auto lenient = sluice::validate_agent(std::move(config), true, problems);
    if (lenient) (void)sluice::describe_topology(*lenient);
    // A configuration that passes strict validation passes lenient too.
    check(!strict || lenient);
    return 0;
}
