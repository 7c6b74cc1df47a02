#ifndef FFNSCOPE_EIGEN_H
#define FFNSCOPE_EIGEN_H

#include "ffnscope/error.h"

/* Eigenvalues of the symmetric D x D matrix `a` (row-major, only its upper
 * triangle read, destroyed), values only, written to eig sorted descending
 * with negative round-off clamped to 0. Runs on one BLAS thread; when
 * OpenBLAS is already set to one thread, several may run at once. */
int eigenSymmetric(double *a, int dim, double *eig, Error *err);

/* Like eigenSymmetric, and the eigenvectors of the k largest eigenvalues:
 * vecs [k * dim] column-major (vector j at vecs + j*dim, unit length, in
 * ascending order of their values). Slower than eigenSymmetric (eigen.c). */
int eigenSymmetricTop(double *a, int dim, double *eig, int k, double *vecs, Error *err);

#endif
