/*
 * corpus.h: loads the benchmark corpus written by gen_corpus.py: one message
 * per line, "<class>\t<JSON>". Classes are named by the file, in order of
 * first appearance.
 */
#ifndef AB_BENCH_CORPUS_H
#define AB_BENCH_CORPUS_H

#include "impl.h"

#define CORPUS_MAX_CLASSES 16
#define CORPUS_MAX_CLASS_NAME 32

typedef struct corpus_doc {
    unsigned cls; /* index into corpus.class_names */
    span json;    /* owned by the corpus */
} corpus_doc;

typedef struct corpus {
    corpus_doc *docs;
    size_t n, cap;
    char class_names[CORPUS_MAX_CLASSES][CORPUS_MAX_CLASS_NAME];
    unsigned nclasses;
} corpus;

/* Read every line of `path`; a JSON text longer than max_doc bytes, an
 * unknown-format line or more than CORPUS_MAX_CLASSES classes is an error.
 * On AB_ERR the corpus is left empty. */
int corpus_load(corpus *c, const char *path, size_t max_doc, char *err);
void corpus_free(corpus *c);

#endif
