#ifndef FFNSCOPE_IO_GGML_QUANT_H
#define FFNSCOPE_IO_GGML_QUANT_H

/* ggml's tensor types, as GGUF files store them: plain floats and the
 * quantized block formats of ggml-common.h. A quantized row is a run of
 * blocks, each holding a fixed number of elements (32, or a super-block of
 * 256 for the K-quants and IQ4_XS) in a fixed number of bytes, scales first
 * or last as the layout says; rows never share a block.
 *
 * ffnscope widens F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K,
 * Q4_K, Q5_K, Q6_K, IQ4_NL and IQ4_XS to float32, with the same arithmetic
 * as ggml's reference dequantizers (float32 products in ggml's order), any
 * range of whole rows at a time. */

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"

enum {
    GGML_TYPE_F32 = 0,
    GGML_TYPE_F16 = 1,
    GGML_TYPE_Q4_0 = 2,
    GGML_TYPE_Q4_1 = 3,
    GGML_TYPE_Q5_0 = 6,
    GGML_TYPE_Q5_1 = 7,
    GGML_TYPE_Q8_0 = 8,
    GGML_TYPE_Q2_K = 10,
    GGML_TYPE_Q3_K = 11,
    GGML_TYPE_Q4_K = 12,
    GGML_TYPE_Q5_K = 13,
    GGML_TYPE_Q6_K = 14,
    GGML_TYPE_IQ4_NL = 20,
    GGML_TYPE_IQ4_XS = 23,
    GGML_TYPE_BF16 = 30,
};

/* "Q4_K", "IQ2_XXS", ... for every type ggml defines (read or not), else "?". */
const char *ggmlTypeName(uint32_t type);

/* 1 when ffnscope converts this type to float32. */
int ggmlTypeReadable(uint32_t type);

/* Elements per block (1 for F32/F16/BF16) and bytes per block; 0 for types
 * ffnscope does not read. */
int ggmlBlockElements(uint32_t type);
int ggmlBlockBytes(uint32_t type);

/* "F32, F16, BF16, Q4_0, ...": the readable types, for error messages. */
const char *ggmlReadableList(void);

/* The first block (0-based) of data[0 .. n_blocks) whose scale (d, and the
 * min dmin / m where the layout has one) is an f16 Inf or NaN, or -1 when
 * every one is finite. Plain float types have no scales: always -1. */
int64_t ggmlFindBadScale(uint32_t type, const void *data, int64_t n_blocks);

/* Widens rows first_row .. first_row + n_rows of a row-major matrix whose
 * rows hold row_len elements of `type` (data is the start of row 0, may be
 * unaligned) into out[n_rows * row_len]. -1 with err (EXIT_RUNTIME: a
 * caller's bug, not a file's) when the type is not readable, row_len is not
 * a whole number of blocks, or a count is negative. */
int ggmlDequantRows(uint32_t type, const void *data, int64_t row_len, int64_t first_row, int64_t n_rows,
                    float *out, Error *err);

/* The type mix of a set of tensors: "Q4_K 67%, Q6_K 12%, F32 21%", types in
 * descending order of elements (then by type id), each type once however
 * many entries name it, shares rounded to whole percents ("<1%" for a share
 * that rounds to 0). Writes at most len bytes, always NUL-terminated; returns
 * the length of the full text, like snprintf. */
typedef struct GgmlTypeCount {
    uint32_t type;
    int64_t elements;
} GgmlTypeCount;
int ggmlFormatTypeMix(const GgmlTypeCount *items, int n, char *buf, size_t len);

#endif
