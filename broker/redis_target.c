/* redis_target.c: the Redis URL and password (see redis_target.h). */
#include "redis_target.h"

#include "common.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* [USER@] at the start of s: copied to t->user; returns what follows. */
static const char *parse_user(redis_target *t, const char *s, char *why, size_t len)
{
    const char *at = strchr(s, '@');
    if (!at)
        return s;
    if (memchr(s, ':', (size_t)(at - s))) {
        ab_seterr(why, len, "no password in the URL (it would show in ps): use "
                  "$AGENTBUS_REDIS_PASSWORD or a password file");
        return NULL;
    }
    if ((size_t)(at - s) >= sizeof t->user) {
        ab_seterr(why, len, "user name too long");
        return NULL;
    }
    memcpy(t->user, s, (size_t)(at - s));
    return at + 1;
}

/* HOST[:PORT][/DB] */
static int parse_hostpart(redis_target *t, const char *s, char *why, size_t len)
{
    char *end;
    size_t n = strcspn(s, ":/");
    if (n == 0 || n >= sizeof t->host)
        return ab_seterr(why, len, "no host, or a host name too long");
    memcpy(t->host, s, n);
    s += n;
    t->port = REDIS_DEFAULT_PORT;
    if (*s == ':') {
        long port = strtol(s + 1, &end, 10);
        if (end == s + 1 || (*end && *end != '/') || port < 1 || port > 65535)
            return ab_seterr(why, len, "bad port");
        t->port = (int)port;
        s = end;
    }
    if (*s == '/' && s[1]) {
        long db = strtol(s + 1, &end, 10);
        if (*end || db < 0 || db > 1000000)
            return ab_seterr(why, len, "bad database number");
        t->db = (int)db;
    }
    return AB_OK;
}

static int read_password(redis_target *t, const char *file, char *err, size_t errlen)
{
    char buf[REDIS_PASSWORD_MAX + 2];
    struct stat st;
    const char *env = getenv("AGENTBUS_REDIS_PASSWORD");
    if (!file) {
        if (env && strlen(env) > REDIS_PASSWORD_MAX)
            return ab_seterr(err, errlen, "$AGENTBUS_REDIS_PASSWORD is longer than %d bytes",
                             REDIS_PASSWORD_MAX);
        snprintf(t->password, sizeof t->password, "%s", env ? env : "");
        return AB_OK;
    }
    FILE *f = fopen(file, "r");
    if (!f)
        return ab_seterr(err, errlen, "redis password file %s: %s", file, strerror(errno));
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
        log_warn("redis password file %s is readable by group or others", file);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    int rc = n > REDIS_PASSWORD_MAX || !buf[0]
                 ? ab_seterr(err, errlen, "redis password file %s: %s", file,
                             buf[0] ? "longer than 512 bytes" : "empty")
                 : AB_OK;
    if (rc == AB_OK)
        memcpy(t->password, buf, strlen(buf) + 1); /* at most REDIS_PASSWORD_MAX */
    memset(buf, 0, sizeof buf);
    return rc;
}

int redis_target_init(redis_target *t, const char *url, const char *password_file,
                      char *err, size_t errlen)
{
    char why[AB_ERRLEN] = "expected redis://[USER@]HOST[:PORT][/DB]";
    const char *s = url;
    memset(t, 0, sizeof *t);
    if (strncmp(s, "redis://", 8) != 0 || !(s = parse_user(t, s + 8, why, sizeof why)) ||
        parse_hostpart(t, s, why, sizeof why) != AB_OK) {
        redis_target_clear(t);
        /* Never echo a URL that may hold credentials into a log. */
        return strchr(url, '@') ? ab_seterr(err, errlen, "redis URL: %s", why)
                                : ab_seterr(err, errlen, "redis URL '%s': %s", url, why);
    }
    ab_strfmt(t->addr, sizeof t->addr, "%s:%d", t->host, t->port);
    if (read_password(t, password_file, err, errlen) != AB_OK) {
        redis_target_clear(t);
        return AB_ERR;
    }
    return AB_OK;
}

void redis_target_clear(redis_target *t)
{
    volatile char *p = t->password;
    for (size_t i = 0; i < sizeof t->password; i++)
        p[i] = 0;
}
