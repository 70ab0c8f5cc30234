/*
 * bench_codec.c: throughput of this codec (proto/transcode.h) against the
 * jansson + msgpack-c baseline, both directions, on one corpus, in one run.
 *
 * Before any timing every document goes through both implementations and
 * the outputs are checked to carry the same values (verify.h); a mismatch
 * aborts, so a broken codec can never produce a flattering number.
 * Measurements are interleaved codec/baseline with the order alternating per
 * round; each reports MB/s of input (1 MB = 1e6 bytes) and the table shows
 * the median over rounds.
 *
 * A second table prices the byte-exact transcode the links use
 * (ab_json_to_msgpack_exact: guess the producer's style, transcode, decode
 * again and compare) against the plain JSON -> msgpack on the same corpus,
 * and says how many documents it accepted.
 */
#include "baseline.h"
#include "corpus.h"
#include "impl.h"
#include "verify.h"

#include "common.h"
#include "transcode.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BENCH_DEFAULT_ROUNDS 5
#define BENCH_DEFAULT_MIN_SECONDS 0.5
#define BENCH_DEFAULT_MAX_DOC (16u << 20)
#define BENCH_MAX_ROUNDS 1000 /* the most --rounds accepts */
#define BENCH_OUT_PER_IN 4 /* output bound = this x --max-doc-bytes */
#define BENCH_GOAL_RATIO 5.0 /* the target: codec >= 5x baseline */
#define BENCH_SHOW_INPUT 160 /* bytes of a failing document to print */
#define BENCH_BUSY_CPU_SHARE 0.9 /* below this, warn that the machine is busy */

enum { J2M, M2J, NDIR };
enum { CODEC, BASE, NIMPL };
static const char *const DIR_NAMES[NDIR] = {"json->msgpack", "msgpack->json"};
static const char *const IMPL_NAMES[NIMPL] = {"codec", "baseline"};

typedef struct options {
    unsigned rounds;
    double min_seconds;
    size_t max_doc;
    unsigned max_depth;
    int cpu_clock; /* time by thread CPU time instead of CLOCK_MONOTONIC */
    int help;
    const char *path;
} options;

/* The codec behind the xcode_fn shape: one reused, bounded ab_buf. */
typedef struct codec {
    ab_buf buf;
    ab_buf scratch; /* the exact transcode's check */
    ab_tc_opts opts;
} codec;

typedef struct impl {
    xcode_fn fn;
    void *ctx;
} impl;

/* The documents timed together: the whole corpus or one message class. */
typedef struct docset {
    const char *name;
    size_t n;
    span *in[NDIR];       /* inputs: JSON text, and its msgpack */
    uint64_t bytes[NDIR]; /* total input bytes per direction */
} docset;

typedef struct bench {
    options o;
    corpus c;
    span *mp; /* per document: the codec's msgpack, owned here */
    size_t identical; /* documents whose msgpack equals the baseline's */
    codec cod;
    baseline base;
    impl impls[NDIR][NIMPL];
    docset *sets; /* [0] is the whole corpus, then one per class */
    size_t nsets;
    double *mbps; /* [set][dir][impl][round] */
    double wall_total, cpu_total; /* seconds spent in all measurements */
} bench;

/* A reading of both clocks: wall (CLOCK_MONOTONIC) and this thread's CPU. */
typedef struct clocks {
    double wall, cpu;
} clocks;

/* ---- the codec as an xcode_fn ---- */

static int codec_result(const codec *c, ab_tc_reason r, size_t at, span *out,
                        char *err)
{
    if (r != AB_TC_OK)
        return ab_seterr(err, AB_ERRLEN, "%s at offset %zu",
                         ab_tc_reason_name(r), at);
    *out = (span){c->buf.data, c->buf.len};
    return AB_OK;
}

static int codec_json_to_msgpack(void *ctx, span in, span *out, char *err)
{
    codec *c = ctx;
    size_t at = 0;
    c->buf.len = 0;
    ab_tc_reason r = ab_json_to_msgpack(in.p, in.n, &c->buf, &c->opts, &at);
    return codec_result(c, r, at, out, err);
}

