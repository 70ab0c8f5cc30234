/*
 * redis.c: the connection to Redis (see redis.h for the contract).
 *
 * One state, moved only by set_state(), which refuses impossible moves:
 *
 *   WAIT --backoff--> RESOLVING --address--> CONNECTING --connected--> UP
 *     ^                   |                      |                      |
 *     +------failure------+----------------------+----------------------+
 *   any --redis_close--> CLOSED
 *
 * One timer serves every state: the backoff in WAIT, the watchdog in
 * RESOLVING and CONNECTING, the reply watchdog of the batch in flight in
 * UP. A connection is never freed from inside a hiredis callback: failures
 * found there are handed to the timer (0 ms), which frees the context.
 */
#include "redis.h"

#include "common.h"
#include "log.h"
#include "redis_target.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <hiredis/sds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDIS_STATES(X)                                                    \
    X(RC_WAIT, "wait")                                                     \
    X(RC_RESOLVING, "resolving")                                           \
    X(RC_CONNECTING, "connecting")                                         \
    X(RC_UP, "up")                                                         \
    X(RC_CLOSED, "closed")

typedef enum rc_state {
#define RC_STATE_ENUM(sym, name) sym,
    REDIS_STATES(RC_STATE_ENUM)
#undef RC_STATE_ENUM
} rc_state;

/* Our hiredis event adapter: one per context, freed by its poll's close. */
typedef struct adapter {
    uv_poll_t poll;
    redisAsyncContext *ac; /* NULL once hiredis cleaned up */
    int events;
} adapter;

/* One name resolution; outlives an abandoned attempt (rc set to NULL). */
typedef struct resolve {
    uv_getaddrinfo_t req;
    redis_conn *rc;
} resolve;

struct redis_conn {
    uv_loop_t *loop;
    redis_target t;        /* where, and the credentials */
    unsigned timeout_ms;
    rc_state state;
    uv_timer_t timer;
    resolve *resolving;
    redisAsyncContext *ac;
    const char *fail_why;  /* a failure seen in a callback, for the timer */
    char why[256];
    unsigned backoff_ms;
    int attempts, was_up, logged_down;
    uintptr_t gen;         /* tags replies: older contexts/batches ignored */
    unsigned pending;      /* replies the batch in flight still waits for */
    uint64_t batch_t0;
    redis_stats stats;
    stats_series *series;
    void (*on_close)(void *arg);
    void *close_arg;
};

struct redis_sink {
    redis_conn *rc;
};

static void on_timer(uv_timer_t *t);

/* ------------------------------------------------------------- states -- */

static const char *const state_names[] = {
#define RC_STATE_NAME(sym, name) name,
    REDIS_STATES(RC_STATE_NAME)
#undef RC_STATE_NAME
};

/* Allowed moves, [from][to]. */
static const unsigned char allowed[5][5] = {
    [RC_WAIT] = {[RC_RESOLVING] = 1, [RC_CLOSED] = 1},
    [RC_RESOLVING] = {[RC_CONNECTING] = 1, [RC_WAIT] = 1, [RC_CLOSED] = 1},
    [RC_CONNECTING] = {[RC_UP] = 1, [RC_WAIT] = 1, [RC_CLOSED] = 1},
    [RC_UP] = {[RC_WAIT] = 1, [RC_CLOSED] = 1},
};

static void set_state(redis_conn *rc, rc_state to)
{
    if (!allowed[rc->state][to]) {
        log_error("BUG: redis: impossible transition %s -> %s",
                  state_names[rc->state], state_names[to]);
        abort();
    }
    rc->state = to;
    rc->stats.up = to == RC_UP;
}

static void arm(redis_conn *rc, uint64_t ms) { uv_timer_start(&rc->timer, on_timer, ms, 0); }

/* ------------------------------------------------------------ adapter -- */

