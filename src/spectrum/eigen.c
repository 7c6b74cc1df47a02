#include "ffnscope/eigen.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

#include "util/threads.h"

static int cmpDesc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* Values only, by the two-stage reduction (dsyevd_2stage): dense to band with
 * BLAS-3, band to tridiagonal by bulge chasing, then the root-free QR
 * (dsterf). numpy's eigvalsh takes the one-stage dsyevd, whose Householder
 * tridiagonalisation spends half its flops in dsymv, memory-bound and synced
 * across threads every column. On a 2-core machine with the cores shared
 * (bench/spectrum.sh, BENCHMARKS.md) at D = 3072: one-stage with 2 BLAS
 * threads 11-13 s, with 1 thread 4.3 s, two-stage with 1 thread 2.7 s; so the
 * solve runs on one BLAS thread, where ffnscope keeps BLAS anyway
 * (util/threads.h); callers that solve several matrices at once (the worker's
 * final refresh) give each its own thread. The matrix is symmetric, so its
 * row-major upper triangle is the column-major lower one and no transposed
 * copy is needed. */
int eigenSymmetric(double *a, int dim, double *eig, Error *err)
{
    if (dim <= 0) return errorSet(err, EXIT_RUNTIME, "eigenvalues: bad dimension %d", dim);
    threadsBlasSingle();
    lapack_int info = LAPACKE_dsyevd_2stage(LAPACK_COL_MAJOR, 'N', 'L', dim, a, dim, eig);
    if (info < 0)
        return errorSet(err, EXIT_RUNTIME, "eigenvalues: LAPACKE_dsyevd_2stage argument %d invalid", (int)-info);
    if (info > 0) return errorSet(err, EXIT_RUNTIME, "eigenvalues: dsyevd_2stage did not converge (%d)", (int)info);
    for (int i = 0; i < dim; i++)
        if (isnan(eig[i])) return errorSet(err, EXIT_RUNTIME, "eigenvalues: the matrix holds NaN");
    qsort(eig, (size_t)dim, sizeof *eig, cmpDesc);
    for (int i = 0; i < dim; i++)
        if (eig[i] < 0) eig[i] = 0; /* round-off of a positive semi-definite matrix */
    return 0;
}
