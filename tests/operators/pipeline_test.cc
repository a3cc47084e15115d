// SPDX-License-Identifier: Apache-2.0
// The pipeline language (docs/streams.md §2–3): the parser (every operator
// and argument form, columns and texts of errors), the compiler (which plan
// each pipeline makes, and every rule it enforces), and the evaluation
// helpers the runtime uses per record (string functions, predicates, value
// functions, the JSON path walker).
#include "operators/pipeline.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/event.h"

namespace sluice::ops {
namespace {

// The message of a failed compile (or "" if it compiled).
std::string compile_error(std::string_view text, int64_t batch_ms = 1000, const UserFunctions* user = nullptr) {
    auto r = compile_pipeline(text, batch_ms, user);
    if (r) return "";
    EXPECT_EQ(r.status().code(), errc::config);
    return r.status().message();
}

std::string parse_error(std::string_view text) {
    auto r = parse_pipeline(text);
    if (r) return "";
    return r.status().message();
}

Plan compiled(std::string_view text, int64_t batch_ms = 1000, const UserFunctions* user = nullptr) {
    auto r = compile_pipeline(text, batch_ms, user);
    EXPECT_TRUE(r) << text << ": " << r.status().message();
    return r ? std::move(r.value()) : Plan{};
}

// ================================================================== parser

TEST(PipelineParse, OperatorsWithAndWithoutParentheses) {
    auto r = parse_pipeline("flatMap(split(\" \")) | pair(1) | reduceByKey(sum)");
    ASSERT_TRUE(r) << r.status().message();
    const auto& calls = r.value();
    ASSERT_EQ(calls.size(), 3u);
    EXPECT_EQ(calls[0].name, "flatMap");
    EXPECT_EQ(calls[0].col, 1);
    ASSERT_EQ(calls[0].args.size(), 1u);
    EXPECT_EQ(calls[0].args[0].kind, Arg::Kind::call);
    EXPECT_EQ(calls[0].args[0].text, "split");
    EXPECT_TRUE(calls[0].args[0].has_parens);
    EXPECT_EQ(calls[0].args[0].col, 9);
    ASSERT_EQ(calls[0].args[0].args.size(), 1u);
    EXPECT_EQ(calls[0].args[0].args[0].kind, Arg::Kind::string);
    EXPECT_EQ(calls[0].args[0].args[0].text, " ");
    EXPECT_EQ(calls[0].args[0].args[0].col, 15);
    EXPECT_EQ(calls[1].name, "pair");
    EXPECT_EQ(calls[1].col, 23);
    ASSERT_EQ(calls[1].args.size(), 1u);
    EXPECT_EQ(calls[1].args[0].kind, Arg::Kind::number);
    EXPECT_EQ(calls[1].args[0].num, Num::of_int(1));
    EXPECT_EQ(calls[2].name, "reduceByKey");
    EXPECT_EQ(calls[2].col, 33);
    ASSERT_EQ(calls[2].args.size(), 1u);
    EXPECT_EQ(calls[2].args[0].kind, Arg::Kind::call);
    EXPECT_EQ(calls[2].args[0].text, "sum");
    EXPECT_FALSE(calls[2].args[0].has_parens);

    // No parentheses = no arguments; empty parentheses too.
    auto bare = parse_pipeline("count");
    ASSERT_TRUE(bare);
    ASSERT_EQ(bare->size(), 1u);
    EXPECT_EQ(bare.value()[0].name, "count");
    EXPECT_TRUE(bare.value()[0].args.empty());
    auto empty = parse_pipeline("count()");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty.value()[0].args.empty());
}

TEST(PipelineParse, WhiteSpaceBetweenTokensIsIgnored) {
    auto a = parse_pipeline("  pair ( 1 )|reduceByKey(  sum ,  )");
    EXPECT_FALSE(a) << "a trailing comma leaves an argument missing";
    auto b = parse_pipeline(" \tpair ( 1 )|\n reduceByKey (  sum  ) ");
    ASSERT_TRUE(b) << b.status().message();
    ASSERT_EQ(b->size(), 2u);
    EXPECT_EQ(b.value()[0].name, "pair");
    EXPECT_EQ(b.value()[0].col, 3);
    EXPECT_EQ(b.value()[1].name, "reduceByKey");
    EXPECT_EQ(b.value()[1].args[0].text, "sum");
}

TEST(PipelineParse, EveryOperatorParses) {
    const std::vector<std::string> texts = {
        "map(lower)",
        "flatMap(split(\",\"))",
        "filter(contains(\"x\"))",
        "pair(1)",
        "kv(\"=\")",
        "keyBy(field(\",\", 0))",
        "mapValues(abs)",
        "filterValues(gt(1))",
        "count()",
        "countByValue()",
        "reduce(sum)",
        "reduceByKey(max)",
        "groupByKey()",
        "window(10s, 5s)",
        "countByWindow(10s, 5s)",
        "reduceByWindow(sum, 10s, 5s)",
        "reduceByKeyAndWindow(sum, 10s, 5s, inverse, dropZero)",
        "countByValueAndWindow(10s, 5s)",
        "groupByKeyAndWindow(10s, 5s)",
        "updateStateByKey(ewma(0.5), ttl(1m))",
        "topK(3)",
    };
    for (const auto& t : texts) {
        auto r = parse_pipeline(t);
        ASSERT_TRUE(r) << t << ": " << r.status().message();
        ASSERT_EQ(r->size(), 1u) << t;
    }
    // And every name the language lists is one of them.
    std::vector<std::string_view> names = operator_names();
    EXPECT_EQ(names.size(), texts.size());
    for (auto n : names) {
        bool found = false;
        for (const auto& t : texts)
            if (t.substr(0, t.find('(')) == n) found = true;
        EXPECT_TRUE(found) << n;
    }
}

TEST(PipelineParse, Durations) {
    struct c {
        const char* text;
        int64_t ms;
    };
    for (auto [text, ms] : {c{"500ms", 500}, c{"10s", 10000}, c{"5m", 300000}, c{"1h", 3600000}, c{"0s", 0}}) {
        auto r = parse_pipeline(std::string("window(") + text + ")");
        ASSERT_TRUE(r) << text << ": " << r.status().message();
        const Arg& a = r.value()[0].args[0];
        EXPECT_EQ(a.kind, Arg::Kind::duration) << text;
        EXPECT_EQ(a.ms, ms) << text;
        EXPECT_EQ(a.col, 8) << text;
    }
    EXPECT_EQ(parse_error("window(10x)"), "col 8: '10x' is not a duration (use ms, s, m or h)");
    EXPECT_EQ(parse_error("window(10 s)"), "col 11: expected ',' or ')', found 's'");
}

TEST(PipelineParse, Numbers) {
    struct c {
        const char* text;
        Num num;
    };
    for (auto [text, num] : {c{"1", Num::of_int(1)}, c{"-2", Num::of_int(-2)}, c{"1.5", Num::of_double(1.5)},
                             c{"1e3", Num::of_double(1000)}, c{"2.5E-1", Num::of_double(0.25)},
                             c{"-0.5", Num::of_double(-0.5)}, c{"1e+2", Num::of_double(100)}}) {
        auto r = parse_pipeline(std::string("pair(") + text + ")");
        ASSERT_TRUE(r) << text << ": " << r.status().message();
        const Arg& a = r.value()[0].args[0];
        EXPECT_EQ(a.kind, Arg::Kind::number) << text;
        EXPECT_EQ(a.num.is_int, num.is_int) << text;
        EXPECT_EQ(a.num, num) << text;
    }
    EXPECT_EQ(parse_error("pair(1.2.3)"), "col 6: '1.2.3' is not a number");
    EXPECT_EQ(parse_error("pair(-)"), "col 6: '-' is not a number");
}

TEST(PipelineParse, StringEscapes) {
    auto r = parse_pipeline(R"(filter(eq("a\"b\\c\nd\te\rf")))");
    ASSERT_TRUE(r) << r.status().message();
    const Arg& s = r.value()[0].args[0].args[0];
    EXPECT_EQ(s.kind, Arg::Kind::string);
    EXPECT_EQ(s.text, "a\"b\\c\nd\te\rf");
    EXPECT_EQ(s.col, 11);
    // A '|' or ')' inside a string is text.
    auto q = parse_pipeline(R"~(flatMap(split("|)")) | count)~");
    ASSERT_TRUE(q) << q.status().message();
    ASSERT_EQ(q->size(), 2u);
    EXPECT_EQ(q.value()[0].args[0].args[0].text, "|)");
    // Empty string.
    auto e = parse_pipeline(R"(filter(eq("")))");
    ASSERT_TRUE(e);
    EXPECT_EQ(e.value()[0].args[0].args[0].text, "");

    EXPECT_EQ(parse_error(R"(filter(eq("a\qb")))"), "col 13: unknown escape '\\q'");
    EXPECT_EQ(parse_error(R"(filter(eq("abc)))"), "col 11: unterminated string");
}

