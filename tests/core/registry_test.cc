// SPDX-License-Identifier: Apache-2.0
// The registry, key checks, validate_agent, describe_topology and
// configuration_reference. Test descriptors are registered in the global
// registry under names starting with "t_" so they cannot clash with real ones.
#include "core/registry.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace sluice {
namespace {

// ---------------------------------------------------------------------------
// helpers

KeySpec key(std::string_view name, KeyType type, std::string_view dflt = {}, bool required = false,
            std::string_view description = "test key") {
    KeySpec k;
    k.key = name;
    k.type = type;
    k.default_value = dflt;
    k.required = required;
    k.description = description;
    return k;
}

KeySpec ranged(KeySpec k, int64_t min, int64_t max = INT64_MAX) {
    k.min = min;
    k.max = max;
    return k;
}

ComponentDescriptor descriptor(ComponentKind kind, std::string_view type, std::vector<KeySpec> keys) {
    ComponentDescriptor d;
    d.kind = kind;
    d.type = type;
    d.description = "a test component";
    d.keys = std::move(keys);
    return d;
}

// Registers the test components once per process (the registry asserts on
// duplicates, and gtest may run a test more than once).
void register_test_components() {
    static bool done = [] {
        auto& r = Registry::global();
        {
            auto d = descriptor(ComponentKind::source, "t_netcat",
                                {key("bind", KeyType::string, {}, true),
                                 ranged(key("port", KeyType::integer, {}, true), 1, 65535),
                                 ranged(key("max-line-length", KeyType::integer, "512"), 1),
                                 key("ack-every-event", KeyType::boolean, "true")});
            d.aliases = {"org.example.TestNetcatSource"};
            r.add(std::move(d));
        }
        {
            auto d = descriptor(ComponentKind::source, "t_seq",
                                {ranged(key("batchSize", KeyType::integer, "1"), 1),
                                 key("totalEvents", KeyType::integer)});
            d.batch_size_key = "batchSize";
            r.add(std::move(d));
        }
        {
            auto d = descriptor(ComponentKind::channel, "t_memory",
                                {ranged(key("capacity", KeyType::integer, "100"), 1),
                                 ranged(key("transactionCapacity", KeyType::integer, "100"), 1),
                                 key("keep-alive", KeyType::duration_s, "3")});
            d.check = [](const ComponentSettings& s, std::vector<std::pair<std::string, std::string>>& out) {
                if (s.get_int("transactionCapacity") > s.get_int("capacity"))
                    out.emplace_back("transactionCapacity", "transactionCapacity " +
                                                                std::to_string(s.get_int("transactionCapacity")) +
                                                                " exceeds capacity " +
                                                                std::to_string(s.get_int("capacity")));
            };
            r.add(std::move(d));
        }
        {
            // A channel on disk: its directories are its own.
            auto dirs = key("dirs", KeyType::string, "~/t-disk");
            dirs.owns_directories = true;
            auto spare = key("spare", KeyType::string, "~/t-disk-spare");
            spare.owns_directories = true;
            // With disk = false it keeps to memory and uses neither (as SPILLABLEMEMORY without overflow).
            auto d = descriptor(ComponentKind::channel, "t_disk", {dirs, spare, key("disk", KeyType::boolean, "true")});
            d.uses_directories = [](const ComponentSettings& s) { return s.get_bool("disk"); };
            r.add(std::move(d));
        }
        r.add(descriptor(ComponentKind::sink, "t_logger", {ranged(key("maxBytesToLog", KeyType::integer, "16"), 0)}));
        {
            auto serializer = key("sink.serializer", KeyType::choice, "TEXT");
            serializer.choices = {"TEXT", "avro_event"};
            serializer.differs_from_flume = "class names are not accepted";
            auto d = descriptor(ComponentKind::sink, "t_roll",
                                {key("sink.directory", KeyType::string, {}, true, "where | files go"),
                                 key("sink.rollInterval", KeyType::duration_s, "30"),
                                 ranged(key("batchSize", KeyType::integer, "100"), 1), serializer});
            d.batch_size_key = "batchSize";
            r.add(std::move(d));
        }
        return true;
    }();
    (void)done;
}

std::vector<std::string> render(const std::vector<ConfigProblem>& problems) {
    std::vector<std::string> out;
    for (const auto& p : problems)
        out.push_back((p.severity == ConfigProblem::Severity::warning ? "warning: " : "error: ") + p.to_string());
    return out;
}

struct run_result {
    std::unique_ptr<Topology> topology;
    std::vector<ConfigProblem> problems;
    std::vector<std::string> lines() const { return render(problems); }
};

run_result run(std::string_view text, bool lenient = false) {
    register_test_components();
    ReadOptions o;
    o.agent = "a1";
    o.env = std::map<std::string, std::string>{};
    run_result r;
    auto cfg = read_agent_config_text(text, "t.properties", o, r.problems);
    r.topology = validate_agent(std::move(cfg), lenient, r.problems);
    return r;
}

std::vector<std::string> names(const std::vector<ValidatedComponent>& v) {
    std::vector<std::string> out;
    for (const auto& c : v) out.push_back(c.config->name);
    return out;
}

const char* const good =
    "a1.sources = r1\n"                        // 1
    "a1.channels = c1\n"                       // 2
    "a1.sinks = k1\n"                          // 3
    "a1.sources.r1.type = t_netcat\n"          // 4
    "a1.sources.r1.bind = 0.0.0.0\n"           // 5
    "a1.sources.r1.port = 44444\n"             // 6
    "a1.sources.r1.channels = c1\n"            // 7
    "a1.channels.c1.type = t_memory\n"         // 8
    "a1.sinks.k1.type = t_logger\n"            // 9
    "a1.sinks.k1.channel = c1\n";              // 10

// ---------------------------------------------------------------------------
// Registry

TEST(Registry, FindIsCaseInsensitiveOnTypeAndAliases) {
    Registry r;
    auto d = descriptor(ComponentKind::source, "netcat", {});
    d.aliases = {"org.apache.flume.source.NetcatSource"};
    r.add(std::move(d));
    r.add(descriptor(ComponentKind::sink, "netcat", {}));  // same name, other kind
    ASSERT_NE(r.find(ComponentKind::source, "NetCat"), nullptr);
    EXPECT_EQ(r.find(ComponentKind::source, "NetCat")->type, "netcat");
    EXPECT_EQ(r.find(ComponentKind::source, "ORG.apache.flume.source.netcatsource"),
              r.find(ComponentKind::source, "netcat"));
    EXPECT_EQ(r.find(ComponentKind::sink, "netcat")->kind, ComponentKind::sink);
    EXPECT_EQ(r.find(ComponentKind::channel, "netcat"), nullptr);
    EXPECT_EQ(r.find(ComponentKind::source, "netcatx"), nullptr);
}

TEST(Registry, AllAndKnownTypesInRegistrationOrder) {
    Registry r;
    EXPECT_EQ(r.known_types(ComponentKind::sink), "known types: (none)");
    r.add(descriptor(ComponentKind::sink, "logger", {}));
    r.add(descriptor(ComponentKind::source, "netcat", {}));
    r.add(descriptor(ComponentKind::sink, "file_roll", {}));
    r.add(descriptor(ComponentKind::sink, "null", {}));
    EXPECT_EQ(r.known_types(ComponentKind::sink), "known types: logger, file_roll, null");
    auto all = r.all(ComponentKind::sink);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[1]->type, "file_roll");
    EXPECT_EQ(r.all(ComponentKind::channel).size(), 0u);
}

