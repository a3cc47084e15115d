/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sluice.h — embedding a sluice agent in a program.
 *
 * This header is the whole public API: what is not declared here is not API.
 * It is plain C (C99 and later, and C++), and no C++ type or exception
 * crosses it: every entry point catches everything and returns a status.
 *
 * An agent is configured from Flume properties text (the same format as
 * `sluice agent -f`), with two component types that exist only here:
 *   - source type `embedded`: events pushed by the program
 *     (sluice_agent_push / sluice_agent_try_push / sluice_agent_push_batch);
 *   - sink type `callback`: events handed to a function of the program
 *     (sluice_agent_set_sink_callback).
 * Streams may call functions the program registers (`map(myfn)`,
 * `filter(mypred)` in `ops`).
 *
 * Life of a handle:
 *   sluice_agent_new -> [register_map / register_filter] -> configure
 *   -> [set_sink_callback, set_property] -> start -> push... -> stop -> close.
 * A call made in the wrong state fails with SLUICE_ERR_STATE.
 *
 * Errors: every call returns SLUICE_OK (0) or an error code; after a failure
 * sluice_agent_errmsg() tells what went wrong (for configure: every problem,
 * one per line, each naming the line and key). sluice_errstr() names a code.
 *
 * Threads: a handle may be used from any thread, but not concurrently from
 * several threads, except the push calls and sluice_agent_metrics_json,
 * which may run concurrently with each other from any number of threads
 * between start and stop. Callbacks and registered functions run on the
 * agent's shard threads, several at once when the agent has several shards;
 * they must not call sluice_agent_stop or sluice_agent_close
 * (SLUICE_ERR_WRONG_THREAD).
 */
#ifndef SLUICE_H
#define SLUICE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define SLUICE_API
#else
#define SLUICE_API __attribute__((visibility("default")))
#endif

#define SLUICE_VERSION_MAJOR 0
#define SLUICE_VERSION_MINOR 1
#define SLUICE_VERSION_PATCH 0
/* 0xMMmmpp: comparable as a number. */
#define SLUICE_VERSION_NUMBER ((SLUICE_VERSION_MAJOR << 16) | (SLUICE_VERSION_MINOR << 8) | SLUICE_VERSION_PATCH)
#define SLUICE_VERSION_STRING "0.1.0"

/* Status codes. */
#define SLUICE_OK 0
#define SLUICE_ERR_INVALID_ARGUMENT 1 /* a NULL or malformed argument */
#define SLUICE_ERR_CONFIG 2           /* the configuration has problems (see errmsg) */
#define SLUICE_ERR_NOT_FOUND 3        /* no source/sink of that name and type */
#define SLUICE_ERR_FULL 4             /* the channel has no room (try again later) */
#define SLUICE_ERR_STATE 5            /* not allowed in the handle's current state */
#define SLUICE_ERR_WRONG_THREAD 6     /* called from a thread where it would deadlock */
#define SLUICE_ERR_IO 7               /* an operating-system call failed */
#define SLUICE_ERR_INTERNAL 8         /* a bug in sluice (please report it) */

/* The version of the library actually linked (SLUICE_VERSION_STRING is the
 * header's). Static string. */
SLUICE_API const char* sluice_version(void);
/* A short name for a status code, e.g. "channel full". Static string. */
SLUICE_API const char* sluice_errstr(int code);

typedef struct sluice_agent sluice_agent;

typedef struct sluice_header {
    const char* key;
    size_t key_len;
    const char* value;
    size_t value_len;
} sluice_header;

/* An event: headers (may be NULL when header_count is 0) and a body of bytes.
 * Everything it points to is owned by whoever made it: sluice copies what it
 * pushes before the push returns, and what it hands a callback is valid only
 * during the call. */
typedef struct sluice_event {
    const sluice_header* headers;
    size_t header_count;
    const void* body;
    size_t body_len;
} sluice_event;

/* Creates an empty agent. On success *out is a new handle, to be released
 * with sluice_agent_close. */
SLUICE_API int sluice_agent_new(sluice_agent** out);

