#ifndef FFNSCOPE_CONFIG_H
#define FFNSCOPE_CONFIG_H

#include <stdint.h>

#include "ffnscope/error.h"

/* The YAML config (README "Config"), validated and with paths resolved against the
 * config file's folder. `glob` entries are expanded (sorted by FFN width where
 * it can be read cheaply, else by name). */
typedef struct ModelEntry {
    char *name;       /* defaults to the last path component (without extension for files) */
    char *path;       /* resolved */
    char *format;     /* forced format or NULL */
    char *family;     /* forced family or NULL */
    char *tokenizer;  /* resolved tokenizer path or NULL */
    char *fit_group;  /* the scaling fit this model joins, or NULL: its family's */
    int line, col;    /* where the entry starts in the config, for error messages */
    int is_acts;      /* an activation file (.npy / .safetensors of activations): no model, no corpus */
} ModelEntry;

typedef struct Config {
    char *path;               /* the config file as given */
    int version;
    int has_corpus;
    struct {
        char *path;           /* resolved */
        int64_t tokens;       /* default 65536 */
        int seq_len;          /* default 128 */
        int batch;            /* default 16 */
        int add_bos;          /* default 0 */
    } corpus;
    unsigned sites;           /* SITE_BIT flags, default post */
    int all_layers;           /* layers: all (default) */
    int n_layers;             /* else the listed layers, sorted, unique */
    int *layers;
    int64_t refresh_tokens;   /* default 8192 */
    uint64_t memory_limit;    /* capture.memory_limit in bytes, 0: not set (80% of available memory);
                               * `--memory-limit` overrides it */
    double concentration_k;   /* default 0.1 */
    int overlap_k;            /* eigenvectors per expert for the subspace overlap, default 8 */
    int n_models;
    ModelEntry *models;
    char *theme;              /* default "default" */
    char *output_dir;         /* default results/<config stem>; relative to the working directory */
    char *export_dir;         /* default "exports"; relative to the working directory */
    const char *save_stats;   /* not from the YAML: `run --save-stats` (borrowed), a file, or a folder for
                               * NAME.stats.safetensors per model, for the accumulators; NULL: none */
} Config;

int configLoad(const char *path, Config **out, Error *err);
void configFree(Config *cfg);

/* 1 when the config selects `layer`. */
int configWantsLayer(const Config *cfg, int layer);

#endif
