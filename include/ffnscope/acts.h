#ifndef FFNSCOPE_ACTS_H
#define FFNSCOPE_ACTS_H

#include <stdint.h>

#include "ffnscope/error.h"
#include "ffnscope/site.h"

/* Activation files captured elsewhere (.npy, .safetensors): a list of 2-D
 * views [rows, width] (3-D [B,T,D] tensors are flattened), read in chunks so
 * memory does not grow with the number of rows. */
typedef struct ActTensor {
    char *name;      /* tensor name ("" for .npy) */
    int layer;       /* from blocks.N / layers.N / h.N, -1 when the name has none */
    Site site;       /* from hook_post/post or hook_pre/pre, SITE_POST by default */
    int64_t rows;
    int width;
} ActTensor;

typedef struct ActFile ActFile;

/* Opens and validates the whole file (header, dtype, shapes, offsets). */
int actFileOpen(const char *path, ActFile **out, Error *err);
int actFileCount(const ActFile *f);
const ActTensor *actFileTensor(const ActFile *f, int i);
/* Reads rows [row0, row0+nrows) of tensor i as float32 into out [nrows*width]. */
int actFileRead(ActFile *f, int i, int64_t row0, int64_t nrows, float *out, Error *err);
void actFileClose(ActFile *f);

#endif
