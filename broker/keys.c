/*
 * keys.c: CURVE key files (keys.h has the API, docs/links.md the format).
 *
 * Keys come from libzmq's CURVE helpers (zmq_curve_keypair,
 * zmq_curve_public, zmq_z85_*), so a key this module accepts is exactly
 * what the link sockets will accept. Every buffer that held secret text
 * or bytes is cleared with sodium_memzero, which the compiler may not
 * optimise away.
 */
#include "keys.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define NAME_CHARS                                                         \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"
#define LINE_MAX_LEN 256

/* The fields of a key file as read, before they are checked together. */
typedef struct keyfile {
    char host[REG_NAME_MAX + 1];
    char pub[KEYS_Z85_LEN + 1];
    char sec[KEYS_Z85_LEN + 1];
    bool seen[3];
} keyfile;

enum { F_HOST, F_PUBLIC, F_SECRET };
static const char *const FIELD_NAMES[3] = {"host", "public_key", "secret_key"};

int keys_curve_available(char *err, size_t errlen)
{
    if (zmq_has("curve"))
        return AB_OK;
    return ab_seterr(err, errlen,
                     "this libzmq was built without CURVE (zmq_has(\"curve\") "
                     "is false): install a libzmq built with libsodium");
}

/* Decode a 40-character Z85 key; AB_ERR if it is not one. */
static int z85_key(const char *z85, uint8_t out[KEYS_LEN])
{
    if (strlen(z85) != KEYS_Z85_LEN)
        return AB_ERR;
    return zmq_z85_decode(out, z85) ? AB_OK : AB_ERR;
}

int keys_generate(const char *host, keys_secret *out, char *err,
                  size_t errlen)
{
    char sec[KEYS_Z85_LEN + 1];
    size_t n = strlen(host);
    memset(out, 0, sizeof *out);
    if (n == 0 || n > REG_NAME_MAX || strspn(host, NAME_CHARS) != n)
        return ab_seterr(err, errlen,
                         "host name '%.80s' must be 1..%d characters from "
                         "[A-Za-z0-9_.-], as in the registry", host,
                         REG_NAME_MAX);
    if (keys_curve_available(err, errlen) != AB_OK)
        return AB_ERR;
    int rc = zmq_curve_keypair(out->public_z85, sec) == 0 &&
                     z85_key(out->public_z85, out->public_key) == AB_OK &&
                     z85_key(sec, out->secret_key) == AB_OK
                 ? AB_OK
                 : ab_seterr(err, errlen, "zmq_curve_keypair failed: %s",
                             zmq_strerror(errno));
    memcpy(out->host, host, n + 1);
    sodium_memzero(sec, sizeof sec);
    return rc;
}

/* ---------------------------------------------------------------------
 * Writing
 * --------------------------------------------------------------------- */

static int format_file(const keys_secret *k, char *buf, size_t len)
{
    char sec[KEYS_Z85_LEN + 1];
    zmq_z85_encode(sec, k->secret_key, KEYS_LEN);
    int n = snprintf(buf, len,
                     "# agentbus CURVE secret key of host %s (agentbus "
                     "keygen).\n"
                     "# Keep it on that host only, readable by the broker's "
                     "user alone (mode 0600).\n"
                     "# The public key may be shared: it goes into the "
                     "registry.\n"
                     "host: %s\npublic_key: %s\nsecret_key: %s\n",
                     k->host, k->host, k->public_z85, sec);
    sodium_memzero(sec, sizeof sec);
    return n;
}

static int write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return AB_ERR;
        buf += w;
        n -= (size_t)w;
    }
    return AB_OK;
}

/* Create path exclusively with mode 0600 and write text to it. */
static int write_new(const char *path, const char *text, size_t n, char *err,
                     size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
    if (fd < 0 && errno == EEXIST)
        return ab_seterr(err, errlen,
                         "%s exists; refusing to overwrite a key (use "
                         "--force to replace it)", path);
    if (fd < 0)
        return ab_seterr(err, errlen, "%s: cannot create: %s", path,
                         strerror(errno));
    int ok = fchmod(fd, 0600) == 0 && write_all(fd, text, n) == AB_OK &&
             fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return ab_seterr(err, errlen, "%s: cannot write: %s", path,
                         strerror(saved));
    }
    return AB_OK;
}

