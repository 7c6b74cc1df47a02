#ifndef FFNSCOPE_MODEL_READER_H
#define FFNSCOPE_MODEL_READER_H

/* What a checkpoint reader hands to model.c, and the table of readers. */

#include "ffnscope/model.h"
#include "model/decoder.h"

/* The decoder with every slot written (unless info_only), its description,
 * and the tokenizer when the checkpoint carries one inside (GGUF); model.c
 * loads a directory's tokenizer files itself. */
typedef struct LoadedModel {
    Decoder *dec;
    ModelInfo info;
    Tokenizer *tok;
    void *keep;                 /* streamed weights: the reader's open files, */
    void (*keep_free)(void *);  /* closed with the model */
} LoadedModel;

/* A checkpoint format. detect: 1 when path looks like this format. load:
 * fills out (decoderNew from the format's hyperparameters, then every slot
 * unless opt->info_only). */
typedef struct ModelReader {
    const char *format;
    int (*detect)(const char *path);
    int (*load)(const char *path, const ModelOptions *opt, LoadedModel *out, Error *err);
} ModelReader;

#endif
