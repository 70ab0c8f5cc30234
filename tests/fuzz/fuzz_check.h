/*
 * fuzz_check.h: what both codec fuzz targets check beyond the sanitizers:
 * the buffer contract of proto/transcode.h (appends after existing bytes,
 * restores the length on refusal, honours its bound) and that the two
 * directions are exact inverses on everything they accept.
 * The styled output and the byte-exact transcode are checked too: every
 * style's spelling of a value must be accepted by the exact transcode and
 * rebuilt byte for byte, and whatever it accepts must come back exactly.
 * Included by each fuzz target, hence the static inline functions.
 */
#ifndef AB_FUZZ_CHECK_H
#define AB_FUZZ_CHECK_H

#include "transcode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A violated contract is a crash, so libFuzzer saves the input. */
#define FUZZ_CHECK(cond)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s:%d: contract violated: %s\n", __FILE__,    \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* Bytes already in the caller's buffer, which a call must leave alone. */
#define FUZZ_PREFIX "prefix"
#define FUZZ_PREFIX_LEN (sizeof FUZZ_PREFIX - 1)
/* Outputs are bounded by this multiple of the input (plus slack): an
 * escaped control byte is the largest growth, 1 byte to 6 plus a comma. */
#define FUZZ_OUT_FACTOR 8
#define FUZZ_OUT_SLACK 64

typedef ab_tc_reason (*fuzz_fn)(const uint8_t *, size_t, ab_buf *,
                                const ab_tc_opts *, size_t *);

/* Run fn on [in, in+len) into a fresh buffer bounded by max that already
 * holds FUZZ_PREFIX; check the prefix survives and a refusal adds nothing
 * and blames an offset inside the input. The output starts at
 * b->data + FUZZ_PREFIX_LEN. */
static inline ab_tc_reason fuzz_call(fuzz_fn fn, const uint8_t *in, size_t len,
                              size_t max, ab_buf *b)
{
    size_t off = len + 1;
    ab_buf_init(b, max + FUZZ_PREFIX_LEN);
    b->data = malloc(FUZZ_PREFIX_LEN);
    FUZZ_CHECK(b->data);
    memcpy(b->data, FUZZ_PREFIX, FUZZ_PREFIX_LEN);
    b->len = b->cap = FUZZ_PREFIX_LEN;
    ab_tc_reason r = fn(in, len, b, NULL, &off);
    FUZZ_CHECK(b->len <= b->max);
    FUZZ_CHECK(memcmp(b->data, FUZZ_PREFIX, FUZZ_PREFIX_LEN) == 0);
    if (r != AB_TC_OK) {
        FUZZ_CHECK(b->len == FUZZ_PREFIX_LEN);
        FUZZ_CHECK(off <= len);
    }
    return r;
}

/* fn accepted [in, len) giving want (want_len bytes) with a generous
 * bound; with half the room it must give the same bytes or refuse with
 * output_too_large, nothing else. */
static inline void fuzz_check_bound(fuzz_fn fn, const uint8_t *in, size_t len,
                             const uint8_t *want, size_t want_len)
{
    ab_buf b;
    ab_tc_reason r = fuzz_call(fn, in, len, want_len / 2, &b);
    FUZZ_CHECK(r == AB_TC_OK || r == AB_TC_TOO_LARGE);
    if (r == AB_TC_OK) {
        FUZZ_CHECK(b.len - FUZZ_PREFIX_LEN == want_len);
        FUZZ_CHECK(memcmp(b.data + FUZZ_PREFIX_LEN, want, want_len) == 0);
    }
    ab_buf_free(&b);
}

/* Whether both outputs (after their prefixes) are the same bytes. */
static inline int fuzz_same(const ab_buf *a, const ab_buf *b)
{
    return a->len == b->len &&
           memcmp(a->data + FUZZ_PREFIX_LEN, b->data + FUZZ_PREFIX_LEN,
                  a->len - FUZZ_PREFIX_LEN) == 0;
}

/* The whole check of one input: run `there` on it; if accepted, `back` must
 * accept the output, and `there` must turn that into the very same output
 * again (so the input itself may be non-canonical, its image may not); and
 * a tighter bound may only refuse with output_too_large. */
