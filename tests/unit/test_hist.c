/*
 * test_hist.c: the latency histogram against exact quantiles. For known
 * distributions spanning 1 us to 60 s, every reported quantile must be
 * within 1% of the exact nearest-rank quantile of the samples recorded;
 * merging runs must equal recording the union; the rolling window must
 * hold exactly the last N slices.
 */
#include "check.h"
#include "common.h"
#include "hist.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#define US 1000ull
#define SEC 1000000000ull
#define NSAMPLES 200000
#define ERROR_BOUND 0.01

static const double QS[] = {0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0};

/* splitmix64: a deterministic generator, so a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

/* Distributions, in ns, each within [1 us, 60 s]. */
static uint64_t clamp_range(double ns)
{
    return ns < US ? US : ns > 60.0 * SEC ? 60 * SEC : (uint64_t)ns;
}
static uint64_t d_log_uniform(void) { return clamp_range(US * pow(6e7, unit())); }
static uint64_t d_exponential(void) { return clamp_range(-5e6 * log(1 - unit())); }
static uint64_t d_lognormal(void)
{
    double z = sqrt(-2 * log(1 - unit())) * cos(2 * M_PI * unit());
    return clamp_range(exp(log(300e3) + 1.2 * z));
}
static uint64_t d_bimodal(void)
{
    return unit() < 0.95 ? clamp_range(200e3 + 20e3 * unit())
                         : clamp_range(2e9 + 1e8 * unit());
}
static uint64_t d_pareto(void) { return clamp_range(50e3 / pow(1 - unit(), 1 / 1.1)); }
static uint64_t d_edges(void) { return unit() < 0.5 ? US : 60 * SEC; }
static uint64_t d_linear_low(void) { return US + rnd() % (10 * US); }

typedef uint64_t (*dist_fn)(void);

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Exact nearest-rank quantile of sorted v[0..n). */
static uint64_t exact_quantile(const uint64_t *v, size_t n, double q)
{
    size_t rank = (size_t)ceil(q * (double)n);
    return v[(rank ? rank : 1) - 1];
}

static double rel_error(uint64_t est, uint64_t exact)
{
    return fabs((double)est - (double)exact) / (double)exact;
}

/* Record n samples of d, check every quantile, count, sum and max. */
static double check_distribution(dist_fn d, const char *name)
{
    static uint64_t v[NSAMPLES];
    static hist h;
    hist_init(&h);
    uint64_t sum = 0;
    for (size_t i = 0; i < NSAMPLES; i++) {
        v[i] = d();
        sum += v[i];
        hist_record(&h, v[i]);
    }
    qsort(v, NSAMPLES, sizeof v[0], cmp_u64);
    hrun r;
    CHECK(hrun_from_hist(&r, &h) == AB_OK);
    CHECK(r.count == NSAMPLES && r.sum == sum);
    CHECK(r.max == v[NSAMPLES - 1] && r.min == v[0]);
    double worst = 0;
    for (size_t k = 0; k < AB_ARRAY_LEN(QS); k++) {
        double e = rel_error(hrun_quantile(&r, QS[k]), exact_quantile(v, NSAMPLES, QS[k]));
        worst = e > worst ? e : worst;
    }
    printf("%-12s worst relative error %.5f%%\n", name, worst * 100);
    CHECK(worst <= ERROR_BOUND);
    hrun_free(&r);
    return worst;
}

static void test_error_bound(void)
{
    double worst = 0, e;
    const struct { dist_fn fn; const char *name; } dists[] = {
        {d_log_uniform, "log-uniform"}, {d_exponential, "exponential"},
        {d_lognormal, "lognormal"},     {d_bimodal, "bimodal"},
        {d_pareto, "pareto"},           {d_edges, "edges"},
        {d_linear_low, "low-linear"},
    };
    for (size_t i = 0; i < AB_ARRAY_LEN(dists); i++) {
        e = check_distribution(dists[i].fn, dists[i].name);
        worst = e > worst ? e : worst;
    }
    /* The layout's own bound is 1/128: say so if reality drifts near 1%. */
    CHECK(worst <= 1.0 / 128 + 1e-9);
}

/* Every value from 1 us to 68 s falls in a bucket that contains it and is
 * at most 1/64 of its lower bound wide; buckets tile the line. */
static void test_layout(void)
{
    int bad = 0;
    for (unsigned i = 0; i + 1 < HIST_BUCKETS; i++) {
        bad += hist_bucket_low(i) + hist_bucket_width(i) != hist_bucket_low(i + 1);
        bad += i >= 128 && hist_bucket_width(i) * 64 > hist_bucket_low(i);
    }
    CHECK(bad == 0);
    for (uint64_t v = 1; v < (1ull << HIST_RANGE_BITS); v = v * 1.0007 + 1) {
        unsigned i = hist_index(v);
        bad += !(hist_bucket_low(i) <= v && v < hist_bucket_low(i) + hist_bucket_width(i));
    }
    CHECK(bad == 0);
    CHECK(hist_index(UINT64_MAX) == HIST_BUCKETS - 1);
    CHECK(hist_index(0) == 0);
    CHECK(sizeof(hist) <= 8 * 1024);
}

