/* common.c: helpers every module shares (error buffers, reading files). */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* What a non-regular file is, for the message refusing it. */
static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a plain file";
}

/* Opens PATH for reading into *FD if it is a regular file. O_NONBLOCK
 * makes opening a FIFO return at once (instead of waiting for a writer,
 * forever), so it can be refused like a device or a directory: only a
 * regular file has an end that is sure to come. */
static int open_regular(const char *path, int *fd, char *err, size_t errlen)
{
    struct stat st;
    *fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0)
        return ab_seterr(err, errlen, "%s: cannot open: %s", path,
                         strerror(errno));
    if (fstat(*fd, &st) != 0) {
        int e = errno;
        close(*fd);
        return ab_seterr(err, errlen, "%s: cannot read: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(*fd);
        return ab_seterr(err, errlen, "%s: not a regular file (%s)", path,
                         file_kind(st.st_mode));
    }
    return AB_OK;
}

int ab_read_file(const char *path, size_t max, const char *what, char **out,
                 size_t *outlen, char *err, size_t errlen)
{
    int fd;
    if (open_regular(path, &fd, err, errlen) != AB_OK)
        return AB_ERR;
    FILE *f = fdopen(fd, "rb");
    char *buf = f ? malloc(max + 1) : NULL;
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    int read_errno = !f ? errno : !buf ? ENOMEM : ferror(f) ? errno : 0;
    if (f)
        fclose(f);
    else
        close(fd);
    if (read_errno || n > max) {
        free(buf);
        if (read_errno)
            return ab_seterr(err, errlen, "%s: cannot read: %s", path,
                             strerror(read_errno));
        return ab_seterr(err, errlen,
                         "%s: file is larger than %zu bytes (the limit for %s)",
                         path, max, what);
    }
    buf[n] = '\0'; /* n <= max: there is room */
    *out = buf;
    *outlen = n;
    return AB_OK;
}
