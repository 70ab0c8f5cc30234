/*
 * migrate_plan.c: the second step of `agentbus migrate` (migrate.h): from
 * the fleet as read, decides each agent's registry service (name, port,
 * backend) and what its configuration must change.
 *
 * Ports: every broker binds every service port, so a port must be unique
 * in the whole registry. Agents keep the port they bind today; when several
 * agents bind the same port (in their own containers, or on different
 * hosts), the first one in input order keeps it and each other one gets
 * the next free port. Backends: a container is dialled by name on its own
 * port (it does not change); a host process moves to a backend port
 * (service port + MIG_BACKEND_OFFSET when free) on 127.0.0.1, since the
 * broker now owns the service port on its host.
 *
 * Changes: an environment value that names another agent's endpoint
 * (tcp://NAME:PORT, NAME:PORT, or a NAME_HOST/NAME_PORT pair) is rewritten
 * to the broker and the agent's service port; a host process's own port
 * variable moves to its backend port.
 */
#include "migrate.h"

#include "common.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NPORTS 65536
#define FIRST_FREE_MIN 1024  /* ports handed out are never privileged */
#define NAME_MAX_LEN 64
#define NAME_CHARS                                                          \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
#define DNS_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-"
#define HOST_CHARS DNS_CHARS "_"
#define NO_AGENT (-1)

/* Working state of one plan. */
typedef struct planner {
    mig_fleet *f;
    const mig_opts *opts;
    mig_plan *plan;
    bool taken[NPORTS];      /* service ports of the registry, and ports in
                                use today (bound or published) */
    int next_free;           /* where the search for a free port resumes */
    int head[NPORTS];        /* agents by the port they bind today */
    int *next;               /* ... chained through next[agent] */
    bool oom;
} planner;

bool mig_dns_name(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && n <= 253 && strspn(s, DNS_CHARS) == n && !strchr(".-", s[0]) &&
           !strchr(".-", s[n - 1]) && !strstr(s, "..");
}

static char *plan_strdup(planner *p, const char *s)
{
    char *c = strdup(s);
    p->oom |= c == NULL;
    return c;
}

static void warn(planner *p, const char *text)
{
    char **w = realloc(p->plan->warnings, (p->plan->nwarnings + 1) * sizeof *w);
    if (!w) {
        p->oom = true;
        return;
    }
    p->plan->warnings = w;
    if ((w[p->plan->nwarnings] = plan_strdup(p, text)))
        p->plan->nwarnings++;
}

/* ------------------------------------------------------------ names -- */

static bool service_taken(const mig_fleet *f, size_t upto, const char *name)
{
    for (size_t i = 0; i < upto; i++)
        if (f->agents[i].service && strcmp(f->agents[i].service, name) == 0)
            return true;
    return false;
}

/* NAME, with characters the registry refuses as '-', cut so that SUFFIX
 * fits after it, then SUFFIX; "agent" stands in for an empty name. */
static void make_name(const char *name, const char *suffix,
                      char out[NAME_MAX_LEN + 1])
{
    size_t room = NAME_MAX_LEN - strlen(suffix), n = 0;
    for (const char *c = name[0] ? name : "agent"; *c && n < room; c++)
        out[n++] = strchr(NAME_CHARS, *c) ? *c : '-';
    ab_strfmt(out + n, NAME_MAX_LEN + 1 - n, "%s", suffix);
}

/* A registry name for agent I, unique among the agents before it: its own
 * name, else NAME-HOST (short host names only), else NAME-2, NAME-3, ... */
static void name_service(planner *p, size_t i)
{
    mig_agent *a = &p->f->agents[i];
    char name[NAME_MAX_LEN + 1], suffix[40] = "";
    make_name(a->name, suffix, name);
    if (service_taken(p->f, i, name) && strlen(a->host) <= 32) {
        ab_strfmt(suffix, sizeof suffix, "-%s", a->host);
        make_name(a->name, suffix, name);
    }
    for (int k = 2; service_taken(p->f, i, name); k++) {
        ab_strfmt(suffix, sizeof suffix, "-%d", k);
        make_name(a->name, suffix, name);
    }
    a->service = plan_strdup(p, name);
}