TEST(PipelineParse, SyntaxErrorsNameTheColumnAndWhatWasExpected) {
    EXPECT_EQ(parse_error(""), "col 1: empty pipeline: expected an operator");
    EXPECT_EQ(parse_error("   "), "col 4: empty pipeline: expected an operator");
    EXPECT_EQ(parse_error("count |"), "col 8: expected an operator after '|'");
    EXPECT_EQ(parse_error("count | | count"), "col 9: expected an operator name");
    EXPECT_EQ(parse_error("count x"), "col 7: expected '|' or the end, found 'x'");
    EXPECT_EQ(parse_error("map(lower"), "col 10: expected ',' or ')' before the end");
    EXPECT_EQ(parse_error("pair(1;"), "col 7: expected ',' or ')', found ';'");
    EXPECT_EQ(parse_error("pair(@)"), "col 6: expected a number, a duration, a string or a function, found '@'");
    EXPECT_EQ(parse_error("pair("), "col 6: expected an argument");
    EXPECT_EQ(parse_error("1count"), "col 1: expected an operator name");
}

// ================================================================== compiler: errors

TEST(PipelineCompile, UnknownOperatorSuggestsTheNearestName) {
    EXPECT_EQ(compile_error("flatMap(split(\" \")) | pair(1) | reduceBykey(sum)"),
              "col 33: unknown operator 'reduceBykey' — did you mean 'reduceByKey'?");
    EXPECT_EQ(compile_error("flatMap(split(\" \")) | pair(1)|reduceBykey(sum)"),
              "col 31: unknown operator 'reduceBykey' — did you mean 'reduceByKey'?");
    EXPECT_EQ(compile_error("cont()"), "col 1: unknown operator 'cont' — did you mean 'count'?");
    EXPECT_EQ(compile_error("pair(1) | groupbykey"), "col 11: unknown operator 'groupbykey' — did you mean 'groupByKey'?");
    // Nothing near: no suggestion.
    EXPECT_EQ(compile_error("frobnicate"), "col 1: unknown operator 'frobnicate'");
}

TEST(PipelineCompile, UnknownFunctionPredicateAggregateSuggest) {
    EXPECT_EQ(compile_error("map(lowr)"), "col 5: unknown function 'lowr' — did you mean 'lower'?");
    EXPECT_EQ(compile_error("flatMap(splt(\" \"))"), "col 9: unknown function 'splt' — did you mean 'split'?");
    EXPECT_EQ(compile_error("filter(contain(\"a\"))"), "col 8: unknown predicate 'contain' — did you mean 'contains'?");
    EXPECT_EQ(compile_error("filter(nonempty)"), "col 8: unknown predicate 'nonempty' — did you mean 'nonEmpty'?");
    EXPECT_EQ(compile_error("pair(1) | reduceByKey(summ)"),
              "col 23: expected an aggregate (sum, min, max, count, avg, first, last) — did you mean 'sum'?");
    EXPECT_EQ(compile_error("reduce(avgg)"),
              "col 8: expected an aggregate (sum, min, max, count, avg, first, last) — did you mean 'avg'?");
    EXPECT_EQ(compile_error("reduce(1)"), "col 8: expected an aggregate (sum, min, max, count, avg, first, last)");
    EXPECT_EQ(compile_error("pair(1) | mapValues(ab)"), "col 21: unknown value function 'ab' — did you mean 'abs'?");
    EXPECT_EQ(compile_error("pair(1) | updateStateByKey(summ)"),
              "col 28: updateStateByKey: unknown function 'summ' — did you mean 'sum'?");
    EXPECT_EQ(compile_error("pair(1) | reduceByKeyAndWindow(sum, 10s, invers)"),
              "col 42: reduceByKeyAndWindow: expected inverse or dropZero — did you mean 'inverse'?");
}

TEST(PipelineCompile, WrongArity) {
    EXPECT_EQ(compile_error("count(1)"), "col 1: count: expected 0 arguments, got 1");
    EXPECT_EQ(compile_error("map()"), "col 1: map: expected 1 argument, got 0");
    EXPECT_EQ(compile_error("filter(eq(\"a\"), eq(\"b\"))"), "col 1: filter: expected 1 argument, got 2");
    EXPECT_EQ(compile_error("window()"), "col 1: window: expected 1 to 2 arguments, got 0");
    EXPECT_EQ(compile_error("countByWindow(10s)"), "col 1: countByWindow: expected 2 arguments, got 1");
    EXPECT_EQ(compile_error("reduceByWindow(sum, 10s)"), "col 1: reduceByWindow: expected 3 arguments, got 2");
    EXPECT_EQ(compile_error("pair(1) | reduceByKeyAndWindow(sum)"),
              "col 11: reduceByKeyAndWindow: expected 2 to 5 arguments, got 1");
    EXPECT_EQ(compile_error("pair(1) | groupByKey(1)"), "col 11: groupByKey: expected 0 arguments, got 1");
    EXPECT_EQ(compile_error("pair(1) | updateStateByKey()"), "col 11: updateStateByKey: expected 1 to 2 arguments, got 0");
    EXPECT_EQ(compile_error("pair(1) | reduceByKey(sum) | topK()"), "col 30: topK: expected 1 argument, got 0");
    // Function arities.
    EXPECT_EQ(compile_error("map(field(\",\"))"), "col 5: field: expected 2 arguments");
    EXPECT_EQ(compile_error("map(lower(1))"), "col 5: lower: expected 0 arguments");
    EXPECT_EQ(compile_error("map(json())"), "col 5: json: expected 1 argument");
    EXPECT_EQ(compile_error("filter(contains())"), "col 8: contains: expected one string");
    EXPECT_EQ(compile_error("filter(gt(\"x\"))"), "col 8: gt: expected one number");
    EXPECT_EQ(compile_error("filter(nonEmpty(1))"), "col 8: nonEmpty takes no arguments");
    EXPECT_EQ(compile_error("pair(1) | mapValues(abs(1))"), "col 21: abs takes no arguments");
    EXPECT_EQ(compile_error("pair(1) | mapValues(mul)"), "col 21: mul: expected one number");
}

