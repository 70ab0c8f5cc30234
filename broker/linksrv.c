/*
 * linksrv.c: the link server (see linksrv.h): its ROUTER, the sessions of
 * the connections other brokers keep to it, and the link kind of request
 * origin, whose replies go back as REPLY messages.
 *
 * A connection's session moves through these states, changed only by
 * lsc_set_state(), which aborts on any other transition:
 *
 *     NEW --HELLO accepted--> UP
 *      |                       |
 *      +--refused--> DOOMED <--+ (removed by a reload, too many bad messages)
 *      |               |       |
 *      +---------------+-------+--> GONE (disconnected, silent, GOODBYE, closed)
 *
 * A DOOMED connection has been told why (GOODBYE) and is cut at the next
 * tick, so the GOODBYE has a chance to leave first.
 */
#include "linksrv.h"

#include "broker.h"
#include "common.h"
#include "keys.h"
#include "log.h"
#include "service.h"
#include "zap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frames of a message: routing id, envelope, body. */
#define LINKSRV_MAX_FRAMES (REG_MAX_FRAMES_MAX + 2)
/* How often sessions are looked at, as a fraction of heartbeat_ms. */
#define LINKSRV_TICKS_PER_HEARTBEAT 4
/* How long a rebind waits for the port to be released (retry_bind). */
#define LINKSRV_BIND_PATIENCE_MS 5000
/* The ZAP User-Id property (libzmq names it only in its draft API). */
#define USER_ID "User-Id"
/* The host name of connections not identified yet (plaintext only). */
#define UNIDENTIFIED "?"

#define LSC_STATES(X)                                                      \
    X(LSC_NEW, "new")                                                      \
    X(LSC_UP, "up")                                                        \
    X(LSC_DOOMED, "doomed")                                                \
    X(LSC_GONE, "gone")

typedef enum lsc_state {
#define LSC_ENUM(sym, name) sym,
    LSC_STATES(LSC_ENUM)
#undef LSC_ENUM
} lsc_state;

/* One connection of a peer broker. Requests it originated hold it
 * (refs), so it outlives its session until they are answered. */
typedef struct lsconn {
    linksrv *srv;
    uint8_t rid[256];      /* its ROUTER routing id */
    size_t rid_len;
    char user[REG_NAME_MAX + 1]; /* ZAP User-Id: the host of its key */
    char key[REG_KEY_Z85_LEN + 1]; /* the key that authenticated it */
    lsc_state state;
    lshost *h;             /* its host's statistics */
    linkio_sess sess;
    conn *c;               /* the guard's record of its TCP connection */
    int refs;
    ab_list reqs;          /* requests it originated (request.olink) */
    ab_list link;          /* srv->lsconns while not GONE */
} lsconn;

/* What the link origin keeps in the second frame of a request's
 * envelope ([routing id][meta]). */
typedef struct lsmeta {
    uint64_t id;           /* the near side's request id */
    uint8_t status;        /* set by the error op: the REPLY status */
    uint8_t cancelled;     /* CANCEL came: drop the reply */
    uint8_t msgpack_ok;    /* the reply may travel as msgpack */
    uint64_t t0;           /* stats_clock() when the REQUEST came */
} lsmeta;

static void lsc_gone(lsconn *lc, const char *why);
static void maybe_free(linksrv *srv);
static void retry_bind(linksrv *srv, uint64_t now);

static const char *const lsc_names[] = {
#define LSC_NAME(sym, name) name,
    LSC_STATES(LSC_NAME)
#undef LSC_NAME
};

/* Allowed transitions, [from][to]. */
static const unsigned char lsc_allowed[4][4] = {
    [LSC_NEW] = {[LSC_UP] = 1, [LSC_DOOMED] = 1, [LSC_GONE] = 1},
    [LSC_UP] = {[LSC_DOOMED] = 1, [LSC_GONE] = 1},
    [LSC_DOOMED] = {[LSC_GONE] = 1},
};

static void lsc_set_state(lsconn *lc, lsc_state to)
{
    if (!lsc_allowed[lc->state][to]) {
        log_error("BUG: link session: impossible transition %s -> %s",
                  lsc_names[lc->state], lsc_names[to]);
        abort();
    }
    if (lc->state == LSC_UP)
        lc->h->st.up--;
    if (to == LSC_UP)
        lc->h->st.up++;
    lc->state = to;
}

static int curve(const linksrv *srv) { return !srv->br->opts.link_plaintext; }

static uint64_t now_ms(const linksrv *srv) { return uv_now(srv->br->loop); }

/* "peer=ADDR:PORT host=NAME" of a connection, for logs. */
static const char *who(const lsconn *lc, char *buf, size_t len)
{
    char addr[80] = "?";
    if (lc->c)
        conn_peer_text(lc->c, addr, sizeof addr);
    ab_strfmt(buf, len, "peer=%s host=%s side=in", addr, lc->h->name);
    return buf;
}

