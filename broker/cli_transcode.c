/* placeholder */
#include "cli.h"
int cli_json2mp(int argc, char **argv) { return 2; }
int cli_mp2json(int argc, char **argv) { return 2; }
