/*
 * migrate_read.c: the first step of `agentbus migrate` (migrate.h): reads
 * docker-compose files and agent lists into the fleet model.
 *
 * These are other tools' files, so reading is lenient where the registry
 * loader is strict: unknown keys are ignored, anchors, aliases and merge
 * keys (<<) are followed, ${VAR:-default} takes its default. What cannot be
 * used is said, never guessed: an entry that is not an agent becomes a
 * skip with its reason, a port that cannot be read becomes a note, and a
 * broken agent list entry is an error with file and line.
 */
#include "migrate.h"

#include "common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define READ_MAX_ERRORS 50      /* problems reported per input */
#define READ_BUDGET 4000000L    /* sequence items and merged pairs visited per
                                   input: bounds what aliases can multiply */
#define READ_MAX_PORTS 64       /* ports kept per compose service */
#define NAME_CHARS                                                          \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

/* Images of services that are not agents (their basename, before ':'). */
static const char *const infra_images[] = {
    "redis", "valkey", "postgres", "mysql", "mariadb", "mongo", "rabbitmq",
    "nginx", "traefik", "haproxy", "memcached", "prometheus", "grafana",
    "elasticsearch", "minio", "etcd", "consul", "zookeeper", "kafka",
};

typedef struct kv {
    const yaml_node_t *key, *val;
} kv;

/* State of reading one input. */
typedef struct rd {
    yaml_document_t doc;
    mig_fleet *fleet;
    const mig_opts *opts;
    const char *file;  /* the fleet's copy */
    const char *host;  /* from HOST=FILE, or NULL */
    char *err;
    size_t errlen, errused;
    int nerrors;
    long budget;
    bool full;  /* MIG_MAX_AGENTS reached (said once) */
    bool deep;  /* merge keys nest too deep (said once) */
    bool oom;
} rd;

/* ------------------------------------------------------------ report -- */

/* Appends one line to the error buffer, or nothing if it does not fit. */
static void rd_append(rd *r, const char *line)
{
    if (!r->err || r->errused >= r->errlen)
        return;
    int n = snprintf(r->err + r->errused, r->errlen - r->errused, "%s%s",
                     r->errused ? "\n" : "", line);
    if (n > 0 && (size_t)n < r->errlen - r->errused)
        r->errused += (size_t)n;
    else
        r->err[r->errused] = '\0';
}

/* Reports "FILE:LINE: message"; control characters (from the input)
 * become '?' so that every problem stays one line. */
