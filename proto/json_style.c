/*
 * json_style.c: byte-exact JSON transcoding for the links. Guesses which
 * producer wrote a JSON text (transcode.h lists the styles) and checks,
 * by decoding the msgpack again in that style, that the far side will
 * rebuild the very bytes the agent sent.
 *
 * The guess reads the text once and stops early: the first ',' or ':'
 * outside a string tells the separators; the first non-ASCII byte or \u
 * escape above U+007E tells whether the producer escapes non-ASCII; the
 * first number spelled in a way only Python or only JavaScript writes
 * tells the number layout. What stays unknown is what the text does not
 * contain, so any choice spells it the same way.
 */
#include "tc_internal.h"

#include <string.h>

/* What the scan learnt; -1 while unknown. */
typedef struct clues {
    int spaced; /* the first separator is followed by a space */
    int ascii;  /* non-ASCII is escaped (1) or raw (0) */
    int js;     /* numbers in JavaScript's (1) or Python's (0) layout */
} clues;

static int all_known(const clues *c)
{
    return c->spaced >= 0 && c->ascii >= 0 && c->js >= 0;
}

static int is_digit(uint8_t c)
{
    return (unsigned)(c - '0') < 10;
}

/* A \u escape at p (after the backslash) above U+007E: only the ASCII
 * styles write those (every style writes controls as \u00XX). */
static int escapes_non_ascii(const uint8_t *p, const uint8_t *end)
{
    if (end - p < 5 || p[0] != 'u')
        return 0;
    return p[1] != '0' || p[2] != '0' || p[3] >= '8' ||
           (p[3] == '7' && (p[4] == 'f' || p[4] == 'F'));
}

/* The string whose opening quote is at p; returns the byte after it. */
static const uint8_t *scan_string(const uint8_t *p, const uint8_t *end,
                                  clues *c)
{
    for (p++; p < end;) {
        p = tc_scan_plain_ascii(p, end);
        if (p == end || *p == '"')
            return p + (p < end);
        if (*p >= 0x7f && c->ascii < 0) /* raw DEL or non-ASCII */
            c->ascii = 0;
        if (*p == '\\' && c->ascii < 0 && escapes_non_ascii(p + 1, end))
            c->ascii = 1;
        p += *p == '\\' ? 2 : 1;
    }
    return end;
}

/* What the number token [p, q) says about the layout: Python pads the
 * exponent to two digits, ends "1.0" with a zero, and switches to
 * exponents from 1e16 and below 1e-4; JavaScript does none of that
 * (JSON.stringify writes 1e-7 and 0.00001). -1 when both spell it so. */
static int number_layout(const uint8_t *p, const uint8_t *q)
{
    const uint8_t *e = p, *dot = memchr(p, '.', (size_t)(q - p));
    while (e < q && *e != 'e' && *e != 'E')
        e++;
    if (dot && e[-1] == '0')
        return 0;
    if (e < q) {
        const uint8_t *x = e + 1 + (e + 1 < q && !is_digit(e[1]));
        size_t nx = (size_t)(q - x);
        if (nx == 1)
            return 1;
        if (nx >= 1 && x[0] == '0')
            return 0;
        if (nx == 2 && e[1] == '+' && x[0] == '1' && x[1] >= '6' &&
            x[1] <= '9')
            return 0; /* 1e+16..1e+19: JavaScript writes the digits */
        if (nx == 2 && e[1] == '+' && x[0] == '2' && x[1] == '0')
            return 0;
        return -1;
    }
    if (dot && dot[-1] == '0' && dot - p == 1 + (*p == '-') && q - dot > 5 &&
        memcmp(dot, ".0000", 5) == 0)
        return 1; /* 0.0000x: Python would write 1e-05 */
    return -1;
}

static const uint8_t *scan_number(const uint8_t *p, const uint8_t *end,
                                  clues *c)
{
    const uint8_t *q = p + 1;
    while (q < end && (is_digit(*q) || *q == '.' || *q == 'e' || *q == 'E' ||
                       *q == '+' || *q == '-'))
        q++;
    if (c->js < 0)
        c->js = number_layout(p, q);
    return q;
}

static ab_json_style decide(const clues *c)
{
    if (c->spaced == 1)
        return c->ascii == 0 ? AB_JSON_PYTHON_UTF8 : AB_JSON_PYTHON;
    if (c->ascii == 1)
        return AB_JSON_PYTHON_COMPACT;
    return c->js == 1 ? AB_JSON_JS : AB_JSON_COMPACT;
}

ab_json_style ab_json_style_guess(const uint8_t *in, size_t len)
{
    clues c = {-1, -1, -1};
    const uint8_t *p = in, *end = in + len;
    while (p < end && !all_known(&c)) {
        if (*p == '"') {
            p = scan_string(p, end, &c);
        } else if (*p == '-' || is_digit(*p)) {
            p = scan_number(p, end, &c);
        } else {
            if ((*p == ',' || *p == ':') && c.spaced < 0)
                c.spaced = p + 1 < end && p[1] == ' ';
            p++;
        }
    }
    return decide(&c);
}

/* Room the writer may reserve beyond what it writes (a number's digits,
 * an escape): the scratch bound is the input length plus this. */
#define VERIFY_SLACK 64

/* Decode the msgpack [mp, mp + n) in style st into scratch, bounded by
 * about the input length (a longer output cannot match), and compare with
 * the input: 1 if equal, else 0 with *diff at the first byte that
 * differs. */
static int verify(const uint8_t *in, size_t len, const uint8_t *mp, size_t n,
                  ab_buf *scratch, const ab_tc_opts *opts, ab_json_style st,
                  size_t *diff)
{
    ab_tc_opts o = {opts ? opts->max_depth : 0, st};
    size_t max = scratch->max;
    scratch->len = 0;
    scratch->max = max > VERIFY_SLACK && len < max - VERIFY_SLACK
                       ? len + VERIFY_SLACK
                       : max;
    ab_tc_reason r = ab_msgpack_to_json(mp, n, scratch, &o, NULL);
    scratch->max = max;
    if (r != AB_TC_OK) { /* longer than the input (or no room to check) */
        *diff = 0;
        return 0;
    }
    size_t i = 0;
    while (i < len && i < scratch->len && in[i] == scratch->data[i])
        i++;
    *diff = i;
    return i == len && scratch->len == len;
}

ab_tc_reason ab_json_to_msgpack_exact(const uint8_t *in, size_t len,
                                      ab_buf *out, ab_buf *scratch,
                                      const ab_tc_opts *opts,
                                      ab_json_style *style, size_t *err_offset)
{
    size_t base = out->len, diff;
    ab_tc_reason r = ab_json_to_msgpack(in, len, out, opts, err_offset);
    if (r != AB_TC_OK)
        return r;
    ab_json_style st = ab_json_style_guess(in, len);
    if (!verify(in, len, out->data + base, out->len - base, scratch, opts, st,
                &diff)) {
        out->len = base;
        if (err_offset)
            *err_offset = diff;
        return AB_TC_NOT_EXACT;
    }
    *style = st;
    return AB_TC_OK;
}

#define AB_JSON_STYLE_NAME(sym, id, name, help) [id] = name,
static const char *const style_names[] = {AB_JSON_STYLES(AB_JSON_STYLE_NAME)};

const char *ab_json_style_name(unsigned style)
{
    return style < AB_JSON_NSTYLES ? style_names[style] : "unknown";
}