TEST(PipelineCompile, WindowAndSlideMustBeMultiplesOfTheBatch) {
    EXPECT_EQ(compile_error("window(1500ms)", 1000), "col 8: window 1500ms is not a multiple of the batch interval 1000ms");
    EXPECT_EQ(compile_error("window(2s, 1500ms)", 1000), "col 12: slide 1500ms is not a multiple of the batch interval 1000ms");
    EXPECT_EQ(compile_error("countByWindow(3s, 2s)", 2000), "col 15: window 3000ms is not a multiple of the batch interval 2000ms");
    EXPECT_EQ(compile_error("pair(1) | reduceByKeyAndWindow(sum, 10s, 3s)", 2000),
              "col 42: slide 3000ms is not a multiple of the batch interval 2000ms");
    EXPECT_EQ(compile_error("window(0s)"), "col 8: window must be positive");
    EXPECT_EQ(compile_error("window(10)"), "col 8: window: expected a duration such as 10s");
    // Multiples are fine, whatever the relation between W and S.
    EXPECT_EQ(compile_error("window(1500ms)", 500), "");
    EXPECT_EQ(compile_error("window(3s, 2s)", 1000), "");
    EXPECT_EQ(compile_error("window(2s, 3s)", 1000), "");
    EXPECT_EQ(compile_error("countByWindow(2m, 30s)", 10000), "");
}

TEST(PipelineCompile, InverseNeedsAnInvertibleAggregateAndDropZeroNeedsInverse) {
    EXPECT_EQ(compile_error("pair(1) | reduceByKeyAndWindow(min, 10s, inverse)"),
              "col 32: inverse needs an aggregate that can be subtracted (sum, count or avg)");
    EXPECT_EQ(compile_error("pair(1) | reduceByKeyAndWindow(max, 10s, 5s, inverse)"),
              "col 32: inverse needs an aggregate that can be subtracted (sum, count or avg)");
    EXPECT_EQ(compile_error("pair(1) | reduceByKeyAndWindow(last, 10s, inverse)"),
              "col 32: inverse needs an aggregate that can be subtracted (sum, count or avg)");
    EXPECT_EQ(compile_error("pair(1) | reduceByKeyAndWindow(sum, 10s, dropZero)"),
              "col 11: dropZero needs inverse (without it, keys leave the window by themselves)");
    EXPECT_EQ(compile_error("pair(1) | reduceByKeyAndWindow(sum, 2s, 3s, inverse)"),
              "col 11: inverse needs the slide to be at most the window");
    for (const char* ok : {"pair(1) | reduceByKeyAndWindow(sum, 10s, inverse)",
                           "pair(1) | reduceByKeyAndWindow(count, 10s, 2s, inverse, dropZero)",
                           "pair(1) | reduceByKeyAndWindow(avg, 10s, dropZero, inverse)",
                           "pair(1) | reduceByKeyAndWindow(min, 10s, 2s)"})
        EXPECT_EQ(compile_error(ok), "") << ok;
}

TEST(PipelineCompile, SplitOnlyInFlatMap) {
    EXPECT_EQ(compile_error("map(split(\" \"))"), "col 5: split makes several records: use it with flatMap");
    EXPECT_EQ(compile_error("keyBy(split(\" \"))"), "col 7: split makes several records: use it with flatMap");
    EXPECT_EQ(compile_error("flatMap(split(\"\"))"), "col 15: split: the separator must not be empty");
    EXPECT_EQ(compile_error("flatMap(split(1))"), "col 15: split: expected a string");
    EXPECT_EQ(compile_error("flatMap(split(\" \"))"), "");
    // flatMap with a one-to-one function is a map.
    EXPECT_EQ(compile_error("flatMap(lower)"), "");
}

TEST(PipelineCompile, PairOperatorsNeedPairsAndRecordOperatorsNeedRecords) {
    EXPECT_EQ(compile_error("mapValues(abs)"), "col 1: 'mapValues' takes pairs; make them first with pair, kv or keyBy");
    EXPECT_EQ(compile_error("filterValues(gt(1))"), "col 1: 'filterValues' takes pairs; make them first with pair, kv or keyBy");
    EXPECT_EQ(compile_error("map(lower) | mapValues(abs) | pair(1)"),
              "col 14: 'mapValues' takes pairs; make them first with pair, kv or keyBy");
    EXPECT_EQ(compile_error("reduceByKey(sum)"), "col 1: 'reduceByKey' takes pairs; make them first with pair, kv or keyBy");
    EXPECT_EQ(compile_error("groupByKey"), "col 1: 'groupByKey' takes pairs; make them first with pair, kv or keyBy");
    EXPECT_EQ(compile_error("reduceByKeyAndWindow(sum, 10s)"),
              "col 1: 'reduceByKeyAndWindow' takes pairs; make them first with pair, kv or keyBy");
    EXPECT_EQ(compile_error("groupByKeyAndWindow(10s, 5s)"),
              "col 1: 'groupByKeyAndWindow' takes pairs; make them first with pair, kv or keyBy");
    EXPECT_EQ(compile_error("updateStateByKey(sum)"),
              "col 1: 'updateStateByKey' takes pairs; make them first with pair, kv or keyBy");
    EXPECT_EQ(compile_error("pair(1) | map(lower)"),
              "col 11: 'map' takes records, but the stream has pairs here; use mapValues or filterValues");
    EXPECT_EQ(compile_error("pair(1) | filter(nonEmpty)"),
              "col 11: 'filter' takes records, but the stream has pairs here; use mapValues or filterValues");
    EXPECT_EQ(compile_error("pair(1) | kv(\"=\")"), "col 11: 'kv' takes records, but the stream has pairs here");
    EXPECT_EQ(compile_error("pair(1) | countByValue"), "col 11: countByValue takes records, but the stream has pairs here");
    EXPECT_EQ(compile_error("pair(1) | countByValueAndWindow(2s, 1s)"),
              "col 11: countByValueAndWindow takes records, but the stream has pairs here");
    EXPECT_EQ(compile_error("pair(\"x\")"), "col 6: pair: expected a number");
    EXPECT_EQ(compile_error("kv(\"\")"), "col 4: kv: expected a separator string");
    EXPECT_EQ(compile_error("pair(1) | filterValues(contains(\"a\"))"),
              "col 24: filterValues: expected gt(n), lt(n) or not(...)");
    EXPECT_EQ(compile_error("pair(1) | reduceByKey(sum) | map(lower)"),
              "col 30: 'map' after an aggregation is not supported; use mapValues or filterValues");
}

TEST(PipelineCompile, OneAggregationAndWindowRules) {
    EXPECT_EQ(compile_error("count | count"), "col 9: only one aggregation per stream; 'count' follows another");
    EXPECT_EQ(compile_error("pair(1) | reduceByKey(sum) | window(2s)"),
              "col 30: window after an aggregation is not supported; use the windowed operator");
    EXPECT_EQ(compile_error("pair(1) | window(2s) | reduceByKeyAndWindow(sum, 2s)"),
              "col 24: 'reduceByKeyAndWindow' after window(...): give the window once");
    EXPECT_EQ(compile_error("window(2s) | countByWindow(2s, 1s)"), "col 14: 'countByWindow' after window(...): give the window once");
    EXPECT_EQ(compile_error("pair(1) | window(2s) | updateStateByKey(sum)"),
              "col 24: updateStateByKey after window(...) is not supported");
}

