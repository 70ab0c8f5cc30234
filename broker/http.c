/*
 * http.c: libmicrohttpd driven by the libuv loop (see http.h): the poll and
 * timer that run MHD, the per-request deadline, and the dispatch of GET
 * and HEAD requests to routes.
 */
#include "http.h"

#include "common.h"
#include "list.h"
#include "log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One open connection, for the deadline. */
typedef struct conn {
    ab_list link;
    int fd;
    uint64_t deadline; /* loop time (ms) by which a request must complete */
    int cut;
} conn;

struct http_server {
    uv_loop_t *loop;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;      /* MHD's epoll fd */
    uv_timer_t timer;    /* MHD's timeout, or the next request deadline */
    const http_route *routes;
    size_t nroutes;
    void *ctx;
    unsigned timeout_ms;
    ab_list conns;
    uint64_t closed;     /* connections closed so far */
    http_stats stats;
    stats_series *series;
    int port;
    int open_handles;
    void (*on_close)(void *arg);
    void *close_arg;
};

/* ------------------------------------------------------------ routing -- */

static const http_route *find_route(const http_server *h, const char *path)
{
    for (size_t i = 0; i < h->nroutes; i++) {
        if (strcmp(h->routes[i].path, path) == 0)
            return &h->routes[i];
    }
    return NULL;
}

/* The reply for a request the routes cannot answer, or 0 to route it. */
static unsigned refusal(const http_server *h, const char *method, const char *url,
                        const char **why)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
        strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
        *why = "method not allowed: only GET and HEAD\n";
        return MHD_HTTP_METHOD_NOT_ALLOWED;
    }
    if (!find_route(h, url)) {
        *why = "not found\n";
        return MHD_HTTP_NOT_FOUND;
    }
    return 0;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, http_reply *r,
                                  unsigned status)
{
    struct MHD_Response *resp;
    size_t len;
    if (r->static_body) {
        resp = MHD_create_response_from_buffer(r->static_len, (void *)r->static_body,
                                               MHD_RESPMEM_PERSISTENT);
    } else {
        char *body = text_take(&r->body, &len);
        resp = body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
                    : NULL;
        if (body && !resp)
            free(body);
    }
    if (!resp)
        return MHD_NO; /* MHD closes the connection */
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rc;
}

/* Render the route into reply; a body too large to render is a 500. */
static unsigned render(http_server *h, const char *url, http_reply *reply)
{
    find_route(h, url)->fn(h->ctx, reply);
    if (!reply->static_body && text_ok(&reply->body) != AB_OK) {
        text_free(&reply->body);
        text_init(&reply->body, HTTP_MAX_BODY);
        text_puts(&reply->body, "response too large to render\n");
        reply->type = "text/plain; charset=utf-8";
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return reply->status;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_size, void **req)
{
    static int seen; /* marks a request whose headers were already seen */
    http_server *h = cls;
    http_reply reply = {.status = MHD_HTTP_OK, .type = "text/plain; charset=utf-8"};
    const char *why = NULL;
    unsigned status = refusal(h, method, url, &why);
    /* Answer a GET on the second call, once MHD knows there is no body:
     * a response queued on the first call costs the keep-alive. Refusals
     * go out at once (and close the connection, body unread). */
    if (!status && !*req) {
        *req = &seen;
        return MHD_YES;
    }
    if (!status && *upload_size) {
        *upload_size = 0; /* a GET with a body: ignore the body */
        return MHD_YES;
    }
    text_init(&reply.body, HTTP_MAX_BODY);
    if (status)
        text_puts(&reply.body, why);
    else
        status = render(h, url, &reply);
    h->stats.requests++;
    h->stats.rejected += status >= 400 && status < 500;
    enum MHD_Result rc = send_reply(c, &reply, status);
    text_free(&reply.body);
    return rc;
}

/* ---------------------------------------------------------- deadlines -- */

static conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return i ? i->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    http_server *h = cls;
    conn *k = *socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        if (k) {
            ab_list_remove(&k->link);
            free(k);
            h->stats.connections--;
        }
        h->closed++;
        return;
    }
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    k = calloc(1, sizeof *k);
    if (!k || !i) {
        free(k);
        return; /* untracked: MHD's idle timeout still applies */
    }
    k->fd = i->connect_fd;
    k->deadline = uv_now(h->loop) + h->timeout_ms;
    ab_list_push_tail(&h->conns, &k->link);
    h->stats.connections++;
    *socket_ctx = k;
}

