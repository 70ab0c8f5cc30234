/*
 * numfmt.c: integers and binary floating point to JSON text.
 *
 * Shortest digits come from the Schubfach algorithm (R. Giulietti, "The
 * Schubfach way to render doubles", 2020; the structure below follows the
 * paper's figure 7 and its reference implementation in the JDK). It needs no
 * bignum and no retry loop: three 64x128-bit products decide the digits.
 * The same code serves float32: only the significand width and the lowest
 * exponent differ, and the float32 interval is what decides the digits.
 */
#include "numfmt.h"

#include "pow10.h"

#include <string.h>

#define MASK63 ((UINT64_C(1) << 63) - 1)

/* Decimal value digits * 10^exp. */
typedef struct decimal {
    uint64_t digits;
    int32_t exp;
} decimal;

/* An IEEE-754 binary format, as far as digit generation cares. */
typedef struct ieee_kind {
    int mant_bits;   /* explicit significand bits */
    int32_t q_min;   /* binary exponent of the subnormals */
} ieee_kind;

static const ieee_kind KIND_DOUBLE = {52, -1074};
static const ieee_kind KIND_FLOAT = {23, -149};

static const char DIGIT_PAIRS[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536"
    "37383940414243444546474849505152535455565758596061626364656667686970717273"
    "7475767778798081828384858687888990919293949596979899";

/* Number of decimal digits of v (1..20): bit length times log10(2),
 * corrected by one compare. */
static size_t count_digits(uint64_t v)
{
    static const uint64_t POW10[20] = {
        1u, 10u, 100u, 1000u, 10000u, 100000u, 1000000u, 10000000u,
        100000000u, 1000000000u, 10000000000u, 100000000000u,
        1000000000000u, 10000000000000u, 100000000000000u,
        1000000000000000u, 10000000000000000u, 100000000000000000u,
        1000000000000000000u, 10000000000000000000u};
    size_t t = (size_t)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;
    return t + ((v | 1) >= POW10[t]);
}

/* Exactly eight digits of v < 10^8 at out: four independent pairs, so the
 * divisions overlap instead of forming one long chain. */
static void write8(char *out, uint32_t v)
{
    uint32_t hi = v / 10000, lo = v % 10000;
    memcpy(out, DIGIT_PAIRS + 2 * (hi / 100), 2);
    memcpy(out + 2, DIGIT_PAIRS + 2 * (hi % 100), 2);
    memcpy(out + 4, DIGIT_PAIRS + 2 * (lo / 100), 2);
    memcpy(out + 6, DIGIT_PAIRS + 2 * (lo % 100), 2);
}

/* The n decimal digits of v, written at out from the end: eight at a
 * time while more than eight remain, then two at a time. */
static void write_digits(char *out, uint64_t v, size_t n)
{
    char *p = out + n;
    for (; v >= 100000000; v /= 100000000) {
        p -= 8;
        write8(p, (uint32_t)(v % 100000000));
    }
    uint32_t w = (uint32_t)v;
    for (; w >= 100; w /= 100) {
        p -= 2;
        memcpy(p, DIGIT_PAIRS + 2 * (w % 100), 2);
    }
    if (w >= 10)
        memcpy(p - 2, DIGIT_PAIRS + 2 * w, 2);
    else
        p[-1] = (char)('0' + w);
}

/* Writes the decimal digits of v at out; returns how many (1..20). */
static size_t put_digits(char *out, uint64_t v)
{
    size_t n = count_digits(v);
    write_digits(out, v, n);
    return n;
}

size_t ab_fmt_u64(char *out, uint64_t v)
{
    return put_digits(out, v);
}

size_t ab_fmt_i64(char *out, int64_t v)
{
    if (v >= 0)
        return put_digits(out, (uint64_t)v);
    out[0] = '-';
    return 1 + put_digits(out + 1, -(uint64_t)v);
}

/* floor(q * log10(2)) and floor(q * log10(2) + log10(3/4)), |q| <= 1500. */
static int32_t floor_log10_pow2(int32_t q)
{
    return ab_floor_shr(q * 1262611, 22);
}

static int32_t floor_log10_three_quarters_pow2(int32_t q)
{
    return ab_floor_shr(q * 1262611 - 524031, 22);
}

/* The paper's g for 10^-k: floor(10^-k * 2^-r) + 1 with 2^125 <= g < 2^126,
 * split as g1 * 2^63 + g0. Truncating the table entry by two bits keeps the
 * floor exact, so adding one gives the paper's g bit for bit. */
static void schubfach_g(int32_t k, uint64_t *g1, uint64_t *g0)
{
    const uint64_t *t = ab_pow10[-k - AB_POW10_MIN];
    ab_u128 g = ((((ab_u128)t[0] << 64) | t[1]) >> 2) + 1;
    *g1 = (uint64_t)(g >> 63);
    *g0 = (uint64_t)g & MASK63;
}

/* The paper's r_o': cp * g / 2^127, rounded to odd using the next 63 bits. */
static uint64_t round_to_odd(uint64_t g1, uint64_t g0, uint64_t cp)
{
    uint64_t x1 = (uint64_t)(((ab_u128)g0 * cp) >> 64);
    ab_u128 y = (ab_u128)g1 * cp;
    uint64_t z = ((uint64_t)y >> 1) + x1;
    uint64_t vbp = (uint64_t)(y >> 64) + (z >> 63);
    return vbp | (((z & MASK63) + MASK63) >> 63);
}

/* Shortest decimal in the rounding interval of c * 2^q. irregular: c is a
 * power of two above the smallest normal, so the interval below is half as
 * wide as the one above. (The JDK scales the tiniest subnormals by ten
 * first because Java wants two digits; repr wants "5e-324".) */
static decimal to_decimal(int32_t q, uint64_t c, int irregular)
{
    uint64_t out = c & 1, cb = c << 2, cbr = cb + 2;
    uint64_t cbl = irregular ? cb - 1 : cb - 2;
    int32_t k = irregular ? floor_log10_three_quarters_pow2(q)
                          : floor_log10_pow2(q);
    int32_t h = q + ab_floor_log2_pow10(-k) + 2;
    uint64_t g1, g0;
    schubfach_g(k, &g1, &g0);
    uint64_t vb = round_to_odd(g1, g0, cb << h);
    uint64_t vbl = round_to_odd(g1, g0, cbl << h);
    uint64_t vbr = round_to_odd(g1, g0, cbr << h);
    uint64_t s = vb >> 2;
    if (s >= 10) { /* try one digit fewer first */
        uint64_t sp10 = 10 * (s / 10), tp10 = sp10 + 10;
        int upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
        if (upin != wpin)
            return (decimal){upin ? sp10 : tp10, k};
    }
    uint64_t t = s + 1;
    int uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
    if (uin != win)
        return (decimal){uin ? s : t, k};
    uint64_t mid = (s + t) << 1; /* both fit: the closer, ties to even */
    int down = vb < mid || (vb == mid && (s & 1) == 0);
    return (decimal){down ? s : t, k};
}

/* Shortest decimal of the positive finite value with these bits. */
static decimal shortest(uint64_t bits, const ieee_kind *kind)
{
    uint64_t hidden = UINT64_C(1) << kind->mant_bits;
    uint64_t t = bits & (hidden - 1);
    int32_t bq = (int32_t)(bits >> kind->mant_bits);
    if (bq == 0)
        return to_decimal(kind->q_min, t, 0);
    uint64_t c = hidden | t;
    int32_t q = kind->q_min - 1 + bq;
    if (q < 0 && -q <= kind->mant_bits) { /* small integers are exact */
        uint64_t f = c >> -q;
        if (f << -q == c)
            return (decimal){f, 0};
    }
    return to_decimal(q, c, t == 0 && bq > 1);
}

/* d.ddde+XX (Python's layout outside the fixed range) of the n digits
 * of v, whose first digit has decimal exponent e. */
static size_t layout_sci(char *out, uint64_t v, size_t n, int32_t e)
{
    write_digits(out + 1, v, n);
    out[0] = out[1];
    size_t len = 1;
    if (n > 1) {
        out[1] = '.';
        len = n + 1;
    }
    out[len++] = 'e';
    out[len++] = e < 0 ? '-' : '+';
    if (e < 0)
        e = -e;
    if (e < 10)
        out[len++] = '0';
    return len + put_digits(out + len, (uint64_t)e);
}

/* Python repr's layout of digits * 10^exp (digits > 0): fixed notation
 * when the point falls at -4 < decpt <= 16 digits from the left. Digits
 * are written in place; only short runs ever move. */
static size_t layout(char *out, decimal d)
{
    while (d.digits % 10 == 0) {
        d.digits /= 10;
        d.exp++;
    }
    size_t n = count_digits(d.digits);
    int32_t decpt = (int32_t)n + d.exp;
    if (decpt <= -4 || decpt > 16)
        return layout_sci(out, d.digits, n, decpt - 1);
    if (decpt <= 0) { /* 0.000ddd: at most three zeros */
        memcpy(out, "0.000", 5);
        write_digits(out + 2 - decpt, d.digits, n);
        return 2 - (size_t)decpt + n;
    }
    if ((size_t)decpt < n) { /* ddd.ddd */
        write_digits(out + 1, d.digits, n);
        for (int32_t i = 0; i < decpt; i++)
            out[i] = out[i + 1];
        out[decpt] = '.';
        return n + 1;
    }
    write_digits(out, d.digits, n); /* ddd000.0 */
    for (size_t i = n; i < (size_t)decpt; i++)
        out[i] = '0';
    memcpy(out + decpt, ".0", 2);
    return (size_t)decpt + 2;
}

/* Number.prototype.toString's layout of digits * 10^exp (ECMA-262,
 * Number::toString): plain digits up to 21 integer places, "0.000ddd" down
 * to six zeros, otherwise d.ddde+X with an unpadded exponent. */
static size_t layout_js(char *out, decimal d)
{
    while (d.digits % 10 == 0) {
        d.digits /= 10;
        d.exp++;
    }
    size_t n = count_digits(d.digits);
    int32_t decpt = (int32_t)n + d.exp;
    if (decpt > 21 || decpt <= -6) {
        size_t len = layout_sci(out, d.digits, n, decpt - 1);
        size_t at = n > 1 ? n + 3 : 3; /* first exponent digit */
        if (out[at] == '0') {          /* "e-07" -> "e-7" */
            memmove(out + at, out + at + 1, len - at - 1);
            len--;
        }
        return len;
    }
    if (decpt <= 0) { /* 0.000ddd: at most five zeros */
        memcpy(out, "0.00000", 7);
        write_digits(out + 2 - decpt, d.digits, n);
        return 2 - (size_t)decpt + n;
    }
    if ((size_t)decpt < n) { /* ddd.ddd */
        write_digits(out + 1, d.digits, n);
        for (int32_t i = 0; i < decpt; i++)
            out[i] = out[i + 1];
        out[decpt] = '.';
        return n + 1;
    }
    write_digits(out, d.digits, n); /* ddd000, no fraction */
    for (size_t i = n; i < (size_t)decpt; i++)
        out[i] = '0';
    return (size_t)decpt;
}

/* Sign, then zero or the shortest digits of the magnitude. JavaScript
 * prints both zeros as "0" and has no "-0". */
static size_t fmt_ieee(char *out, uint64_t bits, int sign_shift,
                       const ieee_kind *kind, int js)
{
    size_t len = 0;
    uint64_t mag = bits & ~(UINT64_C(1) << sign_shift);
    if (mag == 0) {
        if (js) {
            out[0] = '0';
            return 1;
        }
        if (bits >> sign_shift)
            out[len++] = '-';
        memcpy(out + len, "0.0", 3);
        return len + 3;
    }
    if (bits >> sign_shift)
        out[len++] = '-';
    decimal d = shortest(mag, kind);
    return len + (js ? layout_js(out + len, d) : layout(out + len, d));
}

size_t ab_fmt_double(char *out, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return fmt_ieee(out, bits, 63, &KIND_DOUBLE, 0);
}

size_t ab_fmt_float(char *out, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return fmt_ieee(out, bits, 31, &KIND_FLOAT, 0);
}

size_t ab_fmt_double_js(char *out, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return fmt_ieee(out, bits, 63, &KIND_DOUBLE, 1);
}

size_t ab_fmt_float_js(char *out, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return fmt_ieee(out, bits, 31, &KIND_FLOAT, 1);
}