static void rd_error(rd *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rd_error(rd *r, int line, const char *fmt, ...)
{
    char msg[512], text[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (++r->nerrors > READ_MAX_ERRORS)
        return;
    ab_strfmt(text, sizeof text, "%s:%d: %s", r->file, line, msg);
    for (char *c = text; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    rd_append(r, text);
}

static char *rd_strdup(rd *r, const char *s)
{
    char *c = strdup(s ? s : "");
    r->oom |= c == NULL;
    return c;
}

/* Grows *arr (of *cap elements of SIZE) to hold one more; false if not. */
static bool grow(rd *r, void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, ncap * size);
    if (!p) {
        r->oom = true;
        return false;
    }
    *arr = p;
    *cap = ncap;
    return true;
}

/* A note for the change list: something read but not used, and why. */
static void rd_note(rd *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void rd_note(rd *r, int line, const char *fmt, ...)
{
    mig_fleet *f = r->fleet;
    char msg[512], text[640];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (f->nnotes >= MIG_MAX_NOTES) {
        f->notes_dropped++;
        return;
    }
    ab_strfmt(text, sizeof text, "%s:%d: %s", r->file, line, msg);
    for (char *c = text; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    if (grow(r, (void **)&f->notes, &f->cap_notes, f->nnotes, sizeof *f->notes))
        if ((f->notes[f->nnotes] = rd_strdup(r, text)))
            f->nnotes++;
}

/* ------------------------------------------------------- YAML nodes -- */

static const yaml_node_t *node(rd *r, yaml_node_item_t id)
{
    return yaml_document_get_node(&r->doc, id);
}

static int line_of(const yaml_node_t *n) { return n ? (int)n->start_mark.line + 1 : 1; }

/* The scalar's text, or NULL for anything else. */
static const char *sval(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_map(const yaml_node_t *n) { return n && n->type == YAML_MAPPING_NODE; }
static bool is_seq(const yaml_node_t *n) { return n && n->type == YAML_SEQUENCE_NODE; }

/* True (reported once) when merge keys nest deeper than allowed. */
static bool too_deep(rd *r, int depth, int line)
{
    if (depth < MIG_MAX_MERGE_DEPTH)
        return false;
    if (!r->deep)
        rd_error(r, line, "merge keys (<<) nest more than %d deep", MIG_MAX_MERGE_DEPTH);
    r->deep = true;
    return true;
}

/* Pays COST from the input's budget; false (reported once) when spent. */
static bool spend(rd *r, long cost)
{
    if (r->budget >= cost) {
        r->budget -= cost;
        return true;
    }
    if (r->budget >= 0)
        rd_error(r, 1, "aliases and merge keys expand to too much (the input "
                 "needs more than %ld steps to read)", READ_BUDGET);
    r->budget = -1;
    return false;
}

static bool kv_has(const kv *pairs, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(sval(pairs[i].key), key) == 0)
            return true;
    return false;
}

static void collect(rd *r, const yaml_node_t *map, kv *out, size_t cap, size_t *n,
                    int depth);

/* The maps a merge key's value names: one mapping or a sequence of them. */
static void collect_merged(rd *r, const yaml_node_t *v, kv *out, size_t cap,
                           size_t *n, int depth)
{
    if (too_deep(r, depth, line_of(v)))
        return;
    if (is_map(v)) {
        collect(r, v, out, cap, n, depth + 1);
        return;
    }
    if (!is_seq(v))
        return;
    for (yaml_node_item_t *i = v->data.sequence.items.start;
         i < v->data.sequence.items.top && spend(r, 1); i++)
        if (is_map(node(r, *i)))
            collect(r, node(r, *i), out, cap, n, depth + 1);
}

/* The pairs of MAP with scalar keys, its own first and then those of
 * merged maps, each key once (the first one wins, as YAML merges do). */
static void collect(rd *r, const yaml_node_t *map, kv *out, size_t cap, size_t *n,
                    int depth)
{
    const yaml_node_pair_t *p;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = sval(node(r, p->key));
        /* Merged pairs pay for the duplicate scan too: aliases can repeat
         * a map any number of times. */
        if ((depth > 0 && !spend(r, 1 + (long)*n)) || !k || strcmp(k, "<<") == 0 ||
            kv_has(out, *n, k))
            continue;
        if (*n == cap) {
            rd_error(r, line_of(map), "more than %zu entries in one mapping", cap);
            return;
        }
        out[(*n)++] = (kv){node(r, p->key), node(r, p->value)};
    }
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = sval(node(r, p->key));
        if (k && strcmp(k, "<<") == 0)
            collect_merged(r, node(r, p->value), out, cap, n, depth);
    }
}

/* Heap array of MAP's pairs (merges followed); NULL with *n = 0 if none. */
static kv *pairs_of(rd *r, const yaml_node_t *map, size_t cap, size_t *n)
{
    *n = 0;
    if (!is_map(map))
        return NULL;
    kv *out = calloc(cap, sizeof *out);
    r->oom |= out == NULL;
    if (out)
        collect(r, map, out, cap, n, 0);
    return out;
}

static const yaml_node_t *get_at(rd *r, const yaml_node_t *map, const char *key,
                                 int depth);

/* KEY in the maps a merge key's value names, in order. */
static const yaml_node_t *get_merged(rd *r, const yaml_node_t *v, const char *key,
                                     int depth)
{
    if (too_deep(r, depth, line_of(v)) || !spend(r, 1))
        return NULL;
    if (is_map(v))
        return get_at(r, v, key, depth + 1);
    if (!is_seq(v))
        return NULL;
    for (yaml_node_item_t *i = v->data.sequence.items.start;
         i < v->data.sequence.items.top && spend(r, 1); i++) {
        const yaml_node_t *found = get_at(r, node(r, *i), key, depth + 1);
        if (found)
            return found;
    }
    return NULL;
}

/* MAP[KEY]: its own pair first, then merged maps (as YAML merges do).
 * Pairs of merged maps are paid for from the budget. */
static const yaml_node_t *get_at(rd *r, const yaml_node_t *map, const char *key,
                                 int depth)
{
    const yaml_node_pair_t *p;
    if (!is_map(map))
        return NULL;
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = sval(node(r, p->key));
        if ((depth == 0 || spend(r, 1)) && k && strcmp(k, key) == 0)
            return node(r, p->value);
    }
    for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *k = sval(node(r, p->key));
        const yaml_node_t *found = k && strcmp(k, "<<") == 0
                                       ? get_merged(r, node(r, p->value), key, depth)
                                       : NULL;
        if (found)
            return found;
    }
    return NULL;
}

