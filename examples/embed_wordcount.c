/* SPDX-License-Identifier: Apache-2.0 */
/*
 * embed_wordcount: word counts over a 10 s window sliding every 2 s, from
 * lines read on standard input, printed by a callback as `time word count`.
 *
 * Build against an installed sluice:
 *   cc embed_wordcount.c $(pkg-config --cflags --libs sluice) -o embed_wordcount
 * Run:
 *   printf 'to be or not to be\n' | ./embed_wordcount
 *
 * Lines are stamped with the wall clock (processing time). At end of input
 * the agent is stopped: the stream emits the windows that end by the end of
 * the current batch, the sink drains, and the program exits.
 */
#include <sluice.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* config =
    "a1.sources = in\n"
    "a1.channels = lines counts\n"
    "a1.sinks = out\n"
    "a1.streams = wc\n"
    "a1.sources.in.type = embedded\n"
    "a1.sources.in.channels = lines\n"
    "a1.channels.lines.type = memory\n"
    "a1.channels.lines.capacity = 100000\n"
    "a1.channels.lines.transactionCapacity = 1000\n"
    "a1.channels.counts.type = memory\n"
    "a1.channels.counts.capacity = 100000\n"
    "a1.channels.counts.transactionCapacity = 1000\n"
    "a1.streams.wc.channel = lines\n"
    "a1.streams.wc.channels = counts\n"
    "a1.streams.wc.batch = 1s\n"
    "a1.streams.wc.ops = flatMap(split(\" \")) | pair(1) | reduceByKeyAndWindow(sum, 10s, 2s)\n"
    "a1.sinks.out.type = callback\n"
    "a1.sinks.out.channel = counts\n";

/* Results are `word<TAB>count` bodies with a `time` header (the window's end). */
static int print_result(void* user, const sluice_event* ev) {
    const char* time = "?";
    size_t time_len = 1;
    size_t i;
    (void)user;
    for (i = 0; i < ev->header_count; i++)
        if (ev->headers[i].key_len == 4 && memcmp(ev->headers[i].key, "time", 4) == 0) {
            time = ev->headers[i].value;
            time_len = ev->headers[i].value_len;
        }
    printf("%.*s %.*s\n", (int)time_len, time, (int)ev->body_len, (const char*)ev->body);
    return 0;
}

static int check(sluice_agent* agent, int rc, const char* what) {
    if (rc != SLUICE_OK) {
        fprintf(stderr, "embed_wordcount: %s: %s: %s\n", what, sluice_errstr(rc), sluice_agent_errmsg(agent));
        return 0;
    }
    return 1;
}

int main(void) {
    sluice_agent* agent = NULL;
    char line[65536];
    int ok;
    if (sluice_agent_new(&agent) != SLUICE_OK) return 1;
    ok = check(agent, sluice_agent_configure(agent, "a1", config), "configure") &&
         check(agent, sluice_agent_set_sink_callback(agent, "out", print_result, NULL), "set_sink_callback") &&
         check(agent, sluice_agent_set_property(agent, "shards", "1"), "set_property") &&
         check(agent, sluice_agent_start(agent), "start");
    while (ok && fgets(line, sizeof(line), stdin)) {
        sluice_event ev;
        size_t len = strlen(line);
        if (len > 0 && line[len - 1] == '\n') len--;
        memset(&ev, 0, sizeof(ev));
        ev.body = line;
        ev.body_len = len;
        ok = check(agent, sluice_agent_push(agent, "in", &ev), "push");
    }
    ok = check(agent, sluice_agent_stop(agent), "stop") && ok;
    fflush(stdout);
    sluice_agent_close(&agent);
    return ok ? 0 : 1;
}
