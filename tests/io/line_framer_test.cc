// SPDX-License-Identifier: Apache-2.0
// Netcat line framing (reference/flume.md §4.1): split on '\n' only, '\r'
// kept, at most max_chars - 1 Java characters before the newline.
#include "io/line_framer.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sluice {
namespace {

// ------------------------------------------------------------ java_char_count

TEST(JavaCharCount, Ascii) {
    EXPECT_EQ(java_char_count(""), 0u);
    EXPECT_EQ(java_char_count("a"), 1u);
    EXPECT_EQ(java_char_count("hello world\r"), 12u);
    EXPECT_EQ(java_char_count(std::string_view("\0\x7F", 2)), 2u);
}

TEST(JavaCharCount, MultiByteSequences) {
    EXPECT_EQ(java_char_count("\xC3\xA9"), 1u);          // U+00E9, 2 bytes
    EXPECT_EQ(java_char_count("\xDF\xBF"), 1u);          // U+07FF, 2 bytes
    EXPECT_EQ(java_char_count("\xE2\x82\xAC"), 1u);      // U+20AC, 3 bytes
    EXPECT_EQ(java_char_count("\xEF\xBF\xBF"), 1u);      // U+FFFF, 3 bytes
    EXPECT_EQ(java_char_count("\xF0\x9F\x98\x80"), 2u);  // U+1F600: a surrogate pair
    EXPECT_EQ(java_char_count("\xF4\x8F\xBF\xBF"), 2u);  // U+10FFFF
    EXPECT_EQ(java_char_count("a\xC3\xA9" "b\xE2\x82\xAC" "c\xF0\x9F\x98\x80"), 7u);
}

TEST(JavaCharCount, InvalidBytesCountOneEach) {
    EXPECT_EQ(java_char_count("\x80"), 1u);              // stray continuation byte
    EXPECT_EQ(java_char_count("\x80\x80\x80"), 3u);
    EXPECT_EQ(java_char_count("\xC0\xAF"), 2u);          // C0/C1 are never lead bytes
    EXPECT_EQ(java_char_count("\xFF\xFE"), 2u);
    EXPECT_EQ(java_char_count("\xF5\x80\x80\x80"), 4u);  // F5.. are never lead bytes
    EXPECT_EQ(java_char_count("a\xFF" "b"), 3u);
}

TEST(JavaCharCount, TruncatedSequences) {
    // A lead byte without all its continuation bytes is one character, and
    // the continuation bytes that were there count on their own.
    EXPECT_EQ(java_char_count("\xC3"), 1u);
    EXPECT_EQ(java_char_count("\xE2\x82"), 2u);
    EXPECT_EQ(java_char_count("\xF0\x9F\x98"), 3u);
    EXPECT_EQ(java_char_count("\xE2" "a"), 2u);          // interrupted by ASCII
    EXPECT_EQ(java_char_count("\xF0\x9F" "ab"), 4u);
    EXPECT_EQ(java_char_count("ab\xC3"), 3u);
}

// ------------------------------------------------------------ frame_lines

struct framed {
    std::vector<std::string> lines;
    FrameResult result;
};

framed frame(std::string_view text, size_t max_chars, size_t stop_after = SIZE_MAX) {
    framed f;
    f.result = frame_lines(text, max_chars, [&](size_t off, size_t len) {
        EXPECT_LE(off + len, text.size());
        EXPECT_EQ(text[off + len], '\n');
        f.lines.emplace_back(text.substr(off, len));
        return f.lines.size() < stop_after;
    });
    return f;
}

using lines = std::vector<std::string>;

TEST(FrameLines, SplitsOnNewlineOnlyAndKeepsCarriageReturns) {
    auto f = frame("one\r\ntwo\n\nthree\rstill three\n", 512);
    EXPECT_EQ(f.lines, (lines{"one\r", "two", "", "three\rstill three"}));
    EXPECT_FALSE(f.result.too_long);
    EXPECT_EQ(f.result.consumed, 28u);
}

TEST(FrameLines, IncompleteTailIsNotConsumed) {
    std::string text = "a\nbc\npartial";
    auto f = frame(text, 512);
    EXPECT_EQ(f.lines, (lines{"a", "bc"}));
    EXPECT_EQ(f.result.consumed, 5u);
    EXPECT_FALSE(f.result.too_long);

    auto none = frame("no newline", 512);
    EXPECT_TRUE(none.lines.empty());
    EXPECT_EQ(none.result.consumed, 0u);

    auto empty = frame("", 512);
    EXPECT_TRUE(empty.lines.empty());
    EXPECT_EQ(empty.result.consumed, 0u);
}

TEST(FrameLines, EmptyLines) {
    auto f = frame("\n\n\n", 512);
    EXPECT_EQ(f.lines, (lines{"", "", ""}));
    EXPECT_EQ(f.result.consumed, 3u);
}

// The stream arrives in two reads split at every position; a reader keeps the
// unconsumed tail and frames it again with the next read, as the netcat source
// does. The lines must be the same whatever the split.
TEST(FrameLines, SameLinesAtEverySplitPosition) {
    const std::string text = "alpha\r\n\nb\xC3\xA9ta\ngamma \xF0\x9F\x98\x80\nlast line\ntail";
    const lines expect = {"alpha\r", "", "b\xC3\xA9ta", "gamma \xF0\x9F\x98\x80", "last line"};
    for (size_t split = 0; split <= text.size(); split++) {
        lines got;
        std::string buffer;
        for (std::string_view part : {std::string_view(text).substr(0, split), std::string_view(text).substr(split)}) {
            buffer += part;
            auto r = frame_lines(buffer, 64, [&](size_t off, size_t len) {
                got.emplace_back(buffer.substr(off, len));
                return true;
            });
            ASSERT_FALSE(r.too_long);
            buffer.erase(0, r.consumed);
        }
        EXPECT_EQ(got, expect) << "split at " << split;
        EXPECT_EQ(buffer, "tail") << "split at " << split;
    }
}

TEST(FrameLines, LongestAcceptedLineIsMaxCharsMinusOne) {
    const size_t max = 10;
    auto ok = frame(std::string(9, 'x') + "\nnext\n", max);
    EXPECT_FALSE(ok.result.too_long);
    EXPECT_EQ(ok.lines, (lines{std::string(9, 'x'), "next"}));
    EXPECT_EQ(ok.result.consumed, 15u);

    // max_chars characters before the newline: too long.
    auto bad = frame("ok\n" + std::string(10, 'x') + "\n", max);
    EXPECT_TRUE(bad.result.too_long);
    EXPECT_EQ(bad.lines, (lines{"ok"}));
    EXPECT_EQ(bad.result.consumed, 3u) << "framing stops at the start of the long line";
}

TEST(FrameLines, TooLongWithoutNewline) {
    const size_t max = 10;
    // max_chars - 1 characters and no newline yet: keep waiting.
    auto wait = frame(std::string(9, 'x'), max);
    EXPECT_FALSE(wait.result.too_long);
    EXPECT_EQ(wait.result.consumed, 0u);
    // max_chars characters without a newline: the buffer is full.
    auto full = frame(std::string(10, 'x'), max);
    EXPECT_TRUE(full.result.too_long);
    EXPECT_EQ(full.result.consumed, 0u);
    auto after = frame("a\nb\n" + std::string(25, 'y'), max);
    EXPECT_TRUE(after.result.too_long);
    EXPECT_EQ(after.lines, (lines{"a", "b"}));
    EXPECT_EQ(after.result.consumed, 4u);
}

TEST(FrameLines, MultiByteLinesCountCharactersNotBytes) {
    const size_t max = 5;
    // Four 2-byte characters = 8 bytes but 4 chars: accepted.
    std::string four = "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9";
    auto ok = frame(four + "\n", max);
    EXPECT_FALSE(ok.result.too_long);
    EXPECT_EQ(ok.lines, (lines{four}));
    // Five: too long.
    auto bad = frame(four + "\xC3\xA9\n", max);
    EXPECT_TRUE(bad.result.too_long);
    EXPECT_TRUE(bad.lines.empty());
    // Two emoji = 8 bytes = 4 chars: accepted; three = 6 chars: too long.
    std::string emoji = "\xF0\x9F\x98\x80";
    EXPECT_FALSE(frame(emoji + emoji + "\n", max).result.too_long);
    EXPECT_TRUE(frame(emoji + emoji + emoji + "\n", max).result.too_long);
    // Three-byte characters: 4 of them (12 bytes) accepted without a newline yet,
    // 5 (15 bytes) fill the buffer.
    std::string euro = "\xE2\x82\xAC";
    EXPECT_FALSE(frame(euro + euro + euro + euro, max).result.too_long);
    EXPECT_TRUE(frame(euro + euro + euro + euro + euro, max).result.too_long);
    // Invalid bytes count one each.
    EXPECT_FALSE(frame("\xFF\xFF\xFF\xFF\n", max).result.too_long);
    EXPECT_TRUE(frame("\xFF\xFF\xFF\xFF\xFF\n", max).result.too_long);
}

// A read may end inside a multi-byte character. Flume decodes before it
// counts, so the incomplete character waits for its other bytes and counts
// nothing yet; counting its bytes as separate invalid characters would call
// a line too long that is not. "abcd\u20AC" is 5 characters (max_chars 6
// accepts it) whatever the split; so is "abc" U+1F600 (3 + 2).
TEST(FrameLines, ReadEndingInsideACharacterDoesNotMakeALineTooLong) {
    for (std::string text : {std::string("abcd\xE2\x82\xAC\n"), std::string("abc\xF0\x9F\x98\x80\n")}) {
        for (size_t split = 1; split < text.size(); split++) {
            std::string_view first = std::string_view(text).substr(0, split);
            auto r = frame_lines(first, 6, [](size_t, size_t) { return true; });
            EXPECT_FALSE(r.too_long) << "split at " << split << " of " << testing::PrintToString(text);
            EXPECT_EQ(r.consumed, 0u);
        }
        auto whole = frame(text, 6);
        EXPECT_FALSE(whole.result.too_long);
        EXPECT_EQ(whole.lines.size(), 1u);
    }
}

TEST(FrameLines, StopsEarlyWhenOnLineSaysSo) {
    auto f = frame("a\nbb\nccc\nd\n", 512, 2);
    EXPECT_EQ(f.lines, (lines{"a", "bb"}));
    EXPECT_EQ(f.result.consumed, 5u) << "consumed points after the last framed line";
    EXPECT_FALSE(f.result.too_long);

    auto first = frame("a\nbb\n", 512, 1);
    EXPECT_EQ(first.lines, (lines{"a"}));
    EXPECT_EQ(first.result.consumed, 2u);
}

TEST(FrameLines, MaxCharsOne) {
    // Only empty lines fit.
    auto f = frame("\n\nx\n", 1);
    EXPECT_EQ(f.lines, (lines{"", ""}));
    EXPECT_TRUE(f.result.too_long);
    EXPECT_EQ(f.result.consumed, 2u);
}

}  // namespace
}  // namespace sluice
