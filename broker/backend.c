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

/* After libzmq refuses a send (a full pipe, or a send racing a lost
 * connection), wait this long before trying the backend again. Short: it
 * only covers a transient. */
#define BACKEND_RETRY_MS 10

/* The first wait before dialling a lost backend again, doubled after each
 * loss of a connection that neither replied nor lasted BACKEND_STEADY_MS
 * (an agent that accepts and closes at once), up to --reconnect-max-ms. */
#define BACKEND_REDIAL_MS 100
#define BACKEND_STEADY_MS 1000

/* Reply frames a backend message may have: [id][empty] + body frames. */
#define BACKEND_REPLY_EXTRA 2

static void on_zsock_closed(zsock *zs);

static void on_reply(zsock *zs, msgv *m)
{
    backend *be = zs->data;
    conn_read(&be->conns, m);
    be->redial_ms = 0; /* it answers: the next loss starts the backoff over */
    svc_on_reply(be->svc, be, m);
}

/* The retry timer: dial again after a lost connection, or take requests
 * again after a refused send. */
static void on_retry(uv_timer_t *t)
{
    backend *be = t->data;
    if (be->redial) {
        be->redial = 0;
        if (zmq_connect(be->dealer.sock, be->endpoint) != 0)
            log_error("backend connect service=%s endpoint=%s: %s", be->svc->name,
                      be->endpoint, zmq_strerror(errno));
        return;
    }
    be->stalled = 0;
    svc_dispatch(be->svc);
}

/* Up once connected: CONNECTED is the one signal every ZMTP revision gives
 * (HANDSHAKE_SUCCEEDED never comes for ZMTP/2.0 peers). A request sent
 * before the handshake ends waits in the pipe for it; if the handshake
 * fails, the disconnect below answers it. */
static void set_up(backend *be)
{
    be->up = 1;
    be->connected_at = uv_now(be->retry.loop);
    log_info("backend up service=%s endpoint=%s", be->svc->name, be->endpoint);
    svc_dispatch(be->svc);
}

/* Dial again after the backoff (see on_disconnected). */
static void redial_later(backend *be)
{
    const broker_opts *o = &be->svc->br->opts;
    be->redial_ms = be->redial_ms ? be->redial_ms * 2 : BACKEND_REDIAL_MS;
    if (be->redial_ms > o->reconnect_max_ms)
        be->redial_ms = o->reconnect_max_ms;
    be->redial = 1;
    uv_timer_start(&be->retry, on_retry, (uint64_t)be->redial_ms, 0);
}

/* The connection is gone. Its replies that arrived before the drop are
 * still in the pipe (no ZMQ_IMMEDIATE: libzmq would discard them with the
 * pipe) and are read first; then the requests it held are answered, and
 * the endpoint is disconnected, which discards what libzmq had not written
 * to the wire yet, so a restarted agent never gets a request whose client
 * already had its error. Dialling again waits a backoff, so an agent that
 * accepts and closes at once is not hammered. */
static void on_disconnected(backend *be, int fd)
{
    conn_gone(&be->conns, fd);
    if (fd != be->fd)
        return;
    be->fd = -1;
    be->zombies = 0; /* whatever it was working on died with it */
    be->stalled = 0; /* the redial replaces a pending un-stall */
    if (uv_now(be->retry.loop) - be->connected_at >= BACKEND_STEADY_MS)
        be->redial_ms = 0;
    int was_up = be->up;
    be->up = 0; /* the replies read next must not dispatch more to it */
    zsock_drain(&be->dealer, -1);
    if (was_up) {
        log_warn("backend down service=%s endpoint=%s inflight=%d", be->svc->name,
                 be->endpoint, be->inflight);
        svc_backend_lost(be->svc, be, "disconnected before replying");
    }
    zmq_disconnect(be->dealer.sock, be->endpoint);
    redial_later(be);
}

static void on_monitor(zsock *zs, msgv *m)
{
    backend *be = zs->data;
    int event, value;
    if (zsock_monitor_event(m, &event, &value) != AB_OK)
        return;
    if (event == ZMQ_EVENT_CONNECTED) {
        be->fd = value;
        conn_accepted(&be->conns, value);
        set_up(be);
    } else if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        conn_handshaken(&be->conns, be->fd); /* libzmq's value is 0, not the fd */
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        on_disconnected(be, value);
    } else if (event == ZMQ_EVENT_CONNECT_RETRIED) {
        log_debug("backend retry service=%s endpoint=%s in_ms=%d", be->svc->name,
                  be->endpoint, value);
    }
}

/* The largest partial reply a backend may hold: a whole reply at the
 * limits in force, with the request id, delimiter and every header. */
static size_t guard_bound(const conn_set *s)
{
    const backend *be = s->owner;
    const reg_service *cfg = be->svc->cfg;
    size_t frames = (size_t)cfg->max_frames + BACKEND_REPLY_EXTRA;
    return cfg->max_msg_bytes + REQ_ID_LEN + frames * MSGV_MAX_HEADER + GUARD_SLACK;
}

static void guard_describe(const conn_set *s, char *buf, size_t len)
{
    const backend *be = s->owner;
    ab_strfmt(buf, len, "service=%s backend=%s", be->svc->name, be->endpoint);
}

static void guard_cut(conn_set *s, guard_reason why)
{
    backend *be = s->owner;
    svc_count_cut(be->svc, why);
}

static const conn_ops backend_conn_ops = {
    .bound = guard_bound,
    .describe = guard_describe,
    .cut = guard_cut,
};

