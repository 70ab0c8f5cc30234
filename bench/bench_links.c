/*
 * bench_links.c: the two ends of the cross-host benchmark (bench/links.py
 * runs them inside network namespaces and compares the paths).
 *
 *   bench_links agent --bind EP [--curve-secret Z85]
 *       a REP echo agent, as users write them (one request at a time);
 *       with --curve-secret, a CURVE server (every client key admitted:
 *       the baseline has no ZAP handler, as agents today have none)
 *   bench_links client --connect EP --body FILE [--server-key Z85]
 *                      [--per-request] [--clients N]
 *                      (--requests N | --seconds S) [--timeout-ms N]
 *       N REQ clients on threads sending FILE's bytes and checking each
 *       reply is the same bytes. --per-request opens, connects and closes
 *       a socket for every request (what agents do today), else each
 *       client keeps one. With --server-key the sockets are CURVE
 *       clients. Prints one line of JSON: requests, errors, p50_us,
 *       p99_us, rps.
 *
 * Any reply that is not the body (an error reply, a timeout) is counted
 * in `errors`; bench/links.py refuses a run that has any.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#define MAX_CLIENTS 256
#define MAX_BODY (1 << 20)
#define KEY_LEN 41 /* Z85 of a CURVE key, NUL included */

typedef struct opts {
    const char *endpoint;
    const char *secret;      /* agent: CURVE server secret key */
    const char *server_key;  /* client: CURVE server public key */
    int per_request;
    int clients;
    long requests;           /* per client; 0: run for `seconds` */
    double seconds;
    int timeout_ms;
    char *body;
    size_t body_len;
} opts;

typedef struct client {
    pthread_t thread;
    const opts *o;
    void *ctx;
    char pub[KEY_LEN], sec[KEY_LEN];
    double *lat_us;          /* one per request made */
    long n, cap, errors;
    double stop_at;
} client;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what)
{
    fprintf(stderr, "bench_links: %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

/* ---------------------------------------------------------------- agent -- */

static int run_agent(const opts *o)
{
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REP);
    int one = 1;
    if (o->secret && (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) ||
                      zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, o->secret, 40)))
        die("CURVE options");
    if (zmq_bind(s, o->endpoint) != 0)
        die(o->endpoint);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        zmq_msg_t m;
        int more;
        do { /* echo every frame of the request */
            zmq_msg_init(&m);
            if (zmq_msg_recv(&m, s, 0) < 0)
                die("recv");
            more = zmq_msg_more(&m);
            if (zmq_msg_send(&m, s, more ? ZMQ_SNDMORE : 0) < 0)
                die("send");
        } while (more);
    }
}

/* --------------------------------------------------------------- client -- */

static void *open_req(client *c)
{
    void *s = zmq_socket(c->ctx, ZMQ_REQ);
    int zero = 0;
    if (!s)
        die("socket");
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &c->o->timeout_ms, sizeof c->o->timeout_ms);
    if (c->o->server_key &&
        (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, c->o->server_key, 40) ||
         zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, c->pub, 40) ||
         zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, c->sec, 40)))
        die("CURVE options");
    if (zmq_connect(s, c->o->endpoint) != 0)
        die(c->o->endpoint);
    return s;
}

/* One request on s; 1 when the reply is the body. */
static int roundtrip(client *c, void *s)
{
    char buf[MAX_BODY + 1];
    if (zmq_send(s, c->o->body, c->o->body_len, 0) < 0)
        return 0;
    int n = zmq_recv(s, buf, sizeof buf, 0);
    return n == (int)c->o->body_len && memcmp(buf, c->o->body, c->o->body_len) == 0;
}

static void record(client *c, double us)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 4096;
        c->lat_us = realloc(c->lat_us, (size_t)c->cap * sizeof *c->lat_us);
        if (!c->lat_us)
            die("out of memory");
    }
    c->lat_us[c->n++] = us;
}

static int more_to_do(const client *c)
{
    return c->o->requests ? c->n + c->errors < c->o->requests : now_s() < c->stop_at;
}

