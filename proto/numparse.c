/*
 * numparse.c: JSON number text to an exact integer or the correctly rounded
 * double, in the tokenizer's single pass over the digits.
 *
 * Doubles: the first 19 significant digits w and a decimal exponent q go
 * through the Eisel-Lemire algorithm (D. Lemire, "Number parsing at a
 * gigabyte per second", 2021; N. Mushtak and D. Lemire, "Fast number parsing
 * without fallback", 2023, prove its 128-bit product always suffices). When
 * digits were dropped, w and w+1 bracket the value; if they round apart the
 * number goes to strtod, which glibc rounds correctly.
 */
#include "numparse.h"

#include "pow10.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INF_BITS UINT64_C(0x7ff0000000000000)
#define SIGN_BIT (UINT64_C(1) << 63)
#define MAX_FAST_DIGITS 19 /* all 19-digit decimals fit a uint64 */
#define MAX_POW10_LEMIRE 308 /* w * 10^q overflows beyond this */
/* Explicit exponents saturate here: far beyond any input length, so the
 * result is already 0 or infinite. */
#define EXP_SATURATE INT64_C(1000000000000000)
/* The strtod fallback keeps this many significant digits (more than the 767
 * a halfway point between two doubles can have) and bounds its exponent. */
#define SLOW_DIGITS 800
#define SLOW_EXP_MAX 100000

static int is_digit(uint8_t c)
{
    return (unsigned)(c - '0') < 10;
}

/* The digits of a number as the scan sees them. */
typedef struct numacc {
    uint64_t w;    /* first MAX_FAST_DIGITS significant digits */
    int nsig;      /* how many of them (leading zeros excluded) */
    int64_t q;     /* value ~ w * 10^q */
    int truncated; /* a nonzero digit was dropped */
} numacc;

/* Consume a run of digits of the integer part (frac 0) or the fraction. */
static const uint8_t *acc_digits(const uint8_t *p, const uint8_t *end,
                                 numacc *a, int frac)
{
    for (; p < end && is_digit(*p); p++) {
        unsigned d = *p - '0';
        if (a->nsig < MAX_FAST_DIGITS) {
            a->w = a->w * 10 + d;
            a->nsig += a->w != 0;
            a->q -= frac;
        } else {
            a->truncated |= d != 0;
            a->q += !frac;
        }
    }
    return p;
}

/* Signed exponent digits after 'e'; NULL if there are none. */
static const uint8_t *exponent(const uint8_t *p, const uint8_t *end,
                               int64_t *e)
{
    int neg = 0;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    if (p == end || !is_digit(*p))
        return NULL;
    for (*e = 0; p < end && is_digit(*p); p++)
        if (*e < EXP_SATURATE)
            *e = *e * 10 + (*p - '0');
    if (neg)
        *e = -*e;
    return p;
}

/* The high 128 bits of w * 10^q (w normalized: top bit set), as far as
 * they can matter: the low word is refined only when the high word's
 * last 9 bits, which rounding reads, are all ones. */
static void lemire_product(uint64_t w, int64_t q, uint64_t *hi, uint64_t *lo)
{
    const uint64_t *t = ab_pow10[q - AB_POW10_MIN];
    /* the algorithm's table rounds 10^q up where products can be exact */
    ab_u128 pw = (((ab_u128)t[0] << 64) | t[1]) + (q >= -27 && q < 0);
    ab_u128 prod = (ab_u128)w * (uint64_t)(pw >> 64);
    *hi = (uint64_t)(prod >> 64);
    *lo = (uint64_t)prod;
    if ((*hi & 0x1ff) == 0x1ff) {
        uint64_t lo2 = (uint64_t)(((ab_u128)w * (uint64_t)pw) >> 64);
        *lo += lo2;
        *hi += *lo < lo2;
    }
}

/* Bits of the double nearest w * 10^q (w != 0), ties to even. */
static uint64_t eisel_lemire(uint64_t w, int64_t q)
{
    if (q < AB_POW10_MIN)
        return 0;
    if (q > MAX_POW10_LEMIRE)
        return INF_BITS;
    int lz = __builtin_clzll(w);
    uint64_t hi, lo;
    lemire_product(w << lz, q, &hi, &lo);
    int upper = (int)(hi >> 63), shift = upper + 9;
    uint64_t m = hi >> shift; /* 54 bits: the significand and a round bit */
    int32_t p2 = ab_floor_log2_pow10((int32_t)q) + 63 + upper - lz + 1023;
    if (p2 <= 0) { /* subnormal; m may round up to the smallest normal */
        if (1 - p2 >= 64)
            return 0;
        m >>= 1 - p2;
        return (m + (m & 1)) >> 1;
    }
    if (lo <= 1 && q >= -4 && q <= 23 && (m & 3) == 1 && (m << shift) == hi)
        m &= ~UINT64_C(1); /* exactly halfway: round to even */
    m = (m + (m & 1)) >> 1;
    if (m >> 53) {
        m >>= 1;
        p2++;
    }
    if (p2 >= 0x7ff)
        return INF_BITS;
    return (uint64_t)p2 << 52 | (m & ((UINT64_C(1) << 52) - 1));
}

