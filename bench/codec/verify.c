/* verify.c: structural equality of msgpack values (see verify.h). */
#include "verify.h"

#include "common.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define VERIFY_SHOW_BYTES 200 /* how much of each differing value to print */

typedef struct diff {
    const msgpack_object *x, *y;
} diff;

static bool is_float(msgpack_object_type t)
{
    return t == MSGPACK_OBJECT_FLOAT32 || t == MSGPACK_OBJECT_FLOAT64;
}

/* Equal scalars, or containers of the same kind and size. */
static bool same_node(const msgpack_object *x, const msgpack_object *y)
{
    if (is_float(x->type) && is_float(y->type))
        return memcmp(&x->via.f64, &y->via.f64, sizeof(double)) == 0;
    if (x->type != y->type)
        return false;
    switch (x->type) {
    case MSGPACK_OBJECT_ARRAY:
        return x->via.array.size == y->via.array.size;
    case MSGPACK_OBJECT_MAP:
        return x->via.map.size == y->via.map.size;
    default:
        return msgpack_object_equal(*x, *y);
    }
}

/* Pre-order search for the first differing pair; true when one is found. */
static bool differ(const msgpack_object *x, const msgpack_object *y, diff *d)
{
    if (!same_node(x, y)) {
        *d = (diff){x, y};
        return true;
    }
    if (x->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < x->via.array.size; i++)
            if (differ(&x->via.array.ptr[i], &y->via.array.ptr[i], d))
                return true;
    } else if (x->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < x->via.map.size; i++) {
            const msgpack_object_kv *a = &x->via.map.ptr[i];
            const msgpack_object_kv *b = &y->via.map.ptr[i];
            if (differ(&a->key, &b->key, d) || differ(&a->val, &b->val, d))
                return true;
        }
    }
    return false;
}

static int unpack_one(span s, msgpack_zone *zone, msgpack_object *out,
                      const char *which, char *err)
{
    size_t off = 0;
    msgpack_unpack_return r =
        msgpack_unpack((const char *)s.p, s.n, &off, zone, out);
    if (r != MSGPACK_UNPACK_SUCCESS)
        return ab_seterr(err, AB_ERRLEN, "%s msgpack document: %s", which,
                         r == MSGPACK_UNPACK_EXTRA_BYTES ? "trailing bytes"
                                                         : "does not decode");
    return AB_OK;
}

/* Floats with all their digits (msgpack-c prints six); the rest as
 * msgpack-c prints them, into a zeroed buffer one byte longer than it is
 * told, since its printer may stop without writing a NUL. */
static void show(const msgpack_object *o, char buf[VERIFY_SHOW_BYTES])
{
    memset(buf, 0, VERIFY_SHOW_BYTES);
    if (is_float(o->type))
        snprintf(buf, VERIFY_SHOW_BYTES, "float%d %.17g",
                 o->type == MSGPACK_OBJECT_FLOAT32 ? 32 : 64, o->via.f64);
    else
        msgpack_object_print_buffer(buf, VERIFY_SHOW_BYTES - 1, *o);
}

static int compare(const msgpack_object *x, const msgpack_object *y,
                   char *err)
{
    diff d;
    if (!differ(x, y, &d))
        return AB_OK;
    char xs[VERIFY_SHOW_BYTES], ys[VERIFY_SHOW_BYTES];
    show(d.x, xs);
    show(d.y, ys);
    return ab_seterr(err, AB_ERRLEN, "values differ: %s vs %s", xs, ys);
}

int mp_same_value(span a, span b, char *err)
{
    msgpack_zone zone;
    msgpack_object x, y;
    if (!msgpack_zone_init(&zone, MSGPACK_ZONE_CHUNK_SIZE))
        return ab_seterr(err, AB_ERRLEN, "out of memory");
    int rc = AB_ERR;
    if (unpack_one(a, &zone, &x, "first", err) == AB_OK &&
        unpack_one(b, &zone, &y, "second", err) == AB_OK)
        rc = compare(&x, &y, err);
    msgpack_zone_destroy(&zone);
    return rc;
}
