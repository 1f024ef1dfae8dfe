/*
 * The posterior plan's layout, shared by its creation and execution.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_PLAN_H
#define GMMP_PLAN_H

#include <stdbool.h>

#include "eigen.h"
#include "gmmprior/posterior.h"

struct gmmp_plan {
    size_t K, d, p;
    unsigned threads;
    double skip;
    double *log_weights; /* K */
    double *means;       /* K x d */
    double *log_norm;    /* K: -1/2 (p log 2pi + log det S_k) */
    double *b;           /* p offsets (zeros when none) */

    /* Denoising (W = I, Sigma_y = sigma2 I): the model's eigenbases. */
    bool eigen_path;
    gmmp__eigen *eig;    /* shared with the model, reference counted */
    double sigma2;
    double *inv_var;     /* K x d: 1 / (lambda + sigma2) */
    double *gain;        /* K x d: lambda / (lambda + sigma2), the Wiener gains */

    /* Any W and noise: whitened residuals z = L_S^{-1}(y - W mu_k - b). */
    double *obs_means;   /* K x p: W mu_k + b */
    double *s_chol_inv;  /* K x p x p: L_S^{-1}, lower, S_k = L_S L_S^T */
    double *gain_t;      /* K x p x d: G_k = L_S^{-1} W Sigma_k, so mu_{k|y} = mu_k + z^T G_k */
    double *covs;        /* K x d x d: Sigma_k, for the posterior covariances (and masks) */

    /* Masked observations (W = I, scalar or diagonal noise): any subset of
     * each patch's pixels, with these noise variances. NULL otherwise. */
    double *noise_diag;  /* d */
};

/* Rows one worker handles at a time: the whitened residuals of all K
 * components for these rows are kept, about 8 MB. */
size_t gmmp__plan_block_rows(const gmmp_plan *plan);

#endif /* GMMP_PLAN_H */
