/* buf.c: the bounded output buffer, the reason table and the option
 * defaults shared by both transcoding directions. */
#include "tc_internal.h"

#include <stdlib.h>

/* First allocation; small bodies then never reallocate. */
#define AB_BUF_MIN_CAP 256

void ab_buf_init(ab_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void ab_buf_free(ab_buf *b)
{
    free(b->data);
    ab_buf_init(b, b->max);
}

/* Doubling keeps growth amortized O(1) per byte; the cap never passes max,
 * so a hostile input cannot make the codec allocate beyond the caller's
 * bound. */
ab_tc_reason ab_buf_grow(ab_buf *b, size_t n)
{
    if (b->len > b->max || n > b->max - b->len)
        return AB_TC_TOO_LARGE;
    size_t want = b->len + n;
    size_t cap = b->cap > b->max / 2 ? b->max : 2 * b->cap;
    if (cap < AB_BUF_MIN_CAP)
        cap = AB_BUF_MIN_CAP < b->max ? AB_BUF_MIN_CAP : b->max;
    if (cap < want)
        cap = want;
    uint8_t *data = realloc(b->data, cap);
    if (!data)
        return AB_TC_NOMEM;
    b->data = data;
    b->cap = cap;
    return AB_TC_OK;
}

unsigned tc_max_depth(const ab_tc_opts *opts)
{
    if (!opts || opts->max_depth == 0)
        return AB_TC_DEFAULT_MAX_DEPTH;
    return opts->max_depth < AB_TC_MAX_DEPTH_LIMIT ? opts->max_depth
                                                   : AB_TC_MAX_DEPTH_LIMIT;
}

#define AB_TC_NAME(sym, name, help) name,
#define AB_TC_HELP(sym, name, help) help,
static const char *const reason_names[] = {AB_TC_REASONS(AB_TC_NAME)};
static const char *const reason_helps[] = {AB_TC_REASONS(AB_TC_HELP)};

const char *ab_tc_reason_name(ab_tc_reason r)
{
    return (size_t)r < sizeof reason_names / sizeof *reason_names
               ? reason_names[r]
               : "unknown";
}

const char *ab_tc_reason_help(ab_tc_reason r)
{
    return (size_t)r < sizeof reason_helps / sizeof *reason_helps
               ? reason_helps[r]
               : "unknown reason";
}
