/*
 * test_json_style.c: the JSON output styles of proto/ and the byte-exact
 * transcode: the style guess on typical producer output, exact round trips,
 * and the refusals that send a body raw. (tests/proto checks the styles
 * against the real producers, Python's json and node's JSON.stringify.)
 */
#include "check.h"
#include "numfmt.h"
#include "transcode.h"

#include <string.h>

#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1

/* Guess, then the verified transcode: expect style want (or a refusal). */
static void exact(const char *json, size_t len, ab_tc_reason want_r,
                  int want_style)
{
    ab_buf out, scratch;
    ab_json_style st = AB_JSON_NSTYLES;
    size_t off = 12345;
    ab_buf_init(&out, 1 << 20);
    ab_buf_init(&scratch, 1 << 20);
    ab_tc_reason r = ab_json_to_msgpack_exact((const uint8_t *)json, len, &out,
                                              &scratch, NULL, &st, &off);
    CHECK(r == want_r);
    if (r != want_r)
        fprintf(stderr, "  %s: got %s\n", json, ab_tc_reason_name(r));
    if (r == AB_TC_OK) {
        CHECK((int)st == want_style);
        ab_tc_opts o = {0, st};
        scratch.len = 0;
        CHECK(ab_msgpack_to_json(out.data, out.len, &scratch, &o, NULL) ==
              AB_TC_OK);
        CHECK(scratch.len == len && memcmp(scratch.data, json, len) == 0);
    } else {
        CHECK(out.len == 0 && off <= len);
    }
    ab_buf_free(&out);
    ab_buf_free(&scratch);
}

#define EXACT(s, r, st) exact(s, sizeof(s) - 1, r, st)

static void test_exact(void)
{
    EXACT("{\"a\": 1, \"b\": [1.0, \"\\u00e9\"]}", AB_TC_OK, AB_JSON_PYTHON);
    EXACT("{\"a\": 1, \"b\": \"\xc3\xa9\"}", AB_TC_OK, AB_JSON_PYTHON_UTF8);
    EXACT("{\"a\":1,\"b\":\"\\ud83d\\ude80\"}", AB_TC_OK,
          AB_JSON_PYTHON_COMPACT);
    EXACT("{\"a\":1.5,\"b\":\"\xc3\xa9\"}", AB_TC_OK, AB_JSON_COMPACT);
    EXACT("{\"a\":[1e-7,0.00001,1e+21]}", AB_TC_OK, AB_JSON_JS);
    EXACT("[1.0,1e-07,1e+16]", AB_TC_OK, AB_JSON_COMPACT);
    EXACT("\"\\u007f\"", AB_TC_OK, AB_JSON_PYTHON_COMPACT);
    EXACT("42", AB_TC_OK, AB_JSON_COMPACT);
    EXACT("{\"\x7f\": 1}", AB_TC_OK, AB_JSON_PYTHON_UTF8); /* raw DEL */
    EXACT("{}", AB_TC_OK, AB_JSON_COMPACT);
    /* Spellings no style writes: sent raw. */
    EXACT("{\"a\" : 1}", AB_TC_NOT_EXACT, 0);
    EXACT("{\"a\": 1}\n", AB_TC_NOT_EXACT, 0);
    EXACT("[1E5]", AB_TC_NOT_EXACT, 0);
    EXACT("[1.50]", AB_TC_NOT_EXACT, 0);
    EXACT("\"\\/\"", AB_TC_NOT_EXACT, 0);
    EXACT("{\"a\":\n  1}", AB_TC_NOT_EXACT, 0);
    EXACT("[1,2, 3]", AB_TC_NOT_EXACT, 0);
    EXACT("\"\\u00E9\"", AB_TC_NOT_EXACT, 0); /* uppercase hex */
    /* Not JSON the codec carries: its own reason. */
    EXACT("[NaN]", AB_TC_BAD_JSON, 0);
    EXACT("\"\\ud800\"", AB_TC_BAD_UTF8, 0);
}

static void test_guess(void)
{
    CHECK(ab_json_style_guess(LIT("{\"a\": 1}")) == AB_JSON_PYTHON);
    CHECK(ab_json_style_guess(LIT("{\"\xc3\xa9\": 1}")) ==
          AB_JSON_PYTHON_UTF8);
    CHECK(ab_json_style_guess(LIT("[\"x, y: z\",1]")) == AB_JSON_COMPACT);
    CHECK(ab_json_style_guess(LIT("[\"\\u0001\\u00e9\",1]")) ==
          AB_JSON_PYTHON_COMPACT);
    CHECK(ab_json_style_guess(LIT("[1.5,2e-7]")) == AB_JSON_JS);
    CHECK(ab_json_style_guess(LIT("[5.00001]")) == AB_JSON_COMPACT);
    CHECK(ab_json_style_guess(LIT("[-0.00001]")) == AB_JSON_JS);
    CHECK(ab_json_style_guess(LIT("[1e+17]")) == AB_JSON_COMPACT);
    CHECK(ab_json_style_guess(LIT("")) == AB_JSON_COMPACT);
    CHECK(strcmp(ab_json_style_name(AB_JSON_JS), "js") == 0);
    CHECK(strcmp(ab_json_style_name(99), "unknown") == 0);
}

static void js(double v, const char *want)
{
    char out[AB_NUMFMT_MAX + 1];
    size_t n = ab_fmt_double_js(out, v);
    out[n] = '\0';
    CHECK(strcmp(out, want) == 0);
    if (strcmp(out, want) != 0)
        fprintf(stderr, "  js(%.17g): got %s, want %s\n", v, out, want);
}

/* Number.prototype.toString's layouts at each boundary. */
static void test_js_numbers(void)
{
    js(1.0, "1");
    js(-0.0, "0");
    js(0.0, "0");
    js(0.1, "0.1");
    js(123.456, "123.456");
    js(1e20, "100000000000000000000");
    js(1e21, "1e+21");
    js(1.5e21, "1.5e+21");
    js(1e-6, "0.000001");
    js(1.5e-6, "0.0000015");
    js(1e-7, "1e-7");
    js(-1.25e-7, "-1.25e-7");
    js(5e-324, "5e-324");
    js(1.7976931348623157e308, "1.7976931348623157e+308");
    js(9007199254740993.0, "9007199254740992");
    char out[AB_NUMFMT_MAX + 1];
    size_t n = ab_fmt_float_js(out, 0.1f);
    CHECK(n == 3 && memcmp(out, "0.1", 3) == 0);
}

int main(void)
{
    test_exact();
    test_guess();
    test_js_numbers();
    return CHECK_DONE();
}
