/*
 * mp2json.c: msgpack -> JSON in one forward pass with an explicit stack: no
 * DOM, no recursion, no allocation but the output buffer's growth.
 *
 * The reader is hand-written rather than msgpack-c's: the C library's only
 * unpacking API (msgpack_unpack_next / msgpack_unpacker) first builds a DOM
 * in a heap zone, which is the per-call churn this codec must avoid and,
 * measured, slower than this whole transcoder (figures in docs/codec.md).
 *
 * Only values with an exact JSON form pass: nil, booleans, integers, finite
 * floats, UTF-8 strings and arrays and maps keyed by strings. bin and ext
 * are refused, never guessed at (docs/codec.md says why).
 *
 * The output is spelled in one of the styles of transcode.h (separators,
 * which characters are escaped, number layout), so that a document written
 * by a common producer comes back byte for byte.
 */
#include "numfmt.h"
#include "tc_internal.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef struct mframe {
    uint32_t left; /* elements, or pairs, still to finish */
    int is_map;
    int at_value; /* map only: the current pair's key is written */
} mframe;

/* What a style changes in the output. */
typedef struct jstyle {
    const char *comma, *colon; /* between items; after a key */
    uint8_t comma_len, colon_len;
    uint8_t ascii; /* escape DEL and everything above it as \uXXXX */
    uint8_t js;    /* numbers in JavaScript's layout */
} jstyle;

static const jstyle STYLES[AB_JSON_NSTYLES] = {
    [AB_JSON_COMPACT] = {",", ":", 1, 1, 0, 0},
    [AB_JSON_PYTHON] = {", ", ": ", 2, 2, 1, 0},
    [AB_JSON_PYTHON_COMPACT] = {",", ":", 1, 1, 1, 0},
    [AB_JSON_PYTHON_UTF8] = {", ", ": ", 2, 2, 0, 0},
    [AB_JSON_JS] = {",", ":", 1, 1, 0, 1},
};

typedef struct mdec {
    const uint8_t *p, *end; /* p: next input byte; on refusal, the culprit */
    ab_buf *out;
    const jstyle *st;
    unsigned depth, max_depth;
    int opened; /* the last item opened a container that has elements */
    mframe stack[AB_TC_MAX_DEPTH_LIMIT];
} mdec;

/* What a type byte announces. */
typedef enum mkind {
    K_INVALID, /* 0xc1, "never used" */
    K_NIL,
    K_FALSE,
    K_TRUE,
    K_BIN,
    K_EXT,
    K_UINT,
    K_INT,
    K_FLOAT32,
    K_FLOAT64,
    K_STR,
    K_ARRAY,
    K_MAP,
} mkind;

/* width: bytes after the type byte holding the value (numbers) or the
 * length (str, bin, containers); 0 when the type byte holds it. */
typedef struct mtype {
    uint8_t kind, width;
} mtype;

/* Type bytes 0xc0..0xdf; the rest are the fix* ranges. */
static const mtype TYPES_C0[32] = {
    [0x00] = {K_NIL, 0},   [0x01] = {K_INVALID, 0}, [0x02] = {K_FALSE, 0},
    [0x03] = {K_TRUE, 0},  [0x04] = {K_BIN, 1},     [0x05] = {K_BIN, 2},
    [0x06] = {K_BIN, 4},   [0x07] = {K_EXT, 1},     [0x08] = {K_EXT, 2},
    [0x09] = {K_EXT, 4},   [0x0a] = {K_FLOAT32, 4}, [0x0b] = {K_FLOAT64, 8},
    [0x0c] = {K_UINT, 1},  [0x0d] = {K_UINT, 2},    [0x0e] = {K_UINT, 4},
    [0x0f] = {K_UINT, 8},  [0x10] = {K_INT, 1},     [0x11] = {K_INT, 2},
    [0x12] = {K_INT, 4},   [0x13] = {K_INT, 8},     [0x14] = {K_EXT, 0},
    [0x15] = {K_EXT, 0},   [0x16] = {K_EXT, 0},     [0x17] = {K_EXT, 0},
    [0x18] = {K_EXT, 0},   [0x19] = {K_STR, 1},     [0x1a] = {K_STR, 2},
    [0x1b] = {K_STR, 4},   [0x1c] = {K_ARRAY, 2},   [0x1d] = {K_ARRAY, 4},
    [0x1e] = {K_MAP, 2},   [0x1f] = {K_MAP, 4},
};

