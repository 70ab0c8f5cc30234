/*
 * migrate_write.c: the last step of `agentbus migrate` (migrate.h): writes
 * the proposed registry (YAML that `agentbus check` accepts, with comments
 * saying where each service came from and how every port collision was
 * resolved) and the per-agent change list (plain text).
 *
 * Names and endpoints written as YAML values come from the plan, which
 * only makes registry-safe ones; everything copied from the inputs into a
 * comment or the change list goes through printable(), so no input can
 * break a line or the file's syntax.
 */
#include "migrate.h"

#include "common.h"

#include <string.h>

#define TEXT_MAX 200 /* input text quoted in the output is cut to this */

/* S with control characters as '?' and cut to TEXT_MAX, in OUT. */
static const char *printable(const char *s, char out[TEXT_MAX + 1])
{
    size_t n = 0;
    for (; s && s[n] && n < TEXT_MAX; n++)
        out[n] = (unsigned char)s[n] < 0x20 || s[n] == 0x7f ? '?' : s[n];
    out[n] = '\0';
    return out;
}

/* Where agent A came from: "HOST FILE:LINE". */
static void origin(const mig_agent *a, char *out, size_t len)
{
    char file[TEXT_MAX + 1];
    ab_strfmt(out, len, "%s %s:%d", a->host, printable(a->file, file), a->line);
}

/* A registry name as YAML: plain when it starts with a letter, else
 * double-quoted (so "1234" or "-x" stay names; names hold no quote or
 * backslash). */
