/*
 * impl.h: the one shape every benchmarked transcoder takes, so the timing
 * loop and the verifier treat this codec and the library baseline alike.
 */
#ifndef AB_BENCH_IMPL_H
#define AB_BENCH_IMPL_H

#include <stddef.h>
#include <stdint.h>

typedef struct span {
    const uint8_t *p;
    size_t n;
} span;

/* Transcode `in` into a buffer owned by ctx. On AB_OK, *out stays valid until
 * the next call on the same ctx; on AB_ERR, err (AB_ERRLEN bytes) says why. */
typedef int (*xcode_fn)(void *ctx, span in, span *out, char *err);

#endif
