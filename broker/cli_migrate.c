/*
 * cli_migrate.c: `agentbus migrate`, the command line around migrate.h:
 * options, reading every input, the plan, and writing the two outputs
 * safely: each is written to a temporary file beside it, the registry is
 * loaded back with registry_load() (what `agentbus check` runs), and only
 * then are they put in place, never over an existing file without --force.
 */
#include "cli.h"

#include "common.h"
#include "keys.h"
#include "migrate.h"
#include "registry.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIG_ERRLEN (64 * 1024)
#define MIG_DEFAULT_BROKER "agentbus"
#define CHANGES_SUFFIX ".changes.txt"
#define NAME_CHARS                                                          \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

typedef struct mig_args {
    mig_opts opts;
    const char *output;
    const char *changes;
    char *changes_default;
    bool force;
    const char *skip[MIG_MAX_INPUTS];
    const char *addresses[MIG_MAX_ADDRESSES];
    size_t naddresses;
    char **inputs;
    int ninputs;
} mig_args;

static void migrate_usage(FILE *out)
{
    fprintf(out,
"usage: agentbus migrate [options] INPUT... -o REGISTRY\n"
"\n"
"Propose a registry for a fleet from what it runs today, and list what each\n"
"agent's configuration must change to go through the broker. Agents keep\n"
"their ports where unique; agents sharing a port are all reported and all\n"
"but the first get free ports. The registry passes `agentbus check`.\n"
"\n"
"INPUT is HOST=FILE, or FILE for an agent list that names its hosts:\n"
"  a docker-compose file   each service with a TCP port (ports:, expose:) is\n"
"                          an agent running on HOST (required)\n"
"  an agent list           agents: [{name, port, host, env}, ...], or\n"
"                          hosts: {HOST: {agents: [...]}}\n"
"  (the shapes, with examples: docs/deploy.md)\n"
"\n"
"  -o, --output FILE       the proposed registry (required)\n"
"      --changes FILE      the per-agent change list (default: FILE with\n"
"                          .yaml replaced by " CHANGES_SUFFIX ")\n"
"      --force             overwrite output files that exist\n"
"      --broker-name NAME  the broker's compose service name, which compose\n"
"                          agents connect to (default " MIG_DEFAULT_BROKER ")\n"
"      --port-base N       first port given to agents whose port collided\n"
"                          (default: one above the highest port in use)\n"
"      --keys DIR          fleets on several hosts: where each host's link\n"
"                          key is (DIR/HOST.key, made if missing, mode 0600)\n"
"      --link-port N       the port of every host's link (default %d)\n"
"      --address HOST=ADDR another name or address clients use for HOST, so\n"
"                          their variables are found (repeatable)\n"
"      --skip NAME         leave compose service NAME out (repeatable)\n"
"  -h, --help              this text\n"
"\n"
"exit: 0 written; 1 an input was rejected (every problem is printed as\n"
"      FILE:LINE: message) or an output could not be written; 2 usage error\n"
"\n"
"example: agentbus migrate mainpc=docker-compose.yml gpubox=agents.yaml \\\n"
"             -o registry.yaml --keys keys/\n", MIG_DEFAULT_LINK_PORT);
}