TEST(Registry, DuplicateRegistrationAborts) {
    EXPECT_DEATH(
        {
            Registry r;
            r.add(descriptor(ComponentKind::sink, "logger", {}));
            r.add(descriptor(ComponentKind::sink, "LOGGER", {}));
        },
        "registered twice");
}

TEST(CommonKeys, PerKind) {
    auto has = [](ComponentKind k, std::string_view name, bool required) {
        for (const auto& s : common_keys(k))
            if (s.key == name) return s.required == required;
        return false;
    };
    EXPECT_TRUE(has(ComponentKind::source, "type", true));
    EXPECT_TRUE(has(ComponentKind::source, "channels", true));
    EXPECT_TRUE(has(ComponentKind::source, "selector.", false));
    EXPECT_TRUE(has(ComponentKind::source, "interceptors", false));
    EXPECT_TRUE(has(ComponentKind::source, "interceptors.", false));
    EXPECT_TRUE(has(ComponentKind::channel, "type", true));
    EXPECT_TRUE(has(ComponentKind::sink, "type", true));
    EXPECT_TRUE(has(ComponentKind::sink, "channel", true));
    EXPECT_TRUE(has(ComponentKind::sinkgroup, "sinks", true));
    EXPECT_TRUE(has(ComponentKind::sinkgroup, "processor.", false));
    for (auto k : {"channel", "channels", "ops"}) EXPECT_TRUE(has(ComponentKind::stream, k, true)) << k;
    for (auto k : {"batch", "time", "time.header", "watermark", "format"})
        EXPECT_TRUE(has(ComponentKind::stream, k, false)) << k;
}

// ---------------------------------------------------------------------------
// check_value and parse_duration_ms

std::string check(const KeySpec& k, std::string_view v) {
    Status s = check_value(k, v);
    return s ? "ok" : s.message();
}

TEST(CheckValue, Integer) {
    auto k = key("n", KeyType::integer);
    EXPECT_EQ(check(k, "42"), "ok");
    EXPECT_EQ(check(k, "-42"), "ok");
    EXPECT_EQ(check(k, "+42"), "ok");
    EXPECT_EQ(check(k, "4x"), "expected an integer, got '4x'");
    EXPECT_EQ(check(k, "1.5"), "expected an integer, got '1.5'");
    EXPECT_EQ(check(k, "99999999999999999999"), "expected an integer, got '99999999999999999999'");
    EXPECT_EQ(check(ranged(k, 1, 65535), "0"), "must be between 1 and 65535, got 0");
    EXPECT_EQ(check(ranged(k, 1, 65535), "65536"), "must be between 1 and 65535, got 65536");
    EXPECT_EQ(check(ranged(k, 1, 65535), "65535"), "ok");
    EXPECT_EQ(check(ranged(k, 1), "0"), "must be at least 1, got 0");
    EXPECT_EQ(check(ranged(k, INT64_MIN, 10), "11"), "must be at most 10, got 11");
}

TEST(CheckValue, Boolean) {
    auto k = key("b", KeyType::boolean);
    EXPECT_EQ(check(k, "true"), "ok");
    EXPECT_EQ(check(k, "FALSE"), "ok");
    EXPECT_EQ(check(k, "True"), "ok");
    EXPECT_EQ(check(k, "yes"), "expected true or false, got 'yes'");
    EXPECT_EQ(check(k, "1"), "expected true or false, got '1'");
}

TEST(CheckValue, ChoiceNumberBytesAndFreeForms) {
    auto c = key("c", KeyType::choice);
    c.choices = {"round_robin", "random"};
    EXPECT_EQ(check(c, "RANDOM"), "ok");
    EXPECT_EQ(check(c, "rr"), "expected one of round_robin, random, got 'rr'");
    EXPECT_EQ(check(key("x", KeyType::number), "0.25"), "ok");
    EXPECT_EQ(check(key("x", KeyType::number), "1e3"), "ok");
    EXPECT_EQ(check(key("x", KeyType::number), "abc"), "expected a number, got 'abc'");
    EXPECT_EQ(check(key("x", KeyType::number), "nan"), "expected a number, got 'nan'");
    EXPECT_EQ(check(key("x", KeyType::bytes), "1024"), "ok");
    EXPECT_EQ(check(key("x", KeyType::bytes), "-1"), "must be at least 0, got -1");
    EXPECT_EQ(check(key("x", KeyType::string), "anything at all"), "ok");
    EXPECT_EQ(check(key("x", KeyType::list), "a b c"), "ok");
}

TEST(CheckValue, Durations) {
    EXPECT_EQ(check(key("d", KeyType::duration_ms), "500ms"), "ok");
    EXPECT_EQ(check(key("d", KeyType::duration_ms), "ten"),
              "expected a duration such as 500ms, 10s, 5m or 1h, got 'ten'");
    EXPECT_EQ(check(ranged(key("d", KeyType::duration_s), 1, 60), "500ms"), "must be between 1 and 60, got '500ms'");
    EXPECT_EQ(check(ranged(key("d", KeyType::duration_s), 1, 60), "2m"), "must be between 1 and 60, got '2m'");
    EXPECT_EQ(check(ranged(key("d", KeyType::duration_s), 1, 60), "60"), "ok");
    EXPECT_EQ(check(ranged(key("d", KeyType::duration_s), 1, 60), "1m"), "ok");
}