/* The name the broker dials a container by: its first name that is a DNS
 * name, else one made from the service name, to be added as an alias. */
static void name_dial(planner *p, mig_agent *a)
{
    for (size_t k = 0; k < AB_ARRAY_LEN(a->aliases); k++) {
        if (a->aliases[k] && mig_dns_name(a->aliases[k])) {
            a->dial_name = plan_strdup(p, a->aliases[k]);
            return;
        }
    }
    char name[NAME_MAX_LEN + 1];
    size_t n = 0;
    for (const char *c = a->service; *c && n < NAME_MAX_LEN; c++)
        name[n++] = strchr(DNS_CHARS, *c) ? *c : '-';
    while (n > 0 && strchr(".-", name[n - 1]))
        n--;
    name[n] = '\0';
    a->dial_name = plan_strdup(p, mig_dns_name(name) ? name : "agent");
    a->dial_alias = true;
}

/* ------------------------------------------------------------ ports -- */

static int free_port(planner *p)
{
    while (p->next_free < NPORTS && p->taken[p->next_free])
        p->next_free++;
    return p->next_free < NPORTS ? p->next_free : 0;
}

/* Records a collision on PORT: every agent that binds it, input order. */
static int add_collision(planner *p, int port)
{
    mig_plan *pl = p->plan;
    size_t n = 0;
    for (int i = p->head[port]; i != NO_AGENT; i = p->next[i])
        n++;
    mig_collision *c = realloc(pl->collisions, (pl->ncollisions + 1) * sizeof *c);
    size_t *members = calloc(n, sizeof *members);
    if (!c || !members) {
        free(members);
        p->oom = true;
        if (c)
            pl->collisions = c;
        return -1;
    }
    pl->collisions = c;
    c[pl->ncollisions] = (mig_collision){port, members, n};
    /* The chain runs newest first: fill from the back. */
    for (int i = p->head[port]; i != NO_AGENT; i = p->next[i])
        members[--n] = (size_t)i;
    return (int)pl->ncollisions++;
}

/* Chains the agents by port and reserves every port bound or published
 * today, so that no agent is moved onto a port another one keeps or onto
 * one a host still uses while it moves over. */
static int index_ports(planner *p, char *err, size_t errlen)
{
    int highest = 0;
    p->next = malloc((p->f->nagents ? p->f->nagents : 1) * sizeof *p->next);
    if (!p->next)
        return ab_seterr(err, errlen, "out of memory");
    for (int port = 0; port < NPORTS; port++)
        p->head[port] = NO_AGENT;
    for (size_t i = 0; i < p->f->nagents; i++) {
        int port = p->f->agents[i].port;
        p->next[i] = p->head[port];
        p->head[port] = (int)i;
        int published = p->f->agents[i].published;
        p->taken[port] = p->taken[published] = true;
        highest = port > highest ? port : highest;
        highest = published > highest ? published : highest;
    }
    p->next_free = p->opts->port_base ? p->opts->port_base : highest + 1;
    if (p->next_free < FIRST_FREE_MIN)
        p->next_free = FIRST_FREE_MIN;
    return AB_OK;
}

/* A DNS name, or an IPv4 address when it is all digits and dots (as the
 * registry reads a link's host). */
static bool link_host_valid(const char *s)
{
    struct in_addr addr;
    if (strspn(s, "0123456789.") == strlen(s))
        return inet_pton(AF_INET, s, &addr) == 1;
    return mig_dns_name(s);
}

/* The address other brokers dial host H's link at (and H's broker binds):
 * the first usable --address given for H, else H's name. */
static const char *link_address(const mig_fleet *f, const char *host)
{
    for (size_t i = 0; i < f->naddresses; i++)
        if (strcmp(f->addresses[i].host, host) == 0 &&
            link_host_valid(f->addresses[i].address))
            return f->addresses[i].address;
    return link_host_valid(host) ? host : NULL;
}

/* Fleets on several hosts: a link endpoint per host, on a port no agent
 * uses today (it is then reserved: no agent is moved onto it). */