/* Applies one option; false (said on stderr) if its value is bad. */
static bool set_option(mig_args *a, int opt, const char *arg)
{
    char *end;
    long v;
    switch (opt) {
    case 'o': a->output = arg; return true;
    case 'c': a->changes = arg; return true;
    case 'f': a->force = true; return true;
    case 'b':
        a->opts.broker_name = arg;
        if (mig_dns_name(arg) && strlen(arg) <= 64)
            return true;
        fprintf(stderr, "agentbus migrate: --broker-name: '%s' is not a DNS name\n", arg);
        return false;
    case 'p':
    case 'l':
        errno = 0;
        v = strtol(arg, &end, 10);
        *(opt == 'p' ? &a->opts.port_base : &a->opts.link_port) = (int)v;
        if (!errno && end != arg && !*end && v >= 1 && v <= 65535)
            return true;
        fprintf(stderr, "agentbus migrate: --%s: '%s' is not a port\n",
                opt == 'p' ? "port-base" : "link-port", arg);
        return false;
    case 'k': a->opts.keys_dir = arg; return true;
    case 'a':
        if (a->naddresses < MIG_MAX_ADDRESSES && strchr(arg, '=') &&
            strchr(arg, '=') != arg && strchr(arg, '=')[1]) {
            a->addresses[a->naddresses++] = arg;
            return true;
        }
        fprintf(stderr, "agentbus migrate: --address: expected HOST=ADDR (at most %d)\n",
                MIG_MAX_ADDRESSES);
        return false;
    default: /* 's' */
        if (a->opts.nskip < MIG_MAX_INPUTS) {
            a->skip[a->opts.nskip++] = arg;
            return true;
        }
        fprintf(stderr, "agentbus migrate: --skip: at most %d\n", MIG_MAX_INPUTS);
        return false;
    }
}

/* REGISTRY with .yaml/.yml replaced by CHANGES_SUFFIX (added otherwise). */
static char *default_changes(const char *reg_path)
{
    size_t n = strlen(reg_path);
    const char *dot = strrchr(reg_path, '.');
    if (dot && (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0))
        n = (size_t)(dot - reg_path);
    char *out = malloc(n + sizeof CHANGES_SUFFIX);
    if (out)
        snprintf(out, n + sizeof CHANGES_SUFFIX, "%.*s%s", (int)n, reg_path,
                 CHANGES_SUFFIX);
    return out;
}

/* Options into A; -1 to go on, else the exit code (0 for --help). */
static int parse_args(int argc, char **argv, mig_args *a)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"changes", required_argument, NULL, 'c'},
        {"force", no_argument, NULL, 'f'},
        {"broker-name", required_argument, NULL, 'b'},
        {"port-base", required_argument, NULL, 'p'},
        {"keys", required_argument, NULL, 'k'},
        {"link-port", required_argument, NULL, 'l'},
        {"address", required_argument, NULL, 'a'},
        {"skip", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    a->opts.broker_name = MIG_DEFAULT_BROKER;
    a->opts.link_port = MIG_DEFAULT_LINK_PORT;
    a->opts.skip = a->skip;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        if (opt == 'h') {
            migrate_usage(stdout);
            return 0;
        }
        if (opt == '?' || !set_option(a, opt, optarg))
            return 2;
    }
    a->inputs = argv + optind;
    a->ninputs = argc - optind;
    if (!a->output || a->ninputs == 0 || a->ninputs > MIG_MAX_INPUTS) {
        fprintf(stderr, "agentbus migrate: %s\n\n", !a->output ? "-o REGISTRY is required"
                : a->ninputs ? "too many inputs" : "no INPUT given");
        migrate_usage(stderr);
        return 2;
    }
    if (!a->changes && !(a->changes = a->changes_default = default_changes(a->output)))
        return 1;
    if (strcmp(a->changes, a->output) == 0) {
        fprintf(stderr, "agentbus migrate: --changes must differ from -o\n");
        return 2;
    }
    return -1;
}

/* "HOST=FILE" -> host and path; a FILE alone (or whose part before '=' is
 * no host name) has no host. HOST is cut out of INPUT in place. */
static void split_input(char *input, const char **host, const char **path)
{
    char *eq = strchr(input, '=');
    *host = NULL;
    *path = input;
    if (eq && eq != input && (size_t)(eq - input) <= 64 &&
        strspn(input, NAME_CHARS) == (size_t)(eq - input)) {
        *eq = '\0';
        *host = input;
        *path = eq + 1;
    }
}

/* --address entries into the fleet. */
static int add_addresses(mig_fleet *f, const mig_args *a)
{
    for (size_t i = 0; i < a->naddresses; i++) {
        const char *eq = strchr(a->addresses[i], '=');
        mig_address *ad = &f->addresses[f->naddresses++];
        ad->host = strndup(a->addresses[i], (size_t)(eq - a->addresses[i]));
        ad->address = strdup(eq + 1);
        if (!ad->host || !ad->address)
            return AB_ERR;
    }
    return AB_OK;
}

