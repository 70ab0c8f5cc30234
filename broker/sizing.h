/*
 * sizing.h: what a registry costs the process in ZMQ sockets and file
 * descriptors, and checking that against ZMQ_MAX_SOCKETS and
 * RLIMIT_NOFILE before anything is opened (at start and on every reload).
 *
 * Per service: its front is a ROUTER plus a monitor (a monitor is two
 * sockets: libzmq's internal PAIR and ours) and a listening fd. Per
 * backend of a service served here: a DEALER plus a monitor, and its
 * connection's fd. Every ZMQ socket has a mailbox fd. On top, client
 * connections (one fd each; SIZING_CLIENT_FDS are kept for them), the
 * process's own (SIZING_BASE_FDS: stdio, libuv, libzmq's threads) and
 * `extra` for the broker's other parts (the HTTP endpoint, Redis: obs_fds).
 * 1,000 services with 2 backends each: 9,000 sockets, 12,000 fds + 1,088
 * + extra.
 *
 * Links (links.h), on a host that takes part: with a link:, the ZAP
 * handler's ROUTER, the link server's ROUTER and monitor, its listening
 * fd and links.per_peer connections from every other host; per host
 * dialled, links.per_peer channels of a DEALER and a monitor, and their
 * connections.
 */
#ifndef AB_SIZING_H
#define AB_SIZING_H

#include "registry.h"

#include <stddef.h>

#define SIZING_SOCKETS_PER_FRONT 3
#define SIZING_SOCKETS_PER_BACKEND 3
#define SIZING_SOCKETS_LINK_SERVER 4    /* ZAP, ROUTER, monitor (2) */
#define SIZING_SOCKETS_PER_CHANNEL 3    /* DEALER, monitor (2) */
#define SIZING_CLIENT_FDS 1024
#define SIZING_BASE_FDS 64

/* ZMQ sockets and fds the registry needs on `host`. */
size_t sizing_sockets(const registry *reg, const char *host);
size_t sizing_fds(const registry *reg, const char *host, size_t extra);

/* ZMQ_MAX_SOCKETS for a context created for reg: room for the registry
 * to double by reloads. */
int sizing_context_sockets(const registry *reg, const char *host);

/* Make RLIMIT_NOFILE fit reg and `extra` fds (raising the soft limit up to the hard one
 * if needed) and check reg against max_sockets. AB_ERR names the first
 * service that does not fit, the limit, and what to raise. */
int sizing_fit(const registry *reg, const char *host, int max_sockets, size_t extra,
               char *err, size_t errlen);

#endif
