/*
 * MAP adaptation of a mixture to data (Reynolds, Quatieri and Dunn,
 * Digital Signal Processing 10, 2000; for patch priors, Luo, Chan and
 * Nguyen, "Adaptive image denoising by mixture adaptation", IEEE TIP 25,
 * 2016): one EM step under a conjugate hyper-prior centred on the prior
 * model. Each component moves from the prior towards the moments of the
 * data it is responsible for by alpha_k = N_k / (N_k + relevance), so a
 * component the data hardly visit stays as it was, and one they visit
 * often becomes theirs.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "linalg.h"
#include "stats.h"
#include "workers.h"

/* Component k of `out` from the prior's and the data's moments. In the
 * statistics' coordinates y = x - c (c: the shift they were bound to),
 * with e = mu_k - c the prior mean and delta = S1 / N_k the data's:
 *   mu'    = c + f,  f = alpha delta + (1 - alpha) e
 *   Sigma' = alpha S2 / N_k + (1 - alpha)(Sigma_k + e e^T) - f f^T + reg I,
 * the second moments blended, then centred on the new mean. */
static void adapt_component(const gmmp_stats *st, const gmmp_model *prior, size_t k,
                            double alpha, double reg_covar, gmmp_model *out)
{
    const size_t d = st->d;
    const double nk = st->total.nk[k];
    const double *s1 = st->total.s1 + k * d, *s2 = st->total.s2 + k * d * d;
    const double *c = st->shift + k * d, *mu = prior->means + k * d;
    const double *cov = prior->covs + k * d * d;
    double *mean = out->means + k * d, *cv = out->covs + k * d * d;
    /* mean holds f until the end. */
    for (size_t j = 0; j < d; j++) {
        double delta = alpha > 0.0 ? s1[j] / nk : 0.0;
        mean[j] = alpha * delta + (1.0 - alpha) * (mu[j] - c[j]);
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j <= i; j++) {
            double data = alpha > 0.0 ? alpha * s2[i * d + j] / nk : 0.0;
            double e2 = (mu[i] - c[i]) * (mu[j] - c[j]);
            cv[i * d + j] = data + (1.0 - alpha) * (cov[i * d + j] + e2) - mean[i] * mean[j];
        }
    for (size_t j = 0; j < d; j++) {
        cv[j * d + j] += reg_covar;
        mean[j] += c[j];
    }
    gmmp__symmetrize_lower(cv, d);
}

/* The components shared among threads, claimed one at a time: each is
 * computed alike whichever thread takes it. */
typedef struct adapt_job {
    const gmmp_stats *st;
    const gmmp_model *prior;
    double relevance, reg_covar;
    gmmp_model *out;
    gmmp__queue queue;
} adapt_job;

/* alpha_k = N_k / (N_k + relevance); with relevance 0 an unvisited
 * component has no data to move to. */
static double alpha_of(const gmmp_stats *st, size_t k, double relevance)
{
    double nk = st->total.nk[k];
    return nk > 0.0 ? nk / (nk + relevance) : 0.0;
}

static void *adapt_worker(void *arg)
{
    adapt_job *job = *(adapt_job **)arg;
    size_t k;
    while (gmmp__queue_claim(&job->queue, &k))
        adapt_component(job->st, job->prior, k, alpha_of(job->st, k, job->relevance),
                        job->reg_covar, job->out);
    return NULL;
}

int gmmp_stats_adapt(const gmmp_stats *st, const gmmp_model *prior, double relevance,
                     double reg_covar, gmmp_model **out)
{
    return gmmp__stats_adapt_on(st, prior, relevance, reg_covar, (gmmp__exec_threads){1, false},
                                out);
}

int gmmp__stats_adapt_on(const gmmp_stats *st, const gmmp_model *prior, double relevance,
                         double reg_covar, gmmp__exec_threads threads, gmmp_model **out)
{
    if (!st || !prior || !out)
        return gmmp__fail(GMMP_EINVAL, "statistics, prior or output is NULL");
    if (!(relevance >= 0.0) || !isfinite(relevance))
        return gmmp__fail(GMMP_EINVAL, "relevance must be finite and non-negative, not %g",
                          relevance);
    if (!(reg_covar >= 0.0) || !isfinite(reg_covar))
        return gmmp__fail(GMMP_EINVAL, "reg_covar must be finite and non-negative, not %g",
                          reg_covar);
    if (st->K != prior->K || st->d != prior->d)
        return gmmp__fail(GMMP_EDIM,
                          "the statistics are for %zu components in %zu dimensions, the "
                          "prior has %zu in %zu",
                          st->K, st->d, prior->K, prior->d);
    if (!st->bound || st->total.count <= 0.0)
        return gmmp__fail(GMMP_EINVAL, "the statistics hold no samples");
    /* Responsibilities under another model would blend unrelated
     * components. */
    if (memcmp(st->shift, prior->means, st->K * st->d * sizeof *st->shift) != 0)
        return gmmp__fail(GMMP_EINVAL,
                          "the statistics were accumulated under another model than the prior");
    const size_t K = st->K;
    double total = 0.0;
    for (size_t k = 0; k < K; k++)
        total += st->total.nk[k];
    if (!(total > 0.0))
        return gmmp__fail(GMMP_EINVAL, "the statistics hold no samples");
    gmmp_model *m;
    int rc = gmmp__model_alloc(&m, K, st->d);
    if (rc)
        return rc;
    double wsum = 0.0;
    for (size_t k = 0; k < K; k++) {
        double alpha = alpha_of(st, k, relevance);
        m->weights[k] = alpha * st->total.nk[k] / total + (1.0 - alpha) * prior->weights[k];
        wsum += m->weights[k];
    }
    for (size_t k = 0; k < K; k++)
        m->weights[k] /= wsum;
    /* The means and covariances, component by component (EPLL's K = 200
     * adapted within fast EPLL's steps: 10 ms on one core). */
    adapt_job job = {.st = st, .prior = prior, .relevance = relevance, .reg_covar = reg_covar,
                     .out = m};
    (void)gmmp__run_queue(&job.queue, K, adapt_worker, &job, threads); /* cannot fail */
    m->patch_h = prior->patch_h;
    m->patch_w = prior->patch_w;
    m->channels = prior->channels;
    m->remove_mean = prior->remove_mean;
    char hint[160];
    snprintf(hint, sizeof hint, "increase reg_covar (now %g) or the relevance (now %g)",
             reg_covar, relevance);
    if ((rc = gmmp__model_factor(m, hint, threads))) {
        gmmp_model_destroy(m);
        return rc;
    }
    *out = m;
    return GMMP_OK;
}
