/* baseline.c: jansson + msgpack-c transcoding, the benchmark's reference. */
#include "baseline.h"

#include "common.h"

#include <stdlib.h>

#define BASELINE_JSON_INITIAL_CAP (64 * 1024)
#define BASELINE_DUMP_FLAGS \
    (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(17))

static int nomem(char *err)
{
    return ab_seterr(err, AB_ERRLEN, "out of memory");
}

static int too_deep(const baseline *b, char *err)
{
    return ab_seterr(err, AB_ERRLEN, "nesting deeper than %u", b->max_depth);
}

/* Release a partly built DOM node and pass rc through. */
static int drop(json_t *v, int rc)
{
    json_decref(v);
    return rc;
}

int baseline_init(baseline *b, size_t max_out, unsigned max_depth, char *err)
{
    b->json_cap = BASELINE_JSON_INITIAL_CAP < max_out
                      ? BASELINE_JSON_INITIAL_CAP : max_out;
    if (!msgpack_zone_init(&b->zone, MSGPACK_ZONE_CHUNK_SIZE))
        return nomem(err);
    b->json = malloc(b->json_cap);
    if (!b->json) {
        msgpack_zone_destroy(&b->zone);
        return nomem(err);
    }
    msgpack_sbuffer_init(&b->sbuf);
    msgpack_packer_init(&b->pk, &b->sbuf, msgpack_sbuffer_write);
    b->max_out = max_out;
    b->max_depth = max_depth;
    return AB_OK;
}

void baseline_free(baseline *b)
{
    msgpack_sbuffer_destroy(&b->sbuf);
    msgpack_zone_destroy(&b->zone);
    free(b->json);
}

/* ---- JSON -> msgpack: walk the jansson DOM with the msgpack-c packer ---- */

static int pack_json(baseline *b, json_t *v, unsigned depth, char *err);

/* msgpack_pack_* return non-zero only when the sbuffer cannot grow. */
static int packed(int rc, char *err)
{
    return rc == 0 ? AB_OK : nomem(err);
}

static int pack_object(baseline *b, json_t *obj, unsigned depth, char *err)
{
    const char *key;
    size_t key_len;
    json_t *val;
    if (depth > b->max_depth)
        return too_deep(b, err);
    if (packed(msgpack_pack_map(&b->pk, json_object_size(obj)), err) != AB_OK)
        return AB_ERR;
    json_object_keylen_foreach(obj, key, key_len, val) {
        if (packed(msgpack_pack_str_with_body(&b->pk, key, key_len), err) !=
                AB_OK ||
            pack_json(b, val, depth, err) != AB_OK)
            return AB_ERR;
    }
    return AB_OK;
}

static int pack_array(baseline *b, json_t *arr, unsigned depth, char *err)
{
    size_t n = json_array_size(arr);
    if (depth > b->max_depth)
        return too_deep(b, err);
    if (packed(msgpack_pack_array(&b->pk, n), err) != AB_OK)
        return AB_ERR;
    for (size_t i = 0; i < n; i++) {
        if (pack_json(b, json_array_get(arr, i), depth, err) != AB_OK)
            return AB_ERR;
    }
    return AB_OK;
}

/* depth counts the containers enclosing v. msgpack-c picks the smallest
 * encoding for every integer; reals are always float64. */
static int pack_json(baseline *b, json_t *v, unsigned depth, char *err)
{
    msgpack_packer *pk = &b->pk;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return pack_object(b, v, depth + 1, err);
    case JSON_ARRAY:
        return pack_array(b, v, depth + 1, err);
    case JSON_STRING:
        return packed(msgpack_pack_str_with_body(pk, json_string_value(v),
                                                 json_string_length(v)),
                      err);
    case JSON_INTEGER:
        return packed(msgpack_pack_int64(pk, json_integer_value(v)), err);
    case JSON_REAL:
        return packed(msgpack_pack_double(pk, json_real_value(v)), err);
    case JSON_TRUE:
        return packed(msgpack_pack_true(pk), err);
    case JSON_FALSE:
        return packed(msgpack_pack_false(pk), err);
    case JSON_NULL:
        return packed(msgpack_pack_nil(pk), err);
    }
    return ab_seterr(err, AB_ERRLEN, "unknown jansson type");
}

