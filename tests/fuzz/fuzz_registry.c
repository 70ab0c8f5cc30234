/*
 * fuzz_registry.c: libFuzzer target for the registry loader. The registry
 * is operator input, and SIGHUP feeds it to a live broker, so any file must
 * end in a valid registry or a diagnostic: never a crash, a leak, or an
 * error buffer left unterminated. The input is handed over as a file (the
 * loader's only interface) through an in-memory memfd.
 */
#define _GNU_SOURCE
#include "common.h"
#include "registry.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write data to a fresh memfd; its /proc path goes to path. -1 on failure. */
static int to_memfd(const uint8_t *data, size_t size, char *path, size_t len)
{
    int fd = memfd_create("registry.yaml", 0);
    if (fd < 0)
        return -1;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[AB_ERRLEN];
    int fd = to_memfd(data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    registry *reg = NULL;
    memset(err, 'x', sizeof err);
    if (registry_load(path, &reg, err, sizeof err) == AB_OK) {
        if (!reg || !registry_host(reg, reg->nservices ? reg->services[0].host
                                                      : reg->hosts[0].name))
            abort(); /* a loaded registry is consistent */
        registry_free(reg);
    } else if (reg || !memchr(err, '\0', sizeof err)) {
        abort(); /* failure: no registry, a terminated message */
    }
    close(fd);
    return 0;
}
