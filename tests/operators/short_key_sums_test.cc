// SPDX-License-Identifier: Apache-2.0
// ShortKeySums against std::map (every key length, any byte, through
// growth), the fold into a KeyTable, the packing of keys, and the spill of a
// sum or count that outgrows its bits.
#include "operators/short_key_sums.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace sluice::ops {
namespace {

TEST(ShortKeySums, OnlyKeysOfOneToSevenBytesFit) {
    EXPECT_FALSE(ShortKeySums::fits(""));
    EXPECT_TRUE(ShortKeySums::fits("a"));
    EXPECT_TRUE(ShortKeySums::fits("abcdefg"));
    EXPECT_FALSE(ShortKeySums::fits("abcdefgh"));
}

TEST(ShortKeySums, PackingKeepsEveryByteAndTheLength) {
    std::mt19937 rng(7);
    for (int round = 0; round < 2000; round++) {
        std::string k(size_t(1 + round % 7), '\0');
        for (char& c : k) c = char(rng() % 4 == 0 ? 0 : rng());  // NULs and high bytes too
        const uint64_t packed = ShortKeySums::pack(k);
        EXPECT_NE(packed, 0u);
        EXPECT_EQ(ShortKeySums::unpack(packed), k);
    }
    // Keys that differ only by trailing NULs are different keys.
    EXPECT_NE(ShortKeySums::pack(std::string_view("a", 1)), ShortKeySums::pack(std::string_view("a\0", 2)));
    EXPECT_NE(ShortKeySums::pack(std::string_view("\0", 1)), ShortKeySums::pack(std::string_view("\0\0", 2)));
}

TEST(ShortKeySums, AgreesWithAMapThroughGrowth) {
    ShortKeySums t;  // 16 slots: grows many times
    KeyTable<Acc> spill;
    ShortKeyAdds adds;
    std::map<std::string, std::pair<int64_t, int64_t>> want;  // sum, count
    std::mt19937 rng(11);
    for (int i = 0; i < 200000; i++) {
        std::string k = "k" + std::to_string(rng() % 30000);  // 2 to 6 bytes
        const int64_t x = int64_t(rng() % 200) - 100;
        adds.push(t, spill, k, x, Agg::sum);
        want[k].first += x;
        want[k].second++;
    }
    adds.flush(Agg::sum);
    std::map<std::string, std::pair<int64_t, int64_t>> got;
    t.for_each([&](std::string_view k, int64_t sum, int64_t count) {
        EXPECT_TRUE(got.emplace(std::string(k), std::make_pair(sum, count)).second) << "twice: " << k;
    });
    EXPECT_EQ(t.size(), want.size());
    EXPECT_EQ(got, want);
    EXPECT_TRUE(spill.empty());

    // The close: every key into the KeyTable, merged with what is there.
    KeyTable<Acc> table;
    table.find_or_insert("k1", key_hash("k1"), Acc{}).add(Agg::sum, Num::of_int(1000), Order{});
    t.fold_into(table, Agg::sum);
    EXPECT_EQ(table.size(), want.size() + (want.count("k1") ? 0 : 1));
    for (const auto& [k, sc] : want) {
        Acc* a = table.find(k, key_hash(k));
        ASSERT_NE(a, nullptr) << k;
        EXPECT_EQ(a->v.i, sc.first + (k == "k1" ? 1000 : 0)) << k;
        EXPECT_EQ(a->n, sc.second + (k == "k1" ? 1 : 0)) << k;
    }
}

// A sum beyond 40 bits (or a count beyond 24) spills the key into the
// KeyTable: its sum and count so far as one Acc, then every add in turn, so
// an int64 overflow turns into a double exactly where adding one value at a
// time would.
TEST(ShortKeySums, AKeyOutgrowingItsBitsGoesOnInTheKeyTable) {
    ShortKeySums t;
    KeyTable<Acc> spill;
    auto add = [&](std::string_view k, int64_t x) {
        const uint64_t p = ShortKeySums::pack(k);
        t.add(p, ShortKeySums::hash(p), x, spill, Agg::sum);
    };
    const int64_t max40 = (int64_t(1) << 39) - 1;
    add("small", 3);
    add("edge", max40);  // fits
    add("edge", -max40 - 1);
    add("wide", max40);
    add("wide", 1);              // 2^39: spilled with sum max40 and count 1, then + 1
    add("wide", INT64_MAX - 5);  // from here on in the KeyTable: overflows into a double
    add("wide", -10);
    add("huge", INT64_MIN);  // spilled at its first add
    add("huge", -1);
    add("small", 4);
    std::map<std::string, std::pair<int64_t, int64_t>> kept;
    t.for_each([&](std::string_view k, int64_t sum, int64_t count) { kept[std::string(k)] = {sum, count}; });
    EXPECT_EQ(kept, (std::map<std::string, std::pair<int64_t, int64_t>>{{"edge", {-1, 2}}, {"small", {7, 2}}}));
    EXPECT_EQ(t.size(), 4u) << "a spilled key keeps its slot";

    Acc want_wide;
    for (int64_t x : {max40, int64_t(1), INT64_MAX - 5, int64_t(-10)}) want_wide.add(Agg::sum, Num::of_int(x), Order{});
    Acc* wide = spill.find("wide", key_hash("wide"));
    ASSERT_NE(wide, nullptr);
    EXPECT_FALSE(wide->v.is_int) << "the int64 overflow made a double";
    EXPECT_EQ(wide->v.d, want_wide.v.d);
    EXPECT_EQ(wide->n, 4);
    Acc* huge = spill.find("huge", key_hash("huge"));
    ASSERT_NE(huge, nullptr);
    EXPECT_EQ(huge->n, 2);
    EXPECT_FALSE(huge->v.is_int) << "INT64_MIN - 1 overflows";
    EXPECT_EQ(spill.size(), 2u);
}

TEST(ShortKeySums, ACountBeyondTwentyFourBitsSpills) {
    ShortKeySums t;
    KeyTable<Acc> spill;
    const uint64_t p = ShortKeySums::pack("w");
    const int64_t n = (int64_t(1) << 24) + 5;
    for (int64_t i = 0; i < n; i++) t.add(p, ShortKeySums::hash(p), 1, spill, Agg::count);
    int64_t kept = 0;
    t.for_each([&](std::string_view, int64_t, int64_t count) { kept += count; });
    EXPECT_EQ(kept, 0) << "spilled";
    Acc* w = spill.find("w", key_hash("w"));
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->n, n);
    EXPECT_EQ(w->result(Agg::count).i, n);
}

}  // namespace
}  // namespace sluice::ops