static void adapter_poll(uv_poll_t *p, int status, int events)
{
    adapter *a = p->data;
    redis_conn *rc = a->ac ? a->ac->data : NULL;
    if (status < 0) {
        /* What the bundled adapter drops: make it a disconnect. */
        if (rc && a->ac == rc->ac && !rc->fail_why) {
            ab_strfmt(rc->why, sizeof rc->why, "poll error: %s", uv_strerror(status));
            rc->fail_why = rc->why;
            arm(rc, 0);
        }
        return;
    }
    if (a->ac && (events & UV_READABLE))
        redisAsyncHandleRead(a->ac);
    if (a->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(a->ac);
}

static void adapter_update(adapter *a, int add, int del)
{
    a->events = (a->events | add) & ~del;
    if (a->events)
        uv_poll_start(&a->poll, a->events, adapter_poll);
    else
        uv_poll_stop(&a->poll);
}

static void ev_add_read(void *p) { adapter_update(p, UV_READABLE, 0); }
static void ev_del_read(void *p) { adapter_update(p, 0, UV_READABLE); }
static void ev_add_write(void *p) { adapter_update(p, UV_WRITABLE, 0); }
static void ev_del_write(void *p) { adapter_update(p, 0, UV_WRITABLE); }
static void adapter_free(uv_handle_t *h) { free(h->data); }

/* hiredis is freeing the context: stop watching its fd now (uv_close
 * unregisters at once, before hiredis closes the fd). */
static void ev_cleanup(void *p)
{
    adapter *a = p;
    a->ac = NULL;
    uv_close((uv_handle_t *)&a->poll, adapter_free);
}

static int adapter_attach(redis_conn *rc, redisAsyncContext *ac)
{
    adapter *a = calloc(1, sizeof *a);
    if (!a)
        return AB_ERR;
    if (uv_poll_init(rc->loop, &a->poll, ac->c.fd) != 0) {
        free(a);
        return AB_ERR;
    }
    a->poll.data = a;
    a->ac = ac;
    ac->data = rc;
    ac->ev.data = a;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    ev_add_write(a); /* writable = the non-blocking connect completed */
    return AB_OK;
}

/* --------------------------------------------------------- connection -- */

/* Let go of the current context, if any, ignoring whatever it still says. */
static void drop_context(redis_conn *rc)
{
    redisAsyncContext *ac = rc->ac;
    rc->ac = NULL;
    rc->gen++;
    rc->pending = 0;
    rc->fail_why = NULL;
    if (ac)
        redisAsyncFree(ac); /* runs its callbacks (ignored) and ev_cleanup */
}

/* Log an outage once: warn when it starts, debug while it lasts. */
static void log_failure(redis_conn *rc, const char *why)
{
    if (!rc->logged_down) {
        log_warn("redis down addr=%s: %s (retrying; pushes are dropped meanwhile)",
                 rc->t.addr, why);
        rc->logged_down = 1;
    } else {
        log_debug("redis attempt failed addr=%s: %s", rc->t.addr, why);
    }
}

/* Any failure: back to WAIT with a longer backoff. */
static void fail(redis_conn *rc, const char *why)
{
    if (rc->state == RC_UP && rc->pending)
        rc->stats.dropped++; /* the batch in flight is lost */
    log_failure(rc, why);
    if (rc->resolving) {
        rc->resolving->rc = NULL; /* its callback frees it */
        uv_cancel((uv_req_t *)&rc->resolving->req);
        rc->resolving = NULL;
    }
    drop_context(rc);
    set_state(rc, RC_WAIT);
    arm(rc, rc->backoff_ms);
    rc->backoff_ms = rc->backoff_ms * 2 > REDIS_BACKOFF_MAX_MS ? REDIS_BACKOFF_MAX_MS
                                                                : rc->backoff_ms * 2;
}

/* A failure noticed inside a hiredis callback: act on the next loop turn. */
static void fail_later(redis_conn *rc, const char *fmt, const char *detail)
{
    if (rc->fail_why)
        return;
    ab_strfmt(rc->why, sizeof rc->why, fmt, detail ? detail : "");
    rc->fail_why = rc->why;
    arm(rc, 0);
}

static void on_setup_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_conn *rc = ac->data;
    redisReply *reply = r;
    if (reply && rc->ac == ac && reply->type == REDIS_REPLY_ERROR)
        fail_later(rc, "setup refused: %s", reply->str);
}

