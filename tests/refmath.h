/*
 * Slow, textbook reference computations for the tests: Gaussian
 * elimination with partial pivoting for inverses and determinants,
 * Gaussian densities from them, Jacobi rotations for eigenvectors.
 * Deliberately independent of BLAS/LAPACK.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_REFMATH_H
#define GMMP_REFMATH_H

#include <stddef.h>

/* inv = A^{-1} of an n x n matrix; returns log|det A|. */
double ref_inverse(const double *a, size_t n, double *inv);

/* C (n x m) = A (n x k) B (k x m). */
void ref_matmul(const double *a, const double *b, size_t n, size_t k, size_t m, double *c);

/* B = A^T for an n x m matrix A. */
void ref_transpose(const double *a, size_t n, size_t m, double *b);

/* log N(x; mu, S) of a d-dimensional x. */
double ref_log_gauss(const double *x, const double *mu, const double *cov, size_t d);

/* log p(x) and responsibilities (K) of one sample under a mixture. */
double ref_mixture(const double *x, size_t K, size_t d, const double *w, const double *mu,
                   const double *cov, double *resp);

/* Eigenvalues (ascending) and eigenvectors (row j of vt for lambda[j]) of
 * a symmetric n x n matrix, by cyclic Jacobi rotations. */
void ref_sym_eigen(const double *a, size_t n, double *lambda, double *vt);

#endif
