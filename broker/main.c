/*
 * main.c: agentbusd's command line. Parses options, then hands over to
 * broker.c. Exit codes: 0 clean shutdown, 1 could not start, 2 bad usage.
 */
#include "broker.h"
#include "common.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
    fprintf(out,
"usage: agentbusd --registry FILE --host NAME [options]\n"
"\n"
"Per-host ZeroMQ broker: binds every service port of the registry, accepts\n"
"unchanged REQ/DEALER clients and forwards to the REP agents listed as\n"
"backends. Every request gets exactly one reply: the agent's, or a JSON error.\n"
"\n"
"  -r, --registry FILE    registry file (or $AGENTBUS_REGISTRY)\n"
"  -H, --host NAME        this broker's host name in the registry\n"
"                         (or $AGENTBUS_HOST)\n"
"      --bind ADDR        address service ports are bound on (default *)\n"
"      --drain-ms N       on SIGTERM, how long pending requests may finish\n"
"                         (default %d)\n"
"      --io-batch N       messages read per socket per loop turn (default %d)\n"
"      --max-requests N   requests held at once, all services (default %d)\n"
"      --linger-ms N      how long final replies may flush at exit (default %d)\n"
"      --max-memory BYTES bytes of requests and partial messages held, all\n"
"                         services (default %llu); beyond it new requests get\n"
"                         overloaded and the largest partial messages are cut\n"
"      --guard-ms N       how often connections are checked for partial\n"
"                         messages (default %d)\n"
"      --partial-ms N     how long a message (or a handshake) may take to\n"
"                         arrive whole before its connection is cut (default %d)\n"
"      --reconnect-max-ms N  longest wait between connects to an absent\n"
"                         backend; waits double from 100 ms (default %d)\n"
"      --log-level LVL    debug, info, warn or error (default info)\n"
"      --secret-key FILE  this host's CURVE key file for the links between\n"
"                         brokers (or $AGENTBUS_SECRET_KEY_FILE; make one\n"
"                         with: agentbus keygen NAME). Required when the\n"
"                         registry has other hosts and this one has a link:\n"
"                         or fronts a service hosted elsewhere. Refused at\n"
"                         start (and on SIGHUP) if missing, readable by\n"
"                         group/others, malformed or not this host's\n"
"                         public_key in the registry\n"
"      --link-bind ADDR   address the link server binds the port of this\n"
"                         host's link: on (default *; the link: itself is\n"
"                         what other hosts dial, which behind NAT or a\n"
"                         published container port is not a local address)\n"
"      --link-plaintext   links without CURVE: NOT encrypted, NOT\n"
"                         authenticated (any host may pose as any other).\n"
"                         For labs only; logged as a warning at start and\n"
"                         on every link\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n"
"\n"
"Statistics, HTTP endpoint and Redis push (docs/stats.md):\n"
"      --stats-interval MS  histogram slice and Redis push period\n"
"                         (default %d; 0: latency histograms and Redis off)\n"
"      --stats-window MS  window of p50/p99/rps (default %d, %d slices max)\n"
"      --http ADDR:PORT   serve /, /healthz, /readyz, /metrics, /stats.json;\n"
"                         'off' disables it, port 0 picks one (default\n"
"                         $AGENTBUS_HTTP, else %s)\n"
"      --http-max-conns N  HTTP connections at once (default %d)\n"
"      --http-timeout-ms N  a request must complete within N ms of its\n"
"                         connection opening or previous request (default %d)\n"
"      --http-max-header-bytes N  request line and headers (default %d)\n"
"      --redis URL        push to redis://[USER@]HOST[:PORT][/DB] (or\n"
"                         $AGENTBUS_REDIS); the password comes from\n"
"                         $AGENTBUS_REDIS_PASSWORD or --redis-password-file\n"
"      --redis-password-file FILE  the Redis password (first line of FILE)\n"
"      --redis-stream-len N  points kept per service stream (default %d)\n"
"      --redis-timeout-ms N  connect and reply deadline (default %d)\n"
"\n"
"Signals: SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the registry and the\n"
"key file (a bad one is rejected and the old ones keep serving); SIGUSR1 logs\n"
"statistics of services and links.\n"
"Check a registry first with: agentbus check FILE\n",
            BROKER_DEFAULT_DRAIN_MS, BROKER_DEFAULT_IO_BATCH,
            BROKER_DEFAULT_MAX_REQUESTS, BROKER_DEFAULT_LINGER_MS,
            (unsigned long long)BROKER_DEFAULT_MAX_MEMORY, BROKER_DEFAULT_GUARD_MS,
            BROKER_DEFAULT_PARTIAL_MS, BROKER_DEFAULT_RECONNECT_MAX_MS,
            OBS_DEFAULT_STATS_INTERVAL_MS, OBS_DEFAULT_STATS_WINDOW_MS,
            STATS_MAX_SLICES, OBS_DEFAULT_HTTP, OBS_DEFAULT_HTTP_MAX_CONNS,
            OBS_DEFAULT_HTTP_TIMEOUT_MS, OBS_DEFAULT_HTTP_MAX_HEADER_BYTES,
            OBS_DEFAULT_REDIS_STREAM_LEN, OBS_DEFAULT_REDIS_TIMEOUT_MS);
}

