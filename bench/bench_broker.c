/*
 * bench_broker.c: measures one REQ/REP workload four ways -- direct
 * REQ->REP, through a plain zmq_proxy ROUTER/DEALER, through agentbusd
 * with its statistics on (histograms, HTTP endpoint scraped, Redis push)
 * and through agentbusd with them off ("bare") -- and prints round-trip
 * latency (one client), throughput (many concurrent clients) and the
 * ratios (agentbusd/zmq_proxy, and observability on/off).
 *
 * It owns the whole experiment: the REP echo backends (threads of this
 * process), the zmq_proxy thread, the agentbusd children (registry and
 * log in a temp dir), the redis-server they push to, the HTTP scraper,
 * the load generators and the report.  In each of --rounds rounds every
 * path is up at once and the paths take turns in short blocks (latency)
 * and windows (throughput), so that drift on a shared machine hits every
 * mode alike; each figure is the median over rounds, each ratio the
 * median of the per-round ratios.  Every reply is compared with its
 * request: a broken path fails the run instead of being measured.
 *
 * Three additions, each in its own section below:
 *  - observability on vs off: the "bare" mode, and for the others the
 *    scraper and redis-server that make the statistics do their work;
 *  - client kinds: every path is driven by raw libzmq REQ clients; with
 *    --header-client 1 the agentbusd path is also driven by clients of
 *    client/agentbus.h (same broker, same blocks and windows, own report
 *    lines), to show what the header costs over a bare REQ socket;
 *  - a mixed case, after the rounds: two REP backends of which one client
 *    keeps busy with slow requests (--slow-ms) while --fast-clients send
 *    fast ones (--fast-ms), through zmq_proxy and through agentbusd (with
 *    the registry's built-in dispatch knobs and its statistics on) taking
 *    turns; it reports the fast requests' p50/p99: what a request pays
 *    for being stacked behind a long one at a REP agent.
 */
#define AGENTBUS_IMPLEMENTATION
#include "agentbus.h"
#include "common.h"
#include "registry.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

/* Limits on the option values. */
#define MAX_BACKENDS 64
#define MAX_CLIENTS 512     /* each is a socket; libzmq allows 1023 per context */
#define MAX_ROUNDS 99
#define MAX_BLOCKS 1000
#define MAX_REQUESTS 10000000
#define MAX_BODY (1 << 20)
#define MIN_BODY 16          /* room for the client id and sequence stamp */
#define MAX_SECONDS 3600
#define MAX_TIMEOUT_MS 600000
#define MAX_INFLIGHT 100000

#define ENDPOINT_LEN 64      /* "tcp://127.0.0.1:65535" and room to spare */
#define POLL_MS 10           /* how often to look at agentbusd's log/exit */
#define LOG_READ_MAX 65536   /* how much of agentbusd's log is read or shown */
#define TMPDIR_MAX (PATH_MAX - 32)   /* room for the file names under it */
#define BENCH_HOST "bench"   /* --host given to agentbusd */
#define BENCH_SERVICE "echo"

/* What this run set out to show (informational, never the exit code). */
#define GOAL_P50_RATIO 1.05
#define GOAL_RPS_RATIO 1.0
#define GOAL_HEADER_P50_RATIO 1.05  /* agentbus.h client / REQ, both via agentbusd */
#define GOAL_HEADER_RPS_RATIO 0.95

enum mode { MODE_DIRECT, MODE_PROXY, MODE_AGENTBUSD, MODE_BARE, MODE_COUNT };

static const char *const MODE_OPT[MODE_COUNT] = {"direct", "proxy", "agentbusd", "bare"};
static const char *const MODE_LABEL[MODE_COUNT] = {"direct", "zmq_proxy", "agentbusd",
                                                   "agentbusd-bare"};

/* Who drives a path: a raw libzmq REQ socket (every mode), or an ab_client
 * of client/agentbus.h (the agentbusd path only, --header-client). */
enum client_kind { CLIENT_REQ, CLIENT_HEADER };

#define HEADER_LABEL "agentbus.h"

struct opts {
    unsigned modes;          /* bit (1u << enum mode) per mode to run */
    int rounds;
    int lat_requests;
    int lat_warmup;
    int lat_blocks;
    int tput_blocks;
    double seconds;
    double warmup_seconds;
    int clients;
    int backends;
    int body_bytes;
    int timeout_ms;          /* bound on every wait: reply, start, stop */
    int max_inflight;
    int queue_max;
    double mixed_seconds;    /* 0: no mixed case */
    int mixed_blocks;
    int slow_ms, fast_ms;
    int fast_clients;
    int pipeline_ms;         /* agentbusd's pipeline_ms; -1: built-in default */
    int header_client;       /* also drive agentbusd with agentbus.h clients */
    char agentbusd[PATH_MAX];
};

struct endpoints {
    int n;
    char addr[MAX_BACKENDS][ENDPOINT_LEN];
};

/* One round's figures for one mode. */
struct figures {
    double p50_us, p99_us, mean_us, rps;
    double hwm_kb, rss_kb;   /* agentbusd only: VmHWM/VmRSS after throughput */
};

struct backend {
    pthread_t thread;
    void *sock;
    int slow_ms, fast_ms;    /* mixed backends: time taken per request */
};

struct backends {
    void *ctx;
    int n;                   /* threads started, so a partial start stops */
    int slow_ms, fast_ms;    /* 0, 0: plain echo */
    struct backend b[MAX_BACKENDS];
    struct endpoints eps;
};

struct proxy {
    void *ctx;
    void *front, *back;
    pthread_t thread;
};

/* Polls agentbusd's HTTP endpoint while it is measured (see below). */
struct scraper {
    pthread_t thread;
    int port;
    int running;
    atomic_int stop;
    atomic_int ok, failed;   /* scrapes */
};

struct daemon {
    pid_t pid;               /* 0 once reaped */
    int bare;                /* observability off (MODE_BARE) */
    int http_port;
    struct scraper scraper;
    char dir[TMPDIR_MAX];    /* temp dir holding the registry and the log */
    char registry[PATH_MAX];
    char log[PATH_MAX];
};

/* The thing under test for one mode: where its clients connect. */
struct path {
    enum mode mode;
    struct proxy proxy;
    struct daemon daemon;
    struct endpoints lat;    /* the single latency client's endpoints */
    struct endpoints tput;   /* each throughput client's endpoints */
};

struct bench {
    const struct opts *o;
    void *ctx;               /* clients' context, apart from backends' */
    struct backends backends;
    double *samples[MODE_COUNT];   /* --lat-requests round-trip times each */
    struct figures res[MAX_ROUNDS][MODE_COUNT];
    double *hdr_samples;           /* the same for the agentbus.h client */
    struct figures hdr[MAX_ROUNDS];
};

/* ---- small helpers ---------------------------------------------------- */

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void sleep_ms(double ms)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000) * 1e6);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Fill err with what failed and why, naming a receive timeout plainly. */
static int zmq_fail(char *err, const char *what)
{
    if (errno == EAGAIN)
        return ab_seterr(err, AB_ERRLEN, "%s: no answer within --timeout-ms", what);
    return ab_seterr(err, AB_ERRLEN, "%s: %s", what, zmq_strerror(errno));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (n >= 1); sorts v. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- sockets ------------------------------------------------------------ */

/*
 * A socket that never outlives its close (linger 0) and whose send and
 * receive give up after timeout_ms (-1: wait forever, for backends).
 */
static void *bench_socket(void *ctx, int type, int timeout_ms, char *err)
{
    int zero = 0;
    void *s = zmq_socket(ctx, type);
    if (!s) {
        zmq_fail(err, "zmq_socket");
        return NULL;
    }
    if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) != 0 ||
        zmq_setsockopt(s, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) != 0) {
        zmq_fail(err, "zmq_setsockopt");
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* Bind s to an ephemeral loopback port and return the endpoint chosen. */
static int bind_ephemeral(void *s, char ep[ENDPOINT_LEN], char *err)
{
    size_t len = ENDPOINT_LEN;
    if (zmq_bind(s, "tcp://127.0.0.1:*") != 0)
        return zmq_fail(err, "zmq_bind");
    if (zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len) != 0)
        return zmq_fail(err, "ZMQ_LAST_ENDPOINT");
    return AB_OK;
}

static int connect_all(void *s, const struct endpoints *eps, char *err)
{
    for (int i = 0; i < eps->n; i++)
        if (zmq_connect(s, eps->addr[i]) != 0)
            return zmq_fail(err, "zmq_connect");
    return AB_OK;
}

/* A REQ socket connected to every endpoint of eps (libzmq round-robins). */
static void *req_socket(void *ctx, const struct endpoints *eps, int timeout_ms, char *err)
{
    void *s = bench_socket(ctx, ZMQ_REQ, timeout_ms, err);
    if (s && connect_all(s, eps, err) != AB_OK) {
        zmq_close(s);
        return NULL;
    }
    return s;
}

/* ---- requests ----------------------------------------------------------- */

/* A client's request body and a reply buffer one byte longer (to see overlong replies). */
struct msgbuf {
    char *body;
    char *reply;
    size_t len;
    uint64_t seq;
};

