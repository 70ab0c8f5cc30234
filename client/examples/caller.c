/*
 * caller.c: call a service once and print its reply, one line per frame.
 *
 *   caller [--timeout MS] [--retries N] SERVICE|ENDPOINT FRAME...
 *
 * A SERVICE name is looked up in $AGENTBUS_REGISTRY and reached through the
 * broker at $AGENTBUS_BROKER (default 127.0.0.1). --retries N declares the
 * request idempotent: it may be sent up to N more times after a timeout,
 * unavailable or overloaded error. Exit status: 0 a reply, 1 an error
 * (printed with its code), 2 a usage error.
 */
#define AGENTBUS_IMPLEMENTATION
#include "agentbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS_FRAMES 64

static int usage(void)
{
    fprintf(stderr, "usage: caller [--timeout MS] [--retries N] SERVICE|ENDPOINT FRAME...\n");
    return 2;
}

/* Print the reply, or the error and where it came from. */
static int report(int rc, const ab_msg *reply, const ab_error *err)
{
    size_t i;
    if (rc != AB_OK) {
        fprintf(stderr, "caller: %s%s\n", err->message,
                err->from_broker ? "" : " (detected by the client)");
        return 1;
    }
    for (i = 0; i < reply->nframes; i++)
        printf("%.*s\n", (int)reply->frames[i].size, (const char *)reply->frames[i].data);
    return 0;
}

int main(int argc, char **argv)
{
    ab_frame frames[MAX_ARGS_FRAMES];
    ab_call_opts opts = {5000, 0, 0};
    ab_msg reply = AB_MSG_INIT;
    ab_error err;
    ab_client *c;
    int i = 1, n = 0, rc;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        if (strcmp(argv[i], "--timeout") == 0)
            opts.timeout_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--retries") == 0)
            opts.retries = atoi(argv[i + 1]), opts.idempotent = 1;
        else
            return usage();
    }
    if (i + 1 >= argc || argc - i - 1 > MAX_ARGS_FRAMES)
        return usage();
    for (n = 0; i + 1 + n < argc; n++) {
        frames[n].data = argv[i + 1 + n];
        frames[n].size = strlen(argv[i + 1 + n]);
    }
    c = ab_client_open(argv[i], NULL, &err);
    rc = c ? ab_callv(c, frames, (size_t)n, &opts, &reply, &err) : err.code;
    rc = report(rc, &reply, &err);
    ab_msg_free(&reply);
    ab_client_close(c);
    return rc;
}
