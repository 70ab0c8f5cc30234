/*
 * fuzz_link.c: libFuzzer target for the link envelope parser
 * (proto/link.h). The first input byte is the number of body frames said
 * to follow (scaled, so the frame bound is reached too), the rest is the
 * envelope. Beyond the sanitizers: an accepted envelope encodes back to
 * the very same bytes, and a refusal never leaves a half-read message the
 * encoder would take.
 */
#include "fuzz_check.h"
#include "link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t nbody = data[0] < 250 ? data[0] : (size_t)data[0] * 17;
    ab_link_msg m;
    uint8_t out[AB_LINK_ENVELOPE_MAX];
    size_t n = 0;
    ab_link_err e = ab_link_parse(data + 1, size - 1, nbody, &m);
    if (e == AB_LINK_OK) {
        FUZZ_CHECK(ab_link_encode(&m, nbody, out, sizeof out, &n) ==
                   AB_LINK_OK);
        FUZZ_CHECK(n == size - 1 && memcmp(out, data + 1, n) == 0);
    } else {
        FUZZ_CHECK(strcmp(ab_link_err_name(e), "unknown") != 0);
        if (e != AB_LINK_E_VERSION && e != AB_LINK_E_EMPTY &&
            e != AB_LINK_E_TOO_LONG && e != AB_LINK_E_TRUNCATED &&
            e != AB_LINK_E_TRAILING && e != AB_LINK_E_TYPE)
            FUZZ_CHECK(ab_link_encode(&m, nbody, out, sizeof out, &n) == e);
    }
    return 0;
}
