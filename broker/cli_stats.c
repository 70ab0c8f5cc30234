/*
 * cli_stats.c: `agentbus stats`, the table of `agentbus top` printed once,
 * or every snapshot as JSON for scripts: from one broker's HTTP endpoint
 * or, with --redis, from every broker of a fleet.
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
