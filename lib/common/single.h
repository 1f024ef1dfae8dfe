/*
 * Single-precision kernels for the heavy products (GMMP_OPT_PRECISION),
 * and the tests that decide where single precision is accurate enough.
 *
 * The split, everywhere: residuals are formed in double and only then
 * rounded to float, so no cancellation happens in single precision; the
 * O(n d^2) products (whitening, posterior-mean maps) run in float; squared
 * norms, log-sum-exp, the M-step's moments, sums across blocks, the
 * model's factors and every final result stay double. docs/math.md gives the
 * error analysis behind the limits below.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_SINGLE_H
#define GMMP_SINGLE_H

#include <stdbool.h>
#include <stddef.h>

/* Largest condition number of a whitening (kappa of L_C, the Cholesky
 * factor of the correlation matrix, or of the eigenbasis's scaling) for
 * which a component runs in single precision: the first-order bound on
 * the whitened residuals' relative error, u kappa with u = 2^-24, is then
 * 6e-3, and what was measured is orders of magnitude below the bound. */
#define GMMP__SINGLE_MAX_KAPPA 1e5

/* Values (data, means, standard deviations) single precision must hold:
 * |x| <= 2^40 and standard deviations in [2^-40, 2^40], so that residuals
 * and whitened residuals (a residual over a standard deviation, at most
 * about 2^81 for an outlier) stay within float's range (2^128) and away
 * from its subnormals (below 2^-126), where rounding stops being
 * relative. Squares are formed in double. */
#define GMMP__SINGLE_MAX_ABS 0x1p40
#define GMMP__SINGLE_MIN_SCALE 0x1p-40

/* z (n x d, float) = rounded (X - m), the residuals formed in double; m
 * may be NULL (zero). */
void gmmp__residual_single(const double *restrict X, size_t n, size_t d,
                           const double *restrict m, float *restrict z);

/* z = rounded (X - m) L^{-T}: gmmp__whiten_tri with the product in single
 * precision (l_inv_f the float copy of the inverse factor). */
void gmmp__whiten_tri_single(const double *X, size_t n, size_t d, const double *m,
                             const float *l_inv_f, float *z);

/* gmmp__log_density for float residuals; the squared norm is summed in
 * double. */
void gmmp__log_density_single(const float *z, size_t n, size_t d, const double *iv, double base,
                              double *lp, size_t stride);

/* Rounds n doubles to float. */
void gmmp__to_single(const double *x, size_t n, float *out);

/* Largest |x| of n values. */
double gmmp__max_abs(const double *x, size_t n);

/* An upper bound on the condition number of the Cholesky factor of the
 * correlation matrix of Sigma = L L^T, from Sigma's diagonal (d values,
 * diag_stride apart: d + 1 for a whole row-major matrix) and L^{-1}
 * (lower, row-major): sqrt(tr C tr C^{-1}) = sqrt(d sum_i Sigma_ii
 * (Sigma^{-1})_ii), which is >= sqrt(lambda_max(C) / lambda_min(C)).
 * Scale-free: the componentwise error bounds of the float products do not
 * depend on the variables' units, only on their correlations. */
double gmmp__whitening_kappa(const double *diag, size_t diag_stride, const double *l_inv,
                             size_t d);

/* Whether a covariance with this whitening condition number and these
 * variances (its diagonal, d values) runs safely in single precision. */
bool gmmp__single_ok(double kappa, const double *cov_diag, size_t d, size_t diag_stride);

#endif /* GMMP_SINGLE_H */
