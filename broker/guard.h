/*
 * guard.h: the connections libzmq holds for the broker, seen from outside
 * libzmq, and the guard that bounds the memory they can make it hold.
 *
 * libzmq buffers the frames of a message until the message is complete,
 * without limit and without counting them against any high-water mark: a
 * peer that sends frame after frame with MORE set, or trickles one byte a
 * second, is invisible to the broker. Only the kernel sees those bytes. So
 * for every TCP connection of a front ROUTER or a backend DEALER (the fd
 * comes from the socket monitor: ACCEPTED / CONNECTED), the guard keeps:
 *
 *   in   wire bytes of the complete messages the broker read from it
 *        (msgv.wire, matched by ZMQ_SRCFD)
 *   out  wire bytes of the messages the broker handed libzmq for it
 *
 * and every --guard-ms compares them with the kernel's counts
 * (TCP_INFO tcpi_bytes_received minus the unread receive queue, and
 * tcpi_bytes_acked plus the unacknowledged send queue). What libzmq read
 * but the broker never saw as a message is the connection's partial
 * message, plus the handshake and ZMTP heartbeats. A PING (9 octets from
 * libzmq, up to 25) is always answered by a PONG (2 octets shorter), so
 * the unexplained bytes libzmq *wrote* (x 9/7) explain the PINGs read.
 * See partial_bytes() and check_conn() in guard.c for the exact rule, and
 * docs/operations.md for what it bounds.
 *
 * A connection is cut with shutdown(fd, SHUT_RDWR) on libzmq's own fd
 * after checking the fd still names the same peer: libzmq's engine then
 * reads end-of-file and tears the session down as if the peer had closed
 * (stream_engine_base_t::error), and the monitor reports DISCONNECTED.
 */
#ifndef AB_GUARD_H
#define AB_GUARD_H

#include "list.h"
#include "msgv.h"
#include "zsock.h"

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

/* Added to every per-connection bound: libzmq reads up to 8 KiB at a time
 * (a read may end inside the next message), plus a handshake and a few
 * heartbeats in flight. */
#define GUARD_SLACK (16u << 10)

/* The most a ZMTP handshake sends before the first message: a greeting
 * and a READY with a 255-byte identity and some metadata, or for CURVE
 * (the links) the greeting (64 bytes), HELLO (202) and INITIATE (about
 * 300 with a DEALER's metadata), about 570 bytes. Unexplained bytes
 * beyond it are a partial message. */
#define GUARD_HANDSHAKE_MAX 2048

/* Why the guard cut a connection: (symbol, reason in the log, stat). */
#define GUARD_REASONS(X)                                                   \
    X(CUT_TOO_LARGE, "too_large", cuts_too_large)                          \
    X(CUT_TOO_SLOW, "too_slow", cuts_too_slow)                             \
    X(CUT_MEMORY, "memory", cuts_memory)

typedef enum guard_reason {
#define GUARD_REASON_ENUM(sym, reason, stat) sym,
    GUARD_REASONS(GUARD_REASON_ENUM)
#undef GUARD_REASON_ENUM
} guard_reason;

const char *guard_reason_name(guard_reason r);

typedef struct guard guard;
typedef struct conn conn;

/* A connection's handshake is over when libzmq says so (ZMTP 3 only), when
 * a message came through, or after --partial-ms (libzmq's handshake
 * timeout is set as long). Its bytes until then are not a message. */
typedef enum conn_phase {
    CONN_HANDSHAKING,
    CONN_SETTLING,        /* handshake over: re-base at the next tick */
    CONN_SETTLED,
} conn_phase;
typedef struct conn_set conn_set;

/* What a conn_set's owner (a front or a backend) tells the guard. */
typedef struct conn_ops {
    /* Largest partial message (wire bytes) one connection may hold. */
    size_t (*bound)(const conn_set *s);
    /* "service=NAME port=N" or "service=NAME backend=EP", for logs. */
    void (*describe)(const conn_set *s, char *buf, size_t len);
    /* The guard has just cut a connection (count it). */
    void (*cut)(conn_set *s, guard_reason reason);
} conn_ops;