/* Body = client id, sequence number, then a pattern unique to the client. */
static int msgbuf_init(struct msgbuf *m, size_t len, int client, char *err)
{
    m->len = len;
    m->seq = 0;
    m->body = malloc(len);
    m->reply = malloc(len + 1);
    if (!m->body || !m->reply) {
        free(m->body);
        free(m->reply);
        return ab_seterr(err, AB_ERRLEN, "out of memory for %zu-byte bodies", len);
    }
    for (size_t i = 0; i < len; i++)
        m->body[i] = (char)(i * 7 + (size_t)client);
    memcpy(m->body, &client, sizeof client);
    return AB_OK;
}

static void msgbuf_free(struct msgbuf *m)
{
    free(m->body);
    free(m->reply);
}

/* Describe a reply that is not the request, showing its printable start
 * (an agentbusd error reply is JSON, so this names the error code). */
static int reply_mismatch(const struct msgbuf *m, int n, char *err)
{
    char shown[121];
    int k = 0;
    for (; k < n && k < (int)m->len + 1 && k < (int)sizeof shown - 1; k++)
        shown[k] = (m->reply[k] >= 32 && m->reply[k] < 127) ? m->reply[k] : '.';
    shown[k] = '\0';
    return ab_seterr(err, AB_ERRLEN, "reply differs from request (%d bytes, expected %zu): %s",
                     n, m->len, shown);
}

/* One request/reply on a REQ socket; AB_OK only if the reply is one frame
 * equal to the request (which carries a fresh sequence number). */
static int round_trip(void *s, struct msgbuf *m, char *err)
{
    int more = 0;
    size_t more_len = sizeof more;
    m->seq++;
    memcpy(m->body + 8, &m->seq, sizeof m->seq);
    if (zmq_send(s, m->body, m->len, 0) != (int)m->len)
        return zmq_fail(err, "send request");
    int n = zmq_recv(s, m->reply, m->len + 1, 0);
    if (n < 0)
        return zmq_fail(err, "receive reply");
    if (zmq_getsockopt(s, ZMQ_RCVMORE, &more, &more_len) != 0 || more)
        return ab_seterr(err, AB_ERRLEN, "reply has more than one frame");
    if ((size_t)n != m->len || memcmp(m->reply, m->body, m->len) != 0)
        return reply_mismatch(m, n, err);
    return AB_OK;
}

/* The same round trip through an agentbus.h client. */
static int header_round_trip(ab_client *c, struct msgbuf *m, int timeout_ms, char *err)
{
    ab_msg reply;
    ab_error e;
    m->seq++;
    memcpy(m->body + 8, &m->seq, sizeof m->seq);
    if (ab_call(c, m->body, m->len, timeout_ms, &reply, &e) != AB_OK)
        return ab_seterr(err, AB_ERRLEN, "%s", e.message);
    size_t n = reply.frames[0].size;
    int same = reply.nframes == 1 && n == m->len && memcmp(reply.frames[0].data, m->body, n) == 0;
    memcpy(m->reply, reply.frames[0].data, n < m->len + 1 ? n : m->len + 1);
    ab_msg_free(&reply);
    if (!same)
        return reply_mismatch(m, (int)n, err);
    return AB_OK;
}

/* One client of either kind. */
struct conn {
    enum client_kind kind;
    void *sock;              /* CLIENT_REQ */
    ab_client *ab;           /* CLIENT_HEADER: on eps->addr[0], in ctx */
    int timeout_ms;          /* the deadline of each round trip */
};

static int conn_open(struct conn *c, enum client_kind kind, void *ctx,
                     const struct endpoints *eps, int timeout_ms, char *err)
{
    ab_options opts = {.zmq_ctx = ctx};
    ab_error e;
    *c = (struct conn){.kind = kind, .timeout_ms = timeout_ms};
    if (kind == CLIENT_REQ)
        return (c->sock = req_socket(ctx, eps, timeout_ms, err)) ? AB_OK : AB_ERR;
    c->ab = ab_client_open(eps->addr[0], &opts, &e);
    return c->ab ? AB_OK : ab_seterr(err, AB_ERRLEN, "%s", e.message);
}

static void conn_close(struct conn *c)
{
    if (c->sock)
        zmq_close(c->sock);
    ab_client_close(c->ab);
}

static int conn_round_trip(struct conn *c, struct msgbuf *m, char *err)
{
    if (c->kind == CLIENT_HEADER)
        return header_round_trip(c->ab, m, c->timeout_ms, err);
    return round_trip(c->sock, m, err);
}

/* ---- echo backends ------------------------------------------------------ */

/* Where a mixed request says whether it is slow ('S') or fast ('F'),
 * after the client id and sequence number round_trip() stamps. */
#define MIXED_MARK 16
#define MIXED_BODY 64

/* How long a mixed backend works on msg (0 for a plain echo backend). */
static int work_ms(const struct backend *b, zmq_msg_t *msg)
{
    if (!b->slow_ms && !b->fast_ms)
        return 0;
    const char *body = zmq_msg_data(msg);
    return zmq_msg_size(msg) > MIXED_MARK && body[MIXED_MARK] == 'S' ? b->slow_ms
                                                                       : b->fast_ms;
}

/* Echo one single-frame request; -1 when the socket fails (ETERM at stop). */
static int echo_one(const struct backend *b)
{
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    int rc = zmq_msg_recv(&msg, b->sock, 0);
    if (rc >= 0 && zmq_msg_more(&msg)) {
        fprintf(stderr, "bench_broker: backend got a multi-frame request\n");
        rc = -1;
    }
    if (rc >= 0 && work_ms(b, &msg))
        sleep_ms(work_ms(b, &msg));
    if (rc >= 0)
        rc = zmq_msg_send(&msg, b->sock, 0);
    zmq_msg_close(&msg);
    return rc < 0 ? -1 : 0;
}

static void *echo_main(void *arg)
{
    struct backend *b = arg;
    while (echo_one(b) == 0) {
    }
    zmq_close(b->sock);
    return NULL;
}

/* Stop the backends started so far: context shutdown ends their receive. */
static void backends_stop(struct backends *bk)
{
    zmq_ctx_shutdown(bk->ctx);
    for (int i = 0; i < bk->n; i++)
        pthread_join(bk->b[i].thread, NULL);
    zmq_ctx_term(bk->ctx);
    bk->n = 0;
}

static int backend_start(struct backends *bk, char *err)
{
    struct backend *b = &bk->b[bk->n];
    b->slow_ms = bk->slow_ms;
    b->fast_ms = bk->fast_ms;
    b->sock = bench_socket(bk->ctx, ZMQ_REP, -1, err);
    if (!b->sock)
        return AB_ERR;
    if (bind_ephemeral(b->sock, bk->eps.addr[bk->n], err) != AB_OK) {
        zmq_close(b->sock);
        return AB_ERR;
    }
    if (pthread_create(&b->thread, NULL, echo_main, b) != 0) {
        zmq_close(b->sock);
        return ab_seterr(err, AB_ERRLEN, "pthread_create failed for a backend");
    }
    bk->n++;
    bk->eps.n = bk->n;
    return AB_OK;
}

/* n REP echo threads, each bound to its own free loopback port (bk's
 * slow_ms and fast_ms set beforehand for mixed backends). */
static int backends_start(struct backends *bk, int n, char *err)
{
    bk->n = 0;
    bk->ctx = zmq_ctx_new();
    if (!bk->ctx)
        return zmq_fail(err, "zmq_ctx_new");
    while (bk->n < n) {
        if (backend_start(bk, err) != AB_OK) {
            backends_stop(bk);
            return AB_ERR;
        }
    }
    return AB_OK;
}

/* ---- zmq_proxy ---------------------------------------------------------- */

static void *proxy_main(void *arg)
{
    struct proxy *p = arg;
    zmq_proxy(p->front, p->back, NULL);   /* returns on context shutdown */
    zmq_close(p->front);
    zmq_close(p->back);
    return NULL;
}

/* ROUTER frontend on a free port, DEALER to every backend, in its own
 * context (own I/O thread) as a separate broker would have. */
static int proxy_start(struct proxy *p, const struct endpoints *backends, struct endpoints *front,
                       char *err)
{
    int rc = AB_ERR;
    p->ctx = zmq_ctx_new();
    if (!p->ctx)
        return zmq_fail(err, "zmq_ctx_new");
    p->front = bench_socket(p->ctx, ZMQ_ROUTER, -1, err);
    p->back = p->front ? bench_socket(p->ctx, ZMQ_DEALER, -1, err) : NULL;
    front->n = 1;
    if (p->back && bind_ephemeral(p->front, front->addr[0], err) == AB_OK &&
        connect_all(p->back, backends, err) == AB_OK)
        rc = pthread_create(&p->thread, NULL, proxy_main, p) == 0
                 ? AB_OK : ab_seterr(err, AB_ERRLEN, "pthread_create failed for the proxy");
    if (rc == AB_OK)
        return AB_OK;
    if (p->front)
        zmq_close(p->front);
    if (p->back)
        zmq_close(p->back);
    zmq_ctx_term(p->ctx);
    return AB_ERR;
}

static void proxy_stop(struct proxy *p)
{
    zmq_ctx_shutdown(p->ctx);
    pthread_join(p->thread, NULL);
    zmq_ctx_term(p->ctx);
}

/* ---- observability on vs off -------------------------------------------- */