/* AUTH and SELECT, pipelined ahead of the first batch. */
static void send_setup(redis_conn *rc)
{
    char db[16];
    const redis_target *t = &rc->t;
    if (t->password[0]) {
        const char *argv[3] = {"AUTH", t->user[0] ? t->user : t->password, t->password};
        redisAsyncCommandArgv(rc->ac, on_setup_reply, NULL, t->user[0] ? 3 : 2, argv, NULL);
    }
    if (t->db) {
        snprintf(db, sizeof db, "%d", t->db);
        const char *argv[2] = {"SELECT", db};
        redisAsyncCommandArgv(rc->ac, on_setup_reply, NULL, 2, argv, NULL);
    }
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redis_conn *rc = cac->data;
    if (cac != rc->ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns. */
        rc->ac = NULL;
        fail_later(rc, "connect failed: %s", cac->errstr);
        return;
    }
    set_state(rc, RC_UP);
    uv_timer_stop(&rc->timer);
    log_info("redis up addr=%s%s", rc->t.addr, rc->was_up ? " (reconnected)" : "");
    rc->was_up = 1;
    rc->logged_down = 0;
    send_setup(rc);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    redis_conn *rc = cac->data;
    if (cac != rc->ac)
        return;
    rc->ac = NULL; /* hiredis frees it when this returns */
    fail_later(rc, "connection lost: %s", cac->errstr ? cac->errstr : "closed by server");
}

static void connect_to(redis_conn *rc, const char *ip)
{
    redisAsyncContext *ac = redisAsyncConnect(ip, rc->t.port);
    set_state(rc, RC_CONNECTING);
    if (!ac || ac->err) {
        ab_strfmt(rc->why, sizeof rc->why, "connect: %s", ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        fail(rc, rc->why);
        return;
    }
    if (adapter_attach(rc, ac) != AB_OK) {
        redisAsyncFree(ac);
        fail(rc, "out of memory");
        return;
    }
    rc->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    arm(rc, rc->timeout_ms);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    resolve *r = req->data;
    redis_conn *rc = r->rc;
    char ip[64] = "";
    if (res && res->ai_family == AF_INET6)
        uv_ip6_name((struct sockaddr_in6 *)res->ai_addr, ip, sizeof ip);
    else if (res)
        uv_ip4_name((struct sockaddr_in *)res->ai_addr, ip, sizeof ip);
    uv_freeaddrinfo(res);
    free(r);
    if (!rc)
        return; /* abandoned: timed out, or closing */
    rc->resolving = NULL;
    if (status != 0 || !ip[0]) {
        ab_strfmt(rc->why, sizeof rc->why, "cannot resolve %s: %s", rc->t.host,
                 uv_strerror(status ? status : UV_EAI_NONAME));
        fail(rc, rc->why);
        return;
    }
    connect_to(rc, ip);
}

static void start_attempt(redis_conn *rc)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    resolve *r = calloc(1, sizeof *r);
    rc->stats.reconnects += rc->attempts++ > 0;
    set_state(rc, RC_RESOLVING);
    if (!r) {
        fail(rc, "out of memory");
        return;
    }
    r->rc = rc;
    r->req.data = r;
    int e = uv_getaddrinfo(rc->loop, &r->req, on_resolved, rc->t.host, NULL, &hints);
    if (e != 0) {
        free(r);
        ab_strfmt(rc->why, sizeof rc->why, "cannot resolve %s: %s", rc->t.host, uv_strerror(e));
        fail(rc, rc->why);
        return;
    }
    rc->resolving = r;
    arm(rc, rc->timeout_ms);
}

