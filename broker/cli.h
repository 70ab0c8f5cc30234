/*
 * cli.h: subcommands of the `agentbus` tool. Each takes the arguments after
 * its own name (argv[0] is the subcommand) and returns the process exit code:
 * 0 success, 1 the input was rejected, 2 usage error.
 */
#ifndef AB_CLI_H
#define AB_CLI_H

int cli_check(int argc, char **argv);     /* agentbus check FILE */
int cli_keygen(int argc, char **argv);    /* agentbus keygen NAME */
int cli_json2mp(int argc, char **argv);   /* agentbus json2mp [IN [OUT]] */
int cli_mp2json(int argc, char **argv);   /* agentbus mp2json [IN [OUT]] */
int cli_stats(int argc, char **argv);     /* agentbus stats [--json] */
int cli_top(int argc, char **argv);       /* agentbus top */
int cli_health(int argc, char **argv);    /* agentbus health [--ready] */
int cli_migrate(int argc, char **argv);   /* agentbus migrate INPUT... -o FILE */

#endif
