/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capi_pusher_test: 4 threads push 50 000 events each (push_batch of 100,
 * single push and try_push mixed) into one agent with 2 shards, while a fifth
 * thread reads sluice_agent_metrics_json; a callback sink counts with atomics
 * and marks every (thread, seq) in a bitmap. After stop: exactly 200 000
 * events, each once. Meant to be clean under ThreadSanitizer and ASan.
 */
#define _POSIX_C_SOURCE 200809L

#include <sluice.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int g_passed, g_failed;

static void finish(void) {
    printf("capi_pusher_test: %d passed, %d failed\n", g_passed, g_failed);
    fflush(stdout);
}

#define CHECK(expr)                                                                \
    do {                                                                           \
        if (expr) {                                                                \
            g_passed++;                                                            \
        } else {                                                                   \
            g_failed++;                                                            \
            fflush(stdout);                                                        \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
            finish();                                                              \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

enum { THREADS = 4, PER_THREAD = 50000, BATCH = 100 };

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
    "a1.sinks.k.batchSize = 1000\n";

static atomic_long g_count;          /* events the sink accepted */
static atomic_long g_malformed;      /* bodies that are not ours */
static atomic_long g_duplicates;     /* (thread, seq) seen more than once */
static atomic_uchar g_seen[THREADS][PER_THREAD];
static atomic_long g_push_errors;    /* failed push calls, all threads */
static atomic_int g_pushers_done;
static atomic_long g_metrics_reads;
static atomic_long g_metrics_errors;
static sluice_agent* g_agent;

/* Body: "p" thread(1 byte) seq(4 bytes, little endian) and padding to 16 bytes. */
static void make_body(unsigned char* b, unsigned thread, uint32_t seq) {
    memset(b, '.', 16);
    b[0] = 'p';
    b[1] = (unsigned char)thread;
    b[2] = (unsigned char)(seq & 0xff);
    b[3] = (unsigned char)((seq >> 8) & 0xff);
    b[4] = (unsigned char)((seq >> 16) & 0xff);
    b[5] = (unsigned char)((seq >> 24) & 0xff);
}

static int sink_cb(void* user, const sluice_event* ev) {
    const unsigned char* b = ev->body;
    unsigned thread;
    uint32_t seq;
    (void)user;
    if (ev->body_len != 16 || b[0] != 'p') {
        atomic_fetch_add(&g_malformed, 1);
        return 0;
    }
    thread = b[1];
    seq = (uint32_t)b[2] | ((uint32_t)b[3] << 8) | ((uint32_t)b[4] << 16) | ((uint32_t)b[5] << 24);
    if (thread >= THREADS || seq >= PER_THREAD) {
        atomic_fetch_add(&g_malformed, 1);
        return 0;
    }
    if (atomic_fetch_add(&g_seen[thread][seq], 1) != 0) atomic_fetch_add(&g_duplicates, 1);
    atomic_fetch_add(&g_count, 1);
    return 0;
}

static void* pusher(void* arg) {
    unsigned thread = (unsigned)(uintptr_t)arg;
    static _Thread_local unsigned char bodies[BATCH][16];
    sluice_event evs[BATCH];
    uint32_t seq = 0;
    unsigned round = 0;
    int i;
    memset(evs, 0, sizeof(evs));
    for (i = 0; i < BATCH; i++) {
        evs[i].body = bodies[i];
        evs[i].body_len = 16;
    }
    while (seq < PER_THREAD) {
        /* Of every 10 rounds of 100 events: 9 batches, then 100 single calls
         * (push and try_push alternating; a full channel falls back to push). */
        if (round++ % 10 != 9) {
            size_t accepted = 0;
            for (i = 0; i < BATCH; i++) make_body(bodies[i], thread, seq + (uint32_t)i);
            if (sluice_agent_push_batch(g_agent, "in", evs, BATCH, &accepted) != SLUICE_OK || accepted != BATCH)
                atomic_fetch_add(&g_push_errors, 1);
            seq += BATCH;
        } else {
            for (i = 0; i < BATCH; i++, seq++) {
                int rc;
                make_body(bodies[0], thread, seq);
                if (i % 2) {
                    rc = sluice_agent_try_push(g_agent, "in", &evs[0]);
                    if (rc == SLUICE_ERR_FULL) rc = sluice_agent_push(g_agent, "in", &evs[0]);
                } else {
                    rc = sluice_agent_push(g_agent, "in", &evs[0]);
                }
                if (rc != SLUICE_OK) atomic_fetch_add(&g_push_errors, 1);
            }
        }
    }
    return NULL;
}

static void* metrics_reader(void* arg) {
    struct timespec ts = {0, 2000000};
    (void)arg;
    while (!atomic_load(&g_pushers_done)) {
        char* json = NULL;
        if (sluice_agent_metrics_json(g_agent, &json) != SLUICE_OK || !json || !strstr(json, "\"SINK.k\""))
            atomic_fetch_add(&g_metrics_errors, 1);
        sluice_free(json);
        atomic_fetch_add(&g_metrics_reads, 1);
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static long metric(const char* json, const char* grp, const char* key) {
    char pat[160];
    const char *g, *end, *k;
    snprintf(pat, sizeof(pat), "\"%s\":{", grp);
    g = strstr(json, pat);
    if (!g) return -1;
    end = strchr(g + strlen(pat), '}');
    snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    k = strstr(g, pat);
    if (!k || (end && k > end)) return -1;
    return atol(k + strlen(pat));
}

int main(void) {
    pthread_t threads[THREADS], reader;
    struct timespec t0, t1;
    unsigned t;
    long missing = 0;
    char* json = NULL;
    int i;

    CHECK(sluice_agent_new(&g_agent) == SLUICE_OK);
    CHECK(sluice_agent_configure(g_agent, "a1", config) == SLUICE_OK);
    CHECK(sluice_agent_set_property(g_agent, "shards", "2") == SLUICE_OK);
    CHECK(sluice_agent_set_sink_callback(g_agent, "k", sink_cb, NULL) == SLUICE_OK);
    CHECK(sluice_agent_start(g_agent) == SLUICE_OK);
    printf("started: 2 shards, %d pushing threads x %d events\n", THREADS, PER_THREAD);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK(pthread_create(&reader, NULL, metrics_reader, NULL) == 0);
    for (t = 0; t < THREADS; t++) CHECK(pthread_create(&threads[t], NULL, pusher, (void*)(uintptr_t)t) == 0);
    for (t = 0; t < THREADS; t++) CHECK(pthread_join(threads[t], NULL) == 0);
    atomic_store(&g_pushers_done, 1);
    CHECK(pthread_join(reader, NULL) == 0);
    CHECK(atomic_load(&g_push_errors) == 0);
    CHECK(atomic_load(&g_metrics_errors) == 0);
    printf("pushed: %d events, %ld concurrent metrics_json reads\n", THREADS * PER_THREAD,
           atomic_load(&g_metrics_reads));

    CHECK(sluice_agent_stop(g_agent) == SLUICE_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK(atomic_load(&g_count) == (long)THREADS * PER_THREAD);
    CHECK(atomic_load(&g_malformed) == 0);
    CHECK(atomic_load(&g_duplicates) == 0);
    for (t = 0; t < THREADS; t++)
        for (i = 0; i < PER_THREAD; i++)
            if (atomic_load(&g_seen[t][i]) != 1) missing++;
    CHECK(missing == 0);
    printf("delivered: %ld events, each (thread, seq) once, in %.2f s\n", atomic_load(&g_count),
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);

    CHECK(sluice_agent_metrics_json(g_agent, &json) == SLUICE_OK);
    CHECK(metric(json, "SOURCE.in", "EventAcceptedCount") == (long)THREADS * PER_THREAD);
    CHECK(metric(json, "SINK.k", "EventDrainSuccessCount") == (long)THREADS * PER_THREAD);
    CHECK(metric(json, "SINK.k", "EventWriteFail") == 0);
    sluice_free(json);
    printf("counters: SOURCE.in EventAcceptedCount and SINK.k EventDrainSuccessCount = %d\n", THREADS * PER_THREAD);

    sluice_agent_close(&g_agent);
    CHECK(g_agent == NULL);
    finish();
    return 0;
}
