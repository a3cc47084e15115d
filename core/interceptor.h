// SPDX-License-Identifier: Apache-2.0
// Flume's interceptors (reference/flume.md §2.4): `timestamp`, `host`,
// `static`, `remove_header`, `regex_filter`, `regex_extractor` and
// `search_replace`, chained in the order of a source's `interceptors` list.
//
// As in Flume they run inside the ChannelProcessor, before the selector, on
// what the source hands to put(). Batches are immutable once shared, so a
// chain never writes into its input: each event is loaded into an EventDraft
// (views of the input's body and headers), each interceptor edits the draft
// (replacing a view, adding a header whose value lives in the interceptor or
// in a per-event scratch arena, or dropping the event), and the events kept
// are copied once into one new batch. A source without interceptors never
// reaches this code (no copy, no allocation per event).
//
// A chain belongs to one ChannelProcessor, so to one shard: not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/event.h"
#include "core/registry.h"
#include "core/status.h"

namespace sluice {

// Bytes an interceptor computes for the event at hand (a rewritten body, an
// extracted value). What it hands out stays where it is until reset(); reset()
// keeps the memory for the next event.
class ScratchArena {
public:
    std::string_view copy(std::string_view s);
    // n bytes to fill; valid until reset().
    char* alloc(size_t n);
    void reset();

private:
    struct chunk {
        std::unique_ptr<char[]> data;
        size_t size = 0, used = 0;
    };
    std::vector<chunk> _chunks;
    size_t _current = 0;
};

// One event while a chain rewrites it. Headers follow Flume's map semantics:
// set() replaces the value of a header already there.
class EventDraft {
public:
    std::string_view body;
    std::vector<Header> headers;

    void load(const EventView& e);
    // The value of header `key`, or nullptr.
    const std::string_view* find(std::string_view key) const;
    void set(std::string_view key, std::string_view value);
    // Removes header `key`; whether it was there.
    bool remove(std::string_view key);
};

// What a chain passes to every interceptor for one event.
struct InterceptContext {
    int64_t now_ms;         // wall clock, read once per put
    ScratchArena& scratch;  // for values that must outlive the call
};

class Interceptor {
public:
    virtual ~Interceptor() = default;
    // Edits `e`; returns false to drop the event (it vanishes silently, as in
    // Flume). Views stored into `e` must point at bytes that outlive the call:
    // the event's own, the interceptor's, or ctx.scratch's.
    virtual bool intercept(EventDraft& e, InterceptContext& ctx) = 0;
};

// An interceptor type: Flume's alias, its Builder class names, its keys, and
// how to build one from settings that passed validation.
struct InterceptorType {
    PartDescriptor part;
    std::function<Result<std::unique_ptr<Interceptor>>(const ComponentSettings&)> build;
};

// Every interceptor type, in the order of the reference.
const std::vector<InterceptorType>& interceptor_types();
// Case-insensitive on the alias or a class name; null when unknown.
const InterceptorType* find_interceptor_type(std::string_view type);

class InterceptorChain {
public:
    explicit InterceptorChain(std::vector<std::unique_ptr<Interceptor>> chain);
    ~InterceptorChain();

    size_t size() const { return _chain.size(); }
    // Runs every event of `span` through the chain, in order. Returns a new
    // batch with the events kept (possibly none), with the input batch's
    // received_ms.
    EventBatchPtr apply(const EventSpan& span);

private:
    std::vector<std::unique_ptr<Interceptor>> _chain;
    EventDraft _draft;
    ScratchArena _scratch;
};

// Builds the chain a source's `interceptors` list names (validated settings).
// Null when the list is empty.
Result<std::unique_ptr<InterceptorChain>> build_interceptor_chain(const ComponentSettings& source);

}  // namespace sluice