/* Parse a decimal integer in [min, max]. */
static int parse_int(const char *opt, const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max) {
        fprintf(stderr, "agentbusd: %s: '%s' is not a whole number in %ld..%ld\n",
                opt, s, min, max);
        return AB_ERR;
    }
    *out = v;
    return AB_OK;
}

enum {
    OPT_BIND = 256, OPT_DRAIN, OPT_BATCH, OPT_MAXREQ, OPT_LINGER, OPT_MAXMEM,
    OPT_GUARD, OPT_PARTIAL, OPT_RECONNECT, OPT_LOG, OPT_SECRET_KEY, OPT_PLAINTEXT, OPT_LINK_BIND,
    /* statistics (obs_opts) */
    OPT_INTERVAL, OPT_WINDOW, OPT_HTTP, OPT_HTTP_CONNS, OPT_HTTP_TIMEOUT,
    OPT_HTTP_HEADER, OPT_REDIS, OPT_REDIS_PWFILE, OPT_REDIS_STREAM, OPT_REDIS_TIMEOUT
};

static const struct option long_opts[] = {
    {"registry", required_argument, NULL, 'r'},
    {"host", required_argument, NULL, 'H'},
    {"bind", required_argument, NULL, OPT_BIND},
    {"drain-ms", required_argument, NULL, OPT_DRAIN},
    {"io-batch", required_argument, NULL, OPT_BATCH},
    {"max-requests", required_argument, NULL, OPT_MAXREQ},
    {"linger-ms", required_argument, NULL, OPT_LINGER},
    {"max-memory", required_argument, NULL, OPT_MAXMEM},
    {"guard-ms", required_argument, NULL, OPT_GUARD},
    {"partial-ms", required_argument, NULL, OPT_PARTIAL},
    {"reconnect-max-ms", required_argument, NULL, OPT_RECONNECT},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"secret-key", required_argument, NULL, OPT_SECRET_KEY},
    {"link-plaintext", no_argument, NULL, OPT_PLAINTEXT},
    {"link-bind", required_argument, NULL, OPT_LINK_BIND},
    {"stats-interval", required_argument, NULL, OPT_INTERVAL},
    {"stats-window", required_argument, NULL, OPT_WINDOW},
    {"http", required_argument, NULL, OPT_HTTP},
    {"http-max-conns", required_argument, NULL, OPT_HTTP_CONNS},
    {"http-timeout-ms", required_argument, NULL, OPT_HTTP_TIMEOUT},
    {"http-max-header-bytes", required_argument, NULL, OPT_HTTP_HEADER},
    {"redis", required_argument, NULL, OPT_REDIS},
    {"redis-password-file", required_argument, NULL, OPT_REDIS_PWFILE},
    {"redis-stream-len", required_argument, NULL, OPT_REDIS_STREAM},
    {"redis-timeout-ms", required_argument, NULL, OPT_REDIS_TIMEOUT},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* A numeric option: its name, range, and where it goes. */
typedef struct num_opt {
    int id;
    const char *name;
    long min, max;
    size_t off;   /* in broker_opts */
    int size;     /* sizeof the field: int or unsigned, else size_t,
                     long or uint64_t (every value is >= 0) */
} num_opt;

#define NUM_OPT(id, name, min, max, field)                                 \
    {id, name, min, max, offsetof(broker_opts, field),                     \
     (int)sizeof(((broker_opts *)0)->field)}

static const num_opt num_opts[] = {
    NUM_OPT(OPT_DRAIN, "--drain-ms", 0, 3600000, drain_ms),
    NUM_OPT(OPT_BATCH, "--io-batch", 1, 100000, io_batch),
    NUM_OPT(OPT_MAXREQ, "--max-requests", 1, 100000000, max_requests),
    NUM_OPT(OPT_LINGER, "--linger-ms", 0, 600000, linger_ms),
    NUM_OPT(OPT_MAXMEM, "--max-memory", 1L << 20, 1L << 40, max_memory),
    NUM_OPT(OPT_GUARD, "--guard-ms", 10, 60000, guard_ms),
    NUM_OPT(OPT_PARTIAL, "--partial-ms", 100, 3600000, partial_ms),
    NUM_OPT(OPT_RECONNECT, "--reconnect-max-ms", 100, 3600000, reconnect_max_ms),
    NUM_OPT(OPT_INTERVAL, "--stats-interval", 0, 60000, obs.stats_interval_ms),
    NUM_OPT(OPT_WINDOW, "--stats-window", 1, 3600000, obs.stats_window_ms),
    NUM_OPT(OPT_HTTP_CONNS, "--http-max-conns", 1, 10000, obs.http.max_conns),
    NUM_OPT(OPT_HTTP_TIMEOUT, "--http-timeout-ms", 100, 3600000, obs.http.timeout_ms),
    NUM_OPT(OPT_HTTP_HEADER, "--http-max-header-bytes", 4096, 1048576,
            obs.http.max_header_bytes),
    NUM_OPT(OPT_REDIS_STREAM, "--redis-stream-len", 1, 10000000, obs.redis_stream_len),
    NUM_OPT(OPT_REDIS_TIMEOUT, "--redis-timeout-ms", 10, 600000, obs.redis.timeout_ms),
};

