/*
 * stats.c: series of statistics (declared in stats.h): their lifecycle,
 * the tick that closes histogram slices, and the one flat view of a series
 * that every exporter but /metrics renders (and the SIGUSR1 log line).
 */
#include "stats.h"

#include "common.h"
#include "log.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void stats_reg_init(stats_reg *reg, uint64_t interval_ms, uint64_t window_ms)
{
    memset(reg, 0, sizeof *reg);
    for (size_t k = 0; k < STATS_NKINDS; k++)
        ab_list_init(&reg->series[k]);
    reg->interval_ms = interval_ms;
    if (interval_ms) {
        uint64_t n = (window_ms + interval_ms - 1) / interval_ms;
        reg->nslices = (unsigned)(n < 1 ? 1 : n > STATS_MAX_SLICES ? STATS_MAX_SLICES : n);
    }
}

/* ----------------------------------------------------------- lifecycle -- */

static void series_free(stats_series *s)
{
    for (size_t h = 0; h < s->kind->nhists; h++)
        hwin_free(&s->hist[h]);
    for (size_t i = 0; i < STATS_MAX_LABELS; i++)
        free(s->label[i]);
    free(s->err_ring);
    free(s);
}

/* Histograms and the error ring, sized by the window. */
static int series_alloc_window(stats_series *s, unsigned nslices)
{
    s->timed = nslices > 0;
    if (!s->timed)
        return AB_OK;
    s->err_ring = calloc(nslices, sizeof *s->err_ring);
    if (!s->err_ring)
        return AB_ERR;
    for (size_t h = 0; h < s->kind->nhists; h++) {
        if (hwin_init(&s->hist[h], nslices) != AB_OK)
            return AB_ERR;
    }
    return AB_OK;
}

stats_series *stats_series_open(stats_reg *reg, stats_kind_id kind, void *owner,
                                void *values, stats_refresh_fn refresh,
                                const char *label0, const char *label1)
{
    const stats_kind *k = &stats_kinds[kind];
    stats_series *s = calloc(1, sizeof *s + k->nhists * sizeof s->hist[0]);
    if (!s) {
        log_error("stats: out of memory for a %s series", k->name);
        return NULL;
    }
    s->reg = reg;
    s->kind = k;
    s->owner = owner;
    s->values = values;
    s->refresh = refresh;
    s->label[0] = strdup(label0 ? label0 : "");
    s->label[1] = k->nlabels > 1 ? strdup(label1 ? label1 : "") : NULL;
    if (!s->label[0] || (k->nlabels > 1 && !s->label[1]) ||
        series_alloc_window(s, reg->nslices) != AB_OK) {
        log_error("stats: out of memory for %s %s", k->name, label0);
        series_free(s);
        return NULL;
    }
    ab_list_push_tail(&reg->series[kind], &s->link);
    return s;
}

void stats_series_close(stats_series *s)
{
    if (!s)
        return;
    ab_list_remove(&s->link);
    series_free(s);
}

/* ----------------------------------------------------------------- tick -- */

static uint64_t stats_errors(const stats_series *s);

static void tick_errors(stats_series *s)
{
    uint64_t now = stats_errors(s);
    s->err_last = now - s->err_prev;
    s->err_prev = now;
    s->err_window += s->err_last - s->err_ring[s->head];
    s->err_ring[s->head] = s->err_last;
}

static void tick_series(stats_series *s)
{
    stats_reg *reg = s->reg;
    tick_errors(s);
    for (size_t h = 0; h < s->kind->nhists; h++) {
        if (hwin_tick(&s->hist[h]) != AB_OK && reg->lost_slices++ == 0)
            log_error("stats: out of memory closing a slice of %s %s; "
                      "its samples are lost", s->kind->name, s->label[0]);
    }
    s->head = (s->head + 1) % reg->nslices;
    s->filled += s->filled < reg->nslices;
}

void stats_reg_tick(stats_reg *reg)
{
    if (!reg->nslices)
        return;
    reg->ticks++;
    for (size_t k = 0; k < STATS_NKINDS; k++) {
        for (stats_series *s = stats_first(reg, k); s; s = stats_next(reg, s))
            tick_series(s);
    }
}

/* -------------------------------------------------------------- reading -- */

static stats_series *series_at(ab_list *head, ab_list *l)
{
    return l == head ? NULL : AB_CONTAINER_OF(l, stats_series, link);
}

stats_series *stats_first(stats_reg *reg, size_t kind)
{
    return series_at(&reg->series[kind], ab_list_head(&reg->series[kind]));
}

stats_series *stats_next(stats_reg *reg, stats_series *s)
{
    ab_list *head = &reg->series[s->kind - stats_kinds];
    return series_at(head, s->link.next);
}

void stats_refresh(stats_series *s)
{
    if (s->refresh)
        s->refresh(s);
}

uint64_t stats_value(const stats_series *s, size_t i)
{
    uint64_t v;
    memcpy(&v, (const char *)s->values + i * sizeof v, sizeof v);
    return v;
}

/* Sum of the error counters of s (0 for kinds without). */
static uint64_t stats_errors(const stats_series *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->kind->nerrors; i++)
        n += stats_value(s, s->kind->errors[i]);
    return n;
}

/* Seconds the window of s covers now (0 before the first tick). */
static double stats_window_s(const stats_series *s)
{
    return (double)s->filled * (double)s->reg->interval_ms / 1000.0;
}

/* Rate of the first histogram over the window (requests/s), and of
 * errors over the window (errors/s). */
static double stats_rps(const stats_series *s)
{
    double w = stats_window_s(s);
    return s->kind->nhists && w > 0 ? (double)s->hist[0].win.count / w : 0;
}

