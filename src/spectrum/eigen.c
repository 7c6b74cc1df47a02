#include "ffnscope/eigen.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>

static int cmpDesc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* dsyevd with jobz='N' is the same path numpy's eigvalsh takes: Householder
 * tridiagonalisation, then the root-free QR (dsterf) on the tridiagonal. The
 * matrix is symmetric, so its row-major upper triangle is the column-major
 * lower one and no transposed copy is needed. */
int eigenSymmetric(double *a, int dim, double *eig, Error *err)
{
    if (dim <= 0) return errorSet(err, EXIT_RUNTIME, "eigenvalues: bad dimension %d", dim);
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'L', dim, a, dim, eig);
    if (info < 0) return errorSet(err, EXIT_RUNTIME, "eigenvalues: LAPACKE_dsyevd argument %d invalid", (int)-info);
    if (info > 0) return errorSet(err, EXIT_RUNTIME, "eigenvalues: dsyevd did not converge (%d)", (int)info);
    for (int i = 0; i < dim; i++)
        if (isnan(eig[i])) return errorSet(err, EXIT_RUNTIME, "eigenvalues: the matrix holds NaN");
    qsort(eig, (size_t)dim, sizeof *eig, cmpDesc);
    for (int i = 0; i < dim; i++)
        if (eig[i] < 0) eig[i] = 0; /* round-off of a positive semi-definite matrix */
    return 0;
}
