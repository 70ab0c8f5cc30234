/*
 * probe.c: drives client/agentbus.h for the pytest suite in this folder,
 * which starts the real agentbusd and real pyzmq agents around it. Built
 * twice by CMake, as C99 (ab_probe) and as C++11 (ab_probe_cxx, from
 * probe.cpp), both under -pedantic -Werror, so the header is exercised
 * end to end in both languages.
 *
 *   ab_probe [--registry FILE] [--broker HOST] [--shared-ctx] COMMAND ...
 *     calls TARGET      one client; each stdin line "TIMEOUT_MS RETRIES
 *                       HEX.HEX..." is one call (a frame per hex run,
 *                       RETRIES > 0 marks it idempotent); prints one JSON
 *                       line per call
 *     threads TARGET N M  N threads, each with its own client, M calls
 *                       each to an echo agent; every reply is checked
 *     worker TARGET     serve: reply ["worker", request frames...]; a
 *                       request ["stop-worker"] or SIGTERM ends it
 *     decode HEX        what the header makes of a broker error body
 *     lookup NAME       ab_registry_lookup, as JSON
 *
 * Exit status 0 when the command ran (the JSON says how calls went), 1 on
 * a failed check, 2 on a usage error.
 */
#define AGENTBUS_IMPLEMENTATION
#include "agentbus.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 64
#define LINE_MAX_BYTES (64u << 20)

typedef struct probe {
    ab_options opts;
    int shared;              /* --shared-ctx: one context for all clients */
} probe;

/* ------------------------------------------------------------ output -- */

static void json_str(const char *s, size_t n)
{
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_hex(const void *data, size_t n)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i;
    putchar('"');
    for (i = 0; i < n; i++)
        printf("%02x", p[i]);
    putchar('"');
}

/* {"rc":NAME,...}: the frames of a reply, or the error's fields. */
static void print_result(int rc, const ab_msg *reply, const ab_error *err,
                         unsigned long dropped)
{
    size_t i;
    printf("{\"rc\":");
    json_str(ab_code_name(rc), strlen(ab_code_name(rc)));
    printf(",\"dropped\":%lu", dropped);
    if (rc == AB_OK) {
        printf(",\"frames\":[");
        for (i = 0; i < reply->nframes; i++) {
            printf(i ? "," : "");
            json_hex(reply->frames[i].data, reply->frames[i].size);
        }
        printf("]");
    } else {
        printf(",\"code\":%d,\"from_broker\":%d,\"name\":", err->code, err->from_broker);
        json_str(err->name, strlen(err->name));
        printf(",\"service\":");
        json_str(err->service, strlen(err->service));
        printf(",\"message\":");
        json_str(err->message, strlen(err->message));
    }
    printf("}\n");
    fflush(stdout);
}

/* ------------------------------------------------------------- input -- */

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode hex runs separated by '.' in place; frames point into s. */
static int parse_frames(char *s, ab_frame *frames, size_t max, size_t *n)
{
    *n = 0;
    for (;;) {
        char *end = s + strcspn(s, ".");
        unsigned char *out = (unsigned char *)s;
        size_t len = (size_t)(end - s), i;
        int last = *end == '\0';
        if (*n >= max || len % 2)
            return -1;
        for (i = 0; i < len / 2; i++) {
            int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
            if (hi < 0 || lo < 0)
                return -1;
            out[i] = (unsigned char)(hi * 16 + lo);
        }
        frames[*n].data = s;
        frames[(*n)++].size = len / 2;
        if (last)
            return 0;
        s = end + 1;
    }
}

/* One stdin line, without its newline, in a buffer grown as needed. */
static char *read_line(char **buf, size_t *cap)
{
    size_t n = 0;
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
        if (n + 1 >= *cap) {
            char *bigger;
            if (*cap >= LINE_MAX_BYTES)
                return NULL;
            bigger = (char *)realloc(*buf, *cap * 2);
            if (!bigger)
                return NULL;
            *buf = bigger;
            *cap *= 2;
        }
        (*buf)[n++] = (char)c;
    }
    if (c == EOF && n == 0)
        return NULL;
    (*buf)[n] = '\0';
    return *buf;
}

/* ------------------------------------------------------------- calls -- */

