/* ffnscope: how much of its latent space does each FFN layer use? */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "ffnscope/error.h"
#include "util/threads.h"

/* Keep in the order --help shows them. */
static const Command commands[] = {
    /* entries are added as commands land: {"name", "usage", cmdName}, */
    {"run", "run CONFIG [--out DIR] | run MODEL... [--corpus FILE] [--tokens N] [--print-config] ...", cmdRun},
    {"analyze", "analyze FILE [--tensor NAME] [--format table|json|csv] [--concentration-k K]", cmdAnalyze},
    {"inspect", "inspect MODEL [--format table|json]", cmdInspect},
    {"plan", "plan CONFIG|MODEL... [--memory-limit SIZE] [--format table|json]", cmdPlan},
    {"merge", "merge SHARD... --out FILE     combine covariance statistics shards", cmdMerge},
    {"tokenize", "tokenize MODEL_OR_TOKENIZER TEXTFILE [--format ids|json]", cmdTokenize},
    {"render", "render RESULTS_DIR --view spectrum|heatmap|scaling|table [--format txt|ansi|html|svg] "
               "[--size COLSxROWS] [-o FILE]", cmdRender},
    {"plot", "plot RESULTS_DIR --figure scaling|spectrum|heatmap|depth [-o FILE.pdf|.svg|.png] [--site post|pre] "
             "[--metric NAME] [--models REGEX] [--layers SPEC] [--size WxH] [--dpi N] [--theme paper|dark] "
             "[--experts MODEL] [--expert E|shared]", cmdPlot},
    {"report", "report RESULTS_DIR [-o report.html]   one self-contained HTML page: figures, fits, models", cmdReport},
    {NULL, NULL, NULL},
};

static void printUsage(FILE *out)
{
    fprintf(out, "usage: ffnscope [CONFIG | RESULTS_DIR]   open the dashboard\n");
    fprintf(out, "       ffnscope MODEL... [--corpus FILE] ...   the dashboard on models (options as run)\n");
    for (const Command *c = commands; c->name; c++) fprintf(out, "       ffnscope %s\n", c->usage);
    fprintf(out, "       ffnscope --help | --version\n");
}

static int finish(int status, const Error *err)
{
    if (status != EXIT_OK && err->msg[0]) fprintf(stderr, "ffnscope: error: %s\n", err->msg);
    return status;
}

int main(int argc, char **argv)
{
    Error err = {0};
    threadsBlasSingle();   /* ffnscope splits its products among its own threads (util/threads.h) */
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printUsage(stdout);
        return EXIT_OK;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("ffnscope %s\n", FFNSCOPE_VERSION);
        return EXIT_OK;
    }
    if (argc >= 2) {
        for (const Command *c = commands; c->name; c++)
            if (!strcmp(argv[1], c->name)) return finish(c->run(argc - 1, argv + 1, &err), &err);
        if (argv[1][0] == '-' && strncmp(argv[1], "--memory-limit", 14)) {
            errorSet(&err, EXIT_INPUT, "unknown option '%s' (see ffnscope --help)", argv[1]);
            return finish(EXIT_INPUT, &err);
        }
    }
    return finish(cmdDashboard(argc, argv, &err), &err);
}
