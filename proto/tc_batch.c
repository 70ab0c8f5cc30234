/*
 * tc_batch.c: test helper that runs one transcoding direction over many
 * documents in one process, so the Python tests (tests/proto) can check
 * hundreds of thousands of cases quickly.
 *
 *   tc_batch json2mp|mp2json|exact [--max-depth N] [--max-out BYTES]
 *            [--style ID]
 *
 * exact is ab_json_to_msgpack_exact: its output is the style id (one
 * byte) followed by the msgpack. --style picks mp2json's output style.
 * stdin:  records of u32 little-endian length + document bytes.
 * stdout: per record, u8 reason, u64 LE error offset (0 on success),
 *         u32 LE output length + output bytes (empty on refusal).
 * Exit: 0 after the last record, 2 on usage or I/O error.
 */
#include "tc_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_OUT (64u << 20)
#define MAX_DOC (256u << 20) /* records claiming more are an I/O error */

typedef ab_tc_reason (*xcode_fn)(const uint8_t *, size_t, ab_buf *,
                                 const ab_tc_opts *, size_t *);

static void put_le(uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        putchar((int)(v >> (8 * i) & 0xff));
}

/* Reads one record into *doc (grown as needed); 1 if read, 0 at a clean
 * end of input, -1 on a truncated or oversized record. */
static int read_record(uint8_t **doc, size_t *cap, size_t *len)
{
    uint8_t hdr[4];
    size_t got = fread(hdr, 1, sizeof hdr, stdin);
    if (got == 0)
        return 0;
    if (got != sizeof hdr)
        return -1;
    *len = (size_t)hdr[0] | (size_t)hdr[1] << 8 | (size_t)hdr[2] << 16 |
           (size_t)hdr[3] << 24;
    if (*len > MAX_DOC)
        return -1;
    if (*len + 1 > *cap) {
        uint8_t *p = realloc(*doc, *len + 1);
        if (!p)
            return -1;
        *doc = p;
        *cap = *len + 1;
    }
    return fread(*doc, 1, *len, stdin) == *len ? 1 : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: tc_batch json2mp|mp2json|exact [--max-depth N] "
                    "[--max-out BYTES] [--style ID] <records >results\n");
    return 2;
}

/* exact in the xcode_fn shape: the style byte, then the msgpack. */
static ab_tc_reason exact(const uint8_t *in, size_t len, ab_buf *out,
                          const ab_tc_opts *opts, size_t *off)
{
    static ab_buf scratch = {NULL, 0, 0, SIZE_MAX};
    ab_json_style st;
    ab_tc_reason r = tc_reserve(out, 1);
    if (r != AB_TC_OK)
        return r;
    out->len++;
    r = ab_json_to_msgpack_exact(in, len, out, &scratch, opts, &st, off);
    out->data[0] = (uint8_t)st;
    if (r != AB_TC_OK)
        out->len = 0;
    return r;
}

/* Parse the options after the mode; 0 on success. */
static int parse_opts(int argc, char **argv, ab_tc_opts *opts, size_t *max)
{
    for (int i = 2; i + 1 < argc; i += 2) {
        char *end;
        unsigned long long v = strtoull(argv[i + 1], &end, 10);
        if (*end)
            return -1;
        if (strcmp(argv[i], "--max-depth") == 0)
            opts->max_depth = (unsigned)v;
        else if (strcmp(argv[i], "--max-out") == 0)
            *max = (size_t)v;
        else if (strcmp(argv[i], "--style") == 0)
            opts->style = (unsigned)v;
        else
            return -1;
    }
    return argc % 2 ? -1 : 0;
}

int main(int argc, char **argv)
{
    ab_tc_opts opts = {AB_TC_DEFAULT_MAX_DEPTH, AB_JSON_COMPACT};
    size_t max = DEFAULT_MAX_OUT, cap = 0, len, off;
    if (argc < 2 || parse_opts(argc, argv, &opts, &max) != 0)
        return usage();
    xcode_fn fn = strcmp(argv[1], "json2mp") == 0   ? ab_json_to_msgpack
                  : strcmp(argv[1], "mp2json") == 0 ? ab_msgpack_to_json
                  : strcmp(argv[1], "exact") == 0   ? exact
                                                    : NULL;
    if (!fn)
        return usage();
    uint8_t *doc = NULL;
    ab_buf out;
    ab_buf_init(&out, max);
    int rc;
    while ((rc = read_record(&doc, &cap, &len)) == 1) {
        out.len = 0;
        off = 0;
        ab_tc_reason r = fn(doc, len, &out, &opts, &off);
        putchar((int)r);
        put_le(off, 8);
        put_le(out.len, 4);
        if (out.len)
            fwrite(out.data, 1, out.len, stdout);
    }
    free(doc);
    ab_buf_free(&out);
    if (rc < 0)
        fprintf(stderr, "tc_batch: truncated or oversized record\n");
    return rc < 0 || fflush(stdout) != 0 ? 2 : 0;
}
