/*
 * registry.c: loading and validating the registry file (registry.h has the
 * API, docs/registry.md the format).
 *
 * The file is read whole (bounded), scanned once as raw YAML events to catch
 * syntax errors and aliases, then loaded with libyaml's document API and
 * walked section by section. Every problem becomes one diagnostic and the walk
 * keeps going, so one run of `agentbus check` shows everything to fix.
 */
#include "registry.h"

#include "common.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>
#include <zmq.h>

/* Bounds; each may be overridden at build time with -D. */
#ifndef REG_MAX_FILE_BYTES
#define REG_MAX_FILE_BYTES (1 << 20) /* hand-written files are far smaller */
#endif
#ifndef REG_MAX_ENTRIES
#define REG_MAX_ENTRIES 4096 /* pairs in one mapping: bounds duplicate scans */
#endif
#ifndef REG_MAX_BACKENDS
#define REG_MAX_BACKENDS 64 /* endpoints of one service */
#endif
#ifndef REG_MAX_DIAGS
#define REG_MAX_DIAGS 50 /* diagnostics kept; later ones are only counted */
#endif
#ifndef REG_MAX_DEPTH
#define REG_MAX_DEPTH 16 /* nested collections; a registry needs 4 */
#endif

#define REG_IPC_PATH_MAX 107   /* sun_path is 108 bytes with the NUL */
#define REG_DNS_NAME_MAX 253   /* RFC 1035 */
#define REG_SUGGEST_MAX 32     /* longer unknown keys get no "did you mean" */
#define REG_SUGGEST_DIST 2     /* edits a typo may be from the known key */
#define DIAG_TEXT_MAX 320      /* one diagnostic; longer ones are cut */
#define DIAG_TAIL_MAX 48       /* room for the "... N more errors" line */
#define PATH_MAX_LEN 160       /* a dotted field path */

#define NAME_CHARS                                                         \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
#define DNS_CHARS                                                          \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-"
#define ROOT_FIELD "(root)"
#define YAML_FIELD "yaml"

#define STR_(x) #x
#define STR(x) STR_(x)

/* ---------------------------------------------------------------------
 * Keys of the format
 * --------------------------------------------------------------------- */

/* A key the format knows; integer keys carry their range and default,
 * word keys (words != NULL) the index of their default word. */
typedef struct key_def {
    const char *name;
    long long min, max, def;
    bool zero_ok; /* 0 is valid too, meaning "off" */
    const char *const *words; /* a word key's values, NULL-terminated; the
                                 value read is the word's index */
} key_def;

#define INT_KEY(name, min, max, def, zero_ok)                              \
    {name, min, max, def, zero_ok, NULL}

/* reg_transcode by index. */
static const char *const transcode_words[] = {"off", "auto", NULL};

/* Keys of a service entry. The knobs come first because they are also the
 * keys of `defaults:`; a knob resolves built-in < defaults < service. */
enum svc_key {
    K_TIMEOUT, K_INFLIGHT, K_QUEUE, K_MSGBYTES, K_FRAMES, K_HEARTBEAT,
    K_PERCLIENT, K_PIPELINE, K_TRANSCODE,
    NKNOBS,
    K_HOST = NKNOBS, K_PORT, K_BACKENDS,
    NSVCKEYS
};

static const key_def svc_keys[NSVCKEYS] = {
    [K_TIMEOUT] = INT_KEY("timeout_ms", 1, 3600000, REG_DEFAULT_TIMEOUT_MS,
                          false),
    [K_INFLIGHT] = INT_KEY("max_inflight", 1, REG_MAX_INFLIGHT_MAX,
                           REG_DEFAULT_MAX_INFLIGHT, false),
    [K_QUEUE] = INT_KEY("queue_max", 0, 1000000, REG_DEFAULT_QUEUE_MAX,
                        false),
    [K_MSGBYTES] = INT_KEY("max_msg_bytes", 1, REG_MAX_MSG_BYTES_MAX,
                           REG_DEFAULT_MAX_MSG_BYTES, false),
    [K_FRAMES] = INT_KEY("max_frames", 1, REG_MAX_FRAMES_MAX,
                         REG_DEFAULT_MAX_FRAMES, false),
    [K_HEARTBEAT] = INT_KEY("heartbeat_ms", 100, 3600000,
                            REG_DEFAULT_HEARTBEAT_MS, true),
    [K_PERCLIENT] = INT_KEY("max_per_client", 1, 1000000,
                            REG_DEFAULT_MAX_PER_CLIENT, false),
    [K_PIPELINE] = INT_KEY("pipeline_ms", 0, 3600000, REG_DEFAULT_PIPELINE_MS,
                           false),
    [K_TRANSCODE] = {"transcode", 0, 1, REG_TRANSCODE_AUTO, false,
                     transcode_words},
    [K_HOST] = {.name = "host"},
    [K_PORT] = INT_KEY("port", 1, 65535, 0, false),
    [K_BACKENDS] = {.name = "backends"},
};

/* The optional sections come first: T_HOSTS..T_SERVICES are required. */
enum top_key { T_DEFAULTS, T_LINKS, T_HOSTS, T_SERVICES, NTOPKEYS };

static const key_def top_keys[NTOPKEYS] = {
    [T_DEFAULTS] = {.name = "defaults"},
    [T_LINKS] = {.name = "links"},
    [T_HOSTS] = {.name = "hosts"},
    [T_SERVICES] = {.name = "services"},
};

/* Keys of a host entry. */
enum host_key { H_LINK, H_PUBLIC_KEY, H_NEXT_KEY, NHOSTKEYS };

static const key_def host_keys[NHOSTKEYS] = {
    [H_LINK] = {.name = "link"},
    [H_PUBLIC_KEY] = {.name = "public_key"},
    [H_NEXT_KEY] = {.name = "next_public_key"},
};

/* Keys of `links:`, in the order of reg_links. */
enum links_key {
    L_PER_PEER, L_HEARTBEAT, L_DOWN, L_RECONNECT, L_RECONNECT_MAX, L_HWM,
    L_MARGIN, NLINKKEYS
};

