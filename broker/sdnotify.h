/*
 * sdnotify.h: the service manager readiness notification (systemd
 * Type=notify), without libsystemd: one datagram to $NOTIFY_SOCKET.
 */
#ifndef AB_SDNOTIFY_H
#define AB_SDNOTIFY_H

#include <stddef.h>

/* Sends STATE (e.g. "READY=1") to the AF_UNIX datagram socket named by
 * $NOTIFY_SOCKET: an absolute path, or '@' then a name in the abstract
 * namespace. AB_OK when sent, or when $NOTIFY_SOCKET is unset or empty
 * (no manager is listening); AB_ERR with the reason otherwise. Never
 * blocks: a full receiver is an error. */
int sdnotify(const char *state, char *err, size_t errlen);

/* The broker is ready (every port bound): tells the manager, logging a
 * failure as a warning (the broker serves either way). */
void sdnotify_ready(void);

#endif
