// SPDX-License-Identifier: Apache-2.0
// The interceptors against Flume's documented behaviour (reference/flume.md
// §2.4): keys, defaults, aliases, chain order, drops.
#include "core/interceptor.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <map>

#include "core/regex.h"
#include "core/runtime.h"

namespace sluice {
namespace {

using Keys = std::map<std::string, std::string>;

ComponentConfig interceptor_config(const std::string& type, const Keys& keys) {
    ComponentConfig cfg;
    cfg.kind = ComponentKind::source;
    cfg.name = "i1";
    cfg.key_prefix = "a1.sources.r1.interceptors.i1.";
    cfg.props["type"] = ConfigValue{type, 1};
    for (auto& [k, v] : keys) cfg.props[k] = ConfigValue{v, 2};
    return cfg;
}

std::unique_ptr<Interceptor> make(const std::string& type, const Keys& keys = {}) {
    const InterceptorType* t = find_interceptor_type(type);
    EXPECT_NE(t, nullptr) << type;
    if (!t) return nullptr;
    ComponentConfig cfg = interceptor_config(type, keys);
    ComponentSettings settings(&cfg, &t->part.keys);
    auto made = t->build(settings);
    EXPECT_TRUE(made.is_ok()) << made.status().to_string();
    return made ? std::move(made.value()) : nullptr;
}

// What the type's configuration check says: (key, message) pairs.
std::vector<std::pair<std::string, std::string>> problems(const std::string& type, const Keys& keys) {
    const InterceptorType* t = find_interceptor_type(type);
    std::vector<std::pair<std::string, std::string>> found;
    if (!t || !t->part.check) return found;
    ComponentConfig cfg = interceptor_config(type, keys);
    t->part.check(ComponentSettings(&cfg, &t->part.keys), found);
    return found;
}

struct test_event {
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

EventSpan batch_of(const std::vector<test_event>& events, int64_t received_ms = 0) {
    auto b = std::make_shared<EventBatch>();
    for (auto& e : events) {
        b->add(e.body);
        for (auto& [k, v] : e.headers) b->add_header(k, v);
    }
    b->set_received_ms(received_ms);
    uint32_t n = b->size();
    return EventSpan{std::move(b), 0, n};
}

std::vector<std::unique_ptr<Interceptor>> chain_of(std::unique_ptr<Interceptor> a, std::unique_ptr<Interceptor> b = nullptr) {
    std::vector<std::unique_ptr<Interceptor>> v;
    v.push_back(std::move(a));
    if (b) v.push_back(std::move(b));
    return v;
}

// Runs `events` through the chain; returns each kept event as body and sorted headers.
std::vector<test_event> run(std::vector<std::unique_ptr<Interceptor>> chain, const std::vector<test_event>& events) {
    InterceptorChain c(std::move(chain));
    EventBatchPtr out = c.apply(batch_of(events));
    std::vector<test_event> got;
    for (uint32_t i = 0; i < out->size(); i++) {
        test_event e;
        e.body = std::string((*out)[i].body());
        for (uint32_t h = 0; h < (*out)[i].header_count(); h++)
            e.headers.emplace_back((*out)[i].header(h).key, (*out)[i].header(h).value);
        std::sort(e.headers.begin(), e.headers.end());
        got.push_back(e);
    }
    return got;
}

std::vector<test_event> run1(std::unique_ptr<Interceptor> i, const std::vector<test_event>& events) {
    return run(chain_of(std::move(i)), events);
}

std::string header(const test_event& e, const std::string& key) {
    for (auto& [k, v] : e.headers)
        if (k == key) return v;
    return "<absent>";
}

// ------------------------------------------------------------------ types

TEST(Interceptors, AliasesAndBuilderClassNames) {
    for (auto [alias, cls] : std::vector<std::pair<std::string, std::string>>{
             {"timestamp", "TimestampInterceptor"},
             {"host", "HostInterceptor"},
             {"static", "StaticInterceptor"},
             {"remove_header", "RemoveHeaderInterceptor"},
             {"regex_filter", "RegexFilteringInterceptor"},
             {"regex_extractor", "RegexExtractorInterceptor"},
             {"search_replace", "SearchAndReplaceInterceptor"}}) {
        const InterceptorType* t = find_interceptor_type(alias);
        ASSERT_NE(t, nullptr) << alias;
        EXPECT_EQ(find_interceptor_type("org.apache.flume.interceptor." + cls + "$Builder"), t) << cls;
        std::string upper = alias;
        for (auto& c : upper) c = char(std::toupper(static_cast<unsigned char>(c)));
        EXPECT_EQ(find_interceptor_type(upper), t) << "case-insensitive, as Flume's enum lookup";
    }
    EXPECT_EQ(find_interceptor_type("uuid"), nullptr) << "Flume has no uuid alias";
    EXPECT_EQ(find_interceptor_type("org.apache.flume.interceptor.TimestampInterceptor"), nullptr)
        << "the Builder is the class to name";
}

// -------------------------------------------------------------- timestamp

TEST(Interceptors, TimestampSetsEpochMillisAndOverwritesByDefault) {
    int64_t before = wall_clock_ms();
    auto got = run1(make("timestamp"), {{"a", {}}, {"b", {{"timestamp", "1"}}}});
    int64_t after = wall_clock_ms();
    ASSERT_EQ(got.size(), 2u);
    for (auto& e : got) {
        int64_t ts = std::stoll(header(e, "timestamp"));
        EXPECT_GE(ts, before);
        EXPECT_LE(ts, after);
    }
    EXPECT_EQ(got[0].body, "a");
}

TEST(Interceptors, TimestampPreserveExistingAndHeaderName) {
    auto got = run1(make("timestamp", {{"preserveExisting", "true"}}), {{"a", {{"timestamp", "1"}}}, {"b", {}}});
    EXPECT_EQ(header(got[0], "timestamp"), "1");
    EXPECT_NE(header(got[1], "timestamp"), "<absent>");
    got = run1(make("timestamp", {{"headerName", "ts"}}), {{"a", {}}});
    EXPECT_EQ(header(got[0], "timestamp"), "<absent>");
    EXPECT_NE(header(got[0], "ts"), "<absent>");
}

// ------------------------------------------------------------------- host

TEST(Interceptors, HostSetsTheAddressByDefault) {
    auto got = run1(make("host"), {{"a", {}}});
    std::string ip = header(got[0], "host");
    ASSERT_NE(ip, "<absent>");
    EXPECT_TRUE(ip.find('.') != std::string::npos || ip.find(':') != std::string::npos) << ip;
    EXPECT_EQ(ip.find_first_not_of("0123456789.:abcdef"), std::string::npos) << ip;
}

TEST(Interceptors, HostNameHeaderAndPreserve) {
    auto got = run1(make("host", {{"useIP", "false"}, {"hostHeader", "agent"}}), {{"a", {}}});
    EXPECT_EQ(header(got[0], "host"), "<absent>");
    EXPECT_NE(header(got[0], "agent"), "<absent>");
    got = run1(make("host"), {{"a", {{"host", "h0"}}}});
    EXPECT_NE(header(got[0], "host"), "h0") << "preserveExisting defaults to false";
    got = run1(make("host", {{"preserveExisting", "true"}}), {{"a", {{"host", "h0"}}}});
    EXPECT_EQ(header(got[0], "host"), "h0");
}

// ----------------------------------------------------------------- static

TEST(Interceptors, StaticDefaultsAndPreserveExistingTrue) {
    auto got = run1(make("static"), {{"a", {}}});
    EXPECT_EQ(header(got[0], "key"), "value") << "Flume's defaults: key=key, value=value";
    got = run1(make("static", {{"key", "dc"}, {"value", "east"}}), {{"a", {{"dc", "west"}}}, {"b", {}}});
    EXPECT_EQ(header(got[0], "dc"), "west") << "preserveExisting defaults to true for static";
    EXPECT_EQ(header(got[1], "dc"), "east");
    got = run1(make("static", {{"key", "dc"}, {"value", "east"}, {"preserveExisting", "false"}}),
               {{"a", {{"dc", "west"}}}});
    EXPECT_EQ(header(got[0], "dc"), "east");
    EXPECT_EQ(got[0].headers.size(), 1u) << "a map: the value is replaced, not added twice";
}

// ---------------------------------------------------------- remove_header

TEST(Interceptors, RemoveHeaderByNameListAndRegex) {
    test_event e{"x", {{"a", "1"}, {"b", "2"}, {"c", "3"}, {"myA", "4"}, {"xmy", "5"}}};
    auto got = run1(make("remove_header", {{"withName", "a"}}), {e});
    EXPECT_EQ(got[0].headers.size(), 4u);
    EXPECT_EQ(header(got[0], "a"), "<absent>");

    got = run1(make("remove_header", {{"fromList", "a, b ,c"}}), {e});
    EXPECT_EQ(got[0].headers, (std::vector<std::pair<std::string, std::string>>{{"myA", "4"}, {"xmy", "5"}}))
        << "the default separator is \\s*,\\s*";

    got = run1(make("remove_header", {{"fromList", "a:b"}, {"fromListSeparator", ":"}}), {e});
    EXPECT_EQ(got[0].headers.size(), 3u);

    got = run1(make("remove_header", {{"matching", "my.*"}}), {e});
    EXPECT_EQ(header(got[0], "myA"), "<absent>");
    EXPECT_EQ(header(got[0], "xmy"), "5") << "matching is a full match on the name";

    got = run1(make("remove_header"), {e});
    EXPECT_EQ(got[0].headers.size(), 5u) << "no keys: removes nothing";
}

TEST(Interceptors, RemoveHeaderBadRegexIsAConfigError) {
    auto p = problems("remove_header", {{"matching", "(unclosed"}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].first, "matching");
    EXPECT_NE(p[0].second.find("invalid regex '(unclosed'"), std::string::npos) << p[0].second;
}

// ----------------------------------------------------------- regex_filter

TEST(Interceptors, RegexFilterKeepsMatchesOrExcludesThem) {
    std::vector<test_event> events = {{"ERROR disk", {}}, {"INFO ok", {}}, {"an ERROR later", {}}};
    auto got = run1(make("regex_filter"), events);
    EXPECT_EQ(got.size(), 3u) << "default .* keeps everything";
    got = run1(make("regex_filter", {{"regex", "ERROR"}}), events);
    ASSERT_EQ(got.size(), 2u) << "find(), not a full match";
    EXPECT_EQ(got[1].body, "an ERROR later");
    got = run1(make("regex_filter", {{"regex", "^ERROR"}, {"excludeEvents", "true"}}), events);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].body, "INFO ok");
    EXPECT_EQ(got[1].body, "an ERROR later");
    got = run1(make("regex_filter", {{"regex", "(?i)error"}}), {{"Error", {}}});
    EXPECT_EQ(got.size(), 1u) << "Java inline flags work";
}

TEST(Interceptors, DroppedEventsLeaveTheOthersInOrder) {
    InterceptorChain c(chain_of(make("regex_filter", {{"regex", "keep"}})));
    EventBatchPtr out = c.apply(batch_of({{"keep 1", {}}, {"drop", {}}, {"keep 2", {}}}, 1234));
    ASSERT_EQ(out->size(), 2u);
    EXPECT_EQ((*out)[0].body(), "keep 1");
    EXPECT_EQ((*out)[1].body(), "keep 2");
    EXPECT_EQ(out->received_ms(), 1234) << "the receipt time survives (latency metrics)";
    out = c.apply(batch_of({{"drop", {}}}));
    EXPECT_EQ(out->size(), 0u);
}

// -------------------------------------------------------- regex_extractor

TEST(Interceptors, RegexExtractorGroupsToSerializers) {
    Keys keys = {{"regex", "(\\d):(\\d):(\\d)"},
                 {"serializers", "s1 s2 s3"},
                 {"serializers.s1.name", "one"},
                 {"serializers.s2.name", "two"},
                 {"serializers.s3.name", "three"}};
    auto got = run1(make("regex_extractor", keys), {{"x 1:2:3.4", {}}, {"no digits", {{"one", "kept"}}}});
    EXPECT_EQ(header(got[0], "one"), "1");
    EXPECT_EQ(header(got[0], "two"), "2");
    EXPECT_EQ(header(got[0], "three"), "3");
    EXPECT_EQ(got[1].headers, (std::vector<std::pair<std::string, std::string>>{{"one", "kept"}}))
        << "no match: headers untouched";

    keys["serializers"] = "s1 s2";
    got = run1(make("regex_extractor", keys), {{"1:2:3", {}}});
    EXPECT_EQ(got[0].headers.size(), 2u) << "groups beyond the serializers are ignored";
}

TEST(Interceptors, RegexExtractorMillisSerializer) {
    const char* old_tz = std::getenv("TZ");
    std::string saved = old_tz ? old_tz : "";
    setenv("TZ", "UTC", 1);
    tzset();
    Keys keys = {{"regex", "^(\\d\\d\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d)"},
                 {"serializers", "s1"},
                 {"serializers.s1.type", "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer"},
                 {"serializers.s1.name", "timestamp"},
                 {"serializers.s1.pattern", "yyyy-MM-dd HH:mm"}};
    auto got = run1(make("regex_extractor", keys), {{"2012-10-17 14:34 something", {}}});
    EXPECT_EQ(header(got[0], "timestamp"), "1350484440000");
    if (old_tz) setenv("TZ", saved.c_str(), 1);
    else unsetenv("TZ");
    tzset();
}

TEST(Interceptors, RegexExtractorConfigErrors) {
    auto p = problems("regex_extractor", {{"regex", "(a)"}, {"serializers", "s1"}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].first, "serializers.s1.name");
    p = problems("regex_extractor", {{"regex", "(a)"},
                                     {"serializers", "s1"},
                                     {"serializers.s1.name", "h"},
                                     {"serializers.s1.type", "com.example.Nope"}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].first, "serializers.s1.type");
    p = problems("regex_extractor", {{"regex", "(a)"},
                                     {"serializers", "s1"},
                                     {"serializers.s1.name", "h"},
                                     {"serializers.s1.type",
                                      "org.apache.flume.interceptor.RegexExtractorInterceptorMillisSerializer"}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].first, "serializers.s1.pattern");
    p = problems("regex_extractor", {{"regex", "a["}, {"serializers", "s1"}, {"serializers.s1.name", "h"}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].first, "regex");
}

// --------------------------------------------------------- search_replace

TEST(Interceptors, SearchReplaceIsJavaReplaceAll) {
    auto got = run1(make("search_replace", {{"searchPattern", "^[A-Za-z0-9_]+"}, {"replaceString", ""}}),
                    {{"templates1 xyz", {}}});
    EXPECT_EQ(got[0].body, " xyz") << "Flume's user-guide example";
    got = run1(make("search_replace", {{"searchPattern", "(\\w+)@(\\w+)"}, {"replaceString", "$2 at \\$$1"}}),
               {{"mail bob@example and al@home", {}}});
    EXPECT_EQ(got[0].body, "mail example at $bob and home at $al");
    got = run1(make("search_replace", {{"searchPattern", "a*"}, {"replaceString", "X"}}), {{"abc", {}}});
    EXPECT_EQ(got[0].body, "XXbXcX") << "empty matches as Java finds them";
    got = run1(make("search_replace", {{"searchPattern", "(?<word>o+)"}, {"replaceString", "[${word}]"}}),
               {{"foo boo", {}}});
    EXPECT_EQ(got[0].body, "f[oo] b[oo]");
    got = run1(make("search_replace", {{"searchPattern", "é"}, {"replaceString", "e"}}), {{"café crème", {}}});
    EXPECT_EQ(got[0].body, "cafe crème") << "UTF-8 bodies";
}

TEST(Interceptors, SearchReplaceConfigErrors) {
    auto p = problems("search_replace", {{"searchPattern", "(a)"}, {"replaceString", "$2"}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].first, "replaceString");
    EXPECT_NE(p[0].second.find("no group 2"), std::string::npos) << p[0].second;
    p = problems("search_replace", {{"searchPattern", "a"}, {"charset", "UTF-16"}});
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].first, "charset");
}