static const key_def links_keys[NLINKKEYS] = {
    [L_PER_PEER] = INT_KEY("per_peer", 1, 16, REG_DEFAULT_LINKS_PER_PEER,
                           false),
    [L_HEARTBEAT] = INT_KEY("heartbeat_ms", 100, 60000,
                            REG_DEFAULT_LINK_HEARTBEAT_MS, false),
    [L_DOWN] = INT_KEY("down_ms", 300, 600000, REG_DEFAULT_LINK_DOWN_MS,
                       false),
    [L_RECONNECT] = INT_KEY("reconnect_ms", 10, 60000,
                            REG_DEFAULT_LINK_RECONNECT_MS, false),
    [L_RECONNECT_MAX] = INT_KEY("reconnect_max_ms", 10, 600000,
                                REG_DEFAULT_LINK_RECONNECT_MAX_MS, false),
    [L_HWM] = INT_KEY("hwm", 100, 1000000, REG_DEFAULT_LINK_HWM, false),
    [L_MARGIN] = INT_KEY("deadline_margin_ms", 0, 10000,
                         REG_DEFAULT_LINK_MARGIN_MS, false),
};

/* Index of NAME in TAB[0..n), or -1. */
static int key_index(const key_def *tab, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tab[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---------------------------------------------------------------------
 * Diagnostics
 * --------------------------------------------------------------------- */

typedef struct diag_item {
    int line;
    char text[DIAG_TEXT_MAX];
} diag_item;

/* The diagnostics of one load: the first REG_MAX_DIAGS found, kept sorted
 * by line (stable), and how many were found in all. */
typedef struct diags {
    const char *file;
    diag_item items[REG_MAX_DIAGS];
    int kept;
    int total;
} diags;

/* Control characters (a quoted key may hold a newline) would break the
 * one-diagnostic-per-line contract, so they become '?'. */
static void sanitize(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* Records "FILE:LINE: FIELD: message". */
static void diag_add(diags *d, int line, const char *field, const char *fmt,
                     ...) __attribute__((format(printf, 4, 5)));
static void diag_add(diags *d, int line, const char *field, const char *fmt,
                     ...)
{
    d->total++;
    if (d->kept == REG_MAX_DIAGS)
        return;
    size_t i = (size_t)d->kept++;
    while (i > 0 && d->items[i - 1].line > line)
        i--;
    memmove(&d->items[i + 1], &d->items[i],
            ((size_t)d->kept - 1 - i) * sizeof d->items[0]);
    diag_item *it = &d->items[i];
    it->line = line;
    int n = snprintf(it->text, sizeof it->text, "%s:%d: %s: ", d->file, line,
                     field);
    if (n > 0 && (size_t)n < sizeof it->text) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(it->text + n, sizeof it->text - (size_t)n, fmt, ap);
        va_end(ap);
    }
    sanitize(it->text);
}

/* How many leading diagnostics fit, '\n'-joined, in ROOM bytes. */
static int diag_fitting(const diags *d, size_t room)
{
    size_t len = 0;
    int n = 0;
    for (; n < d->kept; n++) {
        len += strlen(d->items[n].text) + (n > 0);
        if (len > room)
            break;
    }
    return n;
}

/* Joins the kept diagnostics into ERR, whole lines only, then a line
 * saying how many were left out by the cap or by ERRLEN. */
static void diag_write(const diags *d, char *err, size_t errlen)
{
    if (!err || !errlen)
        return;
    int n = diag_fitting(d, errlen - 1);
    if (n < d->total)
        n = diag_fitting(d, errlen > DIAG_TAIL_MAX ? errlen - DIAG_TAIL_MAX
                                                   : 0);
    size_t len = 0;
    err[0] = '\0';
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(err + len, errlen - len, "%s%s",
                                i ? "\n" : "", d->items[i].text);
    if (n < d->total)
        snprintf(err + len, errlen - len, "%s... %d more errors omitted",
                 n ? "\n" : "", d->total - n);
}

/* ---------------------------------------------------------------------
 * Loader state and YAML node helpers
 * --------------------------------------------------------------------- */

typedef struct loader {
    yaml_document_t doc;
    registry *reg;
    const char *text;           /* the file, for lines libyaml does not give */
    size_t len;
    long long defaults[NKNOBS]; /* built-ins overlaid with `defaults:` */
    bool oom;                   /* an allocation failed: the load fails */
    diags d;
} loader;

/* Visitor for one pair of a mapping; PATH is the pair's dotted path. */
typedef void (*pair_fn)(loader *L, const char *path, const yaml_node_t *key,
                        const yaml_node_t *val, void *ctx);

/* strdup/calloc that remember failure, so callers can carry on walking. */
static char *dup_str(loader *L, const char *s)
{
    char *copy = strdup(s);
    L->oom |= copy == NULL;
    return copy;
}

static void *alloc_array(loader *L, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    L->oom |= p == NULL;
    return p;
}

static const yaml_node_t *node_at(loader *L, yaml_node_item_t id)
{
    return yaml_document_get_node(&L->doc, id);
}

static int node_line(const yaml_node_t *n) { return (int)n->start_mark.line + 1; }

static const char *scalar(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* True for YAML's plain spellings of null: empty, ~ and null. */
static bool is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type != YAML_SCALAR_NODE ||
        n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < AB_ARRAY_LEN(nulls); i++)
        if (strcmp(scalar(n), nulls[i]) == 0)
            return true;
    return false;
}

static const char *kind_name(yaml_node_type_t kind)
{
    static const char *const names[] = {
        [YAML_NO_NODE] = "nothing", [YAML_SCALAR_NODE] = "a scalar",
        [YAML_SEQUENCE_NODE] = "a sequence", [YAML_MAPPING_NODE] = "a mapping"};
    return names[kind];
}

/* True if N is of KIND; otherwise reports the mismatch at PATH. */
static bool want_kind(loader *L, const yaml_node_t *n, yaml_node_type_t kind,
                      const char *path)
{
    if (n->type == kind)
        return true;
    diag_add(&L->d, node_line(n), path, "expected %s, got %s", kind_name(kind),
             kind_name(n->type));
    return false;
}

static size_t map_size(const yaml_node_t *map)
{
    return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

/* PREFIX.KEY into OUT (just KEY at the top level), cut to fit. */
static void path_join(char out[PATH_MAX_LEN], const char *prefix,
                      const char *key)
{
    ab_strfmt(out, PATH_MAX_LEN, "%s%s%s", prefix, *prefix ? "." : "", key);
}

/* The pair before END in [FIRST, END) whose key is KEY, or NULL. */
static const yaml_node_t *earlier_key(loader *L, const yaml_node_pair_t *first,
                                      const yaml_node_pair_t *end,
                                      const char *key)
{
    for (const yaml_node_pair_t *p = first; p < end; p++) {
        const yaml_node_t *k = node_at(L, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(scalar(k), key) == 0)
            return k;
    }
    return NULL;
}

/* Calls FN on each pair of MAP (a mapping at PREFIX) in file order, after
 * reporting and skipping non-scalar keys and keys seen earlier in MAP:
 * libyaml accepts repeated keys, and silently taking either would hide a
 * mistake such as two services with one name. */
static void map_each(loader *L, const yaml_node_t *map, const char *prefix,
                     pair_fn fn, void *ctx)
{
    const yaml_node_pair_t *first = map->data.mapping.pairs.start;
    const char *field = *prefix ? prefix : ROOT_FIELD;
    if (map_size(map) > REG_MAX_ENTRIES) {
        diag_add(&L->d, node_line(map), field,
                 "%zu entries, at most " STR(REG_MAX_ENTRIES) " allowed",
                 map_size(map));
        return;
    }
    for (const yaml_node_pair_t *p = first; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *key = node_at(L, p->key);
        char path[PATH_MAX_LEN];
        if (key->type != YAML_SCALAR_NODE) {
            diag_add(&L->d, node_line(key), field,
                     "a key must be a scalar, got %s", kind_name(key->type));
            continue;
        }
        path_join(path, prefix, scalar(key));
        const yaml_node_t *prev = earlier_key(L, first, p, scalar(key));
        if (prev)
            diag_add(&L->d, node_line(key), path,
                     "defined twice (first at line %d)", node_line(prev));
        else
            fn(L, path, key, node_at(L, p->value), ctx);
    }
}

/* ---------------------------------------------------------------------
 * Scalar values
 * --------------------------------------------------------------------- */

/* Parses S as a decimal integer: optional '-', digits, no leading zero.
 * Stricter than YAML on purpose: YAML 1.1 reads 0755 as octal and 0x15 or
 * 5581.0 as other numbers, and a registry must mean one thing to every
 * reader. Values too long to hold saturate, so range checks reject them. */
static bool parse_decimal(const char *s, long long *out)
{
    const char *digits = s + (*s == '-');
    size_t n = strspn(digits, "0123456789");
    if (n == 0 || digits[n] != '\0' || (digits[0] == '0' && n > 1))
        return false;
    if (n > 18)
        *out = *s == '-' ? -1 : 1LL << 62;
    else
        *out = strtoll(s, NULL, 10);
    return true;
}

static bool in_range(const key_def *def, long long v)
{
    return (v >= def->min && v <= def->max) || (def->zero_ok && v == 0);
}

/* Reads N, the value at PATH, as an integer in DEF's range into *OUT;
 * reports and leaves *OUT alone otherwise. */
static bool read_int(loader *L, const yaml_node_t *n, const key_def *def,
                     const char *path, long long *out)
{
    long long v;
    if (!want_kind(L, n, YAML_SCALAR_NODE, path))
        return false;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        diag_add(&L->d, node_line(n), path,
                 "expected a decimal integer, got a quoted string");
        return false;
    }
    if (!parse_decimal(scalar(n), &v)) {
        diag_add(&L->d, node_line(n), path,
                 "expected a decimal integer, got '%.40s'", scalar(n));
        return false;
    }
    if (!in_range(def, v)) {
        diag_add(&L->d, node_line(n), path, "%.40s is out of range (%s%lld..%lld)",
                 scalar(n), def->zero_ok ? "0 or " : "", def->min, def->max);
        return false;
    }
    *out = v;
    return true;
}

/* Reads N, the value at PATH, as one of DEF's words into *OUT (its index);
 * reports and leaves *OUT alone otherwise. */
static bool read_word(loader *L, const yaml_node_t *n, const key_def *def,
                      const char *path, long long *out)
{
    char expected[96] = "";
    if (!want_kind(L, n, YAML_SCALAR_NODE, path))
        return false;
    for (long long i = 0; def->words[i]; i++) {
        if (strcmp(scalar(n), def->words[i]) == 0) {
            *out = i;
            return true;
        }
        ab_strfmt(expected + strlen(expected), sizeof expected - strlen(expected),
                  "%s%s", i ? " or " : "", def->words[i]);
    }
    diag_add(&L->d, node_line(n), path, "expected %s, got '%.40s'", expected,
             scalar(n));
    return false;
}

/* A knob, integer or word, as DEF says. */
static bool read_knob(loader *L, const yaml_node_t *n, const key_def *def,
                      const char *path, long long *out)
{
    return def->words ? read_word(L, n, def, path, out)
                      : read_int(L, n, def, path, out);
}

/* Levenshtein distance, or REG_SUGGEST_MAX when a string is too long to
 * be worth comparing. */
static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    int row[REG_SUGGEST_MAX + 1];
    if (la > REG_SUGGEST_MAX || lb > REG_SUGGEST_MAX)
        return REG_SUGGEST_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int corner = row[0]; /* row[j - 1] of the previous row */
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int edit = up < row[j - 1] ? up + 1 : row[j - 1] + 1;
            int subst = corner + (a[i - 1] != b[j - 1]);
            row[j] = subst < edit ? subst : edit;
            corner = up;
        }
    }
    return row[lb];
}

