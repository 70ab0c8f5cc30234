/*
 * service.h: one registry service inside the broker: its backends, its
 * queue of waiting requests and its deadlines. Requests reach it from an
 * origin (origin.h): today the front of its port (front.h), later a peer
 * broker's link.
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
    struct front *fr;        /* its port's front (set by the broker) */
    backend **backends;
    size_t nbackends;
    size_t rr;               /* rotates backend_pick's starting point */
    ab_list queue;           /* QUEUED requests, oldest first */
    ab_list deadlines;       /* every live request, earliest deadline first */
    uv_timer_t timer;        /* fires at the head of `deadlines` */
    svc_stats stats;
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
void svc_log_stats(const service *svc);

/* A request from origin o: m is its envelope (env_frames frames, which the
 * reply will carry back) followed by the body. Admitted, it becomes a
 * request; otherwise it is answered with an error at once. */
void svc_request(service *svc, const origin *o, msgv *m, size_t env_frames);
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

/* Render the error reply body into buf; returns its length (for tests). */
size_t svc_error_body(char *buf, size_t len, const char *svc_name,
                      svc_error code, const char *message);
/* Append that body to env (exactly an envelope). AB_ERR only when out of
 * memory: env is then cleared. */
int svc_error_append(msgv *env, const char *svc_name, svc_error code,
                     const char *message);

#endif
