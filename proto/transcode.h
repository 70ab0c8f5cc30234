/*
 * transcode.h: lossless JSON <-> msgpack transcoding (public API of proto/).
 *
 * Contract: a call either produces output that decodes to exactly the value
 * of the input (see docs/codec.md), or returns a reason code and leaves the
 * caller to forward the original bytes untouched. Output is appended to a
 * caller-owned ab_buf; on failure the buffer is restored to the length it
 * had before the call. No allocation happens except growth of that buffer,
 * which never exceeds the bound the caller set on it.
 */
#ifndef AB_TRANSCODE_H
#define AB_TRANSCODE_H

#include <stddef.h>
#include <stdint.h>

/* Growable output buffer with a hard upper bound on its length. */
typedef struct ab_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max; /* len never exceeds this; growth past it fails */
} ab_buf;

/* An empty buffer that will never hold more than max bytes (set it once:
 * lowering max later does not shrink what was already allocated). */
void ab_buf_init(ab_buf *b, size_t max);
void ab_buf_free(ab_buf *b); /* frees data; b is empty (same max) after */

/* Why a transcode refused its input. Stable: names are part of the docs. */
#define AB_TC_REASONS(X)                                                   \
    X(AB_TC_OK, "ok", "transcoded")                                        \
    X(AB_TC_BAD_JSON, "invalid_json", "input is not valid JSON")           \
    X(AB_TC_BAD_UTF8, "invalid_utf8", "a string is not valid UTF-8")       \
    X(AB_TC_INT_RANGE, "integer_out_of_range",                             \
      "an integer does not fit in int64 or uint64")                        \
    X(AB_TC_TOO_DEEP, "too_deep", "nesting deeper than max_depth")         \
    X(AB_TC_TRAILING, "trailing_garbage", "bytes after the document")      \
    X(AB_TC_BAD_MSGPACK, "invalid_msgpack", "input is not valid msgpack")  \
    X(AB_TC_EXT, "msgpack_ext", "msgpack ext types have no JSON form")     \
    X(AB_TC_KEY_TYPE, "non_string_key", "a map key is not a string")       \
    X(AB_TC_BIN, "msgpack_bin", "msgpack bin has no JSON form")            \
    X(AB_TC_NON_FINITE, "non_finite_float", "NaN or infinity")             \
    X(AB_TC_TOO_LARGE, "output_too_large", "output would exceed buf max")  \
    X(AB_TC_NOMEM, "out_of_memory", "buffer growth failed")                \
    X(AB_TC_NOT_EXACT, "not_exact",                                        \
      "no known JSON style reproduces the input byte for byte")

typedef enum ab_tc_reason {
#define AB_TC_ENUM(sym, name, help) sym,
    AB_TC_REASONS(AB_TC_ENUM)
#undef AB_TC_ENUM
} ab_tc_reason;

/* Grow b so that n more bytes fit after len: AB_TC_OK, AB_TC_TOO_LARGE
 * (len + n would pass max) or AB_TC_NOMEM. Lets other modules (the
 * broker's text rendering) append to an ab_buf. */
ab_tc_reason ab_buf_grow(ab_buf *b, size_t n);

#define AB_TC_DEFAULT_MAX_DEPTH 64
/* Compile-time ceiling of max_depth: it sizes the explicit stacks the codec
 * keeps on the C stack (12 bytes per level). Larger values are taken
 * as this one. */
#define AB_TC_MAX_DEPTH_LIMIT 1024

/* Output styles of msgpack -> JSON: the exact spelling common producers
 * use, so a JSON body can cross a link as msgpack and come back byte for
 * byte (docs/codec.md, "JSON styles"). Ids travel in the link envelope:
 * never renumber, only append. */
#define AB_JSON_STYLES(X)                                                  \
    X(AB_JSON_COMPACT, 0, "compact",                                       \
      "',' ':', raw UTF-8, Python float repr (json.dumps with "            \
      "separators=(',', ':'), ensure_ascii=False)")                        \
    X(AB_JSON_PYTHON, 1, "python",                                         \
      "', ' ': ', ASCII only (json.dumps defaults)")                       \
    X(AB_JSON_PYTHON_COMPACT, 2, "python_compact",                         \
      "',' ':', ASCII only (json.dumps with separators=(',', ':'))")       \
    X(AB_JSON_PYTHON_UTF8, 3, "python_utf8",                               \
      "', ' ': ', raw UTF-8 (json.dumps with ensure_ascii=False)")         \
    X(AB_JSON_JS, 4, "js",                                                 \
      "',' ':', raw UTF-8, Number.prototype.toString numbers "             \
      "(JavaScript JSON.stringify)")

typedef enum ab_json_style {
#define AB_JSON_STYLE_ENUM(sym, id, name, help) sym = id,
    AB_JSON_STYLES(AB_JSON_STYLE_ENUM)
#undef AB_JSON_STYLE_ENUM
    AB_JSON_NSTYLES
} ab_json_style;

typedef struct ab_tc_opts {
    unsigned max_depth; /* containers nested deeper are refused (too_deep);
                           0 means AB_TC_DEFAULT_MAX_DEPTH. A top-level
                           scalar has depth 0, "[[1]]" depth 2. */
    unsigned style;     /* msgpack -> JSON only: an ab_json_style (0, the
                           default, is AB_JSON_COMPACT); an unknown id is
                           taken as 0 */
} ab_tc_opts;

/* opts may be NULL for defaults. *err_offset (may be NULL) receives the input
 * offset where a refusal was detected; it is left alone on success.
 * The reason names, the number and string rules and every bound are
 * described in docs/codec.md. */
ab_tc_reason ab_json_to_msgpack(const uint8_t *in, size_t len, ab_buf *out,
                                const ab_tc_opts *opts, size_t *err_offset);
ab_tc_reason ab_msgpack_to_json(const uint8_t *in, size_t len, ab_buf *out,
                                const ab_tc_opts *opts, size_t *err_offset);

/* JSON -> msgpack for a body that must come back byte for byte: guesses
 * the producer's style from the input's separators, escapes and numbers,
 * transcodes, then decodes the msgpack again in that style (into scratch,
 * a caller-owned buffer reused across calls, whose max should exceed the
 * largest body by 64 bytes or such bodies are refused; its contents are
 * undefined after the call) and compares with the input. AB_TC_OK: out holds the
 * msgpack and *style the id that restores the input exactly. Otherwise out
 * is as before the call and the reason is the codec's refusal or
 * AB_TC_NOT_EXACT (valid JSON in a spelling no style reproduces): send the
 * body raw. The cost of the check is measured by bench/codec. */
ab_tc_reason ab_json_to_msgpack_exact(const uint8_t *in, size_t len,
                                      ab_buf *out, ab_buf *scratch,
                                      const ab_tc_opts *opts,
                                      ab_json_style *style,
                                      size_t *err_offset);

/* The style the JSON text [in, in + len) most likely was written in; one
 * forward scan that stops as soon as the separators, the escapes and the
 * number spelling have each told what they can. Only a guess: see
 * ab_json_to_msgpack_exact for the verified transcode. */
ab_json_style ab_json_style_guess(const uint8_t *in, size_t len);

const char *ab_json_style_name(unsigned style); /* "python", ... */

const char *ab_tc_reason_name(ab_tc_reason r); /* "invalid_json", ... */
const char *ab_tc_reason_help(ab_tc_reason r);

#endif
