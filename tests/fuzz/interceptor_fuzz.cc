// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the interceptors (core/interceptor.h, core/regex.h) on
// untrusted event bodies, with fuzzed patterns.
// Input: line 1 is a regex, line 2 a replacement, line 3 a Joda time
// pattern; the rest is event bodies separated by 0x01. Patterns that do not
// compile are replaced by fixed ones (their rejection is what is checked).
// Traps on any broken invariant:
//   - a chain without filters keeps every event, in order;
//   - search_replace with a replacement of `$0` returns the body unchanged;
//   - search_replace with an empty replacement never makes a body longer;
//   - regex_filter keeps exactly the events its regex finds a match in,
//     and with excludeEvents exactly the others;
//   - regex_extractor only sets headers named by its serializers, with values
//     that are substrings of the body (pass-through) or decimal (millis).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/interceptor.h"
#include "core/regex.h"

namespace sluice {
namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

std::string_view next_line(std::string_view& in) {
    size_t nl = in.find('\n');
    std::string_view line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
    return line;
}

std::unique_ptr<Interceptor> build(const std::string& type, const std::vector<std::pair<std::string, std::string>>& keys) {
    const InterceptorType* t = find_interceptor_type(type);
    check(t != nullptr);
    ComponentConfig cfg;
    cfg.kind = ComponentKind::source;
    cfg.name = "i";
    for (auto& [k, v] : keys) cfg.props[k] = ConfigValue{v, 1};
    ComponentSettings s(&cfg, &t->part.keys);
    std::vector<std::pair<std::string, std::string>> problems;
    if (t->part.check) t->part.check(s, problems);
    if (!problems.empty()) return nullptr;
    auto made = t->build(s);
    check(made.is_ok());  // what passed the check builds
    return std::move(made.value());
}

EventBatchPtr run(std::unique_ptr<Interceptor> i, const EventSpan& span) {
    std::vector<std::unique_ptr<Interceptor>> v;
    v.push_back(std::move(i));
    InterceptorChain chain(std::move(v));
    return chain.apply(span);
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace sluice;
    if (size > 64 * 1024) return 0;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string pattern(next_line(in)), replacement(next_line(in)), time_pattern(next_line(in));
    if (!Regex::compile(pattern)) pattern = "[a-z]+";
    auto batch = std::make_shared<EventBatch>();
    size_t start = 0;
    while (start <= in.size()) {
        size_t end = in.find('\x01', start);
        if (end == std::string_view::npos) end = in.size();
        batch->add(in.substr(start, end - start));
        start = end + 1;
    }
    EventSpan span{batch, 0, batch->size()};

    // search_replace: $0 is the identity; an empty replacement only removes.
    if (auto same = build("search_replace", {{"searchPattern", pattern}, {"replaceString", "$0"}})) {
        auto out = run(std::move(same), span);
        check(out->size() == batch->size());
        for (uint32_t i = 0; i < out->size(); i++) check((*out)[i].body() == (*batch)[i].body());
    }
    if (auto remove = build("search_replace", {{"searchPattern", pattern}})) {
        auto out = run(std::move(remove), span);
        check(out->size() == batch->size());
        for (uint32_t i = 0; i < out->size(); i++) check((*out)[i].body().size() <= (*batch)[i].body().size());
    }
    if (auto any = build("search_replace", {{"searchPattern", pattern}, {"replaceString", replacement}}))
        check(run(std::move(any), span)->size() == batch->size());

    // regex_filter keeps exactly what its regex finds.
    auto re = Regex::compile(pattern);
    check(re.is_ok());
    for (bool exclude : {false, true}) {
        auto filter = build("regex_filter", {{"regex", pattern}, {"excludeEvents", exclude ? "true" : "false"}});
        check(filter != nullptr);
        auto out = run(std::move(filter), span);
        uint32_t k = 0;
        for (uint32_t i = 0; i < batch->size(); i++)
            if (re.value()->find((*batch)[i].body()) != exclude) check(k < out->size() && (*out)[k++].body() == (*batch)[i].body());
        check(k == out->size());
    }

    // regex_extractor: headers only from its serializers.
    std::vector<std::pair<std::string, std::string>> keys = {
        {"regex", pattern}, {"serializers", "a b"}, {"serializers.a.name", "ha"}, {"serializers.b.name", "hb"},
        {"serializers.b.type", "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer"},
        {"serializers.b.pattern", time_pattern.empty() ? "yyyy" : time_pattern}};
    if (auto ex = build("regex_extractor", keys)) {
        auto out = run(std::move(ex), span);
        check(out->size() == batch->size());
        for (uint32_t i = 0; i < out->size(); i++) {
            EventView e = (*out)[i];
            for (uint32_t h = 0; h < e.header_count(); h++) {
                Header hd = e.header(h);
                check(hd.key == "ha" || hd.key == "hb");
                if (hd.key == "ha") check(e.body().find(hd.value) != std::string_view::npos);
                if (hd.key == "hb")
                    for (size_t c = 0; c < hd.value.size(); c++)
                        check((hd.value[c] >= '0' && hd.value[c] <= '9') || (c == 0 && hd.value[c] == '-'));
            }
        }
    }
    return 0;
}