static void *client_main(void *arg)
{
    client *c = arg;
    void *s = c->o->per_request ? NULL : open_req(c);
    while (more_to_do(c)) {
        double t0 = now_s();
        void *use = s ? s : open_req(c);
        int ok = roundtrip(c, use);
        if (!s)
            zmq_close(use);
        if (ok) {
            record(c, (now_s() - t0) * 1e6);
        } else {
            c->errors++;
            if (s) { /* a REQ without its reply is stuck: start again */
                zmq_close(s);
                s = open_req(c);
            }
        }
    }
    if (s)
        zmq_close(s);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, long n, double p)
{
    if (n == 0)
        return 0;
    long i = (long)(p / 100.0 * (double)n + 0.5) - 1;
    return v[i < 0 ? 0 : i >= n ? n - 1 : i];
}

static int run_clients(const opts *o)
{
    static client cs[MAX_CLIENTS];
    void *ctx = zmq_ctx_new();
    double t0 = now_s();
    long total = 0, errors = 0;
    for (int i = 0; i < o->clients; i++) {
        cs[i] = (client){.o = o, .ctx = ctx, .stop_at = t0 + o->seconds};
        if (zmq_curve_keypair(cs[i].pub, cs[i].sec) != 0)
            die("zmq_curve_keypair");
        if (pthread_create(&cs[i].thread, NULL, client_main, &cs[i]) != 0)
            die("pthread_create");
    }
    for (int i = 0; i < o->clients; i++) {
        pthread_join(cs[i].thread, NULL);
        total += cs[i].n;
        errors += cs[i].errors;
    }
    double elapsed = now_s() - t0;
    double *all = malloc((size_t)(total ? total : 1) * sizeof *all);
    long k = 0;
    for (int i = 0; i < o->clients; i++) {
        memcpy(all + k, cs[i].lat_us, (size_t)cs[i].n * sizeof *all);
        k += cs[i].n;
        free(cs[i].lat_us);
    }
    qsort(all, (size_t)total, sizeof *all, cmp_double);
    printf("{\"requests\": %ld, \"errors\": %ld, \"p50_us\": %.1f, \"p99_us\": %.1f, "
           "\"rps\": %.1f}\n", total, errors, pct(all, total, 50), pct(all, total, 99),
           (double)total / elapsed);
    free(all);
    zmq_ctx_term(ctx);
    return 0;
}

/* ---------------------------------------------------------------- main -- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = malloc(MAX_BODY);
    if (!f || !buf) {
        fprintf(stderr, "bench_links: cannot read %s\n", path);
        exit(2);
    }
    *len = fread(buf, 1, MAX_BODY, f);
    fclose(f);
    return buf;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_links agent --bind EP [--curve-secret Z85]\n"
            "       bench_links client --connect EP --body FILE [--server-key Z85]\n"
            "                   [--per-request] [--clients N] (--requests N | --seconds S)\n"
            "                   [--timeout-ms N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"bind", required_argument, NULL, 'b'},
        {"connect", required_argument, NULL, 'c'},
        {"curve-secret", required_argument, NULL, 's'},
        {"server-key", required_argument, NULL, 'k'},
        {"per-request", no_argument, NULL, 'p'},
        {"clients", required_argument, NULL, 'n'},
        {"requests", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 't'},
        {"timeout-ms", required_argument, NULL, 'T'},
        {"body", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0},
    };
    opts o = {.clients = 1, .timeout_ms = 10000};
    int c;
    if (argc < 2)
        usage();
    while ((c = getopt_long(argc - 1, argv + 1, "", lo, NULL)) != -1) {
        switch (c) {
        case 'b': case 'c': o.endpoint = optarg; break;
        case 's': o.secret = optarg; break;
        case 'k': o.server_key = optarg; break;
        case 'p': o.per_request = 1; break;
        case 'n': o.clients = atoi(optarg); break;
        case 'r': o.requests = atol(optarg); break;
        case 't': o.seconds = atof(optarg); break;
        case 'T': o.timeout_ms = atoi(optarg); break;
        case 'B': o.body = read_file(optarg, &o.body_len); break;
        default: usage();
        }
    }
    if (!o.endpoint || o.clients < 1 || o.clients > MAX_CLIENTS)
        usage();
    if (strcmp(argv[1], "agent") == 0)
        return run_agent(&o);
    if (strcmp(argv[1], "client") != 0 || !o.body || (!o.requests && o.seconds <= 0))
        usage();
    return run_clients(&o);
}