TEST(ParseDuration, UnitsAndPlainNumbers) {
    EXPECT_EQ(parse_duration_ms("500ms", 1).value(), 500);
    EXPECT_EQ(parse_duration_ms("10s", 1).value(), 10'000);
    EXPECT_EQ(parse_duration_ms("5m", 1).value(), 300'000);
    EXPECT_EQ(parse_duration_ms("1h", 1).value(), 3'600'000);
    EXPECT_EQ(parse_duration_ms("2S", 1).value(), 2'000);
    EXPECT_EQ(parse_duration_ms(" 7 ", 1).value(), 7);
    EXPECT_EQ(parse_duration_ms("7", 1000).value(), 7'000);  // a key in seconds
    EXPECT_EQ(parse_duration_ms("0", 1000).value(), 0);
}

TEST(ParseDuration, RejectsNegativesAndGarbage) {
    for (const char* bad :
         {"", "s", "ms", "10x", "1.5s", "10 s", "abc", "99999999999999999999h", "9223372036854775807s"}) {
        auto r = parse_duration_ms(bad, 1);
        EXPECT_FALSE(r.is_ok()) << bad;
        EXPECT_EQ(r.status().code(), errc::config) << bad;
    }
    auto neg = parse_duration_ms("-5s", 1);
    ASSERT_FALSE(neg.is_ok());
    EXPECT_EQ(neg.status().message(), "must not be negative, got '-5s'");
}

// ---------------------------------------------------------------------------
// edit_distance / nearest

TEST(Nearest, EditDistance) {
    EXPECT_EQ(edit_distance("", ""), 0u);
    EXPECT_EQ(edit_distance("port", "port"), 0u);
    EXPECT_EQ(edit_distance("prot", "port"), 2u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("", "abc"), 3u);
    EXPECT_EQ(edit_distance("channel", "channels"), 1u);
}

TEST(Nearest, PicksTheClosestWhenCloseEnough) {
    std::vector<std::string_view> keys = {"bind", "port", "max-line-length", "ack-every-event"};
    EXPECT_EQ(nearest("prot", keys), "port");
    EXPECT_EQ(nearest("max-line-lenght", keys), "max-line-length");
    EXPECT_EQ(nearest("ack_every_event", keys), "ack-every-event");
    EXPECT_EQ(nearest("zzzzzz", keys), "");
    EXPECT_EQ(nearest("capacity", keys), "");
    EXPECT_EQ(nearest("x", {}), "");
}

// ---------------------------------------------------------------------------
// ComponentSettings

TEST(Settings, GettersUseValuesThenDefaults) {
    auto r = run(std::string(good) + "a1.sources.r1.selector.type = replicating\na1.sources.r1.selector.optional = c1\n"
                                     "a1.channels.c1.keep-alive = 2m\n");
    ASSERT_NE(r.topology, nullptr) << testing::PrintToString(r.lines());
    const auto* src = r.topology->find(ComponentKind::source, "r1");
    ASSERT_NE(src, nullptr);
    const auto& s = src->settings;
    EXPECT_EQ(s.name(), "r1");
    EXPECT_EQ(s.get_int("port"), 44444);
    EXPECT_EQ(s.get_int("max-line-length"), 512);  // default
    EXPECT_TRUE(s.get_bool("ack-every-event"));
    EXPECT_TRUE(s.has("port"));
    EXPECT_FALSE(s.has("max-line-length"));
    EXPECT_TRUE(s.has("selector."));
    EXPECT_FALSE(s.has("interceptors."));
    EXPECT_EQ(s.get_string("bind"), "0.0.0.0");
    EXPECT_EQ(s.get_list("channels"), (std::vector<std::string>{"c1"}));  // common keys too
    EXPECT_EQ(s.get_prefixed("selector."),
              (std::vector<std::pair<std::string, std::string>>{{"optional", "c1"}, {"type", "replicating"}}));
    const auto& ch = r.topology->find(ComponentKind::channel, "c1")->settings;
    EXPECT_EQ(ch.get_duration_ms("keep-alive"), 120'000);
    EXPECT_EQ(ch.get_int("keep-alive"), 120'000);
    EXPECT_EQ(ch.get_int("capacity"), 100);
}

TEST(Settings, UndeclaredKeyIsABug) {
    auto r = run(good);
    ASSERT_NE(r.topology, nullptr);
    const auto& s = r.topology->find(ComponentKind::source, "r1")->settings;
    EXPECT_DEATH((void)s.get_string("no-such-key"), "does not declare");
}

// ---------------------------------------------------------------------------
// validate_agent: success

TEST(Validate, GoodConfigurationGivesATopology) {
    auto r = run(good);
    ASSERT_NE(r.topology, nullptr) << testing::PrintToString(r.lines());
    EXPECT_TRUE(r.problems.empty()) << testing::PrintToString(r.lines());
    EXPECT_EQ(names(r.topology->sources), (std::vector<std::string>{"r1"}));
    EXPECT_EQ(names(r.topology->channels), (std::vector<std::string>{"c1"}));
    EXPECT_EQ(names(r.topology->sinks), (std::vector<std::string>{"k1"}));
    EXPECT_EQ(r.topology->find(ComponentKind::sink, "k1")->descriptor->type, "t_logger");
    EXPECT_EQ(r.topology->find(ComponentKind::sink, "k9"), nullptr);
    // The pointers point into the topology's own copy of the configuration.
    EXPECT_EQ(r.topology->sources[0].config, &r.topology->config.sources[0]);
}

TEST(Validate, TypeMatchesAliasCaseInsensitively) {
    std::string text = good;
    text.replace(text.find("type = t_netcat"), 15, "type = ORG.EXAMPLE.TestNetcatSource");
    auto r = run(text);
    ASSERT_NE(r.topology, nullptr) << testing::PrintToString(r.lines());
    EXPECT_EQ(r.topology->sources[0].descriptor->type, "t_netcat");
}

TEST(Validate, PrefixKeysAcceptEverythingUnderThem) {
    auto r = run(std::string(good) +
                 "a1.sources.r1.interceptors.i1.type = timestamp\n"
                 "a1.sources.r1.selector.type = Replicating\n"
                 "a1.sources.r1.selector.optional = c1\n");
    ASSERT_NE(r.topology, nullptr);
    EXPECT_TRUE(r.problems.empty()) << testing::PrintToString(r.lines());
}

// Selectors and interceptors: their types and keys are checked like a
// component's, with file:line:key messages.
TEST(Validate, SelectorAndInterceptorKeysAreChecked) {
    auto ok = run(std::string(good) +
                  "a1.sources.r1.interceptors = i1 i2\n"                 // 11
                  "a1.sources.r1.interceptors.i1.type = timestamp\n"
                  "a1.sources.r1.interceptors.i2.type = org.apache.flume.interceptor.HostInterceptor$Builder\n"
                  "a1.sources.r1.selector.type = multiplexing\n"         // 14
                  "a1.sources.r1.selector.header = state\n"
                  "a1.sources.r1.selector.mapping.CA = c1\n"
                  "a1.sources.r1.selector.default = c1\n");
    EXPECT_NE(ok.topology, nullptr);
    EXPECT_TRUE(ok.problems.empty()) << testing::PrintToString(ok.lines());

    auto r = run(std::string(good) +
                 "a1.sources.r1.interceptors = i1 i2 i3 i4\n"               // 11
                 "a1.sources.r1.interceptors.i1.type = timestamp\n"
                 "a1.sources.r1.interceptors.i1.headerNme = ts\n"           // 13
                 "a1.sources.r1.interceptors.i2.type = regex_filter\n"
                 "a1.sources.r1.interceptors.i2.regex = (oops\n"            // 15
                 "a1.sources.r1.interceptors.i3.type = uuid\n"              // 16
                 "a1.sources.r1.selector.type = multiplexing\n"             // 17
                 "a1.sources.r1.selector.mapping.CA = c9\n"                 // 18
                 "a1.sources.r1.selector.mapping.NY =\n");                  // 19
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:11: a1.sources.r1.interceptors.i4.type: required key is missing: the "
                             "type of interceptor 'i4'",
                             "warning: t.properties:13: a1.sources.r1.interceptors.i1.headerNme: unknown key "
                             "'headerNme' for timestamp (did you mean 'interceptors.i1.headerName'?); ignored",
                             "error: t.properties:15: a1.sources.r1.interceptors.i2.regex: invalid regex '(oops': "
                             "missing closing parenthesis at offset 5",
                             "error: t.properties:16: a1.sources.r1.interceptors.i3.type: unknown interceptor type "
                             "'uuid'; known: timestamp, host, static, remove_header, regex_filter, regex_extractor, "
                             "search_replace",
                             "error: t.properties:18: a1.sources.r1.selector.mapping.CA: channel 'c9' is not one of "
                             "the source's channels (c1)",
                             "error: t.properties:19: a1.sources.r1.selector.mapping.NY: empty value; property ignored",
                         }));

    auto unknown = run(std::string(good) + "a1.sources.r1.selector.type = broadcast\n");
    EXPECT_EQ(unknown.lines(), (std::vector<std::string>{
                                   "error: t.properties:11: a1.sources.r1.selector.type: unknown channel selector "
                                   "'broadcast'; known: replicating, multiplexing, load_balancing"}));
    auto lb = run(std::string(good) + "a1.sources.r1.selector.type = load_balancing\n"
                                      "a1.sources.r1.selector.policy = fastest\n"
                                      "a1.sources.r1.selector.optional = c1\n");
    EXPECT_EQ(lb.lines(), (std::vector<std::string>{
                              "error: t.properties:12: a1.sources.r1.selector.policy: expected one of round_robin, "
                              "random, got 'fastest'",
                              "warning: t.properties:13: a1.sources.r1.selector.optional: unknown key 'optional' for "
                              "load_balancing; ignored"}));
}

// ---------------------------------------------------------------------------
// validate_agent: component problems

TEST(Validate, UnknownTypeNamesTheKnownTypes) {
    std::string text = good;
    text.replace(text.find("type = t_logger"), 15, "type = t_loger");
    auto r = run(text);
    EXPECT_EQ(r.topology, nullptr);
    ASSERT_EQ(r.problems.size(), 1u) << testing::PrintToString(r.lines());
    EXPECT_EQ(r.problems[0].line, 9);
    EXPECT_EQ(r.problems[0].key, "a1.sinks.k1.type");
    EXPECT_EQ(r.problems[0].message.rfind("unknown sink type 't_loger'; known types: ", 0), 0u)
        << r.problems[0].message;
    EXPECT_NE(r.problems[0].message.find("t_logger, t_roll"), std::string::npos);
}

TEST(Validate, DirectoriesOwnedByTwoComponentsAreAnErrorAtTheLaterKey) {
    const std::string base =
        "a1.sources = r1\n"                      // 1
        "a1.channels = d1 d2\n"                  // 2
        "a1.sources.r1.type = t_netcat\n"        // 3
        "a1.sources.r1.bind = 0.0.0.0\n"         // 4
        "a1.sources.r1.port = 1\n"               // 5
        "a1.sources.r1.channels = d1 d2\n"       // 6
        "a1.channels.d1.type = t_disk\n"         // 7
        "a1.channels.d2.type = t_disk\n";        // 8
    // Each on its own directories: fine; one component may name one twice.
    auto ok = run(base + "a1.channels.d1.dirs = /x/a, /x/a\na1.channels.d1.spare = /x/a\n"
                         "a1.channels.d2.dirs = /x/b\na1.channels.d2.spare = /x/c\n");
    EXPECT_NE(ok.topology, nullptr) << testing::PrintToString(ok.lines());
    EXPECT_TRUE(ok.problems.empty()) << testing::PrintToString(ok.lines());
    // Spelt differently, the same directory.
    auto shared = run(base + "a1.channels.d1.dirs = /x/a\na1.channels.d1.spare = /x/s1\n"  // 9, 10
                             "a1.channels.d2.spare = /x/s2\n"                                // 11
                             "a1.channels.d2.dirs = /x/b , /x/./a/\n");                      // 12
    EXPECT_EQ(shared.topology, nullptr);
    EXPECT_EQ(shared.lines(), (std::vector<std::string>{
                                  "error: t.properties:12: a1.channels.d2.dirs: directory /x/a is also used by "
                                  "a1.channels.d1.dirs (line 9); two channels cannot share a directory (the second "
                                  "could not lock it)"}));
    // Both on the defaults: the later one is named at its type line.
    auto defaults = run(base);
    EXPECT_EQ(defaults.topology, nullptr);
    ASSERT_EQ(defaults.problems.size(), 2u) << testing::PrintToString(defaults.lines());
    EXPECT_EQ(defaults.problems[0].line, 8);
    EXPECT_EQ(defaults.problems[0].key, "a1.channels.d2.dirs");
    EXPECT_NE(defaults.problems[0].message.find("(the default) is also used by a1.channels.d1.dirs (line 7);"),
              std::string::npos)
        << defaults.problems[0].message;
    EXPECT_EQ(defaults.problems[1].key, "a1.channels.d2.spare");
    // One of them without a disk: no clash.
    auto memory_only = run(base + "a1.channels.d2.disk = false\n");
    EXPECT_NE(memory_only.topology, nullptr) << testing::PrintToString(memory_only.lines());
    EXPECT_TRUE(memory_only.problems.empty()) << testing::PrintToString(memory_only.lines());
}

TEST(Validate, UnknownKeyIsAWarningWithSuggestion) {
    auto r = run(std::string(good) + "a1.sources.r1.prot = 1\na1.sources.r1.selecter.type = multiplexing\n"
                                     "a1.sources.r1.zzzzzzzzzz = 1\n");
    ASSERT_NE(r.topology, nullptr);  // warnings never fail the run
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "warning: t.properties:11: a1.sources.r1.prot: unknown key 'prot' (did you mean 'port'?); "
                             "ignored",
                             "warning: t.properties:12: a1.sources.r1.selecter.type: unknown key 'selecter.type' (did "
                             "you mean 'selector.type'?); ignored",
                             "warning: t.properties:13: a1.sources.r1.zzzzzzzzzz: unknown key 'zzzzzzzzzz'; ignored",
                         }));
}

