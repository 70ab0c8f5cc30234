/*
 * json2mp.c: JSON -> msgpack in one forward pass: no DOM, no recursion, no
 * allocation but the output buffer's growth.
 *
 * msgpack puts a container's element count before its elements, which a
 * one-pass reader knows only at the closing bracket. Each non-empty
 * container therefore starts as a PH_LEN-byte placeholder (type, count,
 * offset of the next placeholder), and once the document is complete one
 * forward pass rewrites every placeholder as the smallest header, sliding
 * the bytes between them down. Each output byte moves at most once however
 * deep the nesting; patching every container at its close instead would
 * move a body once per enclosing level.
 *
 * Strings are decoded straight into the output. A string without escapes or
 * non-ASCII bytes (most keys and values) costs a scan and one memcpy.
 */
#include "numparse.h"
#include "tc_internal.h"

#include <stdint.h>
#include <string.h>

#define PH_LEN 9 /* type byte, uint32 count, uint32 next placeholder */
#define PH_NEXT 5
#define MP_ARRAY32 0xdd
#define MP_MAP32 0xdf
#define MP_MAX_LEN UINT32_MAX /* msgpack lengths and counts are uint32 */

typedef struct jframe {
    uint32_t ph;    /* placeholder offset from the call's first output byte */
    uint32_t count; /* elements (arrays) or pairs (objects) so far */
    int is_obj;
} jframe;

typedef struct jenc {
    const uint8_t *p, *end; /* p: next input byte; on refusal, the culprit */
    ab_buf *out;
    size_t base;     /* out->len when the call began */
    uint32_t n_ph;   /* placeholders written */
    uint32_t first_ph, last_ph;
    unsigned depth, max_depth;
    int opened; /* the last value opened a container that has elements */
    jframe stack[AB_TC_MAX_DEPTH_LIMIT];
} jenc;

static void put_be16(uint8_t *o, uint16_t v)
{
    o[0] = (uint8_t)(v >> 8);
    o[1] = (uint8_t)v;
}

static void put_be32(uint8_t *o, uint32_t v)
{
    put_be16(o, (uint16_t)(v >> 16));
    put_be16(o + 2, (uint16_t)v);
}

static void put_be64(uint8_t *o, uint64_t v)
{
    put_be32(o, (uint32_t)(v >> 32));
    put_be32(o + 4, (uint32_t)v);
}

/* msgpack's smallest encoding of each value, written at o; returns its
 * length (at most 9). */
static size_t pack_uint(uint8_t *o, uint64_t u)
{
    if (u < 0x80) {
        o[0] = (uint8_t)u;
        return 1;
    }
    if (u <= UINT8_MAX) {
        o[0] = 0xcc;
        o[1] = (uint8_t)u;
        return 2;
    }
    if (u <= UINT16_MAX) {
        o[0] = 0xcd;
        put_be16(o + 1, (uint16_t)u);
        return 3;
    }
    if (u <= UINT32_MAX) {
        o[0] = 0xce;
        put_be32(o + 1, (uint32_t)u);
        return 5;
    }
    o[0] = 0xcf;
    put_be64(o + 1, u);
    return 9;
}

static size_t pack_negative(uint8_t *o, int64_t i)
{
    if (i >= -32) {
        o[0] = (uint8_t)i;
        return 1;
    }
    if (i >= INT8_MIN) {
        o[0] = 0xd0;
        o[1] = (uint8_t)i;
        return 2;
    }
    if (i >= INT16_MIN) {
        o[0] = 0xd1;
        put_be16(o + 1, (uint16_t)i);
        return 3;
    }
    if (i >= INT32_MIN) {
        o[0] = 0xd2;
        put_be32(o + 1, (uint32_t)i);
        return 5;
    }
    o[0] = 0xd3;
    put_be64(o + 1, (uint64_t)i);
    return 9;
}

static size_t pack_double(uint8_t *o, double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    o[0] = 0xcb;
    put_be64(o + 1, bits);
    return 9;
}

/* Header of a str (n < 2^32) or a container (n elements or pairs). */
static size_t str_hdr_len(size_t n)
{
    return n < 32 ? 1 : n <= UINT8_MAX ? 2 : n <= UINT16_MAX ? 3 : 5;
}

static size_t pack_str_hdr(uint8_t *o, uint32_t n)
{
    if (n < 32) {
        o[0] = (uint8_t)(0xa0 | n);
        return 1;
    }
    if (n <= UINT8_MAX) {
        o[0] = 0xd9;
        o[1] = (uint8_t)n;
        return 2;
    }
    if (n <= UINT16_MAX) {
        o[0] = 0xda;
        put_be16(o + 1, (uint16_t)n);
        return 3;
    }
    o[0] = 0xdb;
    put_be32(o + 1, n);
    return 5;
}

