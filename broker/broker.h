/*
 * broker.h: the daemon as a whole: the loop, the ZMQ context, the live
 * registry, its services and their fronts, the links to other hosts, the
 * guard, signals, reload and graceful shutdown.
 */
#ifndef AB_BROKER_H
#define AB_BROKER_H

#include "front.h"
#include "guard.h"
#include "keys.h"
#include "linkio.h"
#include "linksrv.h"
#include "obs.h"
#include "peer.h"
#include "registry.h"
#include "reload.h"
#include "request.h"
#include "service.h"
#include "stats.h"
#include "zap.h"
#include "zsock.h"

#include <stdint.h>
#include <uv.h>

#define BROKER_DEFAULT_DRAIN_MS 5000
#define BROKER_DEFAULT_IO_BATCH 64
#define BROKER_DEFAULT_MAX_REQUESTS 100000
#define BROKER_DEFAULT_LINGER_MS 1000
#define BROKER_DEFAULT_MAX_MEMORY (1ull << 30)
#define BROKER_DEFAULT_GUARD_MS 100
#define BROKER_DEFAULT_PARTIAL_MS 30000
#define BROKER_DEFAULT_RECONNECT_MAX_MS 1000

typedef struct broker_opts {
    const char *registry_path;
    const char *host;
    const char *bind_address; /* where service ports are bound ("*") */
    int drain_ms;         /* SIGTERM: how long pending requests may finish */
    int io_batch;         /* messages per socket per loop tick */
    size_t max_requests;  /* requests alive at once, all services */
    int linger_ms;        /* how long replies may flush at exit */
    uint64_t max_memory;  /* bytes of requests and partial messages held */
    int guard_ms;         /* how often the guard looks at connections */
    int partial_ms;       /* how long a partial message (or handshake) may take */
    int reconnect_max_ms; /* longest wait between connects to an absent backend */
    const char *link_bind;  /* address the link server binds its port on ("*") */
    const char *secret_key; /* this host's link key file, or NULL */
    int link_plaintext;   /* links without CURVE (labs only, logged loudly) */
    obs_opts obs;         /* stats, HTTP endpoint, Redis push (obs.h) */
} broker_opts;

typedef enum broker_state { BROKER_RUNNING, BROKER_DRAINING, BROKER_CLOSING } broker_state;

typedef struct broker {
    uv_loop_t *loop;
    void *zctx;
    int max_sockets;      /* ZMQ_MAX_SOCKETS the context was sized with */
    broker_opts opts;
    broker_state state;
    zsock_sched sched;
    reqpool pool;
    guard guard;
    reloader reload;
    registry *reg;
    service **svcs;
    size_t nsvcs;
    ab_list fronts;       /* every open front, attached or lingering */
    int placing;          /* a reload is re-pointing fronts: none closes */
    keys_secret key;      /* this host's link key, when has_key */
    int has_key;
    uint64_t epoch;       /* this broker's link session epoch (links.c) */
    zap zap;              /* admits the other hosts' keys (link server) */
    linksrv *srv;         /* the link server, if this host has a link: */
    linksrv_stats lsrv_stats;
    ab_list peers;        /* peer: the links to hosts of remote services */
    ab_list old_peers;    /* during a reload: peers it may close */
    linkio_bufs lbufs;    /* transcoding scratch of the links */
    uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
    uv_timer_t drain_timer;
    size_t drain_start;   /* pending requests when SIGTERM came */
    size_t abandoned;     /* of those, answered with an error at the deadline */
    stats_reg stats;      /* every series of statistics (stats.h) */
    struct obs *obs;      /* tick, HTTP, Redis (obs.c) */
} broker;

/* Load the registry, bind every service, install signal handlers. On AB_ERR
 * the process should exit 1: err has already been logged line by line. */
int broker_init(broker *br, uv_loop_t *loop, const broker_opts *opts,
                char *err, size_t errlen);
/* Run until shut down; frees everything. Returns the process exit code. */
int broker_run(broker *br);
/* Free what outlives the loop. Safe after a failed broker_init. */
void broker_free(broker *br);

/* A request has just been answered: lets shutdown finish when drained. */
void broker_request_done(broker *br);
int broker_accepting(const broker *br);

/* The live service called name, or NULL. */
service *broker_service(broker *br, const char *name);

/* The front of `port` for service `name`: the one already open, or a new
 * one (with retry, a port still held is retried, see front.h). */
front *broker_front(broker *br, int port, const char *name, int retry,
                    char *err, size_t errlen);

#endif
