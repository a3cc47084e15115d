// SPDX-License-Identifier: Apache-2.0
// parse_properties (java.util.Properties grammar) and read_agent_config
// (Flume's structural rules, ${...} substitution, -D overrides).
#include "core/config.h"

#include <chrono>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace sluice {
namespace {

// ---------------------------------------------------------------------------
// helpers

struct kv {
    std::string key, value;
    int line;
    bool operator==(const kv&) const = default;
};

std::ostream& operator<<(std::ostream& os, const kv& p) {
    return os << "{" << p.key << " = '" << p.value << "' @" << p.line << "}";
}

std::vector<kv> parse(std::string_view text) {
    std::vector<kv> out;
    for (auto& p : parse_properties(text)) out.push_back({p.key, p.value, p.line});
    return out;
}

std::string value_of(std::string_view text, const std::string& key) {
    for (auto& p : parse_properties(text))
        if (p.key == key) return p.value;
    return "<absent>";
}

std::vector<std::string> render(const std::vector<ConfigProblem>& problems) {
    std::vector<std::string> out;
    for (const auto& p : problems)
        out.push_back((p.severity == ConfigProblem::Severity::warning ? "warning: " : "error: ") + p.to_string());
    return out;
}

ReadOptions opts_with_env(std::map<std::string, std::string> env = {}) {
    ReadOptions o;
    o.agent = "a1";
    o.env = std::move(env);
    return o;
}

AgentConfig read(std::string_view text, std::vector<ConfigProblem>& problems, ReadOptions o = opts_with_env()) {
    return read_agent_config_text(text, "t.properties", o, problems);
}

const char* const minimal =
    "a1.sources = r1\n"                 // 1
    "a1.channels = c1\n"                // 2
    "a1.sinks = k1\n"                   // 3
    "a1.sources.r1.port = 44444\n"      // 4
    "a1.sources.r1.type = netcat\n"     // 5
    "a1.sources.r1.channels = c1\n"     // 6
    "a1.channels.c1.type = memory\n"    // 7
    "a1.sinks.k1.type = logger\n"       // 8
    "a1.sinks.k1.channel = c1\n";       // 9

// ---------------------------------------------------------------------------
// ConfigProblem

TEST(ConfigProblem, ToStringLeavesOutEmptyFields) {
    ConfigProblem p{ConfigProblem::Severity::error, "conf/a.properties", 7, "a1.sinks.k1.channel",
                    "unknown channel 'c9'"};
    EXPECT_EQ(p.to_string(), "conf/a.properties:7: a1.sinks.k1.channel: unknown channel 'c9'");
    p.line = 0;
    EXPECT_EQ(p.to_string(), "conf/a.properties: a1.sinks.k1.channel: unknown channel 'c9'");
    p.key.clear();
    EXPECT_EQ(p.to_string(), "conf/a.properties: unknown channel 'c9'");
    p.file.clear();
    EXPECT_EQ(p.to_string(), "unknown channel 'c9'");
    ConfigProblem w{ConfigProblem::Severity::warning, "f", 2, "k", "m"};
    EXPECT_EQ(w.to_string(), "f:2: k: m");  // no "warning: " prefix: the caller adds it
}

TEST(ConfigKinds, NamesAndPlurals) {
    EXPECT_EQ(kind_name(ComponentKind::sinkgroup), "sinkgroup");
    EXPECT_EQ(kind_plural(ComponentKind::source), "sources");
    EXPECT_EQ(kind_plural(ComponentKind::channel), "channels");
    EXPECT_EQ(kind_plural(ComponentKind::sink), "sinks");
    EXPECT_EQ(kind_plural(ComponentKind::sinkgroup), "sinkgroups");
    EXPECT_EQ(kind_plural(ComponentKind::stream), "streams");
}

// ---------------------------------------------------------------------------
// parse_properties: separators

TEST(Properties, SeparatorsEqualsColonAndWhitespace) {
    EXPECT_EQ(parse("a=b\nc:d\ne f\ng = h\ni\t:\tj\nk   l\n"),
              (std::vector<kv>{{"a", "b", 1}, {"c", "d", 2}, {"e", "f", 3}, {"g", "h", 4}, {"i", "j", 5},
                               {"k", "l", 6}}));
}

TEST(Properties, OnlyTheFirstSeparatorCounts) {
    EXPECT_EQ(value_of("a=b=c\n", "a"), "b=c");
    EXPECT_EQ(value_of("a:b:c\n", "a"), "b:c");
    EXPECT_EQ(value_of("a b c\n", "a"), "b c");
    // White space, then one '=' or ':' is still part of the separator; a
    // second one belongs to the value.
    EXPECT_EQ(value_of("a  :=x\n", "a"), "=x");
    EXPECT_EQ(value_of("a = = x\n", "a"), "= x");
}

TEST(Properties, KeyWithoutValue) {
    EXPECT_EQ(parse("lonely\nalso=\n"), (std::vector<kv>{{"lonely", "", 1}, {"also", "", 2}}));
}

TEST(Properties, KeysAndValuesAreTrimmed) {
    EXPECT_EQ(parse("   a.b   =   some value   \n"), (std::vector<kv>{{"a.b", "some value", 1}}));
    // Flume trims after unescaping (String.trim), so escaped white space at the
    // ends goes too.
    EXPECT_EQ(value_of("a = x\\t\n", "a"), "x");
}

// parse_properties: comments and blank lines

TEST(Properties, CommentsAndBlankLines) {
    EXPECT_EQ(parse("# hash\n! bang\n   # indented\n\t! indented bang\n\n   \nk=v # not a comment\n"),
              (std::vector<kv>{{"k", "v # not a comment", 7}}));
}

TEST(Properties, CommentLinesDoNotContinue) {
    EXPECT_EQ(parse("# comment \\\na=b\n"), (std::vector<kv>{{"a", "b", 2}}));
}

// parse_properties: continuation

TEST(Properties, ContinuationJoinsAndDropsLeadingWhitespace) {
    EXPECT_EQ(parse("a = one \\\n      two \\\n\t three\nb = 2\n"),
              (std::vector<kv>{{"a", "one two three", 1}, {"b", "2", 4}}));
}

TEST(Properties, EvenBackslashesDoNotContinue) {
    EXPECT_EQ(parse("a = x\\\\\nb = y\n"), (std::vector<kv>{{"a", "x\\", 1}, {"b", "y", 2}}));
    EXPECT_EQ(parse("a = x\\\\\\\n  y\n"), (std::vector<kv>{{"a", "x\\y", 1}}));
}

TEST(Properties, ContinuationLineStartingWithHashIsNotAComment) {
    EXPECT_EQ(value_of("a = x\\\n  # y\n", "a"), "x# y");
}

TEST(Properties, BlankContinuationLineEndsTheLogicalLine) {
    EXPECT_EQ(parse("a = x\\\n   \nb = y\n"), (std::vector<kv>{{"a", "x", 1}, {"b", "y", 3}}));
}

TEST(Properties, ContinuationAtEndOfInput) {
    EXPECT_EQ(parse("a = x\\"), (std::vector<kv>{{"a", "x", 1}}));
}

TEST(Properties, ContinuationInsideKey) {
    EXPECT_EQ(parse("a1.sour\\\n   ces = r1\n"), (std::vector<kv>{{"a1.sources", "r1", 1}}));
}

// parse_properties: line endings and line numbers

TEST(Properties, LineNumbersCountPhysicalLinesWithAnyLineEnding) {
    EXPECT_EQ(parse("a=1\r\nb=2\rc=3\n\nd=\\\r\n 4\r\ne=5"),
              (std::vector<kv>{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}, {"d", "4", 5}, {"e", "5", 7}}));
}