/* MAP[KEY], following merge keys; NULL when absent or MAP is no mapping. */
static const yaml_node_t *get(rd *r, const yaml_node_t *map, const char *key)
{
    return get_at(r, map, key, 0);
}

/* ------------------------------------------------ values and ports -- */

/* After "${" at P: the default of ${NAME:-default} or ${NAME-default},
 * its length in *len; NULL for ${NAME} and every other form. */
static const char *var_default(const char *p, size_t *len)
{
    p += strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");
    p += *p == ':';
    if (*p != '-' || !strchr(p, '}'))
        return NULL;
    *len = strcspn(p + 1, "}");
    return p + 1;
}

/* Compose variable syntax: ${NAME:-default} and ${NAME-default} take the
 * default, $$ is a dollar; ${NAME} and $NAME have no value here, so the
 * result is NULL. Otherwise a new string, never longer than S. */
static char *expand(rd *r, const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    if (!out) {
        r->oom = true;
        return NULL;
    }
    for (const char *c = s; *c;) {
        size_t len;
        const char *def = c[0] == '$' && c[1] == '{' ? var_default(c + 2, &len) : NULL;
        if (c[0] != '$') {
            *o++ = *c++;
        } else if (c[1] == '$') {
            *o++ = '$';
            c += 2;
        } else if (def) {
            memcpy(o, def, len);
            o += len;
            c = def + len + 1;
        } else {
            free(out);
            return NULL;
        }
    }
    *o = '\0';
    return out;
}

/* "5555" -> 5555; anything but 1..65535 in plain digits -> -1. */
static int port_num(const char *s)
{
    size_t n = s ? strspn(s, "0123456789") : 0;
    if (n == 0 || n > 5 || s[n] != '\0')
        return -1;
    long v = strtol(s, NULL, 10);
    return v >= 1 && v <= 65535 ? (int)v : -1;
}

typedef struct port_pair {
    int container, published;
} port_pair;

/* Compose's short port syntax, [IP:][PUBLISHED:]CONTAINER[/PROTO], with
 * variables already expanded. Returns NULL and fills *pp, or the reason
 * the entry is not used. */
static const char *parse_short_port(char *s, port_pair *pp)
{
    char *slash = strchr(s, '/');
    if (slash) {
        *slash = '\0';
        if (strcmp(slash + 1, "tcp") != 0)
            return "not TCP";
    }
    if (strchr(s, '-'))
        return "a port range";
    char *colon = strrchr(s, ':');
    pp->container = port_num(colon ? colon + 1 : s);
    pp->published = 0;
    if (colon) {
        *colon = '\0';
        char *prev = strrchr(s, ':');
        const char *pub = prev ? prev + 1 : s;
        /* "IP::5555" or "IP:5555" (no published port) leave it unknown. */
        if (*pub && !(prev == NULL && strchr(pub, '.')))
            pp->published = port_num(pub);
    }
    if (pp->container < 0 || pp->published < 0)
        return "not a port number";
    return NULL;
}

/* Compose's long syntax: {target, published, protocol}. */
static const char *parse_long_port(rd *r, const yaml_node_t *m, port_pair *pp)
{
    const char *proto = sval(get(r, m, "protocol"));
    const char *pub = sval(get(r, m, "published"));
    if (proto && strcmp(proto, "tcp") != 0)
        return "not TCP";
    pp->container = port_num(sval(get(r, m, "target")));
    pp->published = pub ? port_num(pub) : 0;
    if (pp->container < 0 || pp->published < 0)
        return "not a port number";
    return NULL;
}

/* One item of ports: or expose: into *pp; false (noted) when unusable. */
static bool read_port_item(rd *r, const char *where, const yaml_node_t *item,
                           port_pair *pp)
{
    const char *why;
    if (is_map(item)) {
        why = parse_long_port(r, item, pp);
    } else if (sval(item)) {
        char *s = expand(r, sval(item));
        why = s ? parse_short_port(s, pp) : "an unset variable";
        free(s);
    } else {
        why = "not a port entry";
    }
    if (why)
        rd_note(r, line_of(item), "%s: '%.60s' is %s: not used", where,
                sval(item) ? sval(item) : "(entry)", why);
    return why == NULL;
}