TEST(Validate, BadValuesAreErrorsAtTheirLines) {
    auto r = run(std::string(good) +
                 "a1.sources.r1.ack-every-event = yes\n"   // 11
                 "a1.channels.c1.capacity = lots\n"         // 12
                 "a1.sinks.k1.maxBytesToLog = -1\n");       // 13
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:11: a1.sources.r1.ack-every-event: expected true or false, got 'yes'",
                             "error: t.properties:12: a1.channels.c1.capacity: expected an integer, got 'lots'",
                             "error: t.properties:13: a1.sinks.k1.maxBytesToLog: must be at least 0, got -1",
                         }));
}

TEST(Validate, PortOutOfRange) {
    std::string text = good;
    text.replace(text.find("44444"), 5, "99999");
    auto r = run(text);
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:6: a1.sources.r1.port: must be between 1 and 65535, got 99999"}));
}

TEST(Validate, MissingRequiredKeysAtTheComponentLine) {
    std::string text = good;
    text.erase(text.find("a1.sources.r1.port = 44444\n"), 27);
    text.erase(text.find("a1.sinks.k1.channel = c1\n"), 25);
    auto r = run(text);
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:4: a1.sources.r1.port: required key is missing",
                             "error: t.properties:8: a1.sinks.k1.channel: required key is missing",
                         }));
}

