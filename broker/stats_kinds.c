/*
 * stats_kinds.c: the descriptor of every kind of series, generated from
 * the X-macro lists of stats.h. Per kind, two traits are set here: which
 * counters are error outcomes (for services: the third column of
 * SVC_ERRORS, so a new error code is counted with no change here) and
 * whether per-interval points go to a Redis stream.
 */
#include "stats.h"

#include "common.h"
#include "service.h"

#include <stddef.h>

/* Error outcomes per kind: (array, count). */
static const size_t service_errors[] = {
#define SVC_ERROR_INDEX(sym, code, stat) offsetof(svc_stats, stat) / sizeof(uint64_t),
    SVC_ERRORS(SVC_ERROR_INDEX)
#undef SVC_ERROR_INDEX
};
static const size_t link_errors[] = {
    offsetof(link_stats, error_replies) / sizeof(uint64_t),
    offsetof(link_stats, failed) / sizeof(uint64_t),
};
#define ERRORS_broker NULL, 0
#define ERRORS_service service_errors, AB_ARRAY_LEN(service_errors)
#define ERRORS_backend NULL, 0
#define ERRORS_redis NULL, 0
#define ERRORS_http NULL, 0
#define ERRORS_link link_errors, AB_ARRAY_LEN(link_errors)
#define ERRORS_linksrv NULL, 0

/* Kinds whose per-interval points are streamed to Redis. */
#define STREAM_broker 0
#define STREAM_service 1
#define STREAM_backend 0
#define STREAM_redis 0
#define STREAM_http 0
#define STREAM_link 1
#define STREAM_linksrv 0

#define FIELD_DESC(name, type, help) {#name, help, STAT_##type},
#define HIST_DESC(kind, name, help) {#name, help},
#define LABEL_NAME(name) #name,

/* Arrays end with a sentinel so that a kind without histograms is still
 * valid C; counts leave it out. */
#define KIND_ARRAYS(kind, T, STATS, HISTS, LABELS)                         \
    static const stat_field kind##_fields[] = {STATS(FIELD_DESC){0}};      \
    static const hist_field kind##_hists[] = {HISTS(HIST_DESC, kind){0}};  \
    static const char *const kind##_labels[] = {LABELS(LABEL_NAME) NULL};  \
    _Static_assert(sizeof(T) == (AB_ARRAY_LEN(kind##_fields) - 1) * sizeof(uint64_t), \
                   #T " must hold exactly its uint64_t fields");           \
    _Static_assert(AB_ARRAY_LEN(kind##_labels) - 1 <= STATS_MAX_LABELS,    \
                   #kind " has too many labels");
STATS_KINDS(KIND_ARRAYS)

const stats_kind stats_kinds[STATS_NKINDS] = {
#define KIND_ENTRY(kind, T, STATS, HISTS, LABELS)                          \
    [STATS_KIND_##kind] = {#kind, kind##_labels, AB_ARRAY_LEN(kind##_labels) - 1, \
                           kind##_fields, AB_ARRAY_LEN(kind##_fields) - 1,  \
                           kind##_hists, AB_ARRAY_LEN(kind##_hists) - 1,    \
                           ERRORS_##kind, STREAM_##kind},
    STATS_KINDS(KIND_ENTRY)
#undef KIND_ENTRY
};
