/*
 * service.h: one registry service inside the broker: the ROUTER bound to
 * its port, its backends, its queue of waiting requests and its deadlines.
 */
#ifndef AB_SERVICE_H
#define AB_SERVICE_H

#include "backend.h"
#include "list.h"
#include "registry.h"
#include "request.h"
#include "stats.h"
#include "zsock.h"

#include <stdarg.h>

struct broker;

/* Error replies: (symbol, code on the wire, stat it counts in). The code is
 * the stable reason clients and tests match on (docs/errors.md). */
#define SVC_ERRORS(X)                                                      \
    X(ERR_TIMEOUT, "timeout", timeouts)                                    \
    X(ERR_UNAVAILABLE, "unavailable", unavailable)                         \
    X(ERR_OVERLOADED, "overloaded", overloaded)                            \
    X(ERR_TOO_LARGE, "too_large", too_large)                               \
    X(ERR_BAD_REQUEST, "bad_request", bad_request)

typedef enum svc_error {
#define SVC_ERROR_ENUM(sym, code, stat) sym,
    SVC_ERRORS(SVC_ERROR_ENUM)
#undef SVC_ERROR_ENUM
} svc_error;

/* Frames a client envelope may have in front of the delimiter (one per
 * ROUTER hop between the client and us). */
#define SVC_MAX_ENVELOPE 16

typedef struct service service;
typedef void (*svc_close_cb)(struct broker *br);

struct service {
    struct broker *br;
    char name[72];
    const reg_service *cfg;  /* points into br->reg; swapped on reload */
    int remote;              /* cfg->host is not this broker's host */
    zsock front;             /* ROUTER bound to cfg->port */
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

/* Bind the front socket and connect the backends. On AB_ERR nothing is left
 * open and err says what failed (a bind failure names port and errno). */
int svc_open(struct broker *br, const reg_service *cfg, service **out,
             char *err, size_t errlen);
/* Answer every pending request with `unavailable: why`, then close
 * asynchronously; cb (may be NULL) runs once everything is freed. */
void svc_close(service *svc, const char *why, svc_close_cb cb);
/* Take a new config with the same name, port and host: knobs apply to new
 * requests, backends are diffed (unchanged ones keep their connection). */
int svc_update(service *svc, const reg_service *cfg, char *err, size_t errlen);
/* Answer every pending request with an error (drain deadline). */
void svc_fail_all(service *svc, svc_error code, const char *why);
size_t svc_pending(const service *svc);

/* Called by backend.c. */
void svc_on_reply(service *svc, backend *be, msgv *m);
void svc_dispatch(service *svc);
void svc_backend_lost(service *svc, backend *be, const char *why);

/* Answer r with an error reply; r goes back to the pool. */
void svc_fail(service *svc, request *r, svc_error code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Render the error reply body into buf; returns its length (for tests). */
size_t svc_error_body(char *buf, size_t len, const char *svc_name,
                      svc_error code, const char *message);

#endif