/* The TCP ports of a compose service: ports: first, then expose:, each
 * container port once. */
static size_t read_ports(rd *r, const char *svc, const yaml_node_t *s,
                         port_pair *out)
{
    static const char *const keys[] = {"ports", "expose"};
    size_t n = 0;
    for (size_t k = 0; k < AB_ARRAY_LEN(keys); k++) {
        const yaml_node_t *list = get(r, s, keys[k]);
        char where[160];
        ab_strfmt(where, sizeof where, "services.%s.%s", svc, keys[k]);
        if (!is_seq(list))
            continue;
        for (yaml_node_item_t *i = list->data.sequence.items.start;
             i < list->data.sequence.items.top && n < READ_MAX_PORTS && spend(r, 1); i++) {
            port_pair pp;
            bool dup = false;
            if (!read_port_item(r, where, node(r, *i), &pp))
                continue;
            for (size_t j = 0; j < n; j++)
                dup |= out[j].container == pp.container;
            if (!dup)
                out[n++] = pp;
        }
    }
    return n;
}

/* ------------------------------------------------------- environment -- */

static void add_env(rd *r, mig_agent *a, const char *name, const char *value,
                    int line)
{
    if (!name[0] || !value)
        return;
    if (a->nenv == MIG_MAX_ENV) {
        rd_note(r, line, "%s: more than %d environment variables: the rest are "
                "not examined", a->name, MIG_MAX_ENV);
        return;
    }
    char *v = expand(r, value);
    mig_env *e = &a->env[a->nenv];
    e->name = rd_strdup(r, name);
    e->value = v ? v : rd_strdup(r, value);
    e->line = line;
    a->nenv++;
}

/* environment: as a mapping (NAME: value) or a list ("NAME=value"). */
static void read_env(rd *r, mig_agent *a, const yaml_node_t *env)
{
    a->env = calloc(MIG_MAX_ENV, sizeof *a->env);
    if (!a->env) {
        r->oom = true;
        return;
    }
    if (is_seq(env)) {
        for (yaml_node_item_t *i = env->data.sequence.items.start;
             i < env->data.sequence.items.top && spend(r, 1); i++) {
            const char *s = sval(node(r, *i));
            const char *eq = s ? strchr(s, '=') : NULL;
            char name[256];
            if (!eq || (size_t)(eq - s) >= sizeof name)
                continue;
            ab_strfmt(name, sizeof name, "%.*s", (int)(eq - s), s);
            add_env(r, a, name, eq + 1, line_of(node(r, *i)));
        }
        return;
    }
    size_t n;
    kv *pairs = pairs_of(r, env, MIG_MAX_ENV, &n);
    for (size_t i = 0; i < n; i++)
        add_env(r, a, sval(pairs[i].key), sval(pairs[i].val), line_of(pairs[i].key));
    free(pairs);
}

/* ------------------------------------------------------------ fleet -- */

static bool host_valid(const char *h)
{
    size_t n = strlen(h);
    return n > 0 && n <= 64 && strspn(h, NAME_CHARS) == n;
}

static void add_host(rd *r, const char *host)
{
    mig_fleet *f = r->fleet;
    for (size_t i = 0; i < f->nhosts; i++)
        if (strcmp(f->hosts[i], host) == 0)
            return;
    if (grow(r, (void **)&f->hosts, &f->cap_hosts, f->nhosts, sizeof *f->hosts))
        if ((f->hosts[f->nhosts] = rd_strdup(r, host)))
            f->nhosts++;
}

static void add_skip(rd *r, const char *name, const char *host, int line,
                     const char *reason)
{
    mig_fleet *f = r->fleet;
    if (!grow(r, (void **)&f->skips, &f->cap_skips, f->nskips, sizeof *f->skips))
        return;
    f->skips[f->nskips++] = (mig_skip){rd_strdup(r, name), rd_strdup(r, host),
                                       (char *)r->file, line, rd_strdup(r, reason)};
}

