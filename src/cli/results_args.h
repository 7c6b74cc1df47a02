#ifndef FFNSCOPE_CLI_RESULTS_ARGS_H
#define FFNSCOPE_CLI_RESULTS_ARGS_H

/* The arguments of the commands that read one saved run (plot, render,
 * report): one RESULTS_DIR and options from a table. */

#include "ffnscope/error.h"

/* An option: one taking a value fills *value, a switch sets *flag to 1. */
typedef struct ResultsOption {
    const char *name, *alias;   /* alias may be NULL */
    const char **value;
    int *flag;
} ResultsOption;

/* Parses argv[1..] of command `cmd` against opts (ended by a NULL name);
 * --help or -h prints usage_text. 0 with *dir set; 1 after printing the
 * help; -1 with err "CMD: what is wrong (see ffnscope CMD --help)". */
int resultsArgsParse(const char *cmd, int argc, char **argv, const ResultsOption *opts, const char *usage_text,
                     const char **dir, Error *err);

/* The error of an argument the command itself refused: "CMD: what (see ffnscope CMD --help)". */
int resultsArgsUsage(const char *cmd, Error *err, const char *what);

#endif