static int plan_links(planner *p, char *err, size_t errlen)
{
    int port = p->opts->link_port;
    if (p->f->nhosts < 2)
        return AB_OK;
    if (p->taken[port])
        return ab_seterr(err, errlen, "the link port %d is bound or published by an "
                         "agent today: choose another with --link-port", port);
    p->taken[port] = true;
    p->plan->links = calloc(p->f->nhosts, sizeof *p->plan->links);
    p->plan->public_keys = calloc(p->f->nhosts, sizeof *p->plan->public_keys);
    if (!p->plan->links || !p->plan->public_keys)
        return ab_seterr(err, errlen, "out of memory");
    p->plan->nhosts_linked = p->f->nhosts;
    for (size_t h = 0; h < p->f->nhosts; h++) {
        const char *addr = link_address(p->f, p->f->hosts[h]);
        char link[300];
        if (!addr)
            return ab_seterr(err, errlen, "host %s: its name is not a DNS name, so "
                             "the other brokers cannot dial it: give "
                             "--address %s=ADDRESS", p->f->hosts[h], p->f->hosts[h]);
        ab_strfmt(link, sizeof link, "tcp://%s:%d", addr, port);
        p->plan->links[h] = plan_strdup(p, link);
    }
    return AB_OK;
}

/* Service ports: kept, or for each but the first agent of a shared port,
 * the next free one. */
static int assign_ports(planner *p, char *err, size_t errlen)
{
    for (size_t i = 0; i < p->f->nagents; i++) {
        mig_agent *a = &p->f->agents[i];
        int first = p->head[a->port];
        while (p->next[first] != NO_AGENT)
            first = p->next[first];
        a->new_port = a->port;
        if (p->next[p->head[a->port]] == NO_AGENT)
            continue; /* nobody else binds it */
        if ((size_t)first == i) {
            a->collision = add_collision(p, a->port);
            continue;
        }
        a->collision = p->f->agents[first].collision;
        if (!(a->new_port = free_port(p)))
            return ab_seterr(err, errlen, "no free port left for %s (ports from %d "
                             "up are all taken; try a lower --port-base)",
                             a->name, p->opts->port_base);
        p->taken[a->new_port] = true;
    }
    return AB_OK;
}

static size_t host_index(const mig_fleet *f, const char *host)
{
    for (size_t h = 0; h < f->nhosts; h++)
        if (strcmp(f->hosts[h], host) == 0)
            return h;
    return 0;
}

/* Backend ports of host processes: PORT + MIG_BACKEND_OFFSET if free on
 * the agent's host and no service port, else the next such port up (then
 * from FIRST_FREE_MIN). Containers keep theirs. */
static int assign_backends(planner *p, char *err, size_t errlen)
{
    bool *used = calloc(p->f->nhosts ? p->f->nhosts : 1, NPORTS);
    if (!used)
        return ab_seterr(err, errlen, "out of memory");
    for (size_t i = 0; i < p->f->nagents; i++) {
        mig_agent *a = &p->f->agents[i];
        bool *host_used = used + host_index(p->f, a->host) * NPORTS;
        int c = a->new_port + MIG_BACKEND_OFFSET, tries = NPORTS;
        a->backend_port = a->port;
        if (a->kind == MIG_CONTAINER)
            continue;
        for (; tries-- > 0 && (c >= NPORTS || p->taken[c] || host_used[c]);
             c = c + 1 >= NPORTS ? FIRST_FREE_MIN : c + 1)
            ;
        if (tries < 0) {
            free(used);
            return ab_seterr(err, errlen, "no free backend port left on host %s",
                             a->host);
        }
        host_used[c] = true;
        a->backend_port = c;
    }
    free(used);
    return AB_OK;
}

/* ---------------------------------------------------------- changes -- */

static bool host_is(const mig_fleet *f, const char *host, const char *name, size_t len)
{
    if (strlen(host) == len && strncmp(host, name, len) == 0)
        return true;
    for (size_t i = 0; i < f->naddresses; i++)
        if (strcmp(f->addresses[i].host, host) == 0 &&
            strlen(f->addresses[i].address) == len &&
            strncmp(f->addresses[i].address, name, len) == 0)
            return true;
    return false;
}