static void on_timer(uv_timer_t *t)
{
    redis_conn *rc = t->data;
    if (rc->fail_why) {
        fail(rc, rc->fail_why);
        return;
    }
    switch (rc->state) {
    case RC_WAIT: start_attempt(rc); break;
    case RC_RESOLVING: fail(rc, "name resolution timed out"); break;
    case RC_CONNECTING: fail(rc, "connect timed out"); break;
    case RC_UP:
        ab_strfmt(rc->why, sizeof rc->why, "no reply within %u ms", rc->timeout_ms);
        fail(rc, rc->why);
        break;
    case RC_CLOSED: break;
    }
}

/* ------------------------------------------------------------ batches -- */

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redis_conn *rc = ac->data;
    redisReply *reply = r;
    if (!reply || ac != rc->ac || (uintptr_t)privdata != rc->gen || !rc->pending)
        return; /* a context or batch we already gave up on */
    if (reply->type == REDIS_REPLY_ERROR && rc->stats.errors++ == 0)
        log_warn("redis error reply addr=%s: %s (logged once)", rc->t.addr, reply->str);
    if (--rc->pending)
        return;
    uv_timer_stop(&rc->timer);
    rc->stats.pushes++;
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    stats_record_since(rc->series, HIST_redis_push_time, rc->batch_t0);
}

void redis_cmd(redis_sink *sink, int argc, const char **argv, const size_t *lens)
{
    redis_conn *rc = sink->rc;
    if (redisAsyncCommandArgv(rc->ac, on_reply, (void *)rc->gen, argc, argv, lens) == REDIS_OK)
        rc->pending++;
}

void redis_push(redis_conn *rc, redis_build_fn fn, void *ctx)
{
    if (rc->state != RC_UP || rc->pending || rc->fail_why) {
        rc->stats.dropped++;
        return;
    }
    redis_sink sink = {rc};
    rc->gen++;
    rc->batch_t0 = stats_clock(rc->series);
    fn(ctx, &sink);
    if (rc->pending)
        arm(rc, rc->timeout_ms);
}

/* -------------------------------------------------------------- setup -- */

static void refresh(stats_series *s)
{
    redis_conn *rc = s->owner;
    rc->stats.buffered_bytes = rc->ac ? sdslen(rc->ac->c.obuf) : 0;
}

static void conn_free(redis_conn *rc)
{
    redis_target_clear(&rc->t);
    free(rc);
}

int redis_open(uv_loop_t *loop, const redis_opts *o, stats_reg *reg,
               redis_conn **out, char *err, size_t errlen)
{
    redis_conn *rc = calloc(1, sizeof *rc);
    if (!rc)
        return ab_seterr(err, errlen, "out of memory");
    rc->loop = loop;
    rc->timeout_ms = o->timeout_ms;
    rc->backoff_ms = REDIS_BACKOFF_MIN_MS;
    if (redis_target_init(&rc->t, o->url, o->password_file, err, errlen) != AB_OK) {
        free(rc);
        return AB_ERR;
    }
    uv_timer_init(loop, &rc->timer);
    rc->timer.data = rc;
    rc->series = stats_series_open(reg, STATS_KIND_redis, rc, &rc->stats, refresh,
                                   rc->t.addr, NULL);
    arm(rc, 0); /* WAIT with no backoff: connect on the first loop turn */
    *out = rc;
    return AB_OK;
}

static void on_closed(uv_handle_t *h)
{
    redis_conn *rc = h->data;
    void (*cb)(void *) = rc->on_close;
    void *arg = rc->close_arg;
    conn_free(rc);
    if (cb)
        cb(arg);
}

void redis_close(redis_conn *rc, void (*cb)(void *arg), void *arg)
{
    rc->on_close = cb;
    rc->close_arg = arg;
    if (rc->resolving) {
        rc->resolving->rc = NULL;
        uv_cancel((uv_req_t *)&rc->resolving->req);
        rc->resolving = NULL;
    }
    drop_context(rc);
    set_state(rc, RC_CLOSED);
    stats_series_close(rc->series);
    rc->series = NULL;
    uv_close((uv_handle_t *)&rc->timer, on_closed);
}
