#ifndef FFNSCOPE_CLI_COMMANDS_H
#define FFNSCOPE_CLI_COMMANDS_H

#include <stdint.h>

#include "ffnscope/error.h"

/* One file per command (src/cli/cmd_NAME.c). A command returns an exit
 * status (EXIT_OK, EXIT_RUNTIME, EXIT_INPUT); on failure it fills err and
 * main() prints the single error line. argv[0] is the command name. */
typedef int (*CommandFn)(int argc, char **argv, Error *err);

typedef struct Command {
    const char *name;
    const char *usage;   /* shown by --help */
    CommandFn run;
} Command;

int cmdAnalyze(int argc, char **argv, Error *err);
int cmdRun(int argc, char **argv, Error *err);
/* run's config: pos[0] a config file, or every pos a model (implicit config,
 * cli/implicit.h). print_config: prints the implicit YAML, *cfg = NULL. */
struct ImplicitArgs;
struct Config;
int runLoadConfig(int n_pos, char **pos, struct ImplicitArgs *ia, int print_config, struct Config **cfg,
                  Error *err);
int cmdInspect(int argc, char **argv, Error *err);
int cmdTokenize(int argc, char **argv, Error *err);
int cmdRender(int argc, char **argv, Error *err);
int cmdMerge(int argc, char **argv, Error *err);
int cmdPlot(int argc, char **argv, Error *err);
int cmdReport(int argc, char **argv, Error *err);
int cmdPlan(int argc, char **argv, Error *err);

/* --memory-limit's value (cmd_plan.c): EXIT_INPUT naming cmd when it is not a size. */
int cliMemoryLimit(const char *cmd, const char *arg, uint64_t *limit, Error *err);
/* The dashboard: argv[1] is a config, a results directory or absent. */
int cmdDashboard(int argc, char **argv, Error *err);

#endif