/* Reports KEY at PATH as unknown, naming the closest of TAB[0..n) when it
 * is within REG_SUGGEST_DIST edits (a typo such as "timout_ms"). */
static void unknown_key(loader *L, const char *path, const yaml_node_t *key,
                        const key_def *tab, size_t n)
{
    const char *best = NULL;
    int best_dist = REG_SUGGEST_DIST + 1;
    for (size_t i = 0; i < n; i++) {
        int dist = edit_distance(scalar(key), tab[i].name);
        if (dist < best_dist) {
            best = tab[i].name;
            best_dist = dist;
        }
    }
    if (best)
        diag_add(&L->d, node_line(key), path,
                 "unknown key (did you mean '%s'?)", best);
    else
        diag_add(&L->d, node_line(key), path, "unknown key");
}

/* Host and service names end up in logs and CLI tables: keep them tame. */
static void check_name(loader *L, const yaml_node_t *key, const char *path)
{
    size_t n = strlen(scalar(key));
    if (n == 0 || n > REG_NAME_MAX || strspn(scalar(key), NAME_CHARS) != n)
        diag_add(&L->d, node_line(key), path,
                 "name must be 1.." STR(REG_NAME_MAX)
                 " characters from [A-Za-z0-9_.-]");
}

/* ---------------------------------------------------------------------
 * Endpoints. Each *_problem() returns NULL when its input is valid, else
 * the reason, phrased to say which form is expected.
 * --------------------------------------------------------------------- */

