/*
 * cli_stats.c: `agentbus stats` (the table once, or JSON for scripts) and
 * `agentbus health` (exit 0/1 from /healthz or /readyz, for container
 * health checks: no curl needed). Both read agentbusd's HTTP endpoint;
 * `stats` can read a whole fleet from Redis instead.
 */
#include "cli.h"

#include "cli_fleet.h"
#include "cli_http.h"
#include "common.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void stats_usage(FILE *out)
{
    fprintf(out,
            "usage: agentbus stats [--http ADDR:PORT | --redis URL] [--json] [options]\n"
            "\n"
            "Print every service (and cross-host link) once: req/s, p50, p99, errors,\n"
            "in flight. From one broker's /stats.json, or with --redis from every\n"
            "broker of the fleet that pushes to that Redis.\n"
            "  --http ADDR:PORT   the broker's HTTP endpoint (default $AGENTBUS_HTTP,\n"
            "                     else %s)\n"
            "  --redis URL        redis://[USER@]HOST[:PORT][/DB]; the password comes\n"
            "                     from $AGENTBUS_REDIS_PASSWORD or --redis-password-file\n"
            "  --redis-password-file FILE\n"
            "  --json             print {\"hosts\":[SNAPSHOT...]} (docs/stats.md)\n"
            "  --sort KEY         p99 (default), rps, errors or name\n"
            "  --timeout-ms N     give up after N ms (default %d)\n"
            "exit: 0 printed; 1 the broker or Redis could not be read; 2 usage\n"
            "\n"
            "example: agentbus stats --redis redis://10.0.0.5:6379/0\n",
            CLI_HTTP_DEFAULT, FLEET_DEFAULT_TIMEOUT_MS);
}

int cli_stats(int argc, char **argv)
{
    static const struct option opts[] = {
        {"http", required_argument, NULL, 'H'}, {"redis", required_argument, NULL, 'R'},
        {"redis-password-file", required_argument, NULL, 'P'},
        {"timeout-ms", required_argument, NULL, 'T'}, {"sort", required_argument, NULL, 'S'},
        {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    fleet_source src = {.timeout_ms = FLEET_DEFAULT_TIMEOUT_MS};
    fleet_sort sort = SORT_P99;
    int opt, json = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            stats_usage(stdout);
            return 0;
        }
        if (opt == 'j')
            json = 1;
        else if (cli_fleet_option(opt, optarg, &src, &sort) != AB_OK) {
            stats_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        stats_usage(stderr);
        return 2;
    }
    src.http = cli_http_addr(src.http);
    fleet f;
    char err[AB_ERRLEN] = "";
    if (fleet_fetch(&src, &f, err, sizeof err) != AB_OK) {
        fprintf(stderr, "agentbus stats: %s\n", err);
        fleet_free(&f);
        return 1;
    }
    if (err[0])
        fprintf(stderr, "agentbus stats: %s\n", err);
    fleet_sort_rows(&f, sort);
    if (json)
        fleet_print_json(&f, stdout);
    else
        fleet_render(&f, stdout, 80, 0, "\n");
    fleet_free(&f);
    return 0;
}

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
