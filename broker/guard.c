/*
 * guard.c: per-connection byte accounting and the timer that cuts
 * connections holding a partial message too large, too long, or too much
 * in all (see guard.h for why, docs/operations.md for the bounds).
 */
#include "guard.h"

#include "common.h"
#include "log.h"
#include "tcpcount.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A ZMTP PING is at most this many times its PONG (9 and 7 octets for
 * libzmq's context-free ones; longer contexts make the ratio smaller). */
#define PING_NUM 9
#define PONG_DEN 7

/* Messages drained per connection of a socket before it is sampled: the
 * ROUTER serves its pipes round robin, so this reaches at least one
 * message of every connection that has one waiting. */
#define DRAIN_PER_CONN 4
#define DRAIN_MIN 256

/* At most this many connections are cut per tick for the memory bound;
 * the next tick goes on if it is still exceeded. */
#define MEMORY_CUTS_MAX 64

static const char *const reason_names[] = {
#define GUARD_REASON_NAME(sym, reason, stat) reason,
    GUARD_REASONS(GUARD_REASON_NAME)
#undef GUARD_REASON_NAME
};

const char *guard_reason_name(guard_reason r) { return reason_names[r]; }

/* ------------------------------------------------------- the fd table -- */

static conn *fd_lookup(const guard *g, int fd)
{
    return fd >= 0 && (size_t)fd < g->fd_cap ? g->by_fd[fd] : NULL;
}

static int fd_store(guard *g, int fd, conn *c)
{
    if ((size_t)fd >= g->fd_cap) {
        size_t cap = g->fd_cap ? g->fd_cap : 256;
        while (cap <= (size_t)fd)
            cap *= 2;
        conn **t = realloc(g->by_fd, cap * sizeof *t);
        if (!t)
            return AB_ERR;
        memset(t + g->fd_cap, 0, (cap - g->fd_cap) * sizeof *t);
        g->by_fd = t;
        g->fd_cap = cap;
    }
    g->by_fd[fd] = c;
    return AB_OK;
}

/* ------------------------------------------------------- connections -- */

/* Record who is at the other end of fd: the identity checked before every
 * syscall on an fd libzmq may have closed and reused meanwhile. Only TCP
 * connections are guarded (ipc:// has no byte counters). */
static void record_peer(conn *c)
{
    c->peerlen = sizeof c->peer;
    c->guarded = getpeername(c->fd, (struct sockaddr *)&c->peer, &c->peerlen) == 0 &&
                 (c->peer.ss_family == AF_INET || c->peer.ss_family == AF_INET6);
}

static int same_peer(const conn *c)
{
    struct sockaddr_storage now;
    socklen_t len = sizeof now;
    return getpeername(c->fd, (struct sockaddr *)&now, &len) == 0 &&
           len == c->peerlen && memcmp(&now, &c->peer, len) == 0;
}

void conn_peer_text(const conn *c, char *buf, size_t len)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (c->peer.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&c->peer;
        inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
        port = ntohs(a->sin_port);
    } else if (c->peer.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&c->peer;
        inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
        port = ntohs(a->sin6_port);
    }
    ab_strfmt(buf, len, "%s:%d", addr, port);
}

static conn *conn_new(conn_set *s, int fd, int accepted)
{
    conn *c = calloc(1, sizeof *c);
    if (!c || fd_store(s->g, fd, c) != AB_OK) {
        free(c);
        log_error("out of memory tracking a connection; it is not guarded");
        return NULL;
    }
    c->set = s;
    c->fd = fd;
    c->refs = 1;
    c->accepted = accepted;
    c->created = uv_now(s->g->timer.loop);
    record_peer(c);
    ab_list_push_tail(&s->conns, &c->link);
    return c;
}

static void conn_unref(conn *c)
{
    if (--c->refs == 0)
        free(c);
}

/* The connection is gone (or its fd was reused): forget it. Requests that
 * hold it keep the memory until they release it. */
