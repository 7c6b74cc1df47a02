#ifndef FFNSCOPE_ACTS_H
#define FFNSCOPE_ACTS_H

#include <stdint.h>

#include "ffnscope/error.h"
#include "ffnscope/site.h"

/* Activation files captured elsewhere (.npy, .safetensors): a list of 2-D
 * views [rows, width] (3-D [B,T,D] tensors are flattened), read in chunks so
 * memory does not grow with the number of rows. */

/* Element type on disk. */
typedef enum ActDtype { ACT_F16, ACT_BF16, ACT_F32, ACT_F64 } ActDtype;

typedef struct ActTensor {
    char *name;      /* tensor name ("" for .npy) */
    int layer;       /* from blocks.N / layers.N / h.N, -1 when the name has none */
    Site site;       /* from hook_post/post or hook_pre/pre, SITE_POST by default */
    int64_t rows;
    int width;
    ActDtype dtype;  /* float64 files should be read with actFileReadF64 to keep their precision */
} ActTensor;

typedef struct ActFile ActFile;

/* Opens and validates the whole file (header, dtype, shapes, offsets): every
 * tensor must be float16/bfloat16/float32/float64, 2-D or 3-D, with at least
 * 2 rows. The kind is told by content (.npy magic), else safetensors. An
 * ActFile is not safe to read from two threads at once. */
int actFileOpen(const char *path, ActFile **out, Error *err);
int actFileCount(const ActFile *f);
const ActTensor *actFileTensor(const ActFile *f, int i);
/* Reads rows [row0, row0+nrows) of tensor i as float32 into out [nrows*width]. */
int actFileRead(ActFile *f, int i, int64_t row0, int64_t nrows, float *out, Error *err);
/* Same as float64 (exact for every dtype). */
int actFileReadF64(ActFile *f, int i, int64_t row0, int64_t nrows, double *out, Error *err);
const char *actFilePath(const ActFile *f);
void actFileClose(ActFile *f);

/* Layer and site from a tensor name: a dot/slash separated component
 * blocks|layers|h|layer followed by a component N, or a component layerN,
 * gives the layer (-1 when none); a component hook_post|post or hook_pre|pre gives the site
 * (SITE_POST when none). A .npy file takes them from its base name. */
void actNameParse(const char *name, int *layer, Site *site);

#endif
