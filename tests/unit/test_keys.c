/*
 * test_keys.c: key files (broker/keys.h): generate, write and load a key;
 * every refusal of the loader with its message (missing file, group/other
 * access, not a regular file, malformed, mismatched pair, not this host's
 * registry key); and a rotation's next key accepted.
 */
#include "check.h"
#include "common.h"
#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>
#include <unistd.h>

static char dir[64];

static const char *in_dir(const char *name)
{
    static char path[160];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Write text to dir/name with mode; returns the path. */
static const char *put(const char *name, const char *text, mode_t mode)
{
    const char *path = in_dir(name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    chmod(path, mode);
    return path;
}

/* Loading path fails with a message containing want. */
static void refused(const char *path, const char *want)
{
    keys_secret k;
    char err[AB_ERRLEN] = "";
    CHECK(keys_load(path, &k, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, want);
    CHECK(k.secret_key[0] == 0 && k.host[0] == 0); /* wiped */
}

static void test_generate_write_load(void)
{
    keys_secret k, l;
    char err[AB_ERRLEN] = "";
    struct stat st;
    const char *path = in_dir("mainpc.key");
    CHECK(keys_generate("mainpc", &k, err, sizeof err) == AB_OK);
    CHECK(strlen(k.public_z85) == KEYS_Z85_LEN);
    CHECK(keys_write(path, &k, false, err, sizeof err) == AB_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(keys_load(path, &l, err, sizeof err) == AB_OK);
    CHECK(strcmp(l.host, "mainpc") == 0);
    CHECK(memcmp(l.secret_key, k.secret_key, KEYS_LEN) == 0);
    CHECK(memcmp(l.public_key, k.public_key, KEYS_LEN) == 0);
    /* Never overwritten, unless forced (and still 0600 after). */
    CHECK(keys_write(path, &k, false, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, "exists; refusing to overwrite a key (use --force");
    chmod(path, 0644);
    CHECK(keys_generate("mainpc", &l, err, sizeof err) == AB_OK);
    CHECK(keys_write(path, &l, true, err, sizeof err) == AB_OK);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(keys_load(path, &k, err, sizeof err) == AB_OK);
    CHECK(memcmp(l.secret_key, k.secret_key, KEYS_LEN) == 0);
    CHECK(keys_generate("bad name", &k, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, "must be 1..64 characters");
    keys_wipe(&k);
    CHECK(k.secret_key[0] == 0 && k.secret_key[31] == 0);
    unlink(path);
}

/* A valid key file's text for host, with line `extra` appended. */
static void key_text(char *out, size_t len, const char *host,
                     const char *extra)
{
    keys_secret k;
    char err[AB_ERRLEN], path[160];
    snprintf(path, sizeof path, "%s", in_dir("tmp.key"));
    keys_generate(host, &k, err, sizeof err);
    keys_write(path, &k, true, err, sizeof err);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(out, 1, len - 1, f) : 0;
    out[n] = '\0';
    if (f)
        fclose(f);
    unlink(path);
    strncat(out, extra, len - strlen(out) - 1);
}

static void test_file_refusals(void)
{
    char text[2048];
    refused(in_dir("absent.key"), "absent.key: no such file (make one with: "
                                  "agentbus keygen HOST --out");
    key_text(text, sizeof text, "h", "");
    refused(put("group.key", text, 0640),
            "group.key: mode 0640 lets group or others access the secret "
            "key; run: chmod 600");
    refused(put("world.key", text, 0604), "mode 0604 lets group or others");
    refused(dir, ": not a regular file");
    CHECK(mkfifo(in_dir("fifo.key"), 0600) == 0);
    refused(in_dir("fifo.key"), "fifo.key: not a regular file");
}

static void test_malformed(void)
{
    char text[2048];
    key_text(text, sizeof text, "h", "secret_key: x\n");
    refused(put("twice.key", text, 0600),
            "twice.key:7: malformed: secret_key given twice");
    key_text(text, sizeof text, "h", "colour: blue\n");
    refused(put("unknown.key", text, 0600),
            "unknown.key:7: malformed: unknown key 'colour'");
    key_text(text, sizeof text, "h", "just words\n");
    refused(put("words.key", text, 0600),
            "words.key:7: malformed: expected 'KEY: VALUE'");
    refused(put("nosecret.key", "host: h\npublic_key: "
                "GlcqYX9.E@rVS16winX0&}6ndP-JzdFefn=s0-&A\n", 0600),
            "nosecret.key: malformed: no secret_key line");
    refused(put("badz85.key", "host: h\npublic_key: \"GlcqYX9.E@rVS16winX0&}"
                "6ndP-JzdFefn=s0-&A\"\nsecret_key: short\n", 0600),
            "badz85.key: malformed: secret_key is not 40 Z85 characters");
    refused(put("badpub.key", "host: h\npublic_key: ~~~~~\nsecret_key: x\n",
                0600),
            "badpub.key: malformed: public_key is not 40 Z85 characters");
    refused(put("empty.key", "", 0600), "empty.key: malformed: no host line");
}

/* The public key of one file with the secret key of another. */
static void test_mismatched_pair(void)
{
    keys_secret a, b;
    char err[AB_ERRLEN], text[1024];
    char sec[KEYS_Z85_LEN + 1];
    keys_generate("h", &a, err, sizeof err);
    keys_generate("h", &b, err, sizeof err);
    zmq_z85_encode(sec, b.secret_key, KEYS_LEN);
    snprintf(text, sizeof text, "# mixed up\nhost: h\npublic_key: %s\n"
             "secret_key: %s\n", a.public_z85, sec);
    refused(put("mixed.key", text, 0600),
            "mixed.key: public_key does not belong to secret_key");
}

/* A registry with hosts h (public_key pub, next_public_key next when not
 * NULL) and g (no key), loaded from a temporary file. */
static registry *registry_with(const char *pub, const char *next)
{
    char text[1024], err[AB_ERRLEN];
    registry *reg = NULL;
    snprintf(text, sizeof text,
             "hosts:\n  h:\n    public_key: \"%s\"\n%s%s%s  g: {}\n"
             "services: {}\n",
             pub, next ? "    next_public_key: \"" : "", next ? next : "",
             next ? "\"\n" : "");
    CHECK(registry_load(put("reg.yaml", text, 0600), &reg, err, sizeof err) ==
          AB_OK);
    return reg;
}

static void test_registry_match(void)
{
    keys_secret k, other;
    char err[AB_ERRLEN], path[160];
    snprintf(path, sizeof path, "%s", in_dir("h.key"));
    CHECK(keys_generate("h", &k, err, sizeof err) == AB_OK);
    CHECK(keys_generate("h", &other, err, sizeof err) == AB_OK);
    registry *mine = registry_with(k.public_z85, NULL);
    registry *theirs = registry_with(other.public_z85, NULL);
    registry *rotating = registry_with(other.public_z85, k.public_z85);
    if (!mine || !theirs || !rotating)
        return;
    CHECK(keys_check_registry(&k, mine, "h", path, err, sizeof err) == AB_OK);
    CHECK(keys_check_registry(&k, rotating, "h", path, err, sizeof err) ==
          AB_OK);
    CHECK(keys_check_registry(&k, theirs, "h", path, err, sizeof err) ==
          AB_ERR);
    CHECK_STR_CONTAINS(err, "h.key: its public key");
    CHECK_STR_CONTAINS(err, "does not match hosts.h.public_key in");
    CHECK(keys_check_registry(&k, mine, "g", path, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, "h.key is the key of host h, but this broker "
                            "runs as host g");
    snprintf(k.host, sizeof k.host, "g");
    CHECK(keys_check_registry(&k, mine, "g", path, err, sizeof err) == AB_ERR);
    CHECK_STR_CONTAINS(err, "hosts.g has no public_key; add this line under "
                            "it: public_key: \"");
    snprintf(k.host, sizeof k.host, "nowhere");
    CHECK(keys_check_registry(&k, mine, "nowhere", path, err, sizeof err) ==
          AB_ERR);
    CHECK_STR_CONTAINS(err, "host nowhere is not in");
    registry_free(mine);
    registry_free(theirs);
    registry_free(rotating);
    keys_wipe(&k);
    keys_wipe(&other);
}

static void test_fingerprint(void)
{
    uint8_t key[KEYS_LEN] = {0};
    char fp[KEYS_FINGERPRINT_LEN];
    keys_fingerprint(key, fp);
    /* SHA-256 of 32 zero bytes starts 66687aadf862bd77. */
    CHECK(strcmp(fp, "sha256:66687aadf862bd77") == 0);
}

int main(void)
{
    char err[AB_ERRLEN];
    snprintf(dir, sizeof dir, "/tmp/test_keys.XXXXXX");
    if (!mkdtemp(dir) || keys_curve_available(err, sizeof err) != AB_OK) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    test_generate_write_load();
    test_file_refusals();
    test_malformed();
    test_mismatched_pair();
    test_registry_match();
    test_fingerprint();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE();
}
