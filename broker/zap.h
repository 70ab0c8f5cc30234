/*
 * zap.h: the ZAP handler (ZeroMQ RFC 27) that decides which brokers may
 * open a link to this one, on the broker's loop.
 *
 * libzmq asks the handler bound on inproc://zeromq.zap.01 of the socket's
 * context about every CURVE handshake of a socket with a ZAP domain (the
 * link server's is LINKIO_ZAP_DOMAIN) and, when no handler is bound,
 * admits every key. So zap_open() binds before the link server does,
 * and a broker whose handler cannot start does not start.
 *
 * It admits exactly the public keys (public_key and next_public_key) of
 * the registry's other hosts. An admitted connection's ZAP User-Id is the
 * host the key belongs to and its metadata property ZAP_KEY_PROPERTY the
 * key (Z85), both readable on every message with zmq_msg_gets(): the
 * link server binds the connection to that host, and on a reload cuts
 * connections whose key the registry no longer lists. A refused
 * handshake is counted and logged once per peer address (ZAP gives the
 * IP address only), at most ZAP_LOGGED_MAX addresses.
 */
#ifndef AB_ZAP_H
#define AB_ZAP_H

#include "registry.h"
#include "stats.h"
#include "zsock.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_KEY_PROPERTY "X-Agentbus-Key"
#define ZAP_LOGGED_MAX 256
#define ZAP_ADDR_MAX 64

typedef struct zap_key {
    uint8_t key[REG_KEY_LEN];
    char z85[REG_KEY_Z85_LEN + 1];
    char host[REG_NAME_MAX + 1];
} zap_key;

typedef struct zap {
    zsock sock;            /* ROUTER bound on ZAP_ENDPOINT */
    zap_key *keys;         /* the admitted keys */
    size_t nkeys;
    linksrv_stats *st;     /* admitted / refused */
    char (*logged)[ZAP_ADDR_MAX]; /* addresses whose refusal was logged */
    size_t nlogged;
    int open;
} zap;

/* Bind the handler on ctx and start serving on the loop of sched; the
 * keys are those of reg's hosts other than self. AB_ERR: nothing open. */
int zap_open(zap *z, zsock_sched *sched, void *zctx, const registry *reg,
             const char *self, linksrv_stats *st, char *err, size_t errlen);
/* Admit the keys of reg instead (a reload). */
int zap_set_keys(zap *z, const registry *reg, const char *self);
/* Whether key (Z85) is one of host's keys in reg: a connection it
 * authenticated may stay. */
int zap_key_listed(const registry *reg, const char *host, const char *z85);
/* Asynchronous; the handle is embedded, nothing to free after. */
void zap_close(zap *z);

#endif
