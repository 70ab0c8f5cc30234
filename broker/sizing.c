/* sizing.c: sockets and file descriptors a registry needs (see sizing.h). */
#include "sizing.h"

#include "common.h"
#include "links.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/resource.h>

static size_t backends_here(const reg_service *s, const char *host)
{
    return strcmp(s->host, host) == 0 ? s->nbackends : 0;
}

static size_t service_sockets(const reg_service *s, const char *host)
{
    return SIZING_SOCKETS_PER_FRONT + SIZING_SOCKETS_PER_BACKEND * backends_here(s, host);
}

/* Sockets (a mailbox fd each), the listener, backend connections. */
static size_t service_fds(const reg_service *s, const char *host)
{
    return service_sockets(s, host) + 1 + backends_here(s, host);
}

static int serves_links(const registry *reg, const char *host)
{
    const reg_host *h = registry_host(reg, host);
    return h && h->link && links_take_part(reg, host);
}

static size_t link_sockets(const registry *reg, const char *host)
{
    size_t n = SIZING_SOCKETS_PER_CHANNEL * (size_t)reg->links.per_peer *
               links_dialled(reg, host);
    return n + (serves_links(reg, host) ? SIZING_SOCKETS_LINK_SERVER : 0);
}

/* Mailboxes, the listener, connections both ways. */
static size_t link_fds(const registry *reg, const char *host)
{
    size_t n = link_sockets(reg, host) + (size_t)reg->links.per_peer * links_dialled(reg, host);
    if (serves_links(reg, host))
        n += 1 + (size_t)reg->links.per_peer * (reg->nhosts - 1);
    return n;
}

size_t sizing_sockets(const registry *reg, const char *host)
{
    size_t n = link_sockets(reg, host);
    for (size_t i = 0; i < reg->nservices; i++)
        n += service_sockets(&reg->services[i], host);
    return n;
}

size_t sizing_fds(const registry *reg, const char *host, size_t extra)
{
    size_t n = SIZING_BASE_FDS + SIZING_CLIENT_FDS + extra + link_fds(reg, host);
    for (size_t i = 0; i < reg->nservices; i++)
        n += service_fds(&reg->services[i], host);
    return n;
}

int sizing_context_sockets(const registry *reg, const char *host)
{
    size_t n = 2 * sizing_sockets(reg, host) + 1024;
    return n > INT_MAX ? INT_MAX : (int)n;
}

/* The first service with which the running total of `cost` passes limit. */
static const char *first_over(const registry *reg, const char *host, size_t base,
                              size_t (*cost)(const reg_service *, const char *),
                              size_t limit)
{
    size_t n = base;
    for (size_t i = 0; i < reg->nservices; i++) {
        n += cost(&reg->services[i], host);
        if (n > limit)
            return reg->services[i].name;
    }
    return "(none)";
}

static int fit_sockets(const registry *reg, const char *host, int max_sockets,
                       char *err, size_t errlen)
{
    size_t need = sizing_sockets(reg, host);
    if (need <= (size_t)max_sockets)
        return AB_OK;
    return ab_seterr(err, errlen,
                     "registry needs %zu ZMQ sockets for %zu services; this broker's "
                     "context holds at most %d (ZMQ_MAX_SOCKETS, sized from the "
                     "registry at start): service '%s' is the first that does not "
                     "fit. Restart agentbusd to size it for this registry",
                     need, reg->nservices, max_sockets,
                     first_over(reg, host, link_sockets(reg, host), service_sockets,
                                (size_t)max_sockets));
}

/* Raise the soft RLIMIT_NOFILE to need, up to the hard limit. */
static int fit_fds(const registry *reg, const char *host, size_t extra, char *err,
                   size_t errlen)
{
    struct rlimit rl;
    size_t need = sizing_fds(reg, host, extra);
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return ab_seterr(err, errlen, "getrlimit(RLIMIT_NOFILE): %s", strerror(errno));
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need &&
        (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need)) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            log_info("raised RLIMIT_NOFILE soft limit from %llu to %zu for the registry",
                     (unsigned long long)was, need);
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= need)
        return AB_OK;
    return ab_seterr(err, errlen,
                     "registry needs %zu file descriptors (%zu services and their "
                     "backends, the links, plus %d kept for client connections and "
                     "%zu for HTTP and Redis); RLIMIT_NOFILE "
                     "is %llu (hard limit %llu): service '%s' is the first that does "
                     "not fit. Raise the hard limit to at least %zu (ulimit -Hn, "
                     "LimitNOFILE= in a systemd unit, --ulimit nofile= for a "
                     "container)",
                     need, reg->nservices, SIZING_CLIENT_FDS, extra,
                     (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
                     first_over(reg, host, SIZING_BASE_FDS + SIZING_CLIENT_FDS + extra +
                                link_fds(reg, host), service_fds, (size_t)rl.rlim_cur),
                     need);
}

int sizing_fit(const registry *reg, const char *host, int max_sockets, size_t extra,
               char *err, size_t errlen)
{
    if (fit_sockets(reg, host, max_sockets, err, errlen) != AB_OK)
        return AB_ERR;
    return fit_fds(reg, host, extra, err, errlen);
}
