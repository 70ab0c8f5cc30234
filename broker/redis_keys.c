/*
 * redis_keys.c: the batch of commands pushed to Redis every interval (the
 * schema is in redis_keys.h and docs/stats.md). Hash fields and stream
 * entries are the flat views of the series (stats_visit), so they follow
 * the declarations in stats.h.
 */
#include "redis_keys.h"

#include "common.h"
#include "log.h"
#include "text.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ARGV_MAX 256

/* One command's arguments, built as NUL-separated text. */
typedef struct args {
    text_buf t;
    size_t off[ARGV_MAX], len[ARGV_MAX];
    int n;
} args;

static void args_reset(args *a)
{
    text_reset(&a->t);
    a->n = 0;
}

static void args_addf(args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void args_addf(args *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (a->n == ARGV_MAX || n < 0 || (size_t)n >= sizeof buf) {
        a->t.failed = 1;
        return;
    }
    a->off[a->n] = a->t.b.len;
    a->len[a->n++] = (size_t)n;
    text_add(&a->t, buf, (size_t)n + 1);
}

static void args_send(args *a, redis_sink *sink)
{
    const char *argv[ARGV_MAX];
    if (text_ok(&a->t) != AB_OK) {
        log_debug("redis: a command did not fit and was left out");
        return;
    }
    for (int i = 0; i < a->n; i++)
        argv[i] = (const char *)a->t.b.data + a->off[i];
    redis_cmd(sink, a->n, argv, a->len);
}

/* "agentbus:<host>:<kind>:<label>[:<label>]" */
static void series_key(const redis_keys *k, const stats_series *s, char *key, size_t len)
{
    if (s->kind->nlabels > 1)
        ab_strfmt(key, len, "%s:%s:%s:%s:%s", REDIS_KEY_PREFIX, k->host, s->kind->name,
                  s->label[0], s->label[1]);
    else
        ab_strfmt(key, len, "%s:%s:%s:%s", REDIS_KEY_PREFIX, k->host, s->kind->name,
                  s->label[0]);
}

/* Field/value pairs of a series' flat view. */
static void add_pair(void *ctx, const char *prefix, const char *name, const stats_val *v)
{
    args *a = ctx;
    char val[512];
    stats_val_format(v, val, sizeof val);
    args_addf(a, "%s%s%s", prefix ? prefix : "", prefix ? "_" : "", name);
    args_addf(a, "%s", val);
}

static uint64_t ttl_ms(const redis_keys *k)
{
    uint64_t t = REDIS_TTL_INTERVALS * k->reg->interval_ms;
    return t > REDIS_TTL_MIN_MS ? t : REDIS_TTL_MIN_MS;
}

static void push_expire(args *a, redis_sink *sink, const char *key, uint64_t ms)
{
    args_reset(a);
    args_addf(a, "PEXPIRE");
    args_addf(a, "%s", key);
    args_addf(a, "%" PRIu64, ms);
    args_send(a, sink);
}

static void push_hash(const redis_keys *k, stats_series *s, args *a, redis_sink *sink,
                      const char *key)
{
    args_reset(a);
    args_addf(a, "HSET");
    args_addf(a, "%s", key);
    stats_visit(s, STATS_VIEW_SNAPSHOT, add_pair, a);
    args_addf(a, "updated_ms");
    args_addf(a, "%" PRIu64, k->now_ms);
    args_send(a, sink);
    push_expire(a, sink, key, ttl_ms(k));
}

static void push_stream(const redis_keys *k, stats_series *s, args *a, redis_sink *sink,
                        const char *key)
{
    char skey[600];
    uint64_t life = (uint64_t)k->stream_len * k->reg->interval_ms;
    ab_strfmt(skey, sizeof skey, "%s:points", key);
    args_reset(a);
    args_addf(a, "XADD");
    args_addf(a, "%s", skey);
    args_addf(a, "MAXLEN");
    args_addf(a, "~");
    args_addf(a, "%ld", k->stream_len);
    args_addf(a, "*");
    stats_visit(s, STATS_VIEW_INTERVAL, add_pair, a);
    args_send(a, sink);
    push_expire(a, sink, skey, life > ttl_ms(k) ? life : ttl_ms(k));
}

static void push_series(const redis_keys *k, stats_series *s, args *a, redis_sink *sink)
{
    char key[512];
    series_key(k, s, key, sizeof key);
    push_hash(k, s, a, sink, key);
    if (s->kind->stream && s->timed)
        push_stream(k, s, a, sink, key);
}

/* The host's snapshot, its entry in the host index, and the PUBLISH. */
static void push_host(const redis_keys *k, redis_sink *sink)
{
    char key[256], score[32], cutoff[32], ttl[32], keep[32];
    ab_strfmt(key, sizeof key, "%s:%s:snapshot", REDIS_KEY_PREFIX, k->host);
    snprintf(score, sizeof score, "%" PRIu64, k->now_ms);
    snprintf(cutoff, sizeof cutoff, "(%" PRIu64, k->now_ms - REDIS_HOSTS_KEEP_MS);
    snprintf(ttl, sizeof ttl, "%" PRIu64, ttl_ms(k));
    snprintf(keep, sizeof keep, "%d", REDIS_HOSTS_KEEP_MS);
    const char *set[] = {"SET", key, k->snapshot, "PX", ttl};
    size_t setl[] = {3, strlen(key), k->snapshot_len, 2, strlen(ttl)};
    const char *zadd[] = {"ZADD", REDIS_HOSTS_KEY, score, k->host};
    const char *zrem[] = {"ZREMRANGEBYSCORE", REDIS_HOSTS_KEY, "-inf", cutoff};
    const char *exp[] = {"PEXPIRE", REDIS_HOSTS_KEY, keep};
    const char *pub[] = {"PUBLISH", REDIS_CHANNEL, k->snapshot};
    size_t publ[] = {7, strlen(REDIS_CHANNEL), k->snapshot_len};
    redis_cmd(sink, 5, set, setl);
    redis_cmd(sink, 4, zadd, NULL);
    redis_cmd(sink, 4, zrem, NULL);
    redis_cmd(sink, 3, exp, NULL);
    redis_cmd(sink, 3, pub, publ);
}

void redis_keys_batch(void *ctx, redis_sink *sink)
{
    const redis_keys *k = ctx;
    args a;
    text_init(&a.t, 1u << 20);
    for (size_t kind = 0; kind < STATS_NKINDS; kind++) {
        for (stats_series *s = stats_first(k->reg, kind); s; s = stats_next(k->reg, s))
            push_series(k, s, &a, sink);
    }
    push_host(k, sink);
    text_free(&a.t);
}
