/*
 * links.h: the links of the broker as a whole (docs/links.md): whether
 * this host takes part in them, its key, the ZAP handler (zap.h), the
 * link server (linksrv.h) and the peers (peer.h), and keeping all of them
 * in step with the registry at start and on every reload.
 *
 * A host takes part when the registry has other hosts and this one
 * either has a `link:` (it serves the others) or fronts a service hosted
 * elsewhere (it dials them). Such a host needs its secret key
 * (--secret-key), unless the broker runs with --link-plaintext, a lab
 * mode that is logged loudly at start and on every link.
 */
#ifndef AB_LINKS_H
#define AB_LINKS_H

#include "keys.h"
#include "registry.h"

#include <stdbool.h>

struct broker;

/* Whether host takes part in the links of reg. */
bool links_take_part(const registry *reg, const char *host);
/* How many hosts host's broker dials (hosts of services it fronts). */
size_t links_dialled(const registry *reg, const char *host);

/* The key file at path (NULL: none given), checked against reg for host
 * (keys_load, keys_check_registry). has says whether one was loaded. A
 * host that takes part needs one unless plaintext. Thread-safe: reloads
 * call it on the worker thread. */
int links_load_key(const char *path, const registry *reg, const char *host,
                   int plaintext, keys_secret *key, int *has, char *err,
                   size_t errlen);

/* At start: the ZAP handler, then the link server, then the peers, for
 * br->reg and the key in br (loaded by links_load_key). */
int links_open(struct broker *br, char *err, size_t errlen);

/* A reload, in two steps around moving the services: before, open what
 * next needs (new peers; the ZAP keys; a new key) so that services find
 * their peer; after, close what it no longer has (peers whose in-flight
 * requests are answered `unavailable`; the link server's connections of
 * hosts or keys it no longer lists, GOODBYE removed). key/has: the key
 * loaded for next. */
void links_reload_begin(struct broker *br, const registry *next,
                        const keys_secret *key, int has);
void links_reload_end(struct broker *br, const registry *next);

/* Broker shutdown: GOODBYE(shutdown) everywhere, close everything. */
void links_close(struct broker *br);
/* For /readyz: AB_OK when every host this broker dials has a link up,
 * else AB_ERR with why naming the first that has none. */
int links_ready(const struct broker *br, char *why, size_t len);

#endif
