/*
 * cli_keygen.c: `agentbus keygen NAME`, which makes the CURVE key pair of
 * one host's broker: the secret key file (mode 0600) for agentbusd
 * --secret-key, and the public key with the registry lines to paste.
 */
#include "cli.h"

#include "common.h"
#include "keys.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define KEYGEN_PATH_MAX 4096

static void keygen_usage(FILE *out)
{
    fprintf(out,
            "usage: agentbus keygen NAME [--out FILE] [--force]\n"
            "\n"
            "Make the CURVE key pair of host NAME's broker (the links between\n"
            "brokers are encrypted and authenticated with it).\n"
            "  --out FILE  where the secret key goes (default NAME.key); it is\n"
            "              created with mode 0600 and never overwritten...\n"
            "  --force     ...unless this is given (the old key is replaced\n"
            "              atomically; peers refuse it until the registry\n"
            "              lists the new public key: see docs/links.md)\n"
            "Prints the public key and the lines to paste under hosts: in the\n"
            "registry. Copy the secret key file to host NAME only, and start\n"
            "its broker with: agentbusd --secret-key FILE ...\n"
            "exit: 0 written; 1 not written (stderr says why); 2 usage error\n"
            "\n"
            "example: agentbus keygen gpubox --out /etc/agentbus/gpubox.key\n");
}

/* Options into *out and *force; -1 to go on, else the exit code. */
static int keygen_parse(int argc, char **argv, const char **name,
                        const char **out, bool *force)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:fh", longopts, NULL)) != -1) {
        if (opt == 'h') {
            keygen_usage(stdout);
            return 0;
        }
        if (opt == 'o')
            *out = optarg;
        else if (opt == 'f')
            *force = true;
        else
            break;
    }
    if (opt != -1 || argc - optind != 1) {
        keygen_usage(stderr);
        return 2;
    }
    *name = argv[optind];
    return -1;
}

static void print_result(const keys_secret *k, const char *path)
{
    char fp[KEYS_FINGERPRINT_LEN];
    keys_fingerprint(k->public_key, fp);
    printf("wrote the secret key of host %s to %s (mode 0600): copy it to\n"
           "that host only and start its broker with --secret-key FILE\n\n",
           k->host, path);
    printf("public key:  %s\nfingerprint: %s\n\n", k->public_z85, fp);
    printf("registry lines (under hosts:; set the link address):\n"
           "  %s:\n"
           "    link: tcp://ADDRESS:7700\n"
           "    public_key: \"%s\"\n",
           k->host, k->public_z85);
}

int cli_keygen(int argc, char **argv)
{
    const char *name = NULL, *out = NULL;
    char path[KEYGEN_PATH_MAX], err[AB_ERRLEN];
    bool force = false;
    keys_secret k;
    int rc = keygen_parse(argc, argv, &name, &out, &force);
    if (rc >= 0)
        return rc;
    if (!out && (size_t)snprintf(path, sizeof path, "%s.key", name) <
                    sizeof path)
        out = path;
    rc = out && keys_generate(name, &k, err, sizeof err) == AB_OK &&
                 keys_write(out, &k, force, err, sizeof err) == AB_OK
             ? 0
             : 1;
    if (rc == 0)
        print_result(&k, out);
    else
        fprintf(stderr, "agentbus keygen: %s\n", out ? err : "name too long");
    keys_wipe(&k);
    return rc;
}