int keys_write(const char *path, const keys_secret *k, bool force, char *err,
               size_t errlen)
{
    char text[KEYS_FILE_MAX], tmp[4096];
    int n = format_file(k, text, sizeof text);
    int rc;
    if (!force) {
        rc = write_new(path, text, (size_t)n, err, errlen);
    } else if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path,
                                (long)getpid()) >= sizeof tmp) {
        rc = ab_seterr(err, errlen, "%.200s: path too long", path);
    } else {
        unlink(tmp); /* a leftover of a crashed run of this pid */
        rc = write_new(tmp, text, (size_t)n, err, errlen);
        if (rc == AB_OK && rename(tmp, path) != 0) {
            rc = ab_seterr(err, errlen, "%s: cannot replace: %s", path,
                           strerror(errno));
            unlink(tmp);
        }
    }
    sodium_memzero(text, sizeof text);
    return rc;
}

/* ---------------------------------------------------------------------
 * Reading
 * --------------------------------------------------------------------- */

/* What is wrong with the file behind fd for holding a secret key, into
 * why; AB_OK if nothing. */
static int check_stat(int fd, const char *path, char *why, size_t len)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return ab_seterr(why, len, "%s: cannot stat: %s", path,
                         strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ab_seterr(why, len, "%s: not a regular file", path);
    if (st.st_mode & 077)
        return ab_seterr(why, len,
                         "%s: mode %04o lets group or others access the "
                         "secret key; run: chmod 600 %s", path,
                         (unsigned)(st.st_mode & 07777), path);
    if (st.st_size > KEYS_FILE_MAX)
        return ab_seterr(why, len, "%s: larger than %d bytes: not a key file",
                         path, KEYS_FILE_MAX);
    return AB_OK;
}

/* Opens path for reading a key and checks what it is before reading a
 * byte: it exists, is a regular file, grants nothing to group/others.
 * O_NONBLOCK keeps a FIFO from blocking the open. */
static int open_checked(const char *path, int *fd, char *err, size_t errlen)
{
    *fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (*fd < 0 && errno == ENOENT)
        return ab_seterr(err, errlen,
                         "%s: no such file (make one with: agentbus keygen "
                         "HOST --out %s)", path, path);
    if (*fd < 0)
        return ab_seterr(err, errlen, "%s: cannot open: %s", path,
                         strerror(errno));
    if (check_stat(*fd, path, err, errlen) != AB_OK) {
        close(*fd);
        return AB_ERR;
    }
    return AB_OK;
}

/* The whole file into buf (KEYS_FILE_MAX + 1 bytes), NUL-terminated. */
static int read_text(int fd, const char *path, char *buf, char *err,
                     size_t errlen)
{
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, KEYS_FILE_MAX - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return ab_seterr(err, errlen, "%s: cannot read: %s", path,
                             strerror(errno));
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == KEYS_FILE_MAX)
            break;
    }
    buf[len] = '\0';
    if (strlen(buf) != len)
        return ab_seterr(err, errlen, "%s: malformed: NUL byte in a text "
                         "file", path);
    return AB_OK;
}

/* Value of a "key: value" line, unquoted; NULL if the line is not one. */
static char *line_value(char *line, char **key)
{
    char *colon = strchr(line, ':');
    if (!colon || colon[1] != ' ')
        return NULL;
    *colon = '\0';
    *key = line;
    char *v = colon + 1 + strspn(colon + 1, " \t");
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        v[--n] = '\0';
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        v[n - 1] = '\0';
        v++;
    }
    return v;
}

/* One line (no newline) into kf; AB_ERR with "FILE:LINE: ..." if bad. */
static int parse_line(char *line, int lineno, keyfile *kf, const char *path,
                      char *err, size_t errlen)
{
    char *key, *v;
    const char *lead = line + strspn(line, " \t");
    if (*lead == '\0' || *lead == '#')
        return AB_OK;
    if (!(v = line_value(line, &key)))
        return ab_seterr(err, errlen, "%s:%d: malformed: expected 'KEY: "
                         "VALUE' (host, public_key, secret_key)", path, lineno);
    int f = strcmp(key, "host") == 0         ? F_HOST
            : strcmp(key, "public_key") == 0 ? F_PUBLIC
            : strcmp(key, "secret_key") == 0 ? F_SECRET
                                             : -1;
    if (f < 0)
        return ab_seterr(err, errlen, "%s:%d: malformed: unknown key "
                         "'%.40s'", path, lineno, key);
    if (kf->seen[f])
        return ab_seterr(err, errlen, "%s:%d: malformed: %s given twice",
                         path, lineno, FIELD_NAMES[f]);
    kf->seen[f] = true;
    size_t cap = f == F_HOST ? sizeof kf->host : sizeof kf->pub;
    if (strlen(v) >= cap)
        return ab_seterr(err, errlen, "%s:%d: malformed: %s is too long",
                         path, lineno, FIELD_NAMES[f]);
    memcpy(f == F_HOST ? kf->host : f == F_PUBLIC ? kf->pub : kf->sec, v,
           strlen(v) + 1);
    return AB_OK;
}

