/* hello.c: the README's hello world: call the service "translation" once. */
#define AGENTBUS_IMPLEMENTATION
#include "agentbus.h"
#include <stdio.h>

int main(void)
{
    ab_error err;
    ab_msg reply = AB_MSG_INIT;
    ab_client *c = ab_client_open("translation", NULL, &err);
    int rc = c ? ab_call(c, "hello", 5, 5000, &reply, &err) : err.code;
    if (rc == AB_OK)
        printf("%.*s\n", (int)reply.frames[0].size, (const char *)reply.frames[0].data);
    else
        fprintf(stderr, "hello: %s\n", err.message);
    ab_msg_free(&reply);
    ab_client_close(c);
    return rc == AB_OK ? 0 : 1;
}
