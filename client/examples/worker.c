/*
 * worker.c: serve a service: each reply is the request with every frame
 * upper-cased.
 *
 *   worker SERVICE|ENDPOINT
 *
 * A SERVICE name binds the service's first backend endpoint from
 * $AGENTBUS_REGISTRY (the broker connects to it). SIGINT or SIGTERM stops
 * it cleanly: the request at hand is answered, then it exits 0.
 */
#define AGENTBUS_IMPLEMENTATION
#include "agentbus.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

/* The handler: one upper-cased copy of each request frame. */
static int shout(void *user, const ab_msg *request, ab_msg *reply)
{
    size_t i, j;
    for (i = 0; i < request->nframes; i++) {
        const unsigned char *in = (const unsigned char *)request->frames[i].data;
        size_t size = request->frames[i].size;
        char *out = (char *)malloc(size ? size : 1);
        if (!out)
            return 1; /* stop: the empty reply goes out first */
        for (j = 0; j < size; j++)
            out[j] = (char)toupper(in[j]);
        ab_msg_add(reply, out, size);
        free(out);
    }
    ++*(unsigned long *)user;
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long served = 0;
    ab_error err;
    ab_worker *w;
    int rc;
    if (argc != 2) {
        fprintf(stderr, "usage: worker SERVICE|ENDPOINT\n");
        return 2;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    if (!(w = ab_worker_open(argv[1], NULL, &err))) {
        fprintf(stderr, "worker: %s\n", err.message);
        return 1;
    }
    printf("worker: serving %s on %s\n", argv[1], ab_worker_endpoint(w));
    fflush(stdout);
    rc = ab_worker_run(w, shout, &served, &stop, &err);
    ab_worker_close(w);
    if (rc != AB_OK)
        fprintf(stderr, "worker: %s\n", err.message);
    printf("worker: served %lu requests\n", served);
    return rc == AB_OK ? 0 : 1;
}
