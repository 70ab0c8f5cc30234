/* hist.c: latency histograms (layout and error bound in hist.h). */
#include "hist.h"

#include "common.h"

#include <stdlib.h>
#include <string.h>

#define CELL_MASK ((UINT64_C(1) << HIST_CELL_BITS) - 1)

static inline unsigned cell_bucket(uint64_t c) { return (unsigned)(c >> HIST_CELL_BITS); }
static inline uint64_t cell_count(uint64_t c) { return c & CELL_MASK; }
static inline uint64_t make_cell(unsigned b, uint64_t n)
{
    return ((uint64_t)b << HIST_CELL_BITS) | n;
}

/* ------------------------------------------------------------- dense -- */

void hist_init(hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
    h->lo = HIST_BUCKETS;
}

void hist_reset(hist *h)
{
    if (h->count)
        memset(&h->b[h->lo], 0, (h->hi - h->lo + 1) * sizeof h->b[0]);
    h->count = h->sum = h->max = 0;
    h->min = UINT64_MAX;
    h->lo = HIST_BUCKETS;
    h->hi = 0;
}

uint64_t hist_bucket_low(unsigned i)
{
    if (i < (2u << HIST_SUB_BITS))
        return i;
    unsigned shift = (i >> HIST_SUB_BITS) - 1;
    return (uint64_t)(i - (shift << HIST_SUB_BITS)) << shift;
}

uint64_t hist_bucket_width(unsigned i)
{
    return i < (2u << HIST_SUB_BITS) ? 1 : UINT64_C(1) << ((i >> HIST_SUB_BITS) - 1);
}

static uint64_t bucket_mid(unsigned i)
{
    return hist_bucket_low(i) + (hist_bucket_width(i) - 1) / 2;
}

uint64_t hist_count_le(const hist *h, uint64_t le)
{
    uint64_t n = 0;
    for (unsigned i = h->lo; h->count && i <= h->hi && bucket_mid(i) <= le; i++)
        n += h->b[i];
    return n;
}

/* --------------------------------------------------------------- runs -- */

static void run_set_totals(hrun *r, uint64_t count, uint64_t sum, uint64_t min,
                           uint64_t max)
{
    r->count = count;
    r->sum = sum;
    r->min = min;
    r->max = max;
}

int hrun_from_hist(hrun *out, const hist *h)
{
    uint32_t n = 0;
    for (unsigned i = h->lo; h->count && i <= h->hi; i++)
        n += h->b[i] != 0;
    uint64_t *cell = n ? malloc(n * sizeof *cell) : NULL;
    if (n && !cell)
        return AB_ERR;
    uint32_t k = 0;
    for (unsigned i = h->lo; n && i <= h->hi; i++) {
        if (h->b[i])
            cell[k++] = make_cell(i, h->b[i]);
    }
    out->cell = cell;
    out->n = n;
    run_set_totals(out, h->count, h->sum, h->count ? h->min : 0, h->max);
    return AB_OK;
}

/* Append bucket b with count n to cells (dropping empty ones). */
static void push_cell(uint64_t *cell, uint32_t *k, unsigned b, uint64_t n)
{
    if (n)
        cell[(*k)++] = make_cell(b, n);
}

/* Merge the cells of a and b (b's counts times sign) into cell; returns
 * the number written. Both inputs are ascending, so one pass does it. */
static uint32_t merge_cells(uint64_t *cell, const hrun *a, const hrun *b, int sign)
{
    uint32_t i = 0, j = 0, k = 0;
    while (i < a->n || j < b->n) {
        unsigned ba = i < a->n ? cell_bucket(a->cell[i]) : HIST_BUCKETS;
        unsigned bb = j < b->n ? cell_bucket(b->cell[j]) : HIST_BUCKETS;
        if (ba < bb) {
            push_cell(cell, &k, ba, cell_count(a->cell[i++]));
        } else if (bb < ba) {
            push_cell(cell, &k, bb, cell_count(b->cell[j++])); /* sign is 1 */
        } else {
            uint64_t na = cell_count(a->cell[i++]), nb = cell_count(b->cell[j++]);
            push_cell(cell, &k, ba, sign > 0 ? na + nb : na - nb);
        }
    }
    return k;
}