/* -------------------------------------------------------------- hosts -- */

/* The record of host name, made on its first connection. Its series is
 * open while the registry lists the host (linksrv_apply closes it). */
static lshost *host_for(linksrv *srv, const char *name)
{
    lshost *h = NULL;
    for (ab_list *l = ab_list_head(&srv->hosts); l != &srv->hosts && !h; l = l->next) {
        if (strcmp(AB_CONTAINER_OF(l, lshost, link)->name, name) == 0)
            h = AB_CONTAINER_OF(l, lshost, link);
    }
    if (!h && !(h = calloc(1, sizeof *h)))
        return NULL;
    if (!h->name[0]) {
        snprintf(h->name, sizeof h->name, "%s", name);
        ab_list_push_tail(&srv->hosts, &h->link);
    }
    if (!h->series && strcmp(name, UNIDENTIFIED) != 0)
        h->series = stats_series_open(&srv->br->stats, STATS_KIND_link, h, &h->st, NULL,
                                      name, "in");
    return h;
}

/* ---------------------------------------------------------- sending -- */

/* Send [rid][envelope of msg][body] to lc (body may be NULL). */
static int send_to(lsconn *lc, const ab_link_msg *msg, msgv *body)
{
    linksrv *srv = lc->srv;
    msgv out;
    size_t nbody = body ? body->n : 0;
    msgv_init(&out, (size_t)-1);
    if (srv->closing || msgv_push_bytes(&out, lc->rid, lc->rid_len) != AB_OK ||
        linkio_put_env(&out, msg, nbody) != AB_OK ||
        (body && msgv_move_range(&out, body, 0) != AB_OK)) {
        msgv_clear(&out);
        return AB_ERR;
    }
    if (linkio_send(&srv->router, &srv->conns, lc->c, &out, &lc->h->st) != AB_OK) {
        log_debug("link send failed %s: %s", lc->h->name, zmq_strerror(errno));
        return AB_ERR;
    }
    return AB_OK;
}

/* Link texts are at most AB_LINK_TEXT_MAX bytes of printable text. */
static void link_text(char *out, size_t len, const char *in)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len && i < AB_LINK_TEXT_MAX; i++)
        out[i] = (unsigned char)in[i] < 0x20 || (unsigned char)in[i] > 0x7e ? '?' : in[i];
    out[i] = '\0';
}

/* An error REPLY for request id. */
static void reply_status(lsconn *lc, uint64_t id, ab_link_status status,
                         const char *text)
{
    char clean[AB_LINK_TEXT_MAX + 1];
    ab_link_msg m = {.version = lc->sess.version, .type = AB_LINK_REPLY};
    link_text(clean, sizeof clean, text);
    m.u.reply.id = id;
    m.u.reply.status = (uint8_t)status;
    m.u.reply.text.p = clean;
    m.u.reply.text.len = strlen(clean);
    lc->h->st.error_replies++;
    send_to(lc, &m, NULL);
}

static void send_goodbye(lsconn *lc, ab_link_bye reason, const char *text)
{
    char clean[AB_LINK_TEXT_MAX + 1];
    ab_link_msg m;
    link_text(clean, sizeof clean, text);
    linkio_goodbye(&m, reason, clean);
    send_to(lc, &m, NULL);
}

