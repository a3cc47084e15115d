// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: HTTP request parsing (io/http_parser.h) and the http
// source's JSON handler (io/http_source.h).
// Input: byte 0 chooses where the bytes are split into two reads; the rest is
// what a client sends. Traps on any broken invariant:
//   - the result does not depend on the split (complete with the same method,
//     target, headers and body, or the same error status);
//   - a completed body is within max_body_bytes, and an error is 400, 413 or 431;
//   - after next(), what is buffered never grows;
//   - the JSON handler on the body: ok leaves events, a failure names why.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "io/http_parser.h"
#include "io/http_source.h"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

using sluice::HttpRequestParser;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    size_t cut = text.empty() ? 0 : data[0] % (text.size() + 1);
    sluice::HttpLimits limits{512, 4096};

    HttpRequestParser a(limits), b(limits);
    auto ra = a.feed(text);
    auto rb = b.feed(text.substr(0, cut));
    if (rb == HttpRequestParser::result::need_more) rb = b.feed(text.substr(cut));
    else b.append(text.substr(cut));
    check(ra == rb);
    if (ra == HttpRequestParser::result::error) {
        check(a.error_status() == b.error_status());
        check(a.error_status() == 400 || a.error_status() == 413 || a.error_status() == 431);
        return 0;
    }
    if (ra != HttpRequestParser::result::complete) return 0;
    const auto& x = a.request();
    const auto& y = b.request();
    check(x.method == y.method && x.target == y.target && x.headers == y.headers && x.body == y.body);
    check(x.keep_alive == y.keep_alive);
    check(x.body.size() <= limits.max_body_bytes);
    size_t before = a.buffered();
    a.next();
    check(a.buffered() <= before);
    a.parse();  // pipelined rest: must not crash

    sluice::EventBatch events;
    std::string why;
    auto jr = sluice::parse_json_events(x.body, events, &why);
    if (jr != sluice::json_events_result::ok) check(!why.empty());
    return 0;
}
