/*
 * fuzz_mp2json.c: libFuzzer target for msgpack -> JSON. On top of the
 * sanitizers it checks the buffer contract and that the JSON it accepts is
 * a fixed point: JSON -> msgpack accepts it, and that msgpack prints as the
 * very same JSON text (fuzz_check.h). The input's own msgpack may differ:
 * float32 comes back as float64, wide headers as narrow ones. Every style's
 * spelling of an accepted value goes through the byte-exact transcode.
 */
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ab_buf json, mp;
    fuzz_round_trip(ab_msgpack_to_json, ab_json_to_msgpack, data, size);
    if (fuzz_call(ab_msgpack_to_json, data, size,
                  FUZZ_OUT_FACTOR * size + FUZZ_OUT_SLACK, &json) == AB_TC_OK) {
        /* The canonical msgpack of the value: what a link would carry. */
        FUZZ_CHECK(fuzz_call(ab_json_to_msgpack, json.data + FUZZ_PREFIX_LEN,
                             json.len - FUZZ_PREFIX_LEN,
                             FUZZ_OUT_FACTOR * json.len + FUZZ_OUT_SLACK,
                             &mp) == AB_TC_OK);
        fuzz_styles(mp.data + FUZZ_PREFIX_LEN, mp.len - FUZZ_PREFIX_LEN);
        ab_buf_free(&mp);
    }
    ab_buf_free(&json);
    return 0;
}
