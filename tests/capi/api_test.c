/* SPDX-License-Identifier: Apache-2.0 */
/*
 * capi_api_test: every entry point of include/sluice.h, its success path and
 * its error paths, in plain C. Prints one line per check group and a final
 * `capi_api_test: N passed, M failed`; stops at the first failed check
 * (file:line and the expression on stderr) with exit status 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <sluice.h>

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* ------------------------------------------------------------------ checks */

static int g_passed, g_failed;
static int g_group_checks;

static void finish(void) {
    printf("capi_api_test: %d passed, %d failed\n", g_passed, g_failed);
    fflush(stdout);
}

static void failed(const char* file, int line, const char* expr) {
    g_failed++;
    fflush(stdout);
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", file, line, expr);
    finish();
    exit(1);
}

#define CHECK(expr)                                                    \
    do {                                                               \
        if (expr) {                                                    \
            g_passed++;                                                \
            g_group_checks++;                                          \
        } else {                                                       \
            failed(__FILE__, __LINE__, #expr);                         \
        }                                                              \
    } while (0)

/* A call that must return `want`; on a mismatch also prints what it returned
 * and the handle's errmsg. */
#define CHECK_RC(agent, call, want)                                                                        \
    do {                                                                                                   \
        int rc_ = (call);                                                                                  \
        if (rc_ != (want)) {                                                                               \
            fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s); errmsg: %s\n", __FILE__, __LINE__, \
                    #call, rc_, sluice_errstr(rc_), (int)(want), sluice_errstr(want),                      \
                    (agent) ? sluice_agent_errmsg(agent) : "-");                                           \
        }                                                                                                  \
        CHECK(rc_ == (want));                                                                              \
    } while (0)

static void group(const char* name) {
    printf("%-44s %d checks\n", name, g_group_checks);
    fflush(stdout);
    g_group_checks = 0;
}

/* ------------------------------------------------------------------ helpers */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

/* Polls until *v >= target or timeout; returns the last value seen. */
static long wait_for(atomic_long* v, long target, double timeout_s) {
    double deadline = now_s() + timeout_s;
    long x;
    while ((x = atomic_load(v)) < target && now_s() < deadline) sleep_ms(2);
    return x;
}

static int contains(const char* hay, const char* needle) { return hay && strstr(hay, needle) != NULL; }

/* Some line of `text` starts with `prefix`. */
static int has_line_starting(const char* text, const char* prefix) {
    size_t n = strlen(prefix);
    const char* p = text;
    while (p && *p) {
        if (strncmp(p, prefix, n) == 0) return 1;
        p = strchr(p, '\n');
        if (p) p++;
    }
    return 0;
}

static sluice_event body_event(const char* body) {
    sluice_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.body = body;
    ev.body_len = strlen(body);
    return ev;
}

/* A counter of the metrics JSON, e.g. metric(json, "SINK.k", "EventWriteFail");
 * -1 if absent. Values are strings: {"SINK.k":{"EventWriteFail":"1",...},...}. */
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

/* The usual small topology: embedded source `in` -> memory `c1` -> callback `k`. */
#define BASIC_CONFIG(channel_extra, sink_extra)          \
    "a1.sources = in\n"                                  \
    "a1.channels = c1\n"                                 \
    "a1.sinks = k\n"                                     \
    "a1.sources.in.type = embedded\n"                    \
    "a1.sources.in.channels = c1\n"                      \
    "a1.channels.c1.type = memory\n" channel_extra        \
    "a1.sinks.k.type = callback\n"                       \
    "a1.sinks.k.channel = c1\n" sink_extra

#define BIG_CHANNEL                        \
    "a1.channels.c1.capacity = 100000\n" \
    "a1.channels.c1.transactionCapacity = 1000\n"
#define SIMPLE_CONFIG BASIC_CONFIG(BIG_CHANNEL, "")

/* new + configure + shards + epoll + callback for `k` + start. */
static sluice_agent* start_agent(const char* config, const char* shards, sluice_sink_fn fn, void* user) {
    sluice_agent* a = NULL;
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK(a != NULL);
    CHECK_RC(a, sluice_agent_configure(a, "a1", config), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", shards), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.io", "epoll"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", fn, user), SLUICE_OK);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_OK);
    return a;
}

/* Bodies "e<n>": which n were delivered, how many times. */
#define SEEN_MAX 20000
typedef struct {
    atomic_long calls;     /* callback invocations */
    atomic_long accepted;  /* invocations that returned 0 */
    atomic_long distinct;  /* distinct n accepted */
    atomic_long fail_first; /* fail while calls <= fail_first */
    atomic_int failing;    /* fail every call while set */
    atomic_long bad;       /* bodies that are not e<n> */
    atomic_uchar seen[SEEN_MAX];
} recorder;

static void recorder_init(recorder* r) {
    int i;
    atomic_init(&r->calls, 0);
    atomic_init(&r->accepted, 0);
    atomic_init(&r->distinct, 0);
    atomic_init(&r->fail_first, 0);
    atomic_init(&r->failing, 0);
    atomic_init(&r->bad, 0);
    for (i = 0; i < SEEN_MAX; i++) atomic_init(&r->seen[i], 0);
}

static int record_cb(void* user, const sluice_event* ev) {
    recorder* r = user;
    long call = atomic_fetch_add(&r->calls, 1) + 1;
    char buf[32];
    long n;
    if (call <= atomic_load(&r->fail_first) || atomic_load(&r->failing)) return 1;
    atomic_fetch_add(&r->accepted, 1);
    if (ev->body_len < 2 || ev->body_len >= sizeof(buf) || ((const char*)ev->body)[0] != 'e') {
        atomic_fetch_add(&r->bad, 1);
        return 0;
    }
    memcpy(buf, (const char*)ev->body + 1, ev->body_len - 1);
    buf[ev->body_len - 1] = 0;
    n = atol(buf);
    if (n < 0 || n >= SEEN_MAX) {
        atomic_fetch_add(&r->bad, 1);
        return 0;
    }
    if (atomic_fetch_add(&r->seen[n], 1) == 0) atomic_fetch_add(&r->distinct, 1);
    return 0;
}

static int accept_cb(void* user, const sluice_event* ev) {
    (void)ev;
    atomic_fetch_add((atomic_long*)user, 1);
    return 0;
}

static int dummy_map(void* user, const char* in, size_t in_len, char* out, size_t out_cap, size_t* out_len) {
    (void)user;
    if (in_len > out_cap) in_len = out_cap;
    memcpy(out, in, in_len);
    *out_len = in_len;
    return 1;
}

static int dummy_filter(void* user, const char* in, size_t in_len) {
    (void)user;
    (void)in;
    return in_len > 0;
}

/* ------------------------------------------------------------------ 1. version */

static void test_version(void) {
    int codes[] = {SLUICE_OK,         SLUICE_ERR_INVALID_ARGUMENT, SLUICE_ERR_CONFIG,
                   SLUICE_ERR_NOT_FOUND, SLUICE_ERR_FULL,          SLUICE_ERR_STATE,
                   SLUICE_ERR_WRONG_THREAD, SLUICE_ERR_IO,         SLUICE_ERR_INTERNAL};
    const char* unknown = sluice_errstr(9);
    size_t i, j;
    CHECK(sluice_version() != NULL);
    CHECK(strcmp(sluice_version(), SLUICE_VERSION_STRING) == 0);
    CHECK(SLUICE_VERSION_NUMBER == 0x000100);
    CHECK(SLUICE_OK == 0);
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) CHECK((int)i == codes[i]); /* 0..8, stable ABI */
    CHECK(strcmp(sluice_errstr(SLUICE_ERR_FULL), "channel full") == 0);
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char* s = sluice_errstr(codes[i]);
        CHECK(s != NULL && s[0] != 0);
        CHECK(unknown == NULL || strcmp(s, unknown) != 0);
        for (j = 0; j < i; j++) CHECK(strcmp(s, sluice_errstr(codes[j])) != 0);
    }
    CHECK(unknown != NULL && unknown[0] != 0);
    CHECK(sluice_errstr(-1) != NULL && strcmp(sluice_errstr(-1), unknown) == 0);
    CHECK(sluice_errstr(1000) != NULL && strcmp(sluice_errstr(1000), unknown) == 0);
    group("version, errstr");
}

/* ------------------------------------------------------------------ 2. NULL arguments */

static void test_null_arguments(void) {
    sluice_agent* a = NULL;
    sluice_agent* none = NULL;
    sluice_event ev = body_event("x");
    size_t accepted = 77;
    char* json = (char*)&accepted; /* must be left alone or set to NULL, never freed */
    recorder* r = malloc(sizeof(*r));
    recorder_init(r);

    /* With a NULL handle every call fails with INVALID_ARGUMENT. */
    CHECK_RC(NULL, sluice_agent_new(NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_register_map(NULL, "m", dummy_map, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_register_filter(NULL, "f", dummy_filter, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_configure(NULL, "a1", SIMPLE_CONFIG), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_set_sink_callback(NULL, "k", record_cb, r), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_set_property(NULL, "shards", "1"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_start(NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_push(NULL, "in", &ev), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_push(NULL, NULL, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_try_push(NULL, "in", &ev), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_try_push(NULL, NULL, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_push_batch(NULL, "in", &ev, 1, &accepted), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK(accepted == 0);
    CHECK_RC(NULL, sluice_agent_push_batch(NULL, NULL, NULL, 0, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_metrics_json(NULL, &json), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_metrics_json(NULL, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(NULL, sluice_agent_stop(NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK(sluice_agent_errmsg(NULL) != NULL);
    sluice_agent_close(NULL);       /* no-op */
    sluice_agent_close(&none);      /* no-op */
    CHECK(none == NULL);
    sluice_free(NULL);              /* no-op */

    /* With a handle, NULL (or empty) arguments. */
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK(a != NULL);
    CHECK(sluice_agent_errmsg(a) != NULL && sluice_agent_errmsg(a)[0] == 0);
    CHECK_RC(a, sluice_agent_register_map(a, NULL, dummy_map, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK(sluice_agent_errmsg(a)[0] != 0);
    CHECK_RC(a, sluice_agent_register_map(a, "", dummy_map, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_register_map(a, "m", NULL, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_register_filter(a, NULL, dummy_filter, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_register_filter(a, "", dummy_filter, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_register_filter(a, "f", NULL, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_register_map(a, "m", dummy_map, NULL), SLUICE_OK);
    CHECK(sluice_agent_errmsg(a)[0] == 0); /* a success clears the message */
    CHECK_RC(a, sluice_agent_register_filter(a, "f", dummy_filter, NULL), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, NULL, SIMPLE_CONFIG), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_configure(a, "a1", NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, NULL, "1"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_metrics_json(a, NULL), SLUICE_ERR_INVALID_ARGUMENT);
    /* The failed calls left the handle usable. */
    CHECK_RC(a, sluice_agent_configure(a, "a1", SIMPLE_CONFIG), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, NULL, record_cb, r), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", NULL, r), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", record_cb, r), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "1"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.io", "epoll"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_push(a, NULL, &ev), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_push(a, "in", NULL), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_try_push(a, NULL, &ev), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_try_push(a, "in", NULL), SLUICE_ERR_INVALID_ARGUMENT);
    accepted = 77;
    CHECK_RC(a, sluice_agent_push_batch(a, NULL, &ev, 1, &accepted), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK(accepted == 0);
    accepted = 77;
    CHECK_RC(a, sluice_agent_push_batch(a, "in", NULL, 1, &accepted), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK(accepted == 0);
    accepted = 77;
    CHECK_RC(a, sluice_agent_push_batch(a, "in", NULL, 0, &accepted), SLUICE_OK); /* nothing to push */
    CHECK(accepted == 0);
    CHECK_RC(a, sluice_agent_push_batch(a, "in", &ev, 1, NULL), SLUICE_OK); /* accepted is optional */
    {
        /* Malformed events: NULL body with a length, NULL headers with a count,
         * a header with a NULL key, a NULL value with a length. Nothing of the
         * batch is committed. */
        sluice_header bad_key = {NULL, 1, "v", 1};
        sluice_header bad_value = {"k", 1, NULL, 1};
        sluice_event evs[2];
        evs[0] = body_event("e1");
        evs[1] = body_event("e2");
        evs[1].body = NULL;
        accepted = 77;
        CHECK_RC(a, sluice_agent_push_batch(a, "in", evs, 2, &accepted), SLUICE_ERR_INVALID_ARGUMENT);
        CHECK(accepted == 0);
        evs[1] = body_event("e2");
        evs[1].header_count = 1;
        CHECK_RC(a, sluice_agent_push_batch(a, "in", evs, 2, &accepted), SLUICE_ERR_INVALID_ARGUMENT);
        CHECK(accepted == 0);
        evs[1].headers = &bad_key;
        CHECK_RC(a, sluice_agent_push_batch(a, "in", evs, 2, &accepted), SLUICE_ERR_INVALID_ARGUMENT);
        CHECK(accepted == 0);
        evs[1].headers = &bad_value;
        CHECK_RC(a, sluice_agent_push(a, "in", &evs[1]), SLUICE_ERR_INVALID_ARGUMENT);
        CHECK_RC(a, sluice_agent_try_push(a, "in", &evs[1]), SLUICE_ERR_INVALID_ARGUMENT);
        /* An empty body may be NULL. */
        evs[0].body = NULL;
        evs[0].body_len = 0;
        CHECK_RC(a, sluice_agent_push(a, "in", &evs[0]), SLUICE_OK);
    }
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    /* "x" and the empty body: nothing else was committed. */
    CHECK(atomic_load(&r->calls) == 2);
    sluice_agent_close(&a);
    CHECK(a == NULL); /* close sets the pointer to NULL */
    sluice_agent_close(&a);
    free(r);
    group("NULL arguments");
}

/* ------------------------------------------------------------------ 3. configure */

static void test_configure(void) {
    sluice_agent* a = NULL;
    const char* msg;
    /* Line numbers matter: capacity is on line 7, the sink's channel on line 9. */
    const char* bad =
        "a1.sources = in\n"                    /* 1 */
        "a1.channels = c1\n"                   /* 2 */
        "a1.sinks = k\n"                       /* 3 */
        "a1.sources.in.type = embedded\n"      /* 4 */
        "a1.sources.in.channels = c1\n"        /* 5 */
        "a1.channels.c1.type = memory\n"       /* 6 */
        "a1.channels.c1.capacity = lots\n"     /* 7 */
        "a1.sinks.k.type = callback\n"         /* 8 */
        "a1.sinks.k.channel = c9\n";           /* 9 */
    const char* bad_type =
        "a1.sources = in\n"
        "a1.channels = c1\n"
        "a1.sinks = k\n"
        "a1.sources.in.type = embeded\n"
        "a1.sources.in.channels = c1\n"
        "a1.channels.c1.type = memory\n"
        "a1.sinks.k.type = callback\n"
        "a1.sinks.k.channel = c1\n";

    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", bad), SLUICE_ERR_CONFIG);
    msg = sluice_agent_errmsg(a);
    CHECK(has_line_starting(msg, "<config>:9: a1.sinks.k.channel: unknown channel 'c9'"));
    CHECK(has_line_starting(msg, "<config>:7: a1.channels.c1.capacity: "));
    CHECK(strchr(msg, '\n') != NULL); /* two problems, two lines */
    sluice_agent_close(&a);

    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", bad_type), SLUICE_ERR_CONFIG);
    msg = sluice_agent_errmsg(a);
    CHECK(has_line_starting(msg, "<config>:4: a1.sources.in.type: "));
    CHECK(contains(msg, "'embeded'"));
    CHECK(contains(msg, "known types"));
    CHECK(contains(strstr(msg, "known types"), "embedded"));
    CHECK(contains(strstr(msg, "known types"), "netcat"));
    sluice_agent_close(&a);

    /* An agent name with no configuration: Flume's message. */
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "x", SIMPLE_CONFIG), SLUICE_ERR_CONFIG);
    CHECK(contains(sluice_agent_errmsg(a), "No configuration found for this host:x"));
    sluice_agent_close(&a);

    /* Configure twice. */
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", SIMPLE_CONFIG), SLUICE_OK);
    CHECK(sluice_agent_errmsg(a)[0] == 0);
    CHECK_RC(a, sluice_agent_configure(a, "a1", SIMPLE_CONFIG), SLUICE_ERR_STATE);
    CHECK(sluice_agent_errmsg(a)[0] != 0);
    sluice_agent_close(&a);

    /* Warnings do not fail configure; they stay readable in errmsg. */
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", BASIC_CONFIG(BIG_CHANNEL "a1.channels.c1.capacty = 5\n", "")), SLUICE_OK);
    CHECK(contains(sluice_agent_errmsg(a), "a1.channels.c1.capacty"));
    sluice_agent_close(&a);
    group("configure errors");
}

/* ------------------------------------------------------------------ 4. states, callbacks, properties */

static void test_states_and_properties(void) {
    sluice_agent* a = NULL;
    recorder* r = malloc(sizeof(*r));
    sluice_event ev = body_event("e0");
    const char* two_sinks =
        "a1.sources = in\n"
        "a1.channels = c1 c2\n"
        "a1.sinks = k n\n"
        "a1.sources.in.type = embedded\n"
        "a1.sources.in.channels = c1\n"
        "a1.channels.c1.type = memory\n"
        "a1.channels.c2.type = memory\n"
        "a1.sinks.k.type = callback\n"
        "a1.sinks.k.channel = c1\n"
        "a1.sinks.n.type = null\n"
        "a1.sinks.n.channel = c2\n";
    recorder_init(r);

    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    /* Before configure. */
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", record_cb, r), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "1"), SLUICE_OK); /* allowed before configure */
    CHECK_RC(a, sluice_agent_configure(a, "a1", two_sinks), SLUICE_OK);
    /* Properties. */
    CHECK_RC(a, sluice_agent_set_property(a, "no.such.key", "1"), SLUICE_ERR_NOT_FOUND);
    CHECK(contains(sluice_agent_errmsg(a), "no.such.key"));
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "0"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK(contains(sluice_agent_errmsg(a), "shards"));
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "two"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", ""), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "2x"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "-1"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "100000"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.io", "carrier-pigeon"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.drain.timeout", "soon"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.log.level", "LOUD"), SLUICE_ERR_INVALID_ARGUMENT);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "2"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.io", "epoll"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.drain.timeout", "5s"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.log.level", "WARN"), SLUICE_OK);
    /* Registering after configure. */
    CHECK_RC(a, sluice_agent_register_map(a, "m", dummy_map, NULL), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_register_filter(a, "f", dummy_filter, NULL), SLUICE_ERR_STATE);
    /* Callbacks: only for callback sinks of the configuration. */
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "nosuch", record_cb, r), SLUICE_ERR_NOT_FOUND);
    CHECK(contains(sluice_agent_errmsg(a), "nosuch"));
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "n", record_cb, r), SLUICE_ERR_NOT_FOUND); /* a null sink */
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "in", record_cb, r), SLUICE_ERR_NOT_FOUND); /* a source */
    /* Start without the callback of `k`: refused, the handle stays configured. */
    CHECK(sluice_agent_start(a) != SLUICE_OK);
    CHECK(contains(sluice_agent_errmsg(a), "'k'"));
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", record_cb, r), SLUICE_OK);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_OK);
    /* After start. */
    CHECK_RC(a, sluice_agent_start(a), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_configure(a, "a1", two_sinks), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", record_cb, r), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "1"), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_register_map(a, "m", dummy_map, NULL), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_OK);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK(atomic_load(&r->accepted) == 1);
    /* After stop. */
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK); /* idempotent */
    CHECK_RC(a, sluice_agent_start(a), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_try_push(a, "in", &ev), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_push_batch(a, "in", &ev, 1, NULL), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "1"), SLUICE_ERR_STATE);
    sluice_agent_close(&a);

    /* Stop before start is allowed; the handle is then stopped. */
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", two_sinks), SLUICE_OK);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", record_cb, r), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_ERR_STATE);
    sluice_agent_close(&a);
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", two_sinks), SLUICE_ERR_STATE);
    sluice_agent_close(&a);
    free(r);
    group("states, set_sink_callback, set_property");
}

/* ------------------------------------------------------------------ 5. push, headers */

typedef struct {
    pthread_mutex_t mu;
    int events;
    size_t header_count;
    char keys[4][16];
    size_t key_lens[4];
    char values[4][16];
    size_t value_lens[4];
    char body[16];
    size_t body_len;
} header_capture;

static int capture_cb(void* user, const sluice_event* ev) {
    header_capture* c = user;
    size_t i;
    pthread_mutex_lock(&c->mu);
    c->events++;
    c->header_count = ev->header_count;
    for (i = 0; i < ev->header_count && i < 4; i++) {
        c->key_lens[i] = ev->headers[i].key_len;
        c->value_lens[i] = ev->headers[i].value_len;
        if (ev->headers[i].key_len <= 16) memcpy(c->keys[i], ev->headers[i].key, ev->headers[i].key_len);
        if (ev->headers[i].value_len <= 16) memcpy(c->values[i], ev->headers[i].value, ev->headers[i].value_len);
    }
    c->body_len = ev->body_len;
    if (ev->body_len <= 16) memcpy(c->body, ev->body, ev->body_len);
    pthread_mutex_unlock(&c->mu);
    return 0;
}

static void test_push_and_headers(void) {
    sluice_agent* a;
    header_capture cap;
    static const char body[] = {'a', 0, 'b', 0, 0, 'c'};
    static const char key2[] = {'b', 0, 'k'};
    static const char value2[] = {0, 'v', 0, '\xff'};
    sluice_header headers[3];
    sluice_event ev;
    size_t i;
    recorder* r = malloc(sizeof(*r));
    sluice_event evs[5];
    char bodies[5][8];
    size_t accepted = 77;

    memset(&cap, 0, sizeof(cap));
    pthread_mutex_init(&cap.mu, NULL);
    headers[0].key = "host";
    headers[0].key_len = 4;
    headers[0].value = "example.org";
    headers[0].value_len = 11;
    headers[1].key = "empty";
    headers[1].key_len = 5;
    headers[1].value = "";
    headers[1].value_len = 0;
    headers[2].key = key2;
    headers[2].key_len = sizeof(key2);
    headers[2].value = value2;
    headers[2].value_len = sizeof(value2);
    memset(&ev, 0, sizeof(ev));
    ev.headers = headers;
    ev.header_count = 3;
    ev.body = body;
    ev.body_len = sizeof(body);

    a = start_agent(SIMPLE_CONFIG, "1", capture_cb, &cap);
    CHECK_RC(a, sluice_agent_push(a, "nosuch", &ev), SLUICE_ERR_NOT_FOUND);
    CHECK(contains(sluice_agent_errmsg(a), "nosuch"));
    CHECK_RC(a, sluice_agent_try_push(a, "nosuch", &ev), SLUICE_ERR_NOT_FOUND);
    CHECK_RC(a, sluice_agent_push_batch(a, "nosuch", &ev, 1, &accepted), SLUICE_ERR_NOT_FOUND);
    CHECK(accepted == 0);
    CHECK_RC(a, sluice_agent_push_batch(a, "c1", &ev, 1, &accepted), SLUICE_ERR_NOT_FOUND); /* a channel */
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_OK);
    /* sluice copied the event: scribbling over it now changes nothing. */
    headers[0].value = "scribbled!!";
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    pthread_mutex_lock(&cap.mu);
    CHECK(cap.events == 1);
    CHECK(cap.body_len == sizeof(body) && memcmp(cap.body, body, sizeof(body)) == 0);
    CHECK(cap.header_count == 3);
    CHECK(cap.key_lens[0] == 4 && memcmp(cap.keys[0], "host", 4) == 0);
    CHECK(cap.value_lens[0] == 11 && memcmp(cap.values[0], "example.org", 11) == 0);
    CHECK(cap.key_lens[1] == 5 && memcmp(cap.keys[1], "empty", 5) == 0);
    CHECK(cap.value_lens[1] == 0);
    CHECK(cap.key_lens[2] == sizeof(key2) && memcmp(cap.keys[2], key2, sizeof(key2)) == 0);
    CHECK(cap.value_lens[2] == sizeof(value2) && memcmp(cap.values[2], value2, sizeof(value2)) == 0);
    pthread_mutex_unlock(&cap.mu);
    sluice_agent_close(&a);
    pthread_mutex_destroy(&cap.mu);

    /* push_batch: accepted, order kept within a batch (one shard). */
    recorder_init(r);
    a = start_agent(SIMPLE_CONFIG, "2", record_cb, r);
    for (i = 0; i < 5; i++) {
        snprintf(bodies[i], sizeof(bodies[i]), "e%zu", i);
        evs[i] = body_event(bodies[i]);
    }
    CHECK_RC(a, sluice_agent_push_batch(a, "in", evs, 5, &accepted), SLUICE_OK);
    CHECK(accepted == 5);
    CHECK_RC(a, sluice_agent_try_push(a, "in", &evs[0]), SLUICE_OK);
    CHECK(sluice_agent_errmsg(a)[0] == 0);
    {
        /* A batch larger than the channel's transactionCapacity (1000) is
         * committed in several transactions, all of it accepted. */
        enum { BIG = 2500 };
        static char big_bodies[BIG][8];
        static sluice_event big[BIG];
        for (i = 0; i < BIG; i++) {
            snprintf(big_bodies[i], sizeof(big_bodies[i]), "e%zu", 100 + i);
            big[i] = body_event(big_bodies[i]);
        }
        CHECK_RC(a, sluice_agent_push_batch(a, "in", big, BIG, &accepted), SLUICE_OK);
        CHECK(accepted == BIG);
    }
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK(atomic_load(&r->distinct) == 5 + 2500);
    CHECK(atomic_load(&r->accepted) == 6 + 2500);
    CHECK(atomic_load(&r->seen[0]) == 2);
    CHECK(atomic_load(&r->bad) == 0);
    sluice_agent_close(&a);
    free(r);
    group("push, push_batch, headers");
}

/* ------------------------------------------------------------------ 6. registered functions */

static sluice_agent* g_stream_agent;
static atomic_int g_push_from_map_rc = -1;
static atomic_long g_min_out_cap = -1;

static int upper_fn(void* user, const char* in, size_t in_len, char* out, size_t out_cap, size_t* out_len) {
    size_t i, n;
    long cap = (long)out_cap, seen;
    atomic_fetch_add((atomic_long*)user, 1);
    seen = atomic_load(&g_min_out_cap);
    while ((seen < 0 || cap < seen) && !atomic_compare_exchange_weak(&g_min_out_cap, &seen, cap)) {
    }
    if (in_len == 7 && memcmp(in, "drop-me", 7) == 0) return 0;
    if (in_len == 9 && memcmp(in, "push-back", 9) == 0) {
        sluice_event ev = body_event("never");
        atomic_store(&g_push_from_map_rc, sluice_agent_push(g_stream_agent, "in", &ev));
        return 0;
    }
    if (in_len == 4 && memcmp(in, "huge", 4) == 0) {
        /* Longer than out_cap: cut to out_cap. */
        memset(out, 'H', out_cap);
        *out_len = out_cap + 100;
        return 1;
    }
    n = in_len < out_cap ? in_len : out_cap;
    for (i = 0; i < n; i++) out[i] = (char)toupper((unsigned char)in[i]);
    *out_len = n;
    return 1;
}

static int keep_fn(void* user, const char* in, size_t in_len) {
    atomic_fetch_add((atomic_long*)user, 1);
    return !(in_len >= 4 && memcmp(in, "SKIP", 4) == 0);
}

typedef struct {
    pthread_mutex_t mu;
    int results;
    int bad_headers;
    char keys[8][16];
    long sums[8];
    int nkeys;
    long huge_key_len;
    long huge_sum;
} stream_results;

static const char* header_value(const sluice_event* ev, const char* key, size_t* len) {
    size_t i, kl = strlen(key);
    for (i = 0; i < ev->header_count; i++)
        if (ev->headers[i].key_len == kl && memcmp(ev->headers[i].key, key, kl) == 0) {
            *len = ev->headers[i].value_len;
            return ev->headers[i].value;
        }
    return NULL;
}

static int stream_cb(void* user, const sluice_event* ev) {
    stream_results* s = user;
    const char* body = ev->body;
    const char* tab = memchr(body, '\t', ev->body_len);
    size_t stream_len = 0, time_len = 0, key_len = 0, i, klen;
    const char* stream = header_value(ev, "stream", &stream_len);
    const char* t = header_value(ev, "time", &time_len);
    const char* key = header_value(ev, "key", &key_len);
    char num[32];
    long value;
    int ok = 1;
    pthread_mutex_lock(&s->mu);
    s->results++;
    if (!stream || stream_len != 1 || stream[0] != 's') ok = 0;
    if (!t || time_len == 0 || time_len > 20) ok = 0;
    for (i = 0; ok && i < time_len; i++)
        if (!isdigit((unsigned char)t[i])) ok = 0;
    if (!tab) ok = 0;
    klen = tab ? (size_t)(tab - body) : 0;
    if (!key || key_len != klen || memcmp(key, body, klen) != 0) ok = 0;
    if (ok && ev->body_len - klen - 1 < sizeof(num)) {
        memcpy(num, tab + 1, ev->body_len - klen - 1);
        num[ev->body_len - klen - 1] = 0;
        value = atol(num);
        if (klen >= 1000) {
            s->huge_key_len = (long)klen;
            s->huge_sum += value;
            for (i = 0; i < klen; i++)
                if (body[i] != 'H') s->bad_headers++;
        } else if (klen < 16) {
            int k;
            for (k = 0; k < s->nkeys; k++)
                if (strlen(s->keys[k]) == klen && memcmp(s->keys[k], body, klen) == 0) break;
            if (k == s->nkeys && k < 8) {
                memcpy(s->keys[k], body, klen);
                s->keys[k][klen] = 0;
                s->nkeys++;
            }
            if (k < 8) s->sums[k] += value;
        }
    } else {
        s->bad_headers++;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static long result_sum(stream_results* s, const char* key) {
    int k;
    for (k = 0; k < s->nkeys; k++)
        if (strcmp(s->keys[k], key) == 0) return s->sums[k];
    return 0;
}

#define STREAM_CONFIG(ops)                               \
    "a1.sources = in\n"                                  \
    "a1.channels = c1 c2\n"                              \
    "a1.sinks = k\n"                                     \
    "a1.streams = s\n"                                   \
    "a1.sources.in.type = embedded\n"                    \
    "a1.sources.in.channels = c1\n"                      \
    "a1.channels.c1.type = memory\n"                     \
    "a1.channels.c2.type = memory\n"                     \
    "a1.streams.s.channel = c1\n"                        \
    "a1.streams.s.channels = c2\n"                       \
    "a1.streams.s.batch = 100ms\n"                       \
    "a1.streams.s.ops = " ops "\n"                       \
    "a1.sinks.k.type = callback\n"                       \
    "a1.sinks.k.channel = c2\n"

static void test_registered_functions(void) {
    sluice_agent* a = NULL;
    atomic_long map_calls, filter_calls;
    stream_results res;
    const char* inputs[] = {"apple", "Banana", "apple", "skip-this", "drop-me", "cherry", "push-back", "apple", "huge"};
    size_t i;

    atomic_init(&map_calls, 0);
    atomic_init(&filter_calls, 0);
    memset(&res, 0, sizeof(res));
    pthread_mutex_init(&res.mu, NULL);

    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_register_map(a, "upper_fn", upper_fn, &map_calls), SLUICE_OK);
    CHECK_RC(a, sluice_agent_register_filter(a, "keep_fn", keep_fn, &filter_calls), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1",
                                       STREAM_CONFIG("map(upper_fn) | filter(keep_fn) | pair(1) | reduceByKey(sum)")),
             SLUICE_OK);
    CHECK_RC(a, sluice_agent_register_map(a, "late_fn", upper_fn, &map_calls), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_register_filter(a, "late_fn", keep_fn, &filter_calls), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "2"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.io", "epoll"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", stream_cb, &res), SLUICE_OK);
    g_stream_agent = a;
    CHECK_RC(a, sluice_agent_start(a), SLUICE_OK);
    for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
        sluice_event ev = body_event(inputs[i]);
        CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_OK);
    }
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK); /* the stream emits its last batch */
    CHECK(atomic_load(&map_calls) == 9);
    CHECK(atomic_load(&filter_calls) == 7); /* not drop-me, push-back: the map dropped them */
    CHECK(atomic_load(&g_min_out_cap) >= 64 * 1024);
    CHECK(atomic_load(&g_push_from_map_rc) == SLUICE_ERR_WRONG_THREAD);
    pthread_mutex_lock(&res.mu);
    CHECK(res.bad_headers == 0);
    CHECK(res.results >= 4);
    CHECK(result_sum(&res, "APPLE") == 3);
    CHECK(result_sum(&res, "BANANA") == 1);
    CHECK(result_sum(&res, "CHERRY") == 1);
    CHECK(result_sum(&res, "SKIP-THIS") == 0);
    CHECK(result_sum(&res, "DROP-ME") == 0);
    CHECK(result_sum(&res, "never") == 0);
    CHECK(res.nkeys == 3);
    CHECK(res.huge_key_len == (long)atomic_load(&g_min_out_cap)); /* cut to out_cap */
    CHECK(res.huge_sum == 1);
    pthread_mutex_unlock(&res.mu);
    sluice_agent_close(&a);
    pthread_mutex_destroy(&res.mu);

    /* Unregistered functions: the nearest registered name is suggested. */
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_register_map(a, "upper_fn", upper_fn, &map_calls), SLUICE_OK);
    CHECK_RC(a, sluice_agent_register_filter(a, "keep_fn", keep_fn, &filter_calls), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", STREAM_CONFIG("map(uper_fn) | pair(1) | reduceByKey(sum)")),
             SLUICE_ERR_CONFIG);
    CHECK(contains(sluice_agent_errmsg(a), "a1.streams.s.ops"));
    CHECK(contains(sluice_agent_errmsg(a), "uper_fn"));
    CHECK(contains(sluice_agent_errmsg(a), "did you mean 'upper_fn'"));
    CHECK_RC(a, sluice_agent_configure(a, "a1", STREAM_CONFIG("filter(kep_fn) | pair(1) | reduceByKey(sum)")),
             SLUICE_ERR_CONFIG);
    CHECK(contains(sluice_agent_errmsg(a), "did you mean 'keep_fn'"));
    /* A map function is not a predicate. */
    CHECK_RC(a, sluice_agent_configure(a, "a1", STREAM_CONFIG("filter(upper_fn) | pair(1) | reduceByKey(sum)")),
             SLUICE_ERR_CONFIG);
    sluice_agent_close(&a);
    group("register_map, register_filter, streams");
}

/* ------------------------------------------------------------------ 7. full channel */

#define FULL_CONFIG                                 \
    BASIC_CONFIG("a1.channels.c1.capacity = 2\n"    \
                 "a1.channels.c1.transactionCapacity = 2\n" \
                 "a1.channels.c1.keep-alive = 1\n", \
                 "a1.sinks.k.batchSize = 2\n")

static void test_full_channel(void) {
    sluice_agent* a;
    recorder* r = malloc(sizeof(*r));
    sluice_event evs[3];
    size_t accepted = 77;
    double t0, dt;

    evs[0] = body_event("e0");
    evs[1] = body_event("e1");
    evs[2] = body_event("e2");

    recorder_init(r);
    atomic_store(&r->failing, 1);
    a = start_agent(FULL_CONFIG, "1", record_cb, r);
    CHECK_RC(a, sluice_agent_try_push(a, "in", &evs[0]), SLUICE_OK);
    CHECK_RC(a, sluice_agent_try_push(a, "in", &evs[1]), SLUICE_OK);
    t0 = now_s();
    CHECK_RC(a, sluice_agent_try_push(a, "in", &evs[2]), SLUICE_ERR_FULL);
    dt = now_s() - t0;
    CHECK(dt < 0.5); /* at once */
    CHECK(contains(sluice_agent_errmsg(a), "Space for commit to queue couldn't be acquired"));
    t0 = now_s();
    CHECK_RC(a, sluice_agent_push(a, "in", &evs[2]), SLUICE_ERR_FULL); /* waits keep-alive = 1 s */
    dt = now_s() - t0;
    printf("  blocking push on a full channel: SLUICE_ERR_FULL after %.3f s\n", dt);
    CHECK(dt >= 0.8 && dt < 10.0);
    CHECK(contains(sluice_agent_errmsg(a), "Space for commit to queue couldn't be acquired"));
    {
        char* json = NULL;
        CHECK_RC(a, sluice_agent_metrics_json(a, &json), SLUICE_OK);
        CHECK(metric(json, "SOURCE.in", "ChannelWriteFail") == 2);
        sluice_free(json);
    }
    CHECK(atomic_load(&r->calls) >= 1);
    CHECK(atomic_load(&r->accepted) == 0);
    /* The sink recovers: stop drains what the channel holds. */
    atomic_store(&r->failing, 0);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK(atomic_load(&r->distinct) == 2);
    sluice_agent_close(&a);

    /* push_batch into a channel with room for 2 of 3: a prefix is accepted. */
    recorder_init(r);
    atomic_store(&r->failing, 1);
    a = start_agent(FULL_CONFIG, "1", record_cb, r);
    t0 = now_s();
    CHECK_RC(a, sluice_agent_push_batch(a, "in", evs, 3, &accepted), SLUICE_ERR_FULL);
    dt = now_s() - t0;
    CHECK(accepted == 2);
    CHECK(dt >= 0.8 && dt < 10.0);
    atomic_store(&r->failing, 0);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK(atomic_load(&r->distinct) == 2);
    CHECK(atomic_load(&r->seen[0]) >= 1 && atomic_load(&r->seen[1]) >= 1 && atomic_load(&r->seen[2]) == 0);
    sluice_agent_close(&a);

    /* A sink that never succeeds: stop gives up after sluice.drain.timeout. */
    recorder_init(r);
    atomic_store(&r->failing, 1);
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", FULL_CONFIG), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "1"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.drain.timeout", "1s"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", record_cb, r), SLUICE_OK);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_push(a, "in", &evs[0]), SLUICE_OK);
    t0 = now_s();
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    dt = now_s() - t0;
    printf("  stop with a sink that always fails, drain timeout 1 s: %.3f s\n", dt);
    CHECK(dt >= 0.5 && dt < 10.0);
    CHECK(atomic_load(&r->accepted) == 0);
    sluice_agent_close(&a);
    free(r);
    group("try_push / push on a full channel");
}

/* ------------------------------------------------------------------ 8. redelivery */

static void test_redelivery(void) {
    sluice_agent* a;
    recorder* r = malloc(sizeof(*r));
    sluice_event evs[20];
    char bodies[20][8];
    size_t i, accepted = 0;
    char* json = NULL;
    recorder_init(r);
    atomic_store(&r->fail_first, 2);
    for (i = 0; i < 20; i++) {
        snprintf(bodies[i], sizeof(bodies[i]), "e%zu", i);
        evs[i] = body_event(bodies[i]);
    }
    a = start_agent(SIMPLE_CONFIG, "1", record_cb, r);
    CHECK_RC(a, sluice_agent_push_batch(a, "in", evs, 20, &accepted), SLUICE_OK);
    CHECK(accepted == 20);
    /* Two failed transactions, each followed by a backoff (1 s, 2 s). */
    CHECK(wait_for(&r->distinct, 20, 20.0) == 20);
    CHECK(atomic_load(&r->calls) > 20);
    CHECK_RC(a, sluice_agent_metrics_json(a, &json), SLUICE_OK);
    CHECK(json != NULL);
    CHECK(metric(json, "SINK.k", "EventWriteFail") > 0);
    CHECK(metric(json, "SOURCE.in", "EventAcceptedCount") == 20);
    sluice_free(json);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK(atomic_load(&r->distinct) == 20);
    CHECK(atomic_load(&r->bad) == 0);
    for (i = 0; i < 20; i++) CHECK(atomic_load(&r->seen[i]) >= 1);
    /* After stop the counters are still readable. */
    json = NULL;
    CHECK_RC(a, sluice_agent_metrics_json(a, &json), SLUICE_OK);
    CHECK(metric(json, "SINK.k", "EventWriteFail") > 0);
    CHECK(metric(json, "SINK.k", "EventDrainSuccessCount") == 20);
    sluice_free(json);
    sluice_agent_close(&a);
    free(r);
    group("callback failure, redelivery");
}

/* ------------------------------------------------------------------ 9. wrong thread */

typedef struct {
    sluice_agent* agent;
    atomic_long calls;
    atomic_int done;
    int rc_stop, rc_push, rc_try_push, rc_push_batch, rc_start, rc_metrics;
    size_t batch_accepted;
    int close_left_handle;
    char stop_msg[256];
} reentrant;

static int reentrant_cb(void* user, const sluice_event* ev) {
    reentrant* t = user;
    (void)ev;
    if (atomic_fetch_add(&t->calls, 1) == 0) {
        sluice_event e = body_event("from-callback");
        sluice_agent* h = t->agent;
        char* json = NULL;
        t->rc_stop = sluice_agent_stop(t->agent);
        snprintf(t->stop_msg, sizeof(t->stop_msg), "%s", sluice_agent_errmsg(t->agent));
        t->rc_push = sluice_agent_push(t->agent, "in", &e);
        t->rc_try_push = sluice_agent_try_push(t->agent, "in", &e);
        t->batch_accepted = 77;
        t->rc_push_batch = sluice_agent_push_batch(t->agent, "in", &e, 1, &t->batch_accepted);
        t->rc_start = sluice_agent_start(t->agent);
        sluice_agent_close(&h); /* refused: returns void, the handle is not released */
        t->close_left_handle = h == t->agent;
        t->rc_metrics = sluice_agent_metrics_json(t->agent, &json); /* not forbidden */
        sluice_free(json);
        atomic_store(&t->done, 1);
    }
    return 0;
}

static void test_wrong_thread(void) {
    reentrant t;
    sluice_agent* a = NULL;
    sluice_event ev = body_event("first");
    memset(&t, 0, sizeof(t));
    atomic_init(&t.calls, 0);
    atomic_init(&t.done, 0);
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    t.agent = a;
    CHECK_RC(a, sluice_agent_configure(a, "a1", SIMPLE_CONFIG), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "1"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.io", "epoll"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", reentrant_cb, &t), SLUICE_OK);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_OK);
    {
        double deadline = now_s() + 10;
        while (!atomic_load(&t.done) && now_s() < deadline) sleep_ms(2);
    }
    CHECK(atomic_load(&t.done) == 1);
    CHECK(t.rc_stop == SLUICE_ERR_WRONG_THREAD);
    CHECK(t.stop_msg[0] != 0);
    CHECK(t.rc_push == SLUICE_ERR_WRONG_THREAD);
    CHECK(t.rc_try_push == SLUICE_ERR_WRONG_THREAD);
    CHECK(t.rc_push_batch == SLUICE_ERR_WRONG_THREAD);
    CHECK(t.batch_accepted == 0);
    CHECK(t.rc_start == SLUICE_ERR_WRONG_THREAD || t.rc_start == SLUICE_ERR_STATE);
    CHECK(t.close_left_handle);
    CHECK(t.rc_metrics == SLUICE_OK);
    /* The handle still works: the agent runs on. */
    ev = body_event("second");
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_OK);
    CHECK(wait_for(&t.calls, 2, 10.0) == 2);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK(atomic_load(&t.calls) == 2); /* "from-callback" was never pushed */
    sluice_agent_close(&a);
    CHECK(a == NULL);
    group("wrong thread (calls from a callback)");
}