/* Runs merge exactly: A + B equals the histogram of the union, and
 * (A + B) - B equals A, cell for cell. */
static void test_merge(void)
{
    static hist a, b, ab;
    hist_init(&a);
    hist_init(&b);
    hist_init(&ab);
    for (int i = 0; i < 50000; i++) {
        uint64_t x = d_lognormal(), y = d_bimodal();
        hist_record(&a, x);
        hist_record(&b, y);
        hist_record(&ab, x);
        hist_record(&ab, y);
    }
    hrun ra, rb, rab, sum, back;
    CHECK(hrun_from_hist(&ra, &a) == AB_OK && hrun_from_hist(&rb, &b) == AB_OK &&
          hrun_from_hist(&rab, &ab) == AB_OK);
    CHECK(hrun_add(&sum, &ra, &rb, 1) == AB_OK);
    CHECK(sum.n == rab.n && sum.count == rab.count && sum.sum == rab.sum);
    CHECK(sum.min == rab.min && sum.max == rab.max);
    CHECK(sum.n == rab.n && memcmp(sum.cell, rab.cell, sum.n * sizeof *sum.cell) == 0);
    CHECK(hrun_add(&back, &sum, &rb, -1) == AB_OK);
    CHECK(back.n == ra.n && memcmp(back.cell, ra.cell, ra.n * sizeof *ra.cell) == 0);
    CHECK(back.count == ra.count && back.sum == ra.sum);
    hrun_free(&ra);
    hrun_free(&rb);
    hrun_free(&rab);
    hrun_free(&sum);
    hrun_free(&back);
}

#define WIN_SLICES 5
#define WIN_TICKS 17
#define PER_SLICE 3000

/* After every tick the window equals the last WIN_SLICES slices exactly
 * (count, sum, max) and its quantiles are within the bound of the exact
 * ones over those samples; totals hold everything. */
static void test_window(void)
{
    static uint64_t all[WIN_TICKS][PER_SLICE], win[WIN_SLICES * PER_SLICE];
    static hwin w;
    CHECK(hwin_init(&w, WIN_SLICES) == AB_OK);
    uint64_t total = 0;
    for (int t = 0; t < WIN_TICKS; t++) {
        /* Each slice has its own scale, so a stale slice would show. */
        double scale = (double)(1 + (t * 7) % 11);
        for (int i = 0; i < PER_SLICE; i++) {
            all[t][i] = clamp_range((double)d_exponential() * scale);
            hist_record(&w.cur, all[t][i]);
        }
        total += PER_SLICE;
        CHECK(hwin_count(&w) == total);
        CHECK(hwin_tick(&w) == AB_OK);
        size_t n = 0;
        uint64_t sum = 0;
        for (int s = t - WIN_SLICES + 1; s <= t; s++) {
            for (int i = 0; s >= 0 && i < PER_SLICE; i++) {
                win[n++] = all[s][i];
                sum += all[s][i];
            }
        }
        qsort(win, n, sizeof win[0], cmp_u64);
        CHECK(w.win.count == n && w.win.sum == sum && w.win.max == win[n - 1]);
        CHECK(rel_error(w.win.p50, exact_quantile(win, n, 0.5)) <= ERROR_BOUND);
        CHECK(rel_error(w.win.p99, exact_quantile(win, n, 0.99)) <= ERROR_BOUND);
        CHECK(rel_error(w.win.p999, exact_quantile(win, n, 0.999)) <= ERROR_BOUND);
        CHECK(w.last.count == PER_SLICE);
        CHECK(w.total.count == total);
    }
    /* Idle ticks empty the window, the totals stay. */
    for (int t = 0; t < WIN_SLICES; t++)
        CHECK(hwin_tick(&w) == AB_OK);
    CHECK(w.win.count == 0 && w.win.p99 == 0 && w.window.n == 0);
    CHECK(w.total.count == total && w.last.count == 0);
    hwin_free(&w);
}

static void test_empty_and_single(void)
{
    static hist h;
    hist_init(&h);
    hrun r;
    CHECK(hrun_from_hist(&r, &h) == AB_OK);
    CHECK(r.n == 0 && r.cell == NULL && hrun_quantile(&r, 0.5) == 0);
    hist_record(&h, 1234567);
    hrun_free(&r);
    CHECK(hrun_from_hist(&r, &h) == AB_OK);
    /* One sample: every quantile is that sample, exactly (min/max clamp). */
    CHECK(hrun_quantile(&r, 0.5) == 1234567 && hrun_quantile(&r, 1) == 1234567);
    CHECK(hrun_count_le(&r, 1234567 * 2) == 1 && hrun_count_le(&r, 1000) == 0);
    hrun_free(&r);
    hist_reset(&h);
    CHECK(h.count == 0 && h.b[hist_index(1234567)] == 0);
}

int main(void)
{
    test_layout();
    test_error_bound();
    test_merge();
    test_window();
    test_empty_and_single();
    return CHECK_DONE();
}
