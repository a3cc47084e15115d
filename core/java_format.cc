// SPDX-License-Identifier: Apache-2.0
#include "core/java_format.h"

#include <algorithm>
#include <cstdint>

namespace sluice {

int32_t java_string_hash(std::string_view s) {
    uint32_t h = 0;
    const auto* p = reinterpret_cast<const uint8_t*>(s.data());
    const auto* end = p + s.size();
    auto mix = [&](uint32_t unit) { h = 31 * h + unit; };
    while (p < end) {
        uint32_t cp;
        uint8_t b = *p;
        int need = b < 0x80 ? 0 : (b >= 0xC2 && b <= 0xDF) ? 1 : (b >= 0xE0 && b <= 0xEF) ? 2 : (b >= 0xF0 && b <= 0xF4) ? 3 : -1;
        int have = 0;
        if (need > 0)
            while (have < need && p + 1 + have < end && (p[1 + have] & 0xC0) == 0x80) have++;
        if (need < 0 || have < need) {
            mix(0xFFFD);  // what Java's decoder makes of a malformed byte
            p++;
            continue;
        }
        cp = need == 0 ? b : need == 1 ? b & 0x1F : need == 2 ? b & 0x0F : b & 0x07;
        for (int i = 1; i <= need; i++) cp = cp << 6 | (p[i] & 0x3F);
        p += 1 + need;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            mix(0xD800 + (cp >> 10));
            mix(0xDC00 + (cp & 0x3FF));
        } else {
            mix(cp);
        }
    }
    return int32_t(h);
}

std::string java_headers_string(const EventView& e) {
    uint32_t n = e.header_count();
    if (n == 0) return "{}";
    // Later puts of the same key replace the value in place.
    std::vector<std::pair<std::string_view, std::string_view>> entries;
    for (uint32_t i = 0; i < n; i++) {
        auto h = e.header(i);
        auto it = std::find_if(entries.begin(), entries.end(), [&](auto& p) { return p.first == h.key; });
        if (it != entries.end()) it->second = h.value;
        else entries.emplace_back(h.key, h.value);
    }
    // HashMap: a table of 16, doubled when the size passes 3/4 of it, and
    // (below 64 buckets) when one bucket gets a ninth entry. A resize keeps
    // the order within buckets, so the final order is insertion order within
    // each bucket of the final table.
    std::vector<uint32_t> hashes;
    for (auto& e : entries) {
        uint32_t h = uint32_t(java_string_hash(e.first));
        hashes.push_back(h ^ (h >> 16));
    }
    size_t cap = 16;
    for (size_t n = 1; n <= hashes.size(); n++) {
        size_t in_bucket = 0;
        for (size_t i = 0; i < n; i++)
            if ((hashes[i] & (cap - 1)) == (hashes[n - 1] & (cap - 1))) in_bucket++;
        if (in_bucket >= 9 && cap < 64) cap *= 2;
        if (n > cap * 3 / 4) cap *= 2;
    }
    struct ordered {
        size_t bucket, index;
    };
    std::vector<ordered> order;
    for (size_t i = 0; i < entries.size(); i++) order.push_back({hashes[i] & (cap - 1), i});
    std::stable_sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.bucket < b.bucket; });
    std::string out = "{";
    for (size_t i = 0; i < order.size(); i++) {
        if (i) out += ", ";
        out += entries[order[i].index].first;
        out += '=';
        out += entries[order[i].index].second;
    }
    out += '}';
    return out;
}

std::string flume_hex_dump(std::string_view body, size_t max_bytes) {
    static const char hex[] = "0123456789ABCDEF";
    size_t len = std::min(body.size(), max_bytes);
    std::string out;
    for (size_t j = 0; j < len; j += 16) {
        if (j > 0) {
            out += '\n';
            char off[9];
            for (int k = 0; k < 8; k++) off[k] = hex[(j >> (28 - 4 * k)) & 0xF];
            off[8] = 0;
            out += off;
        }
        out += ' ';
        for (size_t k = 0; k < 16; k++) {
            if (j + k < len) {
                auto b = uint8_t(body[j + k]);
                out += hex[b >> 4];
                out += hex[b & 0xF];
                out += ' ';
            } else {
                out += "   ";
            }
        }
        for (size_t k = 0; k < 16 && j + k < len; k++) {
            auto b = uint8_t(body[j + k]);
            out += (b >= 32 && b < 127) ? char(b) : '.';
        }
    }
    return out;
}

}  // namespace sluice
