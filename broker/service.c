/*
 * service.c: the request path of one service. This is the core of agentbusd.
 *
 *   REQ client                  agentbusd (one service)                REP agent
 *   ----------     ---------------------------------------------     ---------
 *                   front ROUTER (registry port, front.c)
 *   [""][body] ---> [cid][""][body]    envelope checked, origin = front
 *                     | svc_request: size? draining? remote? per client?
 *                     |   no  --> error reply now (too_large, unavailable,
 *                     |           overloaded); nothing is allocated
 *                     v   yes --> request FREE->QUEUED, deadline armed
 *                   queue (bounded by queue_max, else overloaded)
 *                     | svc_dispatch: backend_pick = fewest outstanding,
 *                     |   up, under max_inflight, idle or
 *                     |   busy for < pipeline_ms           QUEUED->INFLIGHT
 *                     v
 *                   backend DEALER ---- [id][""][body] ----------> REP
 *                   svc_on_reply  <---- [id][""][reply] ----------
 *                     | req_lookup(id): stale id -> late_replies++, dropped
 *                     v
 *   [""][reply] <-- [cid][""][reply]   finish(): origin_reply   INFLIGHT->FREE
 *
 *   deadline timer: QUEUED or INFLIGHT past timeout_ms -> timeout/unavailable
 *   backend monitor: disconnect -> its INFLIGHT requests -> unavailable
 *
 * A service hosted on another host takes the same path, except that
 * dispatch hands requests to the link pool to that host (peer.c) instead
 * of a backend, and its replies come back through svc_link_reply/_fail.
 *
 * The envelope ([cid]... up to and including the delimiter) never leaves
 * the broker: it stays in the request and its origin puts it back in front
 * of the reply, so clients get byte-for-byte what a direct REP would have
 * sent. Every exit from QUEUED or INFLIGHT goes through finish(), which
 * hands the one reply to the origin, so each request is answered exactly
 * once.
 */
#include "service.h"

#include "broker.h"
#include "common.h"
#include "front.h"
#include "errmark.h"
#include "peer.h"
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

int svc_error_append(msgv *env, const char *svc_name, svc_error code,
                     const char *message)
{
    char body[ERROR_BODY_MAX];
    size_t n = svc_error_body(body, sizeof body, svc_name, code, message);
    env->limit = (size_t)-1;
    errmark_envelope(env);
    if (msgv_push_bytes(env, body, n) != AB_OK) {
        log_error("out of memory building an error reply service=%s", svc_name);
        msgv_clear(env);
        return AB_ERR;
    }
    return AB_OK;
}

/* Make env the error reply for origin o: the JSON body clients get,
 * unless the origin answers errors its own way (a link's REPLY). */
static int error_reply(service *svc, const origin *o, msgv *env, svc_error code,
                       const char *text)
{
    if (o->ops->error)
        return o->ops->error(o, env, (int)code, text);
    return svc_error_append(env, svc->name, code, text);
}

/* Every reply leaves the service here: the backend's or an error, for an
 * admitted request (finish) or for one refused at once (reject). It goes
 * to origin o (out is consumed), and the time since t0 -- stats_clock()
 * when the message reached the service -- is recorded as the request's
 * latency, whatever the outcome. A client that is gone or not reading is
 * counted, never waited for. */
static int answer(service *svc, const origin *o, msgv *out, uint64_t t0)
{
    int rc = origin_reply(o, out);
    stats_record_since(svc->series, HIST_service_latency, t0); /* stats hook */
    if (rc == AB_OK)
        return AB_OK;
    svc->stats.undeliverable++;
    log_debug("reply undeliverable service=%s: %s", svc->name, zmq_strerror(errno));
    return AB_ERR;
}

/* A message that does not become a request: env (exactly its envelope,
 * consumed) is answered with an error at once, counted as a request. */
