/*
 * numfmt.h: numbers to JSON text. Doubles print as Python's repr() does:
 * the shortest digits that read back to the same bits (ties to the closer,
 * then even), in fixed notation when the decimal exponent is in [-4, 16)
 * and as d.ddde+XX otherwise; the _js variants lay the same digits out as
 * JavaScript does.
 */
#ifndef AB_NUMFMT_H
#define AB_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

/* Room any of the formatters below may need ("-2.2250738585072014e-308"). */
#define AB_NUMFMT_MAX 32

/* Each writes the text of v at out (no NUL) and returns its length. */
size_t ab_fmt_u64(char *out, uint64_t v);
size_t ab_fmt_i64(char *out, int64_t v);
size_t ab_fmt_double(char *out, double v); /* v finite */
/* The shortest digits that read back as the same float32, laid out like a
 * double (0.1f prints "0.1"). v finite. */
size_t ab_fmt_float(char *out, float v);
/* The same digits in JavaScript's Number.prototype.toString layout: 1.0
 * prints "1", 1e21 "1e+21", 1e-7 "1e-7", both zeros "0". v finite. */
size_t ab_fmt_double_js(char *out, double v);
size_t ab_fmt_float_js(char *out, float v);

#endif
