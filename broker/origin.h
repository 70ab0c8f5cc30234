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
 * may also be called without hold() for an error answered at once. Both
 * get the request itself, so an origin can keep a list of its requests
 * (a link finds the one a CANCEL names).
 */
#ifndef AB_ORIGIN_H
#define AB_ORIGIN_H

#include "msgv.h"

#include <stddef.h>

typedef struct origin origin;
struct request;

typedef struct origin_ops {
    const char *kind;                   /* "front" or "link" */
    /* Send m (envelope + reply body; consumed in all cases). AB_ERR: the
     * requester is gone or not reading; the reply is dropped. */
    int (*reply)(const origin *o, msgv *m);
    /* Optional: make env (exactly the envelope) the error reply `code`
     * (an svc_error) with message text, to be sent by reply(). NULL: the
     * JSON error body of docs/errors.md is appended (svc_error_append),
     * which is what clients get. A link answers errors in its own REPLY
     * instead. AB_ERR: out of memory, env cleared, nothing to send. */
    int (*error)(const origin *o, msgv *env, int code, const char *text);
    /* Requests the requester has held by the broker now (the per-client
     * bound, max_per_client); 0 when the origin does not track it. */
    size_t (*held)(const origin *o);
    void (*hold)(const origin *o, struct request *r);
    void (*release)(const origin *o, struct request *r);
} origin_ops;

struct origin {
    const origin_ops *ops;
    void *src;   /* the front, or the link server */
    void *peer;  /* the connection within it (a guard.h conn, a link
                    connection), or NULL */
};

static inline int origin_reply(const origin *o, msgv *m) { return o->ops->reply(o, m); }
static inline size_t origin_held(const origin *o) { return o->ops->held(o); }
static inline void origin_hold(const origin *o, struct request *r) { o->ops->hold(o, r); }
static inline void origin_release(const origin *o, struct request *r)
{
    o->ops->release(o, r);
}

#endif