static const char *yaml_name(const char *name, char out[80])
{
    bool plain = (name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z');
    ab_strfmt(out, 80, plain ? "%s" : "\"%s\"", name);
    return out;
}

/* ----------------------------------------------------------- registry -- */

static void put_collisions(FILE *out, const mig_fleet *f, const mig_plan *plan)
{
    if (plan->ncollisions == 0) {
        fprintf(out, "#\n# No port collisions: every agent keeps its port.\n");
        return;
    }
    fprintf(out, "#\n# Port collisions: %zu port%s bound by more than one agent. The "
            "first agent\n# listed keeps the port; each other one gets the free "
            "port shown.\n", plan->ncollisions, plan->ncollisions == 1 ? " was" : "s were");
    for (size_t c = 0; c < plan->ncollisions; c++) {
        const mig_collision *col = &plan->collisions[c];
        fprintf(out, "#   port %d (%zu agents):\n", col->port, col->nagents);
        for (size_t k = 0; k < col->nagents; k++) {
            const mig_agent *a = &f->agents[col->agents[k]];
            char where[TEXT_MAX + 100];
            origin(a, where, sizeof where);
            if (k == 0)
                fprintf(out, "#     %-24s %-40s keeps %d\n", a->service, where, a->new_port);
            else
                fprintf(out, "#     %-24s %-40s -> %d\n", a->service, where, a->new_port);
        }
    }
}

static void put_header(FILE *out, const mig_fleet *f, const mig_plan *plan,
                       const char *sources, const char *changes_path)
{
    char text[TEXT_MAX + 1];
    fprintf(out, "# Proposed agentbus registry, written by `agentbus migrate` from:\n");
    fprintf(out, "#   %s\n", printable(sources, text));
    fprintf(out, "# Review it (docs/deploy.md), check it with `agentbus check FILE`, "
            "and\n# apply the per-agent changes listed in %s.\n",
            printable(changes_path, text));
    put_collisions(out, f, plan);
    fprintf(out, "\n");
}

static void put_hosts(FILE *out, const mig_fleet *f, const mig_plan *plan,
                      const mig_opts *opts)
{
    char host[80], dir[TEXT_MAX + 1];
    fprintf(out, "hosts:\n");
    if (!plan->links) {
        fprintf(out, "  %s: {}   # one host: no links between brokers\n",
                yaml_name(f->hosts[0], host));
        return;
    }
    fprintf(out, "  # link: where the other brokers dial this host's broker, which "
            "binds it:\n  # the host's name (or --address): check it. "
            "public_key: from the host's\n  # secret key file in %s (copy "
            "each to its host only; docs/links.md).\n",
            printable(opts->keys_dir, dir));
    for (size_t h = 0; h < f->nhosts; h++)
        fprintf(out, "  %s:\n    link: %s\n    public_key: \"%s\"\n",
                yaml_name(f->hosts[h], host), plan->links[h], plan->public_keys[h]);
}

static void put_service(FILE *out, const mig_agent *a)
{
    char where[TEXT_MAX + 100], name[TEXT_MAX + 1], key[80], host[80];
    origin(a, where, sizeof where);
    fprintf(out, "  %s:  # %s, %s %s", yaml_name(a->service, key), where,
            a->kind == MIG_CONTAINER ? "compose service" : "agent",
            printable(a->name, name));
    if (a->new_port != a->port)
        fprintf(out, "; was port %d (collision, see above)", a->port);
    fprintf(out, "\n    host: %s\n    port: %d\n", yaml_name(a->host, host), a->new_port);
    if (a->kind == MIG_CONTAINER)
        fprintf(out, "    backends: [\"tcp://%s:%d\"]\n", a->dial_name, a->backend_port);
    else
        fprintf(out, "    backends: [\"tcp://127.0.0.1:%d\"]\n", a->backend_port);
}

int mig_write_registry(FILE *out, const mig_fleet *f, const mig_plan *plan,
                       const mig_opts *opts, const char *sources,
                       const char *changes_path)
{
    put_header(out, f, plan, sources, changes_path);
    put_hosts(out, f, plan, opts);
    fprintf(out, "\nservices:\n");
    for (size_t i = 0; i < f->nagents; i++)
        put_service(out, &f->agents[i]);
    return ferror(out) ? AB_ERR : AB_OK;
}

/* ------------------------------------------------------- change list -- */

/* The hosts' key files, when the fleet has links. */
static void put_keys(FILE *out, const mig_fleet *f, const mig_plan *plan,
                     const mig_opts *opts)
{
    char dir[TEXT_MAX + 1];
    if (!plan->links)
        return;
    fprintf(out, "\nLink keys: one secret key file per host in %s (mode 0600):\n",
            printable(opts->keys_dir, dir));
    for (size_t h = 0; h < f->nhosts; h++)
        fprintf(out, "  %s.key -> host %s only; its broker runs with --secret-key "
                "FILE\n", f->hosts[h], f->hosts[h]);
    fprintf(out, "(in a container: owned by the image's user, uid 10001, and mounted "
            "as a secret)\n");
}

static void put_changes_header(FILE *out, const mig_opts *opts, const char *registry_path)
{
    char text[TEXT_MAX + 1];
    fprintf(out,
            "Per-agent changes for the registry proposed in %s\n"
            "(written by `agentbus migrate`; review, then apply).\n"
            "\n"
            "Agents keep their code; their configuration changes:\n"
            "  - compose agents stay where they are: the broker dials them by name on\n"
            "    the port they bind today, and their clients connect to the broker,\n"
            "    tcp://%s:PORT, a service on the same compose network (add it to\n"
            "    each compose file, see docs/deploy.md);\n"
            "  - host processes move to a backend port on 127.0.0.1, because the\n"
            "    broker now binds the service port on their host; their clients\n"
            "    connect to tcp://127.0.0.1:PORT (the broker on their own host).\n"
            "Clients whose configuration is not listed here (code, other files)\n"
            "connect to their own host's broker on the service port shown.\n",
            printable(registry_path, text), opts->broker_name);
}

static void put_bind(FILE *out, const mig_agent *a)
{
    if (a->kind == MIG_CONTAINER) {
        fprintf(out, "  bind:     unchanged (port %d in its container); the broker dials "
                "tcp://%s:%d\n", a->port, a->dial_name, a->backend_port);
        if (a->dial_alias)
            fprintf(out, "  network:  add the alias %s to the service on its compose "
                    "network\n            (registry endpoints are DNS names: "
                    "letters, digits, '.', '-')\n", a->dial_name);
        return;
    }
    fprintf(out, "  bind:     tcp://127.0.0.1:%d instead of port %d%s\n", a->backend_port,
            a->port, a->bind_found ? " (variable below)" :
            "\n            (no variable holds its port: change it in its code or "
            "command line)");
}

static void put_agent(FILE *out, const mig_fleet *f, const mig_agent *a)
{
    char where[TEXT_MAX + 100], name[TEXT_MAX + 1], v1[TEXT_MAX + 1], v2[TEXT_MAX + 1];
    origin(a, where, sizeof where);
    fprintf(out, "\n%s (%s)\n", printable(a->name, name), where);
    fprintf(out, "  service:  %s, port %d", a->service, a->new_port);
    if (a->new_port != a->port)
        fprintf(out, " (was %d: port collision; its clients move to %d)", a->port,
                a->new_port);
    fprintf(out, "\n");
    put_bind(out, a);
    for (size_t i = 0; i < a->nchanges; i++) {
        const mig_change *c = &a->changes[i];
        fprintf(out, "  env %s: \"%s\" -> \"%s\"", printable(c->var, name),
                printable(c->old_value, v1), printable(c->new_value, v2));
        if (c->target >= 0)
            fprintf(out, "   (%s)", f->agents[c->target].service);
        fprintf(out, "\n");
    }
    if (a->env_file)
        fprintf(out, "  note:     env_file is not read: check the variables there by hand\n");
    if (a->nports > 1)
        fprintf(out, "  note:     it lists %d ports; each became a service: remove those "
                "that are not REP sockets\n", a->nports);
}

static void put_remarks(FILE *out, const mig_fleet *f, const mig_plan *plan)
{
    char name[TEXT_MAX + 1], file[TEXT_MAX + 1], host[TEXT_MAX + 1];
    if (f->nskips)
        fprintf(out, "\nNot agents (left out of the registry):\n");
    for (size_t i = 0; i < f->nskips; i++) {
        const mig_skip *s = &f->skips[i];
        fprintf(out, "  %s (%s %s:%d): %s\n", printable(s->name, name),
                printable(s->host, host), printable(s->file, file), s->line, s->reason);
    }
    if (f->nnotes || plan->nwarnings)
        fprintf(out, "\nNotes:\n");
    for (size_t i = 0; i < plan->nwarnings; i++)
        fprintf(out, "  %s\n", plan->warnings[i]);
    for (size_t i = 0; i < f->nnotes; i++)
        fprintf(out, "  %s\n", f->notes[i]);
    if (f->notes_dropped)
        fprintf(out, "  ... %zu more notes\n", f->notes_dropped);
}

int mig_write_changes(FILE *out, const mig_fleet *f, const mig_plan *plan,
                      const mig_opts *opts, const char *registry_path)
{
    put_changes_header(out, opts, registry_path);
    put_keys(out, f, plan, opts);
    for (size_t i = 0; i < f->nagents; i++)
        put_agent(out, f, &f->agents[i]);
    put_remarks(out, f, plan);
    return ferror(out) ? AB_ERR : AB_OK;
}
