// SPDX-License-Identifier: Apache-2.0
// Streams end to end (docs/streams.md): the real agent runs a `replay`
// source in event time -> channel -> stream -> channel -> file_roll sink
// (header_and_text), exits by itself at the end of the input, and the results
// are compared line by line ("<time header> <body>") with values worked out
// by hand from the Spark semantics (reference/spark-streaming.md §1.1, §2, §3,
// §4.1, §7.2-7.3). Every case runs on 1, 2 and 4 shards (alternating the io
// backend) and must give exactly the same lines each time.
//
// Then a property test compares random pipelines over random inputs with the
// single-threaded evaluator in stream_reference.h, and `sluice check` is run
// on pipelines with errors.
#include <array>
#include <future>
#include <random>
#include <regex>

#include "core/registry.h"
#include "operators/pipeline.h"
#include "tests/integration/harness.h"
#include "tests/integration/stream_reference.h"

namespace sluice_it {
namespace {

// ------------------------------------------------------------------ running streams

struct stream_spec {
    std::string batch = "1s";
    std::string ops;
    std::string input;  // the replay file
    key_values keys;    // more stream keys (watermark, format, ...)
};

struct stream_output {
    std::vector<std::string> lines;     // "<time> <body>"
    std::vector<std::string> problems;  // malformed lines or wrong headers
};

struct agent_outcome {
    exit_result exit;
    std::vector<stream_output> streams;
    std::string summary(size_t i) const {  // the stream's metrics line on stderr
        std::string prefix = "STREAM.s" + std::to_string(i) + ": ";
        for (auto& l : split_lines(exit.err))
            if (l.rfind(prefix, 0) == 0) return l;
        return "";
    }
};

int64_t batch_ms_of(const std::string& batch) {
    auto ms = sluice::parse_duration_ms(batch, 1);
    return ms ? ms.value() : 1000;
}

std::string json_quoted(const std::string& s) { return "\"" + s + "\""; }

// Parses "{stream=sN, time=T[, key=K]} body" and checks the headers.
void parse_result_lines(const std::string& dir, const std::string& stream, bool keyed, bool json,
                        stream_output& out) {
    static const std::regex head(R"(^\{stream=([^,}]*), time=(-?\d+)(, key=(.*?))?\} )");
    for (auto& l : read_output_lines(dir)) {
        std::smatch m;
        if (!std::regex_search(l.body, m, head)) {
            out.problems.push_back("malformed: " + printable(l.body));
            continue;
        }
        std::string body = l.body.substr(size_t(m.length(0)));
        if (m[1] != stream) out.problems.push_back("stream header '" + m[1].str() + "' in " + printable(l.body));
        if (keyed != m[3].matched) {
            out.problems.push_back(std::string(keyed ? "no key header: " : "unexpected key header: ") + printable(l.body));
        } else if (keyed) {
            std::string key = m[4];
            bool ok = json ? body.find("\"key\":" + json_quoted(key) + ",") != std::string::npos
                           : body.compare(0, key.size() + 1, key + "\t") == 0;
            if (!ok) out.problems.push_back("key header does not match the body: " + printable(l.body));
        }
        if (json && body.rfind("{\"time\":" + m[2].str() + ",", 0) != 0)
            out.problems.push_back("json time differs from the time header: " + printable(l.body));
        out.lines.push_back(m[2].str() + " " + body);
    }
}

// One agent running every spec as its own flow: replay rN -> iN -> stream sN
// -> oN -> file_roll kN. Streams in one agent share event-time ticks, so
// specs whose input has ticks should run alone.
class stream_agent {
public:
    stream_agent(std::vector<stream_spec> specs, unsigned shards, std::string backend)
        : _specs(std::move(specs)), _shards(shards), _backend(std::move(backend)) {}

    void start() {
        std::string t;
        auto line = [&](const std::string& k, const std::string& v) { t += k + " = " + v + "\n"; };
        std::string sources, channels, sinks, streams;
        for (size_t i = 0; i < _specs.size(); i++) {
            std::string n = std::to_string(i);
            sources += " r" + n;
            channels += " i" + n + " o" + n;
            sinks += " k" + n;
            streams += " s" + n;
        }
        line("a1.sources", sources);
        line("a1.channels", channels);
        line("a1.sinks", sinks);
        line("a1.streams", streams);
        for (size_t i = 0; i < _specs.size(); i++) {
            const auto& s = _specs[i];
            std::string n = std::to_string(i);
            std::string in = _dir.write("input-" + n + ".txt", s.input);
            line("a1.sources.r" + n + ".type", "replay");
            line("a1.sources.r" + n + ".path", in);
            line("a1.sources.r" + n + ".channels", "i" + n);
            for (auto ch : {"i", "o"}) {
                line("a1.channels." + std::string(ch) + n + ".type", "memory");
                line("a1.channels." + std::string(ch) + n + ".capacity", "100000");
                line("a1.channels." + std::string(ch) + n + ".transactionCapacity", "1000");
            }
            line("a1.streams.s" + n + ".channel", "i" + n);
            line("a1.streams.s" + n + ".channels", "o" + n);
            line("a1.streams.s" + n + ".batch", s.batch);
            line("a1.streams.s" + n + ".ops", s.ops);
            line("a1.streams.s" + n + ".time", "event");
            for (auto& [k, v] : s.keys) line("a1.streams.s" + n + "." + k, v);
            line("a1.sinks.k" + n + ".type", "file_roll");
            line("a1.sinks.k" + n + ".channel", "o" + n);
            line("a1.sinks.k" + n + ".sink.directory", _dir.mkdir("out-" + n));
            line("a1.sinks.k" + n + ".sink.rollInterval", "0");
            line("a1.sinks.k" + n + ".sink.serializer", "header_and_text");
        }
        _config = t;
        agent_options o;
        o.shards = _shards;
        o.backend = _backend;
        _agent.start(_dir.path(), t, o);
    }

    agent_outcome finish(milliseconds timeout = seconds(60)) {
        agent_outcome r;
        r.exit = _agent.wait(timeout);
        for (size_t i = 0; i < _specs.size(); i++) {
            const auto& s = _specs[i];
            auto plan = sluice::ops::compile_pipeline(s.ops, batch_ms_of(s.batch));
            bool keyed = plan && plan->keyed();
            bool json = false;
            for (auto& [k, v] : s.keys)
                if (k == "format" && v == "json") json = true;
            stream_output o;
            parse_result_lines(_dir.file("out-" + std::to_string(i)), "s" + std::to_string(i), keyed, json, o);
            r.streams.push_back(std::move(o));
        }
        return r;
    }

