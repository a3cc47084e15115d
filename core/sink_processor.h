// SPDX-License-Identifier: Apache-2.0
// Flume's sink processors (reference/flume.md §2.5): which sink of a sink
// group runs next, and what a failing sink costs.
//
//  - failover: the live sink with the highest priority runs; one that fails
//    goes to a dead list for min(maxpenalty, 2^n s) (n consecutive failures,
//    from 1); a dead sink whose time is up is tried first, and is live again
//    once it delivers (returns ready). While the sink it chose is busy, the
//    group is: no other sink runs meanwhile (Flume's process() blocks).
//  - load_balance: each process() tries the sinks in selector order (round
//    robin or random) until one does not fail; with backoff a failing sink is
//    left out for min(selector.maxTimeOut, 2^k s) (k consecutive failures,
//    capped at 16; reset to 1 when the failure comes an hour after the last
//    back-off ended). A busy sink ends the call, as a delivery would; the
//    next call goes on with the next sink.
//
// A processor is pure logic over callbacks, driven with the time passed in
// (tests use a fake clock). The agent makes one per group per shard, with the
// shard's instances of the group's sinks; shard thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/component.h"
#include "core/registry.h"

namespace sluice {

struct GroupSink {
    std::string name;
    std::function<SinkStatus()> process;
};

class SinkProcessor {
public:
    virtual ~SinkProcessor() = default;
    // One process() of the group at `now_ms` (a monotonic clock). `failed`
    // when no sink could deliver (Flume: "All sinks failed to process,
    // nothing left to failover to" / "All configured sinks have failed");
    // `busy` when the sink it chose is still at work (no penalty: the group
    // waits for that sink's wake).
    virtual SinkStatus process(int64_t now_ms) = 0;
};

// `priorities` parallel to `sinks` (resolved by failover_priorities()).
std::unique_ptr<SinkProcessor> make_failover_processor(std::vector<GroupSink> sinks, std::vector<int64_t> priorities,
                                                       int64_t max_penalty_ms);
std::unique_ptr<SinkProcessor> make_load_balance_processor(std::vector<GroupSink> sinks, bool backoff, bool random,
                                                           int64_t max_timeout_ms, uint64_t seed);

// Sink processor types and their keys (relative to `processor.`).
const std::vector<const PartDescriptor*>& sink_processor_types();

// Flume's failover priorities for the sinks of a group, in group order: the
// `priority.<sink>` value, or -1, -2, ... for sinks without one. A sink whose
// priority an earlier sink already has is left out (Flume drops it with a
// warning): its index is in `duplicates`.
struct FailoverPriorities {
    std::vector<std::pair<size_t, int64_t>> kept;  // (index in the group, priority)
    std::vector<size_t> duplicates;
};
FailoverPriorities failover_priorities(const std::vector<std::string>& sinks,
                                       const std::vector<std::pair<std::string, std::string>>& priority_keys);

}  // namespace sluice