/* A new agent NAME on HOST at LINE, zeroed but for what is given. */
static mig_agent *add_agent(rd *r, const char *name, const char *host, int line)
{
    mig_fleet *f = r->fleet;
    if (f->nagents == MIG_MAX_AGENTS) {
        if (!r->full)
            rd_error(r, line, "more than %d agents: a registry holds at most %d "
                     "services", MIG_MAX_AGENTS, MIG_MAX_AGENTS);
        r->full = true;
        return NULL;
    }
    if (!grow(r, (void **)&f->agents, &f->cap_agents, f->nagents, sizeof *f->agents))
        return NULL;
    mig_agent *a = &f->agents[f->nagents++];
    memset(a, 0, sizeof *a);
    a->name = rd_strdup(r, name);
    a->host = rd_strdup(r, host);
    a->file = (char *)r->file;
    a->line = line;
    a->collision = -1;
    add_host(r, host);
    return a;
}

/* ---------------------------------------------------------- compose -- */

/* The image's name without registry, path and tag: "redis" for
 * "docker.io/library/redis:7". */
static void image_base(const char *image, char *out, size_t len)
{
    const char *slash = strrchr(image, '/');
    const char *b = slash ? slash + 1 : image;
    ab_strfmt(out, len, "%.*s", (int)strcspn(b, ":@"), b);
}

/* Why compose service NAME (with IMAGE) is not an agent, or NULL. */
static const char *not_an_agent(rd *r, const char *name, const char *image)
{
    char base[128];
    for (size_t i = 0; i < r->opts->nskip; i++)
        if (strcmp(r->opts->skip[i], name) == 0)
            return "left out with --skip";
    if (!image)
        return NULL;
    image_base(image, base, sizeof base);
    if (strcmp(base, "agentbus") == 0)
        return "the agentbus broker itself";
    for (size_t i = 0; i < AB_ARRAY_LEN(infra_images); i++)
        if (strcmp(base, infra_images[i]) == 0)
            return "its image is infrastructure, not a ZeroMQ agent";
    return NULL;
}

/* Expanded scalar at KEY of MAP, or NULL (absent, or an unset variable). */
static char *get_str(rd *r, const yaml_node_t *map, const char *key)
{
    const char *s = sval(get(r, map, key));
    return s ? expand(r, s) : NULL;
}

static void fill_compose_agent(rd *r, mig_agent *a, const char *svc,
                               const yaml_node_t *s, const char *image,
                               port_pair pp, size_t nports)
{
    const char *mode = sval(get(r, s, "network_mode"));
    a->kind = mode && strcmp(mode, "host") == 0 ? MIG_PROCESS : MIG_CONTAINER;
    a->image = image ? rd_strdup(r, image) : NULL;
    a->aliases[0] = rd_strdup(r, svc);
    a->aliases[1] = get_str(r, s, "container_name");
    a->aliases[2] = get_str(r, s, "hostname");
    a->port = pp.container;
    a->published = a->kind == MIG_PROCESS ? pp.container : pp.published;
    a->nports = (int)nports;
    a->env_file = get(r, s, "env_file") != NULL;
    read_env(r, a, get(r, s, "environment"));
}

/* One compose service: an agent per TCP port, or a skip saying why not. */
static void read_compose_service(rd *r, const char *svc, const yaml_node_t *s,
                                 int line)
{
    port_pair ports[READ_MAX_PORTS];
    if (!is_map(s)) {
        rd_error(r, line, "services.%s: expected a mapping", svc);
        return;
    }
    char *image = get_str(r, s, "image");
    const char *why = not_an_agent(r, svc, image);
    size_t n = why ? 0 : read_ports(r, svc, s, ports);
    if (!why && n == 0)
        why = "no TCP port under ports: or expose:";
    if (why)
        add_skip(r, svc, r->host, line, why);
    for (size_t i = 0; i < n; i++) {
        char name[160];
        if (i == 0)
            ab_strfmt(name, sizeof name, "%s", svc);
        else
            ab_strfmt(name, sizeof name, "%s-%d", svc, ports[i].container);
        mig_agent *a = add_agent(r, name, r->host, line);
        if (a)
            fill_compose_agent(r, a, svc, s, image, ports[i], n);
    }
    free(image);
}

static void read_compose(rd *r, const yaml_node_t *services)
{
    size_t n;
    if (!r->host) {
        rd_error(r, 1, "a compose file does not say which host runs it: "
                 "give it as HOST=%s", r->file);
        return;
    }
    if (!is_map(services)) {
        rd_error(r, line_of(services), "services: expected a mapping");
        return;
    }
    kv *pairs = pairs_of(r, services, MIG_MAX_AGENTS, &n);
    for (size_t i = 0; i < n; i++)
        read_compose_service(r, sval(pairs[i].key), pairs[i].val, line_of(pairs[i].key));
    free(pairs);
}

