// SPDX-License-Identifier: Apache-2.0
// Every configuration in conf/ runs, unchanged but for its input: the netcat
// source is swapped for a replay of a small file through -D overrides and the
// stream switched to event time, so the results are exact. The results are
// read back from the logger sink's lines, as a user would see them.
#include <gtest/gtest.h>

#include <regex>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

using std::chrono::seconds;

struct result {
    int64_t time;
    std::string key, text;  // text: the printable part of the logger's dump
    bool operator==(const result& o) const { return time == o.time && key == o.key && text == o.text; }
};

std::ostream& operator<<(std::ostream& os, const result& r) { return os << r.time << " " << r.key << " " << r.text; }

// Stream results from logger lines:
//   Event: { headers:{stream=s1, time=10000, key=a} body: 61 09 32 ...  a.2 }
std::vector<result> stream_results(const std::string& stderr_text, const std::string& stream) {
    std::vector<result> out;
    std::regex re("Event: \\{ headers:\\{stream=" + stream + ", time=(\\d+)(?:, key=([^}]*))?\\} body: .*  (\\S+) \\}$");
    for (auto& line : split_lines(stderr_text)) {
        std::smatch m;
        if (std::regex_search(line, m, re)) out.push_back({std::stoll(m[1]), m[2], m[3]});
    }
    return out;
}

class Examples : public ::testing::Test {
protected:
    exit_result run(const std::string& conf, const std::string& stream, const std::string& input,
                    std::vector<std::string> extra = {}) {
        std::string in = dir.write("input.txt", input);
        std::vector<std::string> args = {sluice_binary(), "agent", "-n", "a1", "-f", source_dir() + "/conf/" + conf,
                                         "--shards", "2", "-Da1.sources.r1.type=replay",
                                         "-Da1.sources.r1.path=" + in, "-Da1.streams." + stream + ".time=event"};
        args.insert(args.end(), extra.begin(), extra.end());
        auto r = run_command(args, dir.path(), {}, seconds(60));
        EXPECT_TRUE(r.exited) << describe(r);
        EXPECT_EQ(r.code, 0) << describe(r);
        return r;
    }
    temp_dir dir;
};

TEST_F(Examples, ExampleCountsWordsEverySecondAndLogsAndFilesTheLines) {
    std::string out = dir.mkdir("out");
    auto r = run("example.properties", "wc", "1000 hello world hello\n2500 world\n",
                 {"-Da1.sinks.k2.sink.directory=" + out});
    EXPECT_EQ(stream_results(r.err, "wc"), (std::vector<result>{{2000, "hello", "hello.2"},
                                                                 {2000, "world", "world.1"},
                                                                 {3000, "world", "world.1"}}));
    EXPECT_NE(r.err.find("hello world hell }"), std::string::npos) << r.err;  // k1: the first 16 bytes
    EXPECT_EQ(read_output_bodies(out), (std::vector<std::string>{"hello world hello", "world"}));
}

TEST_F(Examples, WordCountOverASlidingWindow) {
    // Windows of 30 s every 10 s; a tick at 41 s makes the windows up to 40 s due.
    auto r = run("wordcount-window.properties", "s1", "1000 a b a\n12000 b\n41000\n");
    EXPECT_EQ(stream_results(r.err, "s1"), (std::vector<result>{
                                               {10000, "a", "a.2"}, {10000, "b", "b.1"},  // (-20 s, 10 s]
                                               {20000, "a", "a.2"}, {20000, "b", "b.2"},
                                               {30000, "a", "a.2"}, {30000, "b", "b.2"},
                                               {40000, "b", "b.1"},  // a left the window: dropZero
                                           }));
}

TEST_F(Examples, AverageOfAFieldPerKeyOverAWindow) {
    auto r = run("average-window.properties", "s1", "1000 s1,10\n2000 s1,20\n3000 s2,5.5\n10500\n");
    EXPECT_EQ(stream_results(r.err, "s1"), (std::vector<result>{{10000, "s1", "s1.15"}, {10000, "s2", "s2.5.5"}}));
}

TEST_F(Examples, ExponentialSmoothingPerKey) {
    // Batch 2 s: S = 10, then 0.5*10 + 0.5*20 = 15; batch 3 s: 0.5*15 + 0.5*40 = 27.5.
    auto r = run("ewma.properties", "s1", "1000 k,10\n1500 k,20\n2500 k,40\n");
    EXPECT_EQ(stream_results(r.err, "s1"), (std::vector<result>{{2000, "k", "k.15"}, {3000, "k", "k.27.5"}}));
}

TEST_F(Examples, TopWordsOfAWindow) {
    std::string input = "1000 x y y z z z w w w w\n";
    for (int i = 0; i < 11; i++) input += "2000 t" + std::to_string(i) + "\n";
    input += "10500\n";  // a tick: the window ending at 10 s is due
    auto r = run("top-words.properties", "s1", input);
    auto got = stream_results(r.err, "s1");
    ASSERT_EQ(got.size(), 10u) << ::testing::PrintToString(got);
    EXPECT_EQ(got[0], (result{10000, "w", "w.4"}));
    EXPECT_EQ(got[1], (result{10000, "z", "z.3"}));
    EXPECT_EQ(got[2], (result{10000, "y", "y.2"}));
    // Ties by key: t0, t1, t10, t2, ... then x.
    EXPECT_EQ(got[3], (result{10000, "t0", "t0.1"}));
    EXPECT_EQ(got[4], (result{10000, "t1", "t1.1"}));
    EXPECT_EQ(got[5], (result{10000, "t10", "t10.1"}));
    EXPECT_EQ(got[9], (result{10000, "t5", "t5.1"}));  // x (1) loses the tie to t*
}

}  // namespace
}  // namespace sluice_it
