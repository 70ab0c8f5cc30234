/* stats.c: rendering of the per-service statistics declared in stats.h. */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>

char *svc_stats_format(const svc_stats *s, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
#define SVC_STAT_PRINT(name, type, help)                                   \
    if (off < len)                                                         \
        off += (size_t)snprintf(buf + off, len - off, "%s" #name "=%" PRIu64, \
                                off ? " " : "", s->name);
    SVC_STATS(SVC_STAT_PRINT)
#undef SVC_STAT_PRINT
    return buf;
}
