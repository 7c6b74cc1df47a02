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
    void *scratch;           /* batch buffers, possibly shared (covaccNewSharing) */
} Covacc;

Covacc *covaccNew(int dim);
/* Like covaccNew, but when peer has the same width the two share their batch
 * buffers (a float64 block of up to 32 MB): a model's layers are fed one after
 * another, so they need one block between them, not one each. Accumulators
 * sharing buffers must not be fed from two threads at once. */
Covacc *covaccNewSharing(int dim, Covacc *peer);
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

/* The last step of an accumulator: scales the scatter in place into the
 * unbiased covariance and returns it, D*D row-major with the upper triangle
 * set (the lower one undefined: eigenSymmetric reads only the upper), saving
 * a D*D copy. The accumulator is spent: only covaccFree may follow. Requires
 * count >= 2. */
double *covaccTakeCovariance(Covacc *acc, Error *err);

#endif
