/* common.c: helpers every module shares (error buffers, reading files). */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ab_seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return AB_ERR;
}

void ab_strfmt(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, len, fmt, ap);
    va_end(ap);
}

int ab_read_file(const char *path, size_t max, const char *what, char **out,
                 size_t *outlen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return ab_seterr(err, errlen, "%s: cannot open: %s", path,
                         strerror(errno));
    char *buf = malloc(max + 2);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int read_errno = !buf ? ENOMEM : ferror(f) ? errno : 0;
    fclose(f);
    if (read_errno || n > max) {
        free(buf);
        if (read_errno)
            return ab_seterr(err, errlen, "%s: cannot read: %s", path,
                             strerror(read_errno));
        return ab_seterr(err, errlen,
                         "%s: file is larger than %zu bytes (the limit for %s)",
                         path, max, what);
    }
    buf[n] = '\0';
    *out = buf;
    *outlen = n;
    return AB_OK;
}
