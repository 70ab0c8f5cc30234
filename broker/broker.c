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
#include "links.h"
#include "sizing.h"
#include "log.h"
#include "sdnotify.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static void begin_close(broker *br);

int broker_accepting(const broker *br) { return br->state == BROKER_RUNNING; }

/* ------------------------------------------------------------ fronts -- */

service *broker_service(broker *br, const char *name)
{
    for (size_t i = 0; i < br->nsvcs; i++) {
        if (br->svcs[i] && strcmp(br->svcs[i]->name, name) == 0)
            return br->svcs[i];
    }
    return NULL;
}

front *broker_front(broker *br, int port, const char *name, int retry, char *err,
                    size_t errlen)
{
    front *f = front_find(br, port);
    if (!f && front_open(br, port, name, retry, &f, err, errlen) != AB_OK)
        return NULL;
    return f;
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
        reload_request(br);
}

static void on_usr1(uv_signal_t *h, int signum)
{
    broker *br = h->data;
    stats_reg_log(&br->stats); /* stats hook */
}

static void close_handle(void *h) { uv_close((uv_handle_t *)h, NULL); }

static void begin_close(broker *br)
{
    br->state = BROKER_CLOSING;
    for (size_t i = 0; i < br->nsvcs; i++)
        svc_close(br->svcs[i], "broker is shutting down", NULL);
    br->nsvcs = 0;
    links_close(br);
    while (!ab_list_empty(&br->fronts))
        front_close(AB_CONTAINER_OF(ab_list_head(&br->fronts), front, link));
    guard_close(&br->guard);
    obs_close(br); /* stats hook */
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

/* Open every service of the registry and bind its port; on failure the
 * ones opened so far are closed again (asynchronously: the caller runs the
 * loop down). */
static int open_services(broker *br, char *err, size_t errlen)
{
    char why[AB_ERRLEN];
    br->svcs = calloc(br->reg->nservices ? br->reg->nservices : 1, sizeof *br->svcs);
    if (!br->svcs)
        return ab_seterr(err, errlen, "out of memory");
    for (size_t i = 0; i < br->reg->nservices; i++) {
        const reg_service *cfg = &br->reg->services[i];
        front *f = broker_front(br, cfg->port, cfg->name, 0, err, errlen);
        if (!f)
            return AB_ERR;
        if (svc_open(br, cfg, &br->svcs[i], why, sizeof why) != AB_OK)
            return ab_seterr(err, errlen, "service=%s: %s", cfg->name, why);
        br->nsvcs++;
        front_attach(f, br->svcs[i]);
        log_info("listen service=%s port=%d backends=%zu%s", cfg->name, cfg->port,
                 cfg->nbackends, br->svcs[i]->remote ? " remote" : "");
    }
    return AB_OK;
}

/* The link key, if one was given or the registry needs one (links.h). */
static int load_key(broker *br, char *err, size_t errlen)
{
    const broker_opts *o = &br->opts;
    char fp[KEYS_FINGERPRINT_LEN];
    if (links_load_key(o->secret_key, br->reg, o->host, o->link_plaintext, &br->key,
                       &br->has_key, err, errlen) != AB_OK)
        return AB_ERR;
    if (br->has_key) {
        keys_fingerprint(br->key.public_key, fp);
        log_info("secret_key file=%s host=%s public_key=%s fingerprint=%s",
                 o->secret_key, br->key.host, br->key.public_z85, fp);
    }
    return AB_OK;
}

/* The registry, checked against this host, its key and the process's
 * limits. */
static int load_registry(broker *br, char *err, size_t errlen)
{
    if (registry_load(br->opts.registry_path, &br->reg, err, errlen) != AB_OK)
        return AB_ERR;
    if (!registry_host(br->reg, br->opts.host))
        return ab_seterr(err, errlen, "%s: host '%s' is not listed under hosts:",
                         br->opts.registry_path, br->opts.host);
    if (load_key(br, err, errlen) != AB_OK)
        return AB_ERR;
    br->max_sockets = sizing_context_sockets(br->reg, br->opts.host);
    return sizing_fit(br->reg, br->opts.host, br->max_sockets, obs_fds(&br->opts.obs),
                      err, errlen);
}

/* The ZMQ context, sized before its first socket (ZMQ_MAX_SOCKETS cannot
 * change after that). */
static int open_context(broker *br, char *err, size_t errlen)
{
    br->zctx = zmq_ctx_new();
    if (!br->zctx || zmq_ctx_set(br->zctx, ZMQ_MAX_SOCKETS, br->max_sockets) != 0)
        return ab_seterr(err, errlen, "cannot create the ZMQ context for %d sockets: %s",
                         br->max_sockets, zmq_strerror(errno));
    return AB_OK;
}

int broker_init(broker *br, uv_loop_t *loop, const broker_opts *opts,
                char *err, size_t errlen)
{
    memset(br, 0, sizeof *br);
    br->loop = loop;
    br->opts = *opts;
    ab_list_init(&br->fronts);
    ab_list_init(&br->peers);
    ab_list_init(&br->old_peers);
    reqpool_init(&br->pool, opts->max_requests);
    stats_reg_init(&br->stats, opts->obs.stats_interval_ms,
                   opts->obs.stats_window_ms); /* stats hook */
    if (load_registry(br, err, errlen) != AB_OK || open_context(br, err, errlen) != AB_OK)
        return AB_ERR;
    if (zsock_sched_init(loop, &br->sched, opts->io_batch) != AB_OK ||
        guard_init(&br->guard, loop, opts->guard_ms, opts->partial_ms, opts->max_memory,
                   &br->pool.held_bytes) != AB_OK)
        return ab_seterr(err, errlen, "cannot create the loop handles");
    uv_timer_init(loop, &br->drain_timer);
    br->drain_timer.data = br;
    watch_signal(br, &br->sig_term, on_stop_signal, SIGTERM);
    watch_signal(br, &br->sig_int, on_stop_signal, SIGINT);
    watch_signal(br, &br->sig_hup, on_hup, SIGHUP);
    watch_signal(br, &br->sig_usr1, on_usr1, SIGUSR1);
    /* Links first: services find their peer, and the ZAP handler runs
     * before the link server binds. */
    if (links_open(br, err, errlen) != AB_OK || open_services(br, err, errlen) != AB_OK ||
        obs_open(br, err, errlen) != AB_OK) { /* stats hook: obs_open */
        begin_close(br);
        return AB_ERR;
    }
    log_info("ready host=%s services=%zu registry=%s sockets=%zu max_sockets=%d",
             opts->host, br->nsvcs, opts->registry_path,
             sizing_sockets(br->reg, opts->host), br->max_sockets);
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
    keys_wipe(&br->key);
    memset(br, 0, sizeof *br);
}

int broker_run(broker *br)
{
    uv_run(br->loop, UV_RUN_DEFAULT);
    broker_free(br);
    return 0;
}
