/* stats.c: rendering of the statistics declared in stats.h. */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>

/* One "name=value" pair, space-separated, appended at *off. */
static void put(char *buf, size_t len, size_t *off, const char *name, uint64_t v)
{
    if (*off < len)
        *off += (size_t)snprintf(buf + *off, len - *off, "%s%s=%" PRIu64,
                                 *off ? " " : "", name, v);
}

#define STATS_PUT(name, type, help) put(buf, len, &off, #name, s->name);
#define STATS_FORMAT(fn, T, LIST)                                          \
    char *fn(const T *s, char *buf, size_t len)                            \
    {                                                                      \
        size_t off = 0;                                                    \
        buf[0] = '\0';                                                     \
        LIST(STATS_PUT)                                                    \
        return buf;                                                        \
    }

STATS_FORMAT(svc_stats_format, svc_stats, SVC_STATS)
STATS_FORMAT(link_stats_format, link_stats, LINK_STATS)
STATS_FORMAT(linksrv_stats_format, linksrv_stats, LINKSRV_STATS)