/* ------------------------------------------------------- agent lists -- */

/* The port of an agent list entry: port: N, or the port of bind:,
 * endpoint: or address: ("tcp://0.0.0.0:5555"). -1 if none. */
static int entry_port(rd *r, const yaml_node_t *e)
{
    static const char *const keys[] = {"bind", "endpoint", "address"};
    const char *p = sval(get(r, e, "port"));
    if (p)
        return port_num(p);
    for (size_t i = 0; i < AB_ARRAY_LEN(keys); i++) {
        const char *ep = sval(get(r, e, keys[i]));
        const char *colon = ep ? strrchr(ep, ':') : NULL;
        if (colon)
            return port_num(colon + 1);
    }
    return -1;
}

/* One entry: NAME (from a mapping key, or its name:) with port and host. */
static void read_entry(rd *r, const char *key, const yaml_node_t *e,
                       const char *host, const char *path)
{
    int line = line_of(e);
    const char *name = key ? key : sval(get(r, e, "name"));
    const char *h = sval(get(r, e, "host"));
    int port = is_map(e) ? entry_port(r, e) : port_num(sval(e));
    h = h ? h : host;
    if (!name || !name[0]) {
        rd_error(r, line, "%s: no name (name: NAME)", path);
        return;
    }
    if (port < 0) {
        rd_error(r, line, "%s: no valid port (port: 1..65535, or bind: tcp://*:PORT)",
                 path);
        return;
    }
    if (!h) {
        rd_error(r, line, "%s: no host (host: NAME, or give the file as HOST=FILE)",
                 path);
        return;
    }
    if (!host_valid(h)) {
        rd_error(r, line, "%s: host '%.64s' is not a valid host name "
                 "([A-Za-z0-9_.-], at most 64)", path, h);
        return;
    }
    mig_agent *a = add_agent(r, name, h, line);
    if (!a)
        return;
    a->kind = MIG_PROCESS;
    a->port = a->published = port;
    a->nports = 1;
    const yaml_node_t *env = get(r, e, "env");
    read_env(r, a, env ? env : get(r, e, "environment"));
}

/* agents: as a sequence of entries or a mapping NAME -> entry. */
static void read_agent_list(rd *r, const yaml_node_t *list, const char *host,
                            const char *path)
{
    char item[200];
    if (is_seq(list)) {
        size_t i = 0;
        for (yaml_node_item_t *it = list->data.sequence.items.start;
             it < list->data.sequence.items.top && spend(r, 1); it++, i++) {
            ab_strfmt(item, sizeof item, "%s[%zu]", path, i);
            if (is_map(node(r, *it)))
                read_entry(r, NULL, node(r, *it), host, item);
            else
                rd_error(r, line_of(node(r, *it)), "%s: expected a mapping", item);
        }
        return;
    }
    if (!is_map(list)) {
        rd_error(r, line_of(list), "%s: expected a list or a mapping of agents", path);
        return;
    }
    size_t n;
    kv *pairs = pairs_of(r, list, MIG_MAX_AGENTS, &n);
    for (size_t i = 0; i < n; i++) {
        ab_strfmt(item, sizeof item, "%s.%s", path, sval(pairs[i].key));
        read_entry(r, sval(pairs[i].key), pairs[i].val, host, item);
    }
    free(pairs);
}

/* hosts: HOST -> {agents: ...} or HOST -> [agents]. */
static void read_hosts(rd *r, const yaml_node_t *hosts)
{
    size_t n;
    if (!is_map(hosts)) {
        rd_error(r, line_of(hosts), "hosts: expected a mapping of host names");
        return;
    }
    kv *pairs = pairs_of(r, hosts, 1024, &n);
    for (size_t i = 0; i < n; i++) {
        const char *h = sval(pairs[i].key);
        const yaml_node_t *v = pairs[i].val;
        char path[128];
        ab_strfmt(path, sizeof path, "hosts.%s.agents", h);
        if (!host_valid(h))
            rd_error(r, line_of(pairs[i].key), "hosts.%.64s: not a valid host name "
                     "([A-Za-z0-9_.-], at most 64)", h);
        else
            read_agent_list(r, is_map(v) ? get(r, v, "agents") : v, h, path);
    }
    free(pairs);
}

