/*
 * reload.c: SIGHUP (see reload.h): the load on a worker thread, then, on
 * the loop, moving the live services and fronts onto the new registry.
 *
 * Applying never re-binds a port that stays in use: services first leave
 * the fronts of ports they no longer have (their pending requests keep
 * going and are answered through the front they came from), then each is
 * attached to the front of its new port, opened only if no front has it.
 * So a host change keeps the port, and a port swap keeps both sockets.
 */
#include "broker.h"

#include "common.h"
#include "links.h"
#include "sizing.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

typedef struct reload_counts {
    int added, removed, changed, failed;
} reload_counts;

/* ------------------------------------------------------------ apply -- */

/* Same port, host, knobs and backends (in the same order). */
static int cfg_same(const reg_service *a, const reg_service *b)
{
    if (a->port != b->port || a->timeout_ms != b->timeout_ms ||
        a->max_inflight != b->max_inflight || a->queue_max != b->queue_max ||
        a->max_msg_bytes != b->max_msg_bytes || a->max_frames != b->max_frames ||
        a->heartbeat_ms != b->heartbeat_ms || a->max_per_client != b->max_per_client ||
        a->pipeline_ms != b->pipeline_ms || a->transcode != b->transcode ||
        a->nbackends != b->nbackends || strcmp(a->host, b->host) != 0)
        return 0;
    for (size_t i = 0; i < a->nbackends; i++) {
        if (strcmp(a->backends[i], b->backends[i]) != 0)
            return 0;
    }
    return 1;
}

static void close_service(service *svc, const char *why)
{
    if (svc->fr)
        front_attach(svc->fr, NULL);
    svc_close(svc, why, NULL);
}

/* Close the services next does not have; detach from its front every
 * service whose port changes (it is attached again in place_service). */
static void retire_and_detach(broker *br, registry *next, reload_counts *c)
{
    for (size_t i = 0; i < br->nsvcs; i++) {
        service *svc = br->svcs[i];
        const reg_service *cfg = registry_service(next, svc->name);
        if (!cfg) {
            log_info("reload remove service=%s port=%d", svc->name, svc->cfg->port);
            close_service(svc, "service was removed from the registry");
            br->svcs[i] = NULL;
            c->removed++;
        } else if (svc->fr && cfg->port != svc->fr->port) {
            front_attach(svc->fr, NULL);
        }
    }
}

/* Attach svc (whose config is cfg) to its port's front if it has none. */
static int place(broker *br, service *svc, const reg_service *cfg)
{
    char err[AB_ERRLEN];
    if (svc->fr)
        return AB_OK;
    front *f = broker_front(br, cfg->port, cfg->name, 1, err, sizeof err);
    if (!f) {
        log_error("reload %s", err);
        return AB_ERR;
    }
    front_attach(f, svc);
    return AB_OK;
}

/* The service for cfg under the new registry: the kept one, updated, or a
 * newly opened one, attached to its front. NULL (logged) if it could not
 * be had. */
static service *service_for(broker *br, const reg_service *cfg, reload_counts *c)
{
    char err[AB_ERRLEN];
    service *svc = broker_service(br, cfg->name);
    if (svc) {
        int same = cfg_same(svc->cfg, cfg);
        if (svc_update(svc, cfg, err, sizeof err) != AB_OK) {
            log_error("reload update failed service=%s: %s", svc->name, err);
            close_service(svc, "service could not be reconfigured");
            c->failed++;
            return NULL;
        }
        c->changed += !same;
    } else if (svc_open(br, cfg, &svc, err, sizeof err) == AB_OK) {
        c->added++;
        log_info("listen service=%s port=%d", cfg->name, cfg->port);
    } else {
        log_error("reload service=%s: %s", cfg->name, err);
        c->failed++;
        return NULL;
    }
    if (place(br, svc, cfg) != AB_OK) {
        close_service(svc, "service's port could not be bound");
        c->failed++;
        return NULL;
    }
    return svc;
}

static int fronts_binding(broker *br)
{
    int n = 0;
    for (ab_list *l = ab_list_head(&br->fronts); l != &br->fronts; l = l->next)
        n += !AB_CONTAINER_OF(l, front, link)->bound;
    return n;
}

/* Move the broker onto registry `next` (validated and checked) and the
 * link key loaded with it. Links are placed around the services: new
 * peers before (services find them), old ones after (their requests in
 * flight are answered). */
