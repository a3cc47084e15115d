// SPDX-License-Identifier: Apache-2.0
// for_each_piece against a byte-by-byte split, for records of every length
// around the 16-byte blocks, separator runs at either end, and separators
// that are NUL or high bytes. Each record is its own exact heap allocation,
// so AddressSanitizer reports any read past its end.
#include "operators/split.h"

#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ops {
namespace {

std::vector<std::string> reference_split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c != sep) {
            cur += c;
        } else if (!cur.empty()) {
            out.push_back(cur);
            cur.clear();
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

std::vector<std::string> pieces(std::string_view s, char sep) {
    std::vector<std::string> out;
    for_each_piece(s, sep, [&](std::string_view p) { out.emplace_back(p); });
    return out;
}

TEST(ForEachPiece, KnownCases) {
    using v = std::vector<std::string>;
    EXPECT_EQ(pieces("", ' '), v{});
    EXPECT_EQ(pieces("   ", ' '), v{});
    EXPECT_EQ(pieces("a", ' '), v{"a"});
    EXPECT_EQ(pieces(" a  b ", ' '), (v{"a", "b"}));
    EXPECT_EQ(pieces("w1 w22 w333 w4444 w55555 w666666", ' '), (v{"w1", "w22", "w333", "w4444", "w55555", "w666666"}));
    // A piece across the 16-byte block boundary, and one ending exactly on it.
    EXPECT_EQ(pieces("0123456789abcdefghij k", ' '), (v{"0123456789abcdefghij", "k"}));
    EXPECT_EQ(pieces("0123456789abcde 0123456789abcde ", ' '), (v{"0123456789abcde", "0123456789abcde"}));
}

TEST(ForEachPiece, AgreesWithAByteLoopOnRandomRecords) {
    std::mt19937 rng(7);
    const char alphabet[] = {'a', 'b', ' ', ',', '\0', '\xff'};
    for (char sep : {' ', ',', '\0', '\xff'}) {
        for (size_t n = 0; n <= 70; n++) {
            for (int round = 0; round < 40; round++) {
                std::unique_ptr<char[]> rec(new char[n == 0 ? 1 : n]);
                for (size_t i = 0; i < n; i++) rec[i] = alphabet[rng() % sizeof alphabet];
                const std::string_view s(rec.get(), n);
                ASSERT_EQ(pieces(s, sep), reference_split(s, sep)) << "n=" << n << " sep=" << int(sep);
            }
        }
    }
}

}  // namespace
}  // namespace sluice::ops