struct conn {
    conn_set *set;        /* NULL once the set was closed */
    int fd;               /* libzmq's fd; -1 once the connection is gone */
    int refs;             /* the set's table, and each request it originated */
    int accepted;         /* its ACCEPTED/CONNECTED event was seen */
    conn_phase phase;
    int guarded;          /* a TCP socket whose peer was recorded */
    struct sockaddr_storage peer;
    socklen_t peerlen;
    size_t held;          /* live requests it originated (per-client bound) */
    uint64_t in_wire, in_msgs, out_wire;
    uint64_t created;     /* loop time, ms */
    /* check_conn() state */
    int64_t x_ref;        /* unexplained bytes at the last re-base */
    uint64_t msgs_ref;    /* in_msgs at the last re-base */
    uint64_t pong_allow;  /* largest sound estimate of bytes libzmq wrote
                             on its own (handshake, PONGs) */
    uint64_t partial_since; /* loop time a partial message was first seen */
    uint64_t partial;     /* its bytes at the last tick */
    ab_list link;         /* set->conns */
};

/* The connections of one ZMQ socket, by fd. */
struct conn_set {
    guard *g;
    zsock *zs;            /* drained before its connections are sampled */
    const conn_ops *ops;
    void *owner;
    int unwired;          /* leading frames not on the wire (ROUTER: 1) */
    size_t frame_extra;   /* bytes the mechanism adds to every frame on the
                             wire (CURVE: LINKIO_CURVE_FRAME_EXTRA) */
    ab_list conns;
    ab_list link;         /* g->sets */
};

struct guard {
    uv_timer_t timer;
    ab_list sets;
    int interval_ms;      /* --guard-ms */
    int partial_ms;       /* --partial-ms */
    uint64_t max_memory;  /* --max-memory */
    const uint64_t *held_bytes; /* bytes held by live requests (reqpool) */
    uint64_t partial_total;     /* partial bytes at the last tick */
    conn **by_fd;         /* fds are process-wide: one table for all sets */
    size_t fd_cap;
};

int guard_init(guard *g, uv_loop_t *loop, int interval_ms, int partial_ms,
               uint64_t max_memory, const uint64_t *held_bytes);
void guard_close(guard *g); /* no callback: embedded handle */

void conn_set_init(conn_set *s, guard *g, zsock *zs, const conn_ops *ops,
                   void *owner, int unwired);
/* The socket is going away: every connection is forgotten (requests that
 * still hold one keep it until they release it). */
void conn_set_close(conn_set *s);

/* Monitor events: a connection was accepted/connected, finished its ZMTP
 * handshake (only ZMTP 3 peers report this, and libzmq's event carries 0,
 * not the fd: only a DEALER, with its one connection, can say which), or
 * is gone. */
void conn_accepted(conn_set *s, int fd);
void conn_handshaken(conn_set *s, int fd);
void conn_gone(conn_set *s, int fd);

/* A complete message m was read from the socket: account it to the
 * connection it came from (m->srcfd), which is returned (NULL if unknown).
 * A message seen before its connection's event creates the connection. */
conn *conn_read(conn_set *s, const msgv *m);
/* The connection on fd, or NULL. */
conn *conn_find(conn_set *s, int fd);
/* wire bytes were handed to libzmq for c (may be NULL). */
void conn_wrote(conn *c, size_t wire);
/* Cut c (shutdown(2) on libzmq's fd, as the guard does) if it is still
 * the connection on its fd. AB_ERR: it is gone already. */
int conn_shutdown(conn *c);
/* "ADDR:PORT" of c's peer, for logs. */
void conn_peer_text(const conn *c, char *buf, size_t len);
/* Wire bytes of m as the connection carries it (minus frames that are
 * not on the wire, such as a ROUTER's routing id; plus what the security
 * mechanism adds per frame). */
size_t conn_wire(const conn_set *s, const msgv *m);

/* A request originated on c now holds it / is done with it. */
void conn_hold(conn *c);
void conn_release(conn *c);

#endif