/* "TIMEOUT RETRIES HEX..." -> one call on c, printed. */
static int one_call(ab_client *c, char *line, ab_frame *frames)
{
    ab_call_opts o;
    ab_msg reply;
    ab_error err;
    char *hex;
    size_t n;
    int rc;
    o.timeout_ms = (int)strtol(line, &hex, 10);
    o.retries = (int)strtol(hex, &hex, 10);
    o.idempotent = o.retries > 0;
    if (*hex != ' ' || parse_frames(hex + 1, frames, AB_MAX_FRAMES + 1, &n) != 0) {
        fprintf(stderr, "probe: bad call line\n");
        return 2;
    }
    rc = ab_callv(c, frames, n, &o, &reply, &err);
    if (rc != AB_OK && reply.nframes != 0) {
        fprintf(stderr, "probe: a failed call left frames in the reply\n");
        rc = -1;
    }
    print_result(rc, &reply, &err, ab_client_dropped(c));
    ab_msg_free(&reply);
    return rc < 0 ? 1 : 0;
}

static int cmd_calls(probe *p, const char *target)
{
    ab_error err;
    ab_client *c = ab_client_open(target, &p->opts, &err);
    ab_frame *frames = (ab_frame *)malloc((AB_MAX_FRAMES + 1) * sizeof *frames);
    size_t cap = 4096;
    char *buf = (char *)malloc(cap), *line;
    int rc = 0;
    if (!c)
        print_result(err.code, NULL, &err, 0);
    while (c && frames && buf && rc == 0 && (line = read_line(&buf, &cap)) != NULL)
        rc = one_call(c, line, frames);
    ab_client_close(c);
    free(frames);
    free(buf);
    return rc;
}

/* ----------------------------------------------------------- threads -- */

typedef struct call_thread {
    pthread_t tid;
    const probe *p;
    const char *target;
    int id, calls;
    int ok;
    char first_error[600];
} call_thread;

/* One echo call with a body no other thread or call sends; 1 if the reply
 * is exactly the request. */
static int echo_call(ab_client *c, int id, int i, ab_error *err)
{
    char a[32], b[32];
    ab_frame f[2];
    ab_msg reply;
    ab_call_opts o = {30000, 0, 0};
    int good;
    sprintf(a, "thread-%d", id);
    sprintf(b, "call-%d", i);
    f[0].data = a, f[0].size = strlen(a);
    f[1].data = b, f[1].size = strlen(b);
    if (ab_callv(c, f, 2, &o, &reply, err) != AB_OK)
        return 0;
    good = reply.nframes == 2 && reply.frames[0].size == f[0].size &&
           reply.frames[1].size == f[1].size &&
           memcmp(reply.frames[0].data, a, f[0].size) == 0 &&
           memcmp(reply.frames[1].data, b, f[1].size) == 0;
    if (!good)
        sprintf(err->message, "thread %d call %d: a reply that is not its own", id, i);
    ab_msg_free(&reply);
    return good;
}

static void *thread_main(void *arg)
{
    call_thread *t = (call_thread *)arg;
    ab_error err;
    ab_client *c = ab_client_open(t->target, &t->p->opts, &err);
    int i;
    for (i = 0; c && i < t->calls; i++) {
        if (echo_call(c, t->id, i, &err))
            t->ok++;
        else if (!t->first_error[0])
            sprintf(t->first_error, "%.590s", err.message);
    }
    if (!c)
        sprintf(t->first_error, "%.590s", err.message);
    ab_client_close(c);
    return NULL;
}

static int cmd_threads(probe *p, const char *target, int n, int calls)
{
    call_thread *t = (call_thread *)calloc((size_t)n, sizeof *t);
    int i, ok = 0, started = 0;
    const char *first = "";
    if (!t || n < 1 || n > MAX_THREADS || calls < 1) {
        free(t);
        return 2;
    }
    for (i = 0; i < n; i++) {
        t[i].p = p, t[i].target = target, t[i].id = i, t[i].calls = calls;
        if (pthread_create(&t[i].tid, NULL, thread_main, &t[i]) != 0)
            break;
        started++;
    }
    for (i = 0; i < started; i++) {
        pthread_join(t[i].tid, NULL);
        ok += t[i].ok;
        if (!first[0])
            first = t[i].first_error;
    }
    printf("{\"threads\":%d,\"calls\":%d,\"ok\":%d,\"first_error\":", started, calls, ok);
    json_str(first, strlen(first));
    printf("}\n");
    free(t);
    return 0;
}

