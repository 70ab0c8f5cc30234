/*
 * export.h: the statistics as the outside sees them. Both renderers walk
 * the kinds and series of a stats_reg (stats.h), so a new stat or kind
 * appears in both without a change here.
 *   export_json   the host snapshot: /stats.json, the Redis snapshot key
 *                 and PUBLISH, read by the page and `agentbus top`
 *   export_prom   the Prometheus text format 0.0.4: /metrics
 * The layouts are documented in docs/stats.md.
 */
#ifndef AB_EXPORT_H
#define AB_EXPORT_H

#include "stats.h"
#include "text.h"

typedef struct export_info {
    const char *host, *version;
    long pid;
    uint64_t now_ms, started_ms; /* wall clock, ms since the epoch */
    int ready;                   /* what /readyz answers, and why not */
    const char *ready_why;
} export_info;

void export_json(stats_reg *reg, const export_info *info, text_buf *out);
void export_prom(stats_reg *reg, const export_info *info, text_buf *out);

#endif
