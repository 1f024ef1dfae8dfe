/*
 * The expectation step on a block of samples: weighted log-densities,
 * responsibilities and per-sample log-likelihoods. Used by model scoring,
 * the trainer and the streaming statistics alike.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_ESTEP_H
#define GMMP_ESTEP_H

#include <stddef.h>

#include "model.h"

/* Rows per block: large enough for BLAS-3 efficiency, small enough that the
 * n x d workspace stays in the tens of megabytes for d = 256. */
#define GMMP__BLOCK_ROWS 2048

/* lp (n x K) receives log weights[k] + log N(x_i; mu_k, Sigma_k) for the n
 * rows of X. `work` holds n * d doubles. One triangular solve per
 * component: for the Mahalanobis distances ||L_k^{-1}(x - mu_k)||^2. */
void gmmp__log_prob(const gmmp_model *m, const double *X, size_t n, double *lp, double *work);

/* Turns each row of lp (n x K) into log responsibilities in place, by the
 * log-sum-exp of the row, which goes to logpdf[i] (log p(x_i)). */
void gmmp__log_normalize(double *lp, size_t n, size_t K, double *logpdf);

#endif /* GMMP_ESTEP_H */
