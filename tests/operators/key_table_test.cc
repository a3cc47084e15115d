// SPDX-License-Identifier: Apache-2.0
// KeyTable against std::map over many keys (short ones inline, long ones in
// the arena, through growth), remove_if, and KeyList keeping every entry.
#include "operators/key_table.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace sluice::ops {
namespace {

std::string key_of(int i) {
    // Every third key is longer than the 12 inline bytes.
    return i % 3 == 0 ? "a-longer-key-" + std::to_string(i) : "k" + std::to_string(i);
}

template <typename Table>
std::map<std::string, int64_t> contents(Table& t) {
    std::map<std::string, int64_t> m;
    t.for_each([&](std::string_view k, uint64_t h, int64_t& v) {
        EXPECT_EQ(h, key_hash(k)) << k;
        EXPECT_TRUE(m.emplace(std::string(k), v).second) << "twice: " << k;
    });
    return m;
}

TEST(KeyTable, AgreesWithAMapThroughGrowth) {
    KeyTable<int64_t> t;  // 16 slots: grows many times
    std::map<std::string, int64_t> want;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 20000; i++) {
            std::string k = key_of(i * 7 % 20000);
            bool inserted = false;
            t.find_or_insert(k, key_hash(k), 0, &inserted) += i;
            EXPECT_EQ(inserted, !want.count(k)) << k;
            want[k] += i;
        }
    }
    EXPECT_EQ(t.size(), want.size());
    EXPECT_EQ(contents(t), want);
    for (const auto& [k, v] : want) {
        int64_t* got = t.find(k, key_hash(k));
        ASSERT_NE(got, nullptr) << k;
        EXPECT_EQ(*got, v) << k;
    }
    EXPECT_EQ(t.find("absent", key_hash("absent")), nullptr);
    EXPECT_EQ(t.find("a-longer-key-absent", key_hash("a-longer-key-absent")), nullptr);
}

TEST(KeyTable, RemoveIfKeepsTheRest) {
    KeyTable<int64_t> t;
    for (int i = 0; i < 1000; i++) {
        std::string k = key_of(i);
        t.find_or_insert(k, key_hash(k), i);
    }
    t.remove_if([](std::string_view, int64_t& v) { return v % 2 == 1; });
    EXPECT_EQ(t.size(), 500u);
    for (int i = 0; i < 1000; i++) {
        std::string k = key_of(i);
        EXPECT_EQ(t.find(k, key_hash(k)) != nullptr, i % 2 == 0) << k;
    }
}

TEST(KeyList, HoldsEveryEntryOfTheTableAndLessMemory) {
    KeyTable<int64_t> t(40000);  // presized far beyond what it gets, as a quiet batch after a busy one
    std::map<std::string, int64_t> want;
    for (int i = 0; i < 3000; i++) {
        std::string k = key_of(i);
        t.find_or_insert(k, key_hash(k), i);
        want[k] = i;
    }
    const size_t table_bytes = t.memory_bytes();
    KeyList<int64_t> list(std::move(t));
    EXPECT_EQ(list.size(), want.size());
    EXPECT_EQ(contents(list), want);
    EXPECT_LT(list.memory_bytes() * 4, table_bytes) << "no empty slots are kept";
    EXPECT_EQ(t.size(), 0u) << "the table is left empty";
}

}  // namespace
}  // namespace sluice::ops
