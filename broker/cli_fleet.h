/*
 * cli_fleet.h: what `agentbus top` and `agentbus stats` show: the snapshot
 * documents (docs/stats.md) of one host, from its /stats.json, or of every
 * host of a fleet, from Redis (the host index and each host's snapshot
 * key), parsed into rows of services and links and rendered as a table
 * that fits the terminal width (80 columns at least).
 */
#ifndef AB_CLI_FLEET_H
#define AB_CLI_FLEET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FLEET_DEFAULT_TIMEOUT_MS 3000

typedef struct fleet_source {
    const char *http;          /* ADDR:PORT, used when redis is NULL */
    const char *redis;         /* redis://[USER@]HOST[:PORT][/DB] */
    const char *password_file; /* else $AGENTBUS_REDIS_PASSWORD */
    unsigned timeout_ms;
} fleet_source;

typedef enum fleet_sort { SORT_P99, SORT_RPS, SORT_ERRORS, SORT_NAME } fleet_sort;

typedef struct fleet_row {
    char host[72], name[192];
    int link;                  /* a cross-host link, not a service */
    double rps, eps, p50_us, p99_us;
    uint64_t errors, inflight, queued;
} fleet_row;

typedef struct fleet_host {
    char host[72], version[32], why[160];
    int ready;
} fleet_host;

typedef struct fleet {
    char **docs;               /* the raw JSON documents, one per host */
    size_t *doclens;
    size_t ndocs;
    fleet_host *hosts;
    size_t nhosts;
    fleet_row *rows;
    size_t nrows;
} fleet;


/* One option of stats/top into src or sort: 'H' --http, 'R' --redis,
 * 'P' --redis-password-file, 'T' --timeout-ms, 'S' --sort. AB_ERR: a bad
 * value or an option that is none of these. */
int cli_fleet_option(int opt, const char *arg, fleet_source *src, fleet_sort *sort);

/* Fetch and parse. AB_ERR: nothing could be read (err says why); a host
 * whose document does not parse is skipped with a note in err. */
int fleet_fetch(const fleet_source *src, fleet *f, char *err, size_t errlen);
void fleet_free(fleet *f);
void fleet_sort_rows(fleet *f, fleet_sort by);
/* The table, width columns wide, with at most max_rows rows of services
 * and links (0: all); lines end with eol ("\n", or "\033[K\n" in top). */
void fleet_render(const fleet *f, FILE *out, int width, size_t max_rows, const char *eol);
/* {"hosts":[doc, ...]}: every host's document verbatim. */
void fleet_print_json(const fleet *f, FILE *out);

#endif