/* Apply one numeric option. */
static int set_number(broker_opts *o, int opt, const char *arg)
{
    for (size_t i = 0; i < AB_ARRAY_LEN(num_opts); i++) {
        const num_opt *n = &num_opts[i];
        long v;
        if (n->id != opt)
            continue;
        if (parse_int(n->name, arg, n->min, n->max, &v) != AB_OK)
            return AB_ERR;
        char *field = (char *)o + n->off;
        if (n->size == sizeof(int))
            *(int *)(void *)field = (int)v;
        else
            *(uint64_t *)(void *)field = (uint64_t)v;
        return AB_OK;
    }
    return AB_ERR;
}

/* Returns AB_OK to run, AB_ERR for bad usage, 1 when --help/--version
 * already answered. */
static int parse_args(int argc, char **argv, broker_opts *o)
{
    int opt;
    log_level level;
    while ((opt = getopt_long(argc, argv, "r:H:hV", long_opts, NULL)) != -1) {
        switch (opt) {
        case 'r': o->registry_path = optarg; break;
        case 'H': o->host = optarg; break;
        case OPT_BIND: o->bind_address = optarg; break;
        case OPT_SECRET_KEY: o->secret_key = optarg; break;
        case OPT_PLAINTEXT: o->link_plaintext = 1; break;
        case OPT_LINK_BIND: o->link_bind = optarg; break;
        case OPT_HTTP: o->obs.http.listen = optarg; break;
        case OPT_REDIS: o->obs.redis.url = optarg; break;
        case OPT_REDIS_PWFILE: o->obs.redis.password_file = optarg; break;
        case OPT_LOG:
            if (log_parse_level(optarg, &level) != AB_OK) {
                fprintf(stderr, "agentbusd: --log-level: '%s' is not debug, info, "
                        "warn or error\n", optarg);
                return AB_ERR;
            }
            log_set_level(level);
            break;
        case 'h': usage(stdout); return 1;
        case 'V': printf("agentbusd %s\n", AB_VERSION); return 1;
        case '?': return AB_ERR;
        default:
            if (set_number(o, opt, optarg) != AB_OK)
                return AB_ERR;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "agentbusd: unexpected argument '%s'\n", argv[optind]);
        return AB_ERR;
    }
    return AB_OK;
}

static int require_opts(const broker_opts *o)
{
    if (!o->registry_path || !o->host) {
        fprintf(stderr, "agentbusd: %s is required\n",
                !o->registry_path ? "--registry FILE" : "--host NAME");
        return AB_ERR;
    }
    if (o->obs.redis.url && o->obs.stats_interval_ms == 0) {
        fprintf(stderr, "agentbusd: --redis needs statistics (--stats-interval > 0)\n");
        return AB_ERR;
    }
    return AB_OK;
}

/* Containers configure through the environment; options still win. */
static void env_defaults(obs_opts *o)
{
    const char *http = getenv("AGENTBUS_HTTP"), *redis = getenv("AGENTBUS_REDIS");
    if (http && *http)
        o->http.listen = http;
    if (redis && *redis)
        o->redis.url = redis;
}

int main(int argc, char **argv)
{
    broker_opts o = {
        .registry_path = getenv("AGENTBUS_REGISTRY"),
        .host = getenv("AGENTBUS_HOST"),
        .bind_address = "*",
        .link_bind = "*",
        .drain_ms = BROKER_DEFAULT_DRAIN_MS,
        .io_batch = BROKER_DEFAULT_IO_BATCH,
        .max_requests = BROKER_DEFAULT_MAX_REQUESTS,
        .linger_ms = BROKER_DEFAULT_LINGER_MS,
        .max_memory = BROKER_DEFAULT_MAX_MEMORY,
        .guard_ms = BROKER_DEFAULT_GUARD_MS,
        .partial_ms = BROKER_DEFAULT_PARTIAL_MS,
        .reconnect_max_ms = BROKER_DEFAULT_RECONNECT_MAX_MS,
        .secret_key = getenv("AGENTBUS_SECRET_KEY_FILE"),
    };
    obs_opts_default(&o.obs);
    env_defaults(&o.obs);
    int rc = parse_args(argc, argv, &o);
    if (rc == 1)
        return 0;
    if (rc != AB_OK || require_opts(&o) != AB_OK) {
        fprintf(stderr, "Try 'agentbusd --help'.\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    broker br;
    char err[16384];
    log_info("start agentbusd %s host=%s registry=%s pid=%ld", AB_VERSION, o.host,
             o.registry_path, (long)getpid());
    if (broker_init(&br, uv_default_loop(), &o, err, sizeof err) != AB_OK) {
        log_lines(LOG_ERROR, "startup failed: ", err);
        broker_free(&br);
        return 1;
    }
    rc = broker_run(&br);
    uv_loop_close(uv_default_loop());
    return rc;
}
