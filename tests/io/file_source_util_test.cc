// SPDX-License-Identifier: Apache-2.0
#include "io/file_source_util.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "io/atomic_file.h"

namespace sluice {
namespace {

TEST(PositionFile, ParsesFlumesFormat) {
    auto r = parse_position_file(
        "[{\"inode\":2496272,\"pos\":12,\"file\":\"/var/log/test1/example.log\"},"
        "{\"inode\":2496275,\"pos\":0,\"file\":\"/var/log/test2/app.log\"}]");
    ASSERT_TRUE(r) << r.status().to_string();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].inode, 2496272u);
    EXPECT_EQ((*r)[0].pos, 12u);
    EXPECT_EQ((*r)[0].file, "/var/log/test1/example.log");
    EXPECT_EQ((*r)[1].inode, 2496275u);
    EXPECT_EQ((*r)[1].pos, 0u);
}

TEST(PositionFile, WhitespaceKeyOrderUnknownKeysAndEscapes) {
    auto r = parse_position_file(
        " [ \n { \"file\" : \"/a\\\"b\\\\c\\u00e9\\ud83d\\ude00\\/d\" , \"extra\": {\"x\":[1,2,{\"y\":null}]},"
        " \"pos\" : 5 , \"inode\" : 18446744073709551615 } ] \n");
    ASSERT_TRUE(r) << r.status().to_string();
    ASSERT_EQ(r->size(), 1u);
    EXPECT_EQ((*r)[0].file, "/a\"b\\c\xC3\xA9\xF0\x9F\x98\x80/d");
    EXPECT_EQ((*r)[0].pos, 5u);
    EXPECT_EQ((*r)[0].inode, UINT64_MAX);
}

TEST(PositionFile, EmptyArray) {
    auto r = parse_position_file("[]");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
}

TEST(PositionFile, RejectsMalformedInput) {
    for (const char* bad : {"", "[", "{}", "[{}]", "[{\"inode\":1,\"pos\":2}]", "[{\"inode\":1,\"pos\":2,\"file\":3}]",
                            "[{\"inode\":-1,\"pos\":2,\"file\":\"a\"}]", "[{\"inode\":1,\"pos\":2,\"file\":\"a\"}] x",
                            "[{\"inode\":1,\"pos\":2,\"file\":\"a\"},]", "[{\"inode\":99999999999999999999,\"pos\":2,\"file\":\"a\"}]",
                            "[{\"inode\":1,\"pos\":2,\"file\":\"a\n\"}]", "[{\"inode\":1,\"pos\":2,\"file\":\"\\x\"}]"}) {
        auto r = parse_position_file(bad);
        EXPECT_FALSE(r) << "accepted: " << bad;
        if (!r) {
            EXPECT_EQ(r.status().code(), errc::corrupt);
        }
    }
}

TEST(PositionFile, MissingKeyNamesFlumesMessage) {
    auto r = parse_position_file("[{\"inode\":7,\"file\":\"/x\"}]");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.status().message(), "Detected missing value in position file. inode: 7, pos: null, path: /x");
}

TEST(PositionFile, FormatRoundTrips) {
    std::vector<TailPosition> in = {{1, 2, "/var/log/a.log"}, {3, 4, "/odd \"name\"\\with\ttab"}};
    std::string text = format_position_file(in);
    EXPECT_EQ(text.substr(0, 45), "[{\"inode\":1,\"pos\":2,\"file\":\"/var/log/a.log\"},");
    auto r = parse_position_file(text);
    ASSERT_TRUE(r) << r.status().to_string();
    ASSERT_EQ(r->size(), 2u);
    for (size_t i = 0; i < 2; i++) {
        EXPECT_EQ((*r)[i].inode, in[i].inode);
        EXPECT_EQ((*r)[i].pos, in[i].pos);
        EXPECT_EQ((*r)[i].file, in[i].file);
    }
    EXPECT_EQ(format_position_file({}), "[]");
}

