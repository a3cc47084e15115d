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
    std::map<std::string, std::pair<int64_t, int64_t>> want;  // sum, count
    std::mt19937 rng(11);
    for (int i = 0; i < 200000; i++) {
        std::string k = "k" + std::to_string(rng() % 30000);  // 2 to 6 bytes
        const int64_t x = int64_t(rng() % 200) - 100;
        adds.push(t, k, x);
        want[k].first += x;
        want[k].second++;
    }
    adds.flush();
    std::map<std::string, std::pair<int64_t, int64_t>> got;
    t.for_each([&](std::string_view k, int64_t sum, int64_t count) {
        EXPECT_TRUE(got.emplace(std::string(k), std::make_pair(sum, count)).second) << "twice: " << k;
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
    std::map<std::string, std::pair<int64_t, int64_t>> kept;
    t.for_each([&](std::string_view k, int64_t sum, int64_t count) { kept[std::string(k)] = {sum, count}; });
    EXPECT_EQ(kept, (std::map<std::string, std::pair<int64_t, int64_t>>{{"small", {7, 2}}}));
    ASSERT_EQ(t.spilled().size(), 3u);
    EXPECT_EQ(ShortKeySums::unpack(t.spilled()[0].key), "big");
    EXPECT_EQ(t.spilled()[0].sum, INT64_MAX) << "the sum before the overflow";
    EXPECT_EQ(t.spilled()[0].count, 2);
    EXPECT_EQ(t.spilled()[1].sum, 1) << "the add that would overflow";
    EXPECT_EQ(t.spilled()[1].count, 1);
    EXPECT_EQ(t.spilled()[2].sum, -5) << "a later add, in order";
    EXPECT_EQ(t.size(), 2u) << "a spilled key still has its slot";
}

}  // namespace
}  // namespace sluice::ops