static void conn_detach(conn *c)
{
    guard *g = c->set->g;
    if (fd_lookup(g, c->fd) == c)
        g->by_fd[c->fd] = NULL;
    ab_list_remove(&c->link);
    c->set = NULL;
    c->fd = -1;
    conn_unref(c);
}

void conn_accepted(conn_set *s, int fd)
{
    conn *c = fd_lookup(s->g, fd);
    /* A message may have been read (and created c) before this event. */
    if (c && c->set == s && !c->accepted && same_peer(c)) {
        c->accepted = 1;
        return;
    }
    if (c)
        conn_detach(c); /* its fd was closed and reused */
    conn_new(s, fd, 1);
}

void conn_handshaken(conn_set *s, int fd)
{
    conn *c = fd_lookup(s->g, fd);
    if (c && c->set == s && c->phase == CONN_HANDSHAKING)
        c->phase = CONN_SETTLING;
}

void conn_gone(conn_set *s, int fd)
{
    conn *c = fd_lookup(s->g, fd);
    if (c && c->set == s)
        conn_detach(c);
}

conn *conn_find(conn_set *s, int fd)
{
    conn *c = fd_lookup(s->g, fd);
    return c && c->set == s ? c : NULL;
}

/* What s->frame_extra adds to m's frames from `from` on: the extra bytes,
 * and the longer header of a frame the extra pushes past 255 bytes.
 * Frames dropped beyond the msgv's limit are counted without the latter. */
static size_t mechanism_extra(const conn_set *s, const msgv *m, size_t from)
{
    size_t extra = m->dropped * s->frame_extra;
    for (size_t i = from; i < m->n; i++) {
        size_t n = msgv_size(m, i);
        extra += msgv_frame_wire(n + s->frame_extra) - msgv_frame_wire(n);
    }
    return extra;
}

size_t conn_wire(const conn_set *s, const msgv *m)
{
    size_t skip = 0, from = (size_t)s->unwired < m->n ? (size_t)s->unwired : m->n;
    for (size_t i = 0; i < from; i++)
        skip += msgv_frame_wire(msgv_size(m, i));
    return m->wire - skip + (s->frame_extra ? mechanism_extra(s, m, from) : 0);
}

conn *conn_read(conn_set *s, const msgv *m)
{
    conn *c = fd_lookup(s->g, m->srcfd);
    if (m->srcfd < 0 || (c && c->set != s))
        return NULL;
    if (!c && !(c = conn_new(s, m->srcfd, 0)))
        return NULL;
    c->in_wire += conn_wire(s, m);
    c->in_msgs++;
    if (c->phase == CONN_HANDSHAKING)
        c->phase = CONN_SETTLING; /* a message came through */
    return c;
}

void conn_wrote(conn *c, size_t wire)
{
    if (c)
        c->out_wire += wire;
}

void conn_hold(conn *c)
{
    if (!c)
        return;
    c->refs++;
    c->held++;
}

void conn_release(conn *c)
{
    if (!c)
        return;
    c->held--;
    conn_unref(c);
}

void conn_set_init(conn_set *s, guard *g, zsock *zs, const conn_ops *ops,
                   void *owner, int unwired)
{
    memset(s, 0, sizeof *s);
    s->g = g;
    s->zs = zs;
    s->ops = ops;
    s->owner = owner;
    s->unwired = unwired;
    ab_list_init(&s->conns);
    ab_list_push_tail(&g->sets, &s->link);
}

void conn_set_close(conn_set *s)
{
    while (!ab_list_empty(&s->conns))
        conn_detach(AB_CONTAINER_OF(ab_list_head(&s->conns), conn, link));
    ab_list_remove(&s->link);
    s->g = NULL;
}

/* ---------------------------------------------------------- sampling -- */

/* What the kernel says libzmq read from c's socket and wrote to it. */
typedef struct tcp_counts {
    uint64_t read, written;
} tcp_counts;

/* AB_ERR when c is not (or no longer) the connection on its fd. Bytes
 * still in the kernel's receive queue were not read by libzmq, so they are
 * not libzmq's memory (tcpcount.h). */
