// SPDX-License-Identifier: Apache-2.0
// Events, and batches of them.
//
// An event is Flume's: a list of string headers and a byte body. sluice never
// moves events one by one: a source builds an EventBatch (one byte arena plus a
// small index), a channel queues ranges of batches (EventSpan), and a sink reads
// them in place. A committed batch is immutable and shared by reference count,
// so a span can be taken, rolled back and taken again without copying bytes,
// and may cross shards (the count is atomic; the bytes are never written again).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {

struct Header {
    std::string_view key;
    std::string_view value;
};

class EventBatch;

// A read-only view of one event inside a batch. Valid while the batch lives.
class EventView {
public:
    EventView(const EventBatch* batch, uint32_t index) : _batch(batch), _index(index) {}
    std::string_view body() const;
    uint32_t header_count() const;
    Header header(uint32_t i) const;
    // The value of the first header named `key`, or nullptr-data view when absent.
    bool find_header(std::string_view key, std::string_view* value) const;

private:
    const EventBatch* _batch;
    uint32_t _index;
};

// Events in one contiguous arena. Built by one thread with add()/add_header(),
// then frozen by sharing it (std::shared_ptr<const EventBatch>).
class EventBatch {
public:
    EventBatch() = default;
    // Reserves room for about this many events, arena bytes and headers (all
    // events' headers together), so a framer that knows its read's size
    // appends without regrowing the index; more is still accepted.
    explicit EventBatch(size_t expected_events, size_t expected_bytes, size_t expected_headers = 0) {
        _entries.reserve(expected_events);
        _arena.reserve(expected_bytes);
        _headers.reserve(expected_headers);
    }

    // Room for this many more events, arena bytes and headers without
    // regrowing (a reader that knows what it is about to copy in).
    void reserve_more(size_t events, size_t bytes, size_t headers) {
        _entries.reserve(_entries.size() + events);
        _arena.reserve(_arena.size() + bytes);
        _headers.reserve(_headers.size() + headers);
    }

    // Appends an event with this body and no headers; returns its index.
    uint32_t add(std::string_view body);
    // Bulk path for framers: copy a whole read into the arena once
    // (append_bytes returns its offset), then add events that point into it.
    uint32_t append_bytes(std::string_view bytes) { return put_bytes(bytes); }
    const char* arena_data() const { return _arena.data(); }
    size_t arena_size() const { return _arena.size(); }
    uint32_t add_at(uint32_t body_off, uint32_t body_len) {
        _entries.push_back({body_off, body_len, static_cast<uint32_t>(_headers.size()), 0});
        _body_bytes += body_len;
        return static_cast<uint32_t>(_entries.size() - 1);
    }
    // Appends a header to the last added event.
    void add_header(std::string_view key, std::string_view value);
    // Bulk path: a header whose key and value bytes are already in the arena
    // (offsets from append_bytes), so a framer writes its header names once
    // per batch and an event's values with one append.
    void add_header_at(uint32_t key_off, uint32_t key_len, uint32_t val_off, uint32_t val_len) {
        _headers.push_back({key_off, key_len, val_off, val_len});
        _entries.back().hdr_count++;
    }
    // The same for `n` headers at once: returns room for them (valid until
    // the next add), which the caller fills, in order, before anything else
    // is added. One capacity check for all of an event's headers.
    struct HeaderAt {
        // Left unset, so add_headers_at does not write the room twice.
        HeaderAt() {}  // NOLINT(modernize-use-equals-default): = default would zero it in resize()
        HeaderAt(uint32_t ko, uint32_t kl, uint32_t vo, uint32_t vl)
            : key_off(ko), key_len(kl), val_off(vo), val_len(vl) {}
        uint32_t key_off, key_len, val_off, val_len;
    };
    HeaderAt* add_headers_at(uint32_t n) {
        size_t first = _headers.size();
        _headers.resize(first + n);
        _entries.back().hdr_count += n;
        return _headers.data() + first;
    }
    // Appends a copy of `e` (headers and body).
    uint32_t add(const EventView& e);

    // When the source read these events, since the epoch: sinks' delivery
    // latency and a stream's processing time. Microseconds, but whole
    // milliseconds when read back from a durable channel's segment (its
    // records keep ms).
    int64_t received_us() const { return _received_us; }
    void set_received_us(int64_t us) { _received_us = us; }
    int64_t received_ms() const { return _received_us / 1000; }
    void set_received_ms(int64_t ms) { _received_us = ms * 1000; }

    uint32_t size() const { return static_cast<uint32_t>(_entries.size()); }
    bool empty() const { return _entries.empty(); }
    size_t body_bytes() const { return _body_bytes; }
    EventView operator[](uint32_t i) const { return EventView(this, i); }
    void clear();

private:
    friend class EventView;
    struct entry {
        uint32_t body_off, body_len;
        uint32_t hdr_begin, hdr_count;
    };
    using header_entry = HeaderAt;
    uint32_t put_bytes(std::string_view s);

    std::string _arena;
    std::vector<entry> _entries;
    std::vector<header_entry> _headers;
    size_t _body_bytes = 0;
    int64_t _received_us = 0;
};

using EventBatchPtr = std::shared_ptr<const EventBatch>;

// Events [begin, end) of one batch: the unit channels queue and sinks take.
struct EventSpan {
    EventBatchPtr batch;
    uint32_t begin = 0;
    uint32_t end = 0;

    uint32_t size() const { return end - begin; }
    EventView operator[](uint32_t i) const { return (*batch)[begin + i]; }
};

inline std::string_view EventView::body() const {
    const auto& e = _batch->_entries[_index];
    return {_batch->_arena.data() + e.body_off, e.body_len};
}
inline uint32_t EventView::header_count() const { return _batch->_entries[_index].hdr_count; }
inline Header EventView::header(uint32_t i) const {
    const auto& h = _batch->_headers[_batch->_entries[_index].hdr_begin + i];
    const char* a = _batch->_arena.data();
    return {{a + h.key_off, h.key_len}, {a + h.val_off, h.val_len}};
}

}  // namespace sluice