/* Reads every input; all problems of all inputs are printed. */
static int read_inputs(mig_fleet *f, mig_args *a, char *sources, size_t slen)
{
    static char err[MIG_ERRLEN];
    int failed = 0;
    size_t used = 0;
    for (int i = 0; i < a->ninputs; i++) {
        const char *host, *path;
        used += (size_t)snprintf(sources + used, used < slen ? slen - used : 0, "%s%s",
                                 i ? " " : "", a->inputs[i]);
        split_input(a->inputs[i], &host, &path);
        if (mig_read(f, host, path, &a->opts, err, sizeof err) != AB_OK) {
            fprintf(stderr, "%s\n", err);
            failed = 1;
        }
    }
    return failed ? AB_ERR : AB_OK;
}

/* ------------------------------------------------------------ output -- */

/* An open temporary file beside PATH; its name in TMP. */
static FILE *open_temp(const char *path, char *tmp, size_t len)
{
    ab_strfmt(tmp, len, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
    }
    return f;
}

/* Moves TMP to PATH: never over an existing file unless FORCE (link()
 * fails rather than replace, so no check-then-write race). */
static int publish(const char *tmp, const char *path, bool force)
{
    int rc = force ? rename(tmp, path) : link(tmp, path);
    int saved = errno;
    if (!force || rc != 0)
        unlink(tmp);
    if (rc == 0)
        return AB_OK;
    if (saved == EEXIST)
        fprintf(stderr, "agentbus migrate: %s exists; not overwritten (use --force)\n", path);
    else
        fprintf(stderr, "agentbus migrate: cannot write %s: %s\n", path, strerror(saved));
    return AB_ERR;
}

/* The registry written to a temporary file loads as `agentbus check`
 * loads it. A failure here is a bug of migrate, said as such. */
static int verify(const char *tmp)
{
    static char err[MIG_ERRLEN];
    registry *reg;
    if (registry_load(tmp, &reg, err, sizeof err) != AB_OK) {
        fprintf(stderr, "agentbus migrate: internal error: the proposed registry "
                "does not pass agentbus check:\n%s\n", err);
        return AB_ERR;
    }
    registry_free(reg);
    return AB_OK;
}

typedef struct out_file {
    const char *path;
    char tmp[4096];
    FILE *f;
} out_file;

static int write_outputs(const mig_fleet *f, const mig_plan *plan, const mig_args *a,
                         const char *sources)
{
    out_file reg = {.path = a->output}, chg = {.path = a->changes};
    int rc = AB_ERR;
    if (!(reg.f = open_temp(reg.path, reg.tmp, sizeof reg.tmp)) ||
        !(chg.f = open_temp(chg.path, chg.tmp, sizeof chg.tmp))) {
        fprintf(stderr, "agentbus migrate: cannot write beside %s: %s\n",
                reg.f ? chg.path : reg.path, strerror(errno));
    } else {
        int wrote = mig_write_registry(reg.f, f, plan, &a->opts, sources, chg.path) |
                    mig_write_changes(chg.f, f, plan, &a->opts, reg.path);
        int closed = fclose(reg.f) | fclose(chg.f);
        reg.f = chg.f = NULL;
        if (wrote != AB_OK || closed != 0)
            fprintf(stderr, "agentbus migrate: writing failed: %s\n", strerror(errno));
        else if (verify(reg.tmp) == AB_OK &&
                 publish(reg.tmp, reg.path, a->force) == AB_OK)
            rc = publish(chg.tmp, chg.path, a->force);
    }
    if (reg.f)
        fclose(reg.f);
    unlink(reg.tmp);
    unlink(chg.tmp);
    return rc;
}

/* The key of HOST in DIR: loaded if there (it must be that host's), else
 * made; its public key into *public. */
