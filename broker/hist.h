/*
 * hist.h: latency histograms. Log-linear buckets (the HdrHistogram idea),
 * O(1) recording without allocation, mergeable, with a rolling window.
 *
 * Values are nanoseconds (uv_hrtime()). Every value below 128 ns has its
 * own bucket; above, each power-of-two range [2^k, 2^(k+1)) is cut into 64
 * equal buckets. A bucket is at most 1/64 of its lower bound wide, so its
 * midpoint is within 1/128 (0.78%) of every value in it: quantiles are
 * reported with a relative error below 1% from 1 us to 60 s (and beyond,
 * up to 2^36 ns = 68.7 s; larger values share the last bucket, while the
 * exact maximum is kept apart).
 *
 * Three shapes of the same buckets:
 *   hist   dense counters (7.8 KiB): the slice being recorded, O(1) record;
 *   hrun   sparse (bucket, count) cells, ascending: closed slices, the
 *          window and the totals; 8 bytes per non-empty bucket;
 *   hwin   one series: the dense slice, a ring of closed slices (the
 *          rolling window), the window's sum and the totals since start.
 * hwin_tick() closes the slice; summaries (count, quantiles, max) are
 * computed there, so readers never scan buckets.
 */
#ifndef AB_HIST_H
#define AB_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 6      /* 64 buckets per power of two */
#define HIST_RANGE_BITS 36   /* values >= 2^36 ns (68.7 s) are clamped */
#define HIST_BUCKETS ((HIST_RANGE_BITS - HIST_SUB_BITS + 1) << HIST_SUB_BITS)
#define HIST_CELL_BITS 52    /* hrun cell: bucket << 52 | count */

/* Quantiles every summary carries: (field, quantile). */
#define HIST_QUANTILES(X)                                                  \
    X(p50, 0.5)                                                            \
    X(p90, 0.9)                                                            \
    X(p99, 0.99)                                                           \
    X(p999, 0.999)

typedef struct hist {
    uint64_t count, sum;   /* samples, and their sum in ns */
    uint64_t min, max;     /* exact extremes (min is UINT64_MAX when empty) */
    uint32_t lo, hi;       /* non-empty buckets lie within [lo, hi] */
    uint32_t b[HIST_BUCKETS];
} hist;

typedef struct hrun {
    uint64_t *cell;        /* (bucket << HIST_CELL_BITS) | count, ascending */
    uint32_t n;
    uint64_t count, sum, min, max;
} hrun;

typedef struct hist_summary {
    uint64_t count, sum;   /* samples, ns */
#define HIST_Q_FIELD(name, q) uint64_t name;
    HIST_QUANTILES(HIST_Q_FIELD)
#undef HIST_Q_FIELD
    uint64_t max;          /* ns, exact */
} hist_summary;

typedef struct hwin {
    hist cur;              /* the slice being recorded */
    hrun *ring;            /* closed slices; ring[head] is the oldest */
    unsigned nslices, head, filled;
    hrun window;           /* sum of the ring */
    hrun total;            /* every closed slice since start */
    hist_summary last;     /* the slice closed by the last tick */
    hist_summary win;      /* the window, as of the last tick */
} hwin;

/* Bucket of a value: O(1), branch-light. */
static inline unsigned hist_index(uint64_t ns)
{
    uint64_t v = ns < (UINT64_C(1) << HIST_RANGE_BITS)
                     ? ns : (UINT64_C(1) << HIST_RANGE_BITS) - 1;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v | (1u << HIST_SUB_BITS));
    unsigned shift = msb - HIST_SUB_BITS;
    return (shift << HIST_SUB_BITS) + (unsigned)(v >> shift);
}

static inline void hist_record(hist *h, uint64_t ns)
{
    unsigned i = hist_index(ns);
    h->b[i]++;
    h->count++;
    h->sum += ns;
    h->min = ns < h->min ? ns : h->min;
    h->max = ns > h->max ? ns : h->max;
    h->lo = i < h->lo ? i : h->lo;
    h->hi = i > h->hi ? i : h->hi;
}

void hist_init(hist *h);
/* Empty h again; touches only the buckets in use. */
void hist_reset(hist *h);
/* Count of samples at most `le` ns (by bucket midpoint). */
uint64_t hist_count_le(const hist *h, uint64_t le);
/* Lowest value of bucket i and its width (ns). */
uint64_t hist_bucket_low(unsigned i);
uint64_t hist_bucket_width(unsigned i);

/* The cells of h as a run. AB_ERR: out of memory, out untouched. */
int hrun_from_hist(hrun *out, const hist *h);
/* out = a + sign * b (sign is 1 or -1; with -1, b must be part of a).
 * out is a new run. AB_ERR: out of memory, out untouched. min and max of
 * a difference are not known here: the caller sets them. */
int hrun_add(hrun *out, const hrun *a, const hrun *b, int sign);
void hrun_free(hrun *r);
/* Nearest-rank quantile q in (0, 1], estimated at the bucket midpoint and
 * kept within [min, max]; 0 for an empty run. */
uint64_t hrun_quantile(const hrun *r, double q);
/* Count of samples at most `le` ns (by bucket midpoint). */
uint64_t hrun_count_le(const hrun *r, uint64_t le);

/* A window of nslices slices (>= 1). AB_ERR: out of memory. */
int hwin_init(hwin *w, unsigned nslices);
void hwin_free(hwin *w);
/* Close the slice being recorded: it joins the window (pushing the oldest
 * out) and the totals, and the summaries are recomputed. AB_ERR when out
 * of memory: that slice's samples are lost, everything stays consistent. */
int hwin_tick(hwin *w);
/* Samples since start, including the open slice. */
uint64_t hwin_count(const hwin *w);

#endif
