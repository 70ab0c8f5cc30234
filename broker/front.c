/*
 * front.c: a service port (see front.h): binding and re-binding it, its
 * client envelopes, and the front kind of request origin.
 */
#include "front.h"

#include "broker.h"
#include "common.h"
#include "log.h"
#include "service.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void maybe_close(front *f);

/* ------------------------------------------------------------ origin -- */

static int origin_front_reply(const origin *o, msgv *m)
{
    front *f = o->src;
    size_t wire = conn_wire(&f->conns, m);
    if (zsock_send(&f->router, m) != AB_OK)
        return AB_ERR;
    conn_wrote(o->peer, wire);
    return AB_OK;
}

static size_t origin_front_held(const origin *o)
{
    const conn *c = o->peer;
    return c ? c->held : 0;
}

static void origin_front_hold(const origin *o, struct request *r)
{
    front *f = o->src;
    f->nreqs++;
    conn_hold(o->peer);
}

static void origin_front_release(const origin *o, struct request *r)
{
    front *f = o->src;
    conn_release(o->peer);
    f->nreqs--;
    maybe_close(f);
}

static const origin_ops front_origin = {
    .kind = "front",
    .reply = origin_front_reply,
    .held = origin_front_held,
    .hold = origin_front_hold,
    .release = origin_front_release,
};

/* ---------------------------------------------------------- requests -- */

/* Answer m (cut to its first env_frames frames) with an error at once,
 * counted by the attached service; an orphan answers for itself. */
static void answer(front *f, const origin *o, msgv *m, size_t env_frames,
                   svc_error code, const char *why)
{
    msgv_truncate(m, env_frames);
    if (f->svc)
        svc_reject(f->svc, o, m, code, why);
    else if (svc_error_append(m, f->name, code, why) == AB_OK)
        origin_reply(o, m);
}

/* Answer at once with [routing id][""][error JSON]: the envelope is not
 * usable, and a DEALER client then sees ["", error]. */
static void reject_envelope(front *f, const origin *o, msgv *m, svc_error code,
                            const char *why)
{
    msgv_truncate(m, 1);
    if (msgv_push_bytes(m, NULL, 0) == AB_OK)
        answer(f, o, m, 2, code, why);
}

/* The index of the delimiter if m is a well-formed client envelope, else
 * -1 after answering it. */
static long envelope(front *f, const origin *o, msgv *m)
{
    char why[AB_ERRLEN];
    long delim = msgv_delimiter(m);
    if (delim < 1 && m->dropped) {
        ab_seterr(why, sizeof why, "request has %zu frames; messages of more than %zu "
                  "are not read", m->n + m->dropped, m->limit);
        reject_envelope(f, o, m, ERR_TOO_LARGE, why);
        return -1;
    }
    if (delim < 1) {
        reject_envelope(f, o, m, ERR_BAD_REQUEST, "request has no empty delimiter "
                        "frame (not a REQ envelope)");
        return -1;
    }
    if (delim > FRONT_MAX_ENVELOPE) {
        ab_seterr(why, sizeof why, "request envelope has %ld routing frames; at most %d",
                  delim, FRONT_MAX_ENVELOPE);
        reject_envelope(f, o, m, ERR_TOO_LARGE, why);
        return -1;
    }
    for (long i = 0; i < delim; i++) {
        if (msgv_size(m, (size_t)i) <= FRONT_MAX_ROUTING_ID)
            continue;
        ab_seterr(why, sizeof why, "request envelope has a routing frame of %zu bytes; "
                  "routing frames are at most %d bytes", msgv_size(m, (size_t)i),
                  FRONT_MAX_ROUTING_ID);
        reject_envelope(f, o, m, ERR_TOO_LARGE, why);
        return -1;
    }
    return delim;
}

static void on_request(zsock *zs, msgv *m)
{
    front *f = zs->data;
    origin o = {&front_origin, f, conn_read(&f->conns, m)};
    long delim = envelope(f, &o, m);
    if (delim < 1)
        return;
    if (f->svc) {
        svc_request(f->svc, &o, m, (size_t)delim + 1);
    } else {
        char why[128];
        snprintf(why, sizeof why, "no service on port %d any more (changed by a "
                 "reload)", f->port);
        answer(f, &o, m, (size_t)delim + 1, ERR_UNAVAILABLE, why);
    }
}

/* ------------------------------------------------------ connections -- */