/*
 * agentbusd is measured twice in every round: "agentbusd" with everything
 * the statistics offer switched on -- latency histograms, the HTTP endpoint
 * scraped for /metrics and /stats.json every SCRAPE_MS, and a push to a
 * redis-server started by this benchmark every stats interval -- and
 * "agentbusd-bare" with all of it off (--stats-interval 0 --http off). The
 * ratio of the two is what observability costs (goal: within 3%).
 */
#define SCRAPE_MS 1000
#define GOAL_OBS_RATIO 0.03

struct redis_child {
    pid_t pid;
    int port;
    int used;                /* it was up for the run */
};

static struct redis_child redis_child;

static int free_port(int *port, char *err);

/* A TCP connection to 127.0.0.1:port with send/receive timeouts, or -1. */
static int dial_local(int port, int timeout_ms)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
                    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0 ||
                    connect(fd, (struct sockaddr *)&a, sizeof a) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* GET path over HTTP/1.0; AB_OK when the status is 200. The response's
 * first len - 1 bytes land in out (NUL-terminated) when out is given. */
static int http_get(int port, const char *path, char *out, size_t len)
{
    char buf[16384];
    int fd = dial_local(port, 2000), n, ok = 0;
    size_t total = 0;
    if (fd < 0)
        return AB_ERR;
    snprintf(buf, sizeof buf, "GET %s HTTP/1.0\r\n\r\n", path);
    if (send(fd, buf, strlen(buf), MSG_NOSIGNAL) == (ssize_t)strlen(buf)) {
        while ((n = (int)recv(fd, buf, sizeof buf, 0)) > 0) {
            ok = ok || (total == 0 && n >= 12 && memcmp(buf + 9, "200", 3) == 0);
            if (out && total < len - 1)
                memcpy(out + total, buf, (size_t)n < len - 1 - total ? (size_t)n : len - 1 - total);
            total += (size_t)n;
        }
    }
    if (out)
        out[total < len - 1 ? total : len - 1] = '\0';
    close(fd);
    return ok ? AB_OK : AB_ERR;
}

/* Redis pushes agentbusd reports in /stats.json ("pushes" of its redis
 * series), or -1. */
static long redis_pushes(int port)
{
    static char doc[1 << 16];
    const char *p;
    if (http_get(port, "/stats.json", doc, sizeof doc) != AB_OK ||
        !(p = strstr(doc, "\"redis\":[{")) || !(p = strstr(p, "\"pushes\":")))
        return -1;
    return strtol(p + 9, NULL, 10);
}

static void *scraper_main(void *arg)
{
    struct scraper *sc = arg;
    while (!atomic_load(&sc->stop)) {
        int rc = http_get(sc->port, "/metrics", NULL, 0);
        if (rc == AB_OK)
            rc = http_get(sc->port, "/stats.json", NULL, 0);
        atomic_fetch_add(rc == AB_OK ? &sc->ok : &sc->failed, 1);
        for (int t = 0; t < SCRAPE_MS / POLL_MS && !atomic_load(&sc->stop); t++)
            sleep_ms(POLL_MS);
    }
    return NULL;
}

static int scraper_start(struct scraper *sc, int port, char *err)
{
    sc->port = port;
    atomic_store(&sc->stop, 0);
    atomic_store(&sc->ok, 0);
    atomic_store(&sc->failed, 0);
    if (pthread_create(&sc->thread, NULL, scraper_main, sc) != 0)
        return ab_seterr(err, AB_ERRLEN, "pthread_create failed for the scraper");
    sc->running = 1;
    return AB_OK;
}

/* Redis pushes so far, waiting up to timeout_ms for the first one (the
 * first push comes one stats interval after agentbusd started). */
static long wait_pushes(int port, int timeout_ms)
{
    long pushes = redis_pushes(port);
    for (int waited = 0; pushes == 0 && waited < timeout_ms; waited += POLL_MS) {
        sleep_ms(POLL_MS);
        pushes = redis_pushes(port);
    }
    return pushes;
}

/* Stop scraping; AB_ERR if a scrape failed or, with Redis up, nothing
 * was pushed (observability was not exercised: the figures would not
 * mean what they say). */
static int scraper_stop(struct scraper *sc, int timeout_ms, char *err)
{
    if (!sc->running)
        return AB_OK;
    long pushes = redis_child.used ? wait_pushes(sc->port, timeout_ms) : 1;
    atomic_store(&sc->stop, 1);
    pthread_join(sc->thread, NULL);
    sc->running = 0;
    if (atomic_load(&sc->ok) == 0 || atomic_load(&sc->failed) > 0 || pushes <= 0)
        return ab_seterr(err, AB_ERRLEN, "agentbusd's observability: %d scrapes ok, %d failed,"
                         " %ld Redis pushes", atomic_load(&sc->ok), atomic_load(&sc->failed),
                         pushes);
    return AB_OK;
}

/* redis-server on a free loopback port for the whole run, or none (the
 * "agentbusd" mode then runs without a Redis push, and says so). */
static void redis_start(int timeout_ms)
{
    char port[16], err[AB_ERRLEN];
    if (free_port(&redis_child.port, err) != AB_OK)
        return;
    snprintf(port, sizeof port, "%d", redis_child.port);
    char *const argv[] = {"redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", NULL};
    redis_child.pid = fork();
    if (redis_child.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    for (int waited = 0; redis_child.pid > 0 && waited <= timeout_ms; waited += POLL_MS) {
        int fd = dial_local(redis_child.port, POLL_MS);
        if (fd >= 0) {
            close(fd);
            redis_child.used = 1;
            return;
        }
        if (waitpid(redis_child.pid, NULL, WNOHANG) == redis_child.pid)
            break;
        sleep_ms(POLL_MS);
    }
    if (redis_child.pid > 0)
        kill(redis_child.pid, SIGKILL);
    redis_child.pid = 0;
    printf("note: redis-server did not start: agentbusd runs without the Redis push\n");
}

static void redis_stop(void)
{
    if (redis_child.pid > 0) {
        kill(redis_child.pid, SIGTERM);
        waitpid(redis_child.pid, NULL, 0);
        redis_child.pid = 0;
    }
}

/* agentbusd's observability options for d (bufs holds their text). */
static int obs_args(const struct daemon *d, char *argv[], char bufs[2][64])
{
    int n = 0;
    if (d->bare) {
        argv[n++] = "--http";
        argv[n++] = "off";
        argv[n++] = "--stats-interval";
        argv[n++] = "0";
        return n;
    }
    snprintf(bufs[0], 64, "127.0.0.1:%d", d->http_port);
    argv[n++] = "--http";
    argv[n++] = bufs[0];
    if (redis_child.pid > 0) {
        snprintf(bufs[1], 64, "redis://127.0.0.1:%d/0", redis_child.port);
        argv[n++] = "--redis";
        argv[n++] = bufs[1];
    }
    return n;
}

/* ---- agentbusd child ---------------------------------------------------- */

/* A TCP port nobody listens on right now (agentbusd binds every address on it). */
static int free_port(int *port, char *err)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
             getsockname(fd, (struct sockaddr *)&a, &len) != 0;
    if (fd >= 0)
        close(fd);
    if (rc)
        return ab_seterr(err, AB_ERRLEN, "finding a free port: %s", strerror(errno));
    *port = ntohs(a.sin_port);
    return AB_OK;
}

/* One service on port whose backends are ours, with the pipelining and
 * queue bounds from the options. */