static int codec_msgpack_to_json(void *ctx, span in, span *out, char *err)
{
    codec *c = ctx;
    size_t at = 0;
    c->buf.len = 0;
    ab_tc_reason r = ab_msgpack_to_json(in.p, in.n, &c->buf, &c->opts, &at);
    return codec_result(c, r, at, out, err);
}

static int codec_json_to_msgpack_exact(void *ctx, span in, span *out,
                                       char *err)
{
    codec *c = ctx;
    size_t at = 0;
    ab_json_style st;
    c->buf.len = 0;
    ab_tc_reason r = ab_json_to_msgpack_exact(in.p, in.n, &c->buf, &c->scratch,
                                              &c->opts, &st, &at);
    return codec_result(c, r, at, out, err);
}

/* ---- command line ---- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_codec [options] CORPUS\n"
            "  CORPUS              lines of \"<class>\\t<JSON>\" "
            "(gen_corpus.py)\n"
            "  --rounds N          rounds; the median is reported "
            "(default %d)\n"
            "  --min-seconds S     least time per measurement (default %.1f)\n"
            "  --clock wall|cpu    CLOCK_MONOTONIC (default) or thread CPU "
            "time,\n"
            "                      steadier on a shared machine\n"
            "  --max-doc-bytes N   largest document (default %u); outputs "
            "may be %dx that\n"
            "  --max-depth N       nesting bound for both implementations "
            "(default %d)\n",
            BENCH_DEFAULT_ROUNDS, BENCH_DEFAULT_MIN_SECONDS,
            BENCH_DEFAULT_MAX_DOC, BENCH_OUT_PER_IN, AB_TC_DEFAULT_MAX_DEPTH);
}

/* A whole-string unsigned number in [1, max]. */
static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*s == '-' || *end || end == s || v == 0 || v > max)
        return AB_ERR;
    *out = v;
    return AB_OK;
}

static int parse_option(options *o, int opt, const char *arg)
{
    unsigned long v;
    char *end;
    switch (opt) {
    case 'r':
        if (parse_uint(arg, BENCH_MAX_ROUNDS, &v) != AB_OK)
            return AB_ERR;
        o->rounds = (unsigned)v;
        return AB_OK;
    case 's':
        o->min_seconds = strtod(arg, &end);
        return *end || end == arg || !(o->min_seconds > 0) ? AB_ERR : AB_OK;
    case 'd':
        if (parse_uint(arg, SIZE_MAX / BENCH_OUT_PER_IN, &v) != AB_OK)
            return AB_ERR;
        o->max_doc = v;
        return AB_OK;
    case 'p':
        if (parse_uint(arg, AB_TC_MAX_DEPTH_LIMIT, &v) != AB_OK)
            return AB_ERR;
        o->max_depth = (unsigned)v;
        return AB_OK;
    case 'c':
        o->cpu_clock = strcmp(arg, "cpu") == 0;
        return o->cpu_clock || strcmp(arg, "wall") == 0 ? AB_OK : AB_ERR;
    }
    return AB_ERR;
}

static int parse_args(options *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"rounds", required_argument, NULL, 'r'},
        {"min-seconds", required_argument, NULL, 's'},
        {"max-doc-bytes", required_argument, NULL, 'd'},
        {"max-depth", required_argument, NULL, 'p'},
        {"clock", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    *o = (options){BENCH_DEFAULT_ROUNDS, BENCH_DEFAULT_MIN_SECONDS,
                   BENCH_DEFAULT_MAX_DOC, AB_TC_DEFAULT_MAX_DEPTH,
                   0, 0, NULL};
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (opt == 'h')
            o->help = 1;
        else if (parse_option(o, opt, optarg) != AB_OK)
            return AB_ERR;
    }
    if (o->help)
        return AB_OK;
    if (optind != argc - 1)
        return AB_ERR;
    o->path = argv[optind];
    return AB_OK;
}

/* ---- verification: every output must carry the input's values ---- */