static void on_monitor(zsock *zs, msgv *m)
{
    front *f = zs->data;
    int event, fd;
    if (zsock_monitor_event(m, &event, &fd) != AB_OK)
        return;
    /* No HANDSHAKE_SUCCEEDED: libzmq reports it with 0, not the fd, so on
     * a ROUTER it cannot say which connection; the guard settles one at its
     * first message, or after --partial-ms. */
    if (event == ZMQ_EVENT_ACCEPTED)
        conn_accepted(&f->conns, fd);
    else if (event == ZMQ_EVENT_DISCONNECTED)
        conn_gone(&f->conns, fd);
}

/* The largest partial message a client may hold: a whole request at the
 * limits in force (envelope included), with every frame header. */
static size_t guard_bound(const conn_set *s)
{
    const front *f = s->owner;
    size_t frames = (size_t)f->lim.max_frames + FRONT_MAX_ENVELOPE + 1;
    return f->lim.max_msg_bytes + FRONT_MAX_ENVELOPE * FRONT_MAX_ROUTING_ID +
           frames * MSGV_MAX_HEADER + GUARD_SLACK;
}

static void guard_describe(const conn_set *s, char *buf, size_t len)
{
    const front *f = s->owner;
    ab_strfmt(buf, len, "service=%s port=%d", f->name, f->port);
}

static void guard_cut(conn_set *s, guard_reason why)
{
    front *f = s->owner;
    if (f->svc)
        svc_count_cut(f->svc, why);
}

static const conn_ops front_conn_ops = {
    .bound = guard_bound,
    .describe = guard_describe,
    .cut = guard_cut,
};

/* ---------------------------------------------------------- binding -- */

static int bind_port(front *f)
{
    char ep[128];
    snprintf(ep, sizeof ep, "tcp://%s:%d", f->br->opts.bind_address, f->port);
    if (zmq_bind(f->router.sock, ep) != 0) {
        f->bind_errno = errno;
        return AB_ERR;
    }
    f->bound = 1;
    return AB_OK;
}

static void on_retry(uv_timer_t *t)
{
    front *f = t->data;
    uint64_t waited = uv_now(t->loop) - f->bind_since;
    if (bind_port(f) == AB_OK) {
        log_info("bind ok service=%s port=%d after_ms=%llu", f->name, f->port,
                 (unsigned long long)waited);
        f->bind_since = 0;
    } else if (f->bind_errno == EADDRINUSE && waited < FRONT_BIND_PATIENCE_MS) {
        uv_timer_start(&f->retry, on_retry, FRONT_BIND_RETRY_MS, 0);
    } else {
        log_error("bind service=%s port=%d errno=%d (%s): gave up after %llu ms; "
                  "send SIGHUP to try again", f->name, f->port, f->bind_errno,
                  zmq_strerror(f->bind_errno), (unsigned long long)waited);
        f->bind_since = 0;
    }
}

void front_rebind(front *f)
{
    if (f->bound || f->bind_since)
        return;
    f->bind_since = uv_now(f->retry.loop);
    uv_timer_start(&f->retry, on_retry, 0, 0);
}

/* ---------------------------------------------------------- lifecycle -- */

/* Options for the ROUTER facing clients. No ZMTP heartbeats here: REQ peers
 * on libzmq < 4.3 drop the connection at the first PING. ROUTER_MANDATORY
 * turns a reply to a vanished client into an error we can count. The
 * frame ceiling does not depend on any reloadable knob (options are copied
 * into the listener at bind time and cannot change without unbinding):
 * per-service limits are the broker's and the guard's business. */
static int set_options(void *sock, const broker_opts *o)
{
    int one = 1;
    int64_t ceiling = REG_MAX_MSG_BYTES_MAX;
    int rc = zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    rc |= zmq_setsockopt(sock, ZMQ_LINGER, &o->linger_ms, sizeof o->linger_ms);
    rc |= zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &ceiling, sizeof ceiling);
    rc |= zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &o->partial_ms, sizeof o->partial_ms);
    return rc == 0 ? AB_OK : AB_ERR;
}

/* Every fallible ZMQ step, before anything is registered with the loop. */
static int open_sockets(front *f, char *err, size_t errlen)
{
    broker *br = f->br;
    size_t frames = REG_MAX_FRAMES_MAX + FRONT_MAX_ENVELOPE + 1;
    if (zsock_init(&br->sched, &f->router, br->zctx, ZMQ_ROUTER, frames, err,
                   errlen) != AB_OK)
        return AB_ERR;
    if (set_options(f->router.sock, &br->opts) != AB_OK) {
        ab_seterr(err, errlen, "service=%s port=%d: options: %s", f->name, f->port,
                  zmq_strerror(errno));
        zsock_discard(&f->router);
        return AB_ERR;
    }
    if (zsock_monitor_open(&br->sched, &f->monitor, br->zctx, &f->router,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED, err,
                           errlen) != AB_OK) {
        zsock_discard(&f->router);
        return AB_ERR;
    }
    f->router.data = f->monitor.data = f;
    f->router.want_srcfd = 1;
    return AB_OK;
}

