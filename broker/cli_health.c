/*
 * cli_health.c: `agentbus health`, exit 0 or 1 from agentbusd's /healthz
 * (or /readyz): a container health check that needs no curl, makes one
 * request and is bounded in time.
 */
#include "cli.h"

#include "cli_fleet.h"
#include "cli_http.h"
#include "common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void health_usage(FILE *out)
{
    fprintf(out,
            "usage: agentbus health [--http ADDR:PORT] [--ready] [--timeout-ms N]\n"
            "\n"
            "Ask agentbusd whether it is alive (GET /healthz) or, with --ready, ready\n"
            "to serve (GET /readyz: every service bound, not draining). For container\n"
            "health checks: no curl needed, one request, bounded in time.\n"
            "  --http ADDR:PORT   the broker's HTTP endpoint (default $AGENTBUS_HTTP,\n"
            "                     else %s)\n"
            "  --ready            check readiness instead of liveness\n"
            "  --timeout-ms N     give up after N ms (default %d)\n"
            "exit: 0 healthy (or ready); 1 not, or no answer; 2 usage\n"
            "\n"
            "example (Dockerfile): HEALTHCHECK CMD [\"agentbus\", \"health\"]\n",
            CLI_HTTP_DEFAULT, FLEET_DEFAULT_TIMEOUT_MS);
}

int cli_health(int argc, char **argv)
{
    static const struct option opts[] = {
        {"http", required_argument, NULL, 'H'}, {"ready", no_argument, NULL, 'r'},
        {"timeout-ms", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    fleet_source src = {.timeout_ms = FLEET_DEFAULT_TIMEOUT_MS};
    fleet_sort unused;
    const char *path = "/healthz";
    int opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            health_usage(stdout);
            return 0;
        }
        if (opt == 'r')
            path = "/readyz";
        else if (opt == '?' || (opt != 'H' && opt != 'T') ||
                 cli_fleet_option(opt, optarg, &src, &unused) != AB_OK) {
            health_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        health_usage(stderr);
        return 2;
    }
    const char *addr = cli_http_addr(src.http);
    char err[AB_ERRLEN], *body = NULL;
    size_t len;
    int status = 0;
    if (cli_http_get(addr, path, src.timeout_ms, &status, &body, &len, err, sizeof err) != AB_OK) {
        printf("unhealthy: %s\n", err);
        return 1;
    }
    body[strcspn(body, "\n")] = '\0';
    printf("%s: %s (HTTP %d from %s%s)\n", status == 200 ? "healthy" : "unhealthy", body,
           status, addr, path);
    free(body);
    return status == 200 ? 0 : 1;
}
