/*
 * cli_transcode.c: `agentbus json2mp` and `agentbus mp2json`, the proto/
 * codec on files, so a user can see what a body becomes between hosts (and
 * why it would travel untouched instead).
 */
#include "cli.h"

#include "common.h"
#include "transcode.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XC_DEFAULT_MAX_BYTES (64u << 20)
#define XC_READ_CHUNK 65536

typedef ab_tc_reason (*xc_fn)(const uint8_t *, size_t, ab_buf *,
                              const ab_tc_opts *, size_t *);

/* One direction of the tool. */
typedef struct xc_cmd {
    const char *name, *from, *to, *example;
    xc_fn fn;
} xc_cmd;

typedef struct xc_args {
    const char *in, *out; /* NULL or "-": stdin / stdout */
    ab_tc_opts opts;
    size_t max_bytes;
} xc_args;

static void xc_usage(const xc_cmd *c, FILE *out)
{
    fprintf(out,
            "usage: agentbus %s [--max-depth N] [--max-bytes N] "
            "[--style NAME] [IN [OUT]]\n"
            "\n"
            "Transcode one %s document to %s, losslessly or not at all\n"
            "(the contract is in docs/codec.md). IN and OUT are files; '-' or\n"
            "absent means stdin / stdout. Output is written only on success.\n"
            "  --max-depth N  refuse containers nested deeper than N\n"
            "                 (default %d, at most %d)\n"
            "  --max-bytes N  refuse input or output larger than N bytes\n"
            "                 (default %u)\n"
            "  --style NAME   mp2json only: write JSON as this producer does:\n"
            "                 compact (default), python (json.dumps defaults),\n"
            "                 python_compact, python_utf8, js (JSON.stringify)\n"
            "exit: 0 transcoded; 1 refused (stderr says\n"
            "      'agentbus %s: refused: REASON at offset N: ...') or a file\n"
            "      could not be read or written; 2 usage error\n"
            "\n"
            "example: agentbus %s %s\n",
            c->name, c->from, c->to, AB_TC_DEFAULT_MAX_DEPTH,
            AB_TC_MAX_DEPTH_LIMIT, XC_DEFAULT_MAX_BYTES, c->name, c->name,
            c->example);
}

/* A decimal in [1, max]; AB_OK or AB_ERR. */
static int parse_count(const char *s, unsigned long long max,
                       unsigned long long *v)
{
    char *end;
    errno = 0;
    *v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || *v == 0 || *v > max)
        return AB_ERR;
    return AB_OK;
}

/* A style name of transcode.h into *style; AB_OK or AB_ERR. */
static int parse_style(const char *name, unsigned *style)
{
    for (unsigned i = 0; i < AB_JSON_NSTYLES; i++) {
        if (strcmp(ab_json_style_name(i), name) == 0) {
            *style = i;
            return AB_OK;
        }
    }
    return AB_ERR;
}

/* Options into a; -1 to go on, else the exit code (0 for --help). */
static int xc_parse(const xc_cmd *c, int argc, char **argv, xc_args *a)
{
    static const struct option longopts[] = {
        {"max-depth", required_argument, NULL, 'd'},
        {"max-bytes", required_argument, NULL, 'b'},
        {"style", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned long long v;
    int opt;
    *a = (xc_args){NULL, NULL, {AB_TC_DEFAULT_MAX_DEPTH, AB_JSON_COMPACT},
                   XC_DEFAULT_MAX_BYTES};
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            xc_usage(c, stdout);
            return 0;
        }
        if (opt == 'd' && parse_count(optarg, AB_TC_MAX_DEPTH_LIMIT, &v) == AB_OK)
            a->opts.max_depth = (unsigned)v;
        else if (opt == 'b' && parse_count(optarg, SIZE_MAX - 1, &v) == AB_OK)
            a->max_bytes = (size_t)v;
        else if (opt == 's' && c->fn == ab_msgpack_to_json &&
                 parse_style(optarg, &a->opts.style) == AB_OK)
            continue;
        else
            break;
    }
    if (opt != -1 || argc - optind > 2) {
        xc_usage(c, stderr);
        return 2;
    }
    a->in = optind < argc ? argv[optind] : NULL;
    a->out = optind + 1 < argc ? argv[optind + 1] : NULL;
    return -1;
}