static bool port_valid(const char *s)
{
    long long v;
    return parse_decimal(s, &v) && in_range(&svc_keys[K_PORT], v);
}

/* A DNS name: letters, digits, '.', '-', no empty label, no edge '-'/'.' */
static bool dns_name_valid(const char *h, size_t n)
{
    return strspn(h, DNS_CHARS) == n && strchr(".-", h[0]) == NULL &&
           strchr(".-", h[n - 1]) == NULL && strstr(h, "..") == NULL;
}

/* H is "[ADDR]" (the caller found the ']'). */
static bool ipv6_valid(const char *h, size_t n)
{
    char inner[INET6_ADDRSTRLEN];
    unsigned char addr[sizeof(struct in6_addr)];
    if (n < 3 || n - 2 >= sizeof inner)
        return false;
    memcpy(inner, h + 1, n - 2);
    inner[n - 2] = '\0';
    return inet_pton(AF_INET6, inner, addr) == 1;
}

static const char *host_problem(const char *h, size_t n)
{
    unsigned char addr[sizeof(struct in_addr)];
    if (n == 0)
        return "expected tcp://HOST:PORT (the host is missing)";
    if (strcmp(h, "*") == 0)
        return "'*' can only bind; name the address the backend listens on";
    if (h[0] == '[')
        return ipv6_valid(h, n) ? NULL
                                : "invalid IPv6 address (expected tcp://[ADDR]:PORT)";
    if (strspn(h, "0123456789.") == n)
        return inet_pton(AF_INET, h, addr) == 1 ? NULL : "invalid IPv4 address";
    if (n > REG_DNS_NAME_MAX || !dns_name_valid(h, n))
        return "invalid host name (letters, digits, '.' and '-'; "
               "IPv6 addresses go in [ ])";
    return NULL;
}

/* HOSTPORT is what follows tcp://; an IPv6 host is bracketed. */
static const char *tcp_problem(const char *hostport)
{
    char host[REG_DNS_NAME_MAX + 3];
    const char *sep = strrchr(hostport, ':');
    if (hostport[0] == '[') {
        const char *close = strchr(hostport, ']');
        sep = close && close[1] == ':' ? close + 1 : NULL;
    }
    if (!sep)
        return "expected tcp://HOST:PORT (the port is missing)";
    if (!port_valid(sep + 1))
        return "expected tcp://HOST:PORT with PORT a decimal 1..65535";
    if ((size_t)(sep - hostport) >= sizeof host)
        return "the host name is too long";
    snprintf(host, sizeof host, "%.*s", (int)(sep - hostport), hostport);
    return host_problem(host, strlen(host));
}

static const char *ipc_problem(const char *path)
{
    if (path[0] != '/')
        return "expected ipc:///ABSOLUTE/PATH";
    if (strlen(path) > REG_IPC_PATH_MAX)
        return "the ipc path is longer than " STR(REG_IPC_PATH_MAX) " bytes";
    return NULL;
}

/* Backends are connected to, so only connectable forms are accepted. */
static const char *endpoint_problem(const char *ep)
{
    if (strncmp(ep, "tcp://", 6) == 0)
        return tcp_problem(ep + 6);
    if (strncmp(ep, "ipc://", 6) == 0)
        return ipc_problem(ep + 6);
    return "expected tcp://HOST:PORT or ipc:///ABSOLUTE/PATH";
}

/* ---------------------------------------------------------------------
 * Sections
 * --------------------------------------------------------------------- */

/* Working state for one service entry. */
typedef struct svc_ctx {
    reg_service *svc;
    long long knobs[NKNOBS];
    unsigned seen; /* bit (1 << svc_key) per key present */
} svc_ctx;

/* Port in range and not taken by an earlier service. */
static void read_port(loader *L, const yaml_node_t *n, const char *path,
                      reg_service *svc)
{
    long long port;
    if (!read_int(L, n, &svc_keys[K_PORT], path, &port))
        return;
    for (const reg_service *s = L->reg->services; s < svc; s++) {
        if (s->port == port) {
            diag_add(&L->d, node_line(n), path,
                     "port %lld is already used by service %s (line %d)", port,
                     s->name, s->line);
            break;
        }
    }
    svc->port = (int)port;
}

/* Hosts are loaded before services, so the reference can be checked now. */
static void read_host_ref(loader *L, const yaml_node_t *n, const char *path,
                          reg_service *svc)
{
    if (!want_kind(L, n, YAML_SCALAR_NODE, path))
        return;
    if (!registry_host(L->reg, scalar(n))) {
        diag_add(&L->d, node_line(n), path,
                 "unknown host '%.64s' (not listed under hosts)", scalar(n));
        return;
    }
    svc->host = dup_str(L, scalar(n));
}

/* One backends item: a valid endpoint not listed earlier in the service. */
static void read_backend(loader *L, const yaml_node_t *n, const char *path,
                         reg_service *svc)
{
    if (!want_kind(L, n, YAML_SCALAR_NODE, path))
        return;
    const char *problem = endpoint_problem(scalar(n));
    if (problem) {
        diag_add(&L->d, node_line(n), path, "invalid endpoint '%.120s': %s",
                 scalar(n), problem);
        return;
    }
    for (size_t i = 0; i < svc->nbackends; i++) {
        if (strcmp(svc->backends[i], scalar(n)) == 0) {
            diag_add(&L->d, node_line(n), path,
                     "duplicate endpoint '%.120s'", scalar(n));
            return;
        }
    }
    char *copy = dup_str(L, scalar(n));
    if (copy)
        svc->backends[svc->nbackends++] = copy;
}

