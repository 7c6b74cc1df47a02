#ifndef FFNSCOPE_COVACC_H
#define FFNSCOPE_COVACC_H

#include <stddef.h>
#include <stdint.h>

#include "ffnscope/error.h"

/* Mergeable covariance accumulator: count, mean and centred scatter in float64,
 * updated from float32 batches with BLAS-3 (never token by token) and merged
 * exactly with Chan et al.'s pairwise update. Memory is O(D^2), independent of
 * the number of rows seen. */
typedef struct Covacc {
    int dim;                 /* D */
    int64_t count;           /* finite rows accumulated */
    int64_t nonfinite_rows;  /* rows dropped because they held NaN/Inf */
    double *mean;            /* [D] */
    double *scatter;         /* [D*D] row-major, sum of (x-mean)(x-mean)^T; upper triangle authoritative */
    void *scratch;           /* private batch buffers */
    size_t scratch_len;
} Covacc;

Covacc *covaccNew(int dim);
void covaccFree(Covacc *acc);
void covaccReset(Covacc *acc);

/* Adds `rows` rows of `dim` floats, row i at x + i*ld. Rows holding NaN/Inf are
 * dropped and counted. Returns -1 only on allocation failure. */
int covaccAddF32(Covacc *acc, const float *x, size_t rows, size_t ld, Error *err);

/* Adds float64 rows (same layout). */
int covaccAddF64(Covacc *acc, const double *x, size_t rows, size_t ld, Error *err);

/* dst += src (same dim). Exact combination of the two sample sets. */
int covaccMerge(Covacc *dst, const Covacc *src, Error *err);

/* Rows per BLAS block: batches are split into blocks of this many rows, so a
 * reader streaming a file should hand over multiples of it. */
int covaccBatchRows(int dim);

/* Unbiased covariance scatter/(count-1) into out [D*D] (full, symmetric).
 * Requires count >= 2. */
int covaccCovariance(const Covacc *acc, double *out, Error *err);

#endif