static double stats_eps(const stats_series *s)
{
    double w = stats_window_s(s);
    return w > 0 ? (double)s->err_window / w : 0;
}

/* ----------------------------------------------------------- flat view -- */

static void visit_uint(stats_visit_fn fn, void *ctx, const char *prefix,
                       const char *name, uint64_t u)
{
    stats_val v = {.type = SV_UINT, .u = u};
    fn(ctx, prefix, name, &v);
}

static void visit_real(stats_visit_fn fn, void *ctx, const char *prefix,
                       const char *name, double d)
{
    stats_val v = {.type = SV_REAL, .d = d};
    fn(ctx, prefix, name, &v);
}

static double ns_to_us(uint64_t ns) { return (double)ns / 1000.0; }

/* H_count, the window's quantiles and max, and the last slice's. */
static void visit_hist_window(const stats_series *s, size_t h, stats_visit_fn fn,
                              void *ctx)
{
    const char *p = s->kind->hists[h].name;
    const hist_summary *w = &s->hist[h].win, *l = &s->hist[h].last;
    visit_uint(fn, ctx, p, "count", hwin_count(&s->hist[h]));
#define HIST_Q_VISIT(name, q) visit_real(fn, ctx, p, #name "_us", ns_to_us(w->name));
    HIST_QUANTILES(HIST_Q_VISIT)
#undef HIST_Q_VISIT
    visit_real(fn, ctx, p, "max_us", ns_to_us(w->max));
    visit_uint(fn, ctx, p, "last_count", l->count);
    visit_real(fn, ctx, p, "last_p50_us", ns_to_us(l->p50));
    visit_real(fn, ctx, p, "last_p99_us", ns_to_us(l->p99));
}

/* The last slice of histogram h: count, p50, p99, max. */
static void visit_hist_interval(const stats_series *s, size_t h, stats_visit_fn fn,
                                void *ctx)
{
    const char *p = s->kind->hists[h].name;
    const hist_summary *l = &s->hist[h].last;
    visit_uint(fn, ctx, p, "count", l->count);
    visit_real(fn, ctx, p, "p50_us", ns_to_us(l->p50));
    visit_real(fn, ctx, p, "p99_us", ns_to_us(l->p99));
    visit_real(fn, ctx, p, "max_us", ns_to_us(l->max));
}

static void visit_snapshot(stats_series *s, stats_visit_fn fn, void *ctx)
{
    const stats_kind *k = s->kind;
    stats_refresh(s);
    for (size_t i = 0; i < k->nfields; i++)
        visit_uint(fn, ctx, NULL, k->fields[i].name, stats_value(s, i));
    if (k->nerrors)
        visit_uint(fn, ctx, NULL, "errors", stats_errors(s));
    if (!s->timed)
        return;
    if (k->nhists)
        visit_real(fn, ctx, NULL, "rps", stats_rps(s));
    if (k->nerrors)
        visit_real(fn, ctx, NULL, "eps", stats_eps(s));
    for (size_t h = 0; h < k->nhists; h++)
        visit_hist_window(s, h, fn, ctx);
}

static void visit_interval(stats_series *s, stats_visit_fn fn, void *ctx)
{
    const stats_kind *k = s->kind;
    double interval_s = (double)s->reg->interval_ms / 1000.0;
    if (k->nhists)
        visit_real(fn, ctx, NULL, "rps", (double)s->hist[0].last.count / interval_s);
    if (k->nerrors)
        visit_uint(fn, ctx, NULL, "errors", s->err_last);
    for (size_t h = 0; h < k->nhists; h++)
        visit_hist_interval(s, h, fn, ctx);
}

void stats_visit(stats_series *s, int view, stats_visit_fn fn, void *ctx)
{
    if (view == STATS_VIEW_INTERVAL) {
        if (s->timed)
            visit_interval(s, fn, ctx);
        return;
    }
    for (size_t i = 0; i < s->kind->nlabels; i++) {
        stats_val v = {.type = SV_STR, .str = s->label[i]};
        fn(ctx, NULL, s->kind->labels[i], &v);
    }
    visit_snapshot(s, fn, ctx);
}

int stats_val_format(const stats_val *v, char *buf, size_t len)
{
    switch (v->type) {
    case SV_STR: return snprintf(buf, len, "%s", v->str);
    case SV_UINT: return snprintf(buf, len, "%" PRIu64, v->u);
    default: return snprintf(buf, len, "%.1f", v->d);
    }
}

/* ------------------------------------------------------------- SIGUSR1 -- */

typedef struct log_line {
    char buf[2048];
    size_t off;
} log_line;

static void append_field(void *ctx, const char *prefix, const char *name,
                         const stats_val *v)
{
    log_line *l = ctx;
    if (l->off >= sizeof l->buf)
        return;
    int n = snprintf(l->buf + l->off, sizeof l->buf - l->off, " %s%s%s=",
                     prefix ? prefix : "", prefix ? "_" : "", name);
    if (n > 0 && (l->off += (size_t)n) < sizeof l->buf)
        n = stats_val_format(v, l->buf + l->off, sizeof l->buf - l->off);
    l->off += n > 0 ? (size_t)n : 0;
}

void stats_reg_log(stats_reg *reg)
{
    for (size_t k = 0; k < STATS_NKINDS; k++) {
        for (stats_series *s = stats_first(reg, k); s; s = stats_next(reg, s)) {
            log_line line = {.off = 0};
            stats_visit(s, STATS_VIEW_SNAPSHOT, append_field, &line);
            log_info("stats%s", line.buf);
        }
    }
}