    const std::string& config() const { return _config; }

private:
    std::vector<stream_spec> _specs;
    unsigned _shards;
    std::string _backend;
    temp_dir _dir;
    agent_process _agent;
    std::string _config;
};

struct variant {
    unsigned shards;
    const char* backend;
};

std::string variant_name(const variant& v) { return std::to_string(v.shards) + " shard(s), " + v.backend; }

// The agent must have ended by itself, cleanly.
void expect_clean_exit(const agent_outcome& r, const std::string& what) {
    EXPECT_TRUE(r.exit.exited) << what << ": the agent did not exit by itself at the end of the replay\n"
                               << describe(r.exit);
    EXPECT_EQ(r.exit.signal, 0) << what << "\n" << describe(r.exit);
    EXPECT_EQ(r.exit.code, 0) << what << "\n" << describe(r.exit);
    EXPECT_EQ(r.exit.err.find("Sanitizer"), std::string::npos) << what << "\n" << r.exit.err;
    EXPECT_EQ(r.exit.err.find("runtime error"), std::string::npos) << what << "\n" << r.exit.err;
}

// Runs the same specs on each variant at once (separate agents) and returns
// the outcomes in variant order.
std::vector<agent_outcome> run_variants(const std::vector<stream_spec>& specs, const std::vector<variant>& variants) {
    std::vector<std::unique_ptr<stream_agent>> agents;
    for (auto& v : variants) {
        agents.push_back(std::make_unique<stream_agent>(specs, v.shards, v.backend));
        agents.back()->start();
    }
    std::vector<agent_outcome> out;
    for (auto& a : agents) out.push_back(a->finish());
    return out;
}

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (auto& l : lines) s += "    " + printable(l) + "\n";
    return s;
}

const std::vector<variant> shard_variants = {{1, "epoll"}, {2, "io_uring"}, {4, "epoll"}};

// ------------------------------------------------------------------ the cases

struct stream_case {
    std::string name;
    std::string batch;
    std::string ops;
    std::vector<std::string> input;     // replay lines
    std::vector<std::string> expected;  // "<batch end> <body>"
    key_values keys = {};
    std::vector<std::string> summary_has = {};  // in the STREAM.s0 metrics line
    std::string raw_input = {};                 // the replay file as is (instead of `input`)
};

void PrintTo(const stream_case& c, std::ostream* os) { *os << c.name << ": " << c.ops; }

std::string input_text(const std::vector<std::string>& lines) {
    std::string t;
    for (auto& l : lines) t += l + "\n";
    return t;
}

std::vector<stream_case> cases() {
    // Shorthands: a keyed result line and a value line.
    auto kv = [](int64_t t, const std::string& k, const std::string& v) { return std::to_string(t) + " " + k + "\t" + v; };
    auto val = [](int64_t t, const std::string& v) { return std::to_string(t) + " " + v; };
    std::vector<stream_case> c;

    // ---------------------------------------------------------- per record
    // Records keep their input order within a batch; each is one result.
    c.push_back({"map_trim_upper", "1s", "map(trim) | map(upper)",
                 {"1000   Hello  ", "1200 abc", "2500 x y"},
                 {val(2000, "HELLO"), val(2000, "ABC"), val(3000, "X Y")}});
    c.push_back({"map_lower", "1s", "map(lower)", {"1000 MiXeD Case 1"}, {val(2000, "mixed case 1")}});
    // split drops the empty pieces a run of separators makes (Spark's split).
    c.push_back({"flatMap_split_one_char", "1s", "flatMap(split(\" \"))",
                 {"1000   a  b ", "1500 c"},
                 {val(2000, "a"), val(2000, "b"), val(2000, "c")}});
    c.push_back({"flatMap_split_long_separator", "1s", "flatMap(split(\", \"))",
                 {"1000 a, b, , c,d"},
                 {val(2000, "a"), val(2000, "b"), val(2000, "c,d")}});
    c.push_back({"map_field", "1s", "map(field(\",\", 1))",
                 {"1000 x,y,z", "1100 nofield", "1200 a,,b", "1300 p,q"},
                 {val(2000, "y"), val(2000, ""), val(2000, "q")}});
    c.push_back({"map_regex_group", "1s", "map(regex(\"id=([0-9]+)\", 1))",
                 {"1000 user id=42 ok", "1100 no id here", "1200 id=7"},
                 {val(2000, "42"), val(2000, "7")}});
    c.push_back({"map_json_path", "1s", "map(json(\"user.name\"))",
                 {R"(1000 {"user":{"id":1,"name":"ann"}})", "1100 not json", R"(1200 {"user":{"id":2}})",
                  R"(1300 {"x":[1,{"name":"no"}],"user":{"name":"bob"}})"},
                 {val(2000, "ann"), val(2000, "bob")}});
    c.push_back({"map_header_timestamp", "1s", "map(header(\"timestamp\"))",
                 {"1000 a", "2999 b"},
                 {val(2000, "1000"), val(3000, "2999")}});
    c.push_back({"map_unknown_header_drops", "1s", "map(header(\"host\")) | count",
                 {"1000 a", "1200 b"},
                 {val(2000, "0")}});
    c.push_back({"filter_contains", "1s", "filter(contains(\"er\"))",
                 {"1000 error", "1100 warn", "1200 server", "1300 ER"},
                 {val(2000, "error"), val(2000, "server")}});
    c.push_back({"filter_matches_whole_record", "1s", "filter(matches(\"[a-z]+[0-9]\"))",
                 {"1000 abc1", "1100 abc12", "1200 1abc1", "1300 x9"},
                 {val(2000, "abc1"), val(2000, "x9")}});
    c.push_back({"filter_eq", "1s", "filter(eq(\"b\"))",
                 {"1000 a", "1100 b", "1200 bb", "1300 b"},
                 {val(2000, "b"), val(2000, "b")}});
    c.push_back({"filter_nonEmpty_after_trim", "1s", "map(trim) | filter(nonEmpty)",
                 {"1000 a", "1100   ", "1200  b"},
                 {val(2000, "a"), val(2000, "b")}});
    c.push_back({"filter_not", "1s", "filter(not(contains(\"x\")))",
                 {"1000 ax", "1100 b", "1200 x", "1300 c"},
                 {val(2000, "b"), val(2000, "c")}});
    c.push_back({"filter_gt_lt", "1s", "filter(gt(-1)) | filter(lt(10.5))",
                 {"1000 5", "1100 11", "1200 abc", "1300 10.5", "1400 -1", "1500 -0.5", "1600 10.25"},
                 {val(2000, "5"), val(2000, "-0.5"), val(2000, "10.25")}});

    // The replay format: CRLF line ends, blank lines, a line that is not
    // "<epoch-ms> <body>" (skipped), and a last line without a newline.
    c.push_back({"replay_crlf_blank_malformed_and_unterminated_last_line", "1s", "map(upper)", {},
                 {val(2000, "A"), val(2000, "B B"), val(3000, "C")},
                 {}, {"EventReceivedCount=3 "},
                 "1000 a\r\n\r\n\n1500 b b\nxyz q\n2500 c"});

    // ---------------------------------------------------------- pairs
    // Without an aggregation, pairs are records "key<TAB>value" (no key header).
    c.push_back({"pair_records", "1s", "map(lower) | pair(2.5)",
                 {"1000 A", "1100 b"},
                 {val(2000, "a\t2.5"), val(2000, "b\t2.5")}});
    // Word count's split, pair and reduceByKey with a value that is not an
    // integer: short and long words alike take the KeyTable.
    c.push_back({"split_pair_fraction_reduceByKey_sum", "1s", "flatMap(split(\" \")) | pair(2.5) | reduceByKey(sum)",
                 {"1000 ab  abcdefgh ab", "1100 abcdefgh"},
                 {kv(2000, "ab", "5"), kv(2000, "abcdefgh", "5")}});
    c.push_back({"kv_records", "1s", "kv(\"=\")",
                 {"1000 a=1", "1100 b=2.5", "1200 c=x", "1300 d", "1400 e==3", "1500 f= 4", "1600 g=-7"},
                 {val(2000, "a\t1"), val(2000, "b\t2.5"), val(2000, "f\t4"), val(2000, "g\t-7")}});
    c.push_back({"keyBy_field_reduceByKey_count", "1s", "keyBy(field(\",\", 0)) | reduceByKey(count)",
                 {"1000 u1,click", "1100 u2,view", "1200 u1,view", "2100 u2,click"},
                 {kv(2000, "u1", "2"), kv(2000, "u2", "1"), kv(3000, "u2", "1")}});
    c.push_back({"mapValues_chain", "1s", "kv(\"=\") | mapValues(mul(2)) | mapValues(add(1)) | mapValues(neg) | mapValues(abs)",
                 {"1000 a=3", "1100 b=-1.5"},
                 {val(2000, "a\t7"), val(2000, "b\t2")}});
    c.push_back({"filterValues", "1s", "kv(\"=\") | filterValues(gt(1)) | filterValues(not(gt(5)))",
                 {"1000 a=1", "1100 b=2", "1200 c=6", "1300 d=5"},
                 {val(2000, "b\t2"), val(2000, "d\t5")}});
    c.push_back({"post_ops_after_reduceByKey", "1s",
                 "kv(\"=\") | reduceByKey(sum) | mapValues(mul(10)) | filterValues(gt(15))",
                 {"1000 a=1", "1100 a=1", "1200 b=1", "1300 c=5"},
                 {kv(2000, "a", "20"), kv(2000, "c", "50")}});

    // ---------------------------------------------------------- per batch
    // count: an empty batch (3000, no records) gives 0.
    c.push_back({"count_empty_batch_gives_0", "1s", "count",
                 {"1000 a", "1500 b", "3200 c", "3300 d"},
                 {val(2000, "2"), val(3000, "0"), val(4000, "2")}});
    c.push_back({"count_after_filter", "1s", "flatMap(split(\" \")) | filter(eq(\"x\")) | count()",
                 {"1000 x y x", "2000 y", "2500 x"},
                 {val(2000, "2"), val(3000, "1")}});
    // Batch boundaries with a 2 s batch: [0,2000) -> 2000, [2000,4000) -> 4000.
    c.push_back({"count_batch_2s_boundaries", "2s", "count",
                 {"1000 a", "1999 b", "2000 c", "5999 d"},
                 {val(2000, "2"), val(4000, "1"), val(6000, "1")}});
    c.push_back({"countByValue", "1s", "flatMap(split(\" \")) | countByValue",
                 {"1000 b a b", "1500 c", "2500 a"},
                 {kv(2000, "a", "1"), kv(2000, "b", "2"), kv(2000, "c", "1"), kv(3000, "a", "1")}});
    c.push_back({"countByValue_batch_500ms", "500ms", "flatMap(split(\" \")) | countByValue",
                 {"1000 a", "1499 a", "1500 b", "2100 a"},
                 {kv(1500, "a", "2"), kv(2000, "b", "1"), kv(2500, "a", "1")}});
    // reduce: an empty batch gives nothing; non-numbers are skipped.
    c.push_back({"reduce_sum_empty_batch_gives_nothing", "1s", "reduce(sum)",
                 {"1000 3", "1500 4", "3200 x", "3500 2.5", "5100 1"},
                 {val(2000, "7"), val(4000, "2.5"), val(6000, "1")}});
    c.push_back({"reduce_max_of_pairs", "1s", "kv(\"=\") | reduce(max)",
                 {"1000 a=3", "1100 b=9", "1200 c=-2", "2500 a=1"},
                 {val(2000, "9"), val(3000, "1")}});
    c.push_back({"reduce_avg", "1s", "reduce(avg)", {"1000 1", "1100 2", "2100 5"}, {val(2000, "1.5"), val(3000, "5")}});

    // reduceByKey with every aggregate: batch 2000 has k = 5, -1, 3 and
    // j = 2, 2.5; batch 3000 has k = 10.
    const std::vector<std::string> agg_input = {"1000 k=5", "1100 j=2", "1200 k=-1", "1300 k=3", "1400 j=2.5", "2500 k=10"};
    struct agg_want {
        const char* agg;
        const char* j;
        const char* k;
    };
    for (auto [agg, j, k] : {agg_want{"sum", "4.5", "7"}, agg_want{"min", "2", "-1"}, agg_want{"max", "2.5", "5"},
                             agg_want{"count", "2", "3"}, agg_want{"avg", "2.25", "2.3333333333333335"},
                             agg_want{"first", "2", "5"}, agg_want{"last", "2.5", "3"}}) {
        c.push_back({std::string("reduceByKey_") + agg, "1s", "kv(\"=\") | reduceByKey(" + std::string(agg) + ")", agg_input,
                     {kv(2000, "j", j), kv(2000, "k", k), kv(3000, "k", std::string(agg) == "count" ? "1" : "10")}});
    }
    // first/last follow the record time, not the order of the lines.
    c.push_back({"reduceByKey_first_by_event_time", "1s", "kv(\"=\") | reduceByKey(first)",
                 {"1500 k=1", "1200 k=2", "1800 k=3", "1100 k=4", "1900 j=1", "1300 j=2"},
                 {kv(2000, "j", "2"), kv(2000, "k", "4")}});
    c.push_back({"reduceByKey_last_by_event_time", "1s", "kv(\"=\") | reduceByKey(last)",
                 {"1500 k=1", "1800 k=3", "1200 k=2", "1100 k=4", "1900 j=1", "1300 j=2"},
                 {kv(2000, "j", "1"), kv(2000, "k", "3")}});
    // Sums of doubles print in the shortest round-trip form.
    c.push_back({"reduceByKey_double_sum_shortest_form", "1s", "kv(\"=\") | reduceByKey(sum)",
                 {"1000 x=0.1", "1100 x=0.2", "1200 y=1e21"},
                 {kv(2000, "x", "0.30000000000000004"), kv(2000, "y", "1e+21")}});
    // An integer sum that overflows goes on as a double, from that add on in
    // input order, for keys of up to 7 bytes (operators/short_key_sums.h)
    // exactly as for longer ones: MAX - 1, + 1 = MAX, + 1 = 2^63 (a double),
    // - 5 rounds back to 2^63.
    c.push_back({"reduceByKey_sum_overflow_short_and_long_keys", "1s", "kv(\"=\") | reduceByKey(sum)",
                 {"1000 k=9223372036854775806", "1050 a_longer_key=9223372036854775806", "1100 k=1",
                  "1150 a_longer_key=1", "1200 k=1", "1250 a_longer_key=1", "1300 k=-5", "1350 a_longer_key=-5",
                  "1400 j=9223372036854775807", "1500 j=-9223372036854775807"},
                 {kv(2000, "a_longer_key", "9223372036854775808"), kv(2000, "j", "0"),
                  kv(2000, "k", "9223372036854775808")}});
    // groupByKey: the values in input order, comma-separated.
    c.push_back({"groupByKey_tsv", "1s", "kv(\"=\") | groupByKey",
                 {"1000 k=1", "1100 j=2", "1200 k=3", "1300 k=1.5", "2100 j=7"},
                 {kv(2000, "j", "2"), kv(2000, "k", "1,3,1.5"), kv(3000, "j", "7")}});
    c.push_back({"groupByKey_json", "1s", "kv(\"=\") | groupByKey()",
                 {"1000 k=1", "1100 j=2", "1200 k=3", "1300 k=1.5"},
                 {val(2000, R"({"time":2000,"key":"j","value":[2]})"), val(2000, R"({"time":2000,"key":"k","value":[1,3,1.5]})")},
                 {{"format", "json"}}});

    // ---------------------------------------------------------- windows
    // Spark's WindowOperationsSuite example (B = 1 s, W = 4, S = 2, one record
    // per batch): [0,1], [0,1,2,3], [2,3,4,5], then (time moved on by a tick
    // to 8000) [4,5].
    c.push_back({"window_records_spark_example", "1s", "window(4s, 2s)",
                 {"500 0", "1500 1", "2500 2", "3500 3", "4500 4", "5500 5", "7500"},
                 {val(2000, "0"), val(2000, "1"), val(4000, "0"), val(4000, "1"), val(4000, "2"), val(4000, "3"),
                  val(6000, "2"), val(6000, "3"), val(6000, "4"), val(6000, "5"), val(8000, "4"), val(8000, "5")}});
    // The first batch is 3000 (the earliest record); the first window, at
    // 4000, is partial. The input ends in batch 5000: no window after 4000.
    c.push_back({"window_records_partial_first_and_end", "1s", "map(upper) | window(3s, 2s)",
                 {"2500 a", "3100 b", "3200 c", "4500 d"},
                 {val(4000, "A"), val(4000, "B"), val(4000, "C")}});
    c.push_back({"window_default_slide_is_the_batch", "1s", "window(2s)",
                 {"1500 a", "2500 b", "3500 c"},
                 {val(2000, "a"), val(3000, "a"), val(3000, "b"), val(4000, "b"), val(4000, "c")}});
    // countByWindow: nothing before the first record ever (the records before
    // it are filtered out), then 0 for empty windows.
    c.push_back({"countByWindow_nothing_before_first_record_then_0", "1s", "filter(contains(\"x\")) | countByWindow(2s, 1s)",
                 {"1500 a", "2500 b", "3500 x", "6500 c"},
                 {val(4000, "1"), val(5000, "1"), val(6000, "0"), val(7000, "0")}});
    // Ticks move time on after the last record: the empty windows are emitted.
    c.push_back({"countByWindow_ticks_close_empty_windows", "1s", "countByWindow(2s, 1s)",
                 {"1500 a", "4500"},
                 {val(2000, "1"), val(3000, "1"), val(4000, "0"), val(5000, "0")}});
    // The input ends in batch 5000, which no emitted window covers.
    c.push_back({"countByWindow_ends_with_the_last_batch", "1s", "countByWindow(4s, 2s)",
                 {"1500 a", "4500 b"},
                 {val(2000, "1"), val(4000, "1")}});
    c.push_back({"window_then_count", "1s", "window(3s, 1s) | count",
                 {"1500 a", "1600 b", "3500 c", "4500"},
                 {val(2000, "2"), val(3000, "2"), val(4000, "3"), val(5000, "1")}});
    // reduceByWindow: an empty window gives nothing.
    c.push_back({"reduceByWindow_sum", "1s", "reduceByWindow(sum, 2s, 1s)",
                 {"1500 1", "2500 2", "5500 4"},
                 {val(2000, "1"), val(3000, "3"), val(4000, "2"), val(6000, "4")}});
    c.push_back({"window_then_reduce_max", "1s", "window(3s, 2s) | reduce(max)",
                 {"1500 5", "2500 7", "3500 1", "4500 2", "7500 0"},
                 {val(2000, "5"), val(4000, "7"), val(6000, "2"), val(8000, "0")}});
    // reduceByKeyAndWindow(sum, 3s, 1s). Per batch: 2000 a1 b1; 3000 a1;
    // 4000 -; 5000 c1; 6000 -; 7000 d1.
    const std::vector<std::string> win_input = {"1500 a b", "2500 a", "4500 c", "6500 d"};
    // Without inverse a key leaves with its last value.
    c.push_back({"reduceByKeyAndWindow_naive", "1s", "flatMap(split(\" \")) | pair(1) | reduceByKeyAndWindow(sum, 3s, 1s)",
                 win_input,
                 {kv(2000, "a", "1"), kv(2000, "b", "1"), kv(3000, "a", "2"), kv(3000, "b", "1"), kv(4000, "a", "2"),
                  kv(4000, "b", "1"), kv(5000, "a", "1"), kv(5000, "c", "1"), kv(6000, "c", "1"), kv(7000, "c", "1"),
                  kv(7000, "d", "1")}});
    // With inverse a key stays, at 0, once its values left.
    c.push_back({"reduceByKeyAndWindow_inverse_keeps_zero_keys", "1s",
                 "flatMap(split(\" \")) | pair(1) | reduceByKeyAndWindow(sum, 3s, 1s, inverse)", win_input,
                 {kv(2000, "a", "1"), kv(2000, "b", "1"), kv(3000, "a", "2"), kv(3000, "b", "1"), kv(4000, "a", "2"),
                  kv(4000, "b", "1"), kv(5000, "a", "1"), kv(5000, "b", "0"), kv(5000, "c", "1"), kv(6000, "a", "0"),
                  kv(6000, "b", "0"), kv(6000, "c", "1"), kv(7000, "a", "0"), kv(7000, "b", "0"), kv(7000, "c", "1"),
                  kv(7000, "d", "1")}});
    // With inverse and dropZero: the same as the naive result.
    c.push_back({"reduceByKeyAndWindow_inverse_dropZero", "1s",
                 "flatMap(split(\" \")) | pair(1) | reduceByKeyAndWindow(sum, 3s, 1s, inverse, dropZero)", win_input,
                 {kv(2000, "a", "1"), kv(2000, "b", "1"), kv(3000, "a", "2"), kv(3000, "b", "1"), kv(4000, "a", "2"),
                  kv(4000, "b", "1"), kv(5000, "a", "1"), kv(5000, "c", "1"), kv(6000, "c", "1"), kv(7000, "c", "1"),
                  kv(7000, "d", "1")}});
    // W = 3 s, S = 2 s (W not a multiple of S). Per batch: 2000 a; 3000 a;
    // 4000 b; 5000 a; 8000 b. Windows at 2000 (..2000], 4000 (1000,4000],
    // 6000 (3000,6000], 8000 (5000,8000].
    const std::vector<std::string> slide_input = {"1500 a", "2500 a", "3500 b", "4500 a", "7500 b"};
    c.push_back({"reduceByKeyAndWindow_slide_2s_naive", "1s", "flatMap(split(\" \")) | pair(1) | reduceByKeyAndWindow(sum, 3s, 2s)",
                 slide_input,
                 {kv(2000, "a", "1"), kv(4000, "a", "2"), kv(4000, "b", "1"), kv(6000, "a", "1"), kv(6000, "b", "1"),
                  kv(8000, "b", "1")}});
    c.push_back({"reduceByKeyAndWindow_slide_2s_inverse", "1s",
                 "flatMap(split(\" \")) | pair(1) | reduceByKeyAndWindow(count, 3s, 2s, inverse)", slide_input,
                 {kv(2000, "a", "1"), kv(4000, "a", "2"), kv(4000, "b", "1"), kv(6000, "a", "1"), kv(6000, "b", "1"),
                  kv(8000, "a", "0"), kv(8000, "b", "1")}});
    // Negative values make a live sum of 0: dropZero removes it too (Spark's
    // filter on v != 0).
    c.push_back({"reduceByKeyAndWindow_dropZero_live_zero_sum", "1s",
                 "kv(\"=\") | reduceByKeyAndWindow(sum, 2s, 1s, inverse, dropZero)",
                 {"1500 a=2", "1600 b=1", "2500 a=-2"},
                 {kv(2000, "a", "2"), kv(2000, "b", "1"), kv(3000, "b", "1")}});
    c.push_back({"reduceByKeyAndWindow_max_naive", "1s", "kv(\"=\") | reduceByKeyAndWindow(max, 2s, 1s)",
                 {"1500 a=2", "1600 b=1", "2500 a=-2", "3500 a=1"},
                 {kv(2000, "a", "2"), kv(2000, "b", "1"), kv(3000, "a", "2"), kv(3000, "b", "1"), kv(4000, "a", "1")}});
    c.push_back({"reduceByKeyAndWindow_avg_inverse", "1s", "kv(\"=\") | reduceByKeyAndWindow(avg, 2s, 1s, inverse)",
                 {"1500 a=1", "1600 a=2", "2500 a=6", "4500 b=1"},
                 {kv(2000, "a", "1.5"), kv(3000, "a", "3"), kv(4000, "a", "6"), kv(5000, "a", "0"), kv(5000, "b", "1")}});
    // countByValueAndWindow: values whose count returns to 0 disappear.
    c.push_back({"countByValueAndWindow", "1s", "flatMap(split(\" \")) | countByValueAndWindow(2s, 1s)",
                 {"1500 x y x", "2500 y", "5500 z"},
                 {kv(2000, "x", "2"), kv(2000, "y", "1"), kv(3000, "x", "2"), kv(3000, "y", "2"), kv(4000, "y", "1"),
                  kv(6000, "z", "1")}});
    // groupByKeyAndWindow: the values of the window's batches in time order.
    c.push_back({"groupByKeyAndWindow", "1s", "kv(\"=\") | groupByKeyAndWindow(3s, 1s)",
                 {"1500 a=1", "1600 b=2", "2500 a=3", "3500 a=4"},
                 {kv(2000, "a", "1"), kv(2000, "b", "2"), kv(3000, "a", "1,3"), kv(3000, "b", "2"), kv(4000, "a", "1,3,4"),
                  kv(4000, "b", "2")}});

    // ---------------------------------------------------------- state
    // Per batch: 2000 a[1,3] b[5]; 3000 a[5]; 4000 -; 5000 b[-2] c[7]. The
    // whole state is emitted every batch, also in 4000.
    const std::vector<std::string> st_input = {"1500 a=1", "1600 b=5", "1700 a=3", "2500 a=5", "4500 b=-2", "4600 c=7"};
    struct state_want {
        const char* fn;
        std::vector<std::array<const char*, 3>> rows;  // time, key, value
    };
    for (auto& [fn, rows] : std::vector<state_want>{
             {"sum", {{"2000", "a", "4"}, {"2000", "b", "5"}, {"3000", "a", "9"}, {"3000", "b", "5"}, {"4000", "a", "9"},
                      {"4000", "b", "5"}, {"5000", "a", "9"}, {"5000", "b", "3"}, {"5000", "c", "7"}}},
             {"count", {{"2000", "a", "2"}, {"2000", "b", "1"}, {"3000", "a", "3"}, {"3000", "b", "1"}, {"4000", "a", "3"},
                        {"4000", "b", "1"}, {"5000", "a", "3"}, {"5000", "b", "2"}, {"5000", "c", "1"}}},
             {"min", {{"2000", "a", "1"}, {"2000", "b", "5"}, {"3000", "a", "1"}, {"3000", "b", "5"}, {"4000", "a", "1"},
                      {"4000", "b", "5"}, {"5000", "a", "1"}, {"5000", "b", "-2"}, {"5000", "c", "7"}}},
             {"max", {{"2000", "a", "3"}, {"2000", "b", "5"}, {"3000", "a", "5"}, {"3000", "b", "5"}, {"4000", "a", "5"},
                      {"4000", "b", "5"}, {"5000", "a", "5"}, {"5000", "b", "5"}, {"5000", "c", "7"}}},
             {"last", {{"2000", "a", "3"}, {"2000", "b", "5"}, {"3000", "a", "5"}, {"3000", "b", "5"}, {"4000", "a", "5"},
                       {"4000", "b", "5"}, {"5000", "a", "5"}, {"5000", "b", "-2"}, {"5000", "c", "7"}}},
             {"avg", {{"2000", "a", "2"}, {"2000", "b", "5"}, {"3000", "a", "3"}, {"3000", "b", "5"}, {"4000", "a", "3"},
                      {"4000", "b", "5"}, {"5000", "a", "3"}, {"5000", "b", "1.5"}, {"5000", "c", "7"}}},
             // ewma(0.5): a 1, then .5*1+.5*3 = 2, then .5*2+.5*5 = 3.5;
             // b 5, then .5*5+.5*(-2) = 1.5.
             {"ewma(0.5)", {{"2000", "a", "2"}, {"2000", "b", "5"}, {"3000", "a", "3.5"}, {"3000", "b", "5"},
                            {"4000", "a", "3.5"}, {"4000", "b", "5"}, {"5000", "a", "3.5"}, {"5000", "b", "1.5"},
                            {"5000", "c", "7"}}},
         }) {
        std::vector<std::string> want;
        for (auto& r : rows) want.push_back(std::string(r[0]) + " " + r[1] + "\t" + r[2]);
        std::string n = fn;
        n = n.substr(0, n.find('('));
        c.push_back({"updateStateByKey_" + n, "1s", "kv(\"=\") | updateStateByKey(" + std::string(fn) + ")", st_input, want});
    }
    // ewma weights: alpha 0.25 keeps a quarter of the old value.
    c.push_back({"updateStateByKey_ewma_alpha", "1s", "kv(\"=\") | updateStateByKey(ewma(0.25))",
                 {"1500 a=8", "2500 a=4", "2600 a=0"},
                 // 8; then .25*8+.75*4 = 5; then .25*5+.75*0 = 1.25
                 {kv(2000, "a", "8"), kv(3000, "a", "1.25")}});
    // ttl(2s): a key with no value for 2 s (two batches) is dropped; a dropped
    // key that comes back starts afresh. Ticks move time on to 8000.
    c.push_back({"updateStateByKey_ttl", "1s", "kv(\"=\") | updateStateByKey(sum, ttl(2s))",
                 {"1500 a=1", "1600 b=5", "1700 a=3", "2500 a=5", "4500 b=-2", "4600 c=7", "7500"},
                 {kv(2000, "a", "4"), kv(2000, "b", "5"), kv(3000, "a", "9"), kv(3000, "b", "5"), kv(4000, "a", "9"),
                  kv(5000, "b", "-2"), kv(5000, "c", "7"), kv(6000, "b", "-2"), kv(6000, "c", "7")}});

    // ---------------------------------------------------------- ranking, formats
    // topK: value descending, then key ascending.
    c.push_back({"topK", "1s", "flatMap(split(\" \")) | countByValue | topK(2)",
                 {"1000 b a c a b d", "2500 z z z y x x"},
                 {kv(2000, "a", "2"), kv(2000, "b", "2"), kv(3000, "z", "3"), kv(3000, "x", "2")}});
    c.push_back({"topK_after_reduceByKey_with_negative_values", "1s", "kv(\"=\") | reduceByKey(sum) | topK(3)",
                 {"1000 a=-1", "1100 b=4", "1200 c=-5", "1300 d=4", "1400 e=0"},
                 {kv(2000, "b", "4"), kv(2000, "d", "4"), kv(2000, "e", "0")}});
    c.push_back({"json_keyed", "1s", "flatMap(split(\" \")) | pair(1) | reduceByKey(sum)",
                 {"1000 b a b", "2500 a"},
                 {val(2000, R"({"time":2000,"key":"a","value":1})"), val(2000, R"({"time":2000,"key":"b","value":2})"),
                  val(3000, R"({"time":3000,"key":"a","value":1})")},
                 {{"format", "json"}}});
    c.push_back({"json_count", "1s", "count", {"1000 a", "2500 b", "2600 c"},
                 {val(2000, R"({"time":2000,"value":1})"), val(3000, R"({"time":3000,"value":2})")},
                 {{"format", "json"}}});
    c.push_back({"json_records_escaped", "1s", "map(upper)", {"1000 say \"hi\" \\ ok\tx"},
                 {val(2000, R"({"time":2000,"value":"SAY \"HI\" \\ OK\tX"})")},
                 {{"format", "json"}}});

    // ---------------------------------------------------------- event time
    // Watermark 0: once 2500 is seen, batch 2000 is closed; the 1200 record
    // that comes after it (the tick makes the order certain) is late.
    const std::vector<std::string> late_input = {"1000 a", "2500 b", "2500", "1200 late", "3500 c"};
    c.push_back({"late_event_dropped_with_watermark_0", "1s", "count", late_input,
                 {val(2000, "1"), val(3000, "1"), val(4000, "1")},
                 {{"watermark", "0s"}},
                 {"LateEventCount=1 ", "EventReceivedCount=4 "}});
    c.push_back({"late_event_kept_with_watermark_2s", "1s", "count", late_input,
                 {val(2000, "2"), val(3000, "1"), val(4000, "1")},
                 {{"watermark", "2s"}},
                 {"LateEventCount=0 "}});
    // A record within the watermark of the max is never late, also when it is
    // older than every record seen so far (and arrives in a later take: the
    // tick makes sure of that). Watermark 2 s, max 2500: 1200 is 1.3 s behind;
    // no batch has closed (the watermark is 500), and the first batch is the
    // batch of the earliest record, 2000.
    c.push_back({"record_within_watermark_older_than_all_before_is_kept", "1s", "count", {"2500 b", "2500", "1200 x"},
                 {val(2000, "1"), val(3000, "1")},
                 {{"watermark", "2s"}},
                 {"LateEventCount=0 "}});
    // Batch T closes when the watermark (max time - 1 s) reaches T: 3000
    // closes 2000, 2999 does not.
    c.push_back({"watermark_reaching_the_batch_end_closes_it", "1s", "count", {"1000 a", "3000 b", "3000", "1999 late"},
                 {val(2000, "1"), val(3000, "0"), val(4000, "1")},
                 {{"watermark", "1s"}},
                 {"LateEventCount=1 "}});
    c.push_back({"watermark_short_of_the_batch_end_keeps_it_open", "1s", "count", {"1000 a", "2999 b", "2999", "1999 x"},
                 {val(2000, "2"), val(3000, "1")},
                 {{"watermark", "1s"}},
                 {"LateEventCount=0 "}});
    // Events without the time header are dropped and counted.
    c.push_back({"missing_time_header_is_counted", "1s", "count", {"1000 a", "2000 b"}, {},
                 {{"time.header", "ts"}},
                 {"BadTimeEventCount=2 ", "LateEventCount=0 "}});
    c.push_back({"empty_input_emits_nothing", "1s", "count", {}, {}});
    // Keys sort by their bytes.
    c.push_back({"keys_sorted_by_bytes", "1s", "flatMap(split(\" \")) | countByValue",
                 {"1000 b B a \xC3\xA9 _ a"},
                 {kv(2000, "B", "1"), kv(2000, "_", "1"), kv(2000, "a", "2"), kv(2000, "b", "1"), kv(2000, "\xC3\xA9", "1")}});
    c.push_back({"kv_multi_char_separator", "1s", "kv(\"::\") | reduceByKey(sum)",
                 {"1000 a::1::2", "1100 b::3", "1200 c:4", "1300 b::-1"},
                 {kv(2000, "b", "2")}});
    c.push_back({"reduce_first_by_event_time", "1s", "reduce(first)", {"1500 5", "1200 7", "1800 9"}, {val(2000, "7")}});
    c.push_back({"updateStateByKey_topK_larger_than_the_state", "1s", "kv(\"=\") | updateStateByKey(sum) | topK(5)",
                 {"1500 a=1", "1600 b=3", "2500 c=2"},
                 {kv(2000, "b", "3"), kv(2000, "a", "1"), kv(3000, "b", "3"), kv(3000, "c", "2"), kv(3000, "a", "1")}});
    c.push_back({"topK_of_a_window", "1s", "kv(\"=\") | reduceByKeyAndWindow(sum, 2s, 1s) | topK(1)",
                 {"1500 a=1", "1600 b=2", "2500 a=5"},
                 {kv(2000, "b", "2"), kv(3000, "a", "6")}});
    // In event time the first batch is the batch of the earliest record: a
    // tick before any record starts nothing.
    c.push_back({"leading_tick_starts_no_batch", "1s", "count", {"500", "2500 a"}, {val(3000, "1")}});
    // More keys in one batch than the table size (8192) from which adds are
    // prefetched and applied late: none is lost or counted twice, first and
    // last keep arrival order, and a long key (past the inline 12 bytes) too.
    {
        stream_case big{"many_keys_past_the_prefetched_table_size", "1s", "kv(\"=\") | reduceByKey(sum)", {}, {}};
        stream_case last{"many_keys_first_and_last", "1s", "kv(\"=\") | reduceByKey(last)", {}, {}};
        // Keys an operator made (in its scratch, not in the event): copied
        // while their adds wait, where keys in the event are not.
        stream_case made{"many_keys_made_by_an_operator", "1s", "map(upper) | kv(\"=\") | reduceByKey(sum)", {}, {}};
        std::vector<std::string> keys;
        for (int k = 0; k < 20000; k++) keys.push_back("k" + std::to_string(k) + (k % 1000 == 0 ? "-a-key-past-twelve-bytes" : ""));
        for (int round = 1; round <= 3; round++)
            for (const auto& k : keys) big.input.push_back(std::to_string(1000 + 100 * round) + " " + k + "=" + std::to_string(round));
        last.input = big.input;
        made.input = big.input;
        std::vector<std::string> upper_keys;
        for (const auto& k : keys) {
            std::string u = k;
            for (char& ch : u) ch = char(std::toupper(static_cast<unsigned char>(ch)));
            upper_keys.push_back(u);
        }
        std::sort(keys.begin(), keys.end());
        std::sort(upper_keys.begin(), upper_keys.end());
        for (const auto& k : keys) {
            big.expected.push_back(kv(2000, k, "6"));
            last.expected.push_back(kv(2000, k, "3"));
        }
        for (const auto& k : upper_keys) made.expected.push_back(kv(2000, k, "6"));
        c.push_back(std::move(big));
        c.push_back(std::move(last));
        c.push_back(std::move(made));
    }
    return c;
}

class StreamsCase : public ::testing::TestWithParam<stream_case> {};

TEST_P(StreamsCase, same_exact_output_on_1_2_and_4_shards) {
    const stream_case& c = GetParam();
    stream_spec spec;
    spec.batch = c.batch;
    spec.ops = c.ops;
    spec.input = c.raw_input.empty() ? input_text(c.input) : c.raw_input;
    spec.keys = c.keys;
    auto compiled = sluice::ops::compile_pipeline(c.ops, batch_ms_of(c.batch));
    ASSERT_TRUE(compiled) << c.ops << ": " << compiled.status().message();

    auto outcomes = run_variants({spec}, shard_variants);
    for (size_t v = 0; v < shard_variants.size(); v++) {
        const auto& r = outcomes[v];
        std::string what = c.name + " on " + variant_name(shard_variants[v]);
        expect_clean_exit(r, what);
        ASSERT_EQ(r.streams.size(), 1u);
        EXPECT_TRUE(r.streams[0].problems.empty()) << what << ":\n" << joined(r.streams[0].problems);
        EXPECT_EQ(r.streams[0].lines, c.expected) << what << "\nops: " << c.ops << "\nexpected:\n"
                                                  << joined(c.expected) << "actual:\n"
                                                  << joined(r.streams[0].lines);
        if (v > 0) {
            EXPECT_EQ(r.streams[0].lines, outcomes[0].streams[0].lines)
                << what << " differs from " << variant_name(shard_variants[0]);
        }
        std::string summary = r.summary(0);
        for (auto& want : c.summary_has)
            EXPECT_NE((summary + " ").find(want), std::string::npos) << what << ": '" << want << "' in\n" << summary;
    }
}

INSTANTIATE_TEST_SUITE_P(Streams, StreamsCase, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<stream_case>& i) { return i.param.name; });

