/*
 * broker.c: the daemon as a whole. Owns the loop-wide pieces (ZMQ context,
 * scheduler, request pool), the live registry and the services built from
 * it, and the process lifecycle:
 *
 *   RUNNING --SIGTERM/SIGINT--> DRAINING --drained or --drain-ms--> CLOSING
 *      ^  |                        (new requests: unavailable)         |
 *      +--+ SIGHUP: reload                                       loop ends,
 *           SIGUSR1: log stats                                    exit 0
 */
#include "broker.h"

#include "common.h"
#include "log.h"
#include "sdnotify.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void begin_close(broker *br);

int broker_accepting(const broker *br) { return br->state == BROKER_RUNNING; }

/* ------------------------------------------------------------ reload -- */

static service *find_service(broker *br, const char *name)
{
    for (size_t i = 0; i < br->nsvcs; i++) {
        if (br->svcs[i] && strcmp(br->svcs[i]->name, name) == 0)
            return br->svcs[i];
    }
    return NULL;
}

/* Same knobs and same backends, in the same order. */
static int cfg_same(const reg_service *a, const reg_service *b)
{
    if (a->timeout_ms != b->timeout_ms || a->max_inflight != b->max_inflight ||
        a->queue_max != b->queue_max || a->max_msg_bytes != b->max_msg_bytes ||
        a->max_frames != b->max_frames || a->heartbeat_ms != b->heartbeat_ms ||
        a->nbackends != b->nbackends || strcmp(a->host, b->host) != 0)
        return 0;
    for (size_t i = 0; i < a->nbackends; i++) {
        if (strcmp(a->backends[i], b->backends[i]) != 0)
            return 0;
    }
    return 1;
}

/* Can svc carry on under cfg? Its socket identity (port, and whether it is
 * served here or elsewhere) must be unchanged; the rest can be updated. */
static int can_keep(const broker *br, const service *svc, const reg_service *cfg)
{
    int remote = strcmp(cfg->host, br->opts.host) != 0;
    return cfg->port == svc->cfg->port && remote == svc->remote;
}

typedef struct reload_counts {
    int added, removed, changed, failed;
} reload_counts;

/* Close every live service that cannot carry on under next. */
static void retire_services(broker *br, registry *next, reload_counts *c)
{
    for (size_t i = 0; i < br->nsvcs; i++) {
        service *svc = br->svcs[i];
        const reg_service *cfg = registry_service(next, svc->name);
        if (cfg && can_keep(br, svc, cfg))
            continue;
        log_info("reload remove service=%s port=%d", svc->name, svc->cfg->port);
        svc_close(svc, cfg ? "service was reconfigured by a reload"
                           : "service was removed from the registry",
                  NULL);
        br->svcs[i] = NULL;
        c->removed++;
    }
}

/* The service for cfg under the new registry: the kept one, updated, or a
 * newly opened one. NULL (logged) if it could not be had. */
static service *service_for(broker *br, const reg_service *cfg, reload_counts *c)
{
    char err[AB_ERRLEN];
    service *svc = find_service(br, cfg->name);
    if (svc) {
        int same = cfg_same(svc->cfg, cfg);
        if (svc_update(svc, cfg, err, sizeof err) == AB_OK) {
            c->changed += !same;
            return svc;
        }
        log_error("reload update failed service=%s: %s", svc->name, err);
        svc_close(svc, "service could not be reconfigured", NULL);
    } else if (svc_open(br, cfg, &svc, err, sizeof err) == AB_OK) {
        c->added++;
        log_info("listen service=%s port=%d", cfg->name, cfg->port);
        return svc;
    } else {
        log_error("reload %s", err);
    }
    c->failed++;
    return NULL;
}

/* Move the broker onto registry `next` (already validated). */
static void apply_registry(broker *br, registry *next)
{
    reload_counts c = {0};
    service **svcs = calloc(next->nservices ? next->nservices : 1, sizeof *svcs);
    if (!svcs) {
        log_error("reload failed: out of memory");
        registry_free(next);
        return;
    }
    retire_services(br, next, &c);
    size_t n = 0;
    for (size_t i = 0; i < next->nservices; i++) {
        service *svc = service_for(br, &next->services[i], &c);
        if (svc)
            svcs[n++] = svc;
    }
    free(br->svcs);
    br->svcs = svcs;
    br->nsvcs = n;
    registry_free(br->reg);
    br->reg = next;
    log_info("reload %s services=%zu added=%d removed=%d changed=%d failed=%d",
             c.failed ? "partial" : "ok", n, c.added, c.removed, c.changed, c.failed);
}

static void reload(broker *br)
{
    registry *next;
    char err[8192];
    log_info("reload registry=%s", br->opts.registry_path);
    if (registry_load(br->opts.registry_path, &next, err, sizeof err) != AB_OK) {
        log_error("reload failed: registry rejected, still serving the previous one");
        log_lines(LOG_ERROR, "reload failed: ", err);
        return;
    }
    if (!registry_host(next, br->opts.host)) {
        log_error("reload failed: host '%s' is not in the new registry, still "
                  "serving the previous one", br->opts.host);
        registry_free(next);
        return;
    }
    apply_registry(br, next);
}

/* ---------------------------------------------------------- shutdown -- */

static size_t pending(const broker *br) { return br->pool.used; }

/* Drain over (all answered, or --drain-ms passed): answer what is left,
 * then close everything. */