int hrun_add(hrun *out, const hrun *a, const hrun *b, int sign)
{
    uint32_t cap = a->n + b->n;
    uint64_t *cell = cap ? malloc(cap * sizeof *cell) : NULL;
    if (cap && !cell)
        return AB_ERR;
    uint32_t n = merge_cells(cell, a, b, sign);
    if (n == 0) {
        free(cell);
        cell = NULL;
    }
    out->cell = cell;
    out->n = n;
    if (sign > 0)
        run_set_totals(out, a->count + b->count, a->sum + b->sum,
                       !b->count || (a->count && a->min < b->min) ? a->min : b->min,
                       a->max > b->max ? a->max : b->max);
    else
        run_set_totals(out, a->count - b->count, a->sum - b->sum, a->min, a->max);
    return AB_OK;
}

void hrun_free(hrun *r)
{
    free(r->cell);
    memset(r, 0, sizeof *r);
}

uint64_t hrun_quantile(const hrun *r, double q)
{
    if (!r->count)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)r->count);
    rank += (double)rank < q * (double)r->count; /* ceil */
    rank = rank ? rank : 1;
    if (rank == r->count)
        return r->max; /* the top is known exactly */
    uint64_t seen = 0, v = r->max;
    for (uint32_t k = 0; k < r->n; k++) {
        seen += cell_count(r->cell[k]);
        if (seen >= rank) {
            v = bucket_mid(cell_bucket(r->cell[k]));
            break;
        }
    }
    return v < r->min ? r->min : v > r->max ? r->max : v;
}

uint64_t hrun_count_le(const hrun *r, uint64_t le)
{
    uint64_t n = 0;
    for (uint32_t k = 0; k < r->n && bucket_mid(cell_bucket(r->cell[k])) <= le; k++)
        n += cell_count(r->cell[k]);
    return n;
}

static void hrun_summary(const hrun *r, hist_summary *s)
{
    s->count = r->count;
    s->sum = r->sum;
#define HIST_Q_SET(name, q) s->name = hrun_quantile(r, q);
    HIST_QUANTILES(HIST_Q_SET)
#undef HIST_Q_SET
    s->max = r->max;
}

/* ------------------------------------------------------------- window -- */

int hwin_init(hwin *w, unsigned nslices)
{
    memset(w, 0, sizeof *w);
    hist_init(&w->cur);
    w->nslices = nslices ? nslices : 1;
    w->ring = calloc(w->nslices, sizeof *w->ring);
    return w->ring ? AB_OK : AB_ERR;
}

void hwin_free(hwin *w)
{
    for (unsigned i = 0; w->ring && i < w->nslices; i++)
        hrun_free(&w->ring[i]);
    free(w->ring);
    hrun_free(&w->window);
    hrun_free(&w->total);
    memset(w, 0, sizeof *w);
}

/* Extremes of the window: from its slices (a difference cannot tell). */
static void window_extremes(hwin *w)
{
    uint64_t min = UINT64_MAX, max = 0;
    for (unsigned i = 0; i < w->nslices; i++) {
        const hrun *s = &w->ring[i];
        if (s->count && s->min < min)
            min = s->min;
        if (s->count && s->max > max)
            max = s->max;
    }
    w->window.min = w->window.count ? min : 0;
    w->window.max = max;
}

/* The new window: old window + slice - the slice that falls out. */
static int next_window(hwin *w, const hrun *slice, hrun *out)
{
    hrun grown;
    const hrun *oldest = &w->ring[w->head];
    if (!oldest->count)
        return hrun_add(out, &w->window, slice, 1);
    if (hrun_add(&grown, &w->window, slice, 1) != AB_OK)
        return AB_ERR;
    int rc = hrun_add(out, &grown, oldest, -1);
    hrun_free(&grown);
    return rc;
}

int hwin_tick(hwin *w)
{
    hrun slice, window, total;
    int rc = hrun_from_hist(&slice, &w->cur);
    hist_reset(&w->cur);
    if (rc != AB_OK)
        return AB_ERR;
    if (next_window(w, &slice, &window) != AB_OK) {
        hrun_free(&slice);
        return AB_ERR;
    }
    if (hrun_add(&total, &w->total, &slice, 1) != AB_OK) {
        hrun_free(&window);
        hrun_free(&slice);
        return AB_ERR;
    }
    hrun_summary(&slice, &w->last);
    hrun_free(&w->ring[w->head]);
    w->ring[w->head] = slice;
    w->head = (w->head + 1) % w->nslices;
    w->filled += w->filled < w->nslices;
    hrun_free(&w->window);
    w->window = window;
    hrun_free(&w->total);
    w->total = total;
    window_extremes(w);
    hrun_summary(&w->window, &w->win);
    return AB_OK;
}

uint64_t hwin_count(const hwin *w)
{
    return w->total.count + w->cur.count;
}