// ------------------------------------------------------------------ headers

// The header_and_text form itself, once, literally.
TEST(StreamsHeaders, result_events_carry_stream_time_and_key_headers) {
    temp_dir dir;
    std::string in = dir.write("in.txt", "1500 b a b\n2500 a\n");
    std::string out = dir.mkdir("out");
    std::string cfg =
        "a1.sources = r1\n"
        "a1.channels = c1 c2\n"
        "a1.sinks = k1\n"
        "a1.streams = wc\n"
        "a1.sources.r1.type = replay\n"
        "a1.sources.r1.path = " + in + "\n"
        "a1.sources.r1.channels = c1\n"
        "a1.channels.c1.type = memory\n"
        "a1.channels.c2.type = memory\n"
        "a1.streams.wc.channel = c1\n"
        "a1.streams.wc.channels = c2\n"
        "a1.streams.wc.time = event\n"
        "a1.streams.wc.ops = flatMap(split(\" \")) | pair(1) | reduceByKey(sum)\n"
        "a1.sinks.k1.type = file_roll\n"
        "a1.sinks.k1.channel = c2\n"
        "a1.sinks.k1.sink.directory = " + out + "\n"
        "a1.sinks.k1.sink.rollInterval = 0\n"
        "a1.sinks.k1.sink.serializer = header_and_text\n";
    agent_process a;
    agent_options o;
    o.shards = 2;
    a.start(dir.path(), cfg, o);
    exit_result r = a.wait(seconds(60));
    ASSERT_TRUE(r.exited && r.code == 0) << describe(r);
    EXPECT_EQ(read_output_text(out),
              "{stream=wc, time=2000, key=a} a\t1\n"
              "{stream=wc, time=2000, key=b} b\t2\n"
              "{stream=wc, time=3000, key=a} a\t1\n");
    EXPECT_NE(r.err.find("STREAM.wc: "), std::string::npos) << r.err;
}

