/*
 * peer.h: the near side of the links: the connections this broker keeps
 * to another host's broker, which carry every request for the services
 * hosted there.
 *
 * A peer is links.per_peer long-lived DEALER sockets ("channels"), each
 * with one CURVE connection to the host's link server (linksrv.h), each
 * its own session (docs/link-protocol.md). Every request for the host is
 * multiplexed over them (the channel up with the fewest in flight): never
 * a socket per request. A channel is up once the far broker's HELLO came
 * back; requests wait in their service's queue while no channel is up,
 * until their own deadline. A channel goes down when nothing was heard on
 * it for links.down_ms (PINGs keep an idle link talking and measure its
 * RTT), when the far side says GOODBYE or restarts (a new epoch), or when
 * its TCP connection fails; everything in flight on it is then answered
 * `unavailable` at once, naming the host, and libzmq reconnects with
 * backoff (links.reconnect_ms .. reconnect_max_ms).
 */
#ifndef AB_PEER_H
#define AB_PEER_H

#include "guard.h"
#include "linkio.h"
#include "list.h"
#include "registry.h"
#include "request.h"
#include "stats.h"
#include "zsock.h"

#include <uv.h>

struct broker;

#define PEER_CHAN_STATES(X)                                                \
    X(CHAN_IDLE, "idle")          /* no connection, or not ready yet */   \
    X(CHAN_HELLO, "hello_sent")   /* connected, our HELLO sent */          \
    X(CHAN_UP, "up")              /* the far HELLO came: requests go */    \
    X(CHAN_REFUSED, "refused")    /* no version in common, or not the host
                                     dialled: unused until it reconnects */

typedef enum peer_chan_state {
#define PEER_CHAN_ENUM(sym, name) sym,
    PEER_CHAN_STATES(PEER_CHAN_ENUM)
#undef PEER_CHAN_ENUM
} peer_chan_state;

typedef struct peer peer;

typedef struct peer_chan {
    peer *p;
    int index;
    zsock dealer;
    zsock monitor;
    conn_set conns;        /* its TCP connection, for the guard */
    int fd;                /* the current connection's, or -1 */
    int handshake;         /* fd's ZMTP handshake: 0 under way, 1 done, -1 failed */
    peer_chan_state state;
    linkio_sess sess;
    ab_list inflight;      /* requests sent on it (request.link) */
    size_t ninflight;
    int stalled;           /* libzmq refused a send: skip it until the tick */
    int refusal_logged;    /* one `link rejected` line until it is up again */
    int redial_ms;         /* the wait after the next refused handshake */
    uint64_t redial_at;    /* loop time to connect again (0: none due) */
} peer_chan;

struct peer {
    struct broker *br;
    char host[REG_NAME_MAX + 1];
    char endpoint[128];
    uint8_t server_key[REG_KEY_LEN]; /* the host's public_key */
    reg_links cfg;         /* the links: knobs it was opened with */
    peer_chan *chans;
    int nchans;
    link_stats st;
    stats_series *series;  /* its statistics: link=HOST side=out */
    uint64_t epoch;        /* the far broker's, from its last HELLO */
    char why[200];         /* why no channel is up (for error replies) */
    uv_timer_t tick;       /* heartbeats and liveness */
    int open_handles;
    int closing;
    ab_list link;          /* br->peers */
};

/* Connect links.per_peer channels to host h's link server. AB_ERR:
 * nothing left open. */
int peer_open(struct broker *br, const reg_host *h, const reg_links *cfg,
              peer **out, char *err, size_t errlen);
/* Say GOODBYE(reason) on every channel, answer what is in flight on them
 * `unavailable` (why), close asynchronously. */
void peer_close(peer *p, int reason, const char *why);
peer *peer_find(struct broker *br, const char *host);
/* p was opened for h as it is and these links: knobs (else a reload
 * replaces it: socket options only apply to new connections). */
int peer_same(const peer *p, const reg_host *h, const reg_links *cfg);

/* A channel is up and can take a request now. */
int peer_up(const peer *p);
/* Why none is (for the error of a request that waited in vain). */
const char *peer_why(const peer *p);
/* Send r (QUEUED, of a service hosted on p's host) and make it INFLIGHT
 * on a channel. AB_ERR: no channel can take it now; r is untouched. */
int peer_send(peer *p, request *r);
/* r (INFLIGHT on a channel) is done: forget it. */
void peer_forget(request *r);
/* The near side gives up on r (its deadline, or its service closing):
 * CANCEL it on the far side if the channel is still up. */
void peer_abandon(request *r);

/* Why p is not up (for /readyz), or NULL when a channel is. */
const char *peer_down(const peer *p);

#endif
