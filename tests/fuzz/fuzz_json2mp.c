/*
 * fuzz_json2mp.c: libFuzzer target for JSON -> msgpack. On top of the
 * sanitizers it checks the buffer contract and that whatever is accepted
 * comes back exactly: msgpack -> JSON accepts the output, and that JSON
 * transcodes to the very same msgpack bytes (fuzz_check.h). The byte-exact
 * transcode is fuzzed on the input and on every style's spelling of it.
 */
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ab_buf mp;
    fuzz_round_trip(ab_json_to_msgpack, ab_msgpack_to_json, data, size);
    fuzz_exact(data, size);
    if (fuzz_call(ab_json_to_msgpack, data, size,
                  FUZZ_OUT_FACTOR * size + FUZZ_OUT_SLACK, &mp) == AB_TC_OK)
        fuzz_styles(mp.data + FUZZ_PREFIX_LEN, mp.len - FUZZ_PREFIX_LEN);
    ab_buf_free(&mp);
    return 0;
}
