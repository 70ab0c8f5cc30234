/*
 * redis_target.h: where Redis is and how to log in, as agentbusd and the
 * `agentbus` tool both take it: a URL redis://[USER@]HOST[:PORT][/DB]
 * (a password in the URL is refused: it would show in ps), and the
 * password from a file or $AGENTBUS_REDIS_PASSWORD.
 */
#ifndef AB_REDIS_TARGET_H
#define AB_REDIS_TARGET_H

#include <stddef.h>

#define REDIS_DEFAULT_PORT 6379
#define REDIS_PASSWORD_MAX 512

typedef struct redis_target {
    char host[256];
    char user[64];                  /* "" for none */
    int port, db;
    char password[REDIS_PASSWORD_MAX + 1]; /* "" for none */
    char addr[272];                 /* "host:port", for logs and labels */
} redis_target;

/* Parse url and read the password: the first line of password_file if
 * given, else $AGENTBUS_REDIS_PASSWORD, else none. AB_ERR: err says what
 * is wrong (the URL, the file); t is cleared. */
int redis_target_init(redis_target *t, const char *url, const char *password_file,
                      char *err, size_t errlen);
/* Wipe the password from memory. */
void redis_target_clear(redis_target *t);

#endif