static int run(const bench *b, int dir, int kind, span in, span *out,
               char *err)
{
    const impl *im = &b->impls[dir][kind];
    char why[AB_ERRLEN];
    if (im->fn(im->ctx, in, out, why) == AB_OK)
        return AB_OK;
    return ab_seterr(err, AB_ERRLEN, "%s %s refused it: %s", IMPL_NAMES[kind],
                     DIR_NAMES[dir], why);
}

static int keep_copy(span *dst, span src, char *err)
{
    uint8_t *p = malloc(src.n ? src.n : 1);
    if (!p)
        return ab_seterr(err, AB_ERRLEN, "out of memory");
    memcpy(p, src.p, src.n);
    *dst = (span){p, src.n};
    return AB_OK;
}

/* The codec's msgpack for document i, kept in b->mp[i], must carry the
 * same values as the baseline's; byte-identical output is counted. */
static int check_json_to_msgpack(bench *b, size_t i, char *err)
{
    span json = b->c.docs[i].json, out, ref;
    char why[AB_ERRLEN];
    if (run(b, J2M, CODEC, json, &out, err) != AB_OK ||
        keep_copy(&b->mp[i], out, err) != AB_OK ||
        run(b, J2M, BASE, json, &ref, err) != AB_OK)
        return AB_ERR;
    if (ref.n == b->mp[i].n && memcmp(ref.p, b->mp[i].p, ref.n) == 0) {
        b->identical++;
        return AB_OK;
    }
    if (mp_same_value(b->mp[i], ref, why) != AB_OK)
        return ab_seterr(err, AB_ERRLEN,
                         "codec json->msgpack disagrees with baseline: %s",
                         why);
    return AB_OK;
}

/* An implementation's JSON for b->mp[i], parsed again by the baseline,
 * must give back the same values (this also checks key order). */
static int check_msgpack_to_json(const bench *b, size_t i, int kind,
                                 char *err)
{
    span json, back;
    char why[AB_ERRLEN];
    if (run(b, M2J, kind, b->mp[i], &json, err) != AB_OK)
        return AB_ERR;
    if (run(b, J2M, BASE, json, &back, why) != AB_OK ||
        mp_same_value(back, b->mp[i], why) != AB_OK)
        return ab_seterr(err, AB_ERRLEN,
                         "%s msgpack->json output does not round-trip: %s",
                         IMPL_NAMES[kind], why);
    return AB_OK;
}

static void report_bad_doc(const bench *b, size_t i, const char *why)
{
    const corpus_doc *d = &b->c.docs[i];
    int show = d->json.n < BENCH_SHOW_INPUT ? (int)d->json.n
                                            : BENCH_SHOW_INPUT;
    fprintf(stderr,
            "bench_codec: verification failed, document %zu (class %s):\n"
            "  %s\n  input starts: %.*s\n",
            i + 1, b->c.class_names[d->cls], why, show,
            (const char *)d->json.p);
}

/* Checks every document; details of a failure go to stderr. */
static int verify_corpus(bench *b, char *err)
{
    char why[AB_ERRLEN];
    for (size_t i = 0; i < b->c.n; i++) {
        if (check_json_to_msgpack(b, i, why) != AB_OK ||
            check_msgpack_to_json(b, i, CODEC, why) != AB_OK ||
            check_msgpack_to_json(b, i, BASE, why) != AB_OK) {
            report_bad_doc(b, i, why);
            return ab_seterr(err, AB_ERRLEN, "refusing to time an "
                             "implementation whose output is wrong");
        }
    }
    return AB_OK;
}

/* ---- document sets ---- */

/* Fill set s with the documents of class cls, or all when cls < 0. */
static int fill_set(bench *b, docset *s, const char *name, int cls,
                    char *err)
{
    s->name = name;
    s->in[J2M] = malloc(b->c.n * sizeof(span));
    s->in[M2J] = malloc(b->c.n * sizeof(span));
    if (!s->in[J2M] || !s->in[M2J])
        return ab_seterr(err, AB_ERRLEN, "out of memory");
    for (size_t i = 0; i < b->c.n; i++) {
        if (cls >= 0 && b->c.docs[i].cls != (unsigned)cls)
            continue;
        s->in[J2M][s->n] = b->c.docs[i].json;
        s->in[M2J][s->n] = b->mp[i];
        s->bytes[J2M] += b->c.docs[i].json.n;
        s->bytes[M2J] += b->mp[i].n;
        s->n++;
    }
    return AB_OK;
}