/* ------------------------------------------------------------------ 10. metrics */

static void test_metrics(void) {
    sluice_agent* a = NULL;
    atomic_long count;
    char* json = (char*)"untouched";
    sluice_event ev = body_event("m");
    atomic_init(&count, 0);
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_metrics_json(a, &json), SLUICE_ERR_STATE); /* created */
    CHECK(json == NULL);
    CHECK_RC(a, sluice_agent_configure(a, "a1", SIMPLE_CONFIG), SLUICE_OK);
    json = (char*)"untouched";
    CHECK_RC(a, sluice_agent_metrics_json(a, &json), SLUICE_ERR_STATE); /* configured */
    CHECK(json == NULL);
    CHECK(contains(sluice_agent_errmsg(a), "metrics_json"));
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "2"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.io", "epoll"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", accept_cb, &count), SLUICE_OK);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_metrics_json(a, &json), SLUICE_OK);
    CHECK(json != NULL && json[0] == '{' && json[strlen(json) - 1] == '}');
    CHECK(contains(json, "\"SOURCE.in\":{"));
    CHECK(contains(json, "\"CHANNEL.c1\":{"));
    CHECK(contains(json, "\"SINK.k\":{"));
    CHECK(metric(json, "SOURCE.in", "EventAcceptedCount") == 0);
    sluice_free(json);
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_OK);
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_OK);
    CHECK_RC(a, sluice_agent_metrics_json(a, &json), SLUICE_OK);
    CHECK(metric(json, "SOURCE.in", "EventReceivedCount") == 2);
    CHECK(metric(json, "SOURCE.in", "EventAcceptedCount") == 2);
    CHECK(metric(json, "CHANNEL.c1", "EventPutSuccessCount") == 2);
    sluice_free(json);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK(atomic_load(&count) == 2);
    sluice_agent_close(&a);
    group("metrics_json");
}