// ------------------------------------------------------------------ property test

struct random_case {
    reference::pipeline pipeline;
    std::vector<reference::event> input;
};

random_case make_random_case(std::mt19937& rng) {
    auto pick = [&](int n) { return int(std::uniform_int_distribution<int>(0, n - 1)(rng)); };
    random_case rc;
    auto& p = rc.pipeline;
    p.batch_ms = std::vector<int64_t>{500, 1000, 1000, 2000}[size_t(pick(4))];
    int stage = pick(10);
    static const std::vector<std::string> aggs = {"sum", "min", "max", "count", "avg", "first", "last"};
    static const std::vector<std::string> invertible = {"sum", "count", "avg"};
    if (stage == 0) {
        p.what = reference::pipeline::stage::count;
    } else if (stage == 1) {
        p.what = reference::pipeline::stage::count_by_value;
    } else if (stage <= 3) {
        p.what = reference::pipeline::stage::reduce_by_key;
        p.agg = aggs[size_t(pick(int(aggs.size())))];
    } else if (stage <= 7) {
        p.what = reference::pipeline::stage::window;
        p.slide_ms = p.batch_ms * (1 + pick(2));
        p.window_ms = p.slide_ms + p.batch_ms * pick(4);
        int mode = pick(3);  // naive, inverse, inverse + dropZero
        p.inverse = mode >= 1;
        p.drop_zero = mode == 2;
        p.agg = p.inverse ? invertible[size_t(pick(3))] : aggs[size_t(pick(int(aggs.size())))];
        if (!p.inverse && pick(4) == 0) p.window_ms = p.batch_ms;  // slide > window is allowed without inverse
    } else {
        p.what = reference::pipeline::stage::state;
        p.state_fn = std::vector<std::string>{"sum", "count", "max"}[size_t(pick(3))];
    }
    // kv (values -3..5) makes min/max/first/last/sums more telling than pair(1).
    p.kv = pick(3) != 0 && p.what != reference::pipeline::stage::count_by_value && p.what != reference::pipeline::stage::count;
    if (pick(3) == 0) p.contains = std::vector<std::string>{"a", "b", "="}[size_t(pick(p.kv ? 3 : 2))];

    // Small vocabularies, timestamps over ~10 batches with gaps.
    // 7 bytes and shorter: ShortKeySums for integer sums and counts; 8: KeyTable.
    static const std::vector<std::string> words = {"a", "b", "c", "ab", "ba", "dd", "e", "abcdefg", "bacdefgh"};
    const int64_t base = 1'700'000'000'000;
    std::vector<int> batches;
    for (int i = 0; i < 12; i++)
        if (pick(3) != 0) batches.push_back(i);
    if (batches.empty()) batches.push_back(0);
    int n = 3 + pick(30);
    for (int i = 0; i < n; i++) {
        std::string body;
        int tokens = 1 + pick(4);
        for (int k = 0; k < tokens; k++) {
            if (k) body += ' ';
            std::string w = words[size_t(pick(int(words.size())))];
            if (p.kv) {
                int r = pick(12);
                if (r == 0) w = "junk";        // no '=': dropped by kv
                else if (r == 1) w += "=x";    // not a number: dropped
                else w += "=" + std::to_string(pick(9) - 3);
            }
            body += w;
        }
        int64_t t = base + batches[size_t(pick(int(batches.size())))] * p.batch_ms + pick(int(p.batch_ms));
        rc.input.push_back({t, body});
    }
    std::stable_sort(rc.input.begin(), rc.input.end(), [](auto& a, auto& b) { return a.t < b.t; });
    return rc;
}

