/*
 * obs.c: observability wired into the broker: the tick that closes the
 * histogram slices and pushes to Redis, the HTTP routes, readiness, and
 * the series of the broker itself and of each backend.
 *
 *   /            the live page (page.html, embedded at build time)
 *   /healthz     200 while the loop runs: orchestrators restart on it
 *   /readyz      200 when every registry service is open, every port
 *                listens and the broker is not draining, else 503 with
 *                the reason
 *   /metrics     Prometheus text (export_prom.c)
 *   /stats.json  the host snapshot (export_json.c)
 */
#include "obs.h"

#include "broker.h"
#include "common.h"
#include "export.h"
#include "links.h"
#include "log.h"
#include "page.h"
#include "redis_keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

typedef struct obs {
    broker *br;
    uv_timer_t tick;
    broker_stats stats;
    stats_series *series;
    http_server *http;
    redis_conn *redis;
    uint64_t started_ms;
    int parts; /* handles and modules still closing */
} obs;

void obs_opts_default(obs_opts *o)
{
    *o = (obs_opts){
        .http = {.listen = OBS_DEFAULT_HTTP,
                 .max_conns = OBS_DEFAULT_HTTP_MAX_CONNS,
                 .timeout_ms = OBS_DEFAULT_HTTP_TIMEOUT_MS,
                 .max_header_bytes = OBS_DEFAULT_HTTP_MAX_HEADER_BYTES},
        .redis = {.timeout_ms = OBS_DEFAULT_REDIS_TIMEOUT_MS},
        .redis_stream_len = OBS_DEFAULT_REDIS_STREAM_LEN,
        .stats_interval_ms = OBS_DEFAULT_STATS_INTERVAL_MS,
        .stats_window_ms = OBS_DEFAULT_STATS_WINDOW_MS,
    };
}

static int http_on(const obs_opts *o) { return strcmp(o->http.listen, "off") != 0; }

