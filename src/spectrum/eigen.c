#include "ffnscope/eigen.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

/* Values and the top k vectors from one tridiagonal reduction: the
 * two-stage reduction cannot keep the transform, so this takes the one-stage
 * dsytrd (slower: only expert streams, whose subspaces are compared, use
 * it), then every value from the tridiagonal by dsterf, the k largest
 * vectors of the tridiagonal by MRRR (dstemr, O(D k)) and dormtr's
 * back-transform (O(D^2 k)). */
int eigenSymmetricTop(double *a, int dim, double *eig, int k, double *vecs, Error *err)
{
    if (dim <= 0 || k <= 0 || k > dim)
        return errorSet(err, EXIT_RUNTIME, "eigenvectors: bad dimension %d or count %d", dim, k);
    threadsBlasSingle();
    size_t n = (size_t)dim;
    /* d, e, tau: the reduction; ew: dsterf's copy of e; w: dstemr's values */
    double *buf = calloc(5 * n, sizeof *buf);
    lapack_int *support = malloc(2 * (size_t)k * sizeof *support);
    if (!buf || !support) {
        free(buf);
        free(support);
        return errorNoMem(err, "eigenvectors");
    }
    double *d = buf, *e = d + n, *tau = e + n, *ew = tau + n, *w = ew + n;
    lapack_int found = 0, tryrac = 1, info;
    int rc = 0;
    if ((info = LAPACKE_dsytrd(LAPACK_COL_MAJOR, 'L', dim, a, dim, d, e, tau))) {
        rc = errorSet(err, EXIT_RUNTIME, "eigenvectors: LAPACKE_dsytrd failed (%d)", (int)info);
        goto out;
    }
    memcpy(eig, d, n * sizeof *eig);
    memcpy(ew, e, n * sizeof *ew);
    if ((info = LAPACKE_dsterf(dim, eig, ew))) {
        rc = errorSet(err, EXIT_RUNTIME, "eigenvalues: dsterf did not converge (%d)", (int)info);
        goto out;
    }
    for (int i = 0; i < dim; i++)
        if (isnan(eig[i])) {
            rc = errorSet(err, EXIT_RUNTIME, "eigenvalues: the matrix holds NaN");
            goto out;
        }
    info = LAPACKE_dstemr(LAPACK_COL_MAJOR, 'V', 'I', dim, d, e, 0, 0, dim - k + 1, dim, &found, w, vecs, dim, k,
                          support, &tryrac);
    if (info || found != k) {
        rc = errorSet(err, EXIT_RUNTIME, "eigenvectors: dstemr failed (%d, %d of %d found)", (int)info, (int)found, k);
        goto out;
    }
    if ((info = LAPACKE_dormtr(LAPACK_COL_MAJOR, 'L', 'L', 'N', dim, k, a, dim, tau, vecs, dim))) {
        rc = errorSet(err, EXIT_RUNTIME, "eigenvectors: dormtr failed (%d)", (int)info);
        goto out;
    }
    qsort(eig, n, sizeof *eig, cmpDesc);
    for (int i = 0; i < dim; i++)
        if (eig[i] < 0) eig[i] = 0;
out:
    free(buf);
    free(support);
    return rc;
}
