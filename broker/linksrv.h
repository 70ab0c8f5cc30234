/*
 * linksrv.h: the far side of the links: one ROUTER bound on this host's
 * `link:` endpoint, where the other hosts' brokers connect their DEALERs
 * (peer.h) to send the requests of services hosted here.
 *
 * Each connection is a session (docs/link-protocol.md): it must say HELLO
 * first, naming the host its CURVE key belongs to (the ZAP User-Id, zap.h,
 * checked on every message), and it is down after links.down_ms of
 * silence, on GOODBYE, on disconnect, or when the peer's next HELLO comes
 * with a new epoch. A REQUEST is served through the service's normal path
 * (svc_request_within, with the link kind of origin, origin.h): queue,
 * dispatch, and a deadline that is the near side's, less its margin. Its
 * one REPLY goes back on the connection it came from; if that connection
 * is gone by then, the reply is dropped and counted.
 *
 * Sends use ZMQ_ROUTER_MANDATORY: a reply libzmq cannot route or queue is
 * an error that is counted (unsendable), never a silent drop.
 */
#ifndef AB_LINKSRV_H
#define AB_LINKSRV_H

#include "guard.h"
#include "linkio.h"
#include "list.h"
#include "registry.h"
#include "stats.h"
#include "zsock.h"

#include <uv.h>

struct broker;

/* What a link server keeps per peer host: its statistics (side=in) and
 * the last epoch its HELLO announced. */
typedef struct lshost {
    char name[REG_NAME_MAX + 1];
    link_stats st;
    stats_series *series;  /* link=NAME side=in (none while unidentified) */
    uint64_t epoch;
    ab_list link;          /* srv->hosts */
} lshost;

typedef struct linksrv {
    struct broker *br;
    char endpoint[128];    /* the host's link: as in the registry */
    reg_links cfg;         /* the links: knobs it was opened with */
    zsock router;
    zsock monitor;
    conn_set conns;        /* TCP connections, for the guard */
    ab_list lsconns;       /* open sessions (lsconn) */
    ab_list hosts;         /* lshost, one per peer host seen */
    size_t bound_bytes;    /* largest max_msg_bytes of the services here */
    int bound;             /* the endpoint is listening */
    int bind_errno;        /* the last failed bind's */
    uint64_t bind_since;   /* loop time bind retries began (0: none) */
    linksrv_stats *st;     /* the broker's: they outlive a rebind */
    stats_series *series;  /* linksrv=ENDPOINT */
    uv_timer_t tick;       /* heartbeats and liveness */
    int open_handles;
    int closing;
} linksrv;

/* Bind the ROUTER on endpoint (the ZAP handler must be running already)
 * and start serving, with reg's links: knobs. With retry, a port still
 * held (the previous server's, just closed) is not an error: it is tried
 * again for a while. AB_ERR: nothing left open. */
int linksrv_open(struct broker *br, const registry *reg, const char *endpoint,
                 int retry, linksrv **out, char *err, size_t errlen);
/* The registry changed (reload; its links: knobs did not, or links.c
 * re-opens the server): cut the connections of hosts or keys it no
 * longer lists (GOODBYE removed), re-size the guard's bound. */
void linksrv_apply(linksrv *srv, const registry *reg);
/* Say GOODBYE(reason) on every session and close asynchronously. */
void linksrv_close(linksrv *srv, int reason);
/* Sessions up (for logs and readiness). */
size_t linksrv_up(const linksrv *srv);

#endif