static bool is_alias(const mig_agent *b, const char *name, size_t len)
{
    for (size_t k = 0; k < AB_ARRAY_LEN(b->aliases); k++)
        if (b->aliases[k] && strlen(b->aliases[k]) == len &&
            strncmp(b->aliases[k], name, len) == 0)
            return true;
    return false;
}

static bool is_local(const char *name, size_t len)
{
    return (len == 9 && strncmp(name, "localhost", len) == 0) ||
           (len == 9 && strncmp(name, "127.0.0.1", len) == 0);
}

/* Does NAME:PORT, as agent A uses it, reach agent B today? By B's name on
 * the compose network they share, by B's host (name or --address) and the
 * port B is reachable on there, or as localhost from a process beside it. */
static bool reaches(const mig_fleet *f, const mig_agent *a, const mig_agent *b,
                    const char *name, size_t len, int port)
{
    bool same_host = strcmp(a->host, b->host) == 0;
    int host_port = b->kind == MIG_PROCESS ? b->port : b->published;
    if (a == b)
        return false;
    if (a->kind == MIG_CONTAINER && b->kind == MIG_CONTAINER && same_host &&
        port == b->port && is_alias(b, name, len))
        return true;
    if (host_port != port || port == 0)
        return false;
    return host_is(f, b->host, name, len) ||
           (same_host && a->kind == MIG_PROCESS && is_local(name, len));
}

/* The agent NAME:PORT reaches from A, or NO_AGENT. */
static int target_of(const planner *p, const mig_agent *a, const char *name,
                     size_t len, int port)
{
    for (size_t i = 0; i < p->f->nagents; i++) {
        const mig_agent *b = &p->f->agents[i];
        if ((b->port == port || b->published == port) &&
            reaches(p->f, a, b, name, len, port))
            return (int)i;
    }
    return NO_AGENT;
}

/* Where agent A reaches the broker. */
static const char *broker_addr(const planner *p, const mig_agent *a)
{
    return a->kind == MIG_CONTAINER ? p->opts->broker_name : "127.0.0.1";
}

static void add_change(planner *p, mig_agent *a, const mig_env *e,
                       const char *new_value, int target)
{
    if (strcmp(e->value, new_value) == 0)
        return;
    mig_change *c = realloc(a->changes, (a->nchanges + 1) * sizeof *c);
    if (!c) {
        p->oom = true;
        return;
    }
    a->changes = c;
    c[a->nchanges++] = (mig_change){e->name, plan_strdup(p, e->value),
                                    plan_strdup(p, new_value), target};
}

/* One HOST:PORT reference found in a value. */
typedef struct ref {
    size_t start, host_len, end; /* host at [start, start+host_len), port up to end */
    int port;
} ref;

/* The next "HOST:PORT" in V at or after *pos whose scheme, if any, is
 * tcp://; false when there is none. */
static bool next_ref(const char *v, size_t *pos, ref *r)
{
    for (const char *c = strchr(v + *pos, ':'); c; c = strchr(c + 1, ':')) {
        size_t digits = strspn(c + 1, "0123456789");
        size_t host_start = (size_t)(c - v);
        while (host_start > 0 && strchr(HOST_CHARS, v[host_start - 1]))
            host_start--;
        bool scheme = host_start >= 3 && strncmp(v + host_start - 3, "://", 3) == 0;
        if (digits == 0 || digits > 5 || host_start == (size_t)(c - v) ||
            (c[1 + digits] && strchr(HOST_CHARS, c[1 + digits])) ||
            (scheme && (host_start < 6 || strncmp(v + host_start - 6, "tcp", 3) != 0)))
            continue;
        r->start = host_start;
        r->host_len = (size_t)(c - v) - host_start;
        r->end = (size_t)(c - v) + 1 + digits;
        r->port = (int)strtol(c + 1, NULL, 10);
        *pos = r->end;
        return true;
    }
    return false;
}