static void read_backends(loader *L, const yaml_node_t *n, const char *path,
                          reg_service *svc)
{
    if (!want_kind(L, n, YAML_SEQUENCE_NODE, path))
        return;
    const yaml_node_item_t *first = n->data.sequence.items.start;
    size_t count = (size_t)(n->data.sequence.items.top - first);
    if (count == 0 || count > REG_MAX_BACKENDS) {
        diag_add(&L->d, node_line(n), path,
                 "needs 1.." STR(REG_MAX_BACKENDS) " endpoints, got %zu", count);
        return;
    }
    svc->backends = alloc_array(L, count, sizeof *svc->backends);
    for (size_t i = 0; i < count && svc->backends; i++) {
        char item_path[PATH_MAX_LEN];
        ab_strfmt(item_path, sizeof item_path, "%s[%zu]", path, i);
        read_backend(L, node_at(L, first[i]), item_path, svc);
    }
}

static void on_service_key(loader *L, const char *path, const yaml_node_t *key,
                           const yaml_node_t *val, void *ctx)
{
    svc_ctx *c = ctx;
    int k = key_index(svc_keys, NSVCKEYS, scalar(key));
    if (k < 0) {
        unknown_key(L, path, key, svc_keys, NSVCKEYS);
        return;
    }
    c->seen |= 1u << k;
    switch (k) {
    case K_PORT: read_port(L, val, path, c->svc); break;
    case K_HOST: read_host_ref(L, val, path, c->svc); break;
    case K_BACKENDS: read_backends(L, val, path, c->svc); break;
    default: read_knob(L, val, &svc_keys[k], path, &c->knobs[k]); break;
    }
}

/* Reports each required service key (the non-knobs) absent from C. */
static void require_keys(loader *L, const svc_ctx *c, const char *path, int line)
{
    for (int k = K_HOST; k < NSVCKEYS; k++) {
        char key_path[PATH_MAX_LEN];
        path_join(key_path, path, svc_keys[k].name);
        if (!(c->seen & (1u << k)))
            diag_add(&L->d, line, key_path, "required key is missing");
    }
}

static void store_knobs(reg_service *s, const long long v[NKNOBS])
{
    s->timeout_ms = (int)v[K_TIMEOUT];
    s->max_inflight = (int)v[K_INFLIGHT];
    s->queue_max = (int)v[K_QUEUE];
    s->max_msg_bytes = (size_t)v[K_MSGBYTES];
    s->max_frames = (int)v[K_FRAMES];
    s->heartbeat_ms = (int)v[K_HEARTBEAT];
    s->max_per_client = (int)v[K_PERCLIENT];
    s->pipeline_ms = (int)v[K_PIPELINE];
    s->transcode = (reg_transcode)v[K_TRANSCODE];
}

/* One entry of services:, appended to the registry even when invalid (the
 * whole registry is then discarded) so later ones can refer to it. */
static void on_service(loader *L, const char *path, const yaml_node_t *key,
                       const yaml_node_t *val, void *ctx)
{
    char *name = dup_str(L, scalar(key));
    if (!name)
        return;
    svc_ctx c = {.svc = &L->reg->services[L->reg->nservices++]};
    check_name(L, key, path);
    c.svc->name = name;
    c.svc->line = node_line(key);
    memcpy(c.knobs, L->defaults, sizeof c.knobs);
    if (want_kind(L, val, YAML_MAPPING_NODE, path)) {
        map_each(L, val, path, on_service_key, &c);
        require_keys(L, &c, path, c.svc->line);
    }
    store_knobs(c.svc, c.knobs);
}

/* A link endpoint: where this host's broker binds its link server and
 * the other brokers connect, so it must name one address both can use:
 * tcp:// with an IP literal or a DNS name, never a wildcard ("*",
 * 0.0.0.0, [::]) that others cannot connect to, nor ipc:// (other hosts).
 * Loopback is valid: several brokers on one machine (tests, the demo). */
static const char *link_problem(const char *ep)
{
    if (strncmp(ep, "tcp://", 6) != 0)
        return "expected tcp://ADDR:PORT (links cross hosts: no ipc://)";
    if (strncmp(ep + 6, "*:", 2) == 0 || strncmp(ep + 6, "0.0.0.0:", 8) == 0 ||
        strncmp(ep + 6, "[::]:", 5) == 0)
        return "a wildcard cannot be connected to; name the address other "
               "hosts reach this one at";
    return tcp_problem(ep + 6);
}

static void read_link(loader *L, const yaml_node_t *n, const char *path,
                      reg_host *h)
{
    if (!want_kind(L, n, YAML_SCALAR_NODE, path))
        return;
    const char *problem = link_problem(scalar(n));
    if (problem) {
        diag_add(&L->d, node_line(n), path, "invalid link '%.120s': %s",
                 scalar(n), problem);
        return;
    }
    h->link = dup_str(L, scalar(n));
    h->link_port = atoi(strrchr(scalar(n), ':') + 1);
    h->link_line = node_line(n);
}

/* A CURVE public key: exactly 40 Z85 characters that decode to 32 bytes. */
static void read_key(loader *L, const yaml_node_t *n, const char *path,
                     uint8_t key[REG_KEY_LEN], char z85[REG_KEY_Z85_LEN + 1],
                     bool *has)
{
    if (!want_kind(L, n, YAML_SCALAR_NODE, path))
        return;
    size_t len = strlen(scalar(n));
    if (len != REG_KEY_Z85_LEN) {
        diag_add(&L->d, node_line(n), path,
                 "expected a Z85 CURVE key of " STR(REG_KEY_Z85_LEN)
                 " characters, got %zu (quote it: \"...\")", len);
        return;
    }
    if (!zmq_z85_decode(key, scalar(n))) {
        diag_add(&L->d, node_line(n), path,
                 "not a Z85 key: a character outside the Z85 alphabet or "
                 "a group out of range");
        return;
    }
    memcpy(z85, scalar(n), REG_KEY_Z85_LEN + 1);
    *has = true;
}