// parse_properties: escapes

TEST(Properties, CharacterEscapes) {
    EXPECT_EQ(value_of("a = x\\ty\\nz\\rw\\fv\n", "a"), "x\ty\nz\rw\fv");
    EXPECT_EQ(value_of("a = \\q\\:\\=\\#\n", "a"), "q:=#");
    EXPECT_EQ(value_of("a = c:\\\\dir\n", "a"), "c:\\dir");
}

TEST(Properties, EscapedSeparatorsBelongToTheKey) {
    EXPECT_EQ(parse("a\\=b = c\n"), (std::vector<kv>{{"a=b", "c", 1}}));
    EXPECT_EQ(parse("a\\:b:c\n"), (std::vector<kv>{{"a:b", "c", 1}}));
    EXPECT_EQ(parse("a\\ b c\n"), (std::vector<kv>{{"a b", "c", 1}}));
}

TEST(Properties, UnicodeEscapesBecomeUtf8) {
    EXPECT_EQ(value_of("a = \\u0041\n", "a"), "A");
    EXPECT_EQ(value_of("a = caf\\u00e9\n", "a"), "caf\xC3\xA9");
    EXPECT_EQ(value_of("a = \\u20AC\n", "a"), "\xE2\x82\xAC");
    EXPECT_EQ(value_of("a = \\uD83D\\uDE00\n", "a"), "\xF0\x9F\x98\x80");  // surrogate pair
    EXPECT_EQ(value_of("a = \\uD83Dx\n", "a"), "\xEF\xBF\xBDx");         // lone surrogate -> U+FFFD
    EXPECT_EQ(parse("\\u0061\\u0062 = 1\n"), (std::vector<kv>{{"ab", "1", 1}}));
}

