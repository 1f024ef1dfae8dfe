/*
 * Expectation step on a block of samples.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "density.h"
#include "estep.h"

void gmmp__log_prob(const gmmp_model *m, const double *X, size_t n, double *lp, double *work)
{
    const size_t K = m->K, d = m->d;
    for (size_t k = 0; k < K; k++) {
        gmmp__whiten_tri(X, n, d, m->means + k * d, m->chol_inv + k * d * d, work);
        gmmp__log_density(work, n, d, NULL, m->log_weights[k] + m->log_norm[k], lp + k, K);
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
