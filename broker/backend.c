/*
 * backend.c: a backend endpoint: its DEALER, the monitor that tells us when
 * it is up or gone, and the list of requests it holds.
 */
#include "backend.h"

#include "broker.h"
#include "common.h"
#include "log.h"
#include "obs.h"
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* After libzmq refuses a send (a race between the monitor saying "up" and
 * the pipe being attached, or a full pipe), wait this long before trying the
 * backend again. Short: it only covers a transient. */
#define BACKEND_RETRY_MS 10

/* Reply frames a backend message may have: [id][empty] + body frames. */
#define BACKEND_REPLY_EXTRA 2

static void on_zsock_closed(zsock *zs);

static void on_reply(zsock *zs, msgv *m)
{
    backend *be = zs->data;
    svc_on_reply(be->svc, be, m);
}

/* Monitor messages are [event u16 + value u32][endpoint]. */
static void on_monitor(zsock *zs, msgv *m)
{
    backend *be = zs->data;
    uint16_t event;
    if (m->n < 1 || msgv_size(m, 0) < sizeof event)
        return;
    memcpy(&event, msgv_data(m, 0), sizeof event);
    if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        be->up = 1;
        log_info("backend up service=%s endpoint=%s", be->svc->name, be->endpoint);
        svc_dispatch(be->svc);
    } else if (event == ZMQ_EVENT_DISCONNECTED && be->up) {
        be->up = 0;
        log_warn("backend down service=%s endpoint=%s inflight=%d",
                 be->svc->name, be->endpoint, be->inflight);
        /* Replies that made it here before the drop are real replies. */
        zsock_drain(&be->dealer);
        svc_backend_lost(be->svc, be, "disconnected before replying");
    }
}

static void on_retry(uv_timer_t *t)
{
    backend *be = t->data;
    be->stalled = 0;
    svc_dispatch(be->svc);
}

/* Socket options for the DEALER facing one backend. IMMEDIATE makes a send
 * fail instead of queueing for a backend that is not connected, and drops
 * queued requests when it disconnects, so nothing is delivered to a
 * restarted backend long after the client got its error. */
static int set_dealer_options(void *sock, const reg_service *cfg)
{
    int one = 1, zero = 0;
    int hwm = cfg->max_inflight * 2 > 1000 ? cfg->max_inflight * 2 : 1000;
    int64_t maxmsg = (int64_t)cfg->max_msg_bytes * 2;
    int rc = zmq_setsockopt(sock, ZMQ_IMMEDIATE, &one, sizeof one);
    rc |= zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    rc |= zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    rc |= zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (cfg->heartbeat_ms > 0) {
        int timeout = cfg->heartbeat_ms * 3;
        rc |= zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &cfg->heartbeat_ms,
                             sizeof cfg->heartbeat_ms);
        rc |= zmq_setsockopt(sock, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof timeout);
    }
    return rc == 0 ? AB_OK : AB_ERR;
}

/* Create the DEALER (not connected yet: see open_sockets). */
static int open_dealer(backend *be, broker *br, const reg_service *cfg,
                       char *err, size_t errlen)
{
    size_t frames = (size_t)cfg->max_frames + BACKEND_REPLY_EXTRA;
    if (zsock_init(&br->sched, &be->dealer, br->zctx, ZMQ_DEALER, frames,
                   err, errlen) != AB_OK)
        return AB_ERR;
    be->dealer.data = be;
    if (set_dealer_options(be->dealer.sock, cfg) != AB_OK) {
        ab_seterr(err, errlen, "backend %s: options: %s", be->endpoint,
                  zmq_strerror(errno));
        zsock_discard(&be->dealer);
        return AB_ERR;
    }
    return AB_OK;
}

/* Wire a monitor PAIR to the dealer on a per-backend inproc address. */
static int open_monitor(backend *be, broker *br, char *err, size_t errlen)
{
    static unsigned long seq;
    char addr[64];
    snprintf(addr, sizeof addr, "inproc://agentbus-monitor-%lu", ++seq);
    if (zmq_socket_monitor(be->dealer.sock, addr,
                           ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED) != 0)
        return ab_seterr(err, errlen, "zmq_socket_monitor: %s", zmq_strerror(errno));
    if (zsock_init(&br->sched, &be->monitor, br->zctx, ZMQ_PAIR, 2, err, errlen) != AB_OK)
        return AB_ERR;
    be->monitor.data = be;
    if (zmq_connect(be->monitor.sock, addr) != 0) {
        ab_seterr(err, errlen, "monitor connect: %s", zmq_strerror(errno));
        zsock_discard(&be->monitor);
        return AB_ERR;
    }
    return AB_OK;
}

/* Create both sockets; every fallible ZMQ step happens here, before
 * anything is registered with the loop, so failure is undone in place.
 * The dealer connects only once the monitor is attached: a handshake that
 * completed before would emit its "up" event to nobody, and the backend
 * would look down until its next reconnect. */