static void on_host_key(loader *L, const char *path, const yaml_node_t *key,
                        const yaml_node_t *val, void *ctx)
{
    reg_host *h = ctx;
    switch (key_index(host_keys, NHOSTKEYS, scalar(key))) {
    case H_LINK: read_link(L, val, path, h); break;
    case H_PUBLIC_KEY:
        h->key_line = node_line(val);
        read_key(L, val, path, h->public_key, h->public_key_z85, &h->has_key);
        break;
    case H_NEXT_KEY:
        read_key(L, val, path, h->next_public_key, h->next_public_key_z85,
                 &h->has_next_key);
        break;
    default: unknown_key(L, path, key, host_keys, NHOSTKEYS); break;
    }
}

static void on_host(loader *L, const char *path, const yaml_node_t *key,
                    const yaml_node_t *val, void *ctx)
{
    char *name = dup_str(L, scalar(key));
    if (!name)
        return;
    reg_host *h = &L->reg->hosts[L->reg->nhosts++];
    check_name(L, key, path);
    h->name = name;
    h->line = node_line(key);
    if (!is_null(val) && want_kind(L, val, YAML_MAPPING_NODE, path))
        map_each(L, val, path, on_host_key, h);
}

static void on_default(loader *L, const char *path, const yaml_node_t *key,
                       const yaml_node_t *val, void *ctx)
{
    int k = key_index(svc_keys, NKNOBS, scalar(key));
    if (k < 0)
        unknown_key(L, path, key, svc_keys, NKNOBS);
    else
        read_knob(L, val, &svc_keys[k], path, &L->defaults[k]);
}

static void load_hosts(loader *L, const yaml_node_t *n)
{
    const char *path = top_keys[T_HOSTS].name;
    if (!is_null(n) && !want_kind(L, n, YAML_MAPPING_NODE, path))
        return;
    if (is_null(n) || map_size(n) == 0) {
        diag_add(&L->d, node_line(n), path, "at least one host is required");
        return;
    }
    L->reg->hosts = alloc_array(L, map_size(n), sizeof *L->reg->hosts);
    if (L->reg->hosts)
        map_each(L, n, path, on_host, NULL);
}

static void on_links_key(loader *L, const char *path, const yaml_node_t *key,
                         const yaml_node_t *val, void *ctx)
{
    long long *knobs = ctx;
    int k = key_index(links_keys, NLINKKEYS, scalar(key));
    if (k < 0)
        unknown_key(L, path, key, links_keys, NLINKKEYS);
    else
        read_int(L, val, &links_keys[k], path, &knobs[k]);
}

/* links: knobs over their defaults, then the rules that tie them. */
static void load_links(loader *L, const yaml_node_t *n)
{
    const char *path = top_keys[T_LINKS].name;
    long long v[NLINKKEYS];
    for (int k = 0; k < NLINKKEYS; k++)
        v[k] = links_keys[k].def;
    if (n && !is_null(n) && want_kind(L, n, YAML_MAPPING_NODE, path))
        map_each(L, n, path, on_links_key, v);
    if (n && v[L_DOWN] < 2 * v[L_HEARTBEAT])
        diag_add(&L->d, node_line(n), "links.down_ms",
                 "%lld must be at least twice heartbeat_ms (%lld), or one "
                 "late ping takes the link down", v[L_DOWN], v[L_HEARTBEAT]);
    if (n && v[L_RECONNECT_MAX] < v[L_RECONNECT])
        diag_add(&L->d, node_line(n), "links.reconnect_max_ms",
                 "%lld is below reconnect_ms (%lld)", v[L_RECONNECT_MAX],
                 v[L_RECONNECT]);
    L->reg->links = (reg_links){(int)v[L_PER_PEER], (int)v[L_HEARTBEAT],
                                (int)v[L_DOWN], (int)v[L_RECONNECT],
                                (int)v[L_RECONNECT_MAX], (int)v[L_HWM],
                                (int)v[L_MARGIN]};
}

static void load_defaults(loader *L, const yaml_node_t *n)
{
    const char *path = top_keys[T_DEFAULTS].name;
    if (!is_null(n) && want_kind(L, n, YAML_MAPPING_NODE, path))
        map_each(L, n, path, on_default, NULL);
}

/* An empty (or null) services: is valid: a host may run no services. */
static void load_services(loader *L, const yaml_node_t *n)
{
    const char *path = top_keys[T_SERVICES].name;
    if (is_null(n) || !want_kind(L, n, YAML_MAPPING_NODE, path))
        return;
    L->reg->services = alloc_array(L, map_size(n), sizeof *L->reg->services);
    if (L->reg->services)
        map_each(L, n, path, on_service, NULL);
}

static void on_top_key(loader *L, const char *path, const yaml_node_t *key,
                       const yaml_node_t *val, void *ctx)
{
    const yaml_node_t **sections = ctx;
    int k = key_index(top_keys, NTOPKEYS, scalar(key));
    if (k < 0)
        unknown_key(L, path, key, top_keys, NTOPKEYS);
    else
        sections[k] = val;
}

/* ---------------------------------------------------------------------
 * Cross-checks: hosts, their links and keys, and the services on them
 * --------------------------------------------------------------------- */

/* Two link endpoints name the same place (names compare without case). */
static bool same_link(const reg_host *a, const reg_host *b)
{
    return a->link && b->link && strcasecmp(a->link, b->link) == 0;
}

/* A link is bound on its host's machine, and every broker binds every
 * service port: the two must differ wherever both could land. */
static void check_link(loader *L, const reg_host *h)
{
    char path[PATH_MAX_LEN];
    ab_strfmt(path, sizeof path, "hosts.%s.link", h->name);
    if (!h->has_key)
        diag_add(&L->d, h->link_line, path,
                 "a link needs public_key (links are CURVE-encrypted; make "
                 "a key pair with: agentbus keygen %s)", h->name);
    for (const reg_host *g = L->reg->hosts; g < h; g++)
        if (same_link(g, h))
            diag_add(&L->d, h->link_line, path,
                     "%s is already the link of host %s (line %d)", h->link,
                     g->name, g->link_line);
    for (size_t i = 0; i < L->reg->nservices; i++) {
        const reg_service *s = &L->reg->services[i];
        if (s->port == h->link_port)
            diag_add(&L->d, h->link_line, path,
                     "port %d is also the port of service %s (line %d), "
                     "which every broker binds", h->link_port, s->name,
                     s->line);
    }
}

