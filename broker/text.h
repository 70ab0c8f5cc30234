/*
 * text.h: appending text to a bounded ab_buf (proto/transcode.h), for the
 * renderers of /metrics, /stats.json and the Redis batch.
 *
 * Errors are sticky: once an append fails (the buffer's max would be
 * passed, or out of memory), every later append on that buffer is a no-op
 * and text_ok() says so, so a renderer checks once at the end.
 */
#ifndef AB_TEXT_H
#define AB_TEXT_H

#include "transcode.h"

#include <stdarg.h>
#include <stddef.h>

typedef struct text_buf {
    ab_buf b;
    int failed;
} text_buf;

void text_init(text_buf *t, size_t max);
void text_free(text_buf *t);
void text_reset(text_buf *t); /* empty again, keeping the memory */
int text_ok(const text_buf *t); /* AB_OK or AB_ERR */
/* Hand the bytes over (NUL-terminated; caller frees); t is empty after. */
char *text_take(text_buf *t, size_t *len);

void text_add(text_buf *t, const char *s, size_t n);
void text_puts(text_buf *t, const char *s);
void text_printf(text_buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s as a JSON string, quotes included. */
void text_json_str(text_buf *t, const char *s);
/* s as a Prometheus label value, quotes included. */
void text_prom_str(text_buf *t, const char *s);

#endif
