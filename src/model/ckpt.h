#ifndef FFNSCOPE_MODEL_CKPT_H
#define FFNSCOPE_MODEL_CKPT_H

/* What the GGUF, llama2.c and llm.c checkpoint readers share: a read-only
 * mapping of the file, checked size arithmetic, and undoing the rotary row
 * order that llama.cpp's converter and llama2.c's exporter give LLaMA's
 * query and key weights. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"
#include "ffnscope/tokenizer.h"

typedef struct CkptMap {
    const unsigned char *data;
    size_t size;
    int fd;
} CkptMap;

/* Maps a regular file read-only. EXIT_INPUT when it cannot be opened. */
int ckptMapOpen(const char *path, CkptMap *m, Error *err);
void ckptMapClose(CkptMap *m);


/* 1 when path is a regular file whose first n bytes equal magic. */
int ckptHasMagic(const char *path, const void *magic, size_t n);
int ckptHasSuffix(const char *s, const char *suffix);

/* *acc += a * b (* c when c > 0), in int64; -1 on overflow. */
int ckptMulAdd(int64_t *acc, int64_t a, int64_t b, int64_t c);

/* Rows of a query or key projection [rows, cols] stored head by head with
 * the two halves of each head interleaved (row 2i+j of a head holds the
 * rotate-half row j*head_dim/2+i) are put back in the Hugging Face order, in
 * place. A 1-D bias is the case cols = 1. */
int ckptUnpermuteRope(float *w, int64_t rows, int64_t cols, int head_dim, Error *err);

/* The tokenizer.bin next to a llama2.c checkpoint: *tok stays NULL when there
 * is none. */
int ckptSiblingTokenizer(const char *model_path, const char *name, Tokenizer **tok, Error *err);

#endif