static int parse_text(char *text, keyfile *kf, const char *path, char *err,
                      size_t errlen)
{
    int lineno = 0;
    for (char *line = text; line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        if (parse_line(line, ++lineno, kf, path, err, errlen) != AB_OK)
            return AB_ERR;
        line = nl ? nl + 1 : NULL;
    }
    for (int f = 0; f < 3; f++)
        if (!kf->seen[f])
            return ab_seterr(err, errlen, "%s: malformed: no %s line", path,
                             FIELD_NAMES[f]);
    return AB_OK;
}

/* The fields checked together: decodable keys that belong to each other. */
static int check_fields(const keyfile *kf, keys_secret *out, const char *path,
                        char *err, size_t errlen)
{
    char derived[KEYS_Z85_LEN + 1];
    size_t n = strlen(kf->host);
    if (n == 0 || strspn(kf->host, NAME_CHARS) != n)
        return ab_seterr(err, errlen, "%s: malformed: host must be a "
                         "registry host name", path);
    if (z85_key(kf->pub, out->public_key) != AB_OK)
        return ab_seterr(err, errlen, "%s: malformed: public_key is not 40 "
                         "Z85 characters", path);
    if (z85_key(kf->sec, out->secret_key) != AB_OK)
        return ab_seterr(err, errlen, "%s: malformed: secret_key is not 40 "
                         "Z85 characters", path);
    if (zmq_curve_public(derived, kf->sec) != 0 ||
        strcmp(derived, kf->pub) != 0)
        return ab_seterr(err, errlen, "%s: public_key does not belong to "
                         "secret_key (the file was edited or mixed up; "
                         "generate a new one)", path);
    memcpy(out->host, kf->host, n + 1);
    memcpy(out->public_z85, kf->pub, sizeof out->public_z85);
    return AB_OK;
}

int keys_load(const char *path, keys_secret *out, char *err, size_t errlen)
{
    char text[KEYS_FILE_MAX + 1];
    keyfile kf;
    int fd;
    memset(out, 0, sizeof *out);
    memset(&kf, 0, sizeof kf);
    if (keys_curve_available(err, errlen) != AB_OK ||
        open_checked(path, &fd, err, errlen) != AB_OK)
        return AB_ERR;
    int rc = read_text(fd, path, text, err, errlen);
    close(fd);
    if (rc == AB_OK)
        rc = parse_text(text, &kf, path, err, errlen);
    if (rc == AB_OK)
        rc = check_fields(&kf, out, path, err, errlen);
    sodium_memzero(text, sizeof text);
    sodium_memzero(&kf, sizeof kf);
    if (rc != AB_OK)
        keys_wipe(out);
    return rc;
}

int keys_check_registry(const keys_secret *k, const registry *reg,
                        const char *host, const char *path, char *err,
                        size_t errlen)
{
    const reg_host *h = registry_host(reg, host);
    if (strcmp(k->host, host) != 0)
        return ab_seterr(err, errlen, "%s is the key of host %s, but this "
                         "broker runs as host %s", path, k->host, host);
    if (!h)
        return ab_seterr(err, errlen, "host %s is not in %s", host,
                         reg->path);
    if (!h->has_key)
        return ab_seterr(err, errlen, "%s: hosts.%s has no public_key; add "
                         "this line under it: public_key: \"%s\"", reg->path,
                         host, k->public_z85);
    if (memcmp(h->public_key, k->public_key, KEYS_LEN) == 0 ||
        (h->has_next_key &&
         memcmp(h->next_public_key, k->public_key, KEYS_LEN) == 0))
        return AB_OK;
    return ab_seterr(err, errlen, "%s: its public key %s does not match "
                     "hosts.%s.public_key in %s (line %d)", path,
                     k->public_z85, host, reg->path, h->line);
}

void keys_fingerprint(const uint8_t key[KEYS_LEN],
                      char out[KEYS_FINGERPRINT_LEN])
{
    uint8_t h[crypto_hash_sha256_BYTES];
    static const char HEX[] = "0123456789abcdef";
    crypto_hash_sha256(h, key, KEYS_LEN);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 8; i++) {
        out[7 + 2 * i] = HEX[h[i] >> 4];
        out[8 + 2 * i] = HEX[h[i] & 0xf];
    }
    out[KEYS_FINGERPRINT_LEN - 1] = '\0';
}

void keys_wipe(keys_secret *k)
{
    sodium_memzero(k, sizeof *k);
}