/* Releases the agent (stopping it first if it runs). Accepts NULL and
 * *agent == NULL; sets *agent to NULL. Not from a callback. */
SLUICE_API void sluice_agent_close(sluice_agent** agent);

/* The message of the last failed call on this handle ("" if none). Owned by
 * the handle, valid until the next call on it. */
SLUICE_API const char* sluice_agent_errmsg(const sluice_agent* agent);

/* Functions for the pipeline language, registered before configure.
 * A map function writes its result and returns 1, or returns 0 to drop the
 * record; it writes at most out_cap bytes to out and sets *out_len (a longer
 * result is cut to out_cap, which is at least 64 KiB). A filter returns
 * non-zero to keep the record. `user` is passed back unchanged. */
typedef int (*sluice_map_fn)(void* user, const char* in, size_t in_len, char* out, size_t out_cap, size_t* out_len);
typedef int (*sluice_filter_fn)(void* user, const char* in, size_t in_len);
SLUICE_API int sluice_agent_register_map(sluice_agent* agent, const char* name, sluice_map_fn fn, void* user);
SLUICE_API int sluice_agent_register_filter(sluice_agent* agent, const char* name, sluice_filter_fn fn, void* user);

/* Reads `agent_name`'s configuration from Flume properties text. Every
 * problem is reported at once: SLUICE_ERR_CONFIG, with one problem per line
 * in errmsg. Only once per handle. */
SLUICE_API int sluice_agent_configure(sluice_agent* agent, const char* agent_name, const char* properties_text);

/* What a `callback` sink does with each event it takes. Return 0 to accept
 * it; any other value fails the sink's transaction: every event of the batch
 * stays in the channel and is delivered again later (at least once). */
typedef int (*sluice_sink_fn)(void* user, const sluice_event* event);

/* Sets the function of the `callback` sink named `sink_name` (after
 * configure, before start). SLUICE_ERR_NOT_FOUND if the configuration has no
 * such callback sink. Every callback sink needs one before start. */
SLUICE_API int sluice_agent_set_sink_callback(sluice_agent* agent, const char* sink_name, sluice_sink_fn fn,
                                              void* user);

/* Settings that `sluice agent` takes on its command line, before start:
 * "shards" (default: usable CPUs), "sluice.io" (auto, io_uring, epoll),
 * "sluice.drain.timeout" (e.g. 30s), "sluice.log.level". */
SLUICE_API int sluice_agent_set_property(sluice_agent* agent, const char* key, const char* value);

/* Starts channels, sinks, streams and sources. */
SLUICE_API int sluice_agent_start(sluice_agent* agent);

/* Puts one event into the `embedded` source `source_name`. Returns once the
 * event is committed to the source's channels (SLUICE_OK), or with
 * SLUICE_ERR_FULL after waiting up to the channel's keep-alive for room. */
SLUICE_API int sluice_agent_push(sluice_agent* agent, const char* source_name, const sluice_event* event);
/* As sluice_agent_push, but reports SLUICE_ERR_FULL at once instead of waiting. */
SLUICE_API int sluice_agent_try_push(sluice_agent* agent, const char* source_name, const sluice_event* event);
/* Puts `count` events, in order, waiting for room like sluice_agent_push;
 * *accepted (if not NULL) is how many were committed, a prefix of `events`. */
SLUICE_API int sluice_agent_push_batch(sluice_agent* agent, const char* source_name, const sluice_event* events,
                                       size_t count, size_t* accepted);

/* The counters of every component as Flume's /metrics JSON document. On
 * success *json is a NUL-terminated string the caller frees with sluice_free. */
SLUICE_API int sluice_agent_metrics_json(sluice_agent* agent, char** json);

/* Stops the sources, lets streams emit their last batches and sinks drain
 * the channels, then stops everything. Pushes after stop fail with
 * SLUICE_ERR_STATE. Not from a callback (SLUICE_ERR_WRONG_THREAD). */
SLUICE_API int sluice_agent_stop(sluice_agent* agent);

/* Frees memory sluice returned to the caller. Accepts NULL. */
SLUICE_API void sluice_free(void* p);

#ifdef __cplusplus
}
#endif

#endif /* SLUICE_H */