static void apply(broker *br, registry *next, reloader *rl)
{
    reload_counts c = {0};
    service **svcs = calloc(next->nservices ? next->nservices : 1, sizeof *svcs);
    if (!svcs) {
        log_error("reload failed: out of memory");
        registry_free(next);
        obs_reloaded(br, 0, 0); /* stats hook */
        return;
    }
    links_reload_begin(br, next, &rl->key, rl->has_key);
    br->placing = 1;
    retire_and_detach(br, next, &c);
    size_t n = 0;
    for (size_t i = 0; i < next->nservices; i++) {
        service *svc = service_for(br, &next->services[i], &c);
        if (svc)
            svcs[n++] = svc;
    }
    br->placing = 0;
    links_reload_end(br, next);
    front_sweep(br);
    free(br->svcs);
    br->svcs = svcs;
    br->nsvcs = n;
    registry_free(br->reg);
    br->reg = next;
    log_info("reload %s services=%zu added=%d removed=%d changed=%d failed=%d binding=%d",
             c.failed ? "partial" : "ok", n, c.added, c.removed, c.changed, c.failed,
             fronts_binding(br));
    obs_reloaded(br, 1, c.failed); /* stats hook */
}

/* ------------------------------------------------------------- load -- */

/* On the worker thread: only the files and what is built from them. The
 * key file is read again and checked against the new registry: a
 * registry that no longer lists this host's key is refused. */
static void load_work(uv_work_t *w)
{
    broker *br = w->data;
    reloader *rl = &br->reload;
    const broker_opts *o = &br->opts;
    rl->rc = registry_load(o->registry_path, &rl->next, rl->err, sizeof rl->err);
    if (rl->rc != AB_OK || !registry_host(rl->next, o->host))
        return; /* the unknown host is reported on the loop */
    rl->rc = links_load_key(o->secret_key, rl->next, o->host, o->link_plaintext,
                            &rl->key, &rl->has_key, rl->err, sizeof rl->err);
    if (rl->rc != AB_OK) {
        registry_free(rl->next);
        rl->next = NULL;
    }
}

/* A loaded registry the daemon can serve: its host listed, its sockets
 * and fds within the limits. Logs why not. */
static int acceptable(broker *br, registry *next)
{
    char err[AB_ERRLEN];
    if (!registry_host(next, br->opts.host)) {
        log_error("reload failed: host '%s' is not in the new registry, still "
                  "serving the previous one", br->opts.host);
        return AB_ERR;
    }
    if (sizing_fit(next, br->opts.host, br->max_sockets, obs_fds(&br->opts.obs), err,
                   sizeof err) != AB_OK) {
        log_error("reload failed: %s; still serving the previous one", err);
        return AB_ERR;
    }
    return AB_OK;
}

static void start_load(broker *br);

static void load_done(uv_work_t *w, int status)
{
    broker *br = w->data;
    reloader *rl = &br->reload;
    registry *next = rl->next;
    rl->busy = 0;
    rl->next = NULL;
    if (!broker_accepting(br)) {
        log_info("reload discarded: the broker is shutting down");
        registry_free(next);
        keys_wipe(&rl->key);
        return;
    }
    if (status != 0 || rl->rc != AB_OK) {
        log_error("reload failed: registry rejected, still serving the previous one");
        log_lines(LOG_ERROR, "reload failed: ", rl->err);
        obs_reloaded(br, 0, 0); /* stats hook */
    } else if (acceptable(br, next) != AB_OK) {
        registry_free(next);
        obs_reloaded(br, 0, 0); /* stats hook */
    } else {
        apply(br, next, rl);
    }
    keys_wipe(&rl->key);
    if (rl->again) {
        rl->again = 0;
        start_load(br);
    }
}

static void start_load(broker *br)
{
    reloader *rl = &br->reload;
    log_info("reload registry=%s", br->opts.registry_path);
    rl->work.data = br;
    rl->next = NULL;
    rl->err[0] = '\0';
    if (uv_queue_work(br->loop, &rl->work, load_work, load_done) != 0) {
        log_error("reload failed: cannot queue the load");
        return;
    }
    rl->busy = 1;
}

void reload_request(broker *br)
{
    if (br->reload.busy)
        br->reload.again = 1;
    else
        start_load(br);
}