/* -------------------------------------------------------------- API -- */

static void read_root(rd *r)
{
    const yaml_node_t *root = yaml_document_get_root_node(&r->doc);
    if (!is_map(root)) {
        rd_error(r, line_of(root), "expected a docker-compose file (services:) or an "
                 "agent list (agents: or hosts:)");
        return;
    }
    const yaml_node_t *services = get(r, root, "services");
    const yaml_node_t *agents = get(r, root, "agents");
    const yaml_node_t *hosts = get(r, root, "hosts");
    if (services)
        read_compose(r, services);
    else if (agents)
        read_agent_list(r, agents, r->host, "agents");
    else if (hosts)
        read_hosts(r, hosts);
    else
        rd_error(r, line_of(root), "neither a docker-compose file (services:) nor "
                 "an agent list (agents: or hosts:)");
}

static bool parse(rd *r, const char *text, size_t len)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        r->oom = true;
        return false;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    bool ok = yaml_parser_load(&p, &r->doc) != 0;
    if (!ok)
        rd_error(r, (int)p.problem_mark.line + 1, "yaml: %s",
                 p.problem ? p.problem : "syntax error");
    yaml_parser_delete(&p);
    return ok;
}

/* Keeps PATH in the fleet (agents point at it); NULL when out of memory. */
static const char *keep_file(mig_fleet *f, const char *path)
{
    char **files = realloc(f->files, (f->nfiles + 1) * sizeof *files);
    if (!files)
        return NULL;
    f->files = files;
    return (f->files[f->nfiles] = strdup(path)) ? f->files[f->nfiles++] : NULL;
}

int mig_read(mig_fleet *fleet, const char *host, const char *path,
             const mig_opts *opts, char *err, size_t errlen)
{
    rd r = {.fleet = fleet, .opts = opts, .host = host, .err = err,
            .errlen = errlen, .budget = READ_BUDGET};
    char *text;
    size_t len;
    if (err && errlen)
        err[0] = '\0';
    if (ab_read_file(path, MIG_MAX_FILE_BYTES, "a migrate input", &text, &len, err,
                     errlen) != AB_OK)
        return AB_ERR;
    r.file = keep_file(fleet, path);
    if (r.file && parse(&r, text, len)) {
        read_root(&r);
        yaml_document_delete(&r.doc);
    }
    free(text);
    if (!r.file || r.oom)
        return ab_seterr(err, errlen, "%s: out of memory", path);
    if (r.nerrors > READ_MAX_ERRORS) {
        char more[64];
        ab_strfmt(more, sizeof more, "... %d more problems",
                  r.nerrors - READ_MAX_ERRORS);
        rd_append(&r, more);
    }
    return r.nerrors ? AB_ERR : AB_OK;
}

static void free_agent(mig_agent *a)
{
    for (size_t i = 0; i < a->nenv; i++) {
        free(a->env[i].name);
        free(a->env[i].value);
    }
    for (size_t i = 0; i < a->nchanges; i++) {
        free(a->changes[i].old_value);
        free(a->changes[i].new_value);
    }
    for (size_t i = 0; i < AB_ARRAY_LEN(a->aliases); i++)
        free(a->aliases[i]);
    free(a->env);
    free(a->changes);
    free(a->name);
    free(a->host);
    free(a->image);
    free(a->service);
    free(a->dial_name);
}

void mig_fleet_free(mig_fleet *f)
{
    for (size_t i = 0; i < f->nagents; i++)
        free_agent(&f->agents[i]);
    for (size_t i = 0; i < f->nskips; i++) {
        free(f->skips[i].name);
        free(f->skips[i].host);
        free(f->skips[i].reason);
    }
    for (size_t i = 0; i < f->nhosts; i++)
        free(f->hosts[i]);
    for (size_t i = 0; i < f->nnotes; i++)
        free(f->notes[i]);
    for (size_t i = 0; i < f->nfiles; i++)
        free(f->files[i]);
    for (size_t i = 0; i < f->naddresses; i++) {
        free(f->addresses[i].host);
        free(f->addresses[i].address);
    }
    free(f->agents);
    free(f->skips);
    free(f->hosts);
    free(f->notes);
    free(f->files);
    memset(f, 0, sizeof *f);
}