/* Refuse lc's session: say why, log it once, cut it at the next tick. */
static void refuse(lsconn *lc, ab_link_bye bye, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void refuse(lsconn *lc, ab_link_bye bye, const char *reason, const char *fmt, ...)
{
    char text[AB_ERRLEN], w[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    lc->h->st.rejected++;
    log_warn("link rejected %s reason=%s %s", who(lc, w, sizeof w), reason, text);
    send_goodbye(lc, bye, text);
    lsc_set_state(lc, LSC_DOOMED);
}

/* ----------------------------------------------------- the link origin -- */

static lsmeta meta_get(msgv *m)
{
    lsmeta meta;
    memcpy(&meta, msgv_data(m, 1), sizeof meta);
    return meta;
}

static void meta_put(msgv *m, const lsmeta *meta)
{
    memcpy(zmq_msg_data(&m->f[1]), meta, sizeof *meta);
}

/* An ok REPLY with the agent's body frames (m[2..]). */
static int reply_ok(lsconn *lc, msgv *m, const lsmeta *meta)
{
    linksrv *srv = lc->srv;
    ab_link_msg msg = {.version = lc->sess.version, .type = AB_LINK_REPLY};
    msgv body;
    msgv_init(&body, (size_t)-1);
    int ok = meta->msgpack_ok && (lc->sess.flags & AB_LINK_F_TRANSCODE);
    if (linkio_body_out(&srv->br->lbufs, m, 2, ok, &body, &msg.u.reply.encoding,
                        &msg.u.reply.style, &lc->h->st) != AB_OK) {
        msgv_clear(&body);
        return AB_ERR;
    }
    msg.u.reply.id = meta->id;
    lc->h->st.replies++;
    int rc = send_to(lc, &msg, &body);
    msgv_clear(&body);
    return rc;
}

/* m is [rid][meta][body...], or [rid][meta][text] after the error op. */
static int origin_link_reply(const origin *o, msgv *m)
{
    lsconn *lc = o->peer;
    if (m->n < 2) {
        msgv_clear(m); /* the error op ran out of memory: nothing to send */
        return AB_ERR;
    }
    lsmeta meta = meta_get(m);
    int rc = AB_OK;
    stats_record_since(lc->h->series, HIST_link_request_time, meta.t0); /* stats hook */
    if (meta.cancelled || lc->state != LSC_UP) {
        lc->h->st.late_replies++; /* the requester gave up, or is gone */
        rc = meta.cancelled ? AB_OK : AB_ERR;
    } else if (meta.status != AB_LINK_ST_OK) {
        char text[AB_LINK_TEXT_MAX + 1] = "";
        if (m->n > 2)
            snprintf(text, sizeof text, "%.*s", (int)msgv_size(m, 2),
                     (const char *)msgv_data(m, 2));
        reply_status(lc, meta.id, (ab_link_status)meta.status, text);
    } else {
        rc = reply_ok(lc, m, &meta);
    }
    msgv_clear(m);
    return rc;
}

static int origin_link_error(const origin *o, msgv *env, int code, const char *text)
{
    lsmeta meta = meta_get(env);
    meta.status = (uint8_t)linkio_status_of((svc_error)code);
    meta_put(env, &meta);
    env->limit = (size_t)-1; /* a request's msgv keeps no frames beyond its own */
    if (msgv_push_bytes(env, text, strlen(text)) != AB_OK) {
        msgv_clear(env);
        return AB_ERR;
    }
    return AB_OK;
}

/* A peer broker is many clients: max_per_client does not apply. */
static size_t origin_link_held(const origin *o) { return 0; }

static void origin_link_hold(const origin *o, request *r)
{
    lsconn *lc = o->peer;
    lc->refs++;
    lc->h->st.inflight++;
    ab_list_push_tail(&lc->reqs, &r->olink);
}

static void unref(lsconn *lc)
{
    if (--lc->refs > 0)
        return;
    linksrv *srv = lc->srv;
    conn_release(lc->c);
    free(lc);
    srv->open_handles--;
    maybe_free(srv);
}

static void origin_link_release(const origin *o, request *r)
{
    lsconn *lc = o->peer;
    ab_list_remove(&r->olink);
    lc->h->st.inflight--;
    unref(lc);
}

static const origin_ops link_origin = {
    .kind = "link",
    .reply = origin_link_reply,
    .error = origin_link_error,
    .held = origin_link_held,
    .hold = origin_link_hold,
    .release = origin_link_release,
};

/* ----------------------------------------------------------- requests -- */

/* Why srv's host does not serve the service (NULL if it does). */
static const char *not_served(linksrv *srv, service *svc, const char *name,
                              char *buf, size_t len)
{
    const char *self = srv->br->opts.host;
    if (!svc)
        ab_strfmt(buf, len, "host %s has no service %s in its registry", self, name);
    else if (svc->remote)
        ab_strfmt(buf, len, "service %s is hosted on %s, not on %s (registries "
                  "differ between hosts)", name, svc->cfg->host, self);
    else
        return NULL;
    return buf;
}

/* [rid][meta][body as the agent sent it] for svc, or AB_ERR after
 * answering the request. */
static int build_request(lsconn *lc, service *svc, msgv *m, const ab_link_request *rq,
                         msgv *req)
{
    lsmeta meta = {.id = rq->id, .msgpack_ok = svc->cfg->transcode == REG_TRANSCODE_AUTO,
                   .t0 = stats_clock(lc->h->series)}; /* stats hook */
    char why[AB_ERRLEN];
    svc_error code;
    if (msgv_push(req, &m->f[0]) != AB_OK ||
        msgv_push_bytes(req, &meta, sizeof meta) != AB_OK) {
        reply_status(lc, rq->id, AB_LINK_ST_UNAVAILABLE, "out of memory");
        return AB_ERR;
    }
    if (linkio_body_in(m, 2, rq->encoding, rq->style, svc->cfg->max_msg_bytes, req,
                       &code, why, sizeof why, &lc->h->st) != AB_OK) {
        reply_status(lc, rq->id, linkio_status_of(code), why);
        return AB_ERR;
    }
    return AB_OK;
}

static void on_request(lsconn *lc, msgv *m, const ab_link_request *rq)
{
    linksrv *srv = lc->srv;
    char name[REG_NAME_MAX + 1], why[AB_ERRLEN];
    msgv req;
    lc->h->st.requests++;
    linkio_name(&rq->service, name, sizeof name);
    service *svc = broker_service(srv->br, name);
    if (not_served(srv, svc, name, why, sizeof why)) {
        reply_status(lc, rq->id, AB_LINK_ST_NO_SERVICE, why);
        return;
    }
    if (!broker_accepting(srv->br)) {
        reply_status(lc, rq->id, AB_LINK_ST_DRAINING, "host is shutting down");
        return;
    }
    if (m->dropped) {
        ab_strfmt(why, sizeof why, "request has more than %d body frames", REG_MAX_FRAMES_MAX);
        reply_status(lc, rq->id, AB_LINK_ST_TOO_LARGE, why);
        return;
    }
    msgv_init(&req, (size_t)-1);
    if (build_request(lc, svc, m, rq, &req) == AB_OK) {
        origin o = {&link_origin, srv, lc};
        svc_request_within(svc, &o, &req, 2, (int)rq->deadline_ms);
    }
    msgv_clear(&req);
}

/* CANCEL: the near side gave up on request id. Unknown ids are ignored. */
static void on_cancel(lsconn *lc, uint64_t id)
{
    lc->h->st.cancels++;
    for (ab_list *l = ab_list_head(&lc->reqs); l != &lc->reqs; l = l->next) {
        request *r = AB_CONTAINER_OF(l, request, olink);
        lsmeta meta = meta_get(&r->msg);
        if (meta.id != id)
            continue;
        meta.cancelled = 1;
        meta_put(&r->msg, &meta);
        svc_cancel(r->svc, r);
        return;
    }
}

/* ----------------------------------------------------------- sessions -- */

/* Other sessions of lc's host from before its restart. */
static void drop_old_sessions(linksrv *srv, lsconn *lc)
{
    ab_list *l = ab_list_head(&srv->lsconns);
    while (l != &srv->lsconns) {
        lsconn *o = AB_CONTAINER_OF(l, lsconn, link);
        l = l->next;
        if (o != lc && o->h == lc->h && o->state == LSC_UP) {
            conn_shutdown(o->c);
            lsc_gone(o, "restarted (new epoch)");
        }
    }
}

/* The host a HELLO names, checked against the connection's key. */
static lshost *hello_host(lsconn *lc, const char *name)
{
    linksrv *srv = lc->srv;
    if (curve(srv) && strcmp(name, lc->user) != 0) {
        refuse(lc, AB_LINK_BYE_PROTOCOL, "identity", "HELLO names host %s, but the "
               "connection's key is host %s's", name, lc->user);
        return NULL;
    }
    if (!curve(srv) && (!registry_host(srv->br->reg, name) ||
                        strcmp(name, srv->br->opts.host) == 0)) {
        refuse(lc, AB_LINK_BYE_PROTOCOL, "identity", "HELLO names host %s, which "
               "is not another host of the registry", name);
        return NULL;
    }
    lshost *h = host_for(srv, name);
    if (!h)
        refuse(lc, AB_LINK_BYE_SHUTDOWN, "memory", "out of memory");
    return h;
}

static void on_hello(lsconn *lc, const ab_link_hello *hello)
{
    linksrv *srv = lc->srv;
    char name[REG_NAME_MAX + 1], why[AB_ERRLEN], w[200];
    ab_link_msg m;
    if (lc->state != LSC_NEW) {
        refuse(lc, AB_LINK_BYE_PROTOCOL, "protocol", "a second HELLO");
        return;
    }
    linkio_name(&hello->host, name, sizeof name);
    lshost *h = hello_host(lc, name);
    if (!h)
        return;
    lc->h = h;
    if (linkio_accept_hello(&lc->sess, hello, why, sizeof why) != AB_OK) {
        refuse(lc, AB_LINK_BYE_VERSION, "version", "%s", why);
        return;
    }
    if (h->epoch && h->epoch != hello->epoch)
        drop_old_sessions(srv, lc);
    h->epoch = hello->epoch;
    lsc_set_state(lc, LSC_UP);
    h->st.ups++;
    linkio_hello(&m, srv->br->epoch, srv->cfg.heartbeat_ms, srv->br->opts.host);
    send_to(lc, &m, NULL);
    if (curve(srv))
        log_info("link up %s endpoint=%s version=%d", who(lc, w, sizeof w),
                 srv->endpoint, lc->sess.version);
    else
        log_warn("link up %s endpoint=%s version=%d plaintext (NOT encrypted, NOT "
                 "authenticated: --link-plaintext)", who(lc, w, sizeof w),
                 srv->endpoint, lc->sess.version);
}

static void on_ping(lsconn *lc, const ab_link_ping *p)
{
    ab_link_msg m = {.version = lc->sess.version, .type = AB_LINK_PONG};
    m.u.ping.t = p->t;
    m.u.ping.t_peer = uv_hrtime();
    send_to(lc, &m, NULL);
}


static void on_goodbye(lsconn *lc, const ab_link_goodbye *g)
{
    char why[AB_LINK_TEXT_MAX + 64], text[AB_LINK_TEXT_MAX + 1];
    linkio_name(&g->text, text, sizeof text);
    ab_strfmt(why, sizeof why, "goodbye:%s %s", ab_link_bye_name(g->reason), text);
    lsc_gone(lc, why);
}

/* One parsed message of an UP (or NEW, for HELLO) session. */
static void on_message(lsconn *lc, msgv *m, const ab_link_msg *msg)
{
    if (msg->type == AB_LINK_HELLO) {
        on_hello(lc, &msg->u.hello);
        return;
    }
    if (msg->type == AB_LINK_GOODBYE) {
        on_goodbye(lc, &msg->u.goodbye);
        return;
    }
    if (lc->state != LSC_UP) {
        send_goodbye(lc, AB_LINK_BYE_NO_HELLO, "HELLO first");
        return;
    }
    switch (msg->type) {
    case AB_LINK_REQUEST: on_request(lc, m, &msg->u.request); break;
    case AB_LINK_CANCEL: on_cancel(lc, msg->u.cancel_id); break;
    case AB_LINK_PING: on_ping(lc, &msg->u.ping); break;
    case AB_LINK_PONG: linkio_pong(lc->h->series, msg->u.ping.t); break;
    default: lc->h->st.bad_messages++; break; /* a REPLY: not the far side's */
    }
}

/* --------------------------------------------------------- connections -- */

static lsconn *find_conn(linksrv *srv, msgv *m)
{
    for (ab_list *l = ab_list_head(&srv->lsconns); l != &srv->lsconns; l = l->next) {
        lsconn *lc = AB_CONTAINER_OF(l, lsconn, link);
        if (lc->rid_len == msgv_size(m, 0) && memcmp(lc->rid, msgv_data(m, 0), lc->rid_len) == 0)
            return lc;
    }
    return NULL;
}

/* The ZAP verdict libzmq attached to the connection, into lc. */
static int read_identity(linksrv *srv, lsconn *lc, msgv *m)
{
    const char *user = zmq_msg_gets(&m->f[1], USER_ID);
    const char *key = zmq_msg_gets(&m->f[1], ZAP_KEY_PROPERTY);
    if (!curve(srv))
        return AB_OK;
    if (!user || !*user || !key || strlen(user) > REG_NAME_MAX) {
        log_error("link: a connection without a ZAP identity (is the ZAP handler "
                  "running?); ignored");
        return AB_ERR;
    }
    snprintf(lc->user, sizeof lc->user, "%s", user);
    snprintf(lc->key, sizeof lc->key, "%s", key);
    return AB_OK;
}

static lsconn *new_conn(linksrv *srv, msgv *m, conn *c)
{
    lsconn *lc = calloc(1, sizeof *lc);
    if (!lc || msgv_size(m, 0) > sizeof lc->rid || read_identity(srv, lc, m) != AB_OK) {
        free(lc);
        return NULL;
    }
    lc->srv = srv;
    lc->rid_len = msgv_size(m, 0);
    memcpy(lc->rid, msgv_data(m, 0), lc->rid_len);
    lc->h = host_for(srv, curve(srv) ? lc->user : UNIDENTIFIED);
    if (!lc->h) {
        free(lc);
        return NULL;
    }
    lc->refs = 1;
    lc->c = c;
    conn_hold(c);
    lc->sess.last_heard = now_ms(srv);
    ab_list_init(&lc->reqs);
    ab_list_push_tail(&srv->lsconns, &lc->link);
    srv->open_handles++;
    srv->st->connections++;
    return lc;
}

/* The key a connection was admitted with is fixed for its life; the
 * check on every message makes that an invariant, not an assumption. */
static int same_identity(const lsconn *lc, msgv *m)
{
    const char *user = zmq_msg_gets(&m->f[1], USER_ID);
    return !curve(lc->srv) || (user && strcmp(user, lc->user) == 0);
}

static void on_msg(zsock *zs, msgv *m)
{
    linksrv *srv = zs->data;
    conn *c = conn_read(&srv->conns, m);
    ab_link_msg msg;
    if (m->n < 2)
        return;
    lsconn *lc = find_conn(srv, m);
    if (!lc && !(lc = new_conn(srv, m, c)))
        return;
    if (!same_identity(lc, m) || lc->state == LSC_DOOMED)
        return;
    lc->h->st.wire_in += conn_wire(&srv->conns, m);
    lc->sess.last_heard = now_ms(srv);
    ab_link_err e = linkio_parse(m, 1, &msg);
    if (e == AB_LINK_E_VERSION && msg.type == AB_LINK_HELLO) {
        refuse(lc, AB_LINK_BYE_VERSION, "version", "ours=%d..%d theirs=%d..%d",
               AB_LINK_VERSION_MIN, AB_LINK_VERSION_MAX, msg.u.hello.min_version,
               msg.u.hello.max_version);
    } else if (e != AB_LINK_OK) {
        char w[200];
        if (linkio_bad(&lc->sess, &lc->h->st, e, who(lc, w, sizeof w)))
            refuse(lc, AB_LINK_BYE_PROTOCOL, "protocol", "over %d malformed messages "
                   "in a row", LINKIO_BAD_ROW_MAX);
    } else {
        lc->sess.bad_row = 0;
        on_message(lc, m, &msg);
    }
}

/* lc's session is over; its requests keep it until they are answered. */
static void lsc_gone(lsconn *lc, const char *why)
{
    char w[200];
    if (lc->state == LSC_GONE)
        return;
    if (lc->state == LSC_UP) {
        lc->h->st.downs++;
        log_warn("link down %s endpoint=%s reason=%s serving=%zu", who(lc, w, sizeof w),
                 lc->srv->endpoint, why, (size_t)lc->h->st.inflight);
    }
    lsc_set_state(lc, LSC_GONE);
    ab_list_remove(&lc->link);
    lc->srv->st->connections--;
    unref(lc);
}

static void on_monitor(zsock *zs, msgv *m)
{
    linksrv *srv = zs->data;
    int event, fd;
    if (zsock_monitor_event(m, &event, &fd) != AB_OK)
        return;
    /* No HANDSHAKE_SUCCEEDED: see front.c's on_monitor. */
    if (event == ZMQ_EVENT_ACCEPTED) {
        conn_accepted(&srv->conns, fd);
    } else if (event == ZMQ_EVENT_DISCONNECTED) {
        zsock_drain(&srv->router, -1); /* what it sent before it went */
        ab_list *l = ab_list_head(&srv->lsconns);
        while (l != &srv->lsconns) {
            lsconn *lc = AB_CONTAINER_OF(l, lsconn, link);
            l = l->next;
            if (lc->c && lc->c->fd == fd)
                lsc_gone(lc, "disconnected");
        }
        conn_gone(&srv->conns, fd);
    }
}

/* -------------------------------------------------------------- ticks -- */

static void tick_conn(linksrv *srv, lsconn *lc, uint64_t now)
{
    const reg_links *cfg = &srv->cfg;
    char why[64];
    if (lc->state == LSC_DOOMED) {
        conn_shutdown(lc->c);
        lsc_gone(lc, "refused");
    } else if (linkio_silent(&lc->sess, now, cfg->down_ms)) {
        ab_strfmt(why, sizeof why, "silent for %llu ms",
                  (unsigned long long)(now - lc->sess.last_heard));
        conn_shutdown(lc->c);
        lsc_gone(lc, why);
    } else if (lc->state == LSC_UP && linkio_ping_due(&lc->sess, now, cfg->heartbeat_ms)) {
        ab_link_msg m = {.version = lc->sess.version, .type = AB_LINK_PING};
        m.u.ping.t = uv_hrtime();
        lc->sess.last_ping = now;
        lc->h->st.pings++;
        send_to(lc, &m, NULL);
    }
}

static void on_tick(uv_timer_t *t)
{
    linksrv *srv = t->data;
    uint64_t now = now_ms(srv);
    if (!srv->bound && srv->bind_since)
        retry_bind(srv, now);
    ab_list *l = ab_list_head(&srv->lsconns);
    while (l != &srv->lsconns) {
        lsconn *lc = AB_CONTAINER_OF(l, lsconn, link);
        l = l->next; /* lc may leave the list */
        tick_conn(srv, lc, now);
    }
}

static uint64_t tick_ms(const reg_links *cfg)
{
    return (uint64_t)(cfg->heartbeat_ms / LINKSRV_TICKS_PER_HEARTBEAT);
}

/* ----------------------------------------------------------- the guard -- */

/* The largest partial message a peer broker may hold: a request of the
 * largest max_msg_bytes here (as JSON, or its msgpack, which is smaller),
 * the envelope, and every frame header with CURVE's per-frame extra. */
static size_t guard_bound(const conn_set *s)
{
    const linksrv *srv = s->owner;
    size_t frames = LINKSRV_MAX_FRAMES;
    return srv->bound_bytes + AB_LINK_ENVELOPE_MAX +
           frames * (MSGV_MAX_HEADER + s->frame_extra) + GUARD_SLACK;
}

static void guard_describe(const conn_set *s, char *buf, size_t len)
{
    const linksrv *srv = s->owner;
    ab_strfmt(buf, len, "link=%s side=in", srv->endpoint);
}

static void guard_cut(conn_set *s, guard_reason why)
{
    linksrv *srv = s->owner;
    srv->st->guard_cuts++;
}

static const conn_ops linksrv_conn_ops = {
    .bound = guard_bound,
    .describe = guard_describe,
    .cut = guard_cut,
};

static size_t largest_body(const registry *reg)
{
    size_t n = 0;
    for (size_t i = 0; i < reg->nservices; i++) {
        if (reg->services[i].max_msg_bytes > n)
            n = reg->services[i].max_msg_bytes;
    }
    return n;
}

/* ---------------------------------------------------------- lifecycle -- */

/* Options of the ROUTER (copied into the listener when it binds). */
static int set_options(linksrv *srv, void *sock, const reg_links *cfg)
{
    broker *br = srv->br;
    int one = 1;
    int64_t ceiling = REG_MAX_MSG_BYTES_MAX + AB_LINK_ENVELOPE_MAX;
    int rc = zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    rc |= zmq_setsockopt(sock, ZMQ_LINGER, &br->opts.linger_ms, sizeof br->opts.linger_ms);
    rc |= zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &ceiling, sizeof ceiling);
    rc |= zmq_setsockopt(sock, ZMQ_SNDHWM, &cfg->hwm, sizeof cfg->hwm);
    rc |= zmq_setsockopt(sock, ZMQ_RCVHWM, &cfg->hwm, sizeof cfg->hwm);
    rc |= zmq_setsockopt(sock, ZMQ_HANDSHAKE_IVL, &cfg->down_ms, sizeof cfg->down_ms);
    rc |= zmq_setsockopt(sock, ZMQ_TCP_MAXRT, &cfg->down_ms, sizeof cfg->down_ms);
    if (curve(srv)) {
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one);
        rc |= zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, br->key.secret_key, KEYS_LEN);
        rc |= zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, LINKIO_ZAP_DOMAIN,
                             strlen(LINKIO_ZAP_DOMAIN));
    }
    return rc == 0 ? AB_OK : AB_ERR;
}