/* A request completed: the connection's next request gets a fresh deadline
 * (keep-alive clients such as the page poll on one connection). */
static void on_completed(void *cls, struct MHD_Connection *c, void **req,
                         enum MHD_RequestTerminationCode code)
{
    http_server *h = cls;
    conn *k = conn_of(c);
    if (k)
        k->deadline = uv_now(h->loop) + h->timeout_ms;
}

/* Cut connections past their deadline. shutdown(), not close(): the fd
 * stays MHD's; MHD sees the end of the stream and closes it itself. */
static void cut_overdue(http_server *h)
{
    uint64_t now = uv_now(h->loop);
    for (ab_list *l = ab_list_head(&h->conns); l != &h->conns; l = l->next) {
        conn *k = AB_CONTAINER_OF(l, conn, link);
        if (k->cut || k->deadline > now)
            continue;
        k->cut = 1;
        h->stats.cut++;
        shutdown(k->fd, SHUT_RDWR);
        log_debug("http cut fd=%d: no complete request within %u ms", k->fd,
                  h->timeout_ms);
    }
}

/* ms until the earliest uncut deadline, or UINT64_MAX. */
static uint64_t next_deadline(const http_server *h)
{
    uint64_t now = uv_now(h->loop), next = UINT64_MAX;
    for (ab_list *l = ab_list_head(&h->conns); l != &h->conns; l = l->next) {
        const conn *k = AB_CONTAINER_OF(l, conn, link);
        if (!k->cut && k->deadline < next)
            next = k->deadline;
    }
    return next == UINT64_MAX ? next : next > now ? next - now : 0;
}

/* --------------------------------------------------------- the driver -- */

static void on_timer(uv_timer_t *t);

/* Run MHD, then sleep until MHD's timeout or the next deadline, whichever
 * comes first (the poll wakes us for anything else). */
static void run_mhd(http_server *h)
{
    MHD_UNSIGNED_LONG_LONG mhd_ms;
    cut_overdue(h);
    uint64_t closed = h->closed;
    MHD_run(h->mhd);
    /* At the connection limit MHD takes its listen socket out of epoll and
     * puts it back only at the start of a run: when a connection closed
     * in this run, run again, or a client waiting in the backlog would
     * wait for the next unrelated event. */
    if (h->closed != closed)
        MHD_run(h->mhd);
    uint64_t wait = next_deadline(h);
    if (MHD_get_timeout(h->mhd, &mhd_ms) == MHD_YES && mhd_ms < wait)
        wait = mhd_ms;
    if (wait == UINT64_MAX)
        uv_timer_stop(&h->timer);
    else
        uv_timer_start(&h->timer, on_timer, wait, 0);
}

static void on_timer(uv_timer_t *t) { run_mhd(t->data); }

static void on_poll(uv_poll_t *p, int status, int events)
{
    if (status < 0)
        log_warn("http poll error: %s", uv_strerror(status));
    run_mhd(p->data);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    log_debug("http %s", line);
}

/* ------------------------------------------------------------- public -- */

