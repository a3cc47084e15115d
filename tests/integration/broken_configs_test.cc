// SPDX-License-Identifier: Apache-2.0
// The broken-configuration corpus (tests/integration/broken-configs/): every
// file there is refused by `sluice check` and by `sluice agent` with exit 1,
// and stderr holds each line of its .expect sidecar after the file's path,
// so every problem is reported as `FILE:LINE: KEY: message`.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

namespace fs = std::filesystem;

std::string corpus_dir() { return source_dir() + "/tests/integration/broken-configs"; }

// The corpus: the stems of every .properties file (each must have a .expect).
std::vector<std::string> corpus() {
    std::vector<std::string> out;
    for (const auto& name : list_files(corpus_dir()))
        if (fs::path(name).extension() == ".properties") out.push_back(fs::path(name).stem().string());
    return out;
}

class broken_config_test : public ::testing::TestWithParam<std::string> {
protected:
    exit_result run(const std::string& command, const std::string& file) {
        std::vector<std::string> args = {sluice_binary(), command, "-n", "a1", "-f", file};
        if (command == "agent") args.insert(args.end(), {"--shards", "1"});
        // The corpus's ${env:...} reference must stay unset.
        return run_command(args, _dir.path(), {{"SLUICE_BROKEN_CONFIG_UNSET", std::nullopt}}, seconds(20));
    }
    temp_dir _dir;
};

TEST_P(broken_config_test, refused_with_file_line_and_key) {
    const std::string file = corpus_dir() + "/" + GetParam() + ".properties";
    const std::string expect_path = corpus_dir() + "/" + GetParam() + ".expect";
    ASSERT_TRUE(fs::exists(expect_path)) << "every broken config needs its .expect: " << expect_path;
    std::vector<std::string> expected;
    for (auto& l : split_lines(read_file(expect_path)))
        if (!l.empty()) expected.push_back(l);
    ASSERT_FALSE(expected.empty()) << expect_path << " is empty";
    // Each expectation itself names a line and a key.
    const std::regex shape("^[1-9][0-9]*: [A-Za-z0-9_.-]+: .+$");
    for (const auto& e : expected) EXPECT_TRUE(std::regex_match(e, shape)) << expect_path << ": '" << e << "'";

    for (const char* command : {"check", "agent"}) {
        exit_result r = run(command, file);
        EXPECT_TRUE(r.exited) << "sluice " << command << " did not exit: " << describe(r);
        EXPECT_EQ(r.code, 1) << "sluice " << command << " " << GetParam() << ": " << describe(r);
        for (const auto& e : expected)
            EXPECT_NE(r.err.find(file + ":" + e), std::string::npos)
                << "sluice " << command << ": stderr lacks '" << file << ":" << e << "':\n"
                << r.err;
    }
}

INSTANTIATE_TEST_SUITE_P(corpus, broken_config_test, ::testing::ValuesIn(corpus()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(broken_configs, corpus_is_large_enough) { EXPECT_GE(corpus().size(), 15u); }

// A file that cannot be read has no line or key: the message names the file
// and the reason (exit 1 from both commands).
TEST(broken_configs, unreadable_or_missing_file_is_named) {
    temp_dir dir;
    struct bad_file {
        std::string path, message;
    };
    std::vector<bad_file> cases = {
        {dir.mkdir("a-directory.properties"), "cannot read configuration file: Is a directory"},
        {dir.file("missing.properties"), "The specified configuration file does not exist: " + dir.file("missing.properties")},
    };
    if (::geteuid() != 0) {
        // Root reads a mode-000 file anyway; everyone else cannot.
        std::string p = dir.write("mode-000.properties", "a1.sources = r1\n");
        ::chmod(p.c_str(), 0);
        cases.push_back({p, "cannot read configuration file: Permission denied"});
    }
    for (const auto& c : cases) {
        for (const char* command : {"check", "agent"}) {
            exit_result r = run_command({sluice_binary(), command, "-n", "a1", "-f", c.path}, dir.path(), {}, seconds(20));
            EXPECT_TRUE(r.exited && r.code == 1) << command << " " << c.path << ": " << describe(r);
            EXPECT_NE(r.err.find(c.path + ": " + c.message), std::string::npos) << command << ": " << r.err;
        }
    }
}

}  // namespace
}  // namespace sluice_it