static int host_key(const char *dir, const char *host, char **public)
{
    char path[4096], err[AB_ERRLEN];
    keys_secret k = {0};
    int rc;
    ab_strfmt(path, sizeof path, "%s/%s.key", dir, host);
    if (access(path, F_OK) == 0) {
        rc = keys_load(path, &k, err, sizeof err);
        if (rc == AB_OK && strcmp(k.host, host) != 0)
            rc = ab_seterr(err, sizeof err, "%s is the key of host %s, not %s", path,
                           k.host, host);
    } else {
        rc = keys_generate(host, &k, err, sizeof err);
        if (rc == AB_OK)
            rc = keys_write(path, &k, false, err, sizeof err);
        if (rc == AB_OK)
            printf("%s: the secret key of host %s (made)\n", path, host);
    }
    if (rc == AB_OK && !(*public = strdup(k.public_z85)))
        rc = ab_seterr(err, sizeof err, "out of memory");
    keys_wipe(&k);
    if (rc != AB_OK)
        fprintf(stderr, "agentbus migrate: %s\n", err);
    return rc;
}

/* Fleets on several hosts: every host's public key, from its key file in
 * --keys DIR (made when missing, so a second run reuses them). */
static int host_keys(const mig_fleet *f, mig_plan *plan, const mig_args *a)
{
    const char *dir = a->opts.keys_dir;
    if (!plan->links)
        return AB_OK;
    if (!dir) {
        fprintf(stderr, "agentbus migrate: the fleet runs on %zu hosts, and their "
                "links need a key pair per host: give --keys DIR (DIR/HOST.key files "
                "there are used, missing ones made)\n", f->nhosts);
        return AB_ERR;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "agentbus migrate: --keys %s: %s\n", dir, strerror(errno));
        return AB_ERR;
    }
    for (size_t h = 0; h < f->nhosts; h++)
        if (host_key(dir, f->hosts[h], &plan->public_keys[h]) != AB_OK)
            return AB_ERR;
    return AB_OK;
}

/* Refuse early, before any work, when an output exists (publish() checks
 * again, atomically). */
static int check_outputs(const mig_args *a)
{
    const char *paths[] = {a->output, a->changes};
    for (size_t i = 0; i < AB_ARRAY_LEN(paths) && !a->force; i++) {
        if (access(paths[i], F_OK) == 0) {
            fprintf(stderr, "agentbus migrate: %s exists; not overwritten (use --force)\n",
                    paths[i]);
            return AB_ERR;
        }
    }
    return AB_OK;
}

static void summary(const mig_fleet *f, const mig_plan *plan, const mig_args *a)
{
    size_t moved = 0;
    for (size_t i = 0; i < f->nagents; i++)
        moved += f->agents[i].new_port != f->agents[i].port;
    printf("%s: %zu services on %zu hosts; %zu port collisions, %zu agents moved\n"
           "%s: per-agent changes\n", a->output, f->nagents, f->nhosts,
           plan->ncollisions, moved, a->changes);
}

int cli_migrate(int argc, char **argv)
{
    static char sources[8192];
    mig_args a = {0};
    mig_fleet fleet = {0};
    mig_plan plan = {0};
    char err[AB_ERRLEN];
    int rc = parse_args(argc, argv, &a);
    if (rc < 0) {
        rc = 1;
        if (check_outputs(&a) == AB_OK && add_addresses(&fleet, &a) == AB_OK &&
            read_inputs(&fleet, &a, sources, sizeof sources) == AB_OK) {
            if (mig_plan_make(&fleet, &a.opts, &plan, err, sizeof err) != AB_OK)
                fprintf(stderr, "agentbus migrate: %s\n", err);
            else if (host_keys(&fleet, &plan, &a) == AB_OK &&
                     write_outputs(&fleet, &plan, &a, sources) == AB_OK)
                rc = 0;
        }
        if (rc == 0)
            summary(&fleet, &plan, &a);
    }
    mig_plan_free(&plan);
    mig_fleet_free(&fleet);
    free(a.changes_default);
    return rc;
}
