/* text.c: bounded text building on ab_buf (see text.h). */
#include "text.h"

#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void text_init(text_buf *t, size_t max)
{
    ab_buf_init(&t->b, max);
    t->failed = 0;
}

void text_free(text_buf *t)
{
    ab_buf_free(&t->b);
    t->failed = 0;
}

void text_reset(text_buf *t)
{
    t->b.len = 0;
    t->failed = 0;
}

int text_ok(const text_buf *t) { return t->failed ? AB_ERR : AB_OK; }

char *text_take(text_buf *t, size_t *len)
{
    text_add(t, "", 1); /* the NUL, not counted in len */
    if (t->failed)
        return NULL;
    char *s = (char *)t->b.data;
    *len = t->b.len - 1;
    ab_buf_init(&t->b, t->b.max);
    return s;
}

/* Room for n more bytes, or a sticky failure. */
static int reserve(text_buf *t, size_t n)
{
    if (!t->failed && t->b.cap - t->b.len < n && ab_buf_grow(&t->b, n) != AB_TC_OK)
        t->failed = 1;
    return !t->failed;
}

void text_add(text_buf *t, const char *s, size_t n)
{
    if (reserve(t, n)) {
        memcpy(t->b.data + t->b.len, s, n);
        t->b.len += n;
    }
}

void text_puts(text_buf *t, const char *s) { text_add(t, s, strlen(s)); }

void text_printf(text_buf *t, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        text_add(t, small, (size_t)n);
        return;
    }
    if (!reserve(t, (size_t)n + 1))
        return;
    va_start(ap, fmt);
    vsnprintf((char *)t->b.data + t->b.len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->b.len += (size_t)n;
}

void text_json_str(text_buf *t, const char *s)
{
    text_add(t, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            text_printf(t, "\\%c", c);
        else if (c < 0x20)
            text_printf(t, "\\u%04x", c);
        else
            text_add(t, s, 1);
    }
    text_add(t, "\"", 1);
}

void text_prom_str(text_buf *t, const char *s)
{
    text_add(t, "\"", 1);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            text_printf(t, "\\%c", *s);
        else if (*s == '\n')
            text_puts(t, "\\n");
        else
            text_add(t, s, 1);
    }
    text_add(t, "\"", 1);
}
