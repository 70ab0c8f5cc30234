/*
 * front.h: one service port: the ROUTER bound to it, the monitor that
 * reports its client connections to the guard, and the service attached
 * to it now. Clients connect here; requests leave through here as
 * origins (origin.h) and their replies come back through here.
 *
 * A front outlives reloads. It belongs to the port, not to the service:
 * a reload that changes a service's host keeps its front, one that moves a
 * service to another port re-points it to that port's front, and a port
 * that any service still uses after the reload is never re-bound, so
 * clients stay connected (unbinding would also drop every connection the
 * listener accepted, and REQ clients with a request pending would hang).
 * A front left without a service lingers until the requests that came
 * through it are answered, answering new ones `unavailable`, then closes.
 * Where a bind is needed during a reload and the port is still held
 * (libzmq releases a closed listener asynchronously), the bind is retried
 * every FRONT_BIND_RETRY_MS for up to FRONT_BIND_PATIENCE_MS.
 */
#ifndef AB_FRONT_H
#define AB_FRONT_H

#include "guard.h"
#include "list.h"
#include "origin.h"
#include "registry.h"
#include "zsock.h"

#include <uv.h>

#define FRONT_BIND_RETRY_MS 50
#define FRONT_BIND_PATIENCE_MS 5000

/* Routing frames a client envelope may have in front of the delimiter
 * (one per ROUTER hop between the client and us), and the largest one:
 * ZMTP routing ids are at most 255 bytes. So an envelope holds at most
 * 16 x 255 bytes, whatever max_msg_bytes says about the body. */
#define FRONT_MAX_ENVELOPE 16
#define FRONT_MAX_ROUTING_ID 255

struct broker;
struct service;

/* The attached service's knobs the front itself applies (copied: the
 * registry they came from is freed by the next reload). */
typedef struct front_limits {
    size_t max_msg_bytes;
    int max_frames;
} front_limits;

typedef struct front {
    struct broker *br;
    int port;
    char name[72];          /* the attached service's, or the last one's */
    struct service *svc;    /* NULL while orphaned */
    front_limits lim;
    zsock router;
    zsock monitor;
    conn_set conns;         /* client connections, for the guard */
    size_t nreqs;           /* live requests that came through it */
    int bound;              /* the port is listening */
    int bind_errno;         /* the last failed bind's */
    uint64_t bind_since;    /* loop time the retries began (0: none) */
    uv_timer_t retry;
    int open_handles;
    int closing;
    ab_list link;           /* br->fronts */
} front;

/* Create the front of `port` and bind it. With retry set, a port still in
 * use (EADDRINUSE) is not an error: the front is returned unbound and
 * keeps trying (front_bound tells). AB_ERR: nothing was left open. */
int front_open(struct broker *br, int port, const char *name, int retry,
               front **out, char *err, size_t errlen);
front *front_find(struct broker *br, int port);
/* Point f at svc (NULL: orphan it; it closes once idle, except while the
 * broker is placing services during a reload: see front_sweep). */
void front_attach(front *f, struct service *svc);
/* After a reload placed every service: close idle orphans, and retry
 * binding fronts that gave up earlier. */
void front_sweep(struct broker *br);
/* The attached service's config changed. */
void front_update(front *f, const reg_service *cfg);
/* Unbound after giving up: start retrying again (a new reload). */
void front_rebind(front *f);
/* Close now (broker shutdown); the caller has answered every request. */
void front_close(front *f);

#endif
