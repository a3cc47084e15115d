// SPDX-License-Identifier: Apache-2.0
// libFuzzer target: how events are printed the Java way (core/java_format.h),
// as the logger sink prints them.
// Input: byte 0 chooses max_bytes for the hex dump; the rest is events
// separated by 0x01, each made of fields separated by 0x00: the last field is
// the body, the ones before it are header key, value, key, value, ...
// Traps on any broken invariant:
//   - java_headers_string: "{}" for no headers; otherwise "{k=v, ...}" with
//     every distinct key once, holding its last value (length checked always;
//     content checked when no field holds '=' or ','), and for at most 12
//     ASCII keys (one table of 16 buckets, no resize) the keys in bucket
//     order of Java's String.hashCode, insertion order within a bucket;
//   - java_string_hash of ASCII text is Java's s[0]*31^(n-1) + ... + s[n-1];
//   - flume_hex_dump: empty for no bytes; otherwise one row per 16 bytes,
//     rows joined by '\n', every row but the first starting with its 8-digit
//     hex offset, then " " and 16 "HH " cells (blank past the end) and the
//     printable ASCII column; the hex cells read back as the body's bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/event.h"
#include "core/java_format.h"

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t start = 0;
    for (;;) {
        size_t i = s.find(sep, start);
        out.push_back(s.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
        if (i == std::string_view::npos) return out;
        start = i + 1;
    }
}

bool ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

void check_headers(const sluice::EventView& ev) {
    std::string s = sluice::java_headers_string(ev);
    if (ev.header_count() == 0) {
        check(s == "{}");
        return;
    }
    // Distinct keys in first-insertion order, with their last value.
    std::vector<std::pair<std::string_view, std::string_view>> expect;
    bool plain = true;
    bool all_ascii = true;
    for (uint32_t i = 0; i < ev.header_count(); ++i) {
        auto h = ev.header(i);
        for (std::string_view f : {h.key, h.value})
            if (f.find_first_of("=,") != std::string_view::npos) plain = false;
        if (!ascii(h.key)) all_ascii = false;
        auto it = std::find_if(expect.begin(), expect.end(), [&](auto& e) { return e.first == h.key; });
        if (it != expect.end()) it->second = h.value;
        else expect.emplace_back(h.key, h.value);
    }
    size_t len = 2 + 2 * (expect.size() - 1);
    for (auto& [k, v] : expect) len += k.size() + 1 + v.size();
    check(s.size() == len);
    check(s.front() == '{' && s.back() == '}');
    if (!plain) return;

    std::vector<std::pair<std::string_view, std::string_view>> got;
    for (std::string_view entry : split(std::string_view(s).substr(1, s.size() - 2), ',')) {
        if (!got.empty()) {
            check(!entry.empty() && entry[0] == ' ');
            entry.remove_prefix(1);
        }
        size_t eq = entry.find('=');
        check(eq != std::string_view::npos);
        got.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
    check(got.size() == expect.size());
    for (auto& e : expect) check(std::find(got.begin(), got.end(), e) != got.end());

    if (!all_ascii || expect.size() > 12) return;
    auto bucket = [](std::string_view k) {
        uint32_t h = 0;
        for (char c : k) h = 31 * h + static_cast<unsigned char>(c);
        check(int32_t(h) == sluice::java_string_hash(k));
        return (h ^ (h >> 16)) & 15;
    };
    size_t per_bucket[16] = {};
    for (auto& e : expect) ++per_bucket[bucket(e.first)];
    // A ninth entry in one bucket makes Java's HashMap resize.
    if (*std::max_element(per_bucket, per_bucket + 16) >= 9) return;
    auto order = expect;
    std::stable_sort(order.begin(), order.end(),
                     [&](auto& a, auto& b) { return bucket(a.first) < bucket(b.first); });
    check(order == got);
}

void check_dump(std::string_view body, size_t max_bytes) {
    std::string d = sluice::flume_hex_dump(body, max_bytes);
    size_t n = std::min(body.size(), max_bytes);
    if (n == 0) {
        check(d.empty());
        return;
    }
    size_t rows = (n + 15) / 16;
    // Row r: [ '\n' + 8 offset digits if r > 0 ] ' ' + 48 cell chars + ASCII column.
    check(d.size() == (rows - 1) * 9 + rows * 49 + n);
    size_t pos = 0;
    for (size_t r = 0; r < rows; ++r) {
        size_t off = r * 16;
        if (r > 0) {
            check(d[pos] == '\n');
            ++pos;
            size_t v = 0;
            for (int k = 0; k < 8; ++k) {
                int h = hexval(d[pos + size_t(k)]);
                check(h >= 0);
                v = v * 16 + size_t(h);
            }
            check(v == (off & 0xFFFFFFFFu));
            pos += 8;
        }
        check(d[pos++] == ' ');
        size_t in_row = std::min<size_t>(16, n - off);
        for (size_t k = 0; k < 16; ++k) {
            if (k < in_row) {
                int hi = hexval(d[pos]), lo = hexval(d[pos + 1]);
                check(hi >= 0 && lo >= 0 && d[pos + 2] == ' ');
                check(uint8_t(hi * 16 + lo) == static_cast<unsigned char>(body[off + k]));
            } else {
                check(d.compare(pos, 3, "   ") == 0);
            }
            pos += 3;
        }
        for (size_t k = 0; k < in_row; ++k) {
            auto b = static_cast<unsigned char>(body[off + k]);
            check(d[pos++] == ((b >= 32 && b < 127) ? char(b) : '.'));
        }
    }
    check(pos == d.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    // 0, 1, 15, 16, 17, ... and "everything".
    static const size_t limits[] = {0, 1, 2, 15, 16, 17, 31, 32, 33, 64, 100, SIZE_MAX};
    const size_t max_bytes = data[0] < 12 ? limits[data[0]] : size_t(data[0]);
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

    sluice::EventBatch batch;
    for (std::string_view event : split(input, '\x01')) {
        auto fields = split(event, '\0');
        batch.add(fields.back());
        for (size_t i = 0; i + 1 < fields.size(); i += 2)
            batch.add_header(fields[i], i + 2 < fields.size() ? fields[i + 1] : std::string_view());
    }
    for (uint32_t i = 0; i < batch.size(); ++i) {
        auto ev = batch[i];
        check_headers(ev);
        check_dump(ev.body(), max_bytes);
        (void)sluice::java_string_hash(ev.body());
    }
    return 0;
}