int baseline_json_to_msgpack(void *ctx, span in, span *out, char *err)
{
    baseline *b = ctx;
    json_error_t jerr;
    json_t *root = json_loadb((const char *)in.p, in.n,
                              JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return ab_seterr(err, AB_ERRLEN, "json_loadb: %s at offset %d",
                         jerr.text, jerr.position);
    msgpack_sbuffer_clear(&b->sbuf);
    if (drop(root, pack_json(b, root, 0, err)) != AB_OK)
        return AB_ERR;
    if (b->sbuf.size > b->max_out)
        return ab_seterr(err, AB_ERRLEN, "msgpack output exceeds %zu bytes",
                         b->max_out);
    *out = (span){(const uint8_t *)b->sbuf.data, b->sbuf.size};
    return AB_OK;
}

/* ---- msgpack -> JSON: msgpack-c object tree -> jansson DOM -> text ---- */

static int to_json(const baseline *b, const msgpack_object *o,
                   unsigned depth, json_t **out, char *err);

static int array_to_json(const baseline *b, const msgpack_object_array *a,
                         unsigned depth, json_t **out, char *err)
{
    if (depth > b->max_depth)
        return too_deep(b, err);
    json_t *arr = json_array();
    if (!arr)
        return nomem(err);
    for (uint32_t i = 0; i < a->size; i++) {
        json_t *v;
        if (to_json(b, &a->ptr[i], depth, &v, err) != AB_OK)
            return drop(arr, AB_ERR);
        if (json_array_append_new(arr, v) != 0)
            return drop(arr, nomem(err));
    }
    *out = arr;
    return AB_OK;
}

static int map_to_json(const baseline *b, const msgpack_object_map *m,
                       unsigned depth, json_t **out, char *err)
{
    if (depth > b->max_depth)
        return too_deep(b, err);
    json_t *obj = json_object();
    if (!obj)
        return nomem(err);
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object_kv *kv = &m->ptr[i];
        json_t *v;
        if (kv->key.type != MSGPACK_OBJECT_STR)
            return drop(obj, ab_seterr(err, AB_ERRLEN, "non-string map key"));
        if (to_json(b, &kv->val, depth, &v, err) != AB_OK)
            return drop(obj, AB_ERR);
        if (json_object_setn_new(obj, kv->key.via.str.ptr,
                                 kv->key.via.str.size, v) != 0)
            return drop(obj, ab_seterr(err, AB_ERRLEN, "bad map key"));
    }
    *out = obj;
    return AB_OK;
}

/* A scalar constructor's result: jansson returns NULL for what it refuses
 * (invalid UTF-8, non-finite reals) and when out of memory. */
static int made(json_t *v, json_t **out, char *err)
{
    if (!v)
        return ab_seterr(err, AB_ERRLEN, "jansson refused a scalar");
    *out = v;
    return AB_OK;
}

/* depth counts the containers enclosing o. */
static int to_json(const baseline *b, const msgpack_object *o,
                   unsigned depth, json_t **out, char *err)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return made(json_null(), out, err);
    case MSGPACK_OBJECT_BOOLEAN:
        return made(json_boolean(o->via.boolean), out, err);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        if (o->via.u64 > INT64_MAX)
            return ab_seterr(err, AB_ERRLEN, "uint64 above INT64_MAX");
        return made(json_integer((json_int_t)o->via.u64), out, err);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return made(json_integer(o->via.i64), out, err);
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        return made(json_real(o->via.f64), out, err);
    case MSGPACK_OBJECT_STR:
        return made(json_stringn(o->via.str.ptr, o->via.str.size), out, err);
    case MSGPACK_OBJECT_ARRAY:
        return array_to_json(b, &o->via.array, depth + 1, out, err);
    case MSGPACK_OBJECT_MAP:
        return map_to_json(b, &o->via.map, depth + 1, out, err);
    default:
        return ab_seterr(err, AB_ERRLEN, "bin/ext has no JSON form");
    }
}

/* Serialise into the reused buffer, growing it (up to max_out) when
 * json_dumpb reports the text would not fit. */
static int dump(baseline *b, const json_t *root, span *out, char *err)
{
    size_t n = json_dumpb(root, b->json, b->json_cap, BASELINE_DUMP_FLAGS);
    if (n == 0)
        return ab_seterr(err, AB_ERRLEN, "json_dumpb failed");
    if (n > b->json_cap) {
        if (n > b->max_out)
            return ab_seterr(err, AB_ERRLEN, "JSON output exceeds %zu bytes",
                             b->max_out);
        char *grown = realloc(b->json, n);
        if (!grown)
            return nomem(err);
        b->json = grown;
        b->json_cap = n;
        n = json_dumpb(root, b->json, b->json_cap, BASELINE_DUMP_FLAGS);
    }
    *out = (span){(const uint8_t *)b->json, n};
    return AB_OK;
}

int baseline_msgpack_to_json(void *ctx, span in, span *out, char *err)
{
    baseline *b = ctx;
    msgpack_object obj;
    size_t off = 0;
    json_t *root;
    msgpack_zone_clear(&b->zone);
    msgpack_unpack_return r = msgpack_unpack((const char *)in.p, in.n, &off,
                                             &b->zone, &obj);
    if (r != MSGPACK_UNPACK_SUCCESS)
        return ab_seterr(err, AB_ERRLEN, "msgpack_unpack: %s",
                         r == MSGPACK_UNPACK_EXTRA_BYTES ? "trailing bytes"
                                                         : "invalid msgpack");
    if (to_json(b, &obj, 0, &root, err) != AB_OK)
        return AB_ERR;
    return drop(root, dump(b, root, out, err));
}
