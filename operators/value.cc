// SPDX-License-Identifier: Apache-2.0
#include "operators/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sluice::ops {

Num add(Num a, Num b) {
    if (a.is_int && b.is_int) {
        int64_t r;
        if (!__builtin_add_overflow(a.i, b.i, &r)) return Num::of_int(r);
    }
    return Num::of_double(a.as_double() + b.as_double());
}

Num sub(Num a, Num b) {
    if (a.is_int && b.is_int) {
        int64_t r;
        if (!__builtin_sub_overflow(a.i, b.i, &r)) return Num::of_int(r);
    }
    return Num::of_double(a.as_double() - b.as_double());
}

Num mul(Num a, Num b) {
    if (a.is_int && b.is_int) {
        int64_t r;
        if (!__builtin_mul_overflow(a.i, b.i, &r)) return Num::of_int(r);
    }
    return Num::of_double(a.as_double() * b.as_double());
}

bool parse_num(std::string_view s, Num* out) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
    if (s.empty()) return false;
    int64_t i;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec == std::errc() && p == s.data() + s.size()) {
        *out = Num::of_int(i);
        return true;
    }
    double d;
    auto [p2, ec2] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec2 == std::errc() && p2 == s.data() + s.size() && std::isfinite(d)) {
        *out = Num::of_double(d);
        return true;
    }
    return false;
}

void append_num(std::string& out, Num n) {
    char buf[64];
    if (n.is_int) {
        auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), n.i);
        out.append(buf, p);
        return;
    }
    if (std::isnan(n.d)) {
        out += "NaN";
        return;
    }
    // Shortest round-trip form (std::to_chars without precision).
    auto [p, ec] = std::to_chars(buf, buf + sizeof(buf), n.d);
    out.append(buf, p);
}

std::string format_num(Num n) {
    std::string s;
    append_num(s, n);
    return s;
}

}  // namespace sluice::ops