size_t obs_fds(const obs_opts *o)
{
    size_t http = http_on(o) ? o->http.max_conns + 2 : 0; /* + listener, epoll */
    return http + (o->redis.url ? 1 : 0);
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------- readiness -- */

static int service_open(const broker *br, const char *name)
{
    for (size_t i = 0; i < br->nsvcs; i++) {
        if (strcmp(br->svcs[i]->name, name) == 0)
            return 1;
    }
    return 0;
}

/* Name the first registry service that is not open (and how many). */
static int missing_services(const broker *br, char *why, size_t len)
{
    size_t missing = br->reg->nservices - br->nsvcs;
    for (size_t i = 0; i < br->reg->nservices; i++) {
        const char *name = br->reg->services[i].name;
        if (!service_open(br, name))
            return ab_seterr(why, len, "service %s is not open%s", name,
                             missing > 1 ? " (and others: see the log)" : "");
    }
    return ab_seterr(why, len, "%zu services are not open", missing);
}

/* A port a service is attached to but that does not listen: its bind is
 * being retried (the port is still held, typically by the broker itself
 * after a reload moved it) or was given up. */
static int port_unbound(const front *f) { return f->svc && !f->bound; }

static size_t unbound_ports(const broker *br)
{
    size_t n = 0;
    for (const ab_list *l = ab_list_head(&br->fronts); l != &br->fronts; l = l->next)
        n += port_unbound(AB_CONTAINER_OF(l, front, link));
    return n;
}

/* Name the first unbound port, and why. */
static int unbound_reason(const broker *br, char *why, size_t len)
{
    for (const ab_list *l = ab_list_head(&br->fronts); l != &br->fronts; l = l->next) {
        const front *f = AB_CONTAINER_OF(l, front, link);
        if (!port_unbound(f))
            continue;
        if (f->bind_since)
            return ab_seterr(why, len, "service %s: port %d is not bound yet "
                             "(retrying: %s)", f->name, f->port, zmq_strerror(f->bind_errno));
        return ab_seterr(why, len, "service %s: port %d is not bound (%s; gave up, "
                         "SIGHUP retries)", f->name, f->port, zmq_strerror(f->bind_errno));
    }
    return AB_OK;
}

int obs_ready(const broker *br, char *why, size_t len)
{
    if (br->state != BROKER_RUNNING)
        return ab_seterr(why, len, "draining: the broker is shutting down");
    if (br->reg && br->nsvcs < br->reg->nservices)
        return missing_services(br, why, len);
    if (links_ready(br, why, len) != AB_OK)
        return AB_ERR;
    return unbound_reason(br, why, len);
}

/* ------------------------------------------------------------- series -- */

static void broker_refresh(stats_series *s)
{
    obs *o = s->owner;
    const broker *br = o->br;
    char why[AB_ERRLEN];
    o->stats.services = br->nsvcs;
    o->stats.held = br->pool.used;
    o->stats.held_bytes = br->pool.held_bytes;
    o->stats.partial_bytes = br->guard.partial_total;
    o->stats.unbound_ports = unbound_ports(br);
    o->stats.ready = obs_ready(br, why, sizeof why) == AB_OK;
}

void obs_reloaded(broker *br, int applied, int failed)
{
    obs *o = br->obs;
    if (!o)
        return;
    o->stats.reloads += applied;
    o->stats.reloads_partial += applied && failed;
    o->stats.reloads_rejected += !applied;
}

static void backend_refresh(stats_series *s)
{
    backend *be = s->owner;
    be->stats.inflight = (uint64_t)be->inflight;
    be->stats.zombies = uv_now(be->retry.loop) < be->zombies_until ? (uint64_t)be->zombies : 0;
    be->stats.up = (uint64_t)be->up;
}

void obs_backend_opened(backend *be)
{
    be->series = stats_series_open(&be->svc->br->stats, STATS_KIND_backend, be, &be->stats,
                                   backend_refresh, be->endpoint, be->svc->name);
}

/* -------------------------------------------------------------- export -- */

static void fill_info(const obs *o, export_info *info, char *why, size_t len)
{
    why[0] = '\0';
    *info = (export_info){
        .host = o->br->opts.host,
        .version = AB_VERSION,
        .pid = (long)getpid(),
        .now_ms = wall_ms(),
        .started_ms = o->started_ms,
        .ready = obs_ready(o->br, why, len) == AB_OK,
        .ready_why = why,
    };
}

static void route_page(void *ctx, http_reply *r)
{
    r->type = "text/html; charset=utf-8";
    r->static_body = page_html;
    r->static_len = page_html_len;
}

static void route_healthz(void *ctx, http_reply *r)
{
    obs *o = ctx;
    text_printf(&r->body, "ok state=%s uptime_s=%.0f\n",
                o->br->state == BROKER_RUNNING ? "running" : "draining",
                (double)(wall_ms() - o->started_ms) / 1000.0);
}

static void route_readyz(void *ctx, http_reply *r)
{
    obs *o = ctx;
    char why[AB_ERRLEN];
    if (obs_ready(o->br, why, sizeof why) == AB_OK) {
        text_puts(&r->body, "ready\n");
    } else {
        r->status = 503;
        text_printf(&r->body, "not ready: %s\n", why);
    }
}

static void route_metrics(void *ctx, http_reply *r)
{
    obs *o = ctx;
    export_info info;
    char why[AB_ERRLEN];
    fill_info(o, &info, why, sizeof why);
    r->type = "text/plain; version=0.0.4; charset=utf-8";
    export_prom(&o->br->stats, &info, &r->body);
}

static void route_stats(void *ctx, http_reply *r)
{
    obs *o = ctx;
    export_info info;
    char why[AB_ERRLEN];
    fill_info(o, &info, why, sizeof why);
    r->type = "application/json";
    export_json(&o->br->stats, &info, &r->body);
}

static const http_route routes[] = {
    {"/", route_page},
    {"/healthz", route_healthz},
    {"/readyz", route_readyz},
    {"/metrics", route_metrics},
    {"/stats.json", route_stats},
};

/* --------------------------------------------------------------- tick -- */

/* Called by redis_push only when the batch will be sent. */
static void build_batch(void *ctx, redis_sink *sink)
{
    obs *o = ctx;
    export_info info;
    char why[AB_ERRLEN];
    text_buf json;
    size_t len = 0;
    fill_info(o, &info, why, sizeof why);
    text_init(&json, HTTP_MAX_BODY);
    export_json(&o->br->stats, &info, &json);
    char *doc = text_take(&json, &len);
    if (!doc) {
        log_warn("redis: the snapshot did not fit in %u bytes; not pushed", HTTP_MAX_BODY);
        text_free(&json);
        return;
    }
    redis_keys k = {&o->br->stats, info.host, info.now_ms, doc, len,
                    o->br->opts.obs.redis_stream_len};
    redis_keys_batch(&k, sink);
    free(doc);
}

static void on_tick(uv_timer_t *t)
{
    obs *o = t->data;
    stats_reg_tick(&o->br->stats);
    if (o->redis)
        redis_push(o->redis, build_batch, o);
}

/* ---------------------------------------------------------- lifecycle -- */

static int start_parts(obs *o, char *err, size_t errlen)
{
    broker *br = o->br;
    const obs_opts *opt = &br->opts.obs;
    if (http_on(opt) &&
        http_open(br->loop, &opt->http, routes, AB_ARRAY_LEN(routes), o, &br->stats,
                  &o->http, err, errlen) != AB_OK)
        return AB_ERR;
    if (opt->redis.url &&
        redis_open(br->loop, &opt->redis, &br->stats, &o->redis, err, errlen) != AB_OK) {
        if (o->http) {
            http_close(o->http, NULL, NULL);
            o->http = NULL;
        }
        return AB_ERR;
    }
    return AB_OK;
}

int obs_open(broker *br, char *err, size_t errlen)
{
    obs *o = calloc(1, sizeof *o);
    if (!o)
        return ab_seterr(err, errlen, "out of memory");
    o->br = br;
    o->started_ms = wall_ms();
    if (start_parts(o, err, errlen) != AB_OK) {
        free(o);
        return AB_ERR;
    }
    o->series = stats_series_open(&br->stats, STATS_KIND_broker, o, &o->stats,
                                  broker_refresh, br->opts.host, NULL);
    uv_timer_init(br->loop, &o->tick);
    o->tick.data = o;
    if (br->stats.interval_ms)
        uv_timer_start(&o->tick, on_tick, br->stats.interval_ms, br->stats.interval_ms);
    br->obs = o;
    return AB_OK;
}

static void part_closed(void *arg)
{
    obs *o = arg;
    if (--o->parts == 0)
        free(o);
}

static void on_tick_closed(uv_handle_t *h) { part_closed(h->data); }

void obs_close(broker *br)
{
    obs *o = br->obs;
    if (!o)
        return;
    br->obs = NULL;
    o->parts = 1 + (o->http != NULL) + (o->redis != NULL);
    stats_series_close(o->series);
    if (o->http)
        http_close(o->http, part_closed, o);
    if (o->redis)
        redis_close(o->redis, part_closed, o);
    uv_close((uv_handle_t *)&o->tick, on_tick_closed);
}