static int is_stdio(const char *path)
{
    return !path || strcmp(path, "-") == 0;
}

/* All of f (called name) into *data, malloc'd; more than max bytes is an
 * error, found without reading (or allocating) much beyond max. */
static int read_stream(FILE *f, const char *name, size_t max, uint8_t **data,
                       size_t *len, char *err)
{
    size_t cap = 0;
    *data = NULL;
    *len = 0;
    for (;;) {
        if (*len > max)
            return ab_seterr(err, AB_ERRLEN,
                             "%s is larger than --max-bytes (%zu bytes)", name,
                             max);
        if (*len == cap) {
            cap = max - cap < XC_READ_CHUNK ? max + 1 : cap + XC_READ_CHUNK;
            uint8_t *p = realloc(*data, cap);
            if (!p)
                return ab_seterr(err, AB_ERRLEN, "out of memory");
            *data = p;
        }
        size_t n = fread(*data + *len, 1, cap - *len, f);
        if (n == 0)
            return ferror(f) ? ab_seterr(err, AB_ERRLEN, "%s: %s", name,
                                         strerror(errno))
                             : AB_OK;
        *len += n;
    }
}

static int read_input(const char *path, size_t max, uint8_t **data,
                      size_t *len, char *err)
{
    const char *name = is_stdio(path) ? "stdin" : path;
    FILE *f = is_stdio(path) ? stdin : fopen(path, "rb");
    if (!f)
        return ab_seterr(err, AB_ERRLEN, "%s: %s", name, strerror(errno));
    int rc = read_stream(f, name, max, data, len, err);
    if (f != stdin)
        fclose(f);
    if (rc != AB_OK) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

static int write_output(const char *path, const ab_buf *b, char *err)
{
    const char *name = is_stdio(path) ? "stdout" : path;
    FILE *f = is_stdio(path) ? stdout : fopen(path, "wb");
    if (!f)
        return ab_seterr(err, AB_ERRLEN, "%s: %s", name, strerror(errno));
    int ok = (b->len == 0 || fwrite(b->data, 1, b->len, f) == b->len);
    ok = (f == stdout ? fflush(f) : fclose(f)) == 0 && ok;
    return ok ? AB_OK
              : ab_seterr(err, AB_ERRLEN, "%s: %s", name, strerror(errno));
}

/* Transcode the input of a into out; the exit code. */
static int xc_transcode(const xc_cmd *c, const xc_args *a, ab_buf *out)
{
    char err[AB_ERRLEN];
    uint8_t *in = NULL;
    size_t len = 0, off = 0;
    if (read_input(a->in, a->max_bytes, &in, &len, err) != AB_OK) {
        fprintf(stderr, "agentbus %s: %s\n", c->name, err);
        return 1;
    }
    ab_tc_reason r = c->fn(in, len, out, &a->opts, &off);
    free(in);
    if (r != AB_TC_OK) {
        fprintf(stderr, "agentbus %s: refused: %s at offset %zu: %s\n",
                c->name, ab_tc_reason_name(r), off, ab_tc_reason_help(r));
        return 1;
    }
    if (write_output(a->out, out, err) != AB_OK) {
        fprintf(stderr, "agentbus %s: %s\n", c->name, err);
        return 1;
    }
    return 0;
}

static int xc_main(const xc_cmd *c, int argc, char **argv)
{
    xc_args a;
    int rc = xc_parse(c, argc, argv, &a);
    if (rc >= 0)
        return rc;
    ab_buf out;
    ab_buf_init(&out, a.max_bytes);
    rc = xc_transcode(c, &a, &out);
    ab_buf_free(&out);
    return rc;
}

int cli_json2mp(int argc, char **argv)
{
    static const xc_cmd cmd = {"json2mp", "JSON", "msgpack",
                               "request.json request.mp", ab_json_to_msgpack};
    return xc_main(&cmd, argc, argv);
}

int cli_mp2json(int argc, char **argv)
{
    static const xc_cmd cmd = {"mp2json", "msgpack", "JSON",
                               "request.mp -", ab_msgpack_to_json};
    return xc_main(&cmd, argc, argv);
}
