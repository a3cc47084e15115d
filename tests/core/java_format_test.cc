// SPDX-License-Identifier: Apache-2.0
// How Flume prints things: String.hashCode, HashMap<String,String>.toString
// order, and the commons-io hex dump of the logger sink (reference/flume.md §9).
#include "core/java_format.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sluice {
namespace {

// ------------------------------------------------------------ String.hashCode
// h = s[0]*31^(n-1) + ... + s[n-1] over UTF-16 code units, in 32-bit
// two's-complement arithmetic.

TEST(JavaStringHash, Ascii) {
    EXPECT_EQ(java_string_hash(""), 0);
    EXPECT_EQ(java_string_hash("a"), 97);
    EXPECT_EQ(java_string_hash("ab"), 97 * 31 + 98);  // 3105
    EXPECT_EQ(java_string_hash("hello"), 99162322);
    // Overflows 32 bits: "partition".hashCode() is negative in Java.
    EXPECT_EQ(java_string_hash("partition"), -1799810326);
    EXPECT_EQ(java_string_hash("timestamp"), 55126294);
    EXPECT_EQ(java_string_hash("host"), 3208616);
}

TEST(JavaStringHash, BmpCharactersAreOneCodeUnit) {
    // U+00E9 (UTF-8 C3 A9) is the single unit 0xE9 = 233.
    EXPECT_EQ(java_string_hash("\xC3\xA9"), 233);
    // "h\u00e9llo": 104*31^4 + 233*31^3 + 108*31^2 + 108*31 + 111
    //   = 96046184 + 6941303 + 103788 + 3348 + 111 = 103094734
    EXPECT_EQ(java_string_hash("h\xC3\xA9llo"), 103094734);
    // U+20AC (E2 82 AC) = 8364.
    EXPECT_EQ(java_string_hash("\xE2\x82\xAC"), 8364);
}

TEST(JavaStringHash, SupplementaryCharactersAreSurrogatePairs) {
    // U+1F600 (F0 9F 98 80): 0x1F600 - 0x10000 = 0xF600;
    // high = 0xD800 + (0xF600 >> 10) = 0xD83D = 55357,
    // low  = 0xDC00 + (0xF600 & 0x3FF) = 0xDE00 = 56832;
    // hash = 55357*31 + 56832 = 1772899.
    EXPECT_EQ(java_string_hash("\xF0\x9F\x98\x80"), 1772899);
    // "a" U+1F600 "b": ((97*31 + 55357)*31 + 56832)*31 + 98
    //   = ((3007 + 55357)*31 + 56832)*31 + 98 = (1809284 + 56832)*31 + 98 = 57849694
    EXPECT_EQ(java_string_hash("a\xF0\x9F\x98\x80" "b"), 57849694);
}

TEST(JavaStringHash, MalformedBytesHashAsReplacementCharacters) {
    // Java decodes a malformed byte to U+FFFD (65533).
    EXPECT_EQ(java_string_hash("\xFF"), 65533);
    EXPECT_EQ(java_string_hash("a\x80"), 97 * 31 + 65533);
}

// ------------------------------------------------------------ HashMap order

std::string headers_string(const std::vector<std::pair<std::string, std::string>>& headers) {
    EventBatch b;
    b.add("body");
    for (auto& [k, v] : headers) b.add_header(k, v);
    return java_headers_string(b[0]);
}

TEST(JavaHeadersString, Empty) {
    EventBatch b;
    b.add("x");
    EXPECT_EQ(java_headers_string(b[0]), "{}");
}

TEST(JavaHeadersString, OneHeader) { EXPECT_EQ(headers_string({{"host", "example"}}), "{host=example}"); }

// Buckets in a table of 16: index = (h ^ (h >>> 16)) & 15.
//   "timestamp": h = 0x03492916, h>>>16 = 0x0349, xor = 0x03492A5F -> 15
//   "host":      h = 0x0030F5A8, h>>>16 = 0x0030, xor = 0x0030F598 -> 8
//   "a":         h = 97 = 0x61 -> 1
//   "b":         h = 98 = 0x62 -> 2
//   "x":         h = 120 = 0x78 -> 8 (the same bucket as "host")
TEST(JavaHeadersString, BucketOrder) {
    EXPECT_EQ(headers_string({{"timestamp", "1"}, {"host", "h"}, {"a", "x"}, {"b", "y"}}),
              "{a=x, b=y, host=h, timestamp=1}");
}

TEST(JavaHeadersString, InsertionOrderWithinABucket) {
    EXPECT_EQ(headers_string({{"x", "1"}, {"timestamp", "2"}, {"host", "3"}, {"a", "4"}}),
              "{a=4, x=1, host=3, timestamp=2}");
    EXPECT_EQ(headers_string({{"host", "3"}, {"x", "1"}}), "{host=3, x=1}");
}

TEST(JavaHeadersString, DuplicateKeysKeepTheFirstPositionAndTheLastValue) {
    EXPECT_EQ(headers_string({{"x", "1"}, {"host", "h1"}, {"x", "2"}}), "{x=2, host=h1}");
    EXPECT_EQ(headers_string({{"host", "h1"}, {"a", "1"}, {"host", "h2"}}), "{a=1, host=h2}");
}

// "k0".."k9" hash to 3365..3374 (0xD25..0xD2E): buckets 5..14 in a table of
// 16 or 32; "k10" = 104394 = 0x197CA, spread 0x197CB: bucket 11 either way.
// "host" is bucket 8 of 16 but 24 of 32 (0x0030F598 & 31), "timestamp" 15 or
// 31. Twelve entries fit a table of 16 (threshold 12); the 13th doubles it.
TEST(JavaHeadersString, TableGrowsPastTwelveEntries) {
    std::vector<std::pair<std::string, std::string>> twelve = {{"host", "h"}, {"timestamp", "t"}};
    for (int i = 0; i < 10; i++) twelve.emplace_back("k" + std::to_string(i), std::to_string(i));
    EXPECT_EQ(headers_string(twelve), "{k0=0, k1=1, k2=2, host=h, k3=3, k4=4, k5=5, k6=6, k7=7, k8=8, k9=9, timestamp=t}");
    auto thirteen = twelve;
    thirteen.emplace_back("k10", "10");
    EXPECT_EQ(headers_string(thirteen),
              "{k0=0, k1=1, k2=2, k3=3, k4=4, k5=5, k6=6, k10=10, k7=7, k8=8, k9=9, host=h, timestamp=t}");
}

// java.util.HashMap also resizes when one bucket's list reaches 9 entries
// while the table is smaller than 64 (treeifyBin -> resize), even far below
// the load-factor threshold. Nine keys of bucket 8 (of 16):
//   "(" 40, "8" 56, "H" 72, "X" 88, "h" 104, "x" 120, "a9" 3064, "aI" 3080, "aY" 3096
// In a table of 32 they split into bucket 8 ("(", "H", "h", "aI") and
// bucket 24 ("8", "X", "x", "a9", "aY").
TEST(JavaHeadersString, NineCollisionsInOneBucketResizeTheTable) {
    std::vector<std::pair<std::string, std::string>> eight;
    for (const char* k : {"(", "8", "H", "X", "h", "x", "a9", "aI"}) eight.emplace_back(k, "v");
    EXPECT_EQ(headers_string(eight), "{(=v, 8=v, H=v, X=v, h=v, x=v, a9=v, aI=v}");
    auto nine = eight;
    nine.emplace_back("aY", "v");
    EXPECT_EQ(headers_string(nine), "{(=v, H=v, h=v, aI=v, 8=v, X=v, x=v, a9=v, aY=v}");
}

// ------------------------------------------------------------ hex dump
// commons-io HexDump.dump, per 16-byte line: offset (8 upper-case hex
// digits), ' ', then for each of 16 positions "XX " or three spaces, then the
// bytes 32..126 as characters and the others as '.', then a line end. Flume
// strips the first "00000000" and the final line end.

TEST(FlumeHexDump, Hello) {
    EXPECT_EQ(flume_hex_dump("hello", 16), " 68 65 6C 6C 6F" + std::string(34, ' ') + "hello");
}

TEST(FlumeHexDump, EmptyBodyAndZeroMax) {
    EXPECT_EQ(flume_hex_dump("", 16), "");
    EXPECT_EQ(flume_hex_dump("hello", 0), "");
}

TEST(FlumeHexDump, ExactlySixteenBytesIsOneLine) {
    EXPECT_EQ(flume_hex_dump("0123456789ABCDEF", 16),
              " 30 31 32 33 34 35 36 37 38 39 41 42 43 44 45 46 0123456789ABCDEF");
}

TEST(FlumeHexDump, MaxBytesCutsTheBody) {
    std::string body = "abcdefghijklmnopqrst";  // 20 bytes
    const std::string line1 = " 61 62 63 64 65 66 67 68 69 6A 6B 6C 6D 6E 6F 70 abcdefghijklmnop";
    EXPECT_EQ(flume_hex_dump(body, 16), line1);
    EXPECT_EQ(flume_hex_dump(body, 32), line1 + "\n00000010 71 72 73 74 " + std::string(36, ' ') + "qrst");
    EXPECT_EQ(flume_hex_dump(body, 18), line1 + "\n00000010 71 72 " + std::string(42, ' ') + "qr");
    EXPECT_EQ(flume_hex_dump(body, 3), " 61 62 63" + std::string(40, ' ') + "abc");
}

TEST(FlumeHexDump, ThirdLineOffset) {
    std::string body(40, 'z');
    std::string zs = " 7A 7A 7A 7A 7A 7A 7A 7A 7A 7A 7A 7A 7A 7A 7A 7A zzzzzzzzzzzzzzzz";
    EXPECT_EQ(flume_hex_dump(body, 100), zs + "\n00000010" + zs + "\n00000020 7A 7A 7A 7A 7A 7A 7A 7A " +
                                             std::string(24, ' ') + "zzzzzzzz");
}

TEST(FlumeHexDump, NonPrintableBytesPrintAsDots) {
    std::string body = std::string("\x00\x1F\x20\x7E\x7F\x80\xC3\xA9\xFF\r\n", 11);
    EXPECT_EQ(flume_hex_dump(body, 16), " 00 1F 20 7E 7F 80 C3 A9 FF 0D 0A" + std::string(16, ' ') + ".. ~.......");
}

}  // namespace
}  // namespace sluice
