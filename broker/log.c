/* log.c: the logger (see log.h for the line format). */
#include "log.h"

#include "common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static log_level min_level = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level level) { min_level = level; }

int log_parse_level(const char *name, log_level *out)
{
    for (size_t i = 0; i < AB_ARRAY_LEN(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (log_level)i;
            return AB_OK;
        }
    }
    return AB_ERR;
}

void log_write(log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char line[2048], ts[32];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent writers never interleave. */
    fprintf(stderr, "%s.%03dZ %-5s %s\n", ts, (int)(tv.tv_usec / 1000),
            level_names[level], line);
}

void log_lines(log_level level, const char *prefix, char *text)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save))
        log_write(level, "%s%s", prefix, line);
}
