/*
 * http.h: a small HTTP server on the libuv loop, for /healthz, /metrics and
 * friends. libmicrohttpd parses HTTP; it runs in external-poll mode: its
 * epoll fd is watched by a uv_poll_t and MHD_run() is called when it is
 * readable or when MHD's own timeout (from MHD_get_timeout) comes due, so
 * every handler runs on the loop thread and may read broker state freely.
 *
 * Bounds: at most max_conns connections (further ones wait in a listen
 * backlog of max_conns, beyond which the kernel refuses them), request
 * line and headers within max_header_bytes (MHD answers 431 beyond), and a
 * deadline per request: a connection that has not completed a request
 * within timeout_ms of opening (or of its previous request) is cut, so a
 * client that trickles bytes cannot hold a slot. Only GET and HEAD are
 * served (405 otherwise), only the routes given (404 otherwise).
 *
 * Lifecycle as elsewhere: http_open() fails with nothing left behind, and
 * http_close() is asynchronous; its callback is the last thing that runs.
 */
#ifndef AB_HTTP_H
#define AB_HTTP_H

#include "stats.h"
#include "text.h"

#include <stddef.h>
#include <uv.h>

typedef struct http_opts {
    const char *listen;       /* "ADDR:PORT" (numeric; port 0: any free) */
    unsigned max_conns;
    unsigned timeout_ms;
    size_t max_header_bytes;
} http_opts;

/* What a route answers: a status, a content type, and a body that is
 * either rendered into `body` or static (not copied). */
typedef struct http_reply {
    unsigned status;
    const char *type;
    text_buf body;
    const void *static_body;
    size_t static_len;
} http_reply;

typedef void (*http_handler)(void *ctx, http_reply *reply);

typedef struct http_route {
    const char *path;
    http_handler fn;
} http_route;

typedef struct http_server http_server;

/* Bodies larger than this are not rendered (500). */
#define HTTP_MAX_BODY (64u << 20)

/* Listen and serve routes[0..n) (kept by reference), calling each handler
 * with ctx. The server's own statistics are a series of kind http in reg. */
int http_open(uv_loop_t *loop, const http_opts *o, const http_route *routes,
              size_t n, void *ctx, stats_reg *reg, http_server **out, char *err,
              size_t errlen);
void http_close(http_server *h, void (*cb)(void *arg), void *arg);

#endif