/* Kind of type byte c; for the fix* forms *v gets the value or length the
 * byte carries. */
static mtype classify(uint8_t c, uint64_t *v)
{
    *v = c;
    if (c < 0x80)
        return (mtype){K_UINT, 0};
    if (c >= 0xe0)
        return (mtype){K_INT, 0};
    if (c >= 0xc0)
        return TYPES_C0[c - 0xc0];
    *v = c & (c >= 0xa0 ? 0x1f : 0x0f);
    return (mtype){c >= 0xa0 ? K_STR : c >= 0x90 ? K_ARRAY : K_MAP, 0};
}

/* The big-endian number of `width` bytes after the type byte. */
static uint64_t get_be(const uint8_t *p, size_t width)
{
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++)
        v = v << 8 | p[i];
    return v;
}

/* Two's complement value of the low `width` bytes of v (width 1..8); a
 * width of 0 means a negative fixint, whose byte is the value. */
static int64_t sign_extend(uint64_t v, size_t width)
{
    unsigned shift = 64 - 8 * (unsigned)(width ? width : 1);
    return (int64_t)(v << shift) >> shift;
}

static ab_tc_reason put_bytes(mdec *d, const char *s, size_t n)
{
    ab_tc_reason r = tc_reserve(d->out, n);
    if (r == AB_TC_OK) {
        memcpy(d->out->data + d->out->len, s, n);
        d->out->len += n;
    }
    return r;
}

/* The float32 or float64 whose bits are v, if finite. */
static ab_tc_reason m_float(char *o, size_t *n, mkind kind, uint64_t v,
                            int js)
{
    uint32_t v32 = (uint32_t)v;
    float f;
    double x;
    memcpy(&f, &v32, sizeof f);
    memcpy(&x, &v, sizeof x);
    if (kind == K_FLOAT32 ? !isfinite(f) : !isfinite(x))
        return AB_TC_NON_FINITE;
    if (js)
        *n = kind == K_FLOAT32 ? ab_fmt_float_js(o, f) : ab_fmt_double_js(o, x);
    else
        *n = kind == K_FLOAT32 ? ab_fmt_float(o, f) : ab_fmt_double(o, x);
    return AB_TC_OK;
}

/* A number of this kind whose raw bits (width bytes) are v. */
static ab_tc_reason m_number(mdec *d, mkind kind, size_t width, uint64_t v)
{
    ab_tc_reason r = tc_reserve(d->out, AB_NUMFMT_MAX);
    if (r != AB_TC_OK)
        return r;
    char *o = (char *)d->out->data + d->out->len;
    size_t n = 0;
    if (kind == K_UINT)
        n = ab_fmt_u64(o, v);
    else if (kind == K_INT)
        n = ab_fmt_i64(o, sign_extend(v, width));
    else if ((r = m_float(o, &n, kind, v, d->st->js)) != AB_TC_OK)
        return r;
    d->out->len += n;
    return AB_TC_OK;
}

/* \uXXXX of the BMP code unit u at o (lowercase hex, as Python writes). */
static size_t u_escape(uint8_t *o, uint32_t u)
{
    static const char HEX[] = "0123456789abcdef";
    o[0] = '\\';
    o[1] = 'u';
    for (int i = 0; i < 4; i++)
        o[2 + i] = (uint8_t)HEX[u >> (12 - 4 * i) & 0xf];
    return 6;
}

