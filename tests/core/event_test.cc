// SPDX-License-Identifier: Apache-2.0
// EventBatch / EventView / EventSpan: bodies and headers stored in one arena,
// copies between batches, the bulk append path, and spans.
#include "core/event.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace sluice {
namespace {

std::vector<std::pair<std::string, std::string>> headers_of(const EventView& e) {
    std::vector<std::pair<std::string, std::string>> v;
    for (uint32_t i = 0; i < e.header_count(); i++) {
        auto h = e.header(i);
        v.emplace_back(std::string(h.key), std::string(h.value));
    }
    return v;
}

using header_list = std::vector<std::pair<std::string, std::string>>;

TEST(EventBatch, AddBodiesAndHeaders) {
    EventBatch b;
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.add("first"), 0u);
    b.add_header("host", "h1");
    b.add_header("timestamp", "123");
    EXPECT_EQ(b.add(""), 1u);
    EXPECT_EQ(b.add(std::string_view("with\0nul", 8)), 2u);
    b.add_header("", "");  // empty key and value are kept
    b.add_header("k", "v");

    ASSERT_EQ(b.size(), 3u);
    EXPECT_FALSE(b.empty());
    EXPECT_EQ(b.body_bytes(), 5u + 0u + 8u);
    EXPECT_EQ(b[0].body(), "first");
    EXPECT_EQ(headers_of(b[0]), (header_list{{"host", "h1"}, {"timestamp", "123"}}));
    EXPECT_EQ(b[1].body(), "");
    EXPECT_EQ(b[1].header_count(), 0u);
    EXPECT_EQ(b[2].body(), std::string_view("with\0nul", 8));
    EXPECT_EQ(headers_of(b[2]), (header_list{{"", ""}, {"k", "v"}}));
}

TEST(EventBatch, ViewsStayValidAsTheArenaGrows) {
    // Views are (batch, index): they read the arena at access time, so adding
    // more events (which may reallocate it) does not invalidate them.
    EventBatch b;
    b.add("a");
    b.add_header("key", "value");
    EventView first = b[0];
    for (int i = 0; i < 1000; i++) b.add(std::string(100, char('a' + i % 26)));
    EXPECT_EQ(first.body(), "a");
    EXPECT_EQ(headers_of(first), (header_list{{"key", "value"}}));
    EXPECT_EQ(b[1000].body(), std::string(100, char('a' + 999 % 26)));
}

TEST(EventBatch, FindHeaderReturnsTheFirstMatch) {
    EventBatch b;
    b.add("x");
    b.add_header("a", "1");
    b.add_header("b", "2");
    b.add_header("a", "3");
    std::string_view v;
    ASSERT_TRUE(b[0].find_header("a", &v));
    EXPECT_EQ(v, "1");
    ASSERT_TRUE(b[0].find_header("b", &v));
    EXPECT_EQ(v, "2");
    EXPECT_FALSE(b[0].find_header("c", &v));
    EXPECT_FALSE(b[0].find_header("A", &v)) << "keys are case-sensitive";
}

TEST(EventBatch, AddViewCopiesBodyAndHeaders) {
    auto src = std::make_unique<EventBatch>();
    src->add("body-1");
    src->add_header("h", "1");
    src->add("body-2");
    src->add_header("x", "y");
    src->add_header("z", "");

    EventBatch dst;
    dst.add("existing");
    EXPECT_EQ(dst.add((*src)[1]), 1u);
    EXPECT_EQ(dst.add((*src)[0]), 2u);
    src.reset();  // the copies do not point into the source

    ASSERT_EQ(dst.size(), 3u);
    EXPECT_EQ(dst[0].header_count(), 0u);
    EXPECT_EQ(dst[1].body(), "body-2");
    EXPECT_EQ(headers_of(dst[1]), (header_list{{"x", "y"}, {"z", ""}}));
    EXPECT_EQ(dst[2].body(), "body-1");
    EXPECT_EQ(headers_of(dst[2]), (header_list{{"h", "1"}}));
    EXPECT_EQ(dst.body_bytes(), 8u + 6u + 6u);
}

