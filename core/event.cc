// SPDX-License-Identifier: Apache-2.0
#include "core/event.h"

#include "core/assert.h"

namespace sluice {

uint32_t EventBatch::put_bytes(std::string_view s) {
    SLUICE_ASSERT(_arena.size() + s.size() < UINT32_MAX, "event batch arena over 4 GiB");
    auto off = static_cast<uint32_t>(_arena.size());
    _arena.append(s.data(), s.size());
    return off;
}

uint32_t EventBatch::add(std::string_view body) {
    uint32_t off = put_bytes(body);
    _entries.push_back({off, static_cast<uint32_t>(body.size()),
                        static_cast<uint32_t>(_headers.size()), 0});
    _body_bytes += body.size();
    return static_cast<uint32_t>(_entries.size() - 1);
}

void EventBatch::add_header(std::string_view key, std::string_view value) {
    SLUICE_ASSERT(!_entries.empty(), "add_header before add");
    header_entry h;
    h.key_off = put_bytes(key);
    h.key_len = static_cast<uint32_t>(key.size());
    h.val_off = put_bytes(value);
    h.val_len = static_cast<uint32_t>(value.size());
    _headers.push_back(h);
    _entries.back().hdr_count++;
}

uint32_t EventBatch::add(const EventView& e) {
    uint32_t idx = add(e.body());
    for (uint32_t i = 0; i < e.header_count(); i++) {
        auto h = e.header(i);
        add_header(h.key, h.value);
    }
    return idx;
}

void EventBatch::clear() {
    _arena.clear();
    _entries.clear();
    _headers.clear();
    _body_bytes = 0;
}

bool EventView::find_header(std::string_view key, std::string_view* value) const {
    for (uint32_t i = 0; i < header_count(); i++) {
        auto h = header(i);
        if (h.key == key) {
            *value = h.value;
            return true;
        }
    }
    return false;
}

}  // namespace sluice