/* ------------------------------------------------------------------ 11. stop drains */

static void test_stop_drains(void) {
    enum { N = 10000, B = 100 };
    sluice_agent* a;
    recorder* r = malloc(sizeof(*r));
    static char bodies[N][8];
    static sluice_event evs[N];
    size_t i, accepted;
    recorder_init(r);
    for (i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof(bodies[i]), "e%zu", i);
        evs[i] = body_event(bodies[i]);
    }
    a = start_agent(SIMPLE_CONFIG, "2", record_cb, r);
    /* Half in batches, half one by one. */
    for (i = 0; i < N / 2; i += B) {
        CHECK_RC(a, sluice_agent_push_batch(a, "in", &evs[i], B, &accepted), SLUICE_OK);
        CHECK(accepted == B);
    }
    for (; i < N; i++) {
        int rc = sluice_agent_push(a, "in", &evs[i]);
        if (rc != SLUICE_OK) CHECK_RC(a, rc, SLUICE_OK);
    }
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK(atomic_load(&r->accepted) == N);
    CHECK(atomic_load(&r->distinct) == N);
    CHECK(atomic_load(&r->bad) == 0);
    sluice_agent_close(&a);

    /* close on a running agent stops it first, draining too. */
    recorder_init(r);
    a = start_agent(SIMPLE_CONFIG, "1", record_cb, r);
    CHECK_RC(a, sluice_agent_push_batch(a, "in", evs, 1000, &accepted), SLUICE_OK);
    sluice_agent_close(&a);
    CHECK(a == NULL);
    CHECK(atomic_load(&r->distinct) == 1000);
    free(r);
    group("stop drains, close stops");
}

