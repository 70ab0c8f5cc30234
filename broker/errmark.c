/* errmark.c: marks the broker's error replies for agentbus.h clients. */
#include "errmark.h"

#include <string.h>

static const unsigned char tag_prefix[ERRMARK_KIND_AT + 1] = {0, 'a', 'b',
                                                             ERRMARK_KIND_REQUEST};

void errmark_envelope(msgv *env)
{
    if (env->n < 3)
        return; /* [routing id][""]: a REQ client */
    zmq_msg_t *tag = &env->f[env->n - 2];
    if (zmq_msg_size(tag) != ERRMARK_TAG_LEN ||
        memcmp(zmq_msg_data(tag), tag_prefix, sizeof tag_prefix) != 0)
        return;
    /* Written in place: a frame this small is held inside its zmq_msg_t
     * (libzmq copies frames under 33 bytes there), so no other message
     * shares these bytes. */
    ((unsigned char *)zmq_msg_data(tag))[ERRMARK_KIND_AT] = ERRMARK_KIND_ERROR;
}