TEST(PipelineCompile, TopKPlacement) {
    EXPECT_EQ(compile_error("topK(3)"), "col 1: topK ranks the keyed results of a batch; put it after a keyed aggregation");
    EXPECT_EQ(compile_error("pair(1) | topK(3)"), "col 11: topK ranks the keyed results of a batch; put it after a keyed aggregation");
    EXPECT_EQ(compile_error("count | topK(3)"), "col 9: topK ranks the keyed results of a batch; put it after a keyed aggregation");
    EXPECT_EQ(compile_error("pair(1) | reduceByKey(sum) | topK(0)"), "col 35: topK: expected a positive integer");
    EXPECT_EQ(compile_error("pair(1) | reduceByKey(sum) | topK(1.5)"), "col 35: topK: expected a positive integer");
    EXPECT_EQ(compile_error("pair(1) | reduceByKey(sum) | topK(2) | mapValues(abs)"), "col 40: nothing may follow topK");
    Plan p = compiled("pair(1) | reduceByKey(sum) | mapValues(mul(2)) | topK(2)");
    EXPECT_EQ(p.top_k, 2);
    EXPECT_EQ(p.post_ops.size(), 1u);
    EXPECT_EQ(compiled("countByValue | topK(5)").top_k, 5);
    EXPECT_EQ(compiled("pair(1) | reduceByKeyAndWindow(sum, 3s) | topK(1)").top_k, 1);
    EXPECT_EQ(compiled("pair(1) | updateStateByKey(sum) | topK(1)").top_k, 1);
}

TEST(PipelineCompile, UpdateStateByKeyArguments) {
    EXPECT_EQ(compile_error("pair(1) | updateStateByKey(ewma(2))"), "col 33: ewma: alpha must be between 0 and 1");
    EXPECT_EQ(compile_error("pair(1) | updateStateByKey(ewma)"), "col 28: ewma: expected one number, the smoothing factor alpha");
    EXPECT_EQ(compile_error("pair(1) | updateStateByKey(sum, 10s)"), "col 33: updateStateByKey: expected ttl(D) as the second argument");
    EXPECT_EQ(compile_error("pair(1) | updateStateByKey(sum, ttl(5))"),
              "col 33: updateStateByKey: expected ttl(D) as the second argument");
    EXPECT_EQ(compile_error("pair(1) | updateStateByKey(sum, ttl(0s))"), "col 37: ttl must be positive");
    EXPECT_EQ(compile_error("pair(1) | updateStateByKey(\"sum\")"),
              "col 28: updateStateByKey: expected sum, count, min, max, last, avg or ewma(alpha)");
}

TEST(PipelineCompile, FunctionArgumentErrors) {
    EXPECT_EQ(compile_error("map(field(\",\", -1))"), "col 16: field: expected a field index (0-based)");
    EXPECT_EQ(compile_error("map(field(1, 0))"), "col 11: field: expected a string");
    EXPECT_EQ(compile_error("map(regex(\"(a)\", 2))"), "col 18: regex: no such group");
    EXPECT_EQ(compile_error("map(regex(\"a\", 1.5))"), "col 16: regex: expected a group number");
    EXPECT_EQ(compile_error("map(regex(\"(\", 0))").rfind("col 11: regex: ", 0), 0u);
    EXPECT_EQ(compile_error("filter(matches(\"[\"))").rfind("col 16: matches: ", 0), 0u);
    EXPECT_EQ(compile_error("map(\"x\")"), "col 5: expected a function (lower, upper, trim, split, field, regex, json, header)");
    EXPECT_EQ(compile_error("filter(1)"), "col 8: expected a predicate (contains, matches, eq, nonEmpty, not, gt, lt)");
    EXPECT_EQ(compile_error("filter(not(eq(\"a\"), eq(\"b\")))"), "col 8: not: expected one predicate");
    EXPECT_EQ(compile_error("filter(not(contain(\"a\")))"), "col 12: unknown predicate 'contain' — did you mean 'contains'?");
}

// ================================================================== compiler: plans

TEST(PipelineCompile, RecordOperatorsAndFunctions) {
    Plan p = compiled(
        R"~(map(trim) | map(lower) | map(upper) | flatMap(split(", ")) | map(field(":", 1)) | map(regex("x(\\d+)", 1)) | )~"
        R"(map(json("a.b")) | map(header("host")) | filter(contains("a")) | filter(matches("a.*")) | filter(eq("a")) | )"
        R"(filter(nonEmpty) | filter(not(gt(3))) | filter(lt(2.5)))");
    ASSERT_EQ(p.record_ops.size(), 14u);
    EXPECT_FALSE(p.pairs);
    EXPECT_EQ(p.stage, Stage::records);
    EXPECT_FALSE(p.keyed());
    EXPECT_FALSE(p.windowed());
    EXPECT_EQ(p.record_ops[0].fn.kind, StrFn::Kind::trim);
    EXPECT_EQ(p.record_ops[1].fn.kind, StrFn::Kind::lower);
    EXPECT_EQ(p.record_ops[2].fn.kind, StrFn::Kind::upper);
    EXPECT_EQ(p.record_ops[3].kind, RecordOp::Kind::flat_map);
    EXPECT_EQ(p.record_ops[3].fn.kind, StrFn::Kind::split);
    EXPECT_EQ(p.record_ops[3].fn.arg, ", ");
    EXPECT_EQ(p.record_ops[4].fn.kind, StrFn::Kind::field);
    EXPECT_EQ(p.record_ops[4].fn.arg, ":");
    EXPECT_EQ(p.record_ops[4].fn.index, 1);
    EXPECT_EQ(p.record_ops[5].fn.kind, StrFn::Kind::regex);
    EXPECT_EQ(p.record_ops[5].fn.index, 1);
    EXPECT_EQ(p.record_ops[6].fn.kind, StrFn::Kind::json);
    EXPECT_EQ(p.record_ops[6].fn.arg, "a.b");
    EXPECT_EQ(p.record_ops[7].fn.kind, StrFn::Kind::header);
    EXPECT_EQ(p.record_ops[7].fn.arg, "host");
    EXPECT_EQ(p.record_ops[8].kind, RecordOp::Kind::filter);
    EXPECT_EQ(p.record_ops[8].pred.kind, Pred::Kind::contains);
    EXPECT_EQ(p.record_ops[9].pred.kind, Pred::Kind::matches);
    EXPECT_EQ(p.record_ops[10].pred.kind, Pred::Kind::eq);
    EXPECT_EQ(p.record_ops[11].pred.kind, Pred::Kind::non_empty);
    EXPECT_EQ(p.record_ops[12].pred.kind, Pred::Kind::not_);
    ASSERT_TRUE(p.record_ops[12].pred.inner);
    EXPECT_EQ(p.record_ops[12].pred.inner->kind, Pred::Kind::gt);
    EXPECT_EQ(p.record_ops[12].pred.inner->num, Num::of_int(3));
    EXPECT_EQ(p.record_ops[13].pred.kind, Pred::Kind::lt);
    EXPECT_EQ(p.record_ops[13].pred.num, Num::of_double(2.5));
}

TEST(PipelineCompile, PairMakersAndValueOperators) {
    Plan p = compiled(R"(kv("=") | mapValues(abs) | mapValues(neg) | mapValues(mul(2)) | mapValues(add(-1.5)) | )"
                      R"(filterValues(gt(0)) | filterValues(not(lt(5))))");
    EXPECT_TRUE(p.pairs);
    EXPECT_EQ(p.stage, Stage::records);
    ASSERT_EQ(p.record_ops.size(), 7u);
    EXPECT_EQ(p.record_ops[0].kind, RecordOp::Kind::kv);
    EXPECT_EQ(p.record_ops[0].sep, "=");
    EXPECT_EQ(p.record_ops[1].num_fn.kind, NumFn::Kind::abs);
    EXPECT_EQ(p.record_ops[2].num_fn.kind, NumFn::Kind::neg);
    EXPECT_EQ(p.record_ops[3].num_fn.kind, NumFn::Kind::mul);
    EXPECT_EQ(p.record_ops[3].num_fn.arg, Num::of_int(2));
    EXPECT_EQ(p.record_ops[4].num_fn.kind, NumFn::Kind::add);
    EXPECT_EQ(p.record_ops[4].num_fn.arg, Num::of_double(-1.5));
    EXPECT_EQ(p.record_ops[5].kind, RecordOp::Kind::filter_values);
    EXPECT_EQ(p.record_ops[6].pred.kind, Pred::Kind::not_);

    Plan q = compiled("pair(2.5)");
    EXPECT_TRUE(q.pairs);
    EXPECT_EQ(q.record_ops[0].kind, RecordOp::Kind::pair);
    EXPECT_EQ(q.record_ops[0].value, Num::of_double(2.5));

    Plan k = compiled(R"(keyBy(field(",", 0)) | reduceByKey(count))");
    EXPECT_EQ(k.record_ops[0].kind, RecordOp::Kind::key_by);
    EXPECT_EQ(k.stage, Stage::reduce_by_key);
    EXPECT_EQ(k.agg, Agg::count);
    EXPECT_TRUE(k.keyed());
}