TEST(Validate, MissingTypeIsReportedOnce) {
    std::string text = good;
    text.erase(text.find("a1.sinks.k1.type = t_logger\n"), 28);
    auto r = run(text);
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(),
              (std::vector<std::string>{"error: t.properties:9: a1.sinks.k1.type: required key is missing"}));
}

TEST(Validate, CheckHookProblemsUseFullKeys) {
    auto r = run(std::string(good) + "a1.channels.c1.capacity = 10\na1.channels.c1.transactionCapacity = 20\n");
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{"error: t.properties:12: a1.channels.c1.transactionCapacity: "
                                                   "transactionCapacity 20 exceeds capacity 10"}));
}

// ---------------------------------------------------------------------------
// validate_agent: bindings

TEST(Validate, SourceWithSingularChannelGetsAHint) {
    std::string text = good;
    text.replace(text.find("r1.channels = c1"), 16, "r1.channel = c1");
    auto r = run(text);
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:7: a1.sources.r1.channel: sources bind with 'channels' (plural)"}));
}

TEST(Validate, SinkWithPluralChannelsGetsAHint) {
    std::string text = good;
    text.replace(text.find("k1.channel = c1"), 15, "k1.channels = c1");
    auto r = run(text);
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:10: a1.sinks.k1.channels: sinks bind with 'channel' (singular)"}));
}

TEST(Validate, SinkWithUnknownChannel) {
    std::string text = good;
    text.replace(text.find("k1.channel = c1"), 15, "k1.channel = c9");
    auto r = run(text);
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(),
              (std::vector<std::string>{"error: t.properties:10: a1.sinks.k1.channel: unknown channel 'c9'"}));
}

TEST(Validate, SinkWithSeveralChannels) {
    std::string text = good;
    text.replace(text.find("a1.channels = c1"), 16, "a1.channels = c1 c2\na1.channels.c2.type = t_memory");
    text.replace(text.find("k1.channel = c1"), 15, "k1.channel = c1 c2");
    auto r = run(text);
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "warning: t.properties:3: a1.channels.c2: channel 'c2' has no components connected and "
                             "is removed",
                             "error: t.properties:11: a1.sinks.k1.channel: a sink takes from exactly one channel, got "
                             "'c1 c2'"}));
}

TEST(Validate, SourceUnknownChannelStrictAndLenient) {
    std::string text = good;
    text.replace(text.find("r1.channels = c1"), 16, "r1.channels = c1 c9");
    auto strict = run(text);
    EXPECT_EQ(strict.topology, nullptr);
    EXPECT_EQ(strict.lines(),
              (std::vector<std::string>{"error: t.properties:7: a1.sources.r1.channels: unknown channel 'c9'"}));

    // Lenient, as Flume: the unknown channel is removed from the list and the
    // source runs with the rest.
    auto lenient = run(text, true);
    ASSERT_NE(lenient.topology, nullptr);
    EXPECT_EQ(lenient.lines(),
              (std::vector<std::string>{"warning: t.properties:7: a1.sources.r1.channels: unknown channel 'c9'"}));
    EXPECT_EQ(lenient.topology->find(ComponentKind::source, "r1")->settings.get_list("channels"),
              (std::vector<std::string>{"c1"}));
}

