/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sluice-capi-push: how fast one thread can push events through the C API.
 *
 *   sluice-capi-push [--events N] [--batch B] [--shards S] [--io auto|epoll|io_uring]
 *
 * One pushing thread calls sluice_agent_push_batch with B events of 100 bytes
 * (default 1000) until N events (default 20 000 000) are committed, into
 * embedded source -> memory channel (capacity 1000000, transactionCapacity
 * 10000) -> callback sink (batchSize 10000) whose callback counts events.
 * Then sluice_agent_stop drains the channel.
 *
 * Prints one line on stdout:
 *   events=N batch=B shards=S push_seconds=F events_per_s=F e2e_seconds=F
 *   e2e_events_per_s=F cpu_seconds=F cpu_ns_per_event=F
 * events_per_s: N over the wall time of the pushes (first call to the return
 * of the last one); e2e adds sluice_agent_stop (the sink drains what is left).
 * CPU: user+system of the whole process (pushing thread and shards) from the
 * first push to the return of stop, from getrusage(RUSAGE_SELF).
 * Exit 0, or 1 if a call failed or the sink did not count exactly N events.
 */
#define _POSIX_C_SOURCE 200809L

#include <sluice.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

enum { BODY_BYTES = 100 };

static atomic_ullong g_count;

static int count_cb(void* user, const sluice_event* ev) {
    (void)user;
    (void)ev;
    atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed);
    return 0;
}

static double wall_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
}

static int usage(const char* argv0) {
    fprintf(stderr, "usage: %s [--events N] [--batch B] [--shards S] [--io auto|epoll|io_uring]\n", argv0);
    return 2;
}

static int parse_count(const char* s, unsigned long long* out) {
    char* end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *end || v == 0) return 0;
    *out = v;
    return 1;
}

static int check(sluice_agent* agent, int rc, const char* what) {
    if (rc != SLUICE_OK) {
        fprintf(stderr, "sluice-capi-push: %s: %s: %s\n", what, sluice_errstr(rc), sluice_agent_errmsg(agent));
        return 0;
    }
    return 1;
}

static const char* config =
    "a1.sources = in\n"
    "a1.channels = c1\n"
    "a1.sinks = k\n"
    "a1.sources.in.type = embedded\n"
    "a1.sources.in.channels = c1\n"
    "a1.channels.c1.type = memory\n"
    "a1.channels.c1.capacity = 1000000\n"
    "a1.channels.c1.transactionCapacity = 10000\n"
    "a1.sinks.k.type = callback\n"
    "a1.sinks.k.channel = c1\n"
    "a1.sinks.k.batchSize = 10000\n";

int main(int argc, char** argv) {
    unsigned long long events = 20000000ULL, batch = 1000, shards = 1, pushed = 0;
    const char* io = "auto";
    char shards_text[32];
    sluice_agent* agent = NULL;
    sluice_event* evs;
    char* bodies;
    double w0, w1, w2, c0, c2;
    unsigned long long i, got;
    int ok;

    for (i = 1; i < (unsigned long long)argc; i++) {
        if (i + 1 < (unsigned long long)argc && strcmp(argv[i], "--events") == 0) {
            if (!parse_count(argv[++i], &events)) return usage(argv[0]);
        } else if (i + 1 < (unsigned long long)argc && strcmp(argv[i], "--batch") == 0) {
            if (!parse_count(argv[++i], &batch)) return usage(argv[0]);
        } else if (i + 1 < (unsigned long long)argc && strcmp(argv[i], "--shards") == 0) {
            if (!parse_count(argv[++i], &shards)) return usage(argv[0]);
        } else if (i + 1 < (unsigned long long)argc && strcmp(argv[i], "--io") == 0) {
            io = argv[++i];
        } else {
            return usage(argv[0]);
        }
    }

    /* B distinct 100-byte bodies, pushed again and again (sluice copies them). */
    evs = calloc(batch, sizeof(*evs));
    bodies = malloc(batch * BODY_BYTES);
    if (!evs || !bodies) {
        fprintf(stderr, "sluice-capi-push: out of memory\n");
        return 1;
    }
    for (i = 0; i < batch; i++) {
        char* b = bodies + i * BODY_BYTES;
        memset(b, 'x', BODY_BYTES);
        snprintf(b, BODY_BYTES, "event %llu ", i);
        b[strlen(b)] = 'x';
        evs[i].body = b;
        evs[i].body_len = BODY_BYTES;
    }

    snprintf(shards_text, sizeof(shards_text), "%llu", shards);
    if (!check(NULL, sluice_agent_new(&agent), "new")) return 1;
    ok = check(agent, sluice_agent_configure(agent, "a1", config), "configure") &&
         check(agent, sluice_agent_set_property(agent, "shards", shards_text), "set_property shards") &&
         check(agent, sluice_agent_set_property(agent, "sluice.io", io), "set_property sluice.io") &&
         check(agent, sluice_agent_set_sink_callback(agent, "k", count_cb, NULL), "set_sink_callback") &&
         check(agent, sluice_agent_start(agent), "start");
    if (!ok) {
        sluice_agent_close(&agent);
        return 1;
    }

    c0 = cpu_s();
    w0 = wall_s();
    while (ok && pushed < events) {
        size_t n = (size_t)(events - pushed < batch ? events - pushed : batch);
        size_t accepted = 0;
        ok = check(agent, sluice_agent_push_batch(agent, "in", evs, n, &accepted), "push_batch");
        pushed += accepted;
    }
    w1 = wall_s();
    ok = check(agent, sluice_agent_stop(agent), "stop") && ok;
    w2 = wall_s();
    c2 = cpu_s();
    got = atomic_load(&g_count);
    sluice_agent_close(&agent);

    printf("events=%llu batch=%llu shards=%llu push_seconds=%.3f events_per_s=%.0f e2e_seconds=%.3f "
           "e2e_events_per_s=%.0f cpu_seconds=%.3f cpu_ns_per_event=%.1f\n",
           pushed, batch, shards, w1 - w0, (double)pushed / (w1 - w0), w2 - w0, (double)pushed / (w2 - w0),
           c2 - c0, (c2 - c0) * 1e9 / (double)pushed);
    free(evs);
    free(bodies);
    if (!ok || pushed != events || got != events) {
        fprintf(stderr, "sluice-capi-push: pushed %llu, sink counted %llu, expected %llu\n", pushed, got, events);
        return 1;
    }
    return 0;
}
