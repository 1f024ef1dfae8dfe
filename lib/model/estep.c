/*
 * Expectation step on a block of samples.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>

#include "estep.h"

void gmmp__log_prob(const gmmp_model *m, const double *X, size_t n, double *lp, double *work)
{
    const size_t K = m->K, d = m->d;
    for (size_t k = 0; k < K; k++) {
        const double *mu = m->means + k * d;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++)
                work[i * d + j] = X[i * d + j] - mu[j];
        /* Row i becomes (L_k^{-1}(x_i - mu_k))^T = d_i^T L_k^{-T}. */
        cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n,
                    (int)d, 1.0, m->chol_inv + k * d * d, (int)d, work, (int)d);
        const double base = m->log_weights[k] + m->log_norm[k];
        for (size_t i = 0; i < n; i++) {
            const double *z = work + i * d;
            double q = 0.0;
            for (size_t j = 0; j < d; j++)
                q += z[j] * z[j];
            lp[i * K + k] = base - 0.5 * q;
        }
    }
}

void gmmp__log_normalize(double *lp, size_t n, size_t K, double *logpdf)
{
    for (size_t i = 0; i < n; i++) {
        double *row = lp + i * K;
        double top = -INFINITY;
        for (size_t k = 0; k < K; k++)
            top = fmax(top, row[k]);
        /* Every term -inf only if every weight is zero where x lies; the
         * weights sum to one, so some weight is positive and top > -inf
         * unless a density underflows; guard anyway. */
        double s = 0.0;
        if (isfinite(top))
            for (size_t k = 0; k < K; k++)
                s += exp(row[k] - top);
        double lse = isfinite(top) ? top + log(s) : top;
        logpdf[i] = lse;
        for (size_t k = 0; k < K; k++)
            row[k] = isfinite(top) ? row[k] - lse : -log((double)K);
    }
}
