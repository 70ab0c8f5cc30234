/*
 * fuzz_json2mp.c: libFuzzer target for JSON -> msgpack. On top of the
 * sanitizers it checks the buffer contract and that whatever is accepted
 * comes back exactly: msgpack -> JSON accepts the output, and that JSON
 * transcodes to the very same msgpack bytes (fuzz_check.h).
 */
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_round_trip(ab_json_to_msgpack, ab_msgpack_to_json, data, size);
    return 0;
}
