/*
 * cli_check.c: `agentbus check FILE`, the registry linter. It loads FILE
 * with registry_load(), exactly as agentbusd does, and prints either every
 * diagnostic or the port table the brokers will bind.
 */
#include "cli.h"

#include "common.h"
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
            "  valid:   print the port table (sorted by port), then\n"
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
    printf("%-5d  %-*s  %-*s  %-10d  ", s->port, wname, s->name, whost,
           s->host, s->timeout_ms);
    for (size_t i = 0; i < s->nbackends; i++)
        printf("%s%s", i ? "," : "", s->backends[i]);
    putchar('\n');
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
    printf("%-5s  %-*s  %-*s  %-10s  %s\n", "PORT", wname, "SERVICE", whost,
           "HOST", "TIMEOUT_MS", "BACKENDS");
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
    int rc = print_table(reg);
    if (rc == 0)
        printf("%s: ok (%zu hosts, %zu services)\n", argv[1], reg->nhosts,
               reg->nservices);
    registry_free(reg);
    return rc;
}