TEST(PipelineCompile, BatchStages) {
    struct c {
        const char* text;
        Stage stage;
        bool keyed;
    };
    for (auto [text, stage, keyed] : {
             c{"count", Stage::count, false},
             c{"pair(1) | count()", Stage::count, false},
             c{"countByValue()", Stage::count_by_value, true},
             c{"reduce(sum)", Stage::reduce, false},
             c{"pair(1) | reduce(max)", Stage::reduce, false},
             c{"pair(1) | reduceByKey(avg)", Stage::reduce_by_key, true},
             c{"pair(1) | groupByKey", Stage::group_by_key, true},
             c{"pair(1) | updateStateByKey(sum)", Stage::update_state, true},
         }) {
        Plan p = compiled(text);
        EXPECT_EQ(p.stage, stage) << text;
        EXPECT_EQ(p.keyed(), keyed) << text;
        EXPECT_FALSE(p.windowed()) << text;
    }
    Plan cbv = compiled("countByValue");
    EXPECT_TRUE(cbv.by_value);
    EXPECT_EQ(cbv.agg, Agg::count);
    for (size_t i = 0; i < agg_names().size(); i++) {
        Plan p = compiled("pair(1) | reduceByKey(" + std::string(agg_names()[i]) + ")");
        EXPECT_EQ(p.agg, Agg(i)) << agg_names()[i];
    }
}

TEST(PipelineCompile, WindowedStages) {
    Plan w = compiled("window(4s, 2s)");
    EXPECT_EQ(w.stage, Stage::window_records);
    EXPECT_EQ(w.window_ms, 4000);
    EXPECT_EQ(w.slide_ms, 2000);
    EXPECT_TRUE(w.windowed());

    Plan d = compiled("window(4s)", 500);
    EXPECT_EQ(d.slide_ms, 500) << "the slide defaults to the batch";

    Plan wc = compiled("map(lower) | window(6s, 3s) | count", 1000);
    EXPECT_EQ(wc.stage, Stage::count_by_window);
    EXPECT_EQ(wc.window_ms, 6000);
    EXPECT_EQ(wc.slide_ms, 3000);
    EXPECT_EQ(wc.record_ops.size(), 1u);

    Plan cbw = compiled("countByWindow(6s, 3s)");
    EXPECT_EQ(cbw.stage, Stage::count_by_window);
    EXPECT_EQ(cbw.window_ms, 6000);

    Plan rbw = compiled("reduceByWindow(max, 6s, 2s)");
    EXPECT_EQ(rbw.stage, Stage::reduce_by_window);
    EXPECT_EQ(rbw.agg, Agg::max);
    EXPECT_EQ(rbw.slide_ms, 2000);
    EXPECT_EQ(compiled("window(6s) | reduce(min)").stage, Stage::reduce_by_window);

    Plan rbkw = compiled("pair(1) | reduceByKeyAndWindow(sum, 5s, 1s, inverse, dropZero)");
    EXPECT_EQ(rbkw.stage, Stage::reduce_by_key_window);
    EXPECT_EQ(rbkw.window_ms, 5000);
    EXPECT_EQ(rbkw.slide_ms, 1000);
    EXPECT_TRUE(rbkw.inverse);
    EXPECT_TRUE(rbkw.drop_zero);
    EXPECT_TRUE(rbkw.keyed());

    Plan nos = compiled("pair(1) | reduceByKeyAndWindow(count, 5s, inverse)");
    EXPECT_EQ(nos.slide_ms, 1000) << "no slide given: the batch";
    EXPECT_TRUE(nos.inverse);
    EXPECT_FALSE(nos.drop_zero);

    Plan wrbk = compiled("pair(1) | window(3s) | reduceByKey(sum)");
    EXPECT_EQ(wrbk.stage, Stage::reduce_by_key_window);
    EXPECT_EQ(wrbk.window_ms, 3000);
    EXPECT_FALSE(wrbk.inverse);

    Plan cbvw = compiled("countByValueAndWindow(4s, 2s)");
    EXPECT_EQ(cbvw.stage, Stage::reduce_by_key_window);
    EXPECT_TRUE(cbvw.by_value);
    EXPECT_EQ(cbvw.agg, Agg::count);
    EXPECT_TRUE(cbvw.inverse);
    EXPECT_TRUE(cbvw.drop_zero) << "Spark: values whose count returns to 0 disappear";
    EXPECT_EQ(compiled("window(4s) | countByValue").stage, Stage::reduce_by_key_window);

    Plan gbkw = compiled("pair(1) | groupByKeyAndWindow(4s, 2s)");
    EXPECT_EQ(gbkw.stage, Stage::group_by_key_window);
    EXPECT_EQ(gbkw.window_ms, 4000);
    EXPECT_EQ(compiled("pair(1) | window(4s) | groupByKey").stage, Stage::group_by_key_window);
}

TEST(PipelineCompile, UpdateStateByKeyFunctions) {
    struct c {
        const char* f;
        StateFn fn;
    };
    for (auto [f, fn] : {c{"sum", StateFn::sum}, c{"count", StateFn::count}, c{"min", StateFn::min}, c{"max", StateFn::max},
                         c{"last", StateFn::last}, c{"avg", StateFn::avg}}) {
        Plan p = compiled("pair(1) | updateStateByKey(" + std::string(f) + ")");
        EXPECT_EQ(p.stage, Stage::update_state) << f;
        EXPECT_EQ(p.state_fn, fn) << f;
        EXPECT_EQ(p.ttl_ms, 0) << f;
    }
    Plan e = compiled("pair(1) | updateStateByKey(ewma(0.25), ttl(5m))");
    EXPECT_EQ(e.state_fn, StateFn::ewma);
    EXPECT_DOUBLE_EQ(e.alpha, 0.25);
    EXPECT_EQ(e.ttl_ms, 300000);
    EXPECT_EQ(compiled("pair(1) | updateStateByKey(ewma(1))").alpha, 1.0);
    EXPECT_EQ(compiled("pair(1) | updateStateByKey(ewma(0))").alpha, 0.0);
}

TEST(PipelineCompile, PostOperatorsFollowTheAggregation) {
    Plan p = compiled("pair(1) | reduceByKey(sum) | mapValues(mul(10)) | filterValues(gt(5))");
    EXPECT_EQ(p.record_ops.size(), 1u);
    ASSERT_EQ(p.post_ops.size(), 2u);
    EXPECT_EQ(p.post_ops[0].kind, RecordOp::Kind::map_values);
    EXPECT_EQ(p.post_ops[1].kind, RecordOp::Kind::filter_values);
    EXPECT_TRUE(p.pairs || p.keyed());
}