TEST(Properties, RawUtf8PassesThrough) {
    EXPECT_EQ(value_of("a = \xC3\xA9t\xC3\xA9\n", "a"), "\xC3\xA9t\xC3\xA9");
}

TEST(Properties, MalformedUnicodeEscapeIsReported) {
    std::vector<ConfigProblem> problems;
    auto props = parse_properties("ok = 1\nbad = x\\u12G4\n", "f.properties", problems);
    ASSERT_EQ(props.size(), 2u);
    EXPECT_EQ(props[1].value, "x\\u12G4");
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].to_string(), "f.properties:2: bad: malformed \\uXXXX escape (four hex digits expected)");
}

// parse_properties: repeated keys

TEST(Properties, RepeatedKeyLastValueWinsFirstPositionLastLine) {
    EXPECT_EQ(parse("a = 1\nb = 2\na = 3\n"), (std::vector<kv>{{"a", "3", 3}, {"b", "2", 2}}));
}

// ---------------------------------------------------------------------------
// read_agent_config_text: structure

TEST(ReadAgent, MinimalConfiguration) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(minimal, problems);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.agent, "a1");
    EXPECT_EQ(cfg.file, "t.properties");
    ASSERT_EQ(cfg.sources.size(), 1u);
    const auto& r1 = cfg.sources[0];
    EXPECT_EQ(r1.name, "r1");
    EXPECT_EQ(r1.kind, ComponentKind::source);
    EXPECT_EQ(r1.key_prefix, "a1.sources.r1.");
    EXPECT_EQ(r1.full_key("port"), "a1.sources.r1.port");
    EXPECT_EQ(r1.line, 5);  // the line of `type`, not of the first key (4)
    ASSERT_NE(r1.find("port"), nullptr);
    EXPECT_EQ(r1.find("port")->value, "44444");
    EXPECT_EQ(r1.find("port")->line, 4);
    EXPECT_EQ(r1.find("nope"), nullptr);
    ASSERT_NE(cfg.find(ComponentKind::sink, "k1"), nullptr);
    EXPECT_EQ(cfg.find(ComponentKind::sink, "k1")->find("channel")->value, "c1");
    EXPECT_EQ(cfg.find(ComponentKind::channel, "c1")->line, 7);
    EXPECT_EQ(cfg.find(ComponentKind::channel, "c9"), nullptr);
}

TEST(ReadAgent, ComponentsFollowListOrder) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(
        "a1.channels = c2 c1\n"
        "a1.channels.c1.type = memory\n"
        "a1.channels.c2.type = memory\n",
        problems);
    ASSERT_EQ(cfg.channels.size(), 2u);
    EXPECT_EQ(cfg.channels[0].name, "c2");
    EXPECT_EQ(cfg.channels[1].name, "c1");
}

TEST(ReadAgent, ComponentLineIsFirstKeyWhenNoType) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(
        "a1.sinkgroups = g1\n"
        "a1.sinkgroups.g1.processor.type = failover\n"
        "a1.sinkgroups.g1.sinks = k1\n",
        problems);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));  // sink groups have no type
    ASSERT_EQ(cfg.sinkgroups.size(), 1u);
    EXPECT_EQ(cfg.sinkgroups[0].line, 2);
    EXPECT_EQ(cfg.sinkgroups[0].find("processor.type")->value, "failover");
}

TEST(ReadAgent, OtherAgentsAreIgnoredSilently) {
    std::vector<ConfigProblem> problems;
    std::string text = std::string(minimal) + "a2.sources = x\na2.bogus.key = 1\nlonely = 1\n";
    auto cfg = read(text, problems);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.sources.size(), 1u);
}

