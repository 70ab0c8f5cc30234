/*
 * export_json.c: the host snapshot as one JSON object:
 *   {"host":..., "version":..., ..., "ready":true, "ready_reason":"",
 *    "broker":[{...}], "service":[{...}, ...], "backend":[...], ...}
 * one array per kind (stats.h), one flat object per series (stats_visit).
 */
#include "export.h"

#include <inttypes.h>
#include <math.h>

typedef struct json_obj {
    text_buf *out;
    int n; /* members written */
} json_obj;

static void member(void *ctx, const char *prefix, const char *name, const stats_val *v)
{
    json_obj *o = ctx;
    char num[64];
    text_puts(o->out, o->n++ ? ",\"" : "\"");
    if (prefix)
        text_printf(o->out, "%s_", prefix);
    text_printf(o->out, "%s\":", name);
    if (v->type == SV_STR) {
        text_json_str(o->out, v->str);
        return;
    }
    if (v->type == SV_REAL && !isfinite(v->d)) {
        text_puts(o->out, "0");
        return;
    }
    stats_val_format(v, num, sizeof num);
    text_puts(o->out, num);
}

static void header(const stats_reg *reg, const export_info *info, text_buf *out)
{
    text_puts(out, "{\"host\":");
    text_json_str(out, info->host);
    text_puts(out, ",\"version\":");
    text_json_str(out, info->version);
    text_printf(out, ",\"pid\":%ld,\"time_ms\":%" PRIu64 ",\"started_ms\":%" PRIu64
                ",\"interval_ms\":%" PRIu64 ",\"window_s\":%.1f,\"tick\":%" PRIu64
                ",\"ready\":%s,\"ready_reason\":",
                info->pid, info->now_ms, info->started_ms, reg->interval_ms,
                (double)reg->nslices * (double)reg->interval_ms / 1000.0, reg->ticks,
                info->ready ? "true" : "false");
    text_json_str(out, info->ready_why ? info->ready_why : "");
}

void export_json(stats_reg *reg, const export_info *info, text_buf *out)
{
    header(reg, info, out);
    for (size_t k = 0; k < STATS_NKINDS; k++) {
        text_printf(out, ",\"%s\":[", stats_kinds[k].name);
        for (stats_series *s = stats_first(reg, k); s; s = stats_next(reg, s)) {
            json_obj o = {out, 0};
            text_puts(out, s == stats_first(reg, k) ? "{" : ",{");
            stats_visit(s, STATS_VIEW_SNAPSHOT, member, &o);
            text_puts(out, "}");
        }
        text_puts(out, "]");
    }
    text_puts(out, "}\n");
}