static int write_registry(const char *file, int port, const struct endpoints *eps,
                          const struct opts *o, char *err)
{
    FILE *f = fopen(file, "w");
    if (!f)
        return ab_seterr(err, AB_ERRLEN, "%s: %s", file, strerror(errno));
    fprintf(f, "# written by bench_broker for one benchmark round\n"
               "hosts:\n  %s: {}\nservices:\n  %s:\n    host: %s\n    port: %d\n"
               "    timeout_ms: %d\n    max_inflight: %d\n    queue_max: %d\n    backends: [",
            BENCH_HOST, BENCH_SERVICE, BENCH_HOST, port, o->timeout_ms, o->max_inflight,
            o->queue_max);
    for (int i = 0; i < eps->n; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", eps->addr[i]);
    fprintf(f, "]\n");
    if (o->pipeline_ms >= 0)
        fprintf(f, "    pipeline_ms: %d\n", o->pipeline_ms);
    if (fclose(f) != 0)
        return ab_seterr(err, AB_ERRLEN, "%s: %s", file, strerror(errno));
    return AB_OK;
}

/* Read the start of agentbusd's log into buf (NUL-terminated, maybe empty). */
static void read_log(const struct daemon *d, char *buf, size_t size)
{
    size_t n = 0;
    FILE *f = fopen(d->log, "r");
    if (f) {
        n = fread(buf, 1, size - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
}

static void show_log(const struct daemon *d)
{
    static char buf[LOG_READ_MAX];
    read_log(d, buf, sizeof buf);
    fprintf(stderr, "---- agentbusd log (%s) ----\n%s---- end of agentbusd log ----\n", d->log, buf);
}

/* Start agentbusd with stdout/stderr to the log file; it dies with us. */
static int daemon_spawn(struct daemon *d, const char *exe, char *err)
{
    char bufs[2][64];
    char *argv[16] = {(char *)exe, "--registry", d->registry, "--host", BENCH_HOST};
    obs_args(d, argv + 5, bufs);
    int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return ab_seterr(err, AB_ERRLEN, "%s: %s", d->log, strerror(errno));
    d->pid = fork();
    if (d->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execv(exe, argv);
        _exit(127);
    }
    close(fd);
    if (d->pid < 0) {
        d->pid = 0;
        return ab_seterr(err, AB_ERRLEN, "fork: %s", strerror(errno));
    }
    return AB_OK;
}

/* Reap agentbusd if it exited within timeout_ms; AB_OK only for exit 0. */
static int daemon_reap(struct daemon *d, int timeout_ms, char *err)
{
    int status = 0;
    for (int waited = 0; waited <= timeout_ms; waited += POLL_MS) {
        pid_t r = waitpid(d->pid, &status, WNOHANG);
        if (r == d->pid) {
            d->pid = 0;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return AB_OK;
            return ab_seterr(err, AB_ERRLEN, "agentbusd exited with %s %d",
                             WIFEXITED(status) ? "status" : "signal",
                             WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
        }
        sleep_ms(POLL_MS);
    }
    return ab_seterr(err, AB_ERRLEN, "agentbusd still running after %d ms", timeout_ms);
}

/* Wait for the `ready` log line; fail if agentbusd exits or is slow. */
static int daemon_wait_ready(struct daemon *d, int timeout_ms, char *err)
{
    static char buf[LOG_READ_MAX];
    for (int waited = 0; waited <= timeout_ms; waited += POLL_MS) {
        read_log(d, buf, sizeof buf);
        if (strstr(buf, " ready host="))
            return AB_OK;
        char why[AB_ERRLEN] = "status 0";
        if (daemon_reap(d, 0, why) == AB_OK || d->pid == 0)
            return ab_seterr(err, AB_ERRLEN, "agentbusd exited before ready (%s)", why);
        sleep_ms(POLL_MS);
    }
    return ab_seterr(err, AB_ERRLEN, "agentbusd not ready within %d ms", timeout_ms);
}

/* SIGTERM and wait (bounded), SIGKILL if it hangs; then drop the temp
 * files, showing the log first if anything went wrong. */
static int daemon_stop(struct daemon *d, int timeout_ms, char *err)
{
    int rc = AB_OK;
    if (d->pid) {
        kill(d->pid, SIGTERM);
        rc = daemon_reap(d, timeout_ms, err);
    }
    if (d->pid) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
    }
    if (rc != AB_OK)
        show_log(d);
    unlink(d->registry);
    unlink(d->log);
    rmdir(d->dir);
    return rc;
}

static int daemon_prepare(struct daemon *d, const struct endpoints *backends, const struct opts *o,
                          int *port, char *err)
{
    const char *tmp = getenv("TMPDIR");
    if (snprintf(d->dir, sizeof d->dir, "%s/bench_broker.XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
            (int)sizeof d->dir || !mkdtemp(d->dir))
        return ab_seterr(err, AB_ERRLEN, "mkdtemp %s: %s", d->dir, strerror(errno));
    snprintf(d->registry, sizeof d->registry, "%s/registry.yaml", d->dir);
    snprintf(d->log, sizeof d->log, "%s/agentbusd.log", d->dir);
    if (free_port(port, err) != AB_OK || (!d->bare && free_port(&d->http_port, err) != AB_OK))
        return AB_ERR;
    return write_registry(d->registry, *port, backends, o, err);
}

/* agentbusd serving one service in front of the backends, ready to use. */
static int daemon_start(struct daemon *d, const struct endpoints *backends, const struct opts *o,
                        struct endpoints *front, char *err)
{
    char stop_err[AB_ERRLEN];
    int port = 0;
    d->pid = 0;
    if (access(o->agentbusd, X_OK) != 0)
        return ab_seterr(err, AB_ERRLEN, "agentbusd not found at %s (build it or pass --agentbusd)",
                         o->agentbusd);
    if (daemon_prepare(d, backends, o, &port, err) != AB_OK ||
        daemon_spawn(d, o->agentbusd, err) != AB_OK ||
        daemon_wait_ready(d, o->timeout_ms, err) != AB_OK) {
        show_log(d);
        daemon_stop(d, o->timeout_ms, stop_err);
        return AB_ERR;
    }
    front->n = 1;
    snprintf(front->addr[0], ENDPOINT_LEN, "tcp://127.0.0.1:%d", port);
    if (!d->bare && scraper_start(&d->scraper, d->http_port, err) != AB_OK) {
        daemon_stop(d, o->timeout_ms, stop_err);
        return AB_ERR;
    }
    return AB_OK;
}

/* VmHWM (peak) and VmRSS of a live process, in kB. */
static int read_rss(pid_t pid, struct figures *f, char *err)
{
    char file[64], line[256];
    snprintf(file, sizeof file, "/proc/%d/status", (int)pid);
    FILE *st = fopen(file, "r");
    if (!st)
        return ab_seterr(err, AB_ERRLEN, "%s: %s", file, strerror(errno));
    while (fgets(line, sizeof line, st)) {
        sscanf(line, "VmHWM: %lf", &f->hwm_kb);
        sscanf(line, "VmRSS: %lf", &f->rss_kb);
    }
    fclose(st);
    return AB_OK;
}

/* ---- the path under test ------------------------------------------------ */

static int path_start(struct path *p, enum mode m, const struct endpoints *backends,
                      const struct opts *o, char *err)
{
    p->mode = m;
    switch (m) {
    case MODE_DIRECT:
        p->tput = *backends;
        p->lat.n = 1;   /* a plain REQ->REP */
        memcpy(p->lat.addr[0], backends->addr[0], ENDPOINT_LEN);
        return AB_OK;
    case MODE_PROXY:
        if (proxy_start(&p->proxy, backends, &p->lat, err) != AB_OK)
            return AB_ERR;
        break;
    default:
        p->daemon.bare = m == MODE_BARE;
        if (daemon_start(&p->daemon, backends, o, &p->lat, err) != AB_OK)
            return AB_ERR;
        break;
    }
    p->tput = p->lat;
    return AB_OK;
}

static int path_stop(struct path *p, const struct opts *o, char *err)
{
    if (p->mode == MODE_PROXY)
        proxy_stop(&p->proxy);
    if (p->mode == MODE_AGENTBUSD || p->mode == MODE_BARE) {
        int rc = scraper_stop(&p->daemon.scraper, o->timeout_ms, err);
        return daemon_stop(&p->daemon, o->timeout_ms, rc == AB_OK ? err : NULL) == AB_OK
                   ? rc : AB_ERR;
    }
    return AB_OK;
}

/* ---- latency: one client per path, interleaved ------------------------ */

/* p50/p99 (nearest rank) and mean of n samples; sorts them. */
static void summarize(double *v, int n, struct figures *f)
{
    double sum = 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    for (int i = 0; i < n; i++)
        sum += v[i];
    f->p50_us = v[(n * 50 + 99) / 100 - 1];
    f->p99_us = v[(n * 99 + 99) / 100 - 1];
    f->mean_us = sum / n;
}

/* One latency client (a path's, or the agentbus.h one), the round-trip
 * times it took so far and where its figures go. */
struct lat_client {
    const char *label;
    struct conn conn;
    struct msgbuf m;
    double *samples;
    int n;
    struct figures *fig;
};

/* count round trips on c, timed into c->samples when record is set. */
static int lat_run(struct lat_client *c, int count, int record, char *err)
{
    char why[AB_ERRLEN];
    for (int i = 0; i < count; i++) {
        double t0 = now_us();
        if (conn_round_trip(&c->conn, &c->m, why) != AB_OK)
            return ab_seterr(err, AB_ERRLEN, "%s latency: %s", c->label, why);
        if (record)
            c->samples[c->n++] = now_us() - t0;
    }
    return AB_OK;
}

static void lat_close(struct lat_client *c, int n)
{
    for (int i = 0; i < n; i++) {
        conn_close(&c[i].conn);
        msgbuf_free(&c[i].m);
    }
}

/* The agentbusd path when agentbus.h clients are to drive it too. */
static const struct path *header_path(const struct bench *b, const struct path *paths, int n)
{
    for (int i = 0; b->o->header_client && i < n; i++)
        if (paths[i].mode == MODE_AGENTBUSD)
            return &paths[i];
    return NULL;
}

/* Open *c as a latency client of kind on eps; nothing is left open on failure. */
static int lat_open_one(struct bench *b, struct lat_client *c, enum client_kind kind,
                        const struct endpoints *eps, char *err)
{
    if (conn_open(&c->conn, kind, b->ctx, eps, b->o->timeout_ms, err) != AB_OK)
        return AB_ERR;
    if (msgbuf_init(&c->m, (size_t)b->o->body_bytes, 0, err) == AB_OK)
        return AB_OK;
    conn_close(&c->conn);
    return AB_ERR;
}

/* A latency client on each of paths[0..n), plus an agentbus.h one on the
 * agentbusd path (*count says how many); on failure none is left open. */
static int lat_open(struct bench *b, const struct path *paths, int n, int r,
                    struct lat_client *c, int *count, char *err)
{
    const struct path *hp = header_path(b, paths, n);
    *count = n + (hp != NULL);
    for (int i = 0; i < *count; i++) {
        enum mode m = i < n ? paths[i].mode : MODE_AGENTBUSD;
        c[i] = i < n ? (struct lat_client){.label = MODE_LABEL[m], .samples = b->samples[m],
                                           .fig = &b->res[r][m]}
                     : (struct lat_client){.label = HEADER_LABEL, .samples = b->hdr_samples,
                                           .fig = &b->hdr[r]};
        if (lat_open_one(b, &c[i], i < n ? CLIENT_REQ : CLIENT_HEADER,
                         i < n ? &paths[i].lat : &hp->lat, err) != AB_OK) {
            lat_close(c, i);
            return AB_ERR;
        }
    }
    return AB_OK;
}

/* Warm every client up, then --lat-blocks blocks of round trips take
 * turns on the paths (who goes first rotates) so that drift on the
 * machine hits every path alike. */
static int lat_interleave(const struct opts *o, struct lat_client *c, int n, char *err)
{
    int per = (o->lat_requests + o->lat_blocks - 1) / o->lat_blocks;
    for (int i = 0; i < n; i++)
        if (lat_run(&c[i], o->lat_warmup, 0, err) != AB_OK)
            return AB_ERR;
    for (int blk = 0; blk < o->lat_blocks; blk++) {
        for (int j = 0; j < n; j++) {
            struct lat_client *cj = &c[(blk + j) % n];
            int left = o->lat_requests - cj->n;
            if (lat_run(cj, per < left ? per : left, 1, err) != AB_OK)
                return AB_ERR;
        }
    }
    return AB_OK;
}

/* Latency figures of round r for each of paths[0..n) (and agentbus.h). */
static int measure_latency(struct bench *b, const struct path *paths, int n, int r, char *err)
{
    struct lat_client c[MODE_COUNT + 1];
    int count;
    if (lat_open(b, paths, n, r, c, &count, err) != AB_OK)
        return AB_ERR;
    int rc = lat_interleave(b->o, c, count, err);
    lat_close(c, count);
    for (int i = 0; rc == AB_OK && i < count; i++)
        summarize(c[i].samples, c[i].n, c[i].fig);
    return rc;
}

/* ---- throughput: many clients ------------------------------------------- */

enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_STOP };

/* State the load threads share; the first failure wins err. */
struct load {
    void *ctx;
    const struct endpoints *eps;
    enum client_kind kind;
    const struct opts *o;
    atomic_int phase;
    atomic_int failed;
    pthread_mutex_t mu;
    char err[AB_ERRLEN];
};

struct client {
    pthread_t thread;
    struct load *load;
    int id;
    uint64_t done;           /* round trips completed while measuring */
};

static void load_fail(struct load *l, const char *err)
{
    pthread_mutex_lock(&l->mu);
    if (!atomic_exchange(&l->failed, 1))
        snprintf(l->err, sizeof l->err, "%s", err);
    pthread_mutex_unlock(&l->mu);
}

/* Round trips back to back until told to stop or any client fails. */
static int client_loop(struct client *c, struct conn *s, char *err)
{
    struct load *l = c->load;
    struct msgbuf m;
    int rc = msgbuf_init(&m, (size_t)l->o->body_bytes, c->id, err);
    if (rc != AB_OK)
        return AB_ERR;
    while (rc == AB_OK && atomic_load(&l->phase) != PHASE_STOP && !atomic_load(&l->failed)) {
        rc = conn_round_trip(s, &m, err);
        if (rc == AB_OK && atomic_load(&l->phase) == PHASE_MEASURE)
            c->done++;
    }
    msgbuf_free(&m);
    return rc;
}

static void *client_main(void *arg)
{
    struct client *c = arg;
    struct load *l = c->load;
    struct conn s;
    char err[AB_ERRLEN];
    if (conn_open(&s, l->kind, l->ctx, l->eps, l->o->timeout_ms, err) != AB_OK) {
        load_fail(l, err);
        return NULL;
    }
    if (client_loop(c, &s, err) != AB_OK)
        load_fail(l, err);
    conn_close(&s);
    return NULL;
}

/* Warm up, count round trips for seconds, stop; returns the time counted. */
static double drive_load(struct load *l, double seconds)
{
    sleep_ms(l->o->warmup_seconds * 1000);
    double t0 = now_us();
    atomic_store(&l->phase, PHASE_MEASURE);
    sleep_ms(seconds * 1000);
    atomic_store(&l->phase, PHASE_STOP);
    return now_us() - t0;
}

/* Start up to --clients client threads; returns how many started. */
static int start_clients(struct load *l, struct client *clients)
{
    for (int i = 0; i < l->o->clients; i++) {
        clients[i] = (struct client){.load = l, .id = i + 1};
        if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) != 0) {
            load_fail(l, "pthread_create failed for a client");
            return i;
        }
    }
    return l->o->clients;
}

/* Round trips completed and the time they were counted over. */
struct tally {
    uint64_t done;
    double us;
};

/* One window: --clients fresh clients of kind on eps, warmed up, then
 * counted for seconds; adds to t. */
static int throughput_window(struct bench *b, const struct endpoints *eps, enum client_kind kind,
                             double seconds, struct tally *t, char *err)
{
    static struct client clients[MAX_CLIENTS];
    struct load l = {.ctx = b->ctx, .eps = eps, .kind = kind, .o = b->o, .phase = PHASE_WARMUP};
    pthread_mutex_init(&l.mu, NULL);
    int started = start_clients(&l, clients);
    if (!l.failed)
        t->us += drive_load(&l, seconds);
    atomic_store(&l.phase, PHASE_STOP);
    for (int i = 0; i < started; i++) {
        pthread_join(clients[i].thread, NULL);
        t->done += clients[i].done;
    }
    pthread_mutex_destroy(&l.mu);
    return l.failed ? ab_seterr(err, AB_ERRLEN, "%s", l.err) : AB_OK;
}

/* ---- rounds ------------------------------------------------------------- */

/* The selected modes in round r's order: rotated by r so that each mode
 * takes each position equally often.  Returns how many. */
static int round_order(const struct opts *o, int r, enum mode *order)
{
    int n = 0;
    for (int k = 0; k < MODE_COUNT; k++) {
        enum mode m = (enum mode)((r + k) % MODE_COUNT);
        if (o->modes & (1u << m))
            order[n++] = m;
    }
    return n;
}

/* Bring up a path per mode of order[0..n) in front of backends, with
 * options o; *up counts those started. */
static int start_paths_of(struct bench *b, const enum mode *order, int n,
                          const struct endpoints *backends, const struct opts *o,
                          struct path *paths, int *up, char *err)
{
    char why[AB_ERRLEN];
    for (*up = 0; *up < n; (*up)++)
        if (path_start(&paths[*up], order[*up], backends, o, why) != AB_OK)
            return ab_seterr(err, AB_ERRLEN, "starting %s: %s", MODE_LABEL[order[*up]], why);
    return AB_OK;
}

static int start_paths(struct bench *b, const enum mode *order, int n, struct path *paths,
                       int *up, char *err)
{
    return start_paths_of(b, order, n, &b->backends.eps, b->o, paths, up, err);
}

/* Tear down paths[0..n); a failure becomes the result unless rc already
 * is one (err then keeps the first cause). */
static int stop_paths(struct bench *b, struct path *paths, int n, int rc, char *err)
{
    char why[AB_ERRLEN];
    for (int i = 0; i < n; i++)
        if (path_stop(&paths[i], b->o, why) != AB_OK && rc == AB_OK)
            rc = ab_seterr(err, AB_ERRLEN, "stopping %s: %s", MODE_LABEL[paths[i].mode], why);
    return rc;
}

/* Throughput windows of --seconds / --tput-blocks take turns on the paths
 * (who goes first rotates), like the latency blocks; t[i] sums path i's,
 * t[n] the agentbus.h clients' on the agentbusd path (with --header-client). */
static int throughput_interleave(struct bench *b, const struct path *paths, int n,
                                 struct tally *t, char *err)
{
    char why[AB_ERRLEN];
    const struct path *hp = header_path(b, paths, n);
    int slots = n + (hp != NULL);
    double window = b->o->seconds / b->o->tput_blocks;
    for (int blk = 0; blk < b->o->tput_blocks; blk++) {
        for (int j = 0; j < slots; j++) {
            int i = (blk + j) % slots;
            const struct path *p = i < n ? &paths[i] : hp;
            if (throughput_window(b, &p->tput, i < n ? CLIENT_REQ : CLIENT_HEADER, window, &t[i],
                                  why) != AB_OK)
                return ab_seterr(err, AB_ERRLEN, "%s throughput: %s",
                                 i < n ? MODE_LABEL[p->mode] : HEADER_LABEL, why);
        }
    }
    return AB_OK;
}

/* Throughput figures of round r for each of paths[0..n) (and agentbus.h),
 * and agentbusd's memory right after, while it still holds its peak. */
static int measure_throughput(struct bench *b, const struct path *paths, int n, int r, char *err)
{
    struct tally t[MODE_COUNT + 1] = {{0}};
    if (throughput_interleave(b, paths, n, t, err) != AB_OK)
        return AB_ERR;
    if (header_path(b, paths, n))
        b->hdr[r].rps = (double)t[n].done / (t[n].us / 1e6);
    for (int i = 0; i < n; i++) {
        struct figures *f = &b->res[r][paths[i].mode];
        f->rps = (double)t[i].done / (t[i].us / 1e6);
        if ((paths[i].mode == MODE_AGENTBUSD || paths[i].mode == MODE_BARE) &&
            read_rss(paths[i].daemon.pid, f, err) != AB_OK)
            return AB_ERR;
    }
    return AB_OK;
}

static void print_progress(int round, const struct opts *o, const char *label,
                           const struct figures *f)
{
    printf("round %d/%d %-14s p50 %8.1f us  p99 %8.1f us  mean %8.1f us  %10.0f req/s\n",
           round + 1, o->rounds, label, f->p50_us, f->p99_us, f->mean_us, f->rps);
    fflush(stdout);
}

/* Round r: every selected path up at once, latency then throughput
 * measured in blocks the paths take turns in, then all torn down. */
static int run_round(struct bench *b, int r, char *err)
{
    enum mode order[MODE_COUNT];
    struct path paths[MODE_COUNT];
    char why[AB_ERRLEN];
    int up = 0, n = round_order(b->o, r, order);
    int rc = start_paths(b, order, n, paths, &up, why);
    if (rc == AB_OK)
        rc = measure_latency(b, paths, n, r, why);
    if (rc == AB_OK)
        rc = measure_throughput(b, paths, n, r, why);
    if (stop_paths(b, paths, up, rc, why) != AB_OK)
        return ab_seterr(err, AB_ERRLEN, "round %d: %s", r + 1, why);
    for (int i = 0; i < n; i++)
        print_progress(r, b->o, MODE_LABEL[order[i]], &b->res[r][order[i]]);
    if (header_path(b, paths, n))
        print_progress(r, b->o, HEADER_LABEL, &b->hdr[r]);
    return AB_OK;
}

/* ---- mixed slow/fast ----------------------------------------------------- */

/* The fast requests' round-trip times of one path, over all its blocks. */
struct sample_set {
    double *v;
    size_t n, cap;
    uint64_t slow_done;
};

static int sample_add(struct sample_set *set, double us)
{
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 4096;
        double *v = realloc(set->v, cap * sizeof *v);
        if (!v)
            return AB_ERR;
        set->v = v;
        set->cap = cap;
    }
    set->v[set->n++] = us;
    return AB_OK;
}