TEST(StreamsProperty, random_pipelines_match_the_reference_evaluator_on_1_and_3_shards) {
    std::mt19937 rng(20240611);
    const int n_cases = 36;
    std::vector<random_case> rcs;
    std::vector<stream_spec> specs;
    for (int i = 0; i < n_cases; i++) {
        rcs.push_back(make_random_case(rng));
        const auto& rc = rcs.back();
        stream_spec s;
        s.batch = reference::pipeline::dur(rc.pipeline.batch_ms);
        s.ops = rc.pipeline.ops();
        for (auto& e : rc.input) s.input += std::to_string(e.t) + " " + e.body + "\n";
        auto plan = sluice::ops::compile_pipeline(s.ops, rc.pipeline.batch_ms);
        ASSERT_TRUE(plan) << s.ops << ": " << plan.status().message();
        specs.push_back(std::move(s));
    }
    // One agent per shard count runs all the streams (no ticks: independent).
    auto outcomes = run_variants(specs, {{1, "io_uring"}, {3, "epoll"}});
    for (size_t v = 0; v < outcomes.size(); v++) {
        const auto& r = outcomes[v];
        expect_clean_exit(r, "property agent " + std::to_string(v));
        ASSERT_EQ(r.streams.size(), specs.size());
        for (size_t i = 0; i < specs.size(); i++) {
            auto want = reference::evaluate(rcs[i].pipeline, rcs[i].input);
            const auto& got = r.streams[i];
            EXPECT_TRUE(got.problems.empty()) << "stream s" << i << ":\n" << joined(got.problems);
            EXPECT_EQ(got.lines, want) << "case " << i << " (" << (v == 0 ? "1 shard" : "3 shards") << ")\nbatch "
                                       << specs[i].batch << ", ops: " << specs[i].ops << "\ninput:\n"
                                       << specs[i].input << "expected:\n"
                                       << joined(want) << "actual:\n"
                                       << joined(got.lines);
        }
    }
}

