/*
 * log.h: one-line logs to stderr.
 *
 * Every line is "TIMESTAMP LEVEL message", the message written as
 * "event key=value ..." so that people can read it and tools can grep it.
 * Lines below the configured level cost one integer compare.
 */
#ifndef AB_LOG_H
#define AB_LOG_H

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level level);
int log_parse_level(const char *name, log_level *out); /* AB_OK / AB_ERR */
void log_write(log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Log each line of a multi-line text as its own event, after prefix.
 * Modifies text. */
void log_lines(log_level level, const char *prefix, char *text);

#define log_debug(...) log_write(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

#endif
