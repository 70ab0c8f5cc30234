/*
 * numparse.h: one JSON number (RFC 8259 grammar, nothing more) to an exact
 * integer or a correctly rounded double.
 */
#ifndef AB_NUMPARSE_H
#define AB_NUMPARSE_H

#include "transcode.h"

typedef enum ab_num_kind {
    AB_NUM_UINT,   /* no fraction, no exponent, >= 0 ("-0" included) */
    AB_NUM_INT,    /* no fraction, no exponent, < 0 */
    AB_NUM_DOUBLE, /* had a fraction or an exponent */
} ab_num_kind;

typedef struct ab_number {
    ab_num_kind kind;
    union {
        uint64_t u;
        int64_t i;
        double d;
    } v;
} ab_number;

/* Parse the number starting at *p (p < end) and move *p past it.
 * AB_TC_OK, or: AB_TC_BAD_JSON with *p at the offending byte;
 * AB_TC_INT_RANGE (integer outside int64/uint64) or AB_TC_NON_FINITE (a
 * double beyond DBL_MAX), both with *p left at the number's first byte. */
ab_tc_reason ab_parse_number(const uint8_t **p, const uint8_t *end,
                             ab_number *out);

#endif