/* Whether key (REG_KEY_LEN bytes) is one of host g's keys. */
static bool has_key(const reg_host *g, const uint8_t *key)
{
    return (g->has_key && memcmp(g->public_key, key, REG_KEY_LEN) == 0) ||
           (g->has_next_key &&
            memcmp(g->next_public_key, key, REG_KEY_LEN) == 0);
}

/* Each host needs its own key pair: a shared key would let one host pose
 * as the other. */
static void check_key(loader *L, const reg_host *h, const uint8_t *key,
                      const char *field, int line)
{
    char path[PATH_MAX_LEN];
    ab_strfmt(path, sizeof path, "hosts.%s.%s", h->name, field);
    for (const reg_host *g = L->reg->hosts; g < h; g++)
        if (has_key(g, key))
            diag_add(&L->d, line, path,
                     "the same key as host %s (line %d): every host needs "
                     "its own key pair", g->name, g->line);
}

static void check_keys(loader *L, const reg_host *h)
{
    char path[PATH_MAX_LEN];
    if (h->has_key)
        check_key(L, h, h->public_key, "public_key", h->key_line);
    if (!h->has_next_key)
        return;
    ab_strfmt(path, sizeof path, "hosts.%s.next_public_key", h->name);
    if (!h->has_key)
        diag_add(&L->d, h->line, path, "a next key needs public_key (the "
                 "current one) beside it");
    else if (memcmp(h->public_key, h->next_public_key, REG_KEY_LEN) == 0)
        diag_add(&L->d, h->line, path, "the same as public_key: drop it, "
                 "or put the new key here");
    check_key(L, h, h->next_public_key, "next_public_key", h->line);
}

/* With more than one host, a service is reached from the others through
 * its host's link. A single-host registry needs no links at all. */
static void check_reachable(loader *L, const reg_service *s)
{
    const reg_host *h = s->host ? registry_host(L->reg, s->host) : NULL;
    char path[PATH_MAX_LEN];
    if (L->reg->nhosts < 2 || !h || h->link)
        return;
    ab_strfmt(path, sizeof path, "services.%s.host", s->name);
    diag_add(&L->d, s->line, path,
             "host %s has no link, so the other hosts cannot reach this "
             "service; add hosts.%s.link (a single-host registry needs none)",
             h->name, h->name);
}

static void cross_check(loader *L)
{
    for (size_t i = 0; i < L->reg->nhosts; i++) {
        const reg_host *h = &L->reg->hosts[i];
        if (h->link)
            check_link(L, h);
        check_keys(L, h);
    }
    for (size_t i = 0; i < L->reg->nservices; i++)
        check_reachable(L, &L->reg->services[i]);
}

/* Sections are loaded in dependency order, whatever their order in the
 * file: hosts (services refer to them), defaults (services inherit them),
 * links, services; then what ties hosts and services together. */
static void load_root(loader *L)
{
    const yaml_node_t *root = yaml_document_get_root_node(&L->doc);
    const yaml_node_t *sections[NTOPKEYS] = {NULL};
    if (!root) {
        diag_add(&L->d, 1, ROOT_FIELD,
                 "the file is empty; expected a mapping with hosts and services");
        return;
    }
    if (!want_kind(L, root, YAML_MAPPING_NODE, ROOT_FIELD))
        return;
    map_each(L, root, "", on_top_key, sections);
    for (int k = T_HOSTS; k <= T_SERVICES; k++)
        if (!sections[k])
            diag_add(&L->d, node_line(root), top_keys[k].name,
                     "required key is missing");
    if (sections[T_HOSTS])
        load_hosts(L, sections[T_HOSTS]);
    if (sections[T_DEFAULTS])
        load_defaults(L, sections[T_DEFAULTS]);
    load_links(L, sections[T_LINKS]);
    if (sections[T_SERVICES])
        load_services(L, sections[T_SERVICES]);
    if (sections[T_HOSTS] && sections[T_SERVICES])
        cross_check(L);
}

/* ---------------------------------------------------------------------
 * Reading and parsing
 * --------------------------------------------------------------------- */

/* Line (1-based) of byte OFFSET of the file. */
static int line_at(const loader *L, size_t offset)
{
    int line = 1;
    for (size_t i = 0; i < offset && i < L->len; i++)
        line += L->text[i] == '\n';
    return line;
}

/* libyaml's problem, with the construct it was in ("while parsing a flow
 * sequence") and where that began, which is often the line to fix. */
static void report_parser_error(loader *L, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        L->oom = true;
        return;
    }
    int line = (int)p->problem_mark.line + 1;
    const char *problem = p->problem ? p->problem : "syntax error";
    /* The reader (encoding, NUL and control bytes) only gives an offset. */
    if (p->error == YAML_READER_ERROR)
        line = line_at(L, p->problem_offset);
    if (p->context)
        diag_add(&L->d, line, YAML_FIELD, "%s (%s started at line %d)",
                 problem, p->context, (int)p->context_mark.line + 1);
    else
        diag_add(&L->d, line, YAML_FIELD, "%s", problem);
}

/* What the raw event scan has seen so far. */
typedef struct scan_state {
    int docs;           /* documents begun */
    int depth;          /* collections open */
    int aliases;        /* aliases seen; the first is reported */
    int alias_line;
    char alias[48];
} scan_state;

/* The explicit tag of a node event, or NULL. */
static const char *event_tag(const yaml_event_t *ev)
{
    const yaml_char_t *tag = NULL;
    if (ev->type == YAML_SCALAR_EVENT)
        tag = ev->data.scalar.tag;
    else if (ev->type == YAML_SEQUENCE_START_EVENT)
        tag = ev->data.sequence_start.tag;
    else if (ev->type == YAML_MAPPING_START_EVENT)
        tag = ev->data.mapping_start.tag;
    return (const char *)tag;
}