/* One client of the mixed case; a fast one keeps its round-trip times. */
struct mixed_client {
    pthread_t thread;
    struct load *load;
    int id, slow;
    struct sample_set lat;
};

static int mixed_loop(struct mixed_client *c, void *s, char *err)
{
    struct load *l = c->load;
    struct msgbuf m;
    int rc = msgbuf_init(&m, MIXED_BODY, c->id, err);
    if (rc != AB_OK)
        return AB_ERR;
    m.body[MIXED_MARK] = c->slow ? 'S' : 'F';
    while (rc == AB_OK && atomic_load(&l->phase) != PHASE_STOP && !atomic_load(&l->failed)) {
        double t0 = now_us();
        rc = round_trip(s, &m, err);
        if (rc == AB_OK && c->slow)
            c->lat.slow_done++;
        else if (rc == AB_OK && sample_add(&c->lat, now_us() - t0) != AB_OK)
            rc = ab_seterr(err, AB_ERRLEN, "out of memory for samples");
    }
    msgbuf_free(&m);
    return rc;
}

static void *mixed_main(void *arg)
{
    struct mixed_client *c = arg;
    char err[AB_ERRLEN];
    void *s = req_socket(c->load->ctx, c->load->eps, c->load->o->timeout_ms, err);
    if (!s || mixed_loop(c, s, err) != AB_OK)
        load_fail(c->load, err);
    if (s)
        zmq_close(s);
    return NULL;
}

