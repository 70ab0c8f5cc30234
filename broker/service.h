/*
 * service.h: one registry service inside the broker: its backends, its
 * queue of waiting requests and its deadlines. Requests reach it from an
 * origin (origin.h): the front of its port (front.h), or another host's
 * broker through this broker's link server (linksrv.h). A service hosted
 * on another host has no backends here: its requests are carried to that
 * host over the link pool to it (peer.h), through the same queue and
 * deadlines.
 */
#ifndef AB_SERVICE_H
#define AB_SERVICE_H

#include "backend.h"
#include "guard.h"
#include "list.h"
#include "origin.h"
#include "registry.h"
#include "request.h"
#include "stats.h"

#include <stdarg.h>

struct broker;
struct front;
struct peer;

/* Error replies: (symbol, code on the wire, stat it counts in). The code is
 * the stable reason clients and tests match on (docs/errors.md). */
#define SVC_ERRORS(X)                                                      \
    X(ERR_TIMEOUT, "timeout", timeouts)                                    \
    X(ERR_UNAVAILABLE, "unavailable", unavailable)                         \
    X(ERR_OVERLOADED, "overloaded", overloaded)                            \
    X(ERR_TOO_LARGE, "too_large", too_large)                               \
    X(ERR_BAD_REQUEST, "bad_request", bad_request)                         \
    X(ERR_BAD_REPLY, "bad_reply", bad_reply)

typedef enum svc_error {
#define SVC_ERROR_ENUM(sym, code, stat) sym,
    SVC_ERRORS(SVC_ERROR_ENUM)
#undef SVC_ERROR_ENUM
} svc_error;

typedef struct service service;
typedef void (*svc_close_cb)(struct broker *br);

struct service {
    struct broker *br;
    char name[72];
    const reg_service *cfg;  /* points into br->reg; swapped on reload */
    int remote;              /* cfg->host is not this broker's host */
    struct peer *peer;  /* remote: the links to cfg->host */
    struct front *fr;        /* its port's front (set by the broker) */
    backend **backends;
    size_t nbackends;
    size_t rr;               /* rotates backend_pick's starting point */
    ab_list queue;           /* QUEUED requests, oldest first */
    ab_list deadlines;       /* every live request, earliest deadline first */
    uv_timer_t timer;        /* fires at the head of `deadlines` */
    svc_stats stats;
    struct stats_series *series; /* stats hook: latency histogram */
    int open_handles;
    svc_close_cb on_close;
};

/* Connect the backends (the broker attaches the service to its port's
 * front). On AB_ERR nothing is left open and err says what failed. */
int svc_open(struct broker *br, const reg_service *cfg, service **out,
             char *err, size_t errlen);
/* Answer every pending request with `unavailable: why`, then close
 * asynchronously; cb (may be NULL) runs once everything is freed. */
void svc_close(service *svc, const char *why, svc_close_cb cb);
/* Take a new config with the same name: knobs apply to new requests,
 * backends are diffed (unchanged ones keep their connection), a host
 * change makes it local or remote. */
int svc_update(service *svc, const reg_service *cfg, char *err, size_t errlen);
/* Answer every pending request with an error (drain deadline). */
void svc_fail_all(service *svc, svc_error code, const char *why);
size_t svc_pending(const service *svc);

/* A request from origin o: m is its envelope (env_frames frames, which the
 * reply will carry back) followed by the body. Admitted, it becomes a
 * request; otherwise it is answered with an error at once. */
void svc_request(service *svc, const origin *o, msgv *m, size_t env_frames);
/* The same with the requester's own deadline (a link's REQUEST carries
 * the time its client still waits): the request times out after
 * timeout_ms or the service's timeout_ms, whichever is shorter. */
void svc_request_within(service *svc, const origin *o, msgv *m,
                        size_t env_frames, int timeout_ms);
/* Answer a message that cannot become a request: env (the envelope to
 * reply in, consumed) gets an error body, counted as a request. */
void svc_reject(service *svc, const origin *o, msgv *env, svc_error code,
                const char *why);
/* The guard cut one of the service's connections. */
void svc_count_cut(service *svc, guard_reason why);

/* Called by backend.c. */
void svc_on_reply(service *svc, backend *be, msgv *m);
void svc_dispatch(service *svc);
void svc_backend_lost(service *svc, backend *be, const char *why);

/* Called by peer.c for the requests of a remote service it carries (r is
 * INFLIGHT on a link): the far agent's reply (body: its frames, moved
 * out), or an error answered for r now (the far broker's, or the link's
 * loss). */
void svc_link_reply(service *svc, request *r, msgv *body);
void svc_link_fail(service *svc, request *r, svc_error code, const char *text);
/* Called by linksrv.c: the requester gave up on r. A queued request is
 * dropped without a reply (counted as cancelled); one with a backend
 * keeps going and its origin drops the reply. */
void svc_cancel(service *svc, request *r);

/* Render the error reply body into buf; returns its length (for tests). */
size_t svc_error_body(char *buf, size_t len, const char *svc_name,
                      svc_error code, const char *message);
/* Append that body to env (exactly an envelope). AB_ERR only when out of
 * memory: env is then cleared. */
int svc_error_append(msgv *env, const char *svc_name, svc_error code,
                     const char *message);

#endif