/* Tracks nesting; false once it goes past REG_MAX_DEPTH. */
static bool check_depth(loader *L, const yaml_event_t *ev, scan_state *s,
                        int line)
{
    if (ev->type == YAML_SEQUENCE_END_EVENT || ev->type == YAML_MAPPING_END_EVENT)
        s->depth--;
    if (ev->type != YAML_SEQUENCE_START_EVENT &&
        ev->type != YAML_MAPPING_START_EVENT)
        return true;
    if (++s->depth <= REG_MAX_DEPTH)
        return true;
    diag_add(&L->d, line, YAML_FIELD,
             "nesting is deeper than " STR(REG_MAX_DEPTH) " levels "
             "(REG_MAX_DEPTH); a registry needs 4");
    return false;
}

/* Reports what the document loader would not: tags (refused: a registry
 * needs none, and another reader could build objects from them), aliases
 * (refused, so that no input can make the walk revisit shared nodes, as in
 * "billion laughs"; counted, and reported once) and documents after the
 * first. Returns false when the document must not be loaded. */
static bool check_event(loader *L, const yaml_event_t *ev, scan_state *s)
{
    int line = (int)ev->start_mark.line + 1;
    const char *tag = event_tag(ev);
    if (ev->type == YAML_ALIAS_EVENT) {
        if (s->aliases++ == 0) {
            s->alias_line = line;
            ab_strfmt(s->alias, sizeof s->alias, "%s",
                      (const char *)ev->data.alias.anchor);
        }
        return false;
    }
    if (tag) {
        diag_add(&L->d, line, YAML_FIELD,
                 "tag '%.80s': tags are not supported", tag);
        return false;
    }
    if (ev->type == YAML_DOCUMENT_START_EVENT && ++s->docs > 1) {
        diag_add(&L->d, line, YAML_FIELD, "only one YAML document is allowed");
        return false;
    }
    return true;
}

static void report_aliases(loader *L, const scan_state *s)
{
    if (s->aliases == 1)
        diag_add(&L->d, s->alias_line, YAML_FIELD,
                 "alias *%s: anchors and aliases are not supported", s->alias);
    else if (s->aliases > 1)
        diag_add(&L->d, s->alias_line, YAML_FIELD,
                 "alias *%s: anchors and aliases are not supported "
                 "(%d aliases in all)", s->alias, s->aliases);
}

/* First pass over TEXT as raw events; true when the document may be
 * loaded (no syntax error, alias or tag, one document, bounded depth). The
 * depth check stops the scan at once: libyaml's parse time grows with the
 * square of the depth, so an absurdly deep file must never reach it. */
static bool scan_events(loader *L, const char *text, size_t len)
{
    yaml_parser_t p;
    yaml_event_t ev;
    bool ok = true, done = false;
    scan_state s = {0};
    if (!yaml_parser_initialize(&p)) {
        L->oom = true;
        return false;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (!done) {
        if (!yaml_parser_parse(&p, &ev)) {
            report_parser_error(L, &p);
            ok = false;
            break;
        }
        ok &= check_event(L, &ev, &s);
        done = ev.type == YAML_STREAM_END_EVENT;
        if (!check_depth(L, &ev, &s, (int)ev.start_mark.line + 1))
            ok = false, done = true;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    report_aliases(L, &s);
    return ok;
}

/* Second pass: builds L->doc (deleted by the caller on success). */
static bool load_document(loader *L, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        L->oom = true;
        return false;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    bool ok = yaml_parser_load(&p, &L->doc) != 0;
    if (!ok)
        report_parser_error(L, &p);
    yaml_parser_delete(&p);
    return ok;
}

/* ---------------------------------------------------------------------
 * API
 * --------------------------------------------------------------------- */

static void loader_init(loader *L, const char *path)
{
    L->d.file = path;
    for (int k = 0; k < NKNOBS; k++)
        L->defaults[k] = svc_keys[k].def;
    L->reg = alloc_array(L, 1, sizeof *L->reg);
    if (L->reg)
        L->reg->path = dup_str(L, path);
}

/* Hands the registry to *OUT if the load was clean, else frees it and
 * fills ERR. */
static int loader_finish(loader *L, registry **out, char *err, size_t errlen)
{
    if (!L->oom && L->d.total == 0) {
        *out = L->reg;
        return AB_OK;
    }
    registry_free(L->reg);
    if (L->oom)
        return ab_seterr(err, errlen, "%s: out of memory", L->d.file);
    diag_write(&L->d, err, errlen);
    return AB_ERR;
}

int registry_load(const char *path, registry **out, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    *out = NULL;
    if (ab_read_file(path, REG_MAX_FILE_BYTES, "a registry", &text, &len, err,
                     errlen) != AB_OK)
        return AB_ERR;
    /* Heap: the loader holds the diagnostics, too big for a small stack. */
    loader *L = calloc(1, sizeof *L);
    if (!L) {
        free(text);
        return ab_seterr(err, errlen, "%s: out of memory", path);
    }
    loader_init(L, path);
    L->text = text;
    L->len = len;
    if (L->reg && scan_events(L, text, len) && load_document(L, text, len)) {
        load_root(L);
        yaml_document_delete(&L->doc);
    }
    free(text);
    int rc = loader_finish(L, out, err, errlen);
    free(L);
    return rc;
}

static void service_free(reg_service *s)
{
    for (size_t i = 0; i < s->nbackends; i++)
        free(s->backends[i]);
    free(s->backends);
    free(s->name);
    free(s->host);
}

void registry_free(registry *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->nhosts; i++) {
        free(reg->hosts[i].name);
        free(reg->hosts[i].link);
    }
    for (size_t i = 0; i < reg->nservices; i++)
        service_free(&reg->services[i]);
    free(reg->hosts);
    free(reg->services);
    free(reg->path);
    free(reg);
}

const reg_service *registry_service(const registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->nservices; i++)
        if (strcmp(reg->services[i].name, name) == 0)
            return &reg->services[i];
    return NULL;
}

const reg_host *registry_host(const registry *reg, const char *name)
{
    for (size_t i = 0; i < reg->nhosts; i++)
        if (strcmp(reg->hosts[i].name, name) == 0)
            return &reg->hosts[i];
    return NULL;
}