/* ------------------------------------------------------------------ 12. edge cases */

static void test_edges(void) {
    sluice_agent* a = NULL;
    char* json = (char*)"untouched";
    /* Stopped without ever starting: there are no counters to report, and
     * the call must say so rather than crash. */
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", SIMPLE_CONFIG), SLUICE_OK);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_metrics_json(a, &json), SLUICE_ERR_STATE);
    CHECK(json == NULL);
    sluice_agent_close(&a);
    group("edge cases");
}

/* ------------------------------------------------------------------ 13. start failure */

static void test_start_failure(void) {
    sluice_agent* a = NULL;
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char config[1024];
    sluice_event ev = body_event("x");
    CHECK(fd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(fd, (struct sockaddr*)&addr, sizeof(addr)) == 0);
    CHECK(listen(fd, 1) == 0);
    CHECK(getsockname(fd, (struct sockaddr*)&addr, &len) == 0);
    /* A netcat source on a port this process already listens on. */
    snprintf(config, sizeof(config),
             "a1.sources = in net\n"
             "a1.channels = c1\n"
             "a1.sinks = k\n"
             "a1.sources.in.type = embedded\n"
             "a1.sources.in.channels = c1\n"
             "a1.sources.net.type = netcat\n"
             "a1.sources.net.bind = 127.0.0.1\n"
             "a1.sources.net.port = %d\n"
             "a1.sources.net.channels = c1\n"
             "a1.channels.c1.type = memory\n"
             "a1.sinks.k.type = callback\n"
             "a1.sinks.k.channel = c1\n",
             ntohs(addr.sin_port));
    CHECK_RC(NULL, sluice_agent_new(&a), SLUICE_OK);
    CHECK_RC(a, sluice_agent_configure(a, "a1", config), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "shards", "1"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_property(a, "sluice.io", "epoll"), SLUICE_OK);
    CHECK_RC(a, sluice_agent_set_sink_callback(a, "k", record_cb, NULL), SLUICE_OK);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_ERR_IO);
    CHECK(sluice_agent_errmsg(a)[0] != 0);
    printf("  start with a port in use: %s\n", sluice_agent_errmsg(a));
    CHECK_RC(a, sluice_agent_push(a, "in", &ev), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_start(a), SLUICE_ERR_STATE);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    sluice_agent_close(&a);
    close(fd);
    group("start failure");
}