static void on_drain_timer(uv_timer_t *t)
{
    broker *br = t->data;
    if (br->state != BROKER_DRAINING)
        return;
    br->abandoned = pending(br);
    for (size_t i = 0; i < br->nsvcs; i++)
        svc_fail_all(br->svcs[i], ERR_UNAVAILABLE,
                     "broker shut down before the backend replied");
    log_info("exit drained=%zu abandoned=%zu", br->drain_start - br->abandoned,
             br->abandoned);
    begin_close(br);
}

void broker_request_done(broker *br)
{
    /* Never finish shutdown from inside a reply path: defer to the loop. */
    if (br->state == BROKER_DRAINING && pending(br) == 0)
        uv_timer_start(&br->drain_timer, on_drain_timer, 0, 0);
}

static void start_drain(broker *br, const char *signame)
{
    br->state = BROKER_DRAINING;
    br->drain_start = pending(br);
    log_info("shutdown signal=%s pending=%zu drain_ms=%d", signame,
             br->drain_start, br->opts.drain_ms);
    uv_timer_start(&br->drain_timer, on_drain_timer,
                   br->drain_start ? (uint64_t)br->opts.drain_ms : 0, 0);
}

static void on_stop_signal(uv_signal_t *h, int signum)
{
    broker *br = h->data;
    const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
    if (br->state == BROKER_RUNNING) {
        start_drain(br, name);
    } else if (br->state == BROKER_DRAINING) {
        log_warn("second %s: abandoning the drain", name);
        uv_timer_start(&br->drain_timer, on_drain_timer, 0, 0);
    }
}

static void on_hup(uv_signal_t *h, int signum)
{
    broker *br = h->data;
    if (br->state == BROKER_RUNNING)
        reload(br);
}

static void on_usr1(uv_signal_t *h, int signum)
{
    broker *br = h->data;
    for (size_t i = 0; i < br->nsvcs; i++)
        svc_log_stats(br->svcs[i]);
}

static void close_handle(void *h) { uv_close((uv_handle_t *)h, NULL); }

static void begin_close(broker *br)
{
    br->state = BROKER_CLOSING;
    for (size_t i = 0; i < br->nsvcs; i++)
        svc_close(br->svcs[i], "broker is shutting down", NULL);
    br->nsvcs = 0;
    close_handle(&br->sig_term);
    close_handle(&br->sig_int);
    close_handle(&br->sig_hup);
    close_handle(&br->sig_usr1);
    close_handle(&br->drain_timer);
    zsock_sched_close(&br->sched);
}

/* -------------------------------------------------------------- init -- */

static void watch_signal(broker *br, uv_signal_t *h, uv_signal_cb cb, int signum)
{
    uv_signal_init(br->loop, h);
    h->data = br;
    uv_signal_start(h, cb, signum);
}

/* Open every service of the registry; on failure the ones opened so far
 * are closed again (asynchronously: the caller runs the loop down). */
static int open_services(broker *br, char *err, size_t errlen)
{
    br->svcs = calloc(br->reg->nservices ? br->reg->nservices : 1, sizeof *br->svcs);
    if (!br->svcs)
        return ab_seterr(err, errlen, "out of memory");
    for (size_t i = 0; i < br->reg->nservices; i++) {
        const reg_service *cfg = &br->reg->services[i];
        if (svc_open(br, cfg, &br->svcs[i], err, errlen) != AB_OK)
            return AB_ERR;
        br->nsvcs++;
        log_info("listen service=%s port=%d backends=%zu%s", cfg->name, cfg->port,
                 cfg->nbackends, br->svcs[i]->remote ? " remote" : "");
    }
    return AB_OK;
}

static int load_registry(broker *br, char *err, size_t errlen)
{
    if (registry_load(br->opts.registry_path, &br->reg, err, errlen) != AB_OK)
        return AB_ERR;
    if (!registry_host(br->reg, br->opts.host))
        return ab_seterr(err, errlen, "%s: host '%s' is not listed under hosts:",
                         br->opts.registry_path, br->opts.host);
    return AB_OK;
}

int broker_init(broker *br, uv_loop_t *loop, const broker_opts *opts,
                char *err, size_t errlen)
{
    memset(br, 0, sizeof *br);
    br->loop = loop;
    br->opts = *opts;
    reqpool_init(&br->pool, opts->max_requests);
    if (load_registry(br, err, errlen) != AB_OK)
        return AB_ERR;
    br->zctx = zmq_ctx_new();
    if (!br->zctx || zsock_sched_init(loop, &br->sched, opts->io_batch) != AB_OK)
        return ab_seterr(err, errlen, "cannot create the ZMQ context or loop handles");
    uv_timer_init(loop, &br->drain_timer);
    br->drain_timer.data = br;
    watch_signal(br, &br->sig_term, on_stop_signal, SIGTERM);
    watch_signal(br, &br->sig_int, on_stop_signal, SIGINT);
    watch_signal(br, &br->sig_hup, on_hup, SIGHUP);
    watch_signal(br, &br->sig_usr1, on_usr1, SIGUSR1);
    if (open_services(br, err, errlen) != AB_OK) {
        begin_close(br);
        return AB_ERR;
    }
    log_info("ready host=%s services=%zu registry=%s", opts->host, br->nsvcs,
             opts->registry_path);
    sdnotify_ready();
    return AB_OK;
}

void broker_free(broker *br)
{
    if (br->zctx) {
        uv_run(br->loop, UV_RUN_DEFAULT); /* let pending closes finish */
        zmq_ctx_term(br->zctx);           /* waits out front-socket linger */
    }
    registry_free(br->reg);
    reqpool_free(&br->pool);
    free(br->svcs);
    memset(br, 0, sizeof *br);
}

int broker_run(broker *br)
{
    uv_run(br->loop, UV_RUN_DEFAULT);
    broker_free(br);
    return 0;
}