static int sample(const conn *c, tcp_counts *t)
{
    if (!same_peer(c))
        return AB_ERR;
    return tcpcount_read(c->fd, &t->read, &t->written);
}

/* Bytes libzmq read from c that the broker did not see as messages, less
 * those explained by what libzmq wrote on its own (PINGs are answered by
 * PONGs). The own-writes estimate written - out_wire never exceeds the
 * truth (out_wire may include messages still queued in libzmq), and the
 * truth only grows, so its running maximum is kept. */
static int64_t unexplained(conn *c, const tcp_counts *t)
{
    int64_t own = (int64_t)t->written - (int64_t)c->out_wire;
    if (own > (int64_t)c->pong_allow)
        c->pong_allow = (uint64_t)own;
    return (int64_t)t->read - (int64_t)c->in_wire -
           (int64_t)(c->pong_allow * PING_NUM / PONG_DEN);
}

static void rebase(conn *c, int64_t x)
{
    c->x_ref = x;
    c->msgs_ref = c->in_msgs;
}

/* ----------------------------------------------------------- cutting -- */

int conn_shutdown(conn *c)
{
    if (!c || c->fd < 0 || !same_peer(c))
        return AB_ERR; /* its fd was closed meanwhile: nothing left to cut */
    c->guarded = 0;
    /* libzmq's engine reads end-of-file and closes the session as if the
     * peer had (stream_engine_base_t::error); DISCONNECTED follows. Its
     * writes fail with EPIPE (the broker ignores SIGPIPE). */
    shutdown(c->fd, SHUT_RDWR);
    return AB_OK;
}

/* Cut c once (it stays until DISCONNECTED, unguarded). */
static void cut(conn *c, guard_reason why, uint64_t bound)
{
    char who[160], peer[80];
    conn_set *s = c->set;
    uint64_t partial = c->partial;
    c->guarded = 0;
    c->partial = 0;
    conn_peer_text(c, peer, sizeof peer);
    if (conn_shutdown(c) != AB_OK)
        return;
    s->ops->describe(s, who, sizeof who);
    log_warn("guard cut %s peer=%s reason=%s partial_bytes=%llu bound=%llu", who,
             peer, guard_reason_name(why), (unsigned long long)partial,
             (unsigned long long)bound);
    s->ops->cut(s, why);
}

/* A connection's partial message at one tick, from x, its unexplained
 * bytes since it was opened. Two measures, the larger wins:
 *  - bytes beyond the largest handshake (GUARD_HANDSHAKE_MAX): whatever
 *    the timing, these cannot be a handshake, so a partial message sent
 *    right behind the handshake is counted in full;
 *  - once the handshake is over, growth since the reference, which is
 *    re-based when the handshake ends, when a message completed since the
 *    last tick and when x fell (a PONG explained a PING): this sees a
 *    trickle from its first byte. */
static uint64_t partial_bytes(conn *c, int64_t x)
{
    int progress = c->in_msgs != c->msgs_ref;
    if (c->phase == CONN_SETTLING) {
        c->phase = CONN_SETTLED;
        progress = 1;
    }
    if (c->phase == CONN_SETTLED && (progress || x <= c->x_ref))
        rebase(c, x);
    uint64_t beyond = x > GUARD_HANDSHAKE_MAX ? (uint64_t)(x - GUARD_HANDSHAKE_MAX) : 0;
    uint64_t growth = c->phase == CONN_SETTLED && x > c->x_ref ? (uint64_t)(x - c->x_ref) : 0;
    if (progress)
        c->partial_since = 0; /* a message came through: a new one began */
    return beyond > growth ? beyond : growth;
}

/* One connection at one tick: cut when its partial message exceeds the
 * owner's bound, or when it has had one at every tick for --partial-ms
 * without completing a message. During the handshake only the byte bound
 * applies (libzmq's handshake timeout, set to --partial-ms, bounds its
 * time). */
