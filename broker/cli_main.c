/*
 * cli_main.c: the `agentbus` tool's entry point. It only dispatches to the
 * subcommands declared in cli.h and prints usage and version.
 */
#include "cli.h"

#include "common.h"

#include <stdio.h>
#include <string.h>

/* Set from project(VERSION) by the build; the fallback keeps a bare
 * compiler invocation working. */
typedef struct subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *example;
} subcommand;

static const subcommand subcommands[] = {
    {"check", cli_check, "validate a registry file and print its port table",
     "agentbus check deploy/registry.example.yaml"},
    {"keygen", cli_keygen, "make a host's CURVE key pair for the links",
     "agentbus keygen gpubox --out gpubox.key"},
    {"json2mp", cli_json2mp, "transcode a JSON body to msgpack (stdin/stdout by default)",
     "agentbus json2mp request.json request.mp"},
    {"mp2json", cli_mp2json, "transcode a msgpack body to JSON (stdin/stdout by default)",
     "agentbus mp2json request.mp"},
    {"stats", cli_stats, "print every service's req/s, p50, p99, errors once (or --json)",
     "agentbus stats --http 127.0.0.1:7780"},
    {"top", cli_top, "live table of services and links, one host or the fleet (Redis)",
     "agentbus top --redis redis://10.0.0.5:6379/0"},
    {"health", cli_health, "exit 0 if agentbusd is alive (/healthz), for health checks",
     "agentbus health --http 127.0.0.1:7780"},
    {"migrate", cli_migrate, "propose a registry and per-agent changes from compose files",
     "agentbus migrate mainpc=docker-compose.yml -o registry.yaml"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: agentbus COMMAND [ARGS...]\n"
                 "       agentbus --help | --version\n\ncommands:\n");
    for (size_t i = 0; i < AB_ARRAY_LEN(subcommands); i++)
        fprintf(out, "  %-8s %s\n           e.g. %s\n", subcommands[i].name,
                subcommands[i].summary, subcommands[i].example);
    fprintf(out, "\n'agentbus COMMAND --help' describes one command.\n");
}

/* Exit codes follow cli.h: 0 success, 1 input rejected, 2 usage error. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("agentbus %s\n", AB_VERSION);
        return 0;
    }
    for (size_t i = 0; i < AB_ARRAY_LEN(subcommands); i++)
        if (strcmp(argv[1], subcommands[i].name) == 0)
            return subcommands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "agentbus: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
