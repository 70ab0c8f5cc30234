/*
 * request.h: one client request, from the moment the broker accepts it until
 * the moment it sends the one reply, and the pool that recycles them.
 *
 * A request is in exactly one state, changed only by req_set_state(), which
 * refuses (aborts on) any transition not in this table:
 *
 *     FREE --accept--> QUEUED --dispatch--> INFLIGHT
 *       ^                |                     |
 *       +----reply-------+---------reply-------+
 *
 * "reply" is the only way back to FREE, and every path that leaves QUEUED
 * or INFLIGHT goes through finish() in service.c, which hands the one reply
 * (the backend's, or an error) to the request's origin (origin.h) before
 * freeing it: that is how "exactly one reply per request" is kept by
 * construction.
 *
 * The backend sees a request only as an 8-byte id frame (slot + generation)
 * in front of the REQ envelope. The generation is bumped whenever a slot is
 * freed, so a reply that arrives after its request was answered (a "late
 * reply") cannot be mistaken for the reply to the slot's next request.
 */
#ifndef AB_REQUEST_H
#define AB_REQUEST_H

#include "list.h"
#include "msgv.h"
#include "origin.h"

#include <stdint.h>

#define REQ_STATES(X)                                                      \
    X(REQ_FREE, "free")                                                    \
    X(REQ_QUEUED, "queued")                                                \
    X(REQ_INFLIGHT, "inflight")

typedef enum req_state {
#define REQ_STATE_ENUM(sym, name) sym,
    REQ_STATES(REQ_STATE_ENUM)
#undef REQ_STATE_ENUM
} req_state;

#define REQ_ID_LEN 8

struct backend;
struct peer_chan;
struct service;

typedef struct request {
    uint32_t slot;
    uint32_t gen;
    req_state state;
    struct service *svc; /* the service it was sent to (while not FREE) */
    struct backend *be;  /* set while INFLIGHT on a backend... */
    struct peer_chan *chan; /* ... or on a link to another host (peer.h) */
    origin from;         /* where the one reply goes (origin.h) */
    msgv msg;            /* envelope, and the body until it is sent */
    size_t env_frames;   /* envelope frames (for a front: delimiter included) */
    size_t bytes;        /* of the message as received: counted in held_bytes */
    uint64_t deadline;   /* loop time (ms) at which it times out */
    int timeout_ms;      /* ... that many ms after it was accepted */
    uint64_t t_accept, t_sent; /* stats hook: stats_clock() when it reached its
                                  service, when it was sent to a backend */
    ab_list link;        /* free list, service queue, or backend in-flight */
    ab_list dlink;       /* service deadline list while not FREE */
    ab_list olink;       /* its origin's own list, if the origin keeps one */
} request;

typedef struct reqpool {
    request **chunks;
    size_t nchunks;
    size_t max;          /* requests alive at once, at most */
    size_t used;
    uint64_t held_bytes; /* sum of `bytes` of the live requests */
    ab_list free_list;
} reqpool;

int reqpool_init(reqpool *p, size_t max);
void reqpool_free(reqpool *p);

/* A FREE request with an empty msgv, or NULL when `max` are alive. */
request *req_alloc(reqpool *p);
/* r now holds m (moved in) as received: counted in held_bytes. */
void req_take(reqpool *p, request *r, msgv *m, size_t env_frames);
/* Release msg frames and return r to the pool (r must be in state FREE). */
void req_release(reqpool *p, request *r);
/* The live request an id frame names, or NULL (malformed, stale or free). */
request *req_lookup(reqpool *p, const void *id, size_t len);
void req_encode_id(const request *r, uint8_t out[REQ_ID_LEN]);
/* The same id as one number (link envelopes carry it), and back. */
uint64_t req_id64(const request *r);
request *req_lookup64(reqpool *p, uint64_t id);

/* The one place a request's state changes. Aborts on a transition the
 * table above does not allow: that is a broker bug, never input. */
void req_set_state(request *r, req_state to);
const char *req_state_name(req_state s);

#endif
