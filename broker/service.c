/*
 * service.c: the request path of one service. This is the core of agentbusd.
 *
 *   REQ client                  agentbusd (one service)                REP agent
 *   ----------     ---------------------------------------------     ---------
 *                   front ROUTER (registry port)
 *   [""][body] ---> [cid][""][body]
 *                     | on_request: delimiter? size? draining? remote?
 *                     |   no  --> error reply now (bad_request, too_large,
 *                     |           unavailable); nothing is allocated
 *                     v   yes --> request FREE->QUEUED, deadline armed
 *                   queue (bounded by queue_max, else overloaded)
 *                     | svc_dispatch: backend_pick = fewest outstanding,
 *                     |   up, under max_inflight           QUEUED->INFLIGHT
 *                     v
 *                   backend DEALER ---- [id][""][body] ----------> REP
 *                   svc_on_reply  <---- [id][""][reply] ----------
 *                     | req_lookup(id): stale id -> late_replies++, dropped
 *                     v
 *   [""][reply] <-- [cid][""][reply]                   INFLIGHT->FREE
 *
 *   deadline timer: QUEUED or INFLIGHT past timeout_ms -> timeout/unavailable
 *   backend monitor: disconnect -> its INFLIGHT requests -> unavailable
 *
 * The client envelope ([cid]... up to and including the delimiter) never
 * leaves the broker: it stays in the request and is put back in front of the
 * reply, so clients get byte-for-byte what a direct REP would have sent.
 * Every exit from QUEUED or INFLIGHT goes through finish(), so each request
 * is answered exactly once.
 */
#include "service.h"

#include "broker.h"
#include "common.h"
#include "log.h"
#include "obs.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERROR_BODY_MAX 1024

static const char *const error_codes[] = {
#define SVC_ERROR_CODE(sym, code, stat) code,
    SVC_ERRORS(SVC_ERROR_CODE)
#undef SVC_ERROR_CODE
};

static void count_error(service *svc, svc_error code)
{
    switch (code) {
#define SVC_ERROR_COUNT(sym, code, stat)                                   \
    case sym:                                                              \
        svc->stats.stat++;                                                 \
        break;
        SVC_ERRORS(SVC_ERROR_COUNT)
#undef SVC_ERROR_COUNT
    }
}

/* ------------------------------------------------------------ replies -- */

/* Write s as the inside of a JSON string; stops before overflowing. */
static size_t json_escape(char *out, size_t len, const char *s)
{
    size_t o = 0;
    for (; *s && o + 7 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, len - o, "\\%c", c);
        else if (c < 0x20)
            o += (size_t)snprintf(out + o, len - o, "\\u%04x", c);
        else
            out[o++] = (char)c;
    }
    out[o] = '\0';
    return o;
}

