/*
 * fuzz_client.c: libFuzzer target for the two readers in client/agentbus.h.
 *
 * The input is a registry file for its registry reader, checked against
 * the broker's own loader: when registry_load() accepts the file, every
 * service must be read with the same port and backends, or refused with
 * AB_EREGISTRY; a misread aborts. When the broker rejects the file the
 * reader may answer anything but must not crash or leak. The same bytes are
 * then decoded as the body of a broker error reply: any body yields a code
 * and a terminated message.
 */
#define _GNU_SOURCE
#define AGENTBUS_IMPLEMENTATION
#include "agentbus.h"
#include "common.h"
#include "registry.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static ab_service_info info;

/* The header's reading of service s must be the broker's, or a refusal. */
static void compare(const char *path, const reg_service *s)
{
    ab_error e;
    int rc = ab_registry_lookup(path, s->name, &info, &e);
    if (rc != AB_OK) {
        if (rc != AB_EREGISTRY || !memchr(e.message, '\0', sizeof e.message))
            abort();
        return;
    }
    if (info.port != s->port || info.nbackends != s->nbackends)
        abort();
    for (size_t i = 0; i < s->nbackends; i++)
        if (strcmp(info.backends[i], s->backends[i]) != 0)
            abort();
}

static void check_registry(const char *path)
{
    char err[AB_ERRLEN];
    registry *reg = NULL;
    ab_error e;
    if (registry_load(path, &reg, err, sizeof err) == AB_OK) {
        for (size_t i = 0; i < reg->nservices; i++)
            compare(path, &reg->services[i]);
        registry_free(reg);
        return;
    }
    int rc = ab_registry_lookup(path, "s", &info, &e);
    if (rc != AB_OK && rc != AB_EREGISTRY)
        abort();
}

static void check_error_body(const uint8_t *data, size_t size)
{
    ab_msg m = AB_MSG_INIT;
    ab_error e;
    if (ab_msg_add(&m, data, size) != AB_OK)
        return;
    int rc = ab__broker_error(&m, &e);
    if (rc < AB_ETIMEOUT || rc >= AB__CODE_END || rc != e.code || !e.from_broker ||
        !memchr(e.message, '\0', sizeof e.message) || !memchr(e.name, '\0', sizeof e.name))
        abort();
    ab_msg_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64];
    int fd = memfd_create("registry.yaml", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) == (ssize_t)size) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        check_registry(path);
    }
    close(fd);
    check_error_body(data, size);
    return 0;
}
