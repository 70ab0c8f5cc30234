/*
 * export_prom.c: /metrics in the Prometheus text format 0.0.4, generated
 * from the kinds of stats.h:
 *   counter F of kind K    agentbus_K_F_total            counter
 *   gauge F of kind K      agentbus_K_F                  gauge
 *   histogram H of kind K  agentbus_K_H_seconds          histogram (since
 *                          start, classic buckets below), and
 *                          agentbus_K_H_p50_seconds, agentbus_K_H_p99_seconds
 *                          gauges over the window
 * every sample labelled with the kind's labels; plus agentbus_build_info
 * and agentbus_start_time_seconds.
 */
#include "export.h"

#include "common.h"

#include <inttypes.h>

/* Upper bounds (le) of the classic buckets, in seconds. */
static const double BUCKETS_S[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                   0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                   1,      2.5,     5,      10,    30,     60};

typedef struct family {
    stats_reg *reg;
    size_t k;
    const stats_kind *kind;
    text_buf *out;
} family;

#define FOR_SERIES(f, s)                                                   \
    for (stats_series *s = stats_first((f)->reg, (f)->k); s; s = stats_next((f)->reg, s))

static void family_head(const family *f, const char *name, const char *suffix,
                        const char *type, const char *help)
{
    text_printf(f->out, "# HELP agentbus_%s_%s%s %s\n# TYPE agentbus_%s_%s%s %s\n",
                f->kind->name, name, suffix, help, f->kind->name, name, suffix, type);
}

/* {label="value",...} with an optional extra label (le, for buckets). */
static void labels(text_buf *out, const stats_series *s, const char *extra)
{
    text_puts(out, "{");
    for (size_t i = 0; i < s->kind->nlabels; i++) {
        text_printf(out, "%s%s=", i ? "," : "", s->kind->labels[i]);
        text_prom_str(out, s->label[i]);
    }
    if (extra)
        text_printf(out, "%s%s", s->kind->nlabels ? "," : "", extra);
    text_puts(out, "}");
}

static void field_family(const family *f, size_t i)
{
    const stat_field *fd = &f->kind->fields[i];
    int counter = fd->type == STAT_counter;
    family_head(f, fd->name, counter ? "_total" : "", counter ? "counter" : "gauge",
                fd->help);
    FOR_SERIES(f, s) {
        text_printf(f->out, "agentbus_%s_%s%s", f->kind->name, fd->name,
                    counter ? "_total" : "");
        labels(f->out, s, NULL);
        text_printf(f->out, " %" PRIu64 "\n", stats_value(s, i));
    }
}

static void bucket_line(const family *f, const stats_series *s, const char *h,
                        const char *le, uint64_t n)
{
    char extra[48];
    snprintf(extra, sizeof extra, "le=\"%s\"", le);
    text_printf(f->out, "agentbus_%s_%s_seconds_bucket", f->kind->name, h);
    labels(f->out, s, extra);
    text_printf(f->out, " %" PRIu64 "\n", n);
}

/* One series' buckets, _sum and _count since start: the closed slices
 * and the one being recorded. */
static void hist_samples(const family *f, const stats_series *s, size_t h)
{
    const hrun *t = &s->hist[h].total;
    const hist *cur = &s->hist[h].cur;
    const char *name = f->kind->hists[h].name;
    char le[32];
    for (size_t b = 0; b < AB_ARRAY_LEN(BUCKETS_S); b++) {
        uint64_t ns = (uint64_t)(BUCKETS_S[b] * 1e9);
        snprintf(le, sizeof le, "%g", BUCKETS_S[b]);
        bucket_line(f, s, name, le, hrun_count_le(t, ns) + hist_count_le(cur, ns));
    }
    bucket_line(f, s, name, "+Inf", t->count + cur->count);
    text_printf(f->out, "agentbus_%s_%s_seconds_sum", f->kind->name, name);
    labels(f->out, s, NULL);
    text_printf(f->out, " %.9g\n", (double)(t->sum + cur->sum) / 1e9);
    text_printf(f->out, "agentbus_%s_%s_seconds_count", f->kind->name, name);
    labels(f->out, s, NULL);
    text_printf(f->out, " %" PRIu64 "\n", t->count + cur->count);
}

/* p50 or p99 over the window, as a gauge family. */
static void quantile_family(const family *f, size_t h, const char *q, int p99)
{
    const hist_field *hf = &f->kind->hists[h];
    char help[256], name[96];
    snprintf(name, sizeof name, "%s_%s", hf->name, q);
    snprintf(help, sizeof help, "%s of %s over the stats window", q, hf->help);
    family_head(f, name, "_seconds", "gauge", help);
    FOR_SERIES(f, s) {
        const hist_summary *w = &s->hist[h].win;
        text_printf(f->out, "agentbus_%s_%s_seconds", f->kind->name, name);
        labels(f->out, s, NULL);
        text_printf(f->out, " %.9g\n", (double)(p99 ? w->p99 : w->p50) / 1e9);
    }
}

static void hist_family(const family *f, size_t h)
{
    const hist_field *hf = &f->kind->hists[h];
    family_head(f, hf->name, "_seconds", "histogram", hf->help);
    FOR_SERIES(f, s)
        hist_samples(f, s, h);
    quantile_family(f, h, "p50", 0);
    quantile_family(f, h, "p99", 1);
}

static void kind_families(stats_reg *reg, size_t k, text_buf *out)
{
    family f = {reg, k, &stats_kinds[k], out};
    FOR_SERIES(&f, s)
        stats_refresh(s);
    for (size_t i = 0; i < f.kind->nfields; i++)
        field_family(&f, i);
    for (size_t h = 0; reg->nslices && h < f.kind->nhists; h++)
        hist_family(&f, h);
}

void export_prom(stats_reg *reg, const export_info *info, text_buf *out)
{
    text_puts(out, "# HELP agentbus_build_info agentbusd version and host (always 1)\n"
                   "# TYPE agentbus_build_info gauge\nagentbus_build_info{version=");
    text_prom_str(out, info->version);
    text_puts(out, ",host=");
    text_prom_str(out, info->host);
    text_printf(out, "} 1\n# HELP agentbus_start_time_seconds when agentbusd started "
                "(Unix time)\n# TYPE agentbus_start_time_seconds gauge\n"
                "agentbus_start_time_seconds %.3f\n", (double)info->started_ms / 1000.0);
    for (size_t k = 0; k < STATS_NKINDS; k++)
        if (stats_first(reg, k))
            kind_families(reg, k, out);
}