/* Bind the port of the host's link on --link-bind (default every
 * interface): the registry's link: is where the other brokers dial, which
 * behind NAT or a container's published port is not a local address. */
static int bind_link(linksrv *srv, char *err, size_t errlen)
{
    char ep[160];
    ab_strfmt(ep, sizeof ep, "tcp://%s%s", srv->br->opts.link_bind,
              strrchr(srv->endpoint + strlen("tcp://"), ':'));
    if (zmq_bind(srv->router.sock, ep) == 0) {
        srv->bound = 1;
        return AB_OK;
    }
    srv->bind_errno = errno;
    return ab_seterr(err, errlen, "link server: cannot bind %s (link %s): %s", ep,
                     srv->endpoint, zmq_strerror(errno));
}

/* A rebind right after the previous server closed (a reload that changed
 * the key) may find the port still held while libzmq releases it: it is
 * tried again at every tick for LINKSRV_BIND_PATIENCE_MS. */
static void retry_bind(linksrv *srv, uint64_t now)
{
    char err[AB_ERRLEN];
    if (bind_link(srv, err, sizeof err) == AB_OK)
        log_info("link listen endpoint=%s after_ms=%llu", srv->endpoint,
                 (unsigned long long)(now - srv->bind_since));
    else if (srv->bind_errno != EADDRINUSE || now - srv->bind_since >= LINKSRV_BIND_PATIENCE_MS) {
        log_error("%s: gave up; send SIGHUP to try again", err);
        srv->bind_since = 0;
    }
}

