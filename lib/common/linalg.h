/*
 * Thin wrappers over CBLAS/LAPACKE for row-major matrices, so that every
 * caller uses the same conventions (lower Cholesky factors, no hidden
 * transposition copies).
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_LINALG_H
#define GMMP_LINALG_H

#include <stddef.h>

/* Largest dimension handed to BLAS/LAPACK, whose sizes are int. */
#define GMMP__MAX_BLAS_DIM 1000000000u

/* Largest matrix order (a model's d, an observation's p): dsyevd's
 * workspace, 1 + 6n + 2n^2 doubles, must fit LAPACK's 32-bit integers. */
#define GMMP__MAX_ORDER 32000u

/* In-place Cholesky factorisation A = L L^T of a symmetric d x d matrix
 * (row-major; only the lower triangle is read). On success L is in the
 * lower triangle and the strict upper triangle is zeroed. Returns 0, the
 * 1-based order of the leading minor that is not positive definite, or a
 * negative GMMP_E* code (message set) when LAPACK itself failed. */
int gmmp__cholesky(double *a, size_t d);

/* In-place inverse of a lower triangular d x d matrix (row-major). Returns
 * 0, the 1-based index of a zero diagonal entry, or a negative GMMP_E*
 * code (message set) when LAPACK itself failed. */
int gmmp__tri_inverse(double *l, size_t d);

/* log det(A) = 2 sum log L_ii, from A's lower Cholesky factor. */
double gmmp__chol_logdet(const double *l, size_t d);

/* Rejects a matrix whose two triangles differ by more than rounding (1e-10
 * of the larger diagonal entry) with GMMP_ENOTSPD; `what` names it in the
 * message ("covariance of component 3"). */
int gmmp__check_symmetric(const double *a, size_t d, const char *what);

/* Copies the lower triangle of a row-major d x d matrix onto its upper one. */
void gmmp__symmetrize_lower(double *a, size_t d);

/* Symmetric eigendecomposition A = U diag(lambda) U^T of a row-major d x d
 * matrix. On return, row j of `vectors_t` is the eigenvector of lambda[j]
 * (so vectors_t holds U^T), eigenvalues ascending. `a` is destroyed.
 * Returns GMMP_OK or a GMMP_E* code with a message naming `what`. */
int gmmp__eigh(double *a, size_t d, double *lambda, double *vectors_t, const char *what);

/* The eigenvalues alone (ascending) of a symmetric d x d matrix, lower
 * triangle read, `a` destroyed: several times faster than gmmp__eigh when
 * the vectors are not needed. */
int gmmp__eigvalsh(double *a, size_t d, double *lambda, const char *what);

/* The largest eigenpair of a symmetric d x d matrix (lower triangle read):
 * *lambda and the unit vector u (d). scratch holds d*d + d doubles (dsyevr
 * needs room for all d eigenvalues even when it returns one). */
int gmmp__eigh_top(const double *a, size_t d, double *lambda, double *u, double *scratch,
                   const char *what);

#endif /* GMMP_LINALG_H */
