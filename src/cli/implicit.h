#ifndef FFNSCOPE_CLI_IMPLICIT_H
#define FFNSCOPE_CLI_IMPLICIT_H

/* Models named on the command line instead of a config: `ffnscope run
 * MODEL... [--corpus FILE] [--tokens N] [--seq-len T] [--batch B]
 * [--sites pre,post] [--layers SPEC]` builds the config a user would have
 * written (README "Point it at a model"), as YAML, and loads it through the
 * same validation as a config file. */

#include "ffnscope/config.h"
#include "ffnscope/error.h"

typedef struct ImplicitArgs {
    const char *models[64];
    int n_models;
    const char *corpus;     /* NULL: the bundled Persuasion */
    const char *tokens, *seq_len, *batch, *sites, *layers;   /* as given, NULL: defaults */
    const char *out;        /* NULL: results/<first model's name> */
} ImplicitArgs;

/* 1 when path is a model source rather than a config: a directory holding a
 * config.json, or a .gguf, .bin, .npy or .safetensors file. */
int implicitIsModelSource(const char *path);

/* Takes argv[*i] (and its value) when it is one of the options above: 1 when
 * taken, 0 when not, -1 with err on a missing value. */
int implicitOption(int argc, char **argv, int *i, ImplicitArgs *a, Error *err);

/* The YAML of the implicit config (malloc'd), paths absolute. */
int implicitYaml(const ImplicitArgs *a, char **yaml, Error *err);

/* The config itself; errors of the generated YAML name "command line". */
int implicitConfig(const ImplicitArgs *a, Config **out, Error *err);

#endif
