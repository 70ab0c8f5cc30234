/*
 * sdnotify.c: readiness for service managers (sdnotify.h). The protocol is
 * systemd's sd_notify(3): newline-separated VAR=VALUE assignments in one
 * datagram on an AF_UNIX socket whose address the manager passes in
 * $NOTIFY_SOCKET. libsystemd is not needed for one sendto().
 */
#include "sdnotify.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The address in $NOTIFY_SOCKET into *sa and *len. */
static int notify_address(const char *name, struct sockaddr_un *sa, socklen_t *len,
                          char *err, size_t errlen)
{
    size_t n = strlen(name);
    if (name[0] != '/' && name[0] != '@')
        return ab_seterr(err, errlen, "NOTIFY_SOCKET=%s: expected an absolute path "
                         "or @abstract-name", name);
    if (n >= sizeof sa->sun_path)
        return ab_seterr(err, errlen, "NOTIFY_SOCKET: the address is longer than %zu "
                         "bytes", sizeof sa->sun_path - 1);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path, name, n);
    if (name[0] == '@')
        sa->sun_path[0] = '\0'; /* abstract: no NUL terminator in the length */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
    return AB_OK;
}

int sdnotify(const char *state, char *err, size_t errlen)
{
    const char *name = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    socklen_t len = 0;
    if (!name || !name[0])
        return AB_OK;
    if (notify_address(name, &sa, &len, err, errlen) != AB_OK)
        return AB_ERR;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ab_seterr(err, errlen, "NOTIFY_SOCKET: socket: %s", strerror(errno));
    ssize_t sent = sendto(fd, state, strlen(state), MSG_DONTWAIT | MSG_NOSIGNAL,
                          (const struct sockaddr *)&sa, len);
    int saved = errno;
    close(fd);
    if (sent < 0)
        return ab_seterr(err, errlen, "NOTIFY_SOCKET=%s: %s", name, strerror(saved));
    return AB_OK;
}

void sdnotify_ready(void)
{
    char err[AB_ERRLEN];
    if (sdnotify("READY=1\nSTATUS=serving", err, sizeof err) != AB_OK)
        log_warn("sd_notify failed: %s", err);
}
