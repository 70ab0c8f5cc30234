/*
 * cli_http.h: the `agentbus` tool's HTTP client: one GET to agentbusd's
 * endpoint, bounded in time and size. Enough for /healthz and /stats.json;
 * it speaks HTTP/1.0 with Connection: close, so the response ends at EOF.
 */
#ifndef AB_CLI_HTTP_H
#define AB_CLI_HTTP_H

#include <stddef.h>

#define CLI_HTTP_DEFAULT "127.0.0.1:7780" /* agentbusd's default --http */
#define CLI_HTTP_MAX_BYTES (64u << 20)

/* The endpoint the tool talks to: --http, else $AGENTBUS_HTTP, else the
 * default. */
const char *cli_http_addr(const char *opt);

/* GET path from addr ("HOST:PORT", "[V6]:PORT"), all within timeout_ms.
 * AB_OK: *status and *body (malloc'd, NUL-terminated, *len bytes) are set.
 * AB_ERR: err says what failed (connect, timeout, malformed response). */
int cli_http_get(const char *addr, const char *path, unsigned timeout_ms, int *status,
                 char **body, size_t *len, char *err, size_t errlen);

#endif
