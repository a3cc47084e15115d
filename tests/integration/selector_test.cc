// SPDX-License-Identifier: Apache-2.0
// The replicating selector: every event goes to every channel of the source;
// a full or failing optional channel (selector.optional) is ignored, a full
// required one fails the event (Flume's ChannelProcessor).
#include <gtest/gtest.h>

#include "tests/integration/harness.h"

namespace sluice_it {
namespace {

using std::chrono::seconds;

std::string config(int port, const std::string& out, bool c2_optional) {
    // c2 holds one event and its sink can never write (its directory is
    // under a regular file), so c2 is full after the first event.
    return "a1.sources = r1\na1.channels = c1 c2\na1.sinks = k1 k2\n"
           "a1.sources.r1.type = netcat\na1.sources.r1.bind = 127.0.0.1\na1.sources.r1.port = " +
           std::to_string(port) +
           "\na1.sources.r1.channels = c1 c2\n" + (c2_optional ? "a1.sources.r1.selector.optional = c2\n" : "") +
           "a1.channels.c1.type = memory\n"
           "a1.channels.c2.type = memory\na1.channels.c2.capacity = 1\na1.channels.c2.transactionCapacity = 1\n"
           "a1.channels.c2.keep-alive = 1\n"
           "a1.sinks.k1.type = file_roll\na1.sinks.k1.channel = c1\na1.sinks.k1.sink.rollInterval = 0\n"
           "a1.sinks.k1.sink.batchSize = 1\na1.sinks.k1.sink.directory = " + out + "\n"
           "a1.sinks.k2.type = file_roll\na1.sinks.k2.channel = c2\na1.sinks.k2.sink.batchSize = 1\n"
           "a1.sinks.k2.sink.directory = " + out + "/blocker/sub\n";
}

TEST(Selector, FullOptionalChannelIsIgnored) {
    temp_dir dir;
    std::string out = dir.mkdir("out");
    write_file(out + "/blocker", "a regular file, so k2 cannot create its directory");
    int port = free_port();
    agent_process agent;
    agent.start(dir.path(), config(port, out, true), {});
    ASSERT_TRUE(agent.wait_port(port)) << agent.stderr_text();
    tcp_client c(port);
    ASSERT_TRUE(c.send_all("one\ntwo\nthree\n"));
    EXPECT_EQ(c.read_exact(9), "OK\nOK\nOK\n");
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) == 3; }, seconds(10)));
    EXPECT_EQ(read_output_bodies(out), (std::vector<std::string>{"one", "two", "three"}));
    agent.kill_now();
}

TEST(Selector, FullRequiredChannelFailsTheEvent) {
    temp_dir dir;
    std::string out = dir.mkdir("out");
    write_file(out + "/blocker", "a regular file, so k2 cannot create its directory");
    int port = free_port();
    agent_process agent;
    agent.start(dir.path(), config(port, out, false), {});
    ASSERT_TRUE(agent.wait_port(port)) << agent.stderr_text();
    tcp_client c(port);
    ASSERT_TRUE(c.send_all("one\ntwo\n"));
    std::string want = "OK\nFAILED: Space for commit to queue couldn't be acquired. Sinks are likely not keeping up "
                       "with sources, or the buffer size is too tight\n";
    EXPECT_EQ(c.read_exact(want.size(), seconds(20)), want);
    // Flume commits to the required channels one after another: c1 took "two"
    // before c2 failed, so it is delivered (at-least-once, as in Flume).
    ASSERT_TRUE(poll_until([&] { return count_output_lines(out) == 2; }, seconds(10)));
    agent.kill_now();
}

}  // namespace
}  // namespace sluice_it