TEST(ReadAgent, NoConfigurationForTheAgent) {
    std::vector<ConfigProblem> problems;
    auto cfg = read("a2.sources = r1\na2.sources.r1.type = netcat\n", problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{"error: t.properties: a1: No configuration found for this host:a1"}));
    EXPECT_TRUE(cfg.sources.empty());
}

TEST(ReadAgent, EmptyValueIsIgnoredWithAnError) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) + "a1.sources.r1.bind =\n", problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{"error: t.properties:10: a1.sources.r1.bind: empty value; property ignored"}));
    EXPECT_EQ(cfg.sources[0].find("bind"), nullptr);
}

TEST(ReadAgent, InvalidKeys) {
    std::vector<ConfigProblem> problems;
    read(std::string(minimal) +
             "a1.channel.c1.capacity = 10\n"  // 10
             "a1.sources.r1 = x\n"            // 11
             "a1.whatever = 1\n"              // 12
             "a1.configfilters = f\n",        // 13
         problems);
    const std::string expected = "not a valid key: expected a1.sources|channels|sinks|sinkgroups|streams.<name>.<key>";
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{
                  "error: t.properties:10: a1.channel.c1.capacity: " + expected + " (did you mean 'a1.channels'?)",
                  "error: t.properties:11: a1.sources.r1: " + expected,
                  "error: t.properties:12: a1.whatever: " + expected,
                  "error: t.properties:13: a1.configfilters: " + expected + " (config filters are not supported)",
              }));
}

TEST(ReadAgent, ListedComponentWithoutProperties) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(
        "a1.channels = c1\n"
        "a1.sinks = k1 k2\n"
        "a1.channels.c1.type = memory\n"
        "a1.sinks.k1.type = logger\n"
        "a1.sinks.k1.channel = c1\n",
        problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{
                  "error: t.properties:2: a1.sinks.k2: listed in a1.sinks but has no properties"}));
    EXPECT_EQ(cfg.sinks.size(), 1u);
}

TEST(ReadAgent, UnlistedComponentIsIgnoredWithAWarning) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) + "a1.sinks.k9.type = logger\na1.streams.s1.ops = count()\n", problems);
    EXPECT_EQ(render(problems), (std::vector<std::string>{
                                    "warning: t.properties:10: a1.sinks.k9: not listed in a1.sinks; ignored",
                                    "warning: t.properties:11: a1.streams.s1: not listed in a1.streams; ignored",
                                }));
    EXPECT_EQ(cfg.find(ComponentKind::sink, "k9"), nullptr);
}

TEST(ReadAgent, DuplicateNameInListIsAWarning) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(
        "a1.channels = c1 c1\n"
        "a1.channels.c1.type = memory\n",
        problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{
                  "warning: t.properties:1: a1.channels: 'c1' is listed twice; the repeat is ignored"}));
    EXPECT_EQ(cfg.channels.size(), 1u);
}

TEST(ReadAgent, ComponentWithoutTypeIsAnError) {
    std::vector<ConfigProblem> problems;
    read(
        "a1.channels = c1\n"
        "a1.streams = s1\n"
        "a1.channels.c1.capacity = 10\n"
        "a1.streams.s1.ops = count()\n",  // streams have no type
        problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{"error: t.properties:3: a1.channels.c1.type: required key is missing"}));
}

TEST(ReadAgent, ProblemsAreInFileOrder) {
    std::vector<ConfigProblem> problems;
    read(
        "a1.sinks.zz.type = logger\n"  // 1: unlisted
        "a1.sources = r1\n"            // 2: r1 has no properties
        "a1.bad = 1\n",                // 3: invalid
        problems);
    ASSERT_EQ(problems.size(), 3u);
    EXPECT_EQ(problems[0].line, 1);
    EXPECT_EQ(problems[1].line, 2);
    EXPECT_EQ(problems[2].line, 3);
}

// ---------------------------------------------------------------------------
// read_agent_config_text: substitution

TEST(ReadAgentSubstitution, EnvVariableFromOptions) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) + "a1.sources.r1.bind = ${env:BIND_HOST}:${env:PORT}\n", problems,
                    opts_with_env({{"BIND_HOST", "0.0.0.0"}, {"PORT", "1"}}));
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.sources[0].find("bind")->value, "0.0.0.0:1");
}