/* Correctly rounded bits of the digits in [p, end) (an integer part, maybe
 * a fraction) times 10^e, through strtod. The number is rebuilt as
 * "DIGITSeEXP": at most SLOW_DIGITS significant digits, then a 1 standing
 * for any nonzero digits dropped, which cannot change the rounding. No
 * decimal point, so the locale cannot matter. */
static uint64_t slow_bits(const uint8_t *p, const uint8_t *end, int64_t e)
{
    char buf[SLOW_DIGITS + 32];
    size_t n = 0;
    int frac = 0, sticky = 0;
    for (; p < end; p++) {
        if (*p == '.') {
            frac = 1;
        } else if (n == 0 && *p == '0') {
            e -= frac;
        } else if (n < SLOW_DIGITS) {
            buf[n++] = (char)*p;
            e -= frac;
        } else {
            sticky |= *p != '0';
            e += !frac;
        }
    }
    if (sticky) {
        buf[n++] = '1';
        e--;
    }
    e = e > SLOW_EXP_MAX ? SLOW_EXP_MAX : e < -SLOW_EXP_MAX ? -SLOW_EXP_MAX : e;
    snprintf(buf + n, sizeof buf - n, "e%lld", (long long)e);
    double d = strtod(buf, NULL);
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* The double of a scanned number; digits is the text after the sign up to
 * the exponent, e the explicit exponent. */
static ab_tc_reason to_double(const numacc *a, int neg, const uint8_t *digits,
                              const uint8_t *digits_end, int64_t e,
                              ab_number *out)
{
    uint64_t bits = 0;
    if (a->w) {
        bits = eisel_lemire(a->w, a->q + e);
        if (a->truncated && eisel_lemire(a->w + 1, a->q + e) != bits)
            bits = slow_bits(digits, digits_end, e);
    }
    if (bits >= INF_BITS)
        return AB_TC_NON_FINITE;
    bits |= neg ? SIGN_BIT : 0;
    out->kind = AB_NUM_DOUBLE;
    memcpy(&out->v.d, &bits, sizeof bits);
    return AB_TC_OK;
}

/* The integer of a scanned number without fraction or exponent; last is
 * its final digit (needed when it had 20 digits and a->q == 1). */
static ab_tc_reason to_integer(const numacc *a, int neg, unsigned last,
                               ab_number *out)
{
    uint64_t u = a->w;
    if (a->q > 1 || (a->q == 1 && (u > (UINT64_MAX - last) / 10)))
        return AB_TC_INT_RANGE;
    if (a->q == 1)
        u = u * 10 + last;
    if (!neg || u == 0) {
        out->kind = AB_NUM_UINT;
        out->v.u = u;
        return AB_TC_OK;
    }
    if (u > SIGN_BIT)
        return AB_TC_INT_RANGE;
    out->kind = AB_NUM_INT;
    out->v.i = u == SIGN_BIT ? INT64_MIN : -(int64_t)u;
    return AB_TC_OK;
}

/* Integer part: "0", or a nonzero digit and more digits. NULL if absent
 * or if a leading zero is followed by another digit. */
static const uint8_t *int_part(const uint8_t *p, const uint8_t *end,
                               numacc *a)
{
    if (p == end || !is_digit(*p))
        return NULL;
    if (*p == '0')
        return p + 1 < end && is_digit(p[1]) ? NULL : p + 1;
    return acc_digits(p, end, a, 0);
}

static ab_tc_reason bad_at(const uint8_t **pp, const uint8_t *at)
{
    *pp = at;
    return AB_TC_BAD_JSON;
}

ab_tc_reason ab_parse_number(const uint8_t **pp, const uint8_t *end,
                             ab_number *out)
{
    numacc a = {0, 0, 0, 0};
    int neg = **pp == '-', is_int = 1;
    int64_t e = 0;
    const uint8_t *digits = *pp + neg, *p = int_part(digits, end, &a);
    if (!p)
        return bad_at(pp, digits < end && *digits == '0' ? digits + 1 : digits);
    if (p < end && *p == '.') {
        if (p + 1 == end || !is_digit(p[1]))
            return bad_at(pp, p + 1);
        p = acc_digits(p + 1, end, &a, 1);
        is_int = 0;
    }
    const uint8_t *digits_end = p;
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (!(p = exponent(p + 1, end, &e)))
            return bad_at(pp, digits_end + 1);
        is_int = 0;
    }
    ab_tc_reason r = is_int ? to_integer(&a, neg, p[-1] - '0', out)
                            : to_double(&a, neg, digits, digits_end, e, out);
    if (r == AB_TC_OK)
        *pp = p;
    return r;
}