TEST(Validate, LenientDropsSourceWhoseChannelsAreAllInvalid) {
    std::string text = good;
    text.replace(text.find("r1.channels = c1"), 16, "r1.channels = c8 c9");
    auto r = run(text, true);
    ASSERT_NE(r.topology, nullptr) << testing::PrintToString(r.lines());
    EXPECT_TRUE(r.topology->sources.empty());
    EXPECT_EQ(names(r.topology->sinks), (std::vector<std::string>{"k1"}));  // only sinks: still valid
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "warning: t.properties:4: a1.sources.r1: source 'r1' is removed because of the problems "
                             "reported for it",
                             "warning: t.properties:7: a1.sources.r1.channels: unknown channel 'c8'",
                             "warning: t.properties:7: a1.sources.r1.channels: unknown channel 'c9'",
                         }));
}

TEST(Validate, BatchSizeExceedsTransactionCapacity) {
    auto r = run(
        "a1.sources = r1\n"
        "a1.channels = c1\n"
        "a1.sinks = k1\n"
        "a1.sources.r1.type = t_seq\n"
        "a1.sources.r1.channels = c1\n"
        "a1.sources.r1.batchSize = 500\n"                  // 6
        "a1.channels.c1.type = t_memory\n"
        "a1.channels.c1.capacity = 1000\n"
        "a1.channels.c1.transactionCapacity = 200\n"
        "a1.sinks.k1.type = t_roll\n"                      // 10
        "a1.sinks.k1.channel = c1\n"
        "a1.sinks.k1.sink.directory = /tmp\n");
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:6: a1.sources.r1.batchSize: batch size 500 exceeds "
                             "transactionCapacity 200 of channel 'c1'",
                         }));
}

TEST(Validate, DefaultBatchSizeIsCheckedAtTheComponentLine) {
    auto r = run(
        "a1.channels = c1\n"
        "a1.sinks = k1\n"
        "a1.channels.c1.type = t_memory\n"
        "a1.channels.c1.transactionCapacity = 50\n"
        "a1.sinks.k1.type = t_roll\n"  // 5: default batchSize 100
        "a1.sinks.k1.channel = c1\n"
        "a1.sinks.k1.sink.directory = /tmp\n");
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{"error: t.properties:5: a1.sinks.k1.batchSize: batch size 100 "
                                                   "exceeds transactionCapacity 50 of channel 'c1'"}));
}

TEST(Validate, SinkGroups) {
    auto r = run(std::string(good) +
                 "a1.sinks = k1 k2\n"  // replaces line 3's value; line 11
                 "a1.sinks.k2.type = t_logger\n"
                 "a1.sinks.k2.channel = c1\n"
                 "a1.sinkgroups = g1 g2\n"                    // 14
                 "a1.sinkgroups.g1.sinks = k1 k2\n"           // 15
                 "a1.sinkgroups.g1.processor.type = default\n"
                 "a1.sinkgroups.g2.sinks = k2 k7\n");         // 17
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "warning: t.properties:17: a1.sinkgroups.g2.sinks: sink 'k2' is already in sink group "
                             "'g1'; kept there",
                             "error: t.properties:17: a1.sinkgroups.g2.sinks: unknown sink 'k7'",
                             "warning: t.properties:17: a1.sinkgroups.g2.sinks: no sinks left; sink group 'g2' is "
                             "removed",
                         }));
}

TEST(Validate, SinkGroupWithoutSinks) {
    auto r = run(std::string(good) + "a1.sinkgroups = g1\na1.sinkgroups.g1.processor.type = default\n");
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(),
              (std::vector<std::string>{"error: t.properties:12: a1.sinkgroups.g1.sinks: required key is missing"}));
    auto failover = run(std::string(good) + "a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1\n"
                                            "a1.sinkgroups.g1.processor.type = failover\n");
    EXPECT_NE(failover.topology, nullptr);
    EXPECT_TRUE(failover.problems.empty()) << testing::PrintToString(failover.lines());
}

TEST(Validate, SinkProcessorKeysAreChecked) {
    const std::string two_sinks = std::string(good) +
                                  "a1.sinks = k1 k2\n"  // 11
                                  "a1.sinks.k2.type = t_logger\n"
                                  "a1.sinks.k2.channel = c1\n"
                                  "a1.sinkgroups = g1\n"  // 14
                                  "a1.sinkgroups.g1.sinks = k1 k2\n";
    auto r = run(two_sinks +
                 "a1.sinkgroups.g1.processor.type = failover\n"       // 16
                 "a1.sinkgroups.g1.processor.priority.k1 = 5\n"
                 "a1.sinkgroups.g1.processor.priority.k2 = 5\n"       // 18
                 "a1.sinkgroups.g1.processor.priority.k9 = 1\n"       // 19
                 "a1.sinkgroups.g1.processor.maxpenalty = soon\n");   // 20
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:20: a1.sinkgroups.g1.processor.maxpenalty: expected a duration such "
                             "as 500ms, 10s, 5m or 1h, got 'soon'",
                         }));
    r = run(two_sinks + "a1.sinkgroups.g1.processor.type = failover\n"
                        "a1.sinkgroups.g1.processor.priority.k1 = 5\n"
                        "a1.sinkgroups.g1.processor.priority.k2 = 5\n"
                        "a1.sinkgroups.g1.processor.priority.k9 = high\n");
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:18: a1.sinkgroups.g1.processor.priority.k2: sink 'k2' has the "
                             "priority of another sink of the group; it is left out of the group and does not run (as "
                             "in Flume)",
                             "warning: t.properties:19: a1.sinkgroups.g1.processor.priority.k9: sink 'k9' is not in "
                             "this group; ignored",
                             "error: t.properties:19: a1.sinkgroups.g1.processor.priority.k9: expected an integer "
                             "priority, got 'high'",
                         }));
    r = run(two_sinks + "a1.sinkgroups.g1.processor.type = load_balance\n"
                        "a1.sinkgroups.g1.processor.selector = weighted\n"
                        "a1.sinkgroups.g1.processor.backof = true\n");
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:17: a1.sinkgroups.g1.processor.selector: expected one of "
                             "round_robin, random, got 'weighted'",
                             "warning: t.properties:18: a1.sinkgroups.g1.processor.backof: unknown key 'backof' for "
                             "load_balance (did you mean 'processor.backoff'?); ignored",
                         }));
    r = run(std::string(good) + "a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1\n"
                                "a1.sinkgroups.g1.processor.type = load_balance\n");
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:12: a1.sinkgroups.g1.sinks: the load_balance sink processor cannot "
                             "be used for a single sink; configure more than one sink"}));
    r = run(std::string(good) + "a1.sinkgroups = g1\na1.sinkgroups.g1.sinks = k1\n"
                                "a1.sinkgroups.g1.processor.type = best_effort\n");
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:13: a1.sinkgroups.g1.processor.type: unknown sink processor "
                             "'best_effort'; known: default, failover, load_balance"}));
}

