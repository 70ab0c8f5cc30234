/*
 * cli_fleet.c: fetching, parsing and rendering snapshots for `agentbus top`
 * and `agentbus stats` (see cli_fleet.h). JSON is read with the proto/
 * codec (JSON -> msgpack) and msgpack-c's object tree.
 */
#include "cli_fleet.h"

#include "cli_http.h"
#include "common.h"
#include "redis_target.h"
#include "transcode.h"

#include <hiredis/hiredis.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOSTS_KEY "agentbus:hosts"
#define MAX_HOSTS 4096

/* ------------------------------------------------------------ sources -- */

static int add_doc(fleet *f, const char *doc, size_t len)
{
    char **docs = realloc(f->docs, (f->ndocs + 1) * sizeof *docs);
    size_t *lens = docs ? realloc(f->doclens, (f->ndocs + 1) * sizeof *lens) : NULL;
    if (docs)
        f->docs = docs;
    if (lens)
        f->doclens = lens;
    char *copy = lens ? strndup(doc, len) : NULL;
    if (!copy)
        return AB_ERR;
    f->docs[f->ndocs] = copy;
    f->doclens[f->ndocs++] = len;
    return AB_OK;
}

static int fetch_http(const fleet_source *src, fleet *f, char *err, size_t errlen)
{
    int status;
    char *body;
    size_t len;
    if (cli_http_get(src->http, "/stats.json", src->timeout_ms, &status, &body, &len, err,
                     errlen) != AB_OK)
        return AB_ERR;
    int rc = status == 200 ? add_doc(f, body, len)
                           : ab_seterr(err, errlen, "%s/stats.json: HTTP %d", src->http, status);
    free(body);
    return rc;
}

/* Run one command; a reply (caller frees) or NULL with err filled. */
static redisReply *command(redisContext *c, char *err, size_t errlen, int argc,
                           const char **argv)
{
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    if (!r)
        ab_seterr(err, errlen, "redis: %s", c->errstr);
    else if (r->type == REDIS_REPLY_ERROR) {
        ab_seterr(err, errlen, "redis %s: %s", argv[0], r->str);
        freeReplyObject(r);
        r = NULL;
    }
    return r;
}

/* A command whose reply only matters for being an error. */
static int setup(redisContext *c, char *err, size_t errlen, int argc, const char **argv)
{
    redisReply *r = command(c, err, errlen, argc, argv);
    int rc = r ? AB_OK : AB_ERR;
    freeReplyObject(r);
    return rc;
}