static int build_sets(bench *b, char *err)
{
    b->sets = calloc(1 + b->c.nclasses, sizeof *b->sets);
    if (!b->sets)
        return ab_seterr(err, AB_ERRLEN, "out of memory");
    b->nsets = 1 + b->c.nclasses;
    if (fill_set(b, &b->sets[0], "all", -1, err) != AB_OK)
        return AB_ERR;
    for (unsigned k = 0; k < b->c.nclasses; k++) {
        if (fill_set(b, &b->sets[1 + k], b->c.class_names[k], (int)k, err) !=
            AB_OK)
            return AB_ERR;
    }
    return AB_OK;
}

/* ---- timing ---- */

static double seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static clocks clocks_now(void)
{
    return (clocks){seconds(CLOCK_MONOTONIC),
                    seconds(CLOCK_THREAD_CPUTIME_ID)};
}

/* The rounds' MB/s of one (set, direction, implementation). */
static double *cell(const bench *b, size_t set, int dir, int kind)
{
    return &b->mbps[((set * NDIR + (size_t)dir) * NIMPL + (size_t)kind) *
                    b->o.rounds];
}

/* Whole passes over the set until min_seconds have elapsed; MB/s of input. */
/* Both clocks are read so that the report can tell how much of the wall
 * time this process actually ran (see print_header). */
static int measure(bench *b, const docset *s, int dir, const impl *im,
                   double *mbps, char *err)
{
    uint64_t bytes = 0;
    clocks start = clocks_now(), now;
    double elapsed;
    do {
        for (size_t i = 0; i < s->n; i++) {
            span out;
            if (im->fn(im->ctx, s->in[dir][i], &out, err) != AB_OK)
                return AB_ERR;
        }
        bytes += s->bytes[dir];
        now = clocks_now();
        elapsed = b->o.cpu_clock ? now.cpu - start.cpu : now.wall - start.wall;
    } while (elapsed < b->o.min_seconds);
    *mbps = (double)bytes / elapsed / 1e6;
    b->wall_total += now.wall - start.wall;
    b->cpu_total += now.cpu - start.cpu;
    return AB_OK;
}

/* Each round times every set and direction, codec and baseline back to
 * back, the one going first alternating so slow drift hits both alike. */
static int run_rounds(bench *b, char *err)
{
    for (unsigned r = 0; r < b->o.rounds; r++) {
        for (size_t s = 0; s < b->nsets; s++) {
            for (int dir = 0; dir < NDIR; dir++) {
                for (int j = 0; j < NIMPL; j++) {
                    int kind = (int)((r + (unsigned)j) % NIMPL);
                    if (measure(b, &b->sets[s], dir, &b->impls[dir][kind],
                                &cell(b, s, dir, kind)[r], err) != AB_OK)
                        return AB_ERR;
                }
            }
        }
        fprintf(stderr, "round %u/%u done\n", r + 1, b->o.rounds);
    }
    return AB_OK;
}

