/*
 * The expectation step on a block of samples: weighted log-densities,
 * responsibilities and per-sample log-likelihoods. Used by model scoring,
 * the trainer and the streaming statistics alike.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_ESTEP_H
#define GMMP_ESTEP_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* Rows per block: large enough for BLAS-3 efficiency, small enough that the
 * n x d workspace stays in the tens of megabytes for d = 256. */
#define GMMP__BLOCK_ROWS 2048

/* A model's view for single-precision E-steps (GMMP_OPT_PRECISION): float
 * copies of the inverse Cholesky factors of the components that pass the
 * safety test of single.h; the others stay double. */
typedef struct gmmp__single_view {
    size_t K, d;
    float *chol_inv; /* K x d x d, filled for components with single[k] */
    bool *single;    /* K: component k's products run in single precision */
    size_t n_single; /* how many do */
} gmmp__single_view;

/* Allocates a view for K components of dimension d (not yet filled). */
int gmmp__single_view_alloc(gmmp__single_view *v, size_t K, size_t d);
void gmmp__single_view_free(gmmp__single_view *v);

/* Fills the view from the model: decides per component, converts the
 * factors of those that run in single. data_ok false (data beyond
 * GMMP__SINGLE_MAX_ABS) sends every component to double. Like
 * gmmp__log_prob, only after gmmp__model_prepare_scoring(m). */
void gmmp__single_view_fill(gmmp__single_view *v, const gmmp_model *m, bool data_ok);

/* lp (n x K) receives log weights[k] + log N(x_i; mu_k, Sigma_k) for the n
 * rows of X. `work` holds n * d doubles. One triangular product per
 * component: for the Mahalanobis distances ||L_k^{-1}(x - mu_k)||^2. With
 * a view (not NULL), the components it marks run in single precision,
 * in `work_f` (n * d floats). Needs gmmp__model_prepare_scoring(m)
 * first. */
void gmmp__log_prob(const gmmp_model *m, const gmmp__single_view *view, const double *X,
                    size_t n, double *lp, double *work, float *work_f);

/* Turns each row of lp (n x K) into log responsibilities in place, by the
 * log-sum-exp of the row, which goes to logpdf[i] (log p(x_i)). */
void gmmp__log_normalize(double *lp, size_t n, size_t K, double *logpdf);

#endif /* GMMP_ESTEP_H */