static int open_sockets(backend *be, broker *br, char *err, size_t errlen)
{
    if (open_dealer(be, br, be->svc->cfg, err, errlen) != AB_OK)
        return AB_ERR;
    if (open_monitor(be, br, err, errlen) != AB_OK) {
        zsock_discard(&be->dealer);
        return AB_ERR;
    }
    if (zmq_connect(be->dealer.sock, be->endpoint) != 0) {
        ab_seterr(err, errlen, "backend %s: %s", be->endpoint, zmq_strerror(errno));
        zsock_discard(&be->monitor);
        zsock_discard(&be->dealer);
        return AB_ERR;
    }
    return AB_OK;
}

/* Register both sockets and the retry timer with the loop. The only
 * failure left is the monitor's poll after the dealer's: then the dealer
 * must be closed asynchronously, and its close frees be (no callback). */
static int start_watching(backend *be, broker *br, char *err, size_t errlen)
{
    if (zsock_start(&be->dealer, on_reply, err, errlen) != AB_OK) {
        zsock_discard(&be->monitor);
        zsock_discard(&be->dealer);
        free(be->endpoint);
        free(be);
        return AB_ERR;
    }
    if (zsock_start(&be->monitor, on_monitor, err, errlen) != AB_OK) {
        zsock_discard(&be->monitor);
        be->open_handles = 1;
        zsock_close(&be->dealer, on_zsock_closed);
        return AB_ERR;
    }
    uv_timer_init(br->loop, &be->retry);
    be->retry.data = be;
    be->open_handles = 3;
    return AB_OK;
}

int backend_open(service *svc, const char *endpoint, backend **out,
                 char *err, size_t errlen)
{
    backend *be = calloc(1, sizeof *be);
    if (!be || !(be->endpoint = strdup(endpoint))) {
        free(be);
        return ab_seterr(err, errlen, "out of memory");
    }
    be->svc = svc;
    ab_list_init(&be->inflight_list);
    if (open_sockets(be, svc->br, err, errlen) != AB_OK) {
        free(be->endpoint);
        free(be);
        return AB_ERR;
    }
    if (start_watching(be, svc->br, err, errlen) != AB_OK)
        return AB_ERR;
    obs_backend_opened(be); /* stats hook */
    *out = be;
    return AB_OK;
}

int backend_send(backend *be, request *r)
{
    uint8_t id[REQ_ID_LEN];
    msgv out;
    msgv_init(&out, (size_t)-1);
    req_encode_id(r, id);
    /* The body is copied (by reference count for large frames) rather than
     * moved, so a refused send leaves the request intact for a retry. */
    if (msgv_push_bytes(&out, id, sizeof id) != AB_OK ||
        msgv_push_bytes(&out, NULL, 0) != AB_OK ||
        msgv_copy_range(&out, &r->msg, r->env_frames) != AB_OK ||
        zsock_send(&be->dealer, &out) != AB_OK) {
        msgv_clear(&out);
        be->stalled = 1;
        uv_timer_start(&be->retry, on_retry, BACKEND_RETRY_MS, 0);
        return AB_ERR;
    }
    msgv_truncate(&r->msg, r->env_frames); /* body sent; keep the envelope */
    req_set_state(r, REQ_INFLIGHT);
    r->be = be;
    ab_list_remove(&r->link); /* off the service queue */
    ab_list_push_tail(&be->inflight_list, &r->link);
    be->inflight++;
    obs_backend_sent(be, r); /* stats hook */
    return AB_OK;
}

void backend_forget(backend *be, request *r)
{
    ab_list_remove(&r->link);
    r->be = NULL;
    be->inflight--;
}

backend *backend_pick(backend **bes, size_t n, int max_inflight, size_t start)
{
    backend *best = NULL;
    for (size_t k = 0; k < n; k++) {
        backend *be = bes[(start + k) % n];
        if (!be->up || be->stalled || be->inflight >= max_inflight)
            continue;
        if (!best || be->inflight < best->inflight)
            best = be;
    }
    return best;
}

static void on_handle_closed(backend *be)
{
    if (--be->open_handles > 0)
        return;
    backend_close_cb cb = be->on_close;
    service *svc = be->svc;
    stats_series_close(be->series); /* stats hook */
    free(be->endpoint);
    free(be);
    if (cb)
        cb(svc);
}

static void on_zsock_closed(zsock *zs) { on_handle_closed(zs->data); }
static void on_timer_closed(uv_handle_t *h) { on_handle_closed(h->data); }

void backend_close(backend *be, backend_close_cb cb)
{
    be->on_close = cb;
    zsock_close(&be->dealer, on_zsock_closed);
    zsock_close(&be->monitor, on_zsock_closed);
    uv_close((uv_handle_t *)&be->retry, on_timer_closed);
}