static void reject(service *svc, const origin *o, msgv *env, svc_error code,
                   const char *why, uint64_t t0)
{
    svc->stats.requests++;
    count_error(svc, code);
    error_reply(svc, o, env, code, why); /* env is empty if out of memory */
    answer(svc, o, env, t0);
}

void svc_reject(service *svc, const origin *o, msgv *env, svc_error code,
                const char *why)
{
    reject(svc, o, env, code, why, stats_clock(svc->series)); /* stats hook */
}

/* The single exit from QUEUED/INFLIGHT: the one reply (r's envelope
 * followed by the body, consumed) goes to r's origin, then r is unlinked
 * everywhere and freed. relayed: it is the agent's reply (counted as
 * `replies` if delivered). reply NULL: none is sent (a cancelled request,
 * whose requester gave up on it). */
static void finish(service *svc, request *r, msgv *reply, int relayed)
{
    if (reply && answer(svc, &r->from, reply, r->t_accept) == AB_OK && relayed)
        svc->stats.replies++;
    if (r->state == REQ_QUEUED) {
        ab_list_remove(&r->link);
        svc->stats.queued--;
    } else {
        if (r->be)
            backend_forget(r->be, r);
        else
            peer_forget(r);
        svc->stats.inflight--;
    }
    origin_release(&r->from, r);
    req_set_state(r, REQ_FREE);
    req_release(&svc->br->pool, r);
    broker_request_done(svc->br);
}