/* ---- report ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of n values, sorting them in place (they are not needed after). */
static double median_of(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Median of the rounds of one (set, direction, implementation). */
static double median(const bench *b, size_t set, int dir, int kind)
{
    return median_of(cell(b, set, dir, kind), b->o.rounds);
}

/* How the figures were taken, and whether the machine let us run: on a
 * shared machine wall-clock figures include time spent descheduled. */
static void print_conditions(const bench *b)
{
    double share = b->cpu_total / b->wall_total;
    printf("median of %u rounds, each measurement >= %.2f s of %s time; "
           "MB/s = 1e6 input bytes/s (JSON in for json->msgpack, msgpack in "
           "for msgpack->json)\n",
           b->o.rounds, b->o.min_seconds,
           b->o.cpu_clock ? "thread CPU" : "wall-clock");
    printf("CPU share while timing: %.0f%% of wall-clock time%s\n\n",
           100 * share,
           share < BENCH_BUSY_CPU_SHARE && !b->o.cpu_clock
               ? " (busy machine: figures are noisy; --clock cpu is steadier)"
               : "");
}

static void print_header(const bench *b)
{
    const docset *all = &b->sets[0];
    printf("codec benchmark: %s\n", b->o.path);
    printf("corpus: %zu documents, %.2f MB JSON, %.2f MB msgpack "
           "(msgpack/JSON %.3f)\n",
           all->n, (double)all->bytes[J2M] / 1e6,
           (double)all->bytes[M2J] / 1e6,
           (double)all->bytes[M2J] / (double)all->bytes[J2M]);
    printf("verified: all outputs carry the input values; codec msgpack "
           "byte-identical to baseline for %zu/%zu documents\n",
           b->identical, all->n);
    print_conditions(b);
    printf("%-8s %6s %8s %7s | %-28s | %s\n", "", "", "", "",
           "json->msgpack MB/s", "msgpack->json MB/s");
    printf("%-8s %6s %8s %7s | %8s %9s %9s | %8s %9s %9s\n", "class", "docs",
           "JSON MB", "mp/JSON", "codec", "baseline", "ratio", "codec",
           "baseline", "ratio");
}

/* One table row; ratios[dir] receives codec/baseline. */
static void print_row(const bench *b, size_t set, double ratios[NDIR])
{
    const docset *s = &b->sets[set];
    printf("%-8s %6zu %8.2f %7.3f |", s->name, s->n,
           (double)s->bytes[J2M] / 1e6,
           (double)s->bytes[M2J] / (double)s->bytes[J2M]);
    for (int dir = 0; dir < NDIR; dir++) {
        double c = median(b, set, dir, CODEC), l = median(b, set, dir, BASE);
        ratios[dir] = c / l;
        printf(" %8.1f %9.1f %8.2fx%s", c, l, ratios[dir],
               dir + 1 < NDIR ? " |" : "\n");
    }
}

static void print_report(const bench *b)
{
    double all[NDIR], ratios[NDIR];
    print_header(b);
    print_row(b, 0, all);
    for (size_t s = 1; s < b->nsets; s++)
        print_row(b, s, ratios);
    printf("\ngoal (codec >= %.0fx baseline on the whole corpus):",
           BENCH_GOAL_RATIO);
    for (int dir = 0; dir < NDIR; dir++)
        printf(" %s %.2fx %s%s", DIR_NAMES[dir], all[dir],
               all[dir] >= BENCH_GOAL_RATIO ? "met" : "NOT met",
               dir + 1 < NDIR ? ";" : "\n");
}

/* ---- the verify cost of the byte-exact transcode ---- */

/* The set of documents the exact transcode accepts, into s. */
static int exact_set(bench *b, docset *s, char *err)
{
    impl ex = {codec_json_to_msgpack_exact, &b->cod};
    char why[AB_ERRLEN];
    const docset *all = &b->sets[0];
    s->name = "exact";
    s->in[J2M] = malloc(all->n * sizeof(span));
    if (!s->in[J2M])
        return ab_seterr(err, AB_ERRLEN, "out of memory");
    for (size_t i = 0; i < all->n; i++) {
        span out;
        if (ex.fn(ex.ctx, all->in[J2M][i], &out, why) != AB_OK)
            continue;
        s->in[J2M][s->n++] = all->in[J2M][i];
        s->bytes[J2M] += all->in[J2M][i].n;
    }
    return AB_OK;
}

/* Plain and exact JSON -> msgpack, alternating which goes first, on the
 * documents the exact transcode accepts: what the check costs where it is
 * paid. */
static int time_exact(bench *b, const docset *s, double *plain, double *ex,
                      char *err)
{
    const impl im[2] = {b->impls[J2M][CODEC],
                        {codec_json_to_msgpack_exact, &b->cod}};
    for (unsigned r = 0; r < b->o.rounds; r++) {
        for (unsigned j = 0; j < 2; j++) {
            unsigned k = (r + j) % 2;
            if (measure(b, s, J2M, &im[k], k ? &ex[r] : &plain[r], err) !=
                AB_OK)
                return AB_ERR;
        }
    }
    return AB_OK;
}

static int report_exact(bench *b, char *err)
{
    docset s = {0};
    double *v = calloc(2 * (size_t)b->o.rounds, sizeof *v);
    double *plain = v, *ex = v ? v + b->o.rounds : NULL;
    int rc = !v ? ab_seterr(err, AB_ERRLEN, "out of memory")
                : exact_set(b, &s, err);
    if (rc == AB_OK)
        rc = time_exact(b, &s, plain, ex, err);
    if (rc == AB_OK) {
        double p = median_of(plain, b->o.rounds);
        double e = median_of(ex, b->o.rounds);
        printf("\nbyte-exact transcode (links): accepted %zu/%zu documents "
               "(%.1f%% of the JSON bytes)\n",
               s.n, b->sets[0].n,
               100.0 * (double)s.bytes[J2M] / (double)b->sets[0].bytes[J2M]);
        printf("  on those, json->msgpack: plain %.1f MB/s, exact (guess + "
               "transcode + verify) %.1f MB/s; exact costs %.2fx plain\n",
               p, e, p / e);
    }
    free(s.in[J2M]);
    free(v);
    return rc;
}

/* ---- setup and teardown ---- */

static int bench_init(bench *b, char *err)
{
    size_t max_out = b->o.max_doc * BENCH_OUT_PER_IN;
    ab_buf_init(&b->cod.buf, max_out);
    ab_buf_init(&b->cod.scratch, max_out);
    b->cod.opts.max_depth = b->o.max_depth;
    if (corpus_load(&b->c, b->o.path, b->o.max_doc, err) != AB_OK ||
        baseline_init(&b->base, max_out, b->o.max_depth, err) != AB_OK)
        return AB_ERR;
    b->impls[J2M][CODEC] = (impl){codec_json_to_msgpack, &b->cod};
    b->impls[M2J][CODEC] = (impl){codec_msgpack_to_json, &b->cod};
    b->impls[J2M][BASE] = (impl){baseline_json_to_msgpack, &b->base};
    b->impls[M2J][BASE] = (impl){baseline_msgpack_to_json, &b->base};
    b->mp = calloc(b->c.n, sizeof *b->mp);
    if (!b->mp)
        return ab_seterr(err, AB_ERRLEN, "out of memory");
    return AB_OK;
}

/* Allocate the result cells once the sets are known. */
static int alloc_results(bench *b, char *err)
{
    b->mbps = calloc(b->nsets * NDIR * NIMPL * b->o.rounds, sizeof(double));
    return b->mbps ? AB_OK : ab_seterr(err, AB_ERRLEN, "out of memory");
}

/* Frees whatever bench_init and later steps got to allocate. */
static void bench_free(bench *b)
{
    for (size_t s = 0; s < b->nsets; s++) {
        free(b->sets[s].in[J2M]);
        free(b->sets[s].in[M2J]);
    }
    free(b->sets);
    for (size_t i = 0; b->mp && i < b->c.n; i++)
        free((void *)b->mp[i].p);
    free(b->mp);
    free(b->mbps);
    ab_buf_free(&b->cod.buf);
    ab_buf_free(&b->cod.scratch);
    if (b->base.json)
        baseline_free(&b->base);
    corpus_free(&b->c);
}

int main(int argc, char **argv)
{
    bench b = {0};
    char err[AB_ERRLEN];
    int rc = 1;
    if (parse_args(&b.o, argc, argv) != AB_OK) {
        usage(stderr);
        return 2;
    }
    if (b.o.help) {
        usage(stdout);
        return 0;
    }
    if (bench_init(&b, err) != AB_OK || verify_corpus(&b, err) != AB_OK ||
        build_sets(&b, err) != AB_OK || alloc_results(&b, err) != AB_OK ||
        run_rounds(&b, err) != AB_OK) {
        fprintf(stderr, "bench_codec: %s\n", err);
    } else {
        print_report(&b);
        rc = report_exact(&b, err) == AB_OK ? 0 : 1;
        if (rc)
            fprintf(stderr, "bench_codec: %s\n", err);
    }
    bench_free(&b);
    return rc;
}
