/*
 * obs.h: observability, wired into the broker. obs.c owns the stats tick,
 * the HTTP endpoint (/, /healthz, /readyz, /metrics, /stats.json) and the
 * push to Redis, started after the services are bound and stopped with
 * them. The request path reaches it only through the small hooks below and
 * stats_clock()/stats_record_since() (stats.h); each call site is marked
 * "stats hook".
 */
#ifndef AB_OBS_H
#define AB_OBS_H

#include "backend.h"
#include "http.h"
#include "redis.h"
#include "request.h"
#include "stats.h"

#define OBS_DEFAULT_HTTP "127.0.0.1:7780"
#define OBS_DEFAULT_HTTP_MAX_CONNS 32
#define OBS_DEFAULT_HTTP_TIMEOUT_MS 10000
#define OBS_DEFAULT_HTTP_MAX_HEADER_BYTES 16384
#define OBS_DEFAULT_STATS_INTERVAL_MS 1000
#define OBS_DEFAULT_STATS_WINDOW_MS 60000
#define OBS_DEFAULT_REDIS_STREAM_LEN 600
#define OBS_DEFAULT_REDIS_TIMEOUT_MS 2000

typedef struct obs_opts {
    http_opts http;            /* listen "off": no HTTP endpoint */
    redis_opts redis;          /* url NULL: no Redis */
    long redis_stream_len;
    unsigned stats_interval_ms; /* 0: histograms off (and no Redis) */
    unsigned stats_window_ms;
} obs_opts;

struct broker;

void obs_opts_default(obs_opts *o);
/* Start the tick, the HTTP endpoint and the Redis push (services are bound
 * by now). AB_ERR (err filled): nothing was started. */
int obs_open(struct broker *br, char *err, size_t errlen);
/* Stop everything obs_open started (asynchronous; freed by the loop). */
void obs_close(struct broker *br);
/* What /readyz answers: AB_OK, or AB_ERR with the reason in why. */
int obs_ready(const struct broker *br, char *why, size_t len);
/* File descriptors o may hold at most (HTTP connections, listener and
 * poller, the Redis connection), for the process's fd budget (sizing.h). */
size_t obs_fds(const obs_opts *o);

/* A reload ended: applied (with `failed` services left out, see the log),
 * or refused (applied 0: the previous registry keeps serving). stats hook */
void obs_reloaded(struct broker *br, int applied, int failed);

/* ------------------------------------------------ request-path hooks -- */

void obs_backend_opened(backend *be);

static inline void obs_backend_sent(backend *be, request *r)
{
    r->t_sent = stats_clock(be->series);
    be->stats.sent++;
}

/* be answered r (in time): its in-flight time. */
static inline void obs_backend_replied(backend *be, request *r)
{
    stats_record_since(be->series, HIST_backend_inflight_time, r->t_sent);
    be->stats.replies++;
}

#endif