/* One window of the mixed load on eps: client 0 slow, the others fast;
 * their results are added to set. */
static int mixed_window(struct bench *b, const struct endpoints *eps, double seconds,
                        struct sample_set *set, char *err)
{
    static struct mixed_client clients[MAX_CLIENTS];
    struct load l = {.ctx = b->ctx, .eps = eps, .o = b->o, .phase = PHASE_MEASURE};
    int n = b->o->fast_clients + 1, started = 0;
    pthread_mutex_init(&l.mu, NULL);
    for (; started < n; started++) {
        clients[started] = (struct mixed_client){.load = &l, .id = started + 1,
                                                 .slow = started == 0};
        if (pthread_create(&clients[started].thread, NULL, mixed_main, &clients[started])) {
            load_fail(&l, "pthread_create failed for a client");
            break;
        }
    }
    if (!l.failed)
        sleep_ms(seconds * 1000);
    atomic_store(&l.phase, PHASE_STOP);
    for (int i = 0; i < started; i++) {
        struct mixed_client *c = &clients[i];
        pthread_join(c->thread, NULL);
        set->slow_done += c->lat.slow_done;
        for (size_t k = 0; k < c->lat.n && !l.failed; k++)
            if (sample_add(set, c->lat.v[k]) != AB_OK)
                load_fail(&l, "out of memory for samples");
        free(c->lat.v);
    }
    pthread_mutex_destroy(&l.mu);
    return l.failed ? ab_seterr(err, AB_ERRLEN, "%s", l.err) : AB_OK;
}

/* The paths of the mixed case: zmq_proxy and agentbusd, as selected. */
static int mixed_modes(const struct opts *o, enum mode *modes)
{
    int n = 0;
    for (enum mode m = MODE_PROXY; m <= MODE_AGENTBUSD; m++)
        if (o->modes & (1u << m))
            modes[n++] = m;
    return n;
}

/* Blocks of --mixed-seconds / --mixed-blocks that the paths take turns in. */
static int mixed_interleave(struct bench *b, struct path *paths, int n,
                            struct sample_set *sets, char *err)
{
    char why[AB_ERRLEN];
    double window = b->o->mixed_seconds / b->o->mixed_blocks;
    for (int blk = 0; blk < b->o->mixed_blocks; blk++) {
        for (int j = 0; j < n; j++) {
            int i = (blk + j) % n;
            if (mixed_window(b, &paths[i].lat, window, &sets[i], why) != AB_OK)
                return ab_seterr(err, AB_ERRLEN, "%s mixed: %s", MODE_LABEL[paths[i].mode], why);
        }
    }
    return AB_OK;
}

static void print_mixed(const struct bench *b, const struct path *paths, int n,
                        struct sample_set *sets)
{
    const struct opts *o = b->o;
    struct figures f[MODE_COUNT];
    printf("\nmixed slow/fast: 2 REP backends, 1 client of %d ms requests and %d clients of "
           "%d ms ones, %g s per path in %d blocks\n%-24s %12s %12s %12s %12s\n",
           o->slow_ms, o->fast_clients, o->fast_ms, o->mixed_seconds, o->mixed_blocks,
           "mode", "fast p50 ms", "fast p99 ms", "fast reqs", "slow reqs");
    for (int i = 0; i < n; i++) {
        summarize(sets[i].v, (int)sets[i].n, &f[i]);
        printf("%-24s %12.1f %12.1f %12zu %12llu\n", MODE_LABEL[paths[i].mode],
               f[i].p50_us / 1000, f[i].p99_us / 1000, sets[i].n,
               (unsigned long long)sets[i].slow_done);
    }
    if (n == 2)
        printf("%-24s %12.3f %12.3f\n", "agentbusd/zmq_proxy", f[1].p50_us / f[0].p50_us,
               f[1].p99_us / f[0].p99_us);
}

/* The mixed case (after the rounds): its own two backends, both paths
 * up, the load in blocks they take turns in. agentbusd runs with the
 * registry's built-in max_inflight and queue_max: the defaults are what
 * is measured. */
static int run_mixed(struct bench *b, char *err)
{
    struct backends mixed = {.slow_ms = b->o->slow_ms, .fast_ms = b->o->fast_ms};
    struct opts mo = *b->o;
    struct path paths[2];
    struct sample_set sets[2] = {{0}};
    enum mode modes[2];
    char why[AB_ERRLEN];
    int up = 0, n = mixed_modes(b->o, modes), rc;
    if (n == 0 || b->o->mixed_seconds <= 0)
        return AB_OK;
    mo.max_inflight = REG_DEFAULT_MAX_INFLIGHT;
    mo.queue_max = REG_DEFAULT_QUEUE_MAX;
    if (backends_start(&mixed, 2, err) != AB_OK)
        return AB_ERR;
    rc = start_paths_of(b, modes, n, &mixed.eps, &mo, paths, &up, why);
    if (rc == AB_OK)
        rc = mixed_interleave(b, paths, n, sets, why);
    rc = stop_paths(b, paths, up, rc, why);
    backends_stop(&mixed);
    if (rc == AB_OK && sets[0].n && (n < 2 || sets[1].n))
        print_mixed(b, paths, n, sets);
    else if (rc == AB_OK)
        rc = ab_seterr(why, AB_ERRLEN, "no fast request completed");
    for (int i = 0; i < n; i++)
        free(sets[i].v);
    return rc == AB_OK ? AB_OK : ab_seterr(err, AB_ERRLEN, "mixed case: %s", why);
}

/* ---- report ------------------------------------------------------------- */