static int open_sockets(linksrv *srv, const reg_links *cfg, int retry, char *err,
                        size_t errlen)
{
    broker *br = srv->br;
    if (zsock_init(&br->sched, &srv->router, br->zctx, ZMQ_ROUTER, LINKSRV_MAX_FRAMES,
                   err, errlen) != AB_OK)
        return AB_ERR;
    if (set_options(srv, srv->router.sock, cfg) != AB_OK) {
        ab_seterr(err, errlen, "link server: options: %s", zmq_strerror(errno));
        zsock_discard(&srv->router);
        return AB_ERR;
    }
    if (zsock_monitor_open(&br->sched, &srv->monitor, br->zctx, &srv->router,
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED, err,
                           errlen) != AB_OK) {
        zsock_discard(&srv->router);
        return AB_ERR;
    }
    if (bind_link(srv, err, errlen) != AB_OK && !(retry && srv->bind_errno == EADDRINUSE)) {
        zsock_discard(&srv->router); /* the monitored one first */
        zsock_discard(&srv->monitor);
        return AB_ERR;
    }
    srv->router.data = srv->monitor.data = srv;
    srv->router.want_srcfd = 1;
    return AB_OK;
}

static void on_part_closed(linksrv *srv)
{
    srv->open_handles--;
    maybe_free(srv);
}

