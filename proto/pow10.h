/*
 * pow10.h: the table of 128-bit powers of ten shared by the number parser
 * (numparse.c) and the number printer (numfmt.c), and the little integer
 * helpers both need. The table is generated: see gen_pow10.py.
 */
#ifndef AB_POW10_H
#define AB_POW10_H

#include <stdint.h>

#define AB_POW10_MIN (-342)
#define AB_POW10_MAX 324

/* ab_pow10[q - AB_POW10_MIN] = {high, low} 64-bit halves of
 * floor(10^q * 2^s), where s puts the value in [2^127, 2^128). */
extern const uint64_t ab_pow10[AB_POW10_MAX - AB_POW10_MIN + 1][2];

__extension__ typedef unsigned __int128 ab_u128;

/* floor(x / 2^n) for negative x too, without relying on how the compiler
 * shifts negative numbers. */
static inline int32_t ab_floor_shr(int32_t x, int n)
{
    return x >= 0 ? x >> n : ~(~x >> n);
}

/* floor(e * log2(10)), exact for |e| <= 1233. */
static inline int32_t ab_floor_log2_pow10(int32_t e)
{
    return ab_floor_shr(e * 1741647, 19);
}

#endif