/* Rewrites every reference to another agent in E's value (at most one
 * target is recorded: the first). */
static void rewrite_refs(planner *p, mig_agent *a, const mig_env *e)
{
    char out[MIG_MAX_VALUE * 2];
    size_t pos = 0, copied = 0, o = 0;
    int first = NO_AGENT;
    ref r;
    if (strlen(e->value) > MIG_MAX_VALUE)
        return;
    while (o < sizeof out && next_ref(e->value, &pos, &r)) {
        int t = r.port <= 65535 ? target_of(p, a, e->value + r.start, r.host_len, r.port)
                                : NO_AGENT;
        if (t == NO_AGENT)
            continue;
        o += (size_t)snprintf(out + o, sizeof out - o, "%.*s%s:%d",
                              (int)(r.start - copied), e->value + copied,
                              broker_addr(p, a), p->f->agents[t].new_port);
        copied = r.end;
        first = first == NO_AGENT ? t : first;
    }
    if (first == NO_AGENT || o >= sizeof out)
        return;
    snprintf(out + o, sizeof out - o, "%s", e->value + copied);
    add_change(p, a, e, out, first);
}

/* NAME ends with one of the suffixes (case-insensitive); its length
 * without the suffix, or 0. */
static size_t strip_suffix(const char *name, const char *const *suffixes, size_t n)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < n; i++) {
        size_t sl = strlen(suffixes[i]);
        if (len > sl && strcasecmp(name + len - sl, suffixes[i]) == 0)
            return len - sl;
    }
    return 0;
}

static const mig_env *find_env(const mig_agent *a, const char *prefix, size_t plen,
                               const char *suffix)
{
    for (size_t i = 0; i < a->nenv; i++) {
        const char *n = a->env[i].name;
        if (strlen(n) == plen + strlen(suffix) && strncmp(n, prefix, plen) == 0 &&
            strcasecmp(n + plen, suffix) == 0)
            return &a->env[i];
    }
    return NULL;
}

/* PREFIX_HOST=NAME with PREFIX_PORT=PORT naming another agent: both move
 * to the broker. E is the host variable. */
static void rewrite_pair(planner *p, mig_agent *a, const mig_env *e)
{
    static const char *const host_suffixes[] = {"_HOST", "_HOSTNAME", "_ADDR",
                                                "_ADDRESS"};
    size_t plen = strip_suffix(e->name, host_suffixes, AB_ARRAY_LEN(host_suffixes));
    const mig_env *port = plen ? find_env(a, e->name, plen, "_PORT") : NULL;
    if (!port || strspn(port->value, "0123456789") != strlen(port->value) ||
        strlen(port->value) == 0 || strlen(port->value) > 5 ||
        strspn(e->value, HOST_CHARS) != strlen(e->value))
        return;
    int t = target_of(p, a, e->value, strlen(e->value), atoi(port->value));
    if (t == NO_AGENT)
        return;
    char num[8];
    snprintf(num, sizeof num, "%d", p->f->agents[t].new_port);
    add_change(p, a, e, broker_addr(p, a), t);
    add_change(p, a, port, num, t);
}

/* Does NAME contain WORD, ignoring case? */
static bool has_word(const char *name, const char *word)
{
    size_t wl = strlen(word);
    for (const char *c = name; *c; c++)
        if (strncasecmp(c, word, wl) == 0)
            return true;
    return false;
}

/* A host process's own port: a *PORT*, *BIND*, *LISTEN* or *ENDPOINT*
 * variable holding its port, or an endpoint on it, moves to the backend
 * port on 127.0.0.1. */
static void rewrite_own_bind(planner *p, mig_agent *a, const mig_env *e)
{
    static const char *const words[] = {"PORT", "BIND", "LISTEN", "ENDPOINT", "ADDR"};
    char port[8], out[MIG_MAX_VALUE + 32];
    bool named = false;
    for (size_t i = 0; i < AB_ARRAY_LEN(words); i++)
        named |= has_word(e->name, words[i]);
    snprintf(port, sizeof port, "%d", a->port);
    if (!named || strlen(e->value) > MIG_MAX_VALUE)
        return;
    if (strcmp(e->value, port) == 0) {
        snprintf(out, sizeof out, "%d", a->backend_port);
    } else {
        const char *colon = strrchr(e->value, ':');
        if (!colon || strncmp(e->value, "tcp://", 6) != 0 || strcmp(colon + 1, port) != 0)
            return;
        snprintf(out, sizeof out, "tcp://127.0.0.1:%d", a->backend_port);
    }
    a->bind_found = true;
    add_change(p, a, e, out, NO_AGENT);
}