static void on_zsock_closed(zsock *zs) { on_part_closed(zs->data); }
static void on_timer_closed(uv_handle_t *h) { on_part_closed(h->data); }

/* Freed once its handles are closed and its last session is released. */
static void maybe_free(linksrv *srv)
{
    if (!srv->closing || srv->open_handles > 0)
        return;
    while (!ab_list_empty(&srv->hosts)) {
        lshost *h = AB_CONTAINER_OF(ab_list_head(&srv->hosts), lshost, link);
        ab_list_remove(&h->link);
        free(h);
    }
    free(srv);
}

static int start(linksrv *srv, const reg_links *cfg, char *err, size_t errlen)
{
    broker *br = srv->br;
    if (zsock_start(&srv->router, on_msg, err, errlen) != AB_OK) {
        zsock_discard(&srv->router);
        zsock_discard(&srv->monitor);
        free(srv);
        return AB_ERR;
    }
    if (zsock_start(&srv->monitor, on_monitor, err, errlen) != AB_OK) {
        srv->open_handles = 1;
        srv->closing = 1;
        zsock_close(&srv->router, on_zsock_closed);
        zsock_discard(&srv->monitor);
        return AB_ERR;
    }
    uv_timer_init(br->loop, &srv->tick);
    srv->tick.data = srv;
    uv_timer_start(&srv->tick, on_tick, tick_ms(cfg), tick_ms(cfg));
    srv->open_handles = 3;
    conn_set_init(&srv->conns, &br->guard, &srv->router, &linksrv_conn_ops, srv, 1);
    if (curve(srv))
        srv->conns.frame_extra = LINKIO_CURVE_FRAME_EXTRA;
    return AB_OK;
}

