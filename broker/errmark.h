/*
 * errmark.h: the mark that lets clients of client/agentbus.h tell the
 * broker's own error replies from backend replies that look the same.
 *
 * Such a client puts a 12-byte tag frame right before the envelope's empty
 * delimiter: "\0ab" + 'q' + 8 bytes of its own (a request sequence). The
 * envelope never reaches a backend and comes back in front of the reply
 * unchanged, except that in an error reply built by the broker 'q' becomes
 * 'e'. A backend cannot produce the mark; REQ clients never carry such a
 * frame (their envelope ends in a routing id: 5 bytes when libzmq makes
 * it, and libzmq reserves ids starting with a zero byte), so nothing
 * changes for them. docs/errors.md describes this for client authors.
 */
#ifndef AB_ERRMARK_H
#define AB_ERRMARK_H

#include "msgv.h"

#define ERRMARK_TAG_LEN 12
#define ERRMARK_KIND_AT 3        /* offset of the kind byte */
#define ERRMARK_KIND_REQUEST 'q'
#define ERRMARK_KIND_ERROR 'e'

/* env holds exactly a client envelope, delimiter included, about to carry
 * an error reply: if its last frame before the delimiter is an agentbus.h
 * tag, mark it as an error. Anything else is left alone. */
void errmark_envelope(msgv *env);

#endif
