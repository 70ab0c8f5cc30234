/* corpus.c: parsing and ownership of the benchmark corpus file. */
#include "corpus.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Index of class `name` (len bytes), registering it when new. */
static int class_index(corpus *c, const char *name, size_t len,
                       unsigned *out, char *err)
{
    for (unsigned i = 0; i < c->nclasses; i++) {
        if (strlen(c->class_names[i]) == len &&
            memcmp(c->class_names[i], name, len) == 0) {
            *out = i;
            return AB_OK;
        }
    }
    if (c->nclasses == CORPUS_MAX_CLASSES)
        return ab_seterr(err, AB_ERRLEN, "more than %d message classes",
                         CORPUS_MAX_CLASSES);
    if (len == 0 || len >= CORPUS_MAX_CLASS_NAME)
        return ab_seterr(err, AB_ERRLEN, "class name of %zu bytes", len);
    memcpy(c->class_names[c->nclasses], name, len);
    c->class_names[c->nclasses][len] = '\0';
    *out = c->nclasses++;
    return AB_OK;
}

/* Append a copy of the JSON text, growing the document array by doubling. */
static int push_doc(corpus *c, unsigned cls, const char *json, size_t len,
                    char *err)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        corpus_doc *d = realloc(c->docs, cap * sizeof *d);
        if (!d)
            return ab_seterr(err, AB_ERRLEN, "out of memory");
        c->docs = d;
        c->cap = cap;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return ab_seterr(err, AB_ERRLEN, "out of memory");
    memcpy(copy, json, len);
    c->docs[c->n++] = (corpus_doc){cls, {copy, len}};
    return AB_OK;
}

/* One "<class>\t<JSON>\n" line (the newline may be missing at EOF). */
static int parse_line(corpus *c, const char *line, size_t len, size_t max_doc,
                      char *err)
{
    if (len && line[len - 1] == '\n')
        len--;
    const char *tab = memchr(line, '\t', len);
    if (!tab)
        return ab_seterr(err, AB_ERRLEN, "no tab after the class name");
    const char *json = tab + 1;
    size_t json_len = len - (size_t)(json - line);
    if (json_len > max_doc)
        return ab_seterr(err, AB_ERRLEN, "document of %zu bytes exceeds %zu",
                         json_len, max_doc);
    unsigned cls = 0;
    if (class_index(c, line, (size_t)(tab - line), &cls, err) != AB_OK)
        return AB_ERR;
    return push_doc(c, cls, json, json_len, err);
}

static int read_lines(corpus *c, FILE *f, const char *path, size_t max_doc,
                      char *err)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = AB_OK;
    while (rc == AB_OK && (got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        rc = parse_line(c, line, (size_t)got, max_doc, err);
    }
    free(line);
    if (rc != AB_OK) {
        char why[AB_ERRLEN];
        snprintf(why, sizeof why, "%s", err);
        return ab_seterr(err, AB_ERRLEN, "%s:%zu: %s", path, lineno, why);
    }
    if (ferror(f))
        return ab_seterr(err, AB_ERRLEN, "%s: read error", path);
    if (c->n == 0)
        return ab_seterr(err, AB_ERRLEN, "%s: no documents", path);
    return AB_OK;
}

int corpus_load(corpus *c, const char *path, size_t max_doc, char *err)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "r");
    if (!f)
        return ab_seterr(err, AB_ERRLEN, "%s: %s", path, strerror(errno));
    int rc = read_lines(c, f, path, max_doc, err);
    fclose(f);
    if (rc != AB_OK)
        corpus_free(c);
    return rc;
}

void corpus_free(corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free((void *)c->docs[i].json.p);
    free(c->docs);
    memset(c, 0, sizeof *c);
}
