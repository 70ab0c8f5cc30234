/*
 * keys.h: CURVE key files: a host's secret key for its links, and the
 * public keys of the registry.
 *
 * A key file is small text (docs/links.md, "Key files"):
 *
 *     # comments and blank lines are allowed
 *     host: mainpc
 *     public_key: rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7
 *     secret_key: <40 Z85 characters>
 *
 * keys_load() refuses, with one clear line each: a missing file, a file
 * other users may read or write, anything but a regular file, a malformed
 * file, and a public key that does not belong to the secret key.
 * keys_check_registry() then refuses a key that is not this host's in the
 * registry. Secret material is wiped from memory when it is no longer
 * needed (keys_wipe for the struct).
 */
#ifndef AB_KEYS_H
#define AB_KEYS_H

#include "registry.h"

#include <stdbool.h>
#include <stdint.h>

#define KEYS_LEN 32          /* CURVE keys, bytes */
#define KEYS_Z85_LEN 40      /* their Z85 text */
#define KEYS_FILE_MAX 4096   /* a key file is a few lines */
#define KEYS_FINGERPRINT_LEN 24 /* "sha256:" + 16 hex digits + NUL */

typedef struct keys_secret {
    char host[REG_NAME_MAX + 1];
    char public_z85[KEYS_Z85_LEN + 1];
    uint8_t public_key[KEYS_LEN];
    uint8_t secret_key[KEYS_LEN]; /* ZMQ_CURVE_SECRETKEY takes these bytes */
} keys_secret;

/* AB_OK if this libzmq can do CURVE; else AB_ERR saying so. */
int keys_curve_available(char *err, size_t errlen);

/* A new key pair for host. */
int keys_generate(const char *host, keys_secret *out, char *err,
                  size_t errlen);

/* Write k to path with mode 0600: created exclusively, or, with force,
 * written beside it and renamed over it (never readable by others, not
 * even for a moment). */
int keys_write(const char *path, const keys_secret *k, bool force, char *err,
               size_t errlen);

/* Read and check the key file at path (see above). */
int keys_load(const char *path, keys_secret *out, char *err, size_t errlen);

/* The loaded key belongs to host (as named in the file and in the
 * registry) and equals its public_key or next_public_key there. */
int keys_check_registry(const keys_secret *k, const registry *reg,
                        const char *host, const char *path, char *err,
                        size_t errlen);

/* "sha256:" and the first 8 bytes of SHA-256(key) in hex: short enough for
 * a table, long enough to tell keys apart. */
void keys_fingerprint(const uint8_t key[KEYS_LEN],
                      char out[KEYS_FINGERPRINT_LEN]);

/* Zero the secret (and everything else) in k. */
void keys_wipe(keys_secret *k);

#endif
