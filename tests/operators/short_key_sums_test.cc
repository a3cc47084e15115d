// SPDX-License-Identifier: Apache-2.0
// ShortKeySums against std::map (every key length, any byte, through
// growth), the packing of keys, and the spill of a sum that would overflow.
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
    ShortKeyAdds adds;
    std::map<std::string, int64_t> want;
    std::mt19937 rng(11);
    for (int i = 0; i < 200000; i++) {
        std::string k = "k" + std::to_string(rng() % 30000);  // 2 to 6 bytes
        const int64_t x = int64_t(rng() % 200) - 100;
        adds.push(t, k, x);
        want[k] += x;
    }
    adds.flush();
    std::map<std::string, int64_t> got;
    t.for_each([&](std::string_view k, int64_t sum) {
        EXPECT_TRUE(got.emplace(std::string(k), sum).second) << "twice: " << k;
    });
    EXPECT_EQ(t.size(), want.size());
    EXPECT_EQ(got, want);
    EXPECT_TRUE(t.spilled().empty());
}

TEST(ShortKeySums, AnOverflowingSumSpillsTheKeyAndEveryLaterAddInOrder) {
    ShortKeySums t;
    auto add = [&](std::string_view k, int64_t x) {
        const uint64_t p = ShortKeySums::pack(k);
        t.add(p, ShortKeySums::hash(p), x);
    };
    add("big", INT64_MAX - 1);
    add("small", 3);
    add("big", 1);  // INT64_MAX: still fits
    add("big", 1);  // would overflow: spilled from here on
    add("small", 4);
    add("big", -5);
    add("low", -5);
    add("low", INT64_MIN + 5);  // INT64_MIN itself marks a spilled key: spilled too
    add("min", INT64_MIN);      // likewise, from the first add
    add("min", 1);
    std::map<std::string, int64_t> kept;
    t.for_each([&](std::string_view k, int64_t sum) { kept[std::string(k)] = sum; });
    EXPECT_EQ(kept, (std::map<std::string, int64_t>{{"small", 7}}));
    std::vector<std::pair<std::string, int64_t>> spilled;
    for (const auto& s : t.spilled()) spilled.emplace_back(std::string(ShortKeySums::unpack(s.key)), s.sum);
    EXPECT_EQ(spilled, (std::vector<std::pair<std::string, int64_t>>{{"big", INT64_MAX},  // the sum before
                                                                      {"big", 1},          // the add that overflows
                                                                      {"big", -5},         // a later add, in order
                                                                      {"low", -5},
                                                                      {"low", INT64_MIN + 5},
                                                                      {"min", INT64_MIN},
                                                                      {"min", 1}}));
    EXPECT_EQ(t.size(), 4u) << "a spilled key keeps its slot";
}

}  // namespace
}  // namespace sluice::ops