struct metric {
    const char *label;
    size_t off;              /* offset of the double in struct figures */
};

static const struct metric METRICS[] = {
    {"p50 us", offsetof(struct figures, p50_us)},
    {"p99 us", offsetof(struct figures, p99_us)},
    {"mean us", offsetof(struct figures, mean_us)},
    {"req/s", offsetof(struct figures, rps)},
};

/* The double at offset off in f. */
static double field_at(const struct figures *f, size_t off)
{
    return *(const double *)(const void *)((const char *)f + off);
}

/* Median over rounds of metric mt for mode m, or of its ratio to mode
 * base when base is not MODE_COUNT (ratios are taken per round). */
static double median_over_rounds(const struct bench *b, enum mode m, enum mode base,
                                 const struct metric *mt)
{
    double v[MAX_ROUNDS];
    for (int r = 0; r < b->o->rounds; r++) {
        v[r] = field_at(&b->res[r][m], mt->off);
        if (base != MODE_COUNT)
            v[r] /= field_at(&b->res[r][base], mt->off);
    }
    return median(v, b->o->rounds);
}

/* One table row: mode m's medians, or its median ratios to base. */
static void print_row(const struct bench *b, const char *label, enum mode m, enum mode base)
{
    printf("%-24s", label);
    for (size_t i = 0; i < AB_ARRAY_LEN(METRICS); i++)
        printf(base == MODE_COUNT ? " %12.1f" : " %12.3f", median_over_rounds(b, m, base, &METRICS[i]));
    printf("\n");
}

static int has_mode(const struct bench *b, enum mode m)
{
    return (b->o->modes & (1u << m)) != 0;
}

static void print_ratios(const struct bench *b)
{
    for (enum mode base = MODE_DIRECT; base < MODE_COUNT; base++) {
        if (base == MODE_AGENTBUSD)
            continue;
        char label[64];
        if (!has_mode(b, base))
            continue;
        snprintf(label, sizeof label, "agentbusd/%s", MODE_LABEL[base]);
        print_row(b, label, MODE_AGENTBUSD, base);
    }
}

/* Largest value over rounds of agentbusd's struct figures field at off. */
static double max_over_rounds(const struct bench *b, size_t off)
{
    double max = 0;
    for (int r = 0; r < b->o->rounds; r++) {
        double v = field_at(&b->res[r][MODE_AGENTBUSD], off);
        max = v > max ? v : max;
    }
    return max;
}

static void print_memory(const struct bench *b)
{
    printf("agentbusd memory: peak RSS (VmHWM) %.1f MiB, RSS after throughput (VmRSS) %.1f MiB"
           " (max over rounds)\n", max_over_rounds(b, offsetof(struct figures, hwm_kb)) / 1024,
           max_over_rounds(b, offsetof(struct figures, rss_kb)) / 1024);
}

static void print_goals(const struct bench *b)
{
    double p50 = median_over_rounds(b, MODE_AGENTBUSD, MODE_PROXY, &METRICS[0]);
    double rps = median_over_rounds(b, MODE_AGENTBUSD, MODE_PROXY, &METRICS[3]);
    printf("goals (agentbusd/zmq_proxy): p50 ratio %.3f <= %.2f %s; req/s ratio %.3f >= %.2f %s"
           " => %s\n", p50, GOAL_P50_RATIO, p50 <= GOAL_P50_RATIO ? "met" : "MISSED",
           rps, GOAL_RPS_RATIO, rps >= GOAL_RPS_RATIO ? "met" : "MISSED",
           p50 <= GOAL_P50_RATIO && rps >= GOAL_RPS_RATIO ? "goals met" : "goals NOT met");
}

/* Median over rounds of the agentbus.h client's metric mt, or of its
 * ratio to the REQ client's on the same broker (taken per round). */
static double header_median(const struct bench *b, const struct metric *mt, int ratio)
{
    double v[MAX_ROUNDS];
    for (int r = 0; r < b->o->rounds; r++) {
        v[r] = field_at(&b->hdr[r], mt->off);
        if (ratio)
            v[r] /= field_at(&b->res[r][MODE_AGENTBUSD], mt->off);
    }
    return median(v, b->o->rounds);
}

/* The agentbus.h client against the REQ client, both through agentbusd. */
static void print_header_client(const struct bench *b)
{
    static const char *const label[2] = {HEADER_LABEL " client", HEADER_LABEL "/REQ"};
    printf("\n%s client against REQ, both through agentbusd (same broker, same run)\n",
           HEADER_LABEL);
    for (int ratio = 0; ratio < 2; ratio++) {
        printf("%-24s", label[ratio]);
        for (size_t i = 0; i < AB_ARRAY_LEN(METRICS); i++)
            printf(ratio ? " %12.3f" : " %12.1f", header_median(b, &METRICS[i], ratio));
        printf("\n");
    }
    double p50 = header_median(b, &METRICS[0], 1), rps = header_median(b, &METRICS[3], 1);
    int met = p50 <= GOAL_HEADER_P50_RATIO && rps >= GOAL_HEADER_RPS_RATIO;
    printf("goals (%s/REQ): p50 ratio %.3f <= %.2f %s; req/s ratio %.3f >= %.2f %s => %s\n",
           HEADER_LABEL, p50, GOAL_HEADER_P50_RATIO, p50 <= GOAL_HEADER_P50_RATIO ? "met" : "MISSED",
           rps, GOAL_HEADER_RPS_RATIO, rps >= GOAL_HEADER_RPS_RATIO ? "met" : "MISSED",
           met ? "goals met" : "goals NOT met");
}

/* What observability costs: agentbusd (all on) against agentbusd-bare. */
static void print_obs_goal(const struct bench *b)
{
    double p50 = median_over_rounds(b, MODE_AGENTBUSD, MODE_BARE, &METRICS[0]);
    double rps = median_over_rounds(b, MODE_AGENTBUSD, MODE_BARE, &METRICS[3]);
    int met = p50 <= 1 + GOAL_OBS_RATIO && rps >= 1 - GOAL_OBS_RATIO;
    printf("observability (stats + HTTP scraped%s) on/off: p50 ratio %.3f, req/s ratio %.3f"
           " (goal: within %.0f%%) => %s\n", redis_child.used ? " + Redis push" : "",
           p50, rps, GOAL_OBS_RATIO * 100, met ? "goal met" : "goal NOT met");
}

static void report(const struct bench *b)
{
    printf("\nmedians over %d round(s)\n%-24s", b->o->rounds, "mode");
    for (size_t i = 0; i < AB_ARRAY_LEN(METRICS); i++)
        printf(" %12s", METRICS[i].label);
    printf("\n");
    for (enum mode m = MODE_DIRECT; m < MODE_COUNT; m++)
        if (has_mode(b, m))
            print_row(b, MODE_LABEL[m], m, MODE_COUNT);
    if (!has_mode(b, MODE_AGENTBUSD))
        return;
    print_ratios(b);
    print_memory(b);
    if (has_mode(b, MODE_PROXY))
        print_goals(b);
    if (b->o->header_client)
        print_header_client(b);
    if (has_mode(b, MODE_BARE))
        print_obs_goal(b);
}

/* ---- options ------------------------------------------------------------ */

enum opt_kind { KIND_INT, KIND_SECONDS, KIND_MODES, KIND_PATH };

struct optspec {
    const char *name;
    enum opt_kind kind;
    size_t off;              /* field in struct opts */
    double min, max;         /* KIND_INT and KIND_SECONDS bounds */
    const char *help;
};

#define OPT(name, kind, field, lo, hi, help) {name, kind, offsetof(struct opts, field), lo, hi, help}

static const struct optspec OPTSPECS[] = {
    OPT("modes", KIND_MODES, modes, 0, 0, "comma list of direct,proxy,agentbusd,bare"),
    OPT("rounds", KIND_INT, rounds, 1, MAX_ROUNDS, "rounds, each measuring every mode"),
    OPT("lat-requests", KIND_INT, lat_requests, 1, MAX_REQUESTS, "timed round trips per path (one client)"),
    OPT("lat-warmup", KIND_INT, lat_warmup, 0, MAX_REQUESTS, "untimed round trips before those"),
    OPT("lat-blocks", KIND_INT, lat_blocks, 1, MAX_BLOCKS, "blocks the paths take turns in"),
    OPT("seconds", KIND_SECONDS, seconds, 0.1, MAX_SECONDS, "throughput time counted per path"),
    OPT("tput-blocks", KIND_INT, tput_blocks, 1, MAX_BLOCKS, "windows that time is split in"),
    OPT("warmup-seconds", KIND_SECONDS, warmup_seconds, 0, MAX_SECONDS,
        "uncounted warm-up before each window"),
    OPT("clients", KIND_INT, clients, 1, MAX_CLIENTS, "concurrent throughput clients (REQ each)"),
    OPT("backends", KIND_INT, backends, 1, MAX_BACKENDS, "REP echo backends"),
    OPT("body-bytes", KIND_INT, body_bytes, MIN_BODY, MAX_BODY, "request body size"),
    OPT("timeout-ms", KIND_INT, timeout_ms, 1, MAX_TIMEOUT_MS, "bound on every wait (reply, start, stop)"),
    OPT("max-inflight", KIND_INT, max_inflight, 1, MAX_INFLIGHT, "agentbusd max_inflight per backend"),
    OPT("queue-max", KIND_INT, queue_max, 1, MAX_INFLIGHT, "agentbusd queue_max of the service"),
    OPT("mixed-seconds", KIND_SECONDS, mixed_seconds, 0, MAX_SECONDS,
        "mixed slow/fast case: time per path (0: skip it)"),
    OPT("mixed-blocks", KIND_INT, mixed_blocks, 1, MAX_BLOCKS, "blocks that time is split in"),
    OPT("slow-ms", KIND_INT, slow_ms, 1, MAX_TIMEOUT_MS, "mixed case: a slow request's time"),
    OPT("fast-ms", KIND_INT, fast_ms, 0, MAX_TIMEOUT_MS, "mixed case: a fast request's time"),
    OPT("fast-clients", KIND_INT, fast_clients, 1, MAX_CLIENTS - 1,
        "mixed case: clients of fast requests (one more sends slow ones)"),
    OPT("pipeline-ms", KIND_INT, pipeline_ms, -1, MAX_TIMEOUT_MS,
        "agentbusd pipeline_ms (-1: the registry's built-in default)"),
    OPT("header-client", KIND_INT, header_client, 0, 1,
        "1: also drive agentbusd with agentbus.h clients"),
    OPT("agentbusd", KIND_PATH, agentbusd, 0, 0, "agentbusd binary"),
};