TEST(EventBatch, AddViewFromTheSameBatch) {
    // Copying an event of the batch into itself: the source bytes live in the
    // arena that the copy appends to.
    EventBatch b;
    b.add(std::string(64, 'q'));
    b.add_header("key", std::string(64, 'v'));
    for (int i = 0; i < 6; i++) b.add(b[uint32_t(i)]);
    ASSERT_EQ(b.size(), 7u);
    for (uint32_t i = 0; i < 7; i++) {
        EXPECT_EQ(b[i].body(), std::string(64, 'q')) << i;
        EXPECT_EQ(headers_of(b[i]), (header_list{{"key", std::string(64, 'v')}})) << i;
    }
}

TEST(EventBatch, AppendBytesAndAddAtPointIntoOneCopy) {
    EventBatch b;
    b.add("head");
    std::string read = "line one\nline two\n\nlast";
    uint32_t off = b.append_bytes(read);
    EXPECT_EQ(off, 4u) << "appended after the existing arena bytes";
    EXPECT_EQ(std::string_view(b.arena_data() + off, read.size()), read);
    EXPECT_EQ(b.body_bytes(), 4u) << "appended bytes are no body until add_at";

    EXPECT_EQ(b.add_at(off, 8), 1u);
    b.add_header("n", "1");
    EXPECT_EQ(b.add_at(off + 9, 8), 2u);
    EXPECT_EQ(b.add_at(off + 18, 0), 3u);
    EXPECT_EQ(b.add_at(off + 19, 4), 4u);
    ASSERT_EQ(b.size(), 5u);
    EXPECT_EQ(b[1].body(), "line one");
    EXPECT_EQ(headers_of(b[1]), (header_list{{"n", "1"}}));
    EXPECT_EQ(b[2].body(), "line two");
    EXPECT_EQ(b[2].header_count(), 0u) << "headers belong to the last added event only";
    EXPECT_EQ(b[3].body(), "");
    EXPECT_EQ(b[4].body(), "last");
    EXPECT_EQ(b.body_bytes(), 4u + 8u + 8u + 0u + 4u);
}

TEST(EventBatch, ClearEmptiesEverything) {
    EventBatch b(10, 100);
    b.add("abc");
    b.add_header("k", "v");
    b.clear();
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(b.size(), 0u);
    EXPECT_EQ(b.body_bytes(), 0u);
    EXPECT_EQ(b.add("new"), 0u);
    EXPECT_EQ(b[0].body(), "new");
    EXPECT_EQ(b[0].header_count(), 0u);
    EXPECT_EQ(b.append_bytes("x"), 3u) << "the arena starts over";
}

TEST(EventSpan, IndexesFromItsBeginAndSharesTheBatch) {
    auto b = std::make_shared<EventBatch>();
    for (int i = 0; i < 10; i++) {
        b->add("e" + std::to_string(i));
        b->add_header("i", std::to_string(i));
    }
    EventBatchPtr frozen = b;
    EventSpan s{frozen, 3, 7};
    EXPECT_EQ(s.size(), 4u);
    for (uint32_t i = 0; i < s.size(); i++) {
        EXPECT_EQ(s[i].body(), "e" + std::to_string(3 + i));
        EXPECT_EQ(headers_of(s[i]), (header_list{{"i", std::to_string(3 + i)}}));
    }
    EventSpan copy = s;
    EXPECT_EQ(frozen.use_count(), 4) << "b, frozen, s and copy";
    b.reset();
    frozen.reset();
    copy.batch.reset();
    EXPECT_EQ(s[0].body(), "e3") << "the span keeps the batch alive";
    EventSpan empty{s.batch, 5, 5};
    EXPECT_EQ(empty.size(), 0u);
    EventSpan def;
    EXPECT_EQ(def.size(), 0u);
}

}  // namespace
}  // namespace sluice
