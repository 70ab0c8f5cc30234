/*
 * check.h: the smallest test harness that does the job. CHECK records a
 * failure with file and line and keeps going; CHECK_DONE() prints the closing
 * "N passed, N failed" line and yields the exit code.
 */
#ifndef AB_CHECK_H
#define AB_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (cond) {                                                        \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__,         \
                    __LINE__, #cond);                                      \
        }                                                                  \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                    \
    do {                                                                   \
        const char *h_ = (hay), *n_ = (needle);                            \
        if (h_ && strstr(h_, n_)) {                                        \
            check_passed++;                                                \
        } else {                                                           \
            check_failed++;                                                \
            fprintf(stderr, "%s:%d: expected \"%s\" in \"%s\"\n",          \
                    __FILE__, __LINE__, n_, h_ ? h_ : "(null)");           \
        }                                                                  \
    } while (0)

#define CHECK_DONE()                                                       \
    (printf("%d passed, %d failed\n", check_passed, check_failed),         \
     check_failed ? 1 : 0)

#endif