/* Register both sockets and the timer. A failure of the second start
 * leaves the first registered: it is closed asynchronously and frees f. */
static void on_part_closed(front *f);
static void on_zsock_closed(zsock *zs) { on_part_closed(zs->data); }

static int start(front *f, char *err, size_t errlen)
{
    broker *br = f->br;
    if (zsock_start(&f->router, on_request, err, errlen) != AB_OK) {
        zsock_discard(&f->router); /* the monitored one first */
        zsock_discard(&f->monitor);
        free(f);
        return AB_ERR;
    }
    if (zsock_start(&f->monitor, on_monitor, err, errlen) != AB_OK) {
        f->open_handles = 1;
        f->closing = 1;
        zsock_close(&f->router, on_zsock_closed); /* stops its monitor */
        zsock_discard(&f->monitor);
        return AB_ERR;
    }
    uv_timer_init(br->loop, &f->retry);
    f->retry.data = f;
    f->open_handles = 3;
    conn_set_init(&f->conns, &br->guard, &f->router, &front_conn_ops, f, 1);
    ab_list_push_tail(&br->fronts, &f->link);
    return AB_OK;
}

int front_open(broker *br, int port, const char *name, int retry, front **out,
               char *err, size_t errlen)
{
    front *f = calloc(1, sizeof *f);
    if (!f)
        return ab_seterr(err, errlen, "out of memory");
    f->br = br;
    f->port = port;
    snprintf(f->name, sizeof f->name, "%s", name);
    if (open_sockets(f, err, errlen) != AB_OK) {
        free(f);
        return AB_ERR;
    }
    if (bind_port(f) != AB_OK && !(retry && f->bind_errno == EADDRINUSE)) {
        ab_seterr(err, errlen, "bind service=%s port=%d errno=%d (%s)", name, port,
                  f->bind_errno, zmq_strerror(f->bind_errno));
        zsock_discard(&f->router); /* the monitored one first */
        zsock_discard(&f->monitor);
        free(f);
        return AB_ERR;
    }
    if (start(f, err, errlen) != AB_OK)
        return AB_ERR;
    if (!f->bound)
        front_rebind(f);
    *out = f;
    return AB_OK;
}

front *front_find(broker *br, int port)
{
    for (ab_list *l = ab_list_head(&br->fronts); l != &br->fronts; l = l->next) {
        front *f = AB_CONTAINER_OF(l, front, link);
        if (f->port == port && !f->closing)
            return f;
    }
    return NULL;
}

void front_update(front *f, const reg_service *cfg)
{
    snprintf(f->name, sizeof f->name, "%s", cfg->name);
    f->lim.max_msg_bytes = cfg->max_msg_bytes;
    f->lim.max_frames = cfg->max_frames;
}

void front_attach(front *f, service *svc)
{
    if (f->svc)
        f->svc->fr = NULL;
    f->svc = svc;
    if (svc) {
        svc->fr = f;
        front_update(f, svc->cfg);
    }
    maybe_close(f);
}

void front_sweep(broker *br)
{
    ab_list *l = ab_list_head(&br->fronts);
    while (l != &br->fronts) {
        front *f = AB_CONTAINER_OF(l, front, link);
        l = l->next; /* f may close, leaving the list */
        maybe_close(f);
        if (!f->closing && f->svc)
            front_rebind(f);
    }
}

static void on_part_closed(front *f)
{
    if (--f->open_handles == 0)
        free(f);
}

static void on_timer_closed(uv_handle_t *h) { on_part_closed(h->data); }

void front_close(front *f)
{
    if (f->closing)
        return;
    f->closing = 1;
    log_info("unbind port=%d service=%s", f->port, f->name);
    ab_list_remove(&f->link);
    conn_set_close(&f->conns);
    zsock_close(&f->router, on_zsock_closed);
    zsock_close(&f->monitor, on_zsock_closed);
    uv_close((uv_handle_t *)&f->retry, on_timer_closed);
}

/* An orphan closes once the last request that came through it is done. */
static void maybe_close(front *f)
{
    if (!f->svc && f->nreqs == 0 && !f->br->placing)
        front_close(f);
}