/* ------------------------------------------------------------------ 14. try_push beside a waiting push */

typedef struct {
    sluice_agent* agent;
    int rc;
    double seconds;
} blocked_push;

static void* blocking_pusher(void* arg) {
    blocked_push* b = arg;
    sluice_event ev = body_event("e3");
    double t0 = now_s();
    b->rc = sluice_agent_push(b->agent, "in", &ev);
    b->seconds = now_s() - t0;
    return NULL;
}

static void test_try_push_beside_blocked_push(void) {
    sluice_agent* a;
    recorder* r = malloc(sizeof(*r));
    sluice_event evs[3];
    blocked_push b;
    pthread_t th;
    double t0, dt;
    evs[0] = body_event("e0");
    evs[1] = body_event("e1");
    evs[2] = body_event("e2");
    recorder_init(r);
    atomic_store(&r->failing, 1);
    a = start_agent(FULL_CONFIG, "1", record_cb, r);
    CHECK_RC(a, sluice_agent_push_batch(a, "in", evs, 2, NULL), SLUICE_OK); /* full now */
    b.agent = a;
    b.rc = -1;
    CHECK(pthread_create(&th, NULL, blocking_pusher, &b) == 0);
    sleep_ms(200); /* the other thread now waits (keep-alive 1 s) for room */
    t0 = now_s();
    CHECK_RC(a, sluice_agent_try_push(a, "in", &evs[2]), SLUICE_ERR_FULL);
    dt = now_s() - t0;
    printf("  try_push while another thread waits in push: SLUICE_ERR_FULL after %.3f s\n", dt);
    CHECK(pthread_join(th, NULL) == 0);
    CHECK(b.rc == SLUICE_ERR_FULL);
    CHECK(dt < 0.5); /* "reports SLUICE_ERR_FULL at once instead of waiting" */
    atomic_store(&r->failing, 0);
    CHECK_RC(a, sluice_agent_stop(a), SLUICE_OK);
    sluice_agent_close(&a);
    free(r);
    group("try_push beside a waiting push");
}

int main(void) {
    double t0 = now_s();
    test_version();
    test_null_arguments();
    test_configure();
    test_states_and_properties();
    test_push_and_headers();
    test_registered_functions();
    test_full_channel();
    test_redelivery();
    test_wrong_thread();
    test_metrics();
    test_stop_drains();
    test_start_failure();
    test_try_push_beside_blocked_push();
    test_edges();
    printf("  (%.1f s)\n", now_s() - t0);
    finish();
    return g_failed ? 1 : 0;
}