static inline void fuzz_round_trip(fuzz_fn there, fuzz_fn back, const uint8_t *data,
                            size_t size)
{
    size_t max = FUZZ_OUT_FACTOR * size + FUZZ_OUT_SLACK;
    ab_buf first, other, again;
    if (fuzz_call(there, data, size, max, &first) == AB_TC_OK) {
        const uint8_t *out = first.data + FUZZ_PREFIX_LEN;
        size_t n = first.len - FUZZ_PREFIX_LEN;
        FUZZ_CHECK(fuzz_call(back, out, n,
                             FUZZ_OUT_FACTOR * n + FUZZ_OUT_SLACK,
                             &other) == AB_TC_OK);
        FUZZ_CHECK(fuzz_call(there, other.data + FUZZ_PREFIX_LEN,
                             other.len - FUZZ_PREFIX_LEN, max,
                             &again) == AB_TC_OK);
        FUZZ_CHECK(fuzz_same(&first, &again));
        fuzz_check_bound(there, data, size, out, n);
        ab_buf_free(&other);
        ab_buf_free(&again);
    }
    ab_buf_free(&first);
}

/* The byte-exact transcode of [in, len): when it accepts, decoding its
 * msgpack in the style it chose must give the input back, byte for byte.
 * Returns its reason. */
static inline ab_tc_reason fuzz_exact(const uint8_t *in, size_t len)
{
    ab_buf mp, scratch, back;
    ab_json_style st = AB_JSON_NSTYLES;
    size_t off = len + 1;
    ab_buf_init(&mp, FUZZ_OUT_FACTOR * len + FUZZ_OUT_SLACK);
    ab_buf_init(&scratch, len + FUZZ_OUT_SLACK);
    ab_tc_reason r = ab_json_to_msgpack_exact(in, len, &mp, &scratch, NULL,
                                              &st, &off);
    if (r == AB_TC_OK) {
        ab_tc_opts o = {0, st};
        FUZZ_CHECK(st < AB_JSON_NSTYLES);
        ab_buf_init(&back, 2 * len + FUZZ_OUT_SLACK);
        FUZZ_CHECK(ab_msgpack_to_json(mp.data, mp.len, &back, &o, NULL) ==
                   AB_TC_OK);
        FUZZ_CHECK(back.len == len && memcmp(back.data, in, len) == 0);
        ab_buf_free(&back);
    } else {
        FUZZ_CHECK(mp.len == 0 && off <= len);
    }
    ab_buf_free(&mp);
    ab_buf_free(&scratch);
    return r;
}

/* The canonical msgpack [mp, n) of an accepted value, spelled in every
 * style: each spelling is accepted by msgpack -> JSON, and the exact
 * transcode must accept it (its guess may pick another style only where
 * both spell the value alike) and carry the very same msgpack.
 * JavaScript has one kind of number: 1.0 prints as 1 and comes back an
 * integer, and a double above 2^64 prints as an integer no msgpack int
 * holds (refused, integer_out_of_range), so its spelling is only held to
 * the exact round trip. */
static inline void fuzz_styles(const uint8_t *mp, size_t n)
{
    for (unsigned st = 0; st < AB_JSON_NSTYLES; st++) {
        ab_tc_opts o = {0, st};
        ab_buf json, again;
        ab_buf_init(&json, 16 * n + FUZZ_OUT_SLACK);
        FUZZ_CHECK(ab_msgpack_to_json(mp, n, &json, &o, NULL) == AB_TC_OK);
        ab_tc_reason r = fuzz_exact(json.data, json.len);
        FUZZ_CHECK(r == AB_TC_OK ||
                   (st == AB_JSON_JS && r == AB_TC_INT_RANGE));
        ab_buf_init(&again, FUZZ_OUT_FACTOR * json.len + FUZZ_OUT_SLACK);
        if (st != AB_JSON_JS) {
            FUZZ_CHECK(ab_json_to_msgpack(json.data, json.len, &again, NULL,
                                          NULL) == AB_TC_OK);
            FUZZ_CHECK(again.len == n && memcmp(again.data, mp, n) == 0);
        }
        ab_buf_free(&json);
        ab_buf_free(&again);
    }
}

#endif