static size_t pack_container_hdr(uint8_t *o, int is_obj, uint32_t n)
{
    if (n < 16) {
        o[0] = (uint8_t)((is_obj ? 0x80 : 0x90) | n);
        return 1;
    }
    if (n <= UINT16_MAX) {
        o[0] = is_obj ? 0xde : 0xdc;
        put_be16(o + 1, (uint16_t)n);
        return 3;
    }
    o[0] = is_obj ? MP_MAP32 : MP_ARRAY32;
    put_be32(o + 1, n);
    return 5;
}

static int is_ws(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static void skip_ws(jenc *e)
{
    while (e->p < e->end && is_ws(*e->p))
        e->p++;
}

/* Refuse with reason r, blaming the input byte at. */
static ab_tc_reason refuse(jenc *e, const uint8_t *at, ab_tc_reason r)
{
    e->p = at;
    return r;
}

static ab_tc_reason put_byte(jenc *e, uint8_t b)
{
    ab_tc_reason r = tc_reserve(e->out, 1);
    if (r == AB_TC_OK)
        e->out->data[e->out->len++] = b;
    return r;
}

static ab_tc_reason j_literal(jenc *e, const char *word, size_t n,
                              uint8_t byte)
{
    if ((size_t)(e->end - e->p) < n || memcmp(e->p, word, n) != 0)
        return AB_TC_BAD_JSON;
    e->p += n;
    return put_byte(e, byte);
}

static ab_tc_reason j_number(jenc *e)
{
    ab_number num;
    ab_tc_reason r = ab_parse_number(&e->p, e->end, &num);
    if (r == AB_TC_OK)
        r = tc_reserve(e->out, 9);
    if (r != AB_TC_OK)
        return r;
    uint8_t *o = e->out->data + e->out->len;
    e->out->len += num.kind == AB_NUM_UINT  ? pack_uint(o, num.v.u)
                   : num.kind == AB_NUM_INT ? pack_negative(o, num.v.i)
                                            : pack_double(o, num.v.d);
    return AB_TC_OK;
}

/* Value of the hex digit c, or -1. */
static int hex_val(uint8_t c)
{
    if ((unsigned)(c - '0') < 10)
        return c - '0';
    c |= 0x20;
    return (unsigned)(c - 'a') < 6 ? c - 'a' + 10 : -1;
}

/* The four hex digits at p (before end) as a number, or -1. */
static int32_t hex4(const uint8_t *p, const uint8_t *end)
{
    int32_t v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        int d = hex_val(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* UTF-8 of the code point cp (not a surrogate) at o; returns its length. */
static size_t utf8_put(uint8_t *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (uint8_t)(0xc0 | cp >> 6);
        o[1] = (uint8_t)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (uint8_t)(0xe0 | cp >> 12);
        o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
        o[2] = (uint8_t)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (uint8_t)(0xf0 | cp >> 18);
    o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
    o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
    o[3] = (uint8_t)(0x80 | (cp & 0x3f));
    return 4;
}

/* \uXXXX at *q (before close), or a \uD8xx\uDCxx surrogate pair, as UTF-8
 * at *o. A surrogate that is not half of a pair has no UTF-8 form, so the
 * string cannot be carried losslessly: invalid_utf8. */
static ab_tc_reason j_uescape(const uint8_t **q, const uint8_t *close,
                              uint8_t **o)
{
    const uint8_t *p = *q;
    int32_t cp = hex4(p + 2, close), lo;
    if (cp < 0)
        return AB_TC_BAD_JSON;
    p += 6;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return AB_TC_BAD_UTF8;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        lo = close - p >= 6 && p[0] == '\\' && p[1] == 'u' ? hex4(p + 2, close)
                                                           : -1;
        if (lo < 0xdc00 || lo > 0xdfff)
            return AB_TC_BAD_UTF8;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        p += 6;
    }
    *o += utf8_put(*o, (uint32_t)cp);
    *q = p;
    return AB_TC_OK;
}

/* The escape at *q (a backslash before close) decoded at *o. */
static ab_tc_reason j_escape(const uint8_t **q, const uint8_t *close,
                             uint8_t **o)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const uint8_t *p = *q;
    if (close - p < 2)
        return AB_TC_BAD_JSON;
    if (p[1] == 'u')
        return j_uescape(q, close, o);
    const char *hit = memchr(from, p[1], sizeof from - 1);
    if (!hit)
        return AB_TC_BAD_JSON;
    *(*o)++ = (uint8_t)to[hit - from];
    *q = p + 2;
    return AB_TC_OK;
}

/* Decode [q, close) to o: escapes, strictly valid UTF-8, no raw control
 * characters. On refusal e->p is the offending byte. */
static ab_tc_reason j_decode(jenc *e, const uint8_t *q, const uint8_t *close,
                             uint8_t **o)
{
    ab_tc_reason r;
    size_t n;
    while (q < close) {
        if (*q == '\\') {
            if ((r = j_escape(&q, close, o)) != AB_TC_OK)
                return refuse(e, q, r);
        } else if (*q >= 0x80) {
            if (!(n = tc_utf8_seq(q, close)))
                return refuse(e, q, AB_TC_BAD_UTF8);
            for (size_t i = 0; i < n; i++) /* 2..4 bytes: no call */
                *(*o)++ = *q++;
        } else if (*q < 0x20) {
            return refuse(e, q, AB_TC_BAD_JSON);
        } else {
            const uint8_t *run = tc_scan_plain(q, close);
            memcpy(*o, q, (size_t)(run - q));
            *o += run - q;
            q = run;
        }
    }
    return AB_TC_OK;
}

/* The closing quote of a string whose body continues at q, skipping
 * escaped characters; NULL if the input ends first. */
static const uint8_t *find_close_quote(const uint8_t *q, const uint8_t *end)
{
    for (;;) {
        q = tc_scan_plain(q, end);
        if (q == end)
            return NULL;
        if (*q == '"')
            return q;
        if (*q == '\\' && end - q < 2)
            return NULL;
        q += *q == '\\' ? 2 : 1;
    }
}

/* A string whose body starts at s and needs work from q on. Escapes only
 * shrink text, so the raw length bounds the decoded one: reserve that, pick
 * the header for it, and in the rare case the decoded string needs a
 * smaller header, slide it down. */
static ab_tc_reason j_string_slow(jenc *e, const uint8_t *s,
                                  const uint8_t *q)
{
    const uint8_t *close = find_close_quote(q, e->end);
    if (!close)
        return refuse(e, e->end, AB_TC_BAD_JSON);
    size_t raw = (size_t)(close - s), hl = str_hdr_len(raw);
    ab_tc_reason r = raw > MP_MAX_LEN ? AB_TC_TOO_LARGE
                                      : tc_reserve(e->out, hl + raw);
    if (r != AB_TC_OK)
        return r;
    uint8_t *hdr = e->out->data + e->out->len, *o = hdr + hl;
    memcpy(o, s, (size_t)(q - s));
    o += q - s;
    if ((r = j_decode(e, q, close, &o)) != AB_TC_OK)
        return r;
    size_t n = (size_t)(o - (hdr + hl)), hn = str_hdr_len(n);
    if (hn < hl)
        memmove(hdr + hn, hdr + hl, n);
    pack_str_hdr(hdr, (uint32_t)n);
    e->out->len += hn + n;
    e->p = close + 1;
    return AB_TC_OK;
}

/* The string whose opening quote is at e->p. */
static ab_tc_reason j_string(jenc *e)
{
    const uint8_t *s = e->p + 1, *q = tc_scan_plain(s, e->end);
    if (q == e->end || *q != '"')
        return j_string_slow(e, s, q);
    size_t n = (size_t)(q - s);
    ab_tc_reason r = n > MP_MAX_LEN ? AB_TC_TOO_LARGE
                                    : tc_reserve(e->out, str_hdr_len(n) + n);
    if (r != AB_TC_OK)
        return r;
    uint8_t *o = e->out->data + e->out->len;
    size_t hl = pack_str_hdr(o, (uint32_t)n);
    memcpy(o + hl, s, n);
    e->out->len += hl + n;
    e->p = q + 1;
    return AB_TC_OK;
}

/* An object key and its colon; e->p is just inside '{' or after ','. */
static ab_tc_reason j_key(jenc *e)
{
    skip_ws(e);
    if (e->p == e->end || *e->p != '"')
        return AB_TC_BAD_JSON;
    ab_tc_reason r = j_string(e);
    if (r != AB_TC_OK)
        return r;
    skip_ws(e);
    if (e->p == e->end || *e->p != ':')
        return AB_TC_BAD_JSON;
    e->p++;
    return AB_TC_OK;
}

/* Append a placeholder for a container header and chain it to the
 * previous one; its offset goes to *off. */
static ab_tc_reason put_placeholder(jenc *e, int is_obj, uint32_t *off)
{
    size_t at = e->out->len - e->base;
    ab_tc_reason r = at > MP_MAX_LEN - PH_LEN ? AB_TC_TOO_LARGE
                                              : tc_reserve(e->out, PH_LEN);
    if (r != AB_TC_OK)
        return r;
    uint8_t *ph = e->out->data + e->out->len, *start = e->out->data + e->base;
    *off = (uint32_t)at;
    ph[0] = is_obj ? MP_MAP32 : MP_ARRAY32;
    memset(ph + 1, 0, PH_LEN - 1);
    if (e->n_ph++)
        memcpy(start + e->last_ph + PH_NEXT, off, sizeof *off);
    else
        e->first_ph = *off;
    e->last_ph = *off;
    e->out->len += PH_LEN;
    return AB_TC_OK;
}

/* '[' or '{' at e->p. An empty container is written whole; any other gets
 * a placeholder and a stack frame, and an object's first key is read. */
static ab_tc_reason j_open(jenc *e, int is_obj)
{
    if (e->depth == e->max_depth)
        return AB_TC_TOO_DEEP;
    e->p++;
    skip_ws(e);
    if (e->p < e->end && *e->p == (is_obj ? '}' : ']')) {
        e->p++;
        return put_byte(e, is_obj ? 0x80 : 0x90);
    }
    jframe *f = &e->stack[e->depth];
    ab_tc_reason r = put_placeholder(e, is_obj, &f->ph);
    if (r != AB_TC_OK)
        return r;
    f->count = 0;
    f->is_obj = is_obj;
    e->depth++;
    e->opened = 1;
    return is_obj ? j_key(e) : AB_TC_OK;
}

/* One value at e->p: a scalar is written whole, a container opened. */
static ab_tc_reason j_value(jenc *e)
{
    e->opened = 0;
    skip_ws(e);
    if (e->p == e->end)
        return AB_TC_BAD_JSON;
    switch (*e->p) {
    case '{':
        return j_open(e, 1);
    case '[':
        return j_open(e, 0);
    case '"':
        return j_string(e);
    case 't':
        return j_literal(e, "true", 4, 0xc3);
    case 'f':
        return j_literal(e, "false", 5, 0xc2);
    case 'n':
        return j_literal(e, "null", 4, 0xc0);
    default:
        if (*e->p == '-' || (unsigned)(*e->p - '0') < 10)
            return j_number(e);
        return AB_TC_BAD_JSON;
    }
}

/* After a complete value: count it in its container, then either step
 * over ',' (and the next key) or close containers until one continues. */
static ab_tc_reason j_next(jenc *e)
{
    while (e->depth) {
        jframe *f = &e->stack[e->depth - 1];
        if (f->count == MP_MAX_LEN)
            return AB_TC_TOO_LARGE;
        f->count++;
        skip_ws(e);
        if (e->p == e->end)
            return AB_TC_BAD_JSON;
        if (*e->p == ',') {
            e->p++;
            return f->is_obj ? j_key(e) : AB_TC_OK;
        }
        if (*e->p != (f->is_obj ? '}' : ']'))
            return AB_TC_BAD_JSON;
        e->p++;
        memcpy(e->out->data + e->base + f->ph + 1, &f->count, sizeof f->count);
        e->depth--;
    }
    return AB_TC_OK;
}

/* Rewrite every placeholder, in output order, as the smallest header for
 * its count, sliding the bytes between placeholders down. Headers only
 * shrink, so writing never overtakes reading. */
static void j_compact(jenc *e)
{
    uint8_t *b = e->out->data + e->base;
    size_t end = e->out->len - e->base, w = e->first_ph, r = e->first_ph;
    uint32_t ph = e->first_ph, count, next;
    for (uint32_t i = 0; i < e->n_ph; i++, ph = next) {
        memmove(b + w, b + r, ph - r);
        w += ph - r;
        memcpy(&count, b + ph + 1, sizeof count);
        memcpy(&next, b + ph + PH_NEXT, sizeof next);
        w += pack_container_hdr(b + w, b[ph] == MP_MAP32, count);
        r = ph + PH_LEN;
    }
    memmove(b + w, b + r, end - r);
    e->out->len = e->base + w + (end - r);
}

static ab_tc_reason j_run(jenc *e)
{
    ab_tc_reason r;
    for (;;) {
        if ((r = j_value(e)) != AB_TC_OK)
            return r;
        if (e->opened)
            continue;
        if ((r = j_next(e)) != AB_TC_OK)
            return r;
        if (!e->depth)
            break;
    }
    skip_ws(e);
    if (e->p != e->end)
        return AB_TC_TRAILING;
    if (e->n_ph)
        j_compact(e);
    return AB_TC_OK;
}

ab_tc_reason ab_json_to_msgpack(const uint8_t *in, size_t len, ab_buf *out,
                                const ab_tc_opts *opts, size_t *err_offset)
{
    if (len == 0) { /* also spares NULL + 0 below */
        if (err_offset)
            *err_offset = 0;
        return AB_TC_BAD_JSON;
    }
    jenc e; /* fields set one by one: the stack needs no clearing */
    e.p = in;
    e.end = in + len;
    e.out = out;
    e.base = out->len;
    e.n_ph = 0;
    e.depth = 0;
    e.max_depth = tc_max_depth(opts);
    ab_tc_reason r = j_run(&e);
    if (r != AB_TC_OK) {
        out->len = e.base;
        if (err_offset)
            *err_offset = (size_t)(e.p - in);
    }
    return r;
}