// ------------------------------------------------------------------ sluice check

class StreamsCheck : public ::testing::Test {
protected:
    std::string config(const std::string& batch, const std::string& ops) {
        return "a1.sources = r1\n"                              // 1
               "a1.channels = c1 c2\n"                          // 2
               "a1.sinks = k1\n"                                // 3
               "a1.streams = wc\n"                              // 4
               "a1.sources.r1.type = replay\n"                  // 5
               "a1.sources.r1.path = " + _dir.file("in.txt") + "\n"  // 6
               "a1.sources.r1.channels = c1\n"                  // 7
               "a1.channels.c1.type = memory\n"                 // 8
               "a1.channels.c2.type = memory\n"                 // 9
               "a1.streams.wc.channel = c1\n"                   // 10
               "a1.streams.wc.channels = c2\n"                  // 11
               "a1.streams.wc.batch = " + batch + "\n"          // 12
               "a1.streams.wc.ops = " + ops + "\n"              // 13
               "a1.sinks.k1.type = logger\n"                    // 14
               "a1.sinks.k1.channel = c2\n";                    // 15
    }
    exit_result check(const std::string& file) {
        return run_command({sluice_binary(), "check", "-n", "a1", "-f", file}, _dir.path(), {}, seconds(30));
    }
    static std::vector<std::string> nonempty_lines(const std::string& text) {
        std::vector<std::string> out;
        for (auto& l : split_lines(text))
            if (!l.empty()) out.push_back(l);
        return out;
    }
    temp_dir _dir;
};

