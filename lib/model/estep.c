/*
 * Expectation step on a block of samples.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "density.h"
#include "estep.h"
#include "internal.h"
#include "single.h"

int gmmp__single_view_alloc(gmmp__single_view *v, size_t K, size_t d)
{
    *v = (gmmp__single_view){.K = K, .d = d};
    v->chol_inv = gmmp__alloc_array(K * d, d * sizeof(float));
    v->single = gmmp__calloc_array(K, sizeof(bool));
    if (!v->chol_inv || !v->single) {
        gmmp__single_view_free(v);
        return gmmp__fail_nomem();
    }
    return GMMP_OK;
}

void gmmp__single_view_free(gmmp__single_view *v)
{
    gmmp__free(v->chol_inv);
    gmmp__free(v->single);
    *v = (gmmp__single_view){0};
}

void gmmp__single_view_fill(gmmp__single_view *v, const gmmp_model *m, bool data_ok)
{
    const size_t d = m->d;
    v->n_single = 0;
    for (size_t k = 0; k < m->K; k++) {
        const double *cov = m->covs + k * d * d, *l_inv = m->chol_inv + k * d * d;
        v->single[k] = data_ok && gmmp__max_abs(m->means + k * d, d) <= GMMP__SINGLE_MAX_ABS &&
                       gmmp__single_ok(gmmp__whitening_kappa(cov, d + 1, l_inv, d), cov, d, d + 1);
        if (v->single[k]) {
            gmmp__to_single(l_inv, d * d, v->chol_inv + k * d * d);
            v->n_single++;
        }
    }
}

void gmmp__log_prob(const gmmp_model *m, const gmmp__single_view *view, const double *X,
                    size_t n, double *lp, double *work, float *work_f)
{
    const size_t K = m->K, d = m->d;
    for (size_t k = 0; k < K; k++) {
        double base = m->log_weights[k] + m->log_norm[k];
        if (view && view->single[k]) {
            gmmp__whiten_tri_single(X, n, d, m->means + k * d, view->chol_inv + k * d * d,
                                    work_f);
            gmmp__log_density_single(work_f, n, d, NULL, base, lp + k, K);
        } else {
            gmmp__whiten_tri(X, n, d, m->means + k * d, m->chol_inv + k * d * d, work);
            gmmp__log_density(work, n, d, NULL, base, lp + k, K);
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
        /* (row - top) - log s, not row - (top + log s): when |top| is
         * large, top + log s rounds log s away (at |top| = 1e10 the
         * responsibilities of tied components summed to 0.74). */
        const double log_s = log(s);
        logpdf[i] = isfinite(top) ? top + log_s : top;
        for (size_t k = 0; k < K; k++)
            row[k] = isfinite(top) ? (row[k] - top) - log_s : -log((double)K);
    }
}