int linksrv_open(broker *br, const registry *reg, const char *endpoint, int retry,
                 linksrv **out, char *err, size_t errlen)
{
    linksrv *srv = calloc(1, sizeof *srv);
    if (!srv)
        return ab_seterr(err, errlen, "out of memory");
    srv->br = br;
    srv->st = &br->lsrv_stats;
    snprintf(srv->endpoint, sizeof srv->endpoint, "%s", endpoint);
    ab_list_init(&srv->lsconns);
    ab_list_init(&srv->hosts);
    srv->bound_bytes = largest_body(reg);
    srv->cfg = reg->links;
    if (open_sockets(srv, &reg->links, retry, err, errlen) != AB_OK) {
        free(srv);
        return AB_ERR;
    }
    if (start(srv, &reg->links, err, errlen) != AB_OK)
        return AB_ERR;
    srv->series = stats_series_open(&br->stats, STATS_KIND_linksrv, srv, srv->st, NULL,
                                    endpoint, NULL);
    if (srv->bound)
        log_info("link listen endpoint=%s%s", endpoint,
                 curve(srv) ? " curve=on" : " curve=OFF (plaintext)");
    else
        srv->bind_since = uv_now(br->loop);
    *out = srv;
    return AB_OK;
}

void linksrv_apply(linksrv *srv, const registry *reg)
{
    srv->bound_bytes = largest_body(reg);
    for (ab_list *l = ab_list_head(&srv->hosts); l != &srv->hosts; l = l->next) {
        lshost *h = AB_CONTAINER_OF(l, lshost, link);
        if (!registry_host(reg, h->name)) { /* its statistics leave the exports */
            stats_series_close(h->series);
            h->series = NULL;
        }
    }
    for (ab_list *l = ab_list_head(&srv->lsconns); l != &srv->lsconns; l = l->next) {
        lsconn *lc = AB_CONTAINER_OF(l, lsconn, link);
        const char *host = curve(srv) ? lc->user : lc->h->name;
        if (lc->state == LSC_DOOMED || (lc->state == LSC_NEW && !curve(srv)))
            continue;
        if (curve(srv) ? zap_key_listed(reg, host, lc->key) : registry_host(reg, host) != NULL)
            continue;
        refuse(lc, AB_LINK_BYE_REMOVED, "removed", "the registry no longer lists "
               "host %s or this key of it", host);
    }
}