TEST(PipelineCompile, UserFunctions) {
    UserFunctions u;
    u.maps["shout"] = [](std::string_view in, std::string& out) {
        out = std::string(in) + "!";
        return true;
    };
    u.filters["short"] = [](std::string_view in) { return in.size() < 4; };
    Plan p = compiled("map(shout) | filter(short) | keyBy(shout)", 1000, &u);
    ASSERT_EQ(p.record_ops.size(), 3u);
    EXPECT_EQ(p.record_ops[0].fn.kind, StrFn::Kind::user);
    EXPECT_EQ(p.record_ops[1].pred.kind, Pred::Kind::user);
    std::string scratch;
    std::string_view out;
    ASSERT_TRUE(apply_str_fn(p.record_ops[0].fn, "hey", nullptr, scratch, &out));
    EXPECT_EQ(out, "hey!");
    EXPECT_TRUE(apply_pred(p.record_ops[1].pred, "abc"));
    EXPECT_FALSE(apply_pred(p.record_ops[1].pred, "abcd"));
    // Suggestions include the registered names.
    EXPECT_EQ(compile_error("map(shoot)", 1000, &u), "col 5: unknown function 'shoot' — did you mean 'shout'?");
    EXPECT_EQ(compile_error("filter(shorts)", 1000, &u), "col 8: unknown predicate 'shorts' — did you mean 'short'?");
    EXPECT_EQ(compile_error("map(shout(1))", 1000, &u), "col 5: shout: expected 0 arguments");
    // Without them the names are unknown.
    EXPECT_EQ(compile_error("map(shout)"), "col 5: unknown function 'shout'");
}

// ================================================================== evaluation

std::string str_fn(std::string_view pipeline_map_arg, std::string_view in, bool* ok = nullptr,
                   const EventView* ev = nullptr) {
    Plan p = compiled("map(" + std::string(pipeline_map_arg) + ")");
    std::string scratch;
    std::string_view out;
    bool r = !p.record_ops.empty() && apply_str_fn(p.record_ops[0].fn, in, ev, scratch, &out);
    if (ok) *ok = r;
    return r ? std::string(out) : "<dropped>";
}

bool pred(std::string_view p_text, std::string_view in) {
    Plan p = compiled("filter(" + std::string(p_text) + ")");
    return !p.record_ops.empty() && apply_pred(p.record_ops[0].pred, in);
}

TEST(PipelineEval, StringFunctions) {
    EXPECT_EQ(str_fn("lower", "MiXeD 1 Ä"), "mixed 1 Ä") << "ASCII only; other bytes untouched";
    EXPECT_EQ(str_fn("upper", "MiXeD 1"), "MIXED 1");
    EXPECT_EQ(str_fn("trim", " \t a b \r\n"), "a b");
    EXPECT_EQ(str_fn("trim", "   "), "");
    EXPECT_EQ(str_fn("field(\",\", 0)", "a,b,c"), "a");
    EXPECT_EQ(str_fn("field(\",\", 1)", "a,b,c"), "b");
    EXPECT_EQ(str_fn("field(\",\", 2)", "a,b,c"), "c");
    EXPECT_EQ(str_fn("field(\",\", 3)", "a,b,c"), "<dropped>");
    EXPECT_EQ(str_fn("field(\",\", 1)", "a,,c"), "");
    EXPECT_EQ(str_fn("field(\"::\", 1)", "x::y::z"), "y");
    EXPECT_EQ(str_fn("field(\",\", 0)", "no separator"), "no separator");
    EXPECT_EQ(str_fn(R"~(regex("([a-z]+)=(\\d+)", 2))~", "x k=42 y"), "42");
    EXPECT_EQ(str_fn(R"~(regex("([a-z]+)=(\\d+)", 1))~", "x k=42 y"), "k");
    EXPECT_EQ(str_fn(R"~(regex("([a-z]+)=(\\d+)", 0))~", "x k=42 y"), "k=42");
    EXPECT_EQ(str_fn(R"~(regex("([a-z]+)=(\\d+)", 0))~", "nothing here"), "<dropped>");
    EXPECT_EQ(str_fn(R"~(regex("a|(b)", 1))~", "a"), "<dropped>") << "an unmatched group drops the record";
    EXPECT_EQ(str_fn(R"(json("user.name"))", R"({"user":{"name":"ann","id":7}})"), "ann");
    EXPECT_EQ(str_fn(R"(json("user.id"))", R"({"user":{"name":"ann","id":7}})"), "7");
    EXPECT_EQ(str_fn(R"(json("user.x"))", R"({"user":{"name":"ann","id":7}})"), "<dropped>");
    EXPECT_EQ(str_fn(R"(json("a"))", "not json"), "<dropped>");

    EventBatch b;
    b.add("body");
    b.add_header("host", "h1");
    b.add_header("empty", "");
    EventView ev = b[0];
    EXPECT_EQ(str_fn(R"(header("host"))", "body", nullptr, &ev), "h1");
    EXPECT_EQ(str_fn(R"(header("empty"))", "body", nullptr, &ev), "");
    EXPECT_EQ(str_fn(R"(header("nope"))", "body", nullptr, &ev), "<dropped>");
    EXPECT_EQ(str_fn(R"(header("host"))", "body", nullptr, nullptr), "<dropped>");
}

TEST(PipelineEval, Predicates) {
    EXPECT_TRUE(pred(R"(contains("b"))", "abc"));
    EXPECT_FALSE(pred(R"(contains("B"))", "abc"));
    EXPECT_TRUE(pred(R"(contains(""))", ""));
    EXPECT_TRUE(pred(R"(matches("a.c"))", "abc"));
    EXPECT_FALSE(pred(R"(matches("b"))", "abc")) << "matches is the whole record";
    EXPECT_TRUE(pred(R"(matches("[0-9]+"))", "123"));
    EXPECT_TRUE(pred(R"(eq("abc"))", "abc"));
    EXPECT_FALSE(pred(R"(eq("ab"))", "abc"));
    EXPECT_TRUE(pred("nonEmpty", "x"));
    EXPECT_FALSE(pred("nonEmpty", ""));
    EXPECT_TRUE(pred(R"(not(eq("a")))", "b"));
    EXPECT_FALSE(pred(R"(not(eq("a")))", "a"));
    EXPECT_TRUE(pred("not(not(nonEmpty))", "a"));
    EXPECT_TRUE(pred("gt(2)", "3"));
    EXPECT_FALSE(pred("gt(2)", "2"));
    EXPECT_TRUE(pred("gt(2)", "2.5"));
    EXPECT_TRUE(pred("gt(-1)", " 0 ")) << "surrounding blanks are ignored";
    EXPECT_FALSE(pred("gt(2)", "abc")) << "not a number: false";
    EXPECT_TRUE(pred("lt(2.5)", "2"));
    EXPECT_FALSE(pred("lt(2.5)", "2.5"));
    EXPECT_FALSE(pred("lt(2)", ""));
    EXPECT_TRUE(pred("not(gt(2))", "abc")) << "not of a false comparison";
}

TEST(PipelineEval, ValueFunctions) {
    auto f = [](NumFn::Kind k, Num arg, Num x) {
        NumFn fn;
        fn.kind = k;
        fn.arg = arg;
        return apply_num_fn(fn, x);
    };
    EXPECT_EQ(format_num(f(NumFn::Kind::abs, {}, Num::of_int(-3))), "3");
    EXPECT_EQ(format_num(f(NumFn::Kind::abs, {}, Num::of_double(-2.5))), "2.5");
    EXPECT_EQ(format_num(f(NumFn::Kind::neg, {}, Num::of_int(3))), "-3");
    EXPECT_EQ(format_num(f(NumFn::Kind::neg, {}, Num::of_double(0.5))), "-0.5");
    EXPECT_EQ(format_num(f(NumFn::Kind::mul, Num::of_int(3), Num::of_int(4))), "12");
    EXPECT_TRUE(f(NumFn::Kind::mul, Num::of_int(3), Num::of_int(4)).is_int);
    EXPECT_EQ(format_num(f(NumFn::Kind::mul, Num::of_double(0.5), Num::of_int(3))), "1.5");
    EXPECT_EQ(format_num(f(NumFn::Kind::add, Num::of_int(-1), Num::of_int(1))), "0");
    EXPECT_EQ(format_num(f(NumFn::Kind::add, Num::of_double(0.25), Num::of_int(1))), "1.25");
    // Overflow turns into doubles rather than wrapping.
    Num big = f(NumFn::Kind::mul, Num::of_int(INT64_MAX), Num::of_int(2));
    EXPECT_FALSE(big.is_int);
    EXPECT_DOUBLE_EQ(big.d, 2.0 * double(INT64_MAX));
}

