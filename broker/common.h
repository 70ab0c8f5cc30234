/*
 * common.h: conventions shared by every broker module.
 *
 * Low-level helpers return AB_OK or AB_ERR and, on AB_ERR, fill a
 * caller-supplied error buffer of AB_ERRLEN bytes with one human line.
 * A function that returns AB_ERR has not taken ownership of anything and
 * will never call the callback it was given.
 */
#ifndef AB_COMMON_H
#define AB_COMMON_H

#include <stddef.h>

#define AB_OK 0
#define AB_ERR (-1)
#define AB_ERRLEN 512

#define AB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AB_UNUSED(x) ((void)(x))

/* Format into an error buffer (NULL-safe); always returns AB_ERR. */
int ab_seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* snprintf for text that may be cut to fit on purpose (paths and labels in
 * messages): says so to the reader and to the compiler's truncation check. */
void ab_strfmt(char *out, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read the regular file PATH whole into a new NUL-terminated buffer (*out,
 * freed by the caller; *outlen excludes the NUL), refusing anything but a
 * regular file (a FIFO would block forever) and files over MAX bytes. WHAT
 * names the file's kind in that refusal ("a registry"). */
int ab_read_file(const char *path, size_t max, const char *what, char **out,
                 size_t *outlen, char *err, size_t errlen);

#endif