static redisContext *redis_connect(const fleet_source *src, char *err, size_t errlen)
{
    redis_target t;
    char db[16];
    struct timeval tv = {src->timeout_ms / 1000, (src->timeout_ms % 1000) * 1000};
    if (redis_target_init(&t, src->redis, src->password_file, err, errlen) != AB_OK)
        return NULL;
    redisContext *c = redisConnectWithTimeout(t.host, t.port, tv);
    if (!c || c->err) {
        ab_seterr(err, errlen, "redis %s: %s", t.addr, c ? c->errstr : "out of memory");
        redisFree(c);
        redis_target_clear(&t);
        return NULL;
    }
    redisSetTimeout(c, tv);
    snprintf(db, sizeof db, "%d", t.db);
    const char *auth[] = {"AUTH", t.user[0] ? t.user : t.password, t.password};
    const char *sel[] = {"SELECT", db};
    int rc = t.password[0] ? setup(c, err, errlen, t.user[0] ? 3 : 2, auth) : AB_OK;
    if (rc == AB_OK && t.db)
        rc = setup(c, err, errlen, 2, sel);
    redis_target_clear(&t);
    if (rc != AB_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/* Every live host's snapshot: the host index, then one GET per host
 * (a host whose snapshot expired is gone). */
static int fetch_redis(const fleet_source *src, fleet *f, char *err, size_t errlen)
{
    redisContext *c = redis_connect(src, err, errlen);
    if (!c)
        return AB_ERR;
    const char *zr[] = {"ZRANGE", HOSTS_KEY, "0", "-1"};
    redisReply *hosts = command(c, err, errlen, 4, zr);
    int rc = hosts ? AB_OK : AB_ERR;
    for (size_t i = 0; hosts && i < hosts->elements && i < MAX_HOSTS && rc == AB_OK; i++) {
        char key[300];
        ab_strfmt(key, sizeof key, "agentbus:%s:snapshot", hosts->element[i]->str);
        const char *get[] = {"GET", key};
        redisReply *doc = command(c, err, errlen, 2, get);
        if (!doc)
            rc = AB_ERR;
        else if (doc->type == REDIS_REPLY_STRING)
            rc = add_doc(f, doc->str, doc->len);
        freeReplyObject(doc);
    }
    freeReplyObject(hosts);
    redisFree(c);
    return rc;
}

/* ------------------------------------------------------------ parsing -- */

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    size_t n = strlen(key);
    if (map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
            memcmp(k->via.str.ptr, key, n) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static double num(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = get(map, key);
    if (!o)
        return 0;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return (double)o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return (double)o->via.i64;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64: return o->via.f64;
    case MSGPACK_OBJECT_BOOLEAN: return o->via.boolean;
    default: return 0;
    }
}

static void str(const msgpack_object *map, const char *key, char *out, size_t len)
{
    const msgpack_object *o = get(map, key);
    if (o && o->type == MSGPACK_OBJECT_STR)
        snprintf(out, len, "%.*s", (int)o->via.str.size, o->via.str.ptr);
    else
        out[0] = '\0';
}

static fleet_row *new_row(fleet *f)
{
    fleet_row *rows = realloc(f->rows, (f->nrows + 1) * sizeof *rows);
    if (!rows)
        return NULL;
    f->rows = rows;
    memset(&rows[f->nrows], 0, sizeof rows[0]);
    return &rows[f->nrows++];
}

static void add_service(fleet *f, const char *host, const msgpack_object *s)
{
    fleet_row *r = new_row(f);
    if (!r)
        return;
    snprintf(r->host, sizeof r->host, "%s", host);
    str(s, "service", r->name, sizeof r->name);
    r->rps = num(s, "rps");
    r->eps = num(s, "eps");
    r->p50_us = num(s, "latency_p50_us");
    r->p99_us = num(s, "latency_p99_us");
    r->errors = (uint64_t)num(s, "errors");
    r->inflight = (uint64_t)num(s, "inflight");
    r->queued = (uint64_t)num(s, "queued");
}

/* A link row: its labels joined, its RTT quantiles. */
static void add_link(fleet *f, const char *host, const msgpack_object *l)
{
    char side[16];
    fleet_row *r = new_row(f);
    if (!r)
        return;
    snprintf(r->host, sizeof r->host, "%s", host);
    str(l, "link", r->name, sizeof r->name);
    str(l, "side", side, sizeof side); /* out: it dials; in: it serves */
    if (side[0])
        snprintf(r->name + strlen(r->name), sizeof r->name - strlen(r->name), " %s", side);
    r->link = 1;
    r->rps = num(l, "rps");
    r->eps = num(l, "eps");
    r->p50_us = num(l, "rtt_p50_us");
    r->p99_us = num(l, "rtt_p99_us");
    r->errors = (uint64_t)num(l, "errors");
    r->inflight = (uint64_t)num(l, "inflight");
}

static void add_array(fleet *f, const char *host, const msgpack_object *doc, const char *kind,
                      void (*add)(fleet *, const char *, const msgpack_object *))
{
    const msgpack_object *a = get(doc, kind);
    for (uint32_t i = 0; a && a->type == MSGPACK_OBJECT_ARRAY && i < a->via.array.size; i++)
        add(f, host, &a->via.array.ptr[i]);
}

static int add_host(fleet *f, const msgpack_object *doc)
{
    fleet_host *hs = realloc(f->hosts, (f->nhosts + 1) * sizeof *hs);
    if (!hs)
        return AB_ERR;
    f->hosts = hs;
    fleet_host *h = &hs[f->nhosts++];
    str(doc, "host", h->host, sizeof h->host);
    str(doc, "version", h->version, sizeof h->version);
    str(doc, "ready_reason", h->why, sizeof h->why);
    h->ready = num(doc, "ready") != 0;
    add_array(f, h->host, doc, "service", add_service);
    add_array(f, h->host, doc, "link", add_link);
    return AB_OK;
}

static int parse_doc(fleet *f, const char *json, size_t len)
{
    ab_buf mp;
    msgpack_unpacked u;
    size_t off = 0;
    int rc = AB_ERR;
    ab_buf_init(&mp, CLI_HTTP_MAX_BYTES);
    msgpack_unpacked_init(&u);
    if (ab_json_to_msgpack((const uint8_t *)json, len, &mp, NULL, NULL) == AB_TC_OK &&
        msgpack_unpack_next(&u, (const char *)mp.data, mp.len, &off) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_MAP)
        rc = add_host(f, &u.data);
    msgpack_unpacked_destroy(&u);
    ab_buf_free(&mp);
    return rc;
}

int fleet_fetch(const fleet_source *src, fleet *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    int rc = src->redis ? fetch_redis(src, f, err, errlen) : fetch_http(src, f, err, errlen);
    for (size_t i = 0; rc == AB_OK && i < f->ndocs; i++) {
        if (parse_doc(f, f->docs[i], f->doclens[i]) != AB_OK)
            ab_seterr(err, errlen, "a snapshot could not be parsed and is left out");
    }
    return rc;
}

void fleet_free(fleet *f)
{
    for (size_t i = 0; i < f->ndocs; i++)
        free(f->docs[i]);
    free(f->docs);
    free(f->doclens);
    free(f->hosts);
    free(f->rows);
    memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------ options -- */

int cli_fleet_option(int opt, const char *arg, fleet_source *src, fleet_sort *sort)
{
    char *end;
    long v;
    switch (opt) {
    case 'H': src->http = arg; return AB_OK;
    case 'R': src->redis = arg; return AB_OK;
    case 'P': src->password_file = arg; return AB_OK;
    case 'T':
        v = strtol(arg, &end, 10);
        if (*end || v < 10 || v > 600000)
            return AB_ERR;
        src->timeout_ms = (unsigned)v;
        return AB_OK;
    case 'S':
        if (strcmp(arg, "p99") == 0) *sort = SORT_P99;
        else if (strcmp(arg, "rps") == 0) *sort = SORT_RPS;
        else if (strcmp(arg, "errors") == 0) *sort = SORT_ERRORS;
        else if (strcmp(arg, "name") == 0) *sort = SORT_NAME;
        else return AB_ERR;
        return AB_OK;
    default: return AB_ERR;
    }
}

/* ------------------------------------------------------------ sorting -- */

static fleet_sort sort_by;

static int cmp_num(double a, double b) { return (a < b) - (a > b); } /* descending */

static int cmp_rows(const void *pa, const void *pb)
{
    const fleet_row *a = pa, *b = pb;
    int c = a->link - b->link; /* services first, then links */
    if (!c && sort_by == SORT_P99)
        c = cmp_num(a->p99_us, b->p99_us);
    else if (!c && sort_by == SORT_RPS)
        c = cmp_num(a->rps, b->rps);
    else if (!c && sort_by == SORT_ERRORS)
        c = cmp_num(a->eps, b->eps) ? cmp_num(a->eps, b->eps)
                                    : cmp_num((double)a->errors, (double)b->errors);
    if (!c)
        c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->host, b->host);
}

void fleet_sort_rows(fleet *f, fleet_sort by)
{
    sort_by = by;
    if (f->nrows)
        qsort(f->rows, f->nrows, sizeof f->rows[0], cmp_rows);
}

/* ---------------------------------------------------------- rendering -- */

static void fmt_us(double us, char *out, size_t len)
{
    if (us <= 0)
        snprintf(out, len, "-");
    else if (us < 1000)
        snprintf(out, len, "%.0fus", us);
    else if (us < 1e6)
        snprintf(out, len, "%.*fms", us < 1e4 ? 2 : 1, us / 1000);
    else
        snprintf(out, len, "%.2fs", us / 1e6);
}

static void fmt_rate(double r, char *out, size_t len)
{
    snprintf(out, len, r >= 10000 ? "%.0f" : r >= 100 ? "%.1f" : "%.2f", r);
}

static void fmt_count(uint64_t n, char *out, size_t len)
{
    if (n < 100000)
        snprintf(out, len, "%llu", (unsigned long long)n);
    else if (n < 100000000)
        snprintf(out, len, "%lluk", (unsigned long long)(n / 1000));
    else
        snprintf(out, len, "%lluM", (unsigned long long)(n / 1000000));
}

/* The layout: the name column takes what the numbers leave. */
typedef struct layout {
    int fleet, host_w, name_w;
    const char *eol;
} layout;

#define NUMS_W 53 /* " %7s %8s %8s %6s %7s %5s %5s" */

static void print_row(FILE *out, const layout *l, const fleet_row *r)
{
    char rps[16], p50[16], p99[16], eps[16], err[16], infl[16], q[16];
    fmt_rate(r->rps, rps, sizeof rps);
    fmt_us(r->p50_us, p50, sizeof p50);
    fmt_us(r->p99_us, p99, sizeof p99);
    fmt_rate(r->eps, eps, sizeof eps);
    fmt_count(r->errors, err, sizeof err);
    fmt_count(r->inflight, infl, sizeof infl);
    fmt_count(r->queued, q, sizeof q);
    if (l->fleet)
        fprintf(out, "%-*.*s ", l->host_w, l->host_w, r->host);
    fprintf(out, "%-*.*s %7s %8s %8s %6s %7s %5s %5s%s", l->name_w, l->name_w, r->name, rps, p50,
            p99, eps, err, infl, r->link ? "" : q, l->eol);
}

static void print_heads(FILE *out, const layout *l, const char *what, const char *lat)
{
    if (l->fleet)
        fprintf(out, "%-*s ", l->host_w, "HOST");
    fprintf(out, "%-*s %7s %8s %8s %6s %7s %5s %5s%s", l->name_w, what, "REQ/S", lat,
            lat[0] == 'P' ? "P99" : "RTT P99", "ERR/S", "ERRORS", "INFL",
            what[0] == 'S' ? "QUEUE" : "", l->eol);
}

static void print_title(FILE *out, const fleet *f, int width, const char *eol)
{
    double rps = 0, eps = 0;
    size_t nsvc = 0, notready = 0;
    char line[512], clock[16];
    time_t now = time(NULL);
    struct tm tm;
    for (size_t i = 0; i < f->nrows; i++) {
        rps += f->rows[i].link ? 0 : f->rows[i].rps;
        eps += f->rows[i].link ? 0 : f->rows[i].eps;
        nsvc += !f->rows[i].link;
    }
    for (size_t i = 0; i < f->nhosts; i++)
        notready += !f->hosts[i].ready;
    localtime_r(&now, &tm);
    strftime(clock, sizeof clock, "%H:%M:%S", &tm);
    if (f->nhosts == 1)
        snprintf(line, sizeof line, "agentbus %s %s %s | %zu services | %.1f req/s | %.2f err/s",
                 f->hosts[0].host, f->hosts[0].version,
                 f->hosts[0].ready ? "ready" : "NOT READY", nsvc, rps, eps);
    else
        snprintf(line, sizeof line, "agentbus fleet | %zu hosts%s | %zu services | %.1f req/s | "
                 "%.2f err/s", f->nhosts, notready ? " (some NOT READY)" : "", nsvc, rps, eps);
    int pad = width - (int)strlen(line) - (int)strlen(clock);
    fprintf(out, "%.*s%*s%s%s", width, line, pad > 0 ? pad : 1, "", pad > 0 ? clock : "", eol);
}

void fleet_render(const fleet *f, FILE *out, int width, size_t max_rows, const char *eol)
{
    layout l = {.fleet = f->nhosts > 1, .host_w = 10, .eol = eol};
    width = width < 80 ? 80 : width;
    l.name_w = width - NUMS_W - (l.fleet ? l.host_w + 1 : 0);
    print_title(out, f, width, eol);
    for (size_t i = 0; i < f->nhosts; i++) {
        if (!f->hosts[i].ready)
            fprintf(out, "  %s not ready: %.*s%s", f->hosts[i].host, width - 20,
                    f->hosts[i].why, eol);
    }
    fprintf(out, "%s", eol);
    size_t shown = 0, i = 0;
    print_heads(out, &l, "SERVICE", "P50");
    for (; i < f->nrows && !f->rows[i].link && (!max_rows || shown < max_rows); i++, shown++)
        print_row(out, &l, &f->rows[i]);
    while (i < f->nrows && !f->rows[i].link)
        i++; /* services that did not fit */
    if (i < f->nrows && (!max_rows || shown + 2 < max_rows)) {
        fprintf(out, "%s", eol);
        print_heads(out, &l, "LINK", "RTT P50");
        for (; i < f->nrows && (!max_rows || shown < max_rows); i++, shown++)
            print_row(out, &l, &f->rows[i]);
    }
}

void fleet_print_json(const fleet *f, FILE *out)
{
    fputs("{\"hosts\":[", out);
    for (size_t i = 0; i < f->ndocs; i++) {
        size_t n = f->doclens[i];
        while (n && (f->docs[i][n - 1] == '\n' || f->docs[i][n - 1] == ' '))
            n--;
        fprintf(out, "%s%.*s", i ? "," : "", (int)n, f->docs[i]);
    }
    fputs("]}\n", out);
}