// ------------------------------------------------------------------ chain

TEST(Interceptors, ChainRunsInListOrder) {
    auto got = run(chain_of(make("static", {{"key", "k"}, {"value", "v"}}), make("remove_header", {{"withName", "k"}})),
                   {{"a", {}}});
    EXPECT_EQ(header(got[0], "k"), "<absent>");
    got = run(chain_of(make("remove_header", {{"withName", "k"}}), make("static", {{"key", "k"}, {"value", "v"}})),
              {{"a", {}}});
    EXPECT_EQ(header(got[0], "k"), "v");
    // A body rewritten by one interceptor is what the next one sees.
    got = run(chain_of(make("search_replace", {{"searchPattern", "secret"}, {"replaceString", "ok"}}),
                       make("regex_filter", {{"regex", "secret"}, {"excludeEvents", "true"}})),
              {{"a secret", {}}});
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].body, "a ok");
}

TEST(Interceptors, ManyEventsWithLongBodies) {
    std::vector<test_event> events;
    for (int i = 0; i < 1000; i++) events.push_back({std::string(size_t(i % 97) * 50, char('a' + i % 26)), {{"n", std::to_string(i)}}});
    auto got = run(chain_of(make("search_replace", {{"searchPattern", "a"}, {"replaceString", "AA"}}), make("timestamp")),
                   events);
    ASSERT_EQ(got.size(), 1000u);
    for (int i = 0; i < 1000; i++) {
        std::string want = events[size_t(i)].body;
        if (i % 26 == 0) want = std::string(want.size() * 2, 'A');
        EXPECT_EQ(got[size_t(i)].body, want) << i;
        EXPECT_EQ(header(got[size_t(i)], "n"), std::to_string(i));
    }
}

}  // namespace
}  // namespace sluice
