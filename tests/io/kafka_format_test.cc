// SPDX-License-Identifier: Apache-2.0
// The Flume event format of the Kafka components (docs/kafka.md §1) and
// `%{header}` topic templates.
#include <gtest/gtest.h>

#include "io/kafka_common.h"

namespace sluice {
namespace {

EventBatch one_event(std::vector<std::pair<std::string, std::string>> headers, std::string body) {
    EventBatch b;
    b.add(body);
    for (auto& [k, v] : headers) b.add_header(k, v);
    return b;
}

TEST(kafka_format, encodes_the_documented_example) {
    EventBatch b = one_event({{"a", "b"}}, "hi");
    std::string out;
    encode_flume_event(b[0], out);
    EXPECT_EQ(out, std::string("\x02\x02" "a" "\x02" "b" "\x00\x04" "hi", 9));
}

TEST(kafka_format, no_headers_is_one_zero_byte) {
    EventBatch b = one_event({}, "");
    std::string out;
    encode_flume_event(b[0], out);
    EXPECT_EQ(out, std::string("\x00\x00", 2));
}

TEST(kafka_format, round_trips_headers_and_long_bodies) {
    std::string body(300, 'x');
    EventBatch b = one_event({{"k1", "v1"}, {"key", std::string(200, 'y')}}, body);
    std::string out;
    encode_flume_event(b[0], out);
    auto d = decode_flume_event(out);
    ASSERT_TRUE(d) << d.status().message();
    EXPECT_EQ(d->body, body);
    ASSERT_EQ(d->headers.size(), 2u);
    EXPECT_EQ(d->headers[0].first, "k1");
    EXPECT_EQ(d->headers[1].second, std::string(200, 'y'));
}

TEST(kafka_format, reads_several_blocks_and_negative_counts) {
    // Block 1: count -1 with byte size 4, (a,b); block 2: count 1 (c,d); end; body "z".
    std::string in("\x01\x08\x02" "a" "\x02" "b" "\x02\x02" "c" "\x02" "d" "\x00\x02" "z", 14);
    auto d = decode_flume_event(in);
    ASSERT_TRUE(d) << d.status().message();
    ASSERT_EQ(d->headers.size(), 2u);
    EXPECT_EQ(d->headers[1].first, "c");
    EXPECT_EQ(d->body, "z");
}

TEST(kafka_format, refuses_malformed_datums) {
    const std::vector<std::string> bad = {
        std::string(""),                              // nothing
        std::string("\x00", 1),                       // no body
        std::string("\x00\x04" "h", 3),               // body past the end
        std::string("\x00\x03", 2),                   // negative body length
        std::string("\x00\x02" "hx", 4),              // bytes after the body
        std::string("\x7e\x02" "a", 3),               // a count far past the end
        std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),  // varint too long
        std::string("\x02\x02" "a", 3),               // value missing
    };
    for (const auto& b : bad) {
        auto d = decode_flume_event(b);
        EXPECT_FALSE(d) << "accepted " << b.size() << " bytes";
        if (!d) {
            EXPECT_EQ(d.status().code(), errc::corrupt);
        }
    }
}

TEST(kafka_format, substitutes_headers_in_topics) {
    EventBatch b = one_event({{"region", "eu"}, {"k", "v"}}, "");
    EXPECT_EQ(substitute_headers("out-%{region}", b[0]), "out-eu");
    EXPECT_EQ(substitute_headers("%{k}-%{missing}-x", b[0]), "v--x");
    EXPECT_EQ(substitute_headers("plain", b[0]), "plain");
    EXPECT_EQ(substitute_headers("open-%{region", b[0]), "open-%{region");
}

}  // namespace
}  // namespace sluice