TEST(ReadAgentSubstitution, UnsetEnvVariableIsAnErrorNamingIt) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) + "a1.sources.r1.bind = ${env:SLUICE_TEST_UNSET}\n", problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{"error: t.properties:10: a1.sources.r1.bind: environment variable "
                                        "'SLUICE_TEST_UNSET' is not set (in ${env:SLUICE_TEST_UNSET}); "
                                        "property ignored"}));
    EXPECT_EQ(cfg.sources[0].find("bind"), nullptr);
}

TEST(ReadAgentSubstitution, EnvDefaultValue) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) + "a1.sources.r1.bind = ${env:SLUICE_TEST_UNSET:-localhost}\n", problems);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.sources[0].find("bind")->value, "localhost");
}

TEST(ReadAgentSubstitution, ProcessEnvironmentWhenNoneInjected) {
    ::setenv("SLUICE_CONFIG_TEST_VAR", "from-getenv", 1);
    ReadOptions o;
    o.agent = "a1";  // no env: getenv is used
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) + "a1.sources.r1.bind = ${env:SLUICE_CONFIG_TEST_VAR}\n", problems, o);
    ::unsetenv("SLUICE_CONFIG_TEST_VAR");
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.sources[0].find("bind")->value, "from-getenv");
}

TEST(ReadAgentSubstitution, InjectedEnvHidesProcessEnvironment) {
    ::setenv("SLUICE_CONFIG_TEST_VAR2", "x", 1);
    std::vector<ConfigProblem> problems;
    read(std::string(minimal) + "a1.sources.r1.bind = ${env:SLUICE_CONFIG_TEST_VAR2}\n", problems);
    ::unsetenv("SLUICE_CONFIG_TEST_VAR2");
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].message.find("'SLUICE_CONFIG_TEST_VAR2' is not set"), std::string::npos);
}

TEST(ReadAgentSubstitution, SysLookupIsNotSupported) {
    std::vector<ConfigProblem> problems;
    read(std::string(minimal) + "a1.sources.r1.bind = ${sys:user.home}\n", problems);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].key, "a1.sources.r1.bind");
    EXPECT_EQ(problems[0].line, 10);
    EXPECT_EQ(problems[0].message,
              "${sys:user.home}: the 'sys' lookup is not supported (use ${env:NAME} or ${other.key}); "
              "property ignored");
}

TEST(ReadAgentSubstitution, OtherKeyOfTheSameFile) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) +
                        "base.port = 4\n"
                        "a1.sources.r1.bind = host-${base.port}${a1.sources.r1.port}\n"
                        "a1.channels.c1.capacity = ${a1.sources.r1.bind}\n",
                    problems);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.sources[0].find("bind")->value, "host-444444");
    EXPECT_EQ(cfg.channels[0].find("capacity")->value, "host-444444");  // resolved recursively
}

TEST(ReadAgentSubstitution, UndefinedKeyAndCycleAreErrors) {
    std::vector<ConfigProblem> problems;
    read(std::string(minimal) +
             "a1.sources.r1.bind = ${no.such.key}\n"  // 10
             "x = ${y}\n"
             "y = ${x}\n"
             "a1.sinks.k1.foo = ${x}\n",  // 13
         problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{
                  "error: t.properties:10: a1.sources.r1.bind: undefined variable '${no.such.key}' (no such key; "
                  "write $${ for a literal ${); property ignored",
                  "error: t.properties:13: a1.sinks.k1.foo: circular reference through '${x}'; property ignored",
              }));
}

TEST(ReadAgentSubstitution, DollarDollarIsALiteral) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) + "a1.sources.r1.bind = $${env:X} costs $5 and ${\n", problems);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.sources[0].find("bind")->value, "${env:X} costs $5 and ${");
}

TEST(ReadAgentSubstitution, NestedVariableName) {
    std::vector<ConfigProblem> problems;
    auto cfg = read(std::string(minimal) + "a1.sources.r1.bind = ${env:HOST_${env:WHICH}}\n", problems,
                    opts_with_env({{"WHICH", "B"}, {"HOST_B", "b.example"}}));
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.sources[0].find("bind")->value, "b.example");
}

TEST(ReadAgentSubstitution, EmptyAfterSubstitution) {
    std::vector<ConfigProblem> problems;
    read(std::string(minimal) + "a1.sources.r1.bind = ${env:EMPTY}\n", problems, opts_with_env({{"EMPTY", ""}}));
    EXPECT_EQ(render(problems), (std::vector<std::string>{"error: t.properties:10: a1.sources.r1.bind: empty value "
                                                          "after substitution; property ignored"}));
}

// ---------------------------------------------------------------------------
// read_agent_config_text: -D overrides