void linksrv_close(linksrv *srv, int reason)
{
    if (srv->closing)
        return;
    while (!ab_list_empty(&srv->lsconns)) {
        lsconn *lc = AB_CONTAINER_OF(ab_list_head(&srv->lsconns), lsconn, link);
        if (lc->state == LSC_UP)
            send_goodbye(lc, (ab_link_bye)reason, ab_link_bye_name((uint8_t)reason));
        lsc_gone(lc, ab_link_bye_name((uint8_t)reason));
    }
    srv->closing = 1;
    stats_series_close(srv->series);
    srv->series = NULL;
    for (ab_list *l = ab_list_head(&srv->hosts); l != &srv->hosts; l = l->next) {
        lshost *h = AB_CONTAINER_OF(l, lshost, link);
        stats_series_close(h->series);
        h->series = NULL;
    }
    log_info("link unbind endpoint=%s", srv->endpoint);
    conn_set_close(&srv->conns);
    zsock_close(&srv->router, on_zsock_closed);
    zsock_close(&srv->monitor, on_zsock_closed);
    uv_close((uv_handle_t *)&srv->tick, on_timer_closed);
}

size_t linksrv_up(const linksrv *srv)
{
    size_t n = 0;
    for (ab_list *l = ab_list_head(&srv->hosts); l != &srv->hosts; l = l->next)
        n += AB_CONTAINER_OF(l, lshost, link)->st.up;
    return n;
}