/* JSON's escape for the byte c (control, quote or backslash) at o. */
static size_t json_escape(uint8_t *o, uint8_t c)
{
    static const char SHORT[0x20] = {['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n',
                                     ['\f'] = 'f', ['\r'] = 'r'};
    o[0] = '\\';
    if (c == '"' || c == '\\') {
        o[1] = c;
        return 2;
    }
    if (SHORT[c]) {
        o[1] = (uint8_t)SHORT[c];
        return 2;
    }
    return u_escape(o, c);
}

/* The code point of the valid n-byte UTF-8 sequence at q. */
static uint32_t utf8_cp(const uint8_t *q, size_t n)
{
    static const uint8_t LEAD_MASK[5] = {0, 0x7f, 0x1f, 0x0f, 0x07};
    uint32_t cp = q[0] & LEAD_MASK[n];
    for (size_t i = 1; i < n; i++)
        cp = cp << 6 | (q[i] & 0x3f);
    return cp;
}

/* The ASCII-only spelling of the code point cp > 0x7e at o: \uXXXX, or a
 * UTF-16 surrogate pair above the BMP (ensure_ascii's form). */
static size_t ascii_escape(uint8_t *o, uint32_t cp)
{
    if (cp < 0x10000)
        return u_escape(o, cp);
    cp -= 0x10000;
    u_escape(o, 0xd800 | cp >> 10);
    return 6 + u_escape(o + 6, 0xdc00 | (cp & 0x3ff));
}

/* A valid UTF-8 sequence of n bytes at q (or DEL), escaped for an ASCII
 * style; the room reserved covers the escape, the rest of the string and
 * its closing quote. */
static ab_tc_reason m_ascii(mdec *d, const uint8_t *q, size_t n,
                            const uint8_t *end)
{
    uint32_t cp = utf8_cp(q, n);
    size_t esc = cp < 0x10000 ? 6 : 12;
    ab_tc_reason r = tc_reserve(d->out, esc + (size_t)(end - q) - n + 1);
    if (r == AB_TC_OK)
        d->out->len += ascii_escape(d->out->data + d->out->len, cp);
    return r;
}

/* The special byte at q of a string ending at end: a control character,
 * quote or backslash is escaped; a UTF-8 sequence is validated and copied
 * (or escaped, and DEL too, in an ASCII style). Room for [q, end) and the
 * closing quote is reserved on entry and still reserved on return. *next
 * gets the byte after it. */
static ab_tc_reason m_special(mdec *d, const uint8_t *q, const uint8_t *end,
                              const uint8_t **next)
{
    if (*q == 0x7f) { /* only an ASCII style stops here */
        *next = q + 1;
        return m_ascii(d, q, 1, end);
    }
    if (*q < 0x80) { /* an escape grows the text by up to 5 bytes */
        ab_tc_reason r = tc_reserve(d->out, 6 + (size_t)(end - q));
        if (r != AB_TC_OK)
            return r;
        d->out->len += json_escape(d->out->data + d->out->len, *q);
        *next = q + 1;
        return AB_TC_OK;
    }
    size_t n = tc_utf8_seq(q, end);
    if (!n) {
        d->p = q;
        return AB_TC_BAD_UTF8;
    }
    *next = q + n;
    if (d->st->ascii)
        return m_ascii(d, q, n, end);
    memcpy(d->out->data + d->out->len, q, n);
    d->out->len += n;
    return AB_TC_OK;
}

/* The n-byte string after a header of hl bytes: validated, escaped. */
static ab_tc_reason m_str(mdec *d, size_t hl, uint64_t n)
{
    const uint8_t *s = d->p + hl, *end;
    if (n > (uint64_t)(d->end - s))
        return AB_TC_BAD_MSGPACK;
    end = s + n;
    ab_tc_reason r = tc_reserve(d->out, n + 2);
    if (r != AB_TC_OK)
        return r;
    d->out->data[d->out->len++] = '"';
    while (s < end) {
        const uint8_t *q = d->st->ascii ? tc_scan_plain_ascii(s, end)
                                        : tc_scan_plain(s, end);
        memcpy(d->out->data + d->out->len, s, (size_t)(q - s));
        d->out->len += (size_t)(q - s);
        if (q == end)
            break;
        if ((r = m_special(d, q, end, &s)) != AB_TC_OK)
            return r;
    }
    d->out->data[d->out->len++] = '"';
    d->p = end;
    return AB_TC_OK;
}

/* A container of n elements (or pairs) after a header of hl bytes. */
static ab_tc_reason m_open(mdec *d, int is_map, size_t hl, uint64_t n)
{
    if (d->depth == d->max_depth)
        return AB_TC_TOO_DEEP;
    d->p += hl;
    if (n == 0)
        return put_bytes(d, is_map ? "{}" : "[]", 2);
    ab_tc_reason r = put_bytes(d, is_map ? "{" : "[", 1);
    if (r != AB_TC_OK)
        return r;
    d->stack[d->depth++] = (mframe){(uint32_t)n, is_map, 0};
    d->opened = 1;
    return AB_TC_OK;
}

/* A scalar or bin/ext item of this type whose argument is v. */
static ab_tc_reason m_scalar(mdec *d, mtype t, uint64_t v)
{
    static const char *const LITERALS[] = {
        [K_NIL] = "null", [K_FALSE] = "false", [K_TRUE] = "true"};
    switch (t.kind) {
    case K_NIL:
    case K_FALSE:
    case K_TRUE:
        d->p++;
        return put_bytes(d, LITERALS[t.kind], strlen(LITERALS[t.kind]));
    case K_BIN:
        return AB_TC_BIN;
    case K_EXT:
        return AB_TC_EXT;
    case K_INVALID:
        return AB_TC_BAD_MSGPACK;
    default: {
        ab_tc_reason r = m_number(d, t.kind, t.width, v);
        if (r == AB_TC_OK)
            d->p += 1 + t.width;
        return r;
    }
    }
}

/* One item at d->p: a scalar is written whole, a container opened. */
static ab_tc_reason m_item(mdec *d)
{
    uint64_t v;
    d->opened = 0;
    if (d->p == d->end)
        return AB_TC_BAD_MSGPACK;
    mtype t = classify(*d->p, &v);
    const mframe *top = d->depth ? &d->stack[d->depth - 1] : NULL;
    if (top && top->is_map && !top->at_value && t.kind != K_STR)
        return AB_TC_KEY_TYPE;
    if (t.kind == K_EXT || t.kind == K_BIN)
        return m_scalar(d, t, v);
    if ((size_t)(d->end - d->p) <= t.width)
        return AB_TC_BAD_MSGPACK;
    if (t.width)
        v = get_be(d->p + 1, t.width);
    if (t.kind == K_STR)
        return m_str(d, 1 + t.width, v);
    if (t.kind == K_ARRAY || t.kind == K_MAP)
        return m_open(d, t.kind == K_MAP, 1 + t.width, v);
    return m_scalar(d, t, v);
}

/* After a complete item: write ':' after a key, ',' between items, and
 * close the containers it completes. */
static ab_tc_reason m_done(mdec *d)
{
    ab_tc_reason r;
    while (d->depth) {
        mframe *f = &d->stack[d->depth - 1];
        if (f->is_map && !f->at_value) {
            f->at_value = 1;
            return put_bytes(d, d->st->colon, d->st->colon_len);
        }
        f->at_value = 0;
        if (--f->left)
            return put_bytes(d, d->st->comma, d->st->comma_len);
        if ((r = put_bytes(d, f->is_map ? "}" : "]", 1)) != AB_TC_OK)
            return r;
        d->depth--;
    }
    return AB_TC_OK;
}

static ab_tc_reason m_run(mdec *d)
{
    ab_tc_reason r;
    for (;;) {
        if ((r = m_item(d)) != AB_TC_OK)
            return r;
        if (d->opened)
            continue;
        if ((r = m_done(d)) != AB_TC_OK)
            return r;
        if (!d->depth)
            break;
    }
    return d->p == d->end ? AB_TC_OK : AB_TC_TRAILING;
}

ab_tc_reason ab_msgpack_to_json(const uint8_t *in, size_t len, ab_buf *out,
                                const ab_tc_opts *opts, size_t *err_offset)
{
    if (len == 0) { /* also spares NULL + 0 below */
        if (err_offset)
            *err_offset = 0;
        return AB_TC_BAD_MSGPACK;
    }
    mdec d; /* fields set one by one: the stack needs no clearing */
    size_t base = out->len;
    d.p = in;
    d.end = in + len;
    d.out = out;
    d.depth = 0;
    d.max_depth = tc_max_depth(opts);
    d.st = &STYLES[opts && opts->style < AB_JSON_NSTYLES ? opts->style : 0];
    ab_tc_reason r = m_run(&d);
    if (r != AB_TC_OK) {
        out->len = base;
        if (err_offset)
            *err_offset = (size_t)(d.p - in);
    }
    return r;
}
