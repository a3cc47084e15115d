// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: the Flume event format of the Kafka components
// (docs/kafka.md §1), which decodes record values from any Kafka producer.
// Traps on any broken invariant:
//   - decode_flume_event never reads outside its input, and what it accepts
//     points inside the input;
//   - an accepted datum, encoded again (one block), decodes to the same
//     headers and body.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/event.h"
#include "io/kafka_common.h"

namespace {

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto d = sluice::decode_flume_event(in);
    if (!d) return 0;
    if (!inside(d->body, in)) __builtin_trap();
    sluice::EventBatch batch;
    batch.add(d->body);
    for (const auto& [k, v] : d->headers) {
        if (!inside(k, in) || !inside(v, in)) __builtin_trap();
        batch.add_header(k, v);
    }
    std::string again;
    sluice::encode_flume_event(batch[0], again);
    auto e = sluice::decode_flume_event(again);
    if (!e || e->body != d->body || e->headers.size() != d->headers.size()) __builtin_trap();
    for (size_t i = 0; i < e->headers.size(); i++)
        if (e->headers[i] != d->headers[i]) __builtin_trap();
    return 0;
}