static void check_conn(guard *g, conn *c, uint64_t now)
{
    tcp_counts t;
    if (!c->guarded || sample(c, &t) != AB_OK)
        return;
    int64_t x = unexplained(c, &t);
    if (c->phase == CONN_HANDSHAKING && now - c->created >= (uint64_t)g->partial_ms)
        c->phase = CONN_SETTLING;
    c->partial = partial_bytes(c, x);
    uint64_t bound = c->set->ops->bound(c->set);
    if (c->partial > bound) {
        cut(c, CUT_TOO_LARGE, bound);
        return;
    }
    if (c->phase != CONN_SETTLED || c->partial == 0) {
        c->partial_since = 0;
    } else if (!c->partial_since) {
        c->partial_since = now;
    } else if (now - c->partial_since >= (uint64_t)g->partial_ms) {
        cut(c, CUT_TOO_SLOW, (uint64_t)g->partial_ms);
        return;
    }
    g->partial_total += c->partial;
}

static void check_set(guard *g, conn_set *s, uint64_t now)
{
    size_t n = 0;
    for (ab_list *l = ab_list_head(&s->conns); l != &s->conns; l = l->next)
        n++;
    if (n == 0)
        return;
    zsock_drain(s->zs, (int)(n * DRAIN_PER_CONN + DRAIN_MIN));
    if (!s->g)
        return; /* the drain closed the set */
    for (ab_list *l = ab_list_head(&s->conns); l != &s->conns; l = l->next)
        check_conn(g, AB_CONTAINER_OF(l, conn, link), now);
}

/* The connection holding the largest partial message, or NULL. */
static conn *largest_partial(guard *g)
{
    conn *best = NULL;
    for (ab_list *sl = ab_list_head(&g->sets); sl != &g->sets; sl = sl->next) {
        conn_set *s = AB_CONTAINER_OF(sl, conn_set, link);
        for (ab_list *l = ab_list_head(&s->conns); l != &s->conns; l = l->next) {
            conn *c = AB_CONTAINER_OF(l, conn, link);
            if (c->guarded && c->partial && (!best || c->partial > best->partial))
                best = c;
        }
    }
    return best;
}

/* The whole-broker bound: requests held plus partial messages. Requests
 * are refused at admission beyond it, so only partial messages can push
 * the total over; the largest go first. */
static void enforce_memory(guard *g)
{
    for (int i = 0; i < MEMORY_CUTS_MAX; i++) {
        uint64_t total = *g->held_bytes + g->partial_total;
        conn *c = total > g->max_memory ? largest_partial(g) : NULL;
        if (!c)
            return;
        g->partial_total -= c->partial;
        cut(c, CUT_MEMORY, g->max_memory);
    }
}

/* Every set is visited through a cursor node, so a set closed while
 * another is drained (its last request answered) is skipped safely. */
static void on_tick(uv_timer_t *t)
{
    guard *g = t->data;
    uint64_t now = uv_now(t->loop);
    ab_list cursor;
    g->partial_total = 0;
    ab_list_insert_after(&g->sets, &cursor);
    while (cursor.next != &g->sets) {
        conn_set *s = AB_CONTAINER_OF(cursor.next, conn_set, link);
        ab_list_remove(&cursor);
        ab_list_insert_after(&s->link, &cursor);
        check_set(g, s, now);
    }
    ab_list_remove(&cursor);
    enforce_memory(g);
}

int guard_init(guard *g, uv_loop_t *loop, int interval_ms, int partial_ms,
               uint64_t max_memory, const uint64_t *held_bytes)
{
    memset(g, 0, sizeof *g);
    ab_list_init(&g->sets);
    g->interval_ms = interval_ms;
    g->partial_ms = partial_ms;
    g->max_memory = max_memory;
    g->held_bytes = held_bytes;
    if (uv_timer_init(loop, &g->timer) != 0)
        return AB_ERR;
    g->timer.data = g;
    uv_timer_start(&g->timer, on_tick, (uint64_t)interval_ms, (uint64_t)interval_ms);
    return AB_OK;
}

void guard_close(guard *g)
{
    uv_close((uv_handle_t *)&g->timer, NULL);
    free(g->by_fd);
    g->by_fd = NULL;
    g->fd_cap = 0;
}
