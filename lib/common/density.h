/*
 * The Gaussian log-density kernel shared by model scoring, the E-step and
 * posterior plans: residuals whitened by a triangular factor, their
 * squared norms, and log pi_k + log N from them.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_DENSITY_H
#define GMMP_DENSITY_H

#include <stddef.h>

/* Row i of z (n x d) becomes L^{-1}(x_i - m), i.e. (x_i - m)^T L^{-T},
 * with l_inv the lower triangular inverse factor (d x d, row-major): one
 * BLAS-3 triangular multiply for the whole block. */
void gmmp__whiten_tri(const double *X, size_t n, size_t d, const double *m, const double *l_inv,
                      double *z);

/* lp[i * stride] = base - 1/2 sum_j z_ij^2 iv_j for the n rows of z
 * (n x d); iv NULL means iv_j = 1 (residuals whitened already). */
void gmmp__log_density(const double *z, size_t n, size_t d, const double *iv, double base,
                       double *lp, size_t stride);

#endif /* GMMP_DENSITY_H */