TEST(PipelineEval, JsonPath) {
    std::string out;
    const char* doc = R"( { "a" : 1, "s" : "x\"y\\z\n", "o" : {"b": {"c": true}}, "arr": [1, {"k": "v"}, [2]], "n": null,
                          "f": -1.5e3, "e": {}, "last": "end" } )";
    ASSERT_TRUE(json_path(doc, "a", out));
    EXPECT_EQ(out, "1");
    ASSERT_TRUE(json_path(doc, "s", out));
    EXPECT_EQ(out, "x\"y\\z\n") << "strings are unescaped";
    ASSERT_TRUE(json_path(doc, "o.b.c", out));
    EXPECT_EQ(out, "true");
    ASSERT_TRUE(json_path(doc, "o.b", out));
    EXPECT_EQ(out, R"({"c": true})") << "an object is returned as its text";
    ASSERT_TRUE(json_path(doc, "arr", out));
    EXPECT_EQ(out, R"([1, {"k": "v"}, [2]])");
    ASSERT_TRUE(json_path(doc, "n", out));
    EXPECT_EQ(out, "null");
    ASSERT_TRUE(json_path(doc, "f", out));
    EXPECT_EQ(out, "-1.5e3");
    ASSERT_TRUE(json_path(doc, "e", out));
    EXPECT_EQ(out, "{}");
    ASSERT_TRUE(json_path(doc, "last", out)) << "members after arrays and objects are found";
    EXPECT_EQ(out, "end");
    EXPECT_FALSE(json_path(doc, "missing", out));
    EXPECT_FALSE(json_path(doc, "a.b", out)) << "a number has no members";
    EXPECT_FALSE(json_path(doc, "o.x", out));
    EXPECT_FALSE(json_path("[1,2]", "a", out));
    EXPECT_FALSE(json_path("", "a", out));
    EXPECT_FALSE(json_path(R"({"a":)", "b", out));
    EXPECT_FALSE(json_path(R"({"a": "unterminated)", "a", out));
}

// ================================================================== numbers

TEST(Numbers, FormatShortestRoundTrip) {
    EXPECT_EQ(format_num(Num::of_int(3)), "3");
    EXPECT_EQ(format_num(Num::of_int(-42)), "-42");
    EXPECT_EQ(format_num(Num::of_int(0)), "0");
    EXPECT_EQ(format_num(Num::of_int(INT64_MIN)), "-9223372036854775808");
    EXPECT_EQ(format_num(Num::of_double(0.5)), "0.5");
    EXPECT_EQ(format_num(Num::of_double(3.0)), "3") << "an integral double prints without a fraction";
    EXPECT_EQ(format_num(Num::of_double(1e21)), "1e+21");
    EXPECT_EQ(format_num(Num::of_double(0.1 + 0.2)), "0.30000000000000004");
    EXPECT_EQ(format_num(Num::of_double(1.0 / 3)), "0.3333333333333333");
    EXPECT_EQ(format_num(Num::of_double(-2.5)), "-2.5");
    EXPECT_EQ(format_num(Num::of_double(123456.789)), "123456.789");
    for (double d : {0.1, 1.0 / 3, 2.0 / 3, 1e-7, 6.02214076e23, 5e-324, 1.7976931348623157e308}) {
        std::string s = format_num(Num::of_double(d));
        EXPECT_EQ(std::strtod(s.c_str(), nullptr), d) << s;
    }
    std::string appended = "x=";
    append_num(appended, Num::of_int(7));
    EXPECT_EQ(appended, "x=7");
}

TEST(Numbers, ParseAndArithmetic) {
    Num n;
    ASSERT_TRUE(parse_num("42", &n));
    EXPECT_TRUE(n.is_int);
    EXPECT_EQ(n.i, 42);
    ASSERT_TRUE(parse_num(" -7 ", &n));
    EXPECT_EQ(n, Num::of_int(-7));
    ASSERT_TRUE(parse_num("2.5", &n));
    EXPECT_FALSE(n.is_int);
    EXPECT_EQ(n.d, 2.5);
    ASSERT_TRUE(parse_num("1e3", &n));
    EXPECT_FALSE(n.is_int);
    EXPECT_FALSE(parse_num("", &n));
    EXPECT_FALSE(parse_num("abc", &n));
    EXPECT_FALSE(parse_num("1x", &n));
    EXPECT_FALSE(parse_num("inf", &n));
    EXPECT_FALSE(parse_num("nan", &n));

    EXPECT_EQ(add(Num::of_int(2), Num::of_int(3)), Num::of_int(5));
    EXPECT_TRUE(add(Num::of_int(2), Num::of_int(3)).is_int);
    EXPECT_FALSE(add(Num::of_int(2), Num::of_double(0.5)).is_int);
    EXPECT_EQ(format_num(add(Num::of_int(2), Num::of_double(0.5))), "2.5");
    EXPECT_EQ(sub(Num::of_int(2), Num::of_int(3)), Num::of_int(-1));
    EXPECT_FALSE(add(Num::of_int(INT64_MAX), Num::of_int(1)).is_int) << "overflow becomes a double";
    EXPECT_EQ(Num::of_int(2), Num::of_double(2.0));
    EXPECT_TRUE(Num::of_int(2) < Num::of_double(2.5));
}

// ================================================================== aggregates

// Values at record times; `seq` numbers them in arrival order.
Acc acc_of(Agg a, std::initializer_list<std::pair<Num, int64_t>> values, uint64_t seq = 0) {
    Acc acc;
    for (auto [v, t] : values) acc.add(a, v, Order::at(t, seq++));
    return acc;
}

std::string res(Agg a, const Acc& acc) { return format_num(acc.result(a)); }

TEST(Aggregates, Names) {
    std::vector<std::string_view> want = {"sum", "min", "max", "count", "avg", "first", "last"};
    EXPECT_EQ(agg_names(), want);
    Agg g;
    for (size_t i = 0; i < want.size(); i++) {
        ASSERT_TRUE(parse_agg(want[i], &g));
        EXPECT_EQ(g, Agg(i));
    }
    EXPECT_FALSE(parse_agg("Sum", &g));
    EXPECT_FALSE(parse_agg("", &g));
    EXPECT_TRUE(agg_invertible(Agg::sum));
    EXPECT_TRUE(agg_invertible(Agg::count));
    EXPECT_TRUE(agg_invertible(Agg::avg));
    for (Agg a : {Agg::min, Agg::max, Agg::first, Agg::last}) EXPECT_FALSE(agg_invertible(a));
}

