/*
 * test_registry_diff.c: agentbus.h's registry reader against the broker's
 * loader (broker/registry.c, libyaml), on every registry file given.
 *
 * For a file the broker accepts, each service's port and backends as read
 * by the header must be the broker's, or the header must refuse the lookup
 * (AB_EREGISTRY): it may never read something else. A file given as
 * "must:PATH" may not be refused at all (the registries we ship and
 * document). For a file the broker rejects, the header may answer anything
 * but must not crash (the sanitizers watch).
 *
 *   test_registry_diff [must:]FILE_OR_DIR...
 */
#define AGENTBUS_IMPLEMENTATION
#include "agentbus.h"
#include "check.h"
#include "common.h"
#include "registry.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int files, accepted, compared, refused;

/* The header's answer for one service must agree with the broker's. */
static void compare(const char *path, const reg_service *s, int must, ab_service_info *info)
{
    ab_error e;
    size_t i;
    int same;
    int rc = ab_registry_lookup(path, s->name, info, &e);
    compared++;
    if (rc != AB_OK) {
        refused++;
        CHECK(rc == AB_EREGISTRY);
        CHECK(!must);
        if (must)
            fprintf(stderr, "  %s: refused %s: %s\n", path, s->name, e.message);
        return;
    }
    same = info->port == s->port && info->nbackends == s->nbackends;
    for (i = 0; same && i < s->nbackends; i++)
        same = strcmp(info->backends[i], s->backends[i]) == 0;
    CHECK(same);
    if (!same)
        fprintf(stderr, "  %s: %s read differently (port %d vs %d)\n", path, s->name,
                info->port, s->port);
}

/* Names a rejected file might hold a service under. */
static void poke(const char *path, ab_service_info *info)
{
    static const char *const names[] = {"a", "b", "s", "translation", "summarizer", "echo"};
    ab_error e;
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++) {
        int rc = ab_registry_lookup(path, names[i], info, &e);
        CHECK(rc == AB_OK || rc == AB_EREGISTRY);
    }
}

static void check_file(const char *path, int must, ab_service_info *info)
{
    char err[4096];
    registry *reg = NULL;
    size_t i;
    files++;
    if (registry_load(path, &reg, err, sizeof err) != AB_OK) {
        CHECK(!must);
        poke(path, info);
        return;
    }
    accepted++;
    for (i = 0; i < reg->nservices; i++)
        compare(path, &reg->services[i], must, info);
    registry_free(reg);
}

static void check_path(const char *path, int must, ab_service_info *info)
{
    struct stat st;
    DIR *d;
    struct dirent *ent;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "test_registry_diff: %s: missing\n", path);
        CHECK(0);
        return;
    }
    if (!S_ISDIR(st.st_mode)) {
        check_file(path, must, info);
        return;
    }
    if (!(d = opendir(path)))
        return;
    while ((ent = readdir(d)) != NULL) {
        char sub[4096];
        if (ent->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, ent->d_name);
        check_path(sub, must, info);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    ab_service_info *info = malloc(sizeof *info);
    int i;
    if (!info)
        return 1;
    for (i = 1; i < argc; i++) {
        int must = strncmp(argv[i], "must:", 5) == 0;
        check_path(argv[i] + (must ? 5 : 0), must, info);
    }
    free(info);
    printf("%d files, %d accepted by the broker, %d services compared, %d refused by the "
           "header\n", files, accepted, compared, refused);
    CHECK(files > 0 && compared > 0);
    return CHECK_DONE();
}
