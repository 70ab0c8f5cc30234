/*
 * pow10.h: the table of 128-bit powers of ten shared by the number parser
 * (numparse.c) and the number printer (numfmt.c). Generated: see gen_pow10.py.
 */
#ifndef AB_POW10_H
#define AB_POW10_H

#include <stdint.h>

#define AB_POW10_MIN (-342)
#define AB_POW10_MAX 324

/* ab_pow10[q - AB_POW10_MIN] = {high, low} 64-bit halves of
 * floor(10^q * 2^s), where s puts the value in [2^127, 2^128). */
extern const uint64_t ab_pow10[AB_POW10_MAX - AB_POW10_MIN + 1][2];

#endif