TEST_F(StreamsCheck, a_good_pipeline_passes) {
    _dir.write("in.txt", "");
    std::string file = _dir.write("ok.properties", config("1s", "flatMap(split(\" \")) | pair(1) | reduceByKey(sum)"));
    exit_result r = check(file);
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 0) << describe(r);
}

TEST_F(StreamsCheck, parse_error_in_ops_names_file_line_key_and_column) {
    _dir.write("in.txt", "");
    std::string file = _dir.write("bad.properties", config("1s", "flatMap(split(\" \")) | pair(1)|reduceBykey(sum)"));
    exit_result r = check(file);
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 1) << describe(r);
    auto lines = nonempty_lines(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0], file + ":13: a1.streams.wc.ops: col 31: unknown operator 'reduceBykey' — did you mean 'reduceByKey'?")
        << r.err;
}

TEST_F(StreamsCheck, window_not_a_multiple_of_the_batch_is_an_error_on_the_ops_key) {
    _dir.write("in.txt", "");
    std::string file =
        _dir.write("win.properties", config("2s", "flatMap(split(\" \")) | pair(1) | reduceByKeyAndWindow(sum, 3s, 2s)"));
    exit_result r = check(file);
    ASSERT_TRUE(r.exited) << describe(r);
    EXPECT_EQ(r.code, 1) << describe(r);
    auto lines = nonempty_lines(r.err);
    ASSERT_EQ(lines.size(), 1u) << r.err;
    EXPECT_EQ(lines[0], file + ":13: a1.streams.wc.ops: col 59: window 3000ms is not a multiple of the batch interval 2000ms")
        << r.err;

    // The agent refuses it too.
    exit_result a = run_command({sluice_binary(), "agent", "-n", "a1", "-f", file, "--shards", "1"}, _dir.path(), {},
                                seconds(30));
    ASSERT_TRUE(a.exited) << describe(a);
    EXPECT_EQ(a.code, 1) << describe(a);
    EXPECT_NE(a.err.find("a1.streams.wc.ops: col 59: window 3000ms is not a multiple"), std::string::npos) << a.err;
}

}  // namespace
}  // namespace sluice_it
