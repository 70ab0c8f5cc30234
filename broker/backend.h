/*
 * backend.h: one backend endpoint of a service (an unchanged REP agent, or a
 * ROUTER that echoes envelopes), reached through its own DEALER socket.
 *
 * One DEALER per endpoint, not one DEALER connected to all of them, so the
 * broker -- not libzmq's round robin -- picks where each request goes, and
 * knows which requests a dead backend was holding. A backend is up while
 * its TCP connection is established (the monitor's CONNECTED, with its fd
 * for the guard: the one signal of every ZMTP revision; libzmq reports
 * HANDSHAKE_SUCCEEDED only for ZMTP 3 peers). On its loss (DISCONNECTED)
 * the replies already received are read, the requests it held are
 * answered, and the endpoint is disconnected and dialled again after a
 * backoff, so nothing queued for the old connection reaches a new one.
 */
#ifndef AB_BACKEND_H
#define AB_BACKEND_H

#include "guard.h"
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
    conn_set conns;       /* its TCP connection, for the guard */
    uv_timer_t retry;     /* dials again (redial) or un-stalls after a refused send */
    int redial;           /* the retry timer dials again */
    int redial_ms;        /* its backoff: 0 after a reply or a steady connection */
    uint64_t connected_at; /* loop time of the last CONNECTED */
    int fd;               /* the current connection's, or -1 */
    int up;               /* connected */
    int stalled;          /* libzmq refused a send; wait for retry */
    int inflight;         /* requests on inflight_list */
    int zombies;          /* requests answered `timeout` that it still works
                             on (a REP does one at a time): busy with them */
    uint64_t zombies_until; /* after this, assume it dropped them */
    uint64_t busy_since;  /* loop time (ms) its current request began */
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
/* r is done (answered): forget it. */
void backend_forget(backend *be, request *r);
/* be replied to its oldest request: a REP starts on the next one now. */
void backend_replied(backend *be);
/* A request in flight on be was answered `timeout`: be still works on it,
 * assumed until `until` (loop time; after that, that it dropped it). */
void backend_abandon(backend *be, uint64_t now, uint64_t until);
/* be replied to a request already answered (a late reply). */
void backend_late(backend *be);
/* Asynchronous; the caller has already failed every in-flight request. */
void backend_close(backend *be, backend_close_cb cb);

/* The backend that should take the next request: among backends that are
 * up, not stalled, under max_inflight and either idle or busy for less than
 * pipeline_ms with their current request, the one with the fewest
 * requests outstanding (zombies count); ties go to the first found scanning
 * from index `start`, so rotating `start` spreads an idle fleet evenly.
 * NULL when none can take one. A REP serves one request at a time: a
 * request pipelined behind a long one waits for all of it, so requests are
 * stacked only behind young ones and otherwise wait in the broker's queue
 * for the first backend that frees up. */
typedef struct pick_rule {
    int max_inflight;
    int pipeline_ms;
    uint64_t now;         /* loop time, ms */
} pick_rule;
backend *backend_pick(backend **bes, size_t n, const pick_rule *rule, size_t start);

#endif
