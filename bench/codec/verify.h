/*
 * verify.h: value-level comparison of msgpack documents, so the benchmark
 * refuses to time an implementation whose output is wrong.
 */
#ifndef AB_BENCH_VERIFY_H
#define AB_BENCH_VERIFY_H

#include "impl.h"

/* AB_OK when a and b each hold exactly one msgpack value and the two values
 * are equal: integers by value whatever their encoded width, floats by their
 * bits whether float32 or float64, strings bytewise, maps in order. On a
 * difference err shows the first differing pair of sub-values. */
int mp_same_value(span a, span b, char *err);

#endif