/* Socket options for the DEALER facing one backend. Not ZMQ_IMMEDIATE:
 * on a lost connection it discards the pipe with the replies not read yet
 * (an agent that replies and exits would lose its last reply); the broker
 * sends only to a connected backend and disconnects the endpoint when the
 * connection goes (on_disconnected) instead. An absent backend
 * is retried after 100 ms, then twice as long each time up to
 * --reconnect-max-ms. Options are copied into each connection when it is
 * made, so none may depend on a knob a reload can raise: the frame ceiling
 * is fixed (see front.c), and so is the send queue's, above any
 * max_inflight (which is what bounds the requests a backend holds). */
static int set_dealer_options(void *sock, const reg_service *cfg,
                              const broker_opts *o)
{
    int zero = 0;
    int hwm = 2 * REG_MAX_INFLIGHT_MAX;
    int64_t ceiling = REG_MAX_MSG_BYTES_MAX;
    int rc = zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
    rc |= zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    rc |= zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &ceiling, sizeof ceiling);
    rc |= zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &o->partial_ms, sizeof o->partial_ms);
    rc |= zmq_setsockopt(sock, ZMQ_RECONNECT_IVL_MAX, &o->reconnect_max_ms,
                         sizeof o->reconnect_max_ms);
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
    size_t frames = REG_MAX_FRAMES_MAX + BACKEND_REPLY_EXTRA;
    if (zsock_init(&br->sched, &be->dealer, br->zctx, ZMQ_DEALER, frames,
                   err, errlen) != AB_OK)
        return AB_ERR;
    be->dealer.data = be;
    be->dealer.want_srcfd = 1;
    if (set_dealer_options(be->dealer.sock, cfg, &br->opts) != AB_OK) {
        ab_seterr(err, errlen, "backend %s: options: %s", be->endpoint,
                  zmq_strerror(errno));
        zsock_discard(&be->dealer);
        return AB_ERR;
    }
    return AB_OK;
}

/* Wire a monitor PAIR to the dealer. */
static int open_monitor(backend *be, broker *br, char *err, size_t errlen)
{
    int events = ZMQ_EVENT_CONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                 ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED;
    if (zsock_monitor_open(&br->sched, &be->monitor, br->zctx, &be->dealer,
                           events, err, errlen) != AB_OK)
        return AB_ERR;
    be->monitor.data = be;
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
        zsock_discard(&be->dealer); /* the monitored one first */
        zsock_discard(&be->monitor);
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
        zsock_discard(&be->dealer); /* the monitored one first */
        zsock_discard(&be->monitor);
        free(be->endpoint);
        free(be);
        return AB_ERR;
    }
    if (zsock_start(&be->monitor, on_monitor, err, errlen) != AB_OK) {
        be->open_handles = 1;
        zsock_close(&be->dealer, on_zsock_closed); /* stops its monitor */
        zsock_discard(&be->monitor);
        return AB_ERR;
    }
    uv_timer_init(br->loop, &be->retry);
    be->retry.data = be;
    be->open_handles = 3;
    conn_set_init(&be->conns, &br->guard, &be->dealer, &backend_conn_ops, be, 0);
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
    be->fd = -1;
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

/* Requests be is busy with now: in flight, and zombies until they expire. */
static int busy(const backend *be, uint64_t now)
{
    return be->inflight + (now < be->zombies_until ? be->zombies : 0);
}

/* [id][""][body...]: the body is copied (by reference count for large
 * frames) rather than moved, so a refused send leaves r intact. */
static int build_request(msgv *out, request *r)
{
    uint8_t id[REQ_ID_LEN];
    req_encode_id(r, id);
    if (msgv_push_bytes(out, id, sizeof id) != AB_OK ||
        msgv_push_bytes(out, NULL, 0) != AB_OK ||
        msgv_copy_range(out, &r->msg, r->env_frames) != AB_OK)
        return AB_ERR;
    return AB_OK;
}

int backend_send(backend *be, request *r)
{
    msgv out;
    msgv_init(&out, (size_t)-1);
    int rc = build_request(&out, r);
    size_t wire = out.wire;
    if (rc != AB_OK || zsock_send(&be->dealer, &out) != AB_OK) {
        msgv_clear(&out);
        be->stalled = 1;
        uv_timer_start(&be->retry, on_retry, BACKEND_RETRY_MS, 0);
        return AB_ERR;
    }
    conn_wrote(conn_find(&be->conns, be->fd), wire);
    uint64_t now = uv_now(be->retry.loop);
    if (busy(be, now) == 0)
        be->busy_since = now;
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

void backend_replied(backend *be) { be->busy_since = uv_now(be->retry.loop); }

void backend_abandon(backend *be, uint64_t now, uint64_t until)
{
    if (now >= be->zombies_until)
        be->zombies = 0;
    be->zombies++;
    be->zombies_until = until;
}

void backend_late(backend *be)
{
    if (be->zombies > 0)
        be->zombies--;
    backend_replied(be);
}

/* Can be take one more request under rule? */
static int can_take(const backend *be, const pick_rule *rule)
{
    int n = busy(be, rule->now);
    if (!be->up || be->stalled || n >= rule->max_inflight)
        return 0;
    return n == 0 || rule->now - be->busy_since < (uint64_t)rule->pipeline_ms;
}

backend *backend_pick(backend **bes, size_t n, const pick_rule *rule, size_t start)
{
    backend *best = NULL;
    for (size_t k = 0; k < n; k++) {
        backend *be = bes[(start + k) % n];
        if (can_take(be, rule) && (!best || busy(be, rule->now) < busy(best, rule->now)))
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
    stats_series_close(be->series); /* stats hook: now, as for its service */
    be->series = NULL;
    conn_set_close(&be->conns);
    zsock_close(&be->dealer, on_zsock_closed);
    zsock_close(&be->monitor, on_zsock_closed);
    uv_close((uv_handle_t *)&be->retry, on_timer_closed);
}