size_t svc_error_body(char *buf, size_t len, const char *svc_name,
                      svc_error code, const char *message)
{
    char name[160], text[600];
    json_escape(name, sizeof name, svc_name);
    json_escape(text, sizeof text, message);
    int n = snprintf(buf, len,
                     "{\"status\":\"error\",\"error\":\"%s\",\"service\":\"%s\","
                     "\"message\":\"%s\"}",
                     error_codes[code], name, text);
    return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* Send a complete reply (envelope + body frames) to the client. A client
 * that is gone or not reading is counted, never waited for. */
static void front_send(service *svc, msgv *out)
{
    if (zsock_send(&svc->front, out) != AB_OK) {
        svc->stats.undeliverable++;
        log_debug("reply undeliverable service=%s: %s", svc->name,
                  zmq_strerror(errno));
    }
}

/* env holds exactly a client envelope (delimiter included): append the JSON
 * error body and send it. env is consumed. */
static void send_error(service *svc, msgv *env, svc_error code, const char *text)
{
    char body[ERROR_BODY_MAX];
    size_t n = svc_error_body(body, sizeof body, svc->name, code, text);
    env->limit = (size_t)-1;
    if (msgv_push_bytes(env, body, n) != AB_OK) {
        log_error("out of memory building an error reply service=%s", svc->name);
        msgv_clear(env);
        return;
    }
    count_error(svc, code);
    front_send(svc, env);
}

/* The single exit from QUEUED/INFLIGHT: unlink r everywhere, free it. */
static void finish(service *svc, request *r)
{
    if (r->state == REQ_QUEUED) {
        ab_list_remove(&r->link);
        svc->stats.queued--;
    } else {
        backend_forget(r->be, r);
        svc->stats.inflight--;
    }
    stats_record_since(svc->series, HIST_service_latency, r->t_accept); /* stats hook */
    req_set_state(r, REQ_FREE);
    req_release(&svc->br->pool, r);
    broker_request_done(svc->br);
}

void svc_fail(service *svc, request *r, svc_error code, const char *fmt, ...)
{
    char text[AB_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    msgv_truncate(&r->msg, r->env_frames);
    send_error(svc, &r->msg, code, text);
    finish(svc, r);
}

/* ---------------------------------------------------------- deadlines -- */

static request *deadline_head(service *svc)
{
    return AB_CONTAINER_OF(ab_list_head(&svc->deadlines), request, dlink);
}

static void on_deadline(uv_timer_t *t);

/* Arm the timer for the earliest deadline. Removing a request never re-arms
 * (the timer then fires early, finds nothing due, and re-arms): cheaper
 * than touching the timer heap on every reply. */
static void arm_timer(service *svc)
{
    if (ab_list_empty(&svc->deadlines)) {
        uv_timer_stop(&svc->timer);
        return;
    }
    uint64_t now = uv_now(svc->br->loop), due = deadline_head(svc)->deadline;
    uv_timer_start(&svc->timer, on_deadline, due > now ? due - now : 0, 0);
}

/* Keep `deadlines` sorted. New requests nearly always have the latest
 * deadline, so the scan from the tail is O(1) except right after a reload
 * that shortened timeout_ms. */
static void deadline_insert(service *svc, request *r)
{
    ab_list *pos = ab_list_tail(&svc->deadlines);
    while (pos != &svc->deadlines &&
           AB_CONTAINER_OF(pos, request, dlink)->deadline > r->deadline)
        pos = pos->prev;
    ab_list_insert_after(pos, &r->dlink);
    if (ab_list_head(&svc->deadlines) == &r->dlink)
        arm_timer(svc);
}

static int any_backend_up(const service *svc)
{
    for (size_t i = 0; i < svc->nbackends; i++) {
        if (svc->backends[i]->up)
            return 1;
    }
    return 0;
}

/* r reached its deadline: say why it got no reply. */
static void expire(service *svc, request *r)
{
    int ms = svc->cfg->timeout_ms;
    if (r->state == REQ_INFLIGHT)
        svc_fail(svc, r, ERR_TIMEOUT, "no reply from backend %s within %d ms",
                 r->be->endpoint, ms);
    else if (any_backend_up(svc))
        svc_fail(svc, r, ERR_TIMEOUT, "no backend was free within %d ms", ms);
    else
        svc_fail(svc, r, ERR_UNAVAILABLE, "no backend reachable within %d ms", ms);
}

static void on_deadline(uv_timer_t *t)
{
    service *svc = t->data;
    uint64_t now = uv_now(svc->br->loop);
    while (!ab_list_empty(&svc->deadlines) && deadline_head(svc)->deadline <= now)
        expire(svc, deadline_head(svc));
    arm_timer(svc);
    svc_dispatch(svc); /* expired in-flight requests freed backend slots */
}

/* ----------------------------------------------------------- requests -- */

static size_t envelope_bytes(msgv *m, size_t env_frames)
{
    size_t n = 0;
    for (size_t i = 0; i < env_frames; i++)
        n += msgv_size(m, i);
    return n;
}

/* Decide whether a well-formed request may be accepted. AB_ERR fills code
 * and why with the error reply to send instead. */
static int admit(service *svc, msgv *m, size_t env_frames, svc_error *code,
                 char *why, size_t len)
{
    const reg_service *cfg = svc->cfg;
    size_t frames = m->n + m->dropped - env_frames;
    size_t bytes = m->bytes - envelope_bytes(m, env_frames);
    *code = ERR_TOO_LARGE;
    if (frames > (size_t)cfg->max_frames)
        return ab_seterr(why, len, "request has %zu body frames; max_frames is %d",
                         frames, cfg->max_frames);
    if (bytes > cfg->max_msg_bytes)
        return ab_seterr(why, len, "request body is %zu bytes; max_msg_bytes is %zu",
                         bytes, cfg->max_msg_bytes);
    *code = ERR_UNAVAILABLE;
    if (!broker_accepting(svc->br))
        return ab_seterr(why, len, "broker is shutting down");
    if (svc->remote)
        return ab_seterr(why, len, "service is hosted on '%s'; this broker (host "
                         "'%s') has no link to it", cfg->host, svc->br->opts.host);
    *code = ERR_OVERLOADED;
    if (svc->stats.queued >= (uint64_t)cfg->queue_max &&
        !backend_pick(svc->backends, svc->nbackends, cfg->max_inflight, 0))
        return ab_seterr(why, len, "%d requests already waiting (queue_max)",
                         cfg->queue_max);
    return AB_OK;
}

/* Take ownership of m as a new QUEUED request and try to dispatch it. */
static void accept_request(service *svc, msgv *m, size_t env_frames)
{
    request *r = req_alloc(&svc->br->pool);
    if (!r) {
        msgv_truncate(m, env_frames);
        send_error(svc, m, ERR_OVERLOADED,
                   "broker holds its maximum number of requests (--max-requests)");
        return;
    }
    r->env_frames = env_frames;
    msgv_take(&r->msg, m);
    r->deadline = uv_now(svc->br->loop) + (uint64_t)svc->cfg->timeout_ms;
    r->t_accept = stats_clock(svc->series); /* stats hook */
    req_set_state(r, REQ_QUEUED);
    ab_list_push_tail(&svc->queue, &r->link);
    svc->stats.queued++;
    deadline_insert(svc, r);
    svc_dispatch(svc);
}

/* A message with no empty delimiter frame is not a REQ envelope. Answer it
 * REQ-style anyway ([routing id][""][error]) so a DEALER sees why. */
static void reject_malformed(service *svc, msgv *m)
{
    svc_error code = m->dropped ? ERR_TOO_LARGE : ERR_BAD_REQUEST;
    msgv_truncate(m, 1);
    if (msgv_push_bytes(m, NULL, 0) != AB_OK)
        return;
    send_error(svc, m, code,
               code == ERR_TOO_LARGE ? "request has too many frames"
                                     : "request has no empty delimiter frame "
                                       "(not a REQ envelope)");
}

static void on_request(zsock *zs, msgv *m)
{
    service *svc = zs->data;
    svc->stats.requests++;
    long delim = msgv_delimiter(m);
    if (delim < 1) {
        reject_malformed(svc, m);
        return;
    }
    size_t env_frames = (size_t)delim + 1;
    svc_error code;
    char why[AB_ERRLEN];
    if (admit(svc, m, env_frames, &code, why, sizeof why) != AB_OK) {
        msgv_truncate(m, env_frames);
        send_error(svc, m, code, why);
        return;
    }
    accept_request(svc, m, env_frames);
}

void svc_dispatch(service *svc)
{
    while (!ab_list_empty(&svc->queue)) {
        backend *be = backend_pick(svc->backends, svc->nbackends,
                                   svc->cfg->max_inflight, svc->rr++);
        if (!be)
            return;
        request *r = AB_CONTAINER_OF(ab_list_head(&svc->queue), request, link);
        if (backend_send(be, r) != AB_OK)
            continue; /* be is stalled now; pick another */
        svc->stats.queued--;
        svc->stats.inflight++;
    }
}

void svc_on_reply(service *svc, backend *be, msgv *m)
{
    if (m->n < 2 || msgv_size(m, 1) != 0) {
        svc->stats.bad_replies++;
        return;
    }
    request *r = req_lookup(&svc->br->pool, msgv_data(m, 0), msgv_size(m, 0));
    if (!r || r->be != be) {
        svc->stats.late_replies++;
        return;
    }
    obs_backend_replied(be, r); /* stats hook */
    if (m->dropped) {
        svc_fail(svc, r, ERR_TOO_LARGE, "reply has more than max_frames=%d frames",
                 svc->cfg->max_frames);
    } else {
        msgv out;
        msgv_init(&out, (size_t)-1);
        msgv_take(&out, &r->msg);
        if (msgv_move_range(&out, m, 2) == AB_OK) {
            front_send(svc, &out);
            svc->stats.replies++;
        } else {
            msgv_clear(&out);
            log_error("out of memory relaying a reply service=%s", svc->name);
        }
        finish(svc, r);
    }
    svc_dispatch(svc);
}

void svc_backend_lost(service *svc, backend *be, const char *why)
{
    while (!ab_list_empty(&be->inflight_list)) {
        request *r = AB_CONTAINER_OF(ab_list_head(&be->inflight_list), request, link);
        svc_fail(svc, r, ERR_UNAVAILABLE, "backend %s %s", be->endpoint, why);
    }
    svc_dispatch(svc);
}

void svc_fail_all(service *svc, svc_error code, const char *why)
{
    while (!ab_list_empty(&svc->deadlines))
        svc_fail(svc, deadline_head(svc), code, "%s", why);
}

size_t svc_pending(const service *svc)
{
    return (size_t)(svc->stats.queued + svc->stats.inflight);
}

/* ---------------------------------------------------------- lifecycle -- */

/* Options for the ROUTER facing clients. No ZMTP heartbeats here: REQ peers
 * on libzmq < 4.3 drop the connection at the first PING. ROUTER_MANDATORY
 * turns a reply to a vanished client into an error we can count. */
static int set_front_options(void *sock, const reg_service *cfg, int linger)
{
    int one = 1;
    int64_t maxmsg = (int64_t)cfg->max_msg_bytes * 2;
    int rc = zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    rc |= zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    /* Up to 2x max_msg_bytes a frame is read and refused with too_large;
     * beyond that libzmq drops the connection rather than buffer it. */
    rc |= zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    return rc == 0 ? AB_OK : AB_ERR;
}

/* Create and bind the front ROUTER. Synchronous; nothing left on AB_ERR. */
static int open_front(service *svc, char *err, size_t errlen)
{
    broker *br = svc->br;
    char ep[128];
    size_t frames = (size_t)svc->cfg->max_frames + SVC_MAX_ENVELOPE;
    if (zsock_init(&br->sched, &svc->front, br->zctx, ZMQ_ROUTER, frames,
                   err, errlen) != AB_OK)
        return AB_ERR;
    svc->front.data = svc;
    snprintf(ep, sizeof ep, "tcp://%s:%d", br->opts.bind_address, svc->cfg->port);
    if (set_front_options(svc->front.sock, svc->cfg, br->opts.linger_ms) != AB_OK ||
        zmq_bind(svc->front.sock, ep) != 0) {
        int e = errno;
        ab_seterr(err, errlen, "bind service=%s port=%d errno=%d (%s)", svc->name,
                  svc->cfg->port, e, zmq_strerror(e));
        zsock_discard(&svc->front);
        return AB_ERR;
    }
    return AB_OK;
}

static backend *find_backend(const service *svc, const char *endpoint)
{
    for (size_t i = 0; i < svc->nbackends; i++) {
        if (strcmp(svc->backends[i]->endpoint, endpoint) == 0)
            return svc->backends[i];
    }
    return NULL;
}

static int was_kept(backend *be, backend **next, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (next[i] == be)
            return 1;
    }
    return 0;
}

/* Close the backends of `set` that are not in `keep` (either may be empty).
 * Their in-flight requests are answered first. */
static void close_backends(service *svc, backend **set, size_t n,
                           backend **keep, size_t nkeep, const char *why)
{
    for (size_t i = 0; i < n; i++) {
        if (was_kept(set[i], keep, nkeep))
            continue;
        svc_backend_lost(svc, set[i], why);
        backend_close(set[i], NULL);
    }
}

/* Build the backend set for svc->cfg, reusing backends whose endpoint is
 * unchanged. On AB_ERR the backends opened here are closed again. */
static int build_backends(service *svc, backend ***out, char *err, size_t errlen)
{
    const reg_service *cfg = svc->cfg;
    size_t n = svc->remote ? 0 : cfg->nbackends;
    backend **next = calloc(n ? n : 1, sizeof *next);
    if (!next)
        return ab_seterr(err, errlen, "out of memory");
    for (size_t i = 0; i < n; i++) {
        next[i] = find_backend(svc, cfg->backends[i]);
        if (!next[i] &&
            backend_open(svc, cfg->backends[i], &next[i], err, errlen) != AB_OK) {
            close_backends(svc, next, i, svc->backends, svc->nbackends, "");
            free(next);
            return AB_ERR;
        }
    }
    *out = next;
    return AB_OK;
}

int svc_open(broker *br, const reg_service *cfg, service **out, char *err,
             size_t errlen)
{
    service *svc = calloc(1, sizeof *svc);
    if (!svc)
        return ab_seterr(err, errlen, "out of memory");
    svc->br = br;
    svc->cfg = cfg;
    snprintf(svc->name, sizeof svc->name, "%s", cfg->name);
    svc->remote = strcmp(cfg->host, br->opts.host) != 0;
    ab_list_init(&svc->queue);
    ab_list_init(&svc->deadlines);
    if (open_front(svc, err, errlen) != AB_OK ||
        zsock_start(&svc->front, on_request, err, errlen) != AB_OK) {
        if (svc->front.sock)
            zsock_discard(&svc->front);
        free(svc);
        return AB_ERR;
    }
    uv_timer_init(br->loop, &svc->timer);
    svc->timer.data = svc;
    if (build_backends(svc, &svc->backends, err, errlen) != AB_OK) {
        svc_close(svc, "", NULL);
        return AB_ERR;
    }
    svc->nbackends = svc->remote ? 0 : cfg->nbackends;
    svc->series = stats_series_open(&br->stats, STATS_KIND_service, svc, &svc->stats,
                                    NULL, svc->name, NULL); /* stats hook */
    *out = svc;
    return AB_OK;
}

int svc_update(service *svc, const reg_service *cfg, char *err, size_t errlen)
{
    const reg_service *old = svc->cfg;
    backend **next;
    svc->cfg = cfg;
    if (build_backends(svc, &next, err, errlen) != AB_OK) {
        svc->cfg = old;
        return AB_ERR;
    }
    backend **prev = svc->backends;
    size_t nprev = svc->nbackends;
    /* Install the new set first, so requests failed below are never
     * dispatched again to a backend that is going away. */
    svc->backends = next;
    svc->nbackends = svc->remote ? 0 : cfg->nbackends;
    close_backends(svc, prev, nprev, next, svc->nbackends,
                   "was removed from the registry");
    free(prev);
    svc_dispatch(svc);
    return AB_OK;
}

static void on_part_closed(service *svc)
{
    if (--svc->open_handles > 0)
        return;
    svc_close_cb cb = svc->on_close;
    broker *br = svc->br;
    stats_series_close(svc->series); /* stats hook */
    free(svc->backends);
    free(svc);
    if (cb)
        cb(br);
}

static void on_front_closed(zsock *zs) { on_part_closed(zs->data); }
static void on_timer_closed(uv_handle_t *h) { on_part_closed(h->data); }
static void on_backend_closed(service *svc) { on_part_closed(svc); }

void svc_close(service *svc, const char *why, svc_close_cb cb)
{
    svc_fail_all(svc, ERR_UNAVAILABLE, why);
    svc->on_close = cb;
    svc->open_handles = 2 + (int)svc->nbackends;
    for (size_t i = 0; i < svc->nbackends; i++)
        backend_close(svc->backends[i], on_backend_closed);
    zsock_close(&svc->front, on_front_closed);
    uv_close((uv_handle_t *)&svc->timer, on_timer_closed);
}
