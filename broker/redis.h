/*
 * redis.h: a best-effort connection to Redis on the libuv loop, pushing one
 * pipelined batch of commands per call. The broker never waits for Redis:
 * a batch that cannot be sent at once is dropped and counted, never queued.
 *
 * hiredis 0.14 (async API) reads and writes; everything it lacks is here:
 *   - our own loop adapter, which turns poll errors into a disconnect (the
 *     bundled libuv adapter ignores them);
 *   - name resolution off the loop (uv_getaddrinfo), then a numeric
 *     connect, so a slow DNS server never stalls the broker;
 *   - a fresh context for every attempt, with exponential backoff
 *     (REDIS_BACKOFF_MIN_MS .. REDIS_BACKOFF_MAX_MS);
 *   - watchdogs: name resolution, connect and every batch's replies must
 *     complete within timeout_ms, else the connection is dropped;
 *   - at most one batch in flight: a push while the previous batch is
 *     unanswered, or while disconnected, is dropped (stat `dropped`).
 * Its own statistics are a series of kind redis (stats.h).
 *
 * The URL and password are read by redis_target.h: the password from
 * password_file or $AGENTBUS_REDIS_PASSWORD, never from the URL.
 */
#ifndef AB_REDIS_H
#define AB_REDIS_H

#include "stats.h"

#include <stddef.h>
#include <uv.h>

#define REDIS_BACKOFF_MIN_MS 100
#define REDIS_BACKOFF_MAX_MS 5000

typedef struct redis_opts {
    const char *url;           /* redis://[USER@]HOST[:PORT][/DB] */
    const char *password_file; /* NULL: $AGENTBUS_REDIS_PASSWORD, if set */
    unsigned timeout_ms;
} redis_opts;

typedef struct redis_conn redis_conn;

/* Where a batch builder appends its commands. */
typedef struct redis_sink redis_sink;
void redis_cmd(redis_sink *sink, int argc, const char **argv, const size_t *lens);

typedef void (*redis_build_fn)(void *ctx, redis_sink *sink);

/* Parse the options and start connecting. AB_ERR: bad URL or password file
 * (err says which); nothing is left behind. */
int redis_open(uv_loop_t *loop, const redis_opts *o, stats_reg *reg,
               redis_conn **out, char *err, size_t errlen);
/* Send the batch fn builds now, or drop it (counted) without calling fn. */
void redis_push(redis_conn *rc, redis_build_fn fn, void *ctx);
/* Asynchronous; cb(arg) runs once everything is released. */
void redis_close(redis_conn *rc, void (*cb)(void *arg), void *arg);

#endif
