// SPDX-License-Identifier: Apache-2.0
// Numbers as the pipeline language has them: integers stay integers (`3`,
// not `3.0`) until a non-integer joins them; anything else is a double.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::ops {

struct Num {
    bool is_int = true;
    union {
        int64_t i = 0;
        double d;
    };

    static Num of_int(int64_t v) {
        Num n;
        n.i = v;
        return n;
    }
    static Num of_double(double v) {
        Num n;
        n.is_int = false;
        n.d = v;
        return n;
    }
    double as_double() const { return is_int ? double(i) : d; }
    bool operator==(const Num& o) const { return is_int && o.is_int ? i == o.i : as_double() == o.as_double(); }
    bool operator<(const Num& o) const { return is_int && o.is_int ? i < o.i : as_double() < o.as_double(); }
};

Num add(Num a, Num b);
Num sub(Num a, Num b);
Num mul(Num a, Num b);

// Parses an integer or a decimal/scientific number; false if `s` is not one.
bool parse_num(std::string_view s, Num* out);
// Integers as integers; doubles in the shortest form that reads back the same.
void append_num(std::string& out, Num n);
std::string format_num(Num n);

}  // namespace sluice::ops