TEST(Aggregates, AddAndResult) {
    auto i = [](int64_t v) { return Num::of_int(v); };
    // Values 4, -1, 7 at times 20, 10, 30.
    auto vals = {std::pair{i(4), int64_t(20)}, std::pair{i(-1), int64_t(10)}, std::pair{i(7), int64_t(30)}};
    EXPECT_EQ(res(Agg::sum, acc_of(Agg::sum, vals)), "10");
    EXPECT_EQ(res(Agg::min, acc_of(Agg::min, vals)), "-1");
    EXPECT_EQ(res(Agg::max, acc_of(Agg::max, vals)), "7");
    EXPECT_EQ(res(Agg::count, acc_of(Agg::count, vals)), "3");
    EXPECT_EQ(res(Agg::avg, acc_of(Agg::avg, vals)), "3.3333333333333335");
    EXPECT_EQ(res(Agg::first, acc_of(Agg::first, vals)), "-1") << "first: the earliest record time";
    EXPECT_EQ(res(Agg::last, acc_of(Agg::last, vals)), "7") << "last: the latest record time";
    // Same time: the order of arrival decides.
    auto same = {std::pair{i(1), int64_t(5)}, std::pair{i(2), int64_t(5)}, std::pair{i(3), int64_t(5)}};
    EXPECT_EQ(res(Agg::first, acc_of(Agg::first, same)), "1");
    EXPECT_EQ(res(Agg::last, acc_of(Agg::last, same)), "3");
    // avg of integers that divide: still the mean (prints as an integer).
    EXPECT_EQ(res(Agg::avg, acc_of(Agg::avg, {{i(2), 0}, {i(4), 0}})), "3");
    // count ignores the value; a double value keeps count an integer.
    Acc c = acc_of(Agg::count, {{Num::of_double(2.5), 0}});
    EXPECT_TRUE(c.result(Agg::count).is_int);
    EXPECT_EQ(res(Agg::count, c), "1");
    // Mixed ints and doubles: sum becomes a double.
    EXPECT_EQ(res(Agg::sum, acc_of(Agg::sum, {{i(1), 0}, {Num::of_double(0.5), 0}})), "1.5");
    EXPECT_EQ(res(Agg::sum, acc_of(Agg::sum, {{Num::of_double(0.1), 0}, {Num::of_double(0.2), 0}})), "0.30000000000000004");
    // The empty accumulator.
    Acc empty;
    EXPECT_EQ(empty.n, 0);
    EXPECT_EQ(res(Agg::avg, empty), "0");
    for (size_t a = 0; a < agg_names().size(); a++) EXPECT_TRUE(empty.is_identity(Agg(a)));
}

TEST(Aggregates, MergeEqualsAddingEverything) {
    auto i = [](int64_t v) { return Num::of_int(v); };
    for (size_t ai = 0; ai < agg_names().size(); ai++) {
        Agg a = Agg(ai);
        // Two partials (as from two shards); the second has the earliest and the latest value.
        Acc left = acc_of(a, {{i(5), 20}, {i(2), 25}}, 0);
        Acc right = acc_of(a, {{i(9), 10}, {i(-3), 40}}, 100);
        Acc whole;
        whole.add(a, i(9), Order::at(10, 100));
        whole.add(a, i(5), Order::at(20, 0));
        whole.add(a, i(2), Order::at(25, 1));
        whole.add(a, i(-3), Order::at(40, 101));
        Acc lr = left;
        lr.merge(a, right);
        Acc rl = right;
        rl.merge(a, left);
        EXPECT_EQ(res(a, lr), res(a, whole)) << agg_names()[ai];
        EXPECT_EQ(res(a, rl), res(a, whole)) << agg_names()[ai] << " (merge is commutative)";
        EXPECT_EQ(lr.n, 4) << agg_names()[ai];
        // Merging an empty partial changes nothing; merging into an empty one copies.
        Acc e;
        Acc l2 = left;
        l2.merge(a, e);
        EXPECT_EQ(res(a, l2), res(a, left)) << agg_names()[ai];
        e.merge(a, left);
        EXPECT_EQ(res(a, e), res(a, left)) << agg_names()[ai];
    }
    auto merged = [&](Agg a) {
        Acc l = acc_of(a, {{i(5), 20}, {i(2), 25}}, 0);
        l.merge(a, acc_of(a, {{i(9), 10}, {i(-3), 40}}, 100));
        return res(a, l);
    };
    EXPECT_EQ(merged(Agg::sum), "13");
    EXPECT_EQ(merged(Agg::min), "-3");
    EXPECT_EQ(merged(Agg::max), "9");
    EXPECT_EQ(merged(Agg::count), "4");
    EXPECT_EQ(merged(Agg::avg), "3.25");
    EXPECT_EQ(merged(Agg::first), "9");
    EXPECT_EQ(merged(Agg::last), "-3");
}

TEST(Aggregates, SubtractUndoesMerge) {
    auto i = [](int64_t v) { return Num::of_int(v); };
    for (Agg a : {Agg::sum, Agg::count, Agg::avg}) {
        Acc base = acc_of(a, {{i(3), 1}, {i(4), 2}});
        Acc more = acc_of(a, {{i(10), 3}});
        Acc w = base;
        w.merge(a, more);
        w.subtract(a, more);
        EXPECT_EQ(res(a, w), res(a, base)) << agg_names()[size_t(a)];
        EXPECT_EQ(w.n, base.n);
        EXPECT_FALSE(w.is_identity(a));
        w.subtract(a, base);
        EXPECT_EQ(w.n, 0);
        EXPECT_TRUE(w.is_identity(a)) << agg_names()[size_t(a)];
        // Subtracting nothing changes nothing.
        Acc e;
        Acc b2 = base;
        b2.subtract(a, e);
        EXPECT_EQ(res(a, b2), res(a, base));
    }
    // Sum: the identity is also a live sum of 0 (what dropZero removes).
    Acc s = acc_of(Agg::sum, {{i(2), 1}, {i(-2), 2}});
    EXPECT_EQ(res(Agg::sum, s), "0");
    EXPECT_TRUE(s.is_identity(Agg::sum));
    Acc c = acc_of(Agg::count, {{i(0), 1}});
    EXPECT_FALSE(c.is_identity(Agg::count)) << "count of one zero value is 1";
    // avg after subtraction is the mean of what is left.
    Acc avg = acc_of(Agg::avg, {{i(1), 1}, {i(2), 2}, {i(6), 3}});
    avg.subtract(Agg::avg, acc_of(Agg::avg, {{i(1), 1}}));
    EXPECT_EQ(res(Agg::avg, avg), "4");
}

}  // namespace
}  // namespace sluice::ops

namespace sluice::ops {
namespace {

// groupByKey makes lists; a numeric value operator after it would have
// nothing to act on, so it is refused rather than ignored.
TEST(PipelineCompile, ValueOperatorsAfterGroupByKeyAreRefused) {
    EXPECT_EQ(compile_error("kv(\",\") | groupByKey | mapValues(mul(2))"),
              "col 24: 'mapValues' takes numeric values, but groupByKey makes lists");
    EXPECT_EQ(compile_error("kv(\",\") | groupByKeyAndWindow(2s, 1s) | filterValues(gt(1))"),
              "col 41: 'filterValues' takes numeric values, but groupByKey makes lists");
    EXPECT_EQ(compile_error("kv(\",\") | reduceByKey(sum) | mapValues(mul(2))"), "");
}

}  // namespace
}  // namespace sluice::ops

namespace sluice::ops {
namespace {

// libstdc++'s regex compiler overflows on huge repetition counts (found by
// the pipeline fuzzer): refused with a message instead.
TEST(PipelineCompile, HugeRegexRepetitionCountsAreRefused) {
    EXPECT_EQ(compile_error("filter(matches(\"[0-9]{17777777777777777777}\"))"),
              "col 16: regex: repetition counts above 1000 are not supported");
    EXPECT_EQ(compile_error("map(regex(\"a{2,5000}\", 0))"), "col 11: regex: repetition counts above 1000 are not supported");
    EXPECT_EQ(compile_error("filter(matches(\"a{2,1000}\\\\{99999\"))"), "");  // an escaped brace is a character
}

}  // namespace
}  // namespace sluice::ops
