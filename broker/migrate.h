/*
 * migrate.h: `agentbus migrate`, which turns what a fleet runs today
 * (docker-compose files, agent lists) into a proposed registry and the
 * per-agent change list. Three steps, one file each:
 *
 *   migrate_read.c   inputs  -> fleet (agents, their ports, environment)
 *   migrate_plan.c   fleet   -> service names, ports, collisions, backends,
 *                               and what each agent's configuration changes
 *   migrate_write.c  plan    -> the registry YAML and the change list text
 *
 * The accepted input shapes and the output are documented in
 * docs/deploy.md. All three steps return AB_OK/AB_ERR and fill an error
 * buffer; reading collects every problem of an input, one per line, as
 * "FILE:LINE: message".
 */
#ifndef AB_MIGRATE_H
#define AB_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Bounds of what one run reads (inputs are hand-written, far smaller). */
#define MIG_MAX_INPUTS 64
#define MIG_MAX_FILE_BYTES (1u << 20)   /* per input file */
#define MIG_MAX_AGENTS 4096             /* a registry holds at most 4096 services */
#define MIG_MAX_ENV 512                 /* environment variables per agent */
#define MIG_MAX_VALUE 1024              /* longer environment values are not examined */
#define MIG_MAX_MERGE_DEPTH 8           /* nested YAML merge keys (<<) */
#define MIG_MAX_ADDRESSES 64            /* --address entries */
#define MIG_MAX_NOTES 200               /* notes kept; later ones are counted */
#define MIG_BACKEND_OFFSET 10000        /* host processes move to PORT + this */
#define MIG_DEFAULT_LINK_PORT 7700      /* the link port of every host */

typedef enum mig_kind {
    MIG_CONTAINER, /* a compose service: the broker dials it by name */
    MIG_PROCESS,   /* a process on its host (agent list, network_mode: host) */
} mig_kind;

typedef struct mig_env {
    char *name;
    char *value;
    int line;
} mig_env;

/* One environment change the plan proposes for an agent. */
typedef struct mig_change {
    const char *var;   /* borrowed from the agent's mig_env */
    char *old_value;
    char *new_value;
    int target;        /* index of the agent it points at, or -1 (own bind) */
} mig_change;

typedef struct mig_agent {
    /* Read from the input. */
    char *name;          /* compose service or listed name */
    char *host;
    char *file;          /* borrowed from the input */
    int line;
    mig_kind kind;
    char *image;         /* compose image, may be NULL */
    char *aliases[3];    /* names that reach it on its network: service,
                            container_name, hostname (NULL when absent) */
    int port;            /* the port it binds today (container port) */
    int published;       /* host port others use today, 0 if none known */
    int nports;          /* ports the entry lists; only the first is `port` */
    bool env_file;       /* compose env_file: not read, said so */
    mig_env *env;
    size_t nenv;
    /* Filled by the plan. */
    char *service;       /* registry service name */
    char *dial_name;     /* DNS name the broker dials (containers) */
    bool dial_alias;     /* dial_name must be added as a network alias */
    int new_port;        /* service port in the registry */
    int backend_port;    /* where the broker dials it */
    int collision;       /* index into plan collisions, or -1 */
    mig_change *changes;
    size_t nchanges;
    bool bind_found;     /* a process agent's own port variable was found */
} mig_agent;

/* An input entry that is not an agent, and why (said in the change list). */
typedef struct mig_skip {
    char *name;
    char *host;
    char *file;
    int line;
    char *reason;
} mig_skip;

typedef struct mig_address {
    char *host;
    char *address;
} mig_address;

typedef struct mig_fleet {
    mig_agent *agents;
    size_t nagents, cap_agents;
    mig_skip *skips;
    size_t nskips, cap_skips;
    char **hosts;        /* in order of first appearance */
    size_t nhosts, cap_hosts;
    char **notes;        /* "FILE:LINE: ..." remarks on what was not used */
    size_t nnotes, cap_notes, notes_dropped;
    char **files;        /* input paths, owned; agents borrow them */
    size_t nfiles;
    mig_address addresses[MIG_MAX_ADDRESSES]; /* --address HOST=ADDR */
    size_t naddresses;
} mig_fleet;

/* A port several agents bound: the first keeps it. */
typedef struct mig_collision {
    int port;
    size_t *agents;      /* indexes, input order */
    size_t nagents;
} mig_collision;

typedef struct mig_opts {
    const char *broker_name; /* compose service name of the broker */
    int port_base;           /* first port handed out; 0 = above all in use */
    int link_port;           /* the port of every host's link endpoint */
    const char *keys_dir;    /* where the hosts' key files are, or NULL */
    const char **skip;       /* compose services to leave out */
    size_t nskip;
} mig_opts;

typedef struct mig_plan {
    mig_collision *collisions;
    size_t ncollisions;
    /* Fleets on several hosts: per host (fleet order), the link endpoint
     * (tcp://ADDR:PORT), and its public key, filled in by the caller from
     * the host's key file. NULL for a single-host fleet. */
    char **links;
    char **public_keys;
    size_t nhosts_linked; /* entries of both */
    char **warnings;     /* fleet-wide remarks for the change list */
    size_t nwarnings;
} mig_plan;

/* Read one input (HOST may be NULL for agent lists that name hosts) into
 * FLEET. Every problem found is in ERR, one per line. */
int mig_read(mig_fleet *fleet, const char *host, const char *path,
             const mig_opts *opts, char *err, size_t errlen);
void mig_fleet_free(mig_fleet *fleet);

int mig_plan_make(mig_fleet *fleet, const mig_opts *opts, mig_plan *plan,
                  char *err, size_t errlen);
void mig_plan_free(mig_plan *plan);

/* The proposed registry and the change list, written to open streams.
 * SOURCES describes the inputs for the header comment. */
int mig_write_registry(FILE *out, const mig_fleet *fleet, const mig_plan *plan,
                       const mig_opts *opts, const char *sources,
                       const char *changes_path);
int mig_write_changes(FILE *out, const mig_fleet *fleet, const mig_plan *plan,
                      const mig_opts *opts, const char *registry_path);

/* Names: registry names are [A-Za-z0-9_.-]{1,64}; DNS names (backends) are
 * letters, digits, '.' and '-'. */
bool mig_dns_name(const char *s);

#endif
