/*
 * reload.h: SIGHUP. The registry (and the link key file, checked against
 * it) is read and validated on a libuv worker thread, so no file, however large or deep, stalls traffic; the result is
 * applied on the loop. SIGHUPs that come while a load runs are coalesced
 * into one more load once it is done (the file may have changed again),
 * so a storm of signals costs at most two loads. A load that finishes
 * after shutdown began is discarded.
 */
#ifndef AB_RELOAD_H
#define AB_RELOAD_H

#include "keys.h"
#include "registry.h"

#include <uv.h>

#define RELOAD_ERRLEN 8192

struct broker;

typedef struct reloader {
    uv_work_t work;
    int busy;             /* a load is on the worker thread */
    int again;            /* SIGHUP came while it was */
    int rc;               /* the load's result, and its registry or errors */
    registry *next;
    keys_secret key;      /* the link key checked against it */
    int has_key;
    char err[RELOAD_ERRLEN];
} reloader;

/* SIGHUP: start a load, or note that one more is wanted. */
void reload_request(struct broker *br);

#endif
