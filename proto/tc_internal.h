/*
 * tc_internal.h: what both transcoding directions share and nothing else
 * needs: bounded buffer growth, the scan for "plain" string bytes, strict
 * UTF-8 validation and the depth bound. Not installed; include transcode.h.
 */
#ifndef AB_TC_INTERNAL_H
#define AB_TC_INTERNAL_H

#include "transcode.h"

#include <string.h>

/* Make room for n more bytes after b->len; the hot path is one compare,
 * the slow path ab_buf_grow (transcode.h). */
static inline ab_tc_reason tc_reserve(ab_buf *b, size_t n)
{
    return b->cap - b->len >= n ? AB_TC_OK : ab_buf_grow(b, n);
}

/* The max_depth a call runs with: the default for NULL or 0, and never more
 * than AB_TC_MAX_DEPTH_LIMIT, which sizes the explicit stacks. */
unsigned tc_max_depth(const ab_tc_opts *opts);

#define TC_ONES 0x0101010101010101u
#define TC_HIGHS 0x8080808080808080u

/* One bit (0x80 of the byte) per byte of x that is a control character,
 * '"', '\\' or >= 0x80. Borrows only ever run upwards from a true match, so
 * the lowest set bit is exact; bits above it may be spurious. */
static inline uint64_t tc_special_mask(uint64_t x)
{
    uint64_t q = x ^ (TC_ONES * '"');
    uint64_t b = x ^ (TC_ONES * '\\');
    uint64_t ctl = (x - TC_ONES * 0x20) & ~x;
    return (ctl | ((q - TC_ONES) & ~q) | ((b - TC_ONES) & ~b) | x) & TC_HIGHS;
}

static inline int tc_is_special(uint8_t c)
{
    return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

/* tc_special_mask plus, when del is set, DEL (0x7f) bytes. */
static inline uint64_t tc_stop_mask(uint64_t x, int del)
{
    uint64_t m = tc_special_mask(x);
    if (del) {
        uint64_t d = x ^ (TC_ONES * 0x7f);
        m |= (d - TC_ONES) & ~d & TC_HIGHS;
    }
    return m;
}

/* The scan below; del (a constant at every call) also stops at DEL. */
static inline const uint8_t *tc_scan(const uint8_t *p, const uint8_t *end,
                                     int del)
{
    for (; end - p >= 8; p += 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        uint64_t m = tc_stop_mask(x, del);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        if (m)
            return p + (__builtin_clzll(m) >> 3);
#else
        if (m)
            return p + (__builtin_ctzll(m) >> 3);
#endif
    }
    while (p < end && !tc_is_special(*p) && !(del && *p == 0x7f))
        p++;
    return p;
}

/* First byte in [p, end) that a JSON string cannot carry as is (control,
 * quote, backslash) or that starts a multi-byte UTF-8 sequence; end if none.
 * Both directions copy the bytes before it with one memcpy. */
static inline const uint8_t *tc_scan_plain(const uint8_t *p,
                                           const uint8_t *end)
{
    return tc_scan(p, end, 0);
}

/* tc_scan_plain that also stops at DEL, which the ASCII-only JSON styles
 * escape. */
static inline const uint8_t *tc_scan_plain_ascii(const uint8_t *p,
                                                 const uint8_t *end)
{
    return tc_scan(p, end, 1);
}

/* Length (2..4) of the well-formed UTF-8 sequence starting with the byte
 * *p >= 0x80, or 0 if it is not one: overlong forms, UTF-16 surrogates
 * (U+D800..U+DFFF), code points above U+10FFFF and truncated sequences are
 * all refused (Unicode 15, table 3-7). */
static inline size_t tc_utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0], lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if ((size_t)(end - p) < n)
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

#endif