TEST(Validate, SinkGroupKeepsFirstGroupInTopology) {
    auto r = run(std::string(good) +
                 "a1.sinks = k1 k2\n"
                 "a1.sinks.k2.type = t_logger\n"
                 "a1.sinks.k2.channel = c1\n"
                 "a1.sinkgroups = g1 g2\n"
                 "a1.sinkgroups.g1.sinks = k1 k2\n"
                 "a1.sinkgroups.g2.sinks = k2\n");
    // g2 lost its only sink to g1: warnings only, and g2 is not in the topology.
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "warning: t.properties:16: a1.sinkgroups.g2.sinks: sink 'k2' is already in sink group "
                             "'g1'; kept there",
                             "warning: t.properties:16: a1.sinkgroups.g2.sinks: no sinks left; sink group 'g2' is "
                             "removed",
                         }));
    ASSERT_NE(r.topology, nullptr) << testing::PrintToString(r.lines());
    EXPECT_EQ(names(r.topology->sinkgroups), (std::vector<std::string>{"g1"}));
    EXPECT_EQ(r.topology->find(ComponentKind::sinkgroup, "g1")->settings.get_list("sinks"),
              (std::vector<std::string>{"k1", "k2"}));
}

TEST(Validate, UnconnectedChannelIsRemoved) {
    auto r = run(std::string(good) + "a1.channels = c1 c2\na1.channels.c2.type = t_memory\n");
    ASSERT_NE(r.topology, nullptr);
    EXPECT_EQ(names(r.topology->channels), (std::vector<std::string>{"c1"}));
    EXPECT_EQ(r.lines(), (std::vector<std::string>{"warning: t.properties:12: a1.channels.c2: channel 'c2' has no "
                                                   "components connected and is removed"}));
}

TEST(Validate, StreamsBindToChannels) {
    auto r = run(std::string(good) +
                 "a1.channels = c1 c2\n"
                 "a1.channels.c2.type = t_memory\n"
                 "a1.streams = wc\n"
                 "a1.streams.wc.channel = c1\n"
                 "a1.streams.wc.channels = c2 c9\n"  // 15
                 "a1.streams.wc.ops = count()\n"
                 "a1.streams.wc.opz = x\n");          // 17
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:14: a1.streams.wc.ops: streams are not available in this build",
                             "error: t.properties:15: a1.streams.wc.channels: unknown channel 'c9'",
                             "warning: t.properties:17: a1.streams.wc.opz: unknown key 'opz' (did you mean 'ops'?); "
                             "ignored",
                         }));
    auto ok = run(std::string(good) +
                  "a1.channels = c1 c2\n"
                  "a1.channels.c2.type = t_memory\n"
                  "a1.streams = wc\n"
                  "a1.streams.wc.channel = c1\n"
                  "a1.streams.wc.channels = c2\n"
                  "a1.streams.wc.ops = count()\n");
    // Well bound; core alone has no stream descriptor (operators/ registers
    // it), so the one problem is that.
    EXPECT_EQ(ok.topology, nullptr);
    EXPECT_EQ(ok.lines(), (std::vector<std::string>{
                              "error: t.properties:14: a1.streams.wc.ops: streams are not available in this build"}));
}

// ---------------------------------------------------------------------------
// validate_agent: agent-level rules, strict vs lenient

TEST(Validate, NoChannelIsAnError) {
    auto r = run(
        "a1.sinks = k1\n"
        "a1.sinks.k1.type = t_logger\n"
        "a1.sinks.k1.channel = c1\n");
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties: a1: agent 'a1' has no valid channel",
                             "error: t.properties:3: a1.sinks.k1.channel: unknown channel 'c1'",
                         }));
}

TEST(Validate, NoSourceOrSinkIsAnError) {
    auto r = run("a1.channels = c1\na1.channels.c1.type = t_memory\n");
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties: a1: agent 'a1' has no valid channel",
                             "error: t.properties: a1: agent 'a1' has no valid source or sink",
                             "warning: t.properties:2: a1.channels.c1: channel 'c1' has no components connected and "
                             "is removed",
                         }));
}

TEST(Validate, NoConfigurationStopsWithOneProblem) {
    auto r = run("a2.channels = c1\n");
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(),
              (std::vector<std::string>{"error: t.properties: a1: No configuration found for this host:a1"}));
}

const char* const broken =
    "a1.sources = r1 r2\n"                     // 1
    "a1.channels = c1\n"                       // 2
    "a1.sinks = k1 k2\n"                       // 3
    "a1.sources.r1.type = t_netcat\n"          // 4
    "a1.sources.r1.bind = 0.0.0.0\n"           // 5
    "a1.sources.r1.port = 44444\n"             // 6
    "a1.sources.r1.channels = c1\n"            // 7
    "a1.sources.r2.type = t_netcat\n"          // 8
    "a1.sources.r2.bind = 0.0.0.0\n"           // 9
    "a1.sources.r2.port = none\n"              // 10
    "a1.sources.r2.channels = c1\n"            // 11
    "a1.channels.c1.type = t_memory\n"         // 12
    "a1.sinks.k1.type = t_logger\n"            // 13
    "a1.sinks.k1.channel = c1\n"               // 14
    "a1.sinks.k2.type = t_logger\n"            // 15
    "a1.sinks.k2.channel = c9\n"               // 16
    "a1.sinks.k3.type = t_logger\n"            // 17
    "a1.sources.r1.prot = 1\n"                 // 18
    "a1.sinks.k1.maxBytesToLog =\n";           // 19

TEST(Validate, StrictReportsEveryProblemInFileOrder) {
    auto r = run(broken);
    EXPECT_EQ(r.topology, nullptr);
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "error: t.properties:10: a1.sources.r2.port: expected an integer, got 'none'",
                             "error: t.properties:16: a1.sinks.k2.channel: unknown channel 'c9'",
                             "warning: t.properties:17: a1.sinks.k3: not listed in a1.sinks; ignored",
                             "warning: t.properties:18: a1.sources.r1.prot: unknown key 'prot' (did you mean "
                             "'port'?); ignored",
                             "error: t.properties:19: a1.sinks.k1.maxBytesToLog: empty value; property ignored",
                         }));
}