/* ------------------------------------------------------------ worker -- */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int serve(void *user, const ab_msg *request, ab_msg *reply)
{
    size_t i;
    int rc = ab_msg_add(reply, "worker", 6);
    for (i = 0; i < request->nframes && rc == AB_OK; i++)
        rc = ab_msg_add(reply, request->frames[i].data, request->frames[i].size);
    ++*(unsigned long *)user;
    return request->nframes == 1 && request->frames[0].size == 11 &&
           memcmp(request->frames[0].data, "stop-worker", 11) == 0;
}

static int cmd_worker(probe *p, const char *target)
{
    unsigned long served = 0;
    ab_error err;
    ab_worker *w;
    int rc;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    if (!(w = ab_worker_open(target, &p->opts, &err))) {
        print_result(err.code, NULL, &err, 0);
        return 0;
    }
    printf("{\"ready\":");
    json_str(ab_worker_endpoint(w), strlen(ab_worker_endpoint(w)));
    printf("}\n");
    fflush(stdout);
    rc = ab_worker_run(w, serve, &served, &stop_flag, &err);
    ab_worker_close(w);
    printf("{\"served\":%lu,\"signalled\":%d,\"rc\":", served, (int)stop_flag);
    json_str(ab_code_name(rc), strlen(ab_code_name(rc)));
    printf("}\n");
    return 0;
}

/* ------------------------------------------------------ decode, lookup -- */

static int cmd_decode(char *hex)
{
    ab_frame f;
    size_t n;
    ab_msg m;
    ab_error err;
    int rc;
    memset(&m, 0, sizeof m);
    if (parse_frames(hex, &f, 1, &n) != 0 || ab_msg_add(&m, f.data, f.size) != AB_OK)
        return 2;
    rc = ab__broker_error(&m, &err);
    print_result(rc, NULL, &err, 0);
    ab_msg_free(&m);
    return 0;
}

static int cmd_lookup(probe *p, const char *name)
{
    ab_service_info *info = (ab_service_info *)malloc(sizeof *info);
    ab_error err;
    size_t i;
    if (!info)
        return 1;
    if (ab_registry_lookup(p->opts.registry, name, info, &err) != AB_OK) {
        print_result(err.code, NULL, &err, 0);
    } else {
        printf("{\"rc\":\"ok\",\"name\":");
        json_str(info->name, strlen(info->name));
        printf(",\"port\":%d,\"backends\":[", info->port);
        for (i = 0; i < info->nbackends; i++) {
            printf(i ? "," : "");
            json_str(info->backends[i], strlen(info->backends[i]));
        }
        printf("]}\n");
    }
    free(info);
    return 0;
}

/* -------------------------------------------------------------- main -- */

static int run(probe *p, int argc, char **argv)
{
    const char *cmd = argv[0];
    if (argc == 2 && strcmp(cmd, "calls") == 0)
        return cmd_calls(p, argv[1]);
    if (argc == 4 && strcmp(cmd, "threads") == 0)
        return cmd_threads(p, argv[1], atoi(argv[2]), atoi(argv[3]));
    if (argc == 2 && strcmp(cmd, "worker") == 0)
        return cmd_worker(p, argv[1]);
    if (argc == 2 && strcmp(cmd, "decode") == 0)
        return cmd_decode(argv[1]);
    if (argc == 2 && strcmp(cmd, "lookup") == 0)
        return cmd_lookup(p, argv[1]);
    fprintf(stderr, "usage: ab_probe [--registry F] [--broker H] [--shared-ctx] "
                    "calls|threads|worker|decode|lookup ARGS\n");
    return 2;
}

int main(int argc, char **argv)
{
    probe p;
    int i = 1, rc;
    memset(&p, 0, sizeof p);
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--shared-ctx") == 0)
            p.shared = 1;
        else if (strcmp(argv[i], "--registry") == 0 && i + 1 < argc)
            p.opts.registry = argv[++i];
        else if (strcmp(argv[i], "--broker") == 0 && i + 1 < argc)
            p.opts.broker = argv[++i];
        else
            return run(&p, 0, argv);
    }
    if (i >= argc)
        return run(&p, 0, argv);
    if (p.shared && !(p.opts.zmq_ctx = zmq_ctx_new()))
        return 1;
    rc = run(&p, argc - i, argv + i);
    if (p.opts.zmq_ctx)
        zmq_ctx_term(p.opts.zmq_ctx);
    return rc;
}