TEST(ReadAgentOverrides, ReplaceFileValuesWithLineZero) {
    auto o = opts_with_env();
    o.overrides = {{"a1.sources.r1.port", "5555"},
                   {"a1.channels.c1.capacity", "7"},
                   {"sluice.monitoring.type", "http"}};
    std::vector<ConfigProblem> problems;
    auto cfg = read(minimal, problems, o);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    EXPECT_EQ(cfg.sources[0].find("port")->value, "5555");
    EXPECT_EQ(cfg.sources[0].find("port")->line, 0);
    EXPECT_EQ(cfg.channels[0].find("capacity")->value, "7");
    EXPECT_EQ(cfg.channels[0].find("capacity")->line, 0);
}

TEST(ReadAgentOverrides, OverrideAloneDefinesTheAgent) {
    auto o = opts_with_env();
    o.overrides = {{"a1.channels", "c1"}, {"a1.channels.c1.type", "memory"}};
    std::vector<ConfigProblem> problems;
    auto cfg = read("", problems, o);
    EXPECT_TRUE(problems.empty()) << testing::PrintToString(render(problems));
    ASSERT_EQ(cfg.channels.size(), 1u);
    EXPECT_EQ(cfg.channels[0].line, 0);
}

TEST(ReadAgentOverrides, EmptyOverrideIsReportedAtLineZero) {
    auto o = opts_with_env();
    o.overrides = {{"a1.sinks.k1.channel", ""}};
    std::vector<ConfigProblem> problems;
    auto cfg = read(minimal, problems, o);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{"error: t.properties: a1.sinks.k1.channel: empty value; property ignored"}));
    EXPECT_EQ(cfg.sinks[0].find("channel"), nullptr);
}

// ---------------------------------------------------------------------------
// read_agent_config: files

TEST(ReadAgentFile, MissingFileUsesFlumeText) {
    std::vector<ConfigProblem> problems;
    auto cfg = read_agent_config("/nonexistent/sluice/x.properties", opts_with_env(), problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{"error: /nonexistent/sluice/x.properties: The specified configuration file "
                                        "does not exist: /nonexistent/sluice/x.properties"}));
    EXPECT_EQ(cfg.agent, "a1");
}

TEST(ReadAgentFile, UnreadableFileNamesTheSystemError) {
    std::vector<ConfigProblem> problems;
    read_agent_config("/tmp", opts_with_env(), problems);
    EXPECT_EQ(render(problems),
              (std::vector<std::string>{"error: /tmp: cannot read configuration file: Is a directory"}));
}

TEST(ReadAgentFile, ReadsARealFile) {
    char path[] = "/tmp/sluice_config_test_XXXXXX";
    int fd = ::mkstemp(path);
    ASSERT_GE(fd, 0);
    ::close(fd);
    {
        std::ofstream out(path);
        out << minimal << "a1.sources.r1.bind =\n";
    }
    std::vector<ConfigProblem> problems;
    auto cfg = read_agent_config(path, opts_with_env(), problems);
    ::unlink(path);
    EXPECT_EQ(cfg.file, path);
    EXPECT_EQ(cfg.sources.size(), 1u);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_EQ(problems[0].to_string(), std::string(path) + ":10: a1.sources.r1.bind: empty value; property ignored");
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// References that double at every level (v26 would be 1 GiB) stop at 1 MiB
// with an error instead of running for minutes (found while fuzzing).
TEST(Substitution, ExponentialExpansionIsCappedWithAnError) {
    std::string text = "a1.v0 = xxxxxxxxxxxxxxxx\n";
    for (int i = 1; i <= 26; i++)
        text += "a1.v" + std::to_string(i) + " = ${a1.v" + std::to_string(i - 1) + "}${a1.v" + std::to_string(i - 1) + "}\n";
    text += "a1.sources = r1\na1.sources.r1.type = ${a1.v26}\n";
    std::vector<ConfigProblem> problems;
    ReadOptions o;
    o.agent = "a1";
    o.env = std::map<std::string, std::string>{};
    auto start = std::chrono::steady_clock::now();
    read_agent_config_text(text, "t.properties", o, problems);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    bool capped = false;
    for (auto& p : problems)
        if (p.key == "a1.sources.r1.type" && p.message.find("longer than 1 MiB") != std::string::npos) capped = true;
    EXPECT_TRUE(capped);
}

}  // namespace
}  // namespace sluice