TEST(Validate, LenientDropsBrokenComponentsAndRunsTheRest) {
    auto r = run(broken, true);
    ASSERT_NE(r.topology, nullptr) << testing::PrintToString(r.lines());
    EXPECT_EQ(names(r.topology->sources), (std::vector<std::string>{"r1"}));
    EXPECT_EQ(names(r.topology->sinks), (std::vector<std::string>{"k1"}));
    EXPECT_EQ(names(r.topology->channels), (std::vector<std::string>{"c1"}));
    for (const auto& p : r.problems) EXPECT_EQ(p.severity, ConfigProblem::Severity::warning) << p.to_string();
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "warning: t.properties:8: a1.sources.r2: source 'r2' is removed because of the problems "
                             "reported for it",
                             "warning: t.properties:10: a1.sources.r2.port: expected an integer, got 'none'",
                             "warning: t.properties:15: a1.sinks.k2: sink 'k2' is removed because of the problems "
                             "reported for it",
                             "warning: t.properties:16: a1.sinks.k2.channel: unknown channel 'c9'",
                             "warning: t.properties:17: a1.sinks.k3: not listed in a1.sinks; ignored",
                             "warning: t.properties:18: a1.sources.r1.prot: unknown key 'prot' (did you mean "
                             "'port'?); ignored",
                             "warning: t.properties:19: a1.sinks.k1.maxBytesToLog: empty value; property ignored",
                         }));
    // The ignored empty value falls back to the default.
    EXPECT_EQ(r.topology->find(ComponentKind::sink, "k1")->settings.get_int("maxBytesToLog"), 16);
}

TEST(Validate, LenientDropsSinkOfADroppedChannel) {
    auto r = run(std::string(good) + "a1.channels = c1 c2\na1.channels.c2.type = t_memory\n"
                                     "a1.channels.c2.capacity = 0\n"  // 13
                                     "a1.sinks = k1 k2\n"
                                     "a1.sinks.k2.type = t_logger\n"  // 15
                                     "a1.sinks.k2.channel = c2\n",
                 true);
    ASSERT_NE(r.topology, nullptr) << testing::PrintToString(r.lines());
    EXPECT_EQ(names(r.topology->sinks), (std::vector<std::string>{"k1"}));
    EXPECT_EQ(names(r.topology->channels), (std::vector<std::string>{"c1"}));
    EXPECT_EQ(r.lines(), (std::vector<std::string>{
                             "warning: t.properties:12: a1.channels.c2: channel 'c2' is removed because of the "
                             "problems reported for it",
                             "warning: t.properties:13: a1.channels.c2.capacity: must be at least 1, got 0",
                             "warning: t.properties:15: a1.sinks.k2: sink 'k2' is removed because of the problems "
                             "reported for it",
                             "warning: t.properties:16: a1.sinks.k2.channel: channel 'c2' is removed",
                         }));
}

TEST(Validate, LenientWithNothingLeftFails) {
    std::string text = good;
    text.replace(text.find("type = t_memory"), 15, "type = t_nope");
    auto r = run(text, true);
    EXPECT_EQ(r.topology, nullptr);
    bool agent_error = false;
    for (const auto& p : r.problems)
        if (p.severity == ConfigProblem::Severity::error) {
            EXPECT_EQ(p.key, "a1");
            agent_error = true;
        }
    EXPECT_TRUE(agent_error) << testing::PrintToString(r.lines());
}

// ---------------------------------------------------------------------------
// describe_topology / configuration_reference

TEST(Describe, ShowsKeysDefaultsAndFlow) {
    auto r = run(std::string(good) +
                 "a1.sinks = k1 k2\n"
                 "a1.sinks.k2.type = t_roll\n"
                 "a1.sinks.k2.channel = c1\n"
                 "a1.sinks.k2.sink.directory = /var/out\n"
                 "a1.sources.r1.selector.type = replicating\n");
    ASSERT_NE(r.topology, nullptr) << testing::PrintToString(r.lines());
    const std::string text = describe_topology(*r.topology);
    EXPECT_EQ(text.rfind("agent a1", 0), 0u) << text;
    for (const char* line : {"\n  source r1 (t_netcat)\n", "\n    port = 44444\n", "\n    bind = 0.0.0.0\n",
                             "\n    channels = c1\n", "\n    max-line-length = 512 (default)\n",
                             "\n    selector.type = replicating\n", "\n  channel c1 (t_memory)\n",
                             "\n    capacity = 100 (default)\n", "\n  sink k1 (t_logger)\n", "\n    channel = c1\n",
                             "\n  sink k2 (t_roll)\n", "\n    sink.directory = /var/out\n",
                             "\n    sink.serializer = TEXT (default)\n", "\n    r1 -> c1 -> k1\n",
                             "\n    r1 -> c1 -> k2\n"})
        EXPECT_NE(text.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << text;
    EXPECT_EQ(text.find("type = t_netcat"), std::string::npos);  // the type is in the header line
    EXPECT_EQ(describe_topology(*r.topology), text);             // stable
}

TEST(Reference, ListsEveryDescriptorWithItsKeys) {
    register_test_components();
    const std::string md = configuration_reference();
    for (const char* s : {"# sluice configuration reference", "${env:", "-Dkey=value", "## Common keys",
                          "## Sources", "## Channels", "## Sinks", "### t_netcat", "### t_memory", "### t_roll",
                          "Aliases: `org.example.TestNetcatSource`",
                          "| key | type | default | required | description |",
                          "| `port` | integer 1–65535 |  | yes | test key |",
                          "| `max-line-length` | integer ≥ 1 | `512` |  | test key |",
                          "| `sink.directory` | string |  | yes | where \\| files go |",
                          "| `sink.serializer` | one of `TEXT`, `avro_event` | `TEXT` |  | test key **Differs from "
                          "Flume:** class names are not accepted |",
                          "| `channels` | list |  | yes |", "| `selector.*` | prefix |", "| `processor.*` | prefix |",
                          "`batchSize` must not exceed the `transactionCapacity` of the channel."})
        EXPECT_NE(md.find(s), std::string::npos) << "missing: " << s;
    // Sources come before channels, channels before sinks.
    EXPECT_LT(md.find("### t_netcat"), md.find("### t_memory"));
    EXPECT_LT(md.find("### t_memory"), md.find("### t_roll"));
}

}  // namespace
}  // namespace sluice