/* Defaults; agentbusd is looked for in the build tree next to us. */
static void opts_default(struct opts *o)
{
    char exe[PATH_MAX] = ".";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 1] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    *o = (struct opts){.modes = (1u << MODE_COUNT) - 1, .rounds = 3, .lat_requests = 20000,
                       .lat_warmup = 2000, .lat_blocks = 20, .seconds = 3, .tput_blocks = 6, .warmup_seconds = 0.25, .clients = 32,
                       .backends = 4, .body_bytes = 512, .timeout_ms = 5000,
                       .max_inflight = 64, .queue_max = 4096, .mixed_seconds = 6,
                       .mixed_blocks = 3, .slow_ms = 400, .fast_ms = 1, .fast_clients = 4,
                       .pipeline_ms = -1, .header_client = 1};
    snprintf(o->agentbusd, sizeof o->agentbusd, "%s/../broker/agentbusd", exe);
}

static void print_value(FILE *out, const struct optspec *s, const struct opts *o)
{
    const void *field = (const char *)o + s->off;
    if (s->kind == KIND_INT)
        fprintf(out, "%d", *(const int *)field);
    else if (s->kind == KIND_SECONDS)
        fprintf(out, "%g", *(const double *)field);
    else if (s->kind == KIND_PATH)
        fprintf(out, "%s", (const char *)field);
    else
        for (int m = 0; m < MODE_COUNT; m++)
            fprintf(out, "%s%s", m ? "," : "", MODE_OPT[m]);
}

static void usage(FILE *out)
{
    struct opts d;
    opts_default(&d);
    fprintf(out, "usage: bench_broker [options]\n"
                 "Measures direct REQ->REP, zmq_proxy and agentbusd on the same workload\n"
                 "(and, through agentbusd, the agentbus.h client against REQ).\n");
    for (size_t i = 0; i < AB_ARRAY_LEN(OPTSPECS); i++) {
        fprintf(out, "  --%-16s %s (default ", OPTSPECS[i].name, OPTSPECS[i].help);
        print_value(out, &OPTSPECS[i], &d);
        fprintf(out, ")\n");
    }
    fprintf(out, "  --%-16s this text\n", "help");
}

static int parse_modes(const char *text, unsigned *modes, char *err)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", text);
    *modes = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        int m = 0;
        while (m < MODE_COUNT && strcmp(t, MODE_OPT[m]) != 0)
            m++;
        if (m == MODE_COUNT)
            return ab_seterr(err, AB_ERRLEN, "--modes: unknown mode '%s'", t);
        *modes |= 1u << m;
    }
    return *modes ? AB_OK : ab_seterr(err, AB_ERRLEN, "--modes: empty");
}

/* Store text into the field s names, within the bounds s gives. */
static int opt_set(const struct optspec *s, const char *text, struct opts *o, char *err)
{
    void *field = (char *)o + s->off;
    char *end = NULL;
    if (s->kind == KIND_MODES)
        return parse_modes(text, field, err);
    if (s->kind == KIND_PATH)
        return snprintf(field, PATH_MAX, "%s", text) < PATH_MAX
                   ? AB_OK : ab_seterr(err, AB_ERRLEN, "--%s: path too long", s->name);
    double v = strtod(text, &end);
    if (end == text || *end || v < s->min || v > s->max || (s->kind == KIND_INT && v != (int)v))
        return ab_seterr(err, AB_ERRLEN, "--%s: want %s in [%g, %g], got '%s'", s->name,
                         s->kind == KIND_INT ? "an integer" : "a number", s->min, s->max, text);
    if (s->kind == KIND_INT)
        *(int *)field = (int)v;
    else
        *(double *)field = v;
    return AB_OK;
}

/* getopt_long returns OPT_VAL + i for OPTSPECS[i]: above any character
 * it returns for errors, and 0 is --help setting its flag. */
#define OPT_VAL 256

/* Fill o from argv (*help set by --help); AB_ERR on a usage error. */
static int parse_options(int argc, char **argv, struct opts *o, int *help, char *err)
{
    struct option longs[AB_ARRAY_LEN(OPTSPECS) + 2] = {{0}};
    int n = (int)AB_ARRAY_LEN(OPTSPECS);
    for (int i = 0; i < n; i++)
        longs[i] = (struct option){OPTSPECS[i].name, required_argument, NULL, OPT_VAL + i};
    longs[n] = (struct option){"help", no_argument, help, 1};
    opts_default(o);
    for (int c; (c = getopt_long(argc, argv, "", longs, NULL)) != -1;) {
        if (c != 0 && c < OPT_VAL)
            return ab_seterr(err, AB_ERRLEN, "bad option");
        if (c != 0 && opt_set(&OPTSPECS[c - OPT_VAL], optarg, o, err) != AB_OK)
            return AB_ERR;
    }
    if (optind < argc)
        return ab_seterr(err, AB_ERRLEN, "unexpected argument '%s'", argv[optind]);
    return AB_OK;
}

/* ---- main --------------------------------------------------------------- */

static void print_setup(const struct opts *o)
{
    printf("bench_broker: %d B bodies, %d REP echo backends, %d round(s)\n"
           "  latency:    1 client per path, %d round trips after %d warm-up,"
           " paths taking turns in %d blocks\n"
           "  throughput: %d clients, %g s counted in %d windows (each after %g s warm-up)"
           " the paths take turns in\n",
           o->body_bytes, o->backends, o->rounds, o->lat_requests, o->lat_warmup, o->lat_blocks,
           o->clients, o->seconds, o->tput_blocks, o->warmup_seconds);
    fflush(stdout);
}

static int run_rounds(struct bench *b, char *err)
{
    for (int r = 0; r < b->o->rounds; r++)
        if (run_round(b, r, err) != AB_OK)
            return AB_ERR;
    return AB_OK;
}

static void free_samples(struct bench *b)
{
    for (int m = 0; m < MODE_COUNT; m++)
        free(b->samples[m]);
    free(b->hdr_samples);
}

static int run(struct bench *b, char *err)
{
    int rc = AB_OK;
    for (int m = 0; m < MODE_COUNT; m++) {
        b->samples[m] = malloc(sizeof *b->samples[m] * (size_t)b->o->lat_requests);
        rc = b->samples[m] ? rc : ab_seterr(err, AB_ERRLEN, "out of memory for samples");
    }
    b->hdr_samples = malloc(sizeof *b->hdr_samples * (size_t)b->o->lat_requests);
    rc = b->hdr_samples ? rc : ab_seterr(err, AB_ERRLEN, "out of memory for samples");
    b->ctx = rc == AB_OK ? zmq_ctx_new() : NULL;
    if (rc == AB_OK && !b->ctx)
        rc = zmq_fail(err, "zmq_ctx_new");
    if (rc == AB_OK && (b->o->modes & (1u << MODE_AGENTBUSD)))
        redis_start(b->o->timeout_ms);
    if (rc == AB_OK && (rc = backends_start(&b->backends, b->o->backends, err)) == AB_OK) {
        rc = run_rounds(b, err);
        backends_stop(&b->backends);
    }
    if (rc == AB_OK)
        report(b);
    if (rc == AB_OK)
        rc = run_mixed(b, err);
    redis_stop();
    if (b->ctx)
        zmq_ctx_term(b->ctx);
    free_samples(b);
    return rc;
}

int main(int argc, char **argv)
{
    static struct opts o;
    static struct bench b;
    char err[AB_ERRLEN] = "";
    int help = 0;
    if (parse_options(argc, argv, &o, &help, err) != AB_OK) {
        fprintf(stderr, "bench_broker: %s\n", err);
        usage(stderr);
        return 2;
    }
    if (help) {
        usage(stdout);
        return 0;
    }
    print_setup(&o);
    b.o = &o;
    if (run(&b, err) != AB_OK) {
        fprintf(stderr, "bench_broker: FAILED: %s\n", err);
        return 1;
    }
    return 0;
}
