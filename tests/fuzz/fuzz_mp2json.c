/*
 * fuzz_mp2json.c: libFuzzer target for msgpack -> JSON. On top of the
 * sanitizers it checks the buffer contract and that the JSON it accepts is
 * a fixed point: JSON -> msgpack accepts it, and that msgpack prints as the
 * very same JSON text (fuzz_check.h). The input's own msgpack may differ:
 * float32 comes back as float64, wide headers as narrow ones.
 */
#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_round_trip(ab_msgpack_to_json, ab_json_to_msgpack, data, size);
    return 0;
}
