// SPDX-License-Identifier: Apache-2.0
#include "operators/aggregate.h"

namespace sluice::ops {

const std::vector<std::string_view>& agg_names() {
    static const std::vector<std::string_view> v = {"sum", "min", "max", "count", "avg", "first", "last"};
    return v;
}

bool parse_agg(std::string_view name, Agg* out) {
    const auto& names = agg_names();
    for (size_t i = 0; i < names.size(); i++)
        if (names[i] == name) {
            *out = Agg(i);
            return true;
        }
    return false;
}

void Acc::add_slow(Agg a, Num x, Order at) {
    if (n == 0) {
        v = a == Agg::count ? Num::of_int(0) : x;
        first_at = last_at = at;
        n = 1;
        if (a == Agg::count) v = Num::of_int(1);
        return;
    }
    switch (a) {
    case Agg::sum:
    case Agg::avg: v = ops::add(v, x); break;
    case Agg::count: v = ops::add(v, Num::of_int(1)); break;
    case Agg::min:
        if (x < v) v = x;
        break;
    case Agg::max:
        if (v < x) v = x;
        break;
    case Agg::first:
        if (at < first_at) {
            v = x;
            first_at = at;
        }
        break;
    case Agg::last:
        if (!(at < last_at)) {
            v = x;
            last_at = at;
        }
        break;
    }
    n++;
}

void Acc::merge(Agg a, const Acc& o) {
    if (o.n == 0) return;
    if (n == 0) {
        *this = o;
        return;
    }
    switch (a) {
    case Agg::sum:
    case Agg::avg:
    case Agg::count: v = ops::add(v, o.v); break;
    case Agg::min:
        if (o.v < v) v = o.v;
        break;
    case Agg::max:
        if (v < o.v) v = o.v;
        break;
    case Agg::first:
        if (o.first_at < first_at) {
            v = o.v;
            first_at = o.first_at;
        }
        break;
    case Agg::last:
        if (!(o.last_at < last_at)) {
            v = o.v;
            last_at = o.last_at;
        }
        break;
    }
    n += o.n;
}

void Acc::subtract(Agg a, const Acc& o) {
    if (o.n == 0) return;
    v = ops::sub(v, o.v);
    n -= o.n;
    (void)a;
}

Num Acc::result(Agg a) const {
    if (a == Agg::avg) return n == 0 ? Num::of_int(0) : Num::of_double(v.as_double() / double(n));
    return v;
}

}  // namespace sluice::ops