/* "ADDR:PORT" or "[V6ADDR]:PORT", numeric, into a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *sa, char *err,
                        size_t errlen)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    size_t n = colon ? (size_t)(colon - s) : 0;
    if (!colon || end == colon + 1 || *end || port < 0 || port > 65535 || n == 0 ||
        n >= sizeof host)
        return ab_seterr(err, errlen, "'%s' is not ADDR:PORT", s);
    if (s[0] == '[' && s[n - 1] == ']') {
        memcpy(host, s + 1, n - 2);
        host[n - 2] = '\0';
        if (uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)sa) == 0)
            return AB_OK;
    } else {
        memcpy(host, s, n);
        host[n] = '\0';
        if (uv_ip4_addr(host, (int)port, (struct sockaddr_in *)sa) == 0)
            return AB_OK;
    }
    return ab_seterr(err, errlen, "'%s': the address must be numeric (127.0.0.1, "
                     "0.0.0.0, [::1])", s);
}

static struct MHD_Daemon *start_mhd(http_server *h, const http_opts *o,
                                    const struct sockaddr_storage *sa)
{
    unsigned idle_s = (o->timeout_ms + 999) / 1000;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (sa->ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, o->max_conns,
        MHD_OPTION_CONNECTION_LIMIT, o->max_conns,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, o->max_header_bytes,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_END);
}

static void free_on_close(uv_handle_t *handle) { free(handle->data); }

/* Watch MHD's epoll fd. On AB_ERR MHD is stopped and h is freed (at once,
 * or by the poll handle's close callback if it was registered). */
static int watch_mhd(http_server *h, char *err, size_t errlen)
{
    const union MHD_DaemonInfo *ep = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *bp = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    int rc = ep ? uv_poll_init(h->loop, &h->poll, ep->epoll_fd) : UV_EINVAL;
    int closing = 0;
    h->poll.data = h;
    if (rc == 0 && (rc = uv_poll_start(&h->poll, UV_READABLE, on_poll)) != 0) {
        uv_close((uv_handle_t *)&h->poll, free_on_close); /* unwatches at once */
        closing = 1;
    }
    if (rc != 0) {
        MHD_stop_daemon(h->mhd);
        if (!closing)
            free(h);
        return ab_seterr(err, errlen, "http: cannot watch the server: %s", uv_strerror(rc));
    }
    h->port = bp ? bp->port : 0;
    return AB_OK;
}

int http_open(uv_loop_t *loop, const http_opts *o, const http_route *routes,
              size_t n, void *ctx, stats_reg *reg, http_server **out, char *err,
              size_t errlen)
{
    struct sockaddr_storage sa;
    char why[AB_ERRLEN];
    if (parse_listen(o->listen, &sa, why, sizeof why) != AB_OK)
        return ab_seterr(err, errlen, "--http %s", why);
    http_server *h = calloc(1, sizeof *h);
    if (!h)
        return ab_seterr(err, errlen, "http: out of memory");
    *h = (http_server){.loop = loop, .routes = routes, .nroutes = n, .ctx = ctx,
                       .timeout_ms = o->timeout_ms};
    ab_list_init(&h->conns);
    h->mhd = start_mhd(h, o, &sa);
    if (!h->mhd) {
        free(h);
        return ab_seterr(err, errlen, "http: cannot listen on %s (address in use, "
                         "or not an address of this host)", o->listen);
    }
    if (watch_mhd(h, err, errlen) != AB_OK)
        return AB_ERR;
    uv_timer_init(loop, &h->timer);
    h->timer.data = h;
    char label[80]; /* the address with the port actually bound */
    ab_strfmt(label, sizeof label, "%.*s:%d", (int)(strrchr(o->listen, ':') - o->listen),
              o->listen, h->port);
    h->series = stats_series_open(reg, STATS_KIND_http, h, &h->stats, NULL, label, NULL);
    log_info("http listen=%s port=%d", o->listen, h->port);
    run_mhd(h);
    *out = h;
    return AB_OK;
}

static void on_handle_closed(uv_handle_t *handle)
{
    http_server *h = handle->data;
    if (--h->open_handles > 0)
        return;
    void (*cb)(void *) = h->on_close;
    void *arg = h->close_arg;
    free(h);
    if (cb)
        cb(arg);
}

void http_close(http_server *h, void (*cb)(void *arg), void *arg)
{
    h->on_close = cb;
    h->close_arg = arg;
    h->open_handles = 2;
    /* Stop watching MHD's epoll fd before MHD closes it. */
    uv_close((uv_handle_t *)&h->poll, on_handle_closed);
    uv_close((uv_handle_t *)&h->timer, on_handle_closed);
    MHD_stop_daemon(h->mhd); /* closes every connection: on_connection frees */
    h->mhd = NULL;
    stats_series_close(h->series);
    h->series = NULL;
}
