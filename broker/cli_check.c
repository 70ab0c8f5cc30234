/*
 * cli_check.c: `agentbus check FILE`, the registry linter. It loads FILE
 * with registry_load(), exactly as agentbusd does, and prints either every
 * diagnostic or the tables of what the brokers will do: hosts with their
 * link endpoint and key fingerprint, the link knobs, and the ports.
 */
#include "cli.h"

#include "common.h"
#include "keys.h"
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for every diagnostic registry_load() keeps (it caps their number;
 * the size only matters with very long file names). */
#define CHECK_ERRLEN (64 * 1024)

static void check_usage(FILE *out)
{
    fprintf(out,
            "usage: agentbus check FILE\n"
            "\n"
            "Validate the registry FILE exactly as agentbusd loads it.\n"
            "  valid:   print the hosts (link endpoint, public key\n"
            "           fingerprint, services hosted), the link knobs and\n"
            "           the port table (sorted by port), then\n"
            "           'FILE: ok (N hosts, M services)'; exit 0\n"
            "  invalid: print every problem to stderr as\n"
            "           'FILE:LINE: FIELD: message'; exit 1\n"
            "  usage error: exit 2\n"
            "\n"
            "example: agentbus check /etc/agentbus/registry.yaml\n");
}

static int by_port(const void *a, const void *b)
{
    const reg_service *x = *(const reg_service *const *)a;
    const reg_service *y = *(const reg_service *const *)b;
    return (x->port > y->port) - (x->port < y->port);
}

/* Column width W widened to fit S. */
static int widen(int w, const char *s)
{
    int n = (int)strlen(s);
    return n > w ? n : w;
}

static void print_row(const reg_service *s, int wname, int whost)
{
    printf("%-5d  %-*s  %-*s  %-10d  %-9s  ", s->port, wname, s->name, whost,
           s->host, s->timeout_ms,
           s->transcode == REG_TRANSCODE_AUTO ? "auto" : "off");
    for (size_t i = 0; i < s->nbackends; i++)
        printf("%s%s", i ? "," : "", s->backends[i]);
    putchar('\n');
}

static size_t services_on(const registry *reg, const char *host)
{
    size_t n = 0;
    for (size_t i = 0; i < reg->nservices; i++)
        n += reg->services[i].host && strcmp(reg->services[i].host, host) == 0;
    return n;
}

/* One row per host: its link, the fingerprint of its key (and of the
 * next one during a rotation), how many services it hosts. */
static void print_hosts(const registry *reg)
{
    int wname = (int)strlen("HOST"), wlink = (int)strlen("LINK");
    for (size_t i = 0; i < reg->nhosts; i++) {
        wname = widen(wname, reg->hosts[i].name);
        wlink = widen(wlink, reg->hosts[i].link ? reg->hosts[i].link : "-");
    }
    printf("%-*s  %-*s  %-8s  %-23s  %s\n", wname, "HOST", wlink, "LINK",
           "SERVICES", "KEY", "NEXT_KEY");
    for (size_t i = 0; i < reg->nhosts; i++) {
        const reg_host *h = &reg->hosts[i];
        char fp[KEYS_FINGERPRINT_LEN] = "-", next[KEYS_FINGERPRINT_LEN] = "-";
        if (h->has_key)
            keys_fingerprint(h->public_key, fp);
        if (h->has_next_key)
            keys_fingerprint(h->next_public_key, next);
        printf("%-*s  %-*s  %-8zu  %-23s  %s\n", wname, h->name, wlink,
               h->link ? h->link : "-", services_on(reg, h->name), fp, next);
    }
    const reg_links *l = &reg->links;
    printf("\nlinks: per_peer=%d heartbeat_ms=%d down_ms=%d reconnect_ms=%d "
           "reconnect_max_ms=%d hwm=%d deadline_margin_ms=%d\n\n",
           l->per_peer, l->heartbeat_ms, l->down_ms, l->reconnect_ms,
           l->reconnect_max_ms, l->hwm, l->margin_ms);
}

/* The services of REG sorted by port, in columns sized to fit. Returns
 * the exit code. */
static int print_table(const registry *reg)
{
    const reg_service **sorted =
        calloc(reg->nservices ? reg->nservices : 1, sizeof *sorted);
    int wname = (int)strlen("SERVICE"), whost = (int)strlen("HOST");
    if (!sorted) {
        fprintf(stderr, "agentbus check: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < reg->nservices; i++) {
        sorted[i] = &reg->services[i];
        wname = widen(wname, sorted[i]->name);
        whost = widen(whost, sorted[i]->host);
    }
    qsort(sorted, reg->nservices, sizeof *sorted, by_port);
    printf("%-5s  %-*s  %-*s  %-10s  %-9s  %s\n", "PORT", wname, "SERVICE",
           whost, "HOST", "TIMEOUT_MS", "TRANSCODE", "BACKENDS");
    for (size_t i = 0; i < reg->nservices; i++)
        print_row(sorted[i], wname, whost);
    free(sorted);
    return 0;
}

int cli_check(int argc, char **argv)
{
    static char err[CHECK_ERRLEN];
    registry *reg;
    if (argc == 2 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        check_usage(stdout);
        return 0;
    }
    /* Any other option is a usage error, not a file name. */
    if (argc != 2 || argv[1][0] == '-') {
        check_usage(stderr);
        return 2;
    }
    if (registry_load(argv[1], &reg, err, sizeof err) != AB_OK) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    print_hosts(reg);
    int rc = print_table(reg);
    if (rc == 0)
        printf("%s: ok (%zu hosts, %zu services)\n", argv[1], reg->nhosts,
               reg->nservices);
    registry_free(reg);
    return rc;
}