/* Every change of agent A's environment. A variable is changed once: the
 * first rule that applies wins. */
static void plan_changes(planner *p, mig_agent *a)
{
    for (size_t i = 0; i < a->nenv; i++) {
        const mig_env *e = &a->env[i];
        size_t before = a->nchanges;
        bool done = false;
        for (size_t c = 0; c < before; c++)
            done |= a->changes[c].var == e->name;
        if (done)
            continue;
        rewrite_refs(p, a, e);
        if (a->nchanges == before)
            rewrite_pair(p, a, e);
        if (a->nchanges == before && a->kind == MIG_PROCESS)
            rewrite_own_bind(p, a, e);
    }
}

/* Hosts that run both compose agents and host processes need a broker that
 * reaches both: say so. */
static void check_mixed_hosts(planner *p)
{
    for (size_t h = 0; h < p->f->nhosts; h++) {
        bool kinds[2] = {false, false};
        for (size_t i = 0; i < p->f->nagents; i++)
            if (strcmp(p->f->agents[i].host, p->f->hosts[h]) == 0)
                kinds[p->f->agents[i].kind] = true;
        if (kinds[MIG_CONTAINER] && kinds[MIG_PROCESS]) {
            char text[256];
            ab_strfmt(text, sizeof text, "host %s runs both compose agents and host "
                      "processes: its broker must reach both (network_mode: host, "
                      "and the containers' ports published on 127.0.0.1)",
                      p->f->hosts[h]);
            warn(p, text);
        }
    }
}

/* -------------------------------------------------------------- API -- */

int mig_plan_make(mig_fleet *f, const mig_opts *opts, mig_plan *plan, char *err,
                  size_t errlen)
{
    memset(plan, 0, sizeof *plan);
    if (f->nagents == 0)
        return ab_seterr(err, errlen, "no agents found in the inputs (a compose "
                         "service needs a TCP port under ports: or expose:)");
    planner *p = calloc(1, sizeof *p); /* ~0.5 MB of port tables */
    if (!p)
        return ab_seterr(err, errlen, "out of memory");
    *p = (planner){.f = f, .opts = opts, .plan = plan};
    int rc = index_ports(p, err, errlen);
    if (rc == AB_OK)
        rc = plan_links(p, err, errlen);
    for (size_t i = 0; rc == AB_OK && i < f->nagents; i++) {
        name_service(p, i);
        if (f->agents[i].kind == MIG_CONTAINER)
            name_dial(p, &f->agents[i]);
    }
    if (rc == AB_OK)
        rc = assign_ports(p, err, errlen);
    if (rc == AB_OK)
        rc = assign_backends(p, err, errlen);
    for (size_t i = 0; rc == AB_OK && i < f->nagents; i++)
        plan_changes(p, &f->agents[i]);
    if (rc == AB_OK)
        check_mixed_hosts(p);
    if (rc == AB_OK && p->oom)
        rc = ab_seterr(err, errlen, "out of memory");
    free(p->next);
    free(p);
    return rc;
}

void mig_plan_free(mig_plan *plan)
{
    for (size_t i = 0; i < plan->ncollisions; i++)
        free(plan->collisions[i].agents);
    for (size_t i = 0; i < plan->nwarnings; i++)
        free(plan->warnings[i]);
    for (size_t h = 0; h < plan->nhosts_linked; h++) {
        free(plan->links[h]);
        free(plan->public_keys[h]);
    }
    free(plan->links);
    free(plan->public_keys);
    free(plan->collisions);
    free(plan->warnings);
    memset(plan, 0, sizeof *plan);
}
