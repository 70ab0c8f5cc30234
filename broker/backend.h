/*
 * backend.h: one backend endpoint of a service (an unchanged REP agent, or a
 * ROUTER that echoes envelopes), reached through its own DEALER socket.
 *
 * One DEALER per endpoint, not one DEALER connected to all of them, so the
 * broker -- not libzmq's round robin -- picks where each request goes, and
 * knows which requests a dead backend was holding. A ZMQ socket monitor
 * tells when the backend is up (handshake done) and when it drops.
 */
#ifndef AB_BACKEND_H
#define AB_BACKEND_H

#include "list.h"
#include "request.h"
#include "stats.h"
#include "zsock.h"

struct service;
typedef struct backend backend;
typedef void (*backend_close_cb)(struct service *svc);

struct backend {
    struct service *svc;
    char *endpoint;
    zsock dealer;
    zsock monitor;        /* PAIR fed by zmq_socket_monitor(dealer) */
    uv_timer_t retry;     /* un-stalls after a refused send */
    int up;               /* handshake done and not disconnected since */
    int stalled;          /* libzmq refused a send; wait for retry */
    int inflight;         /* requests on inflight_list */
    ab_list inflight_list;
    int open_handles;     /* handles still to close before freeing */
    backend_close_cb on_close;
    backend_stats stats;           /* stats hook: counters ... */
    struct stats_series *series;   /* ... and in-flight time histogram */
};

/* Create the DEALER, connect it to endpoint and start watching it. */
int backend_open(struct service *svc, const char *endpoint, backend **out,
                 char *err, size_t errlen);
/* Send r (QUEUED) to be and make it INFLIGHT. AB_ERR: libzmq refused the
 * send; r is untouched and be is stalled for a moment. */
int backend_send(backend *be, request *r);
/* r's reply came (or r failed): forget it. */
void backend_forget(backend *be, request *r);
/* Asynchronous; the caller has already failed every in-flight request. */
void backend_close(backend *be, backend_close_cb cb);

/* The backend that should take the next request: among backends that are
 * up, not stalled and under max_inflight, the one with the fewest requests
 * outstanding; ties go to the first found scanning from index `start`, so
 * rotating `start` spreads an idle fleet evenly. NULL when none can take one. */
backend *backend_pick(backend **bes, size_t n, int max_inflight, size_t start);

#endif
