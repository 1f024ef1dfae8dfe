/*
 * The M-step: a model from sufficient statistics, with re-seeding of
 * components that received no samples.
 * SPDX-License-Identifier: MIT
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "linalg.h"
#include "stats.h"

/* Below this many effective samples a component cannot be estimated. */
#define EMPTY_COMPONENT 1e-3

/* Replaces component `empty` by half of component `big`, split along big's
 * principal axis: the two halves sit at mu -+ sqrt(lambda)/2 u and keep
 * big's covariance minus the variance that the split explains. */
static int split_component(gmmp_model *m, size_t empty, size_t big, double *scratch)
{
    const size_t d = m->d;
    double lambda, *u = scratch + d * d + d;
    char what[48];
    snprintf(what, sizeof what, "covariance %zu", big);
    int rc = gmmp__eigh_top(m->covs + big * d * d, d, &lambda, u, scratch, what);
    if (rc)
        return rc;
    double half = 0.5 * sqrt(fmax(lambda, 0.0));
    double *mb = m->means + big * d, *me = m->means + empty * d;
    double *cb = m->covs + big * d * d, *ce = m->covs + empty * d * d;
    for (size_t j = 0; j < d; j++) {
        me[j] = mb[j] + half * u[j];
        mb[j] -= half * u[j];
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            cb[i * d + j] -= half * half * u[i] * u[j];
    memcpy(ce, cb, d * d * sizeof *cb);
    m->weights[big] *= 0.5;
    m->weights[empty] = m->weights[big];
    return GMMP_OK;
}

int gmmp__m_step_into(const gmmp_stats *st, double reg_covar, gmmp_model *m, size_t *n_split,
                      const char *hint)
{
    const size_t K = st->K, d = st->d;
    /* scikit-learn adds 10 eps to every N_k so that no division is by 0. */
    const double tiny = 10.0 * DBL_EPSILON;
    double total = 0.0;
    for (size_t k = 0; k < K; k++)
        total += st->total.nk[k] + tiny;
    size_t splits = 0;
    for (size_t k = 0; k < K; k++) {
        double nk = st->total.nk[k] + tiny;
        const double *s1 = st->total.s1 + k * d;
        const double *s2 = st->total.s2 + k * d * d;
        const double *c = st->shift + k * d;
        double *mean = m->means + k * d;
        double *cov = m->covs + k * d * d;
        m->weights[k] = nk / total;
        /* With y = x - c and delta = sum r y / N_k, the scatter about the
         * new mean is S2 - (2 N_k - sum r) delta delta^T (exact, also with
         * the 10 eps that N_k carries). */
        double factor = 2.0 - st->total.nk[k] / nk;
        for (size_t j = 0; j < d; j++)
            mean[j] = s1[j] / nk;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++)
                cov[i * d + j] = s2[i * d + j] / nk - factor * mean[i] * mean[j];
        for (size_t j = 0; j < d; j++) {
            cov[j * d + j] += reg_covar;
            mean[j] += c[j];
        }
        gmmp__symmetrize_lower(cov, d);
    }
    for (size_t k = 0; k < K; k++) {
        if (st->total.nk[k] >= EMPTY_COMPONENT)
            continue;
        size_t big = 0;
        for (size_t j = 1; j < K; j++)
            if (m->weights[j] > m->weights[big])
                big = j;
        double *scratch = gmmp__alloc_array(d * d + 2 * d, sizeof(double));
        if (!scratch)
            return gmmp__fail_nomem();
        int rc = split_component(m, k, big, scratch);
        gmmp__free(scratch);
        if (rc)
            return rc;
        splits++;
    }
    if (splits > 0) {
        /* The empty components' own tiny weights went to the split. */
        double sum = 0.0;
        for (size_t k = 0; k < K; k++)
            sum += m->weights[k];
        for (size_t k = 0; k < K; k++)
            m->weights[k] /= sum;
    }
    if (n_split)
        *n_split = splits;
    return gmmp__model_factor(m, hint, (gmmp__exec_threads){1, false});
}

int gmmp_stats_m_step(const gmmp_stats *st, double reg_covar, gmmp_model **out,
                      size_t *n_split)
{
    if (!st || !out)
        return gmmp__fail(GMMP_EINVAL, "statistics or output is NULL");
    if (!(reg_covar >= 0.0) || !isfinite(reg_covar))
        return gmmp__fail(GMMP_EINVAL, "reg_covar must be finite and non-negative, not %g",
                          reg_covar);
    if (!st->bound || st->total.count <= 0.0)
        return gmmp__fail(GMMP_EINVAL, "the statistics hold no samples");
    gmmp_model *m;
    int rc = gmmp__model_alloc(&m, st->K, st->d);
    if (rc)
        return rc;
    char hint[160];
    snprintf(hint, sizeof hint,
             "increase reg_covar (now %g) or rescale the data", reg_covar);
    size_t splits = 0;
    if ((rc = gmmp__m_step_into(st, reg_covar, m, &splits, hint))) {
        gmmp_model_destroy(m);
        return rc; /* *n_split untouched, like every output on failure */
    }
    if (n_split)
        *n_split = splits;
    *out = m;
    return GMMP_OK;
}