/* Answer r with an error reply; r goes back to the pool. */
static void svc_fail(service *svc, request *r, svc_error code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void svc_fail(service *svc, request *r, svc_error code, const char *fmt, ...)
{
    char text[AB_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    msgv_truncate(&r->msg, r->env_frames);
    count_error(svc, code);
    error_reply(svc, &r->from, &r->msg, code, text);
    finish(svc, r, &r->msg, 0);
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

/* r of a remote service reached its deadline. One in flight is cancelled
 * on the far side (which normally answers first: its deadline is ours
 * less links.deadline_margin_ms, so this is a far side that is silent). */
static void expire_remote(service *svc, request *r)
{
    int ms = r->timeout_ms;
    const char *host = svc->cfg->host;
    if (r->state == REQ_INFLIGHT) {
        host = r->chan->p->host; /* where it went, whatever a reload did since */
        peer_abandon(r);
        svc_fail(svc, r, ERR_TIMEOUT, "no reply from host %s within %d ms", host, ms);
    } else if (peer_up(svc->peer)) {
        svc_fail(svc, r, ERR_TIMEOUT, "the link to host %s could not take the "
                 "request within %d ms", host, ms);
    } else {
        svc_fail(svc, r, ERR_UNAVAILABLE, "no link to host %s within %d ms (%s)",
                 host, ms, peer_why(svc->peer));
    }
}

/* r reached its deadline: say why it got no reply. */
static void expire(service *svc, request *r)
{
    int ms = r->timeout_ms;
    if (r->state == REQ_INFLIGHT && r->chan)
        expire_remote(svc, r);
    else if (r->state == REQ_INFLIGHT) {
        uint64_t now = uv_now(svc->br->loop);
        backend_abandon(r->be, now, now + (uint64_t)svc->cfg->timeout_ms);
        svc_fail(svc, r, ERR_TIMEOUT, "no reply from backend %s within %d ms",
                 r->be->endpoint, ms);
    }
    else if (svc->peer)
        expire_remote(svc, r);
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

/* The body of m (after skip frames) against the limits in force: AB_ERR
 * fills why with the too_large message, quoting the limit. */
static int body_fits(const service *svc, msgv *m, size_t skip, const char *what,
                     char *why, size_t len)
{
    const reg_service *cfg = svc->cfg;
    size_t frames = m->n + m->dropped - skip;
    size_t bytes = m->bytes - envelope_bytes(m, skip);
    if (frames > (size_t)cfg->max_frames)
        return ab_seterr(why, len, "%s has %zu body frames; max_frames is %d",
                         what, frames, cfg->max_frames);
    if (bytes > cfg->max_msg_bytes)
        return ab_seterr(why, len, "%s body is %zu bytes; max_msg_bytes is %zu",
                         what, bytes, cfg->max_msg_bytes);
    return AB_OK;
}

/* The backend for the next request now, or NULL (backend_pick). */
static backend *pick(service *svc, size_t start)
{
    pick_rule rule = {svc->cfg->max_inflight, svc->cfg->pipeline_ms,
                      uv_now(svc->br->loop)};
    return backend_pick(svc->backends, svc->nbackends, &rule, start);
}

/* A new request would be sent on at once (not wait in the queue). */
static int can_send_now(service *svc)
{
    return svc->peer ? peer_up(svc->peer) : pick(svc, 0) != NULL;
}

/* Decide whether a well-formed request may be accepted. AB_ERR fills code
 * and why with the error reply to send instead. */
static int admit(service *svc, const origin *o, msgv *m, size_t env_frames,
                 svc_error *code, char *why, size_t len)
{
    const reg_service *cfg = svc->cfg;
    broker *br = svc->br;
    *code = ERR_TOO_LARGE;
    if (body_fits(svc, m, env_frames, "request", why, len) != AB_OK)
        return AB_ERR;
    *code = ERR_UNAVAILABLE;
    if (!broker_accepting(br))
        return ab_seterr(why, len, "broker is shutting down");
    if (svc->remote && !svc->peer)
        return ab_seterr(why, len, "service is hosted on '%s'; this broker (host "
                         "'%s') has no link to it", cfg->host, br->opts.host);
    *code = ERR_OVERLOADED;
    if (origin_held(o) >= (size_t)cfg->max_per_client)
        return ab_seterr(why, len, "this client already has %zu requests held "
                         "(max_per_client is %d)", origin_held(o), cfg->max_per_client);
    if (svc->stats.queued >= (uint64_t)cfg->queue_max && !can_send_now(svc))
        return ab_seterr(why, len, "%d requests already waiting (queue_max)",
                         cfg->queue_max);
    if (br->pool.held_bytes + m->bytes > br->opts.max_memory)
        return ab_seterr(why, len, "broker holds %llu bytes of requests; "
                         "--max-memory is %llu", (unsigned long long)br->pool.held_bytes,
                         (unsigned long long)br->opts.max_memory);
    return AB_OK;
}

/* Take ownership of m as a new QUEUED request (it reached the service at
 * t0; it times out after timeout_ms) and try to dispatch it. */
static void accept_request(service *svc, const origin *o, msgv *m, size_t env_frames,
                           int timeout_ms, uint64_t t0)
{
    request *r = req_alloc(&svc->br->pool);
    if (!r) {
        char why[128];
        snprintf(why, sizeof why, "broker holds its maximum number of requests "
                 "(--max-requests is %zu)", svc->br->opts.max_requests);
        msgv_truncate(m, env_frames);
        reject(svc, o, m, ERR_OVERLOADED, why, t0);
        return;
    }
    svc->stats.requests++;
    req_take(&svc->br->pool, r, m, env_frames);
    r->svc = svc;
    r->from = *o;
    origin_hold(&r->from, r);
    r->timeout_ms = timeout_ms;
    r->deadline = uv_now(svc->br->loop) + (uint64_t)timeout_ms;
    r->t_accept = t0;
    req_set_state(r, REQ_QUEUED);
    ab_list_push_tail(&svc->queue, &r->link);
    svc->stats.queued++;
    deadline_insert(svc, r);
    svc_dispatch(svc);
}

void svc_request_within(service *svc, const origin *o, msgv *m,
                        size_t env_frames, int timeout_ms)
{
    svc_error code;
    char why[AB_ERRLEN];
    uint64_t t0 = stats_clock(svc->series); /* stats hook */
    if (admit(svc, o, m, env_frames, &code, why, sizeof why) != AB_OK) {
        msgv_truncate(m, env_frames);
        reject(svc, o, m, code, why, t0);
        return;
    }
    if (timeout_ms > svc->cfg->timeout_ms)
        timeout_ms = svc->cfg->timeout_ms;
    accept_request(svc, o, m, env_frames, timeout_ms, t0);
}

void svc_request(service *svc, const origin *o, msgv *m, size_t env_frames)
{
    svc_request_within(svc, o, m, env_frames, svc->cfg->timeout_ms);
}

void svc_dispatch(service *svc)
{
    while (!ab_list_empty(&svc->queue)) {
        request *r = AB_CONTAINER_OF(ab_list_head(&svc->queue), request, link);
        if (svc->peer) {
            if (peer_send(svc->peer, r) != AB_OK)
                return; /* no link can take it now */
        } else {
            backend *be = pick(svc, svc->rr++);
            if (!be)
                return;
            if (backend_send(be, r) != AB_OK)
                continue; /* be is stalled now; pick another */
        }
        svc->stats.queued--;
        svc->stats.inflight++;
    }
}

/* Where r is in flight, for messages: "backend EP" or "host NAME". */
static const char *carrier(const service *svc, const request *r, char *buf,
                           size_t len)
{
    if (r->be)
        ab_strfmt(buf, len, "backend %s", r->be->endpoint);
    else
        ab_strfmt(buf, len, "host %s", r->chan->p->host);
    return buf;
}

/* Relay the agent's reply m (skip leading frames, then the body) to r's
 * origin. */
static void relay(service *svc, request *r, msgv *m, size_t skip)
{
    char why[AB_ERRLEN], who[AB_ERRLEN];
    msgv out;
    if (m->n < skip + 1) {
        svc_fail(svc, r, ERR_BAD_REPLY, "%s replied with no body frame "
                 "(a reply is [id][\"\"][body...])", carrier(svc, r, who, sizeof who));
        return;
    }
    if (body_fits(svc, m, skip, "reply", why, sizeof why) != AB_OK) {
        svc_fail(svc, r, ERR_TOO_LARGE, "%s", why);
        return;
    }
    msgv_init(&out, (size_t)-1);
    msgv_take(&out, &r->msg);
    if (msgv_move_range(&out, m, skip) != AB_OK) {
        log_error("out of memory relaying a reply service=%s", svc->name);
        msgv_truncate(&out, r->env_frames);
        count_error(svc, ERR_UNAVAILABLE);
        error_reply(svc, &r->from, &out, ERR_UNAVAILABLE,
                    "out of memory relaying the reply");
    }
    finish(svc, r, &out, 1);
}

void svc_on_reply(service *svc, backend *be, msgv *m)
{
    if (m->n < 1 || msgv_size(m, 0) != REQ_ID_LEN) {
        svc->stats.stray_replies++;
        return;
    }
    request *r = req_lookup(&svc->br->pool, msgv_data(m, 0), msgv_size(m, 0));
    if (!r || r->be != be) {
        svc->stats.late_replies++;
        backend_late(be);
        svc_dispatch(svc);
        return;
    }
    backend_replied(be);
    obs_backend_replied(be, r); /* stats hook */
    if (m->n < 2 || msgv_size(m, 1) != 0)
        svc_fail(svc, r, ERR_BAD_REPLY, "backend %s replied without the empty "
                 "delimiter after the request id", be->endpoint);
    else
        relay(svc, r, m, 2);
    svc_dispatch(svc);
}

void svc_link_reply(service *svc, request *r, msgv *body)
{
    relay(svc, r, body, 0);
}

void svc_link_fail(service *svc, request *r, svc_error code, const char *text)
{
    svc_fail(svc, r, code, "%s", text);
}

void svc_cancel(service *svc, request *r)
{
    if (r->state != REQ_QUEUED)
        return;
    svc->stats.cancelled++;
    finish(svc, r, NULL, 0);
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
    while (!ab_list_empty(&svc->deadlines)) {
        request *r = deadline_head(svc);
        if (r->chan)
            peer_abandon(r);
        svc_fail(svc, r, code, "%s", why);
    }
}

size_t svc_pending(const service *svc)
{
    return (size_t)(svc->stats.queued + svc->stats.inflight);
}

/* ---------------------------------------------------------- lifecycle -- */

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
    svc->peer = svc->remote ? peer_find(br, cfg->host) : NULL;
    ab_list_init(&svc->queue);
    ab_list_init(&svc->deadlines);
    if (build_backends(svc, &svc->backends, err, errlen) != AB_OK) {
        free(svc);
        return AB_ERR;
    }
    svc->nbackends = svc->remote ? 0 : cfg->nbackends;
    uv_timer_init(br->loop, &svc->timer);
    svc->timer.data = svc;
    svc->series = stats_series_open(&br->stats, STATS_KIND_service, svc, &svc->stats,
                                    NULL, svc->name, NULL); /* stats hook */
    *out = svc;
    return AB_OK;
}

int svc_update(service *svc, const reg_service *cfg, char *err, size_t errlen)
{
    const reg_service *old = svc->cfg;
    int was_remote = svc->remote;
    backend **next;
    char why[128];
    svc->cfg = cfg;
    svc->remote = strcmp(cfg->host, svc->br->opts.host) != 0;
    if (build_backends(svc, &next, err, errlen) != AB_OK) {
        svc->cfg = old;
        svc->remote = was_remote;
        return AB_ERR;
    }
    /* Queued requests follow the service to its new place; those in
     * flight on a link finish there. */
    svc->peer = svc->remote ? peer_find(svc->br, cfg->host) : NULL;
    backend **prev = svc->backends;
    size_t nprev = svc->nbackends;
    /* Install the new set first, so requests failed below are never
     * dispatched again to a backend that is going away. */
    svc->backends = next;
    svc->nbackends = svc->remote ? 0 : cfg->nbackends;
    if (svc->remote && !was_remote)
        snprintf(why, sizeof why, "service moved to host '%s' by a reload", cfg->host);
    else
        snprintf(why, sizeof why, "was removed from the registry");
    close_backends(svc, prev, nprev, next, svc->nbackends, why);
    free(prev);
    if (svc->fr)
        front_update(svc->fr, cfg);
    svc_dispatch(svc);
    return AB_OK;
}

void svc_count_cut(service *svc, guard_reason why)
{
    switch (why) {
#define SVC_CUT_COUNT(sym, reason, stat)                                   \
    case sym:                                                              \
        svc->stats.stat++;                                                 \
        break;
        GUARD_REASONS(SVC_CUT_COUNT)
#undef SVC_CUT_COUNT
    }
}

static void on_part_closed(service *svc)
{
    if (--svc->open_handles > 0)
        return;
    svc_close_cb cb = svc->on_close;
    broker *br = svc->br;
    free(svc->backends);
    free(svc);
    if (cb)
        cb(br);
}

static void on_timer_closed(uv_handle_t *h) { on_part_closed(h->data); }
static void on_backend_closed(service *svc) { on_part_closed(svc); }

/* The broker detaches svc from its front before or after: the front's
 * requests of svc were all answered here. Its series goes now, not when
 * the handles are freed: a service of the same name opened meanwhile (a
 * reload) must not be exported twice. */
void svc_close(service *svc, const char *why, svc_close_cb cb)
{
    svc_fail_all(svc, ERR_UNAVAILABLE, why);
    stats_series_close(svc->series); /* stats hook */
    svc->series = NULL;
    svc->on_close = cb;
    svc->open_handles = 1 + (int)svc->nbackends;
    for (size_t i = 0; i < svc->nbackends; i++)
        backend_close(svc->backends[i], on_backend_closed);
    uv_close((uv_handle_t *)&svc->timer, on_timer_closed);
}
