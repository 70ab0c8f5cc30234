/*
 * origin.h: where a request came from, and the one way its reply goes back.
 *
 * A request's message starts with an envelope its origin put there (for a
 * front: the client's routing frames up to the empty delimiter) and the
 * reply is sent as that envelope followed by the reply body. Everything
 * that depends on the kind of origin is behind these operations, so a new
 * kind (a peer broker's link, whose reply is a link REPLY carrying the
 * request id) adds an origin_ops and nothing in the request path changes.
 *
 * Contract: hold() is called once when a request is accepted, release()
 * once when it is done (after its reply was handed to reply()); reply()
 * may also be called without hold() for an error answered at once.
 */
#ifndef AB_ORIGIN_H
#define AB_ORIGIN_H

#include "msgv.h"

#include <stddef.h>

typedef struct origin origin;

typedef struct origin_ops {
    const char *kind;                   /* "front" (later "link") */
    /* Send m (envelope + reply body; consumed in all cases). AB_ERR: the
     * requester is gone or not reading; the reply is dropped. */
    int (*reply)(const origin *o, msgv *m);
    /* Requests the requester has held by the broker now (the per-client
     * bound, max_per_client); 0 when the origin does not track it. */
    size_t (*held)(const origin *o);
    void (*hold)(const origin *o);
    void (*release)(const origin *o);
} origin_ops;

struct origin {
    const origin_ops *ops;
    void *src;   /* the front (later: the link) */
    void *peer;  /* the connection within it (guard.h conn), or NULL */
};

static inline int origin_reply(const origin *o, msgv *m) { return o->ops->reply(o, m); }
static inline size_t origin_held(const origin *o) { return o->ops->held(o); }
static inline void origin_hold(const origin *o) { o->ops->hold(o); }
static inline void origin_release(const origin *o) { o->ops->release(o); }

#endif
