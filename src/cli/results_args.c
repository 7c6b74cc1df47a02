#include "cli/results_args.h"

#include <stdio.h>
#include <string.h>

int resultsArgsUsage(const char *cmd, Error *err, const char *what)
{
    return errorSet(err, EXIT_INPUT, "%s: %s (see ffnscope %s --help)", cmd, what, cmd);
}

int resultsArgsParse(const char *cmd, int argc, char **argv, const ResultsOption *opts, const char *usage_text,
                     const char **dir, Error *err)
{
    *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const ResultsOption *o = opts;
        while (o->name && strcmp(a, o->name) && !(o->alias && !strcmp(a, o->alias))) o++;
        char what[128];
        if (o->name && o->flag) {
            *o->flag = 1;
        } else if (o->name) {
            if (++i >= argc) {
                snprintf(what, sizeof what, "%s needs a value", a);
                return resultsArgsUsage(cmd, err, what);
            }
            *o->value = argv[i];
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage_text, stdout);
            return 1;
        } else if (a[0] == '-') {
            snprintf(what, sizeof what, "unknown option '%.80s'", a);
            return resultsArgsUsage(cmd, err, what);
        } else if (!*dir) {
            *dir = a;
        } else {
            return resultsArgsUsage(cmd, err, "one results directory only");
        }
    }
    if (!*dir) return resultsArgsUsage(cmd, err, "which results directory?");
    return 0;
}
