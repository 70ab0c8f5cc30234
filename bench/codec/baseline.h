/*
 * baseline.h: the library baseline the codec is measured against: jansson
 * DOM + msgpack-c, used the way an application would glue them together.
 *
 *   JSON -> msgpack: json_loadb into a DOM, walk it with msgpack_pack_*.
 *   msgpack -> JSON: msgpack_unpack into a zone, build a jansson DOM,
 *                    json_dumpb(JSON_COMPACT | JSON_REAL_PRECISION(17)).
 *
 * Like the codec's ab_buf, the output buffers and the unpack zone are reused
 * across calls. jansson integers are long long, so a uint64 above INT64_MAX
 * is refused here (the corpus has none).
 */
#ifndef AB_BENCH_BASELINE_H
#define AB_BENCH_BASELINE_H

#include "impl.h"

#include <jansson.h>
#include <msgpack.h>

typedef struct baseline {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    msgpack_zone zone;
    char *json;       /* json_dumpb output buffer */
    size_t json_cap;
    size_t max_out;   /* either direction's output may not exceed this */
    unsigned max_depth; /* containers nested deeper are refused */
} baseline;

int baseline_init(baseline *b, size_t max_out, unsigned max_depth, char *err);
void baseline_free(baseline *b);

/* xcode_fn implementations; ctx is a baseline. */
int baseline_json_to_msgpack(void *ctx, span in, span *out, char *err);
int baseline_msgpack_to_json(void *ctx, span in, span *out, char *err);

#endif