TEST(Charsets, DecodePolicies) {
    std::string out;
    EXPECT_TRUE(decode_to_utf8("a\xC3\xA9z", charset::utf8, decode_policy::fail, out));
    EXPECT_EQ(out, "a\xC3\xA9z");
    out.clear();
    EXPECT_FALSE(decode_to_utf8("a\xFFz", charset::utf8, decode_policy::fail, out));
    out.clear();
    EXPECT_TRUE(decode_to_utf8("a\xFFz", charset::utf8, decode_policy::replace, out));
    EXPECT_EQ(out, "a\xEF\xBF\xBDz");
    out.clear();
    EXPECT_TRUE(decode_to_utf8("a\xFFz", charset::utf8, decode_policy::ignore, out));
    EXPECT_EQ(out, "az");
    out.clear();
    EXPECT_TRUE(decode_to_utf8("\xE9", charset::latin1, decode_policy::fail, out));
    EXPECT_EQ(out, "\xC3\xA9");
    out.clear();
    EXPECT_FALSE(decode_to_utf8("\xE9", charset::ascii, decode_policy::fail, out));
    // Overlong and surrogate encodings are not valid UTF-8.
    out.clear();
    EXPECT_FALSE(decode_to_utf8("\xC0\xAF", charset::utf8, decode_policy::fail, out));
    out.clear();
    EXPECT_FALSE(decode_to_utf8("\xED\xA0\x80", charset::utf8, decode_policy::fail, out));
}

TEST(Charsets, BytesForJavaChars) {
    size_t chars = 0;
    EXPECT_EQ(bytes_for_chars("abcdef", charset::utf8, 4, &chars), 4u);
    EXPECT_EQ(chars, 4u);
    EXPECT_EQ(bytes_for_chars("\xC3\xA9\xC3\xA9\xC3\xA9", charset::utf8, 2, &chars), 4u);
    EXPECT_EQ(bytes_for_chars("ab", charset::utf8, 5, &chars), 2u);
    EXPECT_EQ(chars, 2u);
    // A character outside the BMP is two Java chars.
    EXPECT_EQ(bytes_for_chars("\xF0\x9F\x98\x80x", charset::utf8, 2, &chars), 4u);
    EXPECT_EQ(chars, 2u);
    EXPECT_EQ(bytes_for_chars("\xE9\xE9\xE9", charset::latin1, 2, &chars), 2u);
}

TEST(Charsets, Names) {
    charset cs;
    EXPECT_TRUE(parse_charset("utf-8", cs));
    EXPECT_EQ(cs, charset::utf8);
    EXPECT_TRUE(parse_charset("ISO-8859-1", cs));
    EXPECT_EQ(cs, charset::latin1);
    EXPECT_TRUE(parse_charset("US-ASCII", cs));
    EXPECT_EQ(cs, charset::ascii);
    EXPECT_FALSE(parse_charset("UTF-16", cs));
}

TEST(OwnerShard, StableAndInRange) {
    EXPECT_EQ(owner_shard("r1", 1), 0u);
    for (unsigned n = 1; n < 9; n++) EXPECT_LT(owner_shard("some-source", n), n);
    EXPECT_EQ(owner_shard("r1", 4), owner_shard("r1", 4));
    // Different names spread: not all of 16 names on one of 4 shards.
    std::vector<int> seen(4);
    for (int i = 0; i < 16; i++) seen[owner_shard("src" + std::to_string(i), 4)]++;
    EXPECT_LT(*std::max_element(seen.begin(), seen.end()), 16);
}

TEST(AtomicWrite, ReplacesTheFile) {
    char tmpl[] = "/tmp/sluice-fsu-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string path = std::string(tmpl) + "/p.json";
    ASSERT_TRUE(write_file_atomically(path, "first", true));
    ASSERT_TRUE(write_file_atomically(path, "second", false));
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), "second");
    EXPECT_NE(access((path + ".tmp").c_str(), F_OK), 0);
    unlink(path.c_str());
    rmdir(tmpl);
    EXPECT_FALSE(write_file_atomically("/nonexistent-dir/x/p.json", "x", false));
}

TEST(Regex, CompileErrorsAreValues) {
    EXPECT_TRUE(compile_regex("^.*\\.log$"));
    EXPECT_FALSE(compile_regex("(unclosed"));
    EXPECT_FALSE(compile_regex("a{99999}"));
}

}  // namespace
}  // namespace sluice
