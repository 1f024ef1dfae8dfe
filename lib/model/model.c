/*
 * Model handle: creation from caller parameters with validation, accessors.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eigen.h"
#include "internal.h"
#include "linalg.h"
#include "model.h"
#include "workers.h"


int gmmp__check_model_size(size_t K, size_t d)
{
    if (K == 0 || d == 0)
        return gmmp__fail(GMMP_EINVAL, "a model needs K >= 1 components and dimension d >= 1 "
                                       "(got K=%zu, d=%zu)",
                          K, d);
    size_t dd, kdd;
    if (d > GMMP__MAX_ORDER)
        return gmmp__fail(GMMP_EOVERFLOW,
                          "dimension d=%zu exceeds %u: LAPACK's workspace for it would "
                          "overflow its 32-bit sizes",
                          d, GMMP__MAX_ORDER);
    if (K > GMMP__MAX_BLAS_DIM || !gmmp__mul_ok(d, d, &dd) ||
        !gmmp__mul_ok(K, dd, &kdd) || kdd > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "a model of K=%zu components in d=%zu dimensions "
                                          "is too large",
                          K, d);
    return GMMP_OK;
}

int gmmp__model_alloc(gmmp_model **out, size_t K, size_t d)
{
    int rc = gmmp__check_model_size(K, d);
    if (rc)
        return rc;
    gmmp_model *m = gmmp__alloc(sizeof *m);
    if (!m)
        return gmmp__fail_nomem();
    *m = (gmmp_model){.K = K, .d = d};
    atomic_init(&m->refs, 1);
    atomic_init(&m->scoring_ready, false);
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        gmmp__free(m);
        return gmmp__fail_nomem();
    }
    m->weights = gmmp__alloc_array(K, sizeof(double));
    m->log_weights = gmmp__alloc_array(K, sizeof(double));
    m->log_norm = gmmp__alloc_array(K, sizeof(double));
    m->means = gmmp__alloc_array(K * d, sizeof(double));
    m->covs = gmmp__alloc_array(K * d * d, sizeof(double));
    m->chol_inv = gmmp__alloc_array(K * d * d, sizeof(double));
    if (!m->weights || !m->log_weights || !m->log_norm || !m->means || !m->covs ||
        !m->chol_inv) {
        gmmp_model_destroy(m);
        return gmmp__fail_nomem();
    }
    *out = m;
    return GMMP_OK;
}

gmmp_model *gmmp__model_retain(const gmmp_model *m)
{
    /* The count is the only field that changes after creation, and it is
     * atomic: a const model stays safe to share. */
    gmmp_model *mutable_model = (gmmp_model *)m;
    atomic_fetch_add(&mutable_model->refs, 1);
    return mutable_model;
}

void gmmp_model_destroy(gmmp_model *m)
{
    gmmp__model_release(m);
}

void gmmp__model_release(gmmp_model *m)
{
    if (!m || atomic_fetch_sub(&m->refs, 1) != 1)
        return;
    gmmp__free(m->description);
    gmmp__free(m->spectra_lambda);
    gmmp__free(m->spectra_ut);
    gmmp__eigen_release(m->eigen);
    gmmp__eigen_release(m->eigen_hint);
    pthread_mutex_destroy(&m->lock);
    gmmp__free(m->weights);
    gmmp__free(m->log_weights);
    gmmp__free(m->log_norm);
    gmmp__free(m->means);
    gmmp__free(m->covs);
    gmmp__free(m->chol_inv);
    gmmp__free(m);
}

/* Component k's factor, checked, in scratch l (d x d): its normalising
 * constants, or GMMP_ENOTSPD naming it and `hint`. */
static int factor_one(gmmp_model *m, size_t k, double *l, const char *hint)
{
    const size_t d = m->d;
    int minor = gmmp__model_chol(m, k, l);
    if (minor < 0)
        return minor;
    if (minor != 0)
        return gmmp__fail(GMMP_ENOTSPD,
                          "covariance of component %zu is not positive definite "
                          "(leading minor of order %d)%s%s",
                          k, minor, hint ? ": " : "", hint ? hint : "");
    m->log_norm[k] = -0.5 * (double)d * GMMP__LOG_2PI - 0.5 * gmmp__chol_logdet(l, d);
    m->log_weights[k] = log(m->weights[k]);
    return GMMP_OK;
}

/* The components shared among threads: claimed one at a time, each
 * factored alike whichever thread takes it. */
typedef struct factor_job {
    gmmp_model *m;
    const char *hint;
    gmmp__queue queue;
} factor_job;

static void *factor_worker(void *arg)
{
    factor_job *job = *(factor_job **)arg;
    const size_t d = job->m->d;
    double *l = gmmp__alloc_array(d, d * sizeof *l);
    size_t k;
    if (!l) {
        gmmp__queue_fail(&job->queue, gmmp__fail_nomem());
        return NULL;
    }
    while (gmmp__queue_claim(&job->queue, &k)) {
        int rc = factor_one(job->m, k, l, job->hint);
        if (rc)
            gmmp__queue_fail(&job->queue, rc);
    }
    gmmp__free(l);
    return NULL;
}

int gmmp__model_factor(gmmp_model *m, const char *hint, gmmp__exec_threads threads)
{
    const size_t K = m->K, d = m->d;
    /* Not ready from here on, whatever the factors held before. */
    m->n_inverted = 0;
    atomic_store_explicit(&m->scoring_ready, false, memory_order_relaxed);
    if (threads.count > 1 && K > 1) {
        factor_job job = {.m = m, .hint = hint};
        if (gmmp__run_queue(&job.queue, K, factor_worker, &job, threads) == GMMP_OK)
            return GMMP_OK;
        /* A failure: the pass below names the first component that fails,
         * as one thread does, whichever thread met a failure first. */
    }
    /* Factored in scratch: the check and the log-determinant need the
     * factors only one at a time, and chol_inv is filled on the first
     * scoring call (gmmp__model_prepare_scoring). A prior loaded or adapted
     * for fast EPLL never scores, and its K d^2 doubles were never touched
     * again after this (6.5 MB of fresh pages for EPLL's K = 200 prior,
     * twice a fast run). */
    double *l = gmmp__alloc_array(d, d * sizeof *l);
    if (!l)
        return gmmp__fail_nomem();
    int rc = GMMP_OK;
    for (size_t k = 0; k < K && rc == GMMP_OK; k++)
        rc = factor_one(m, k, l, hint);
    gmmp__free(l);
    return rc;
}

int gmmp__model_prepare_scoring(const gmmp_model *m)
{
    if (atomic_load_explicit(&m->scoring_ready, memory_order_acquire))
        return GMMP_OK;
    /* Filled like the eigendecompositions: under the lock, so that a const
     * model stays safe to share between threads. */
    gmmp_model *mm = (gmmp_model *)m;
    const size_t d = m->d;
    int rc = GMMP_OK;
    pthread_mutex_lock(&mm->lock);
    for (; mm->n_inverted < m->K && rc == GMMP_OK; mm->n_inverted++) {
        /* Scoring multiplies by L_k^{-1} (scikit-learn's precision Cholesky
         * factor): a triangular multiply runs at nearly GEMM speed, a
         * triangular solve at half, and this costs d^3/3 (and the
         * factorisation as much again) once per model or EM iteration.
         * A Cholesky factor that succeeded has no zero on its diagonal, so
         * only LAPACK's own failure can stop this; the count keeps the
         * inverted ones apart from those still to do. */
        const size_t k = mm->n_inverted;
        double *l = mm->chol_inv + k * d * d;
        int minor = gmmp__model_chol(m, k, l); /* the factor gmmp__model_factor checked */
        if (minor != 0) { /* cannot happen after a successful check: a bug */
            rc = minor < 0 ? minor
                           : gmmp__fail(GMMP_EINTERNAL,
                                        "component %zu's covariance, factored before, failed at "
                                        "minor %d",
                                        k, minor);
            break;
        }
        int zero = gmmp__tri_inverse(l, d);
        if (zero != 0) { /* cannot happen after a successful Cholesky: a bug */
            rc = zero < 0 ? zero
                          : gmmp__fail(GMMP_EINTERNAL,
                                       "dtrtri found diagonal %d of component %zu's Cholesky "
                                       "factor zero",
                                       zero, k);
            break;
        }
    }
    if (rc == GMMP_OK)
        atomic_store_explicit(&mm->scoring_ready, true, memory_order_release);
    pthread_mutex_unlock(&mm->lock);
    return rc;
}

int gmmp__model_chol(const gmmp_model *m, size_t k, double *l)
{
    /* Once the covariance has factored successfully (when the model was
     * made), this reproduces that factor exactly: LAPACK is deterministic. */
    memcpy(l, m->covs + k * m->d * m->d, m->d * m->d * sizeof *l);
    return gmmp__cholesky(l, m->d);
}

/* Covariance k exactly symmetric, in place: each pair is read before it
 * is written. */
static void symmetrize_component(gmmp_model *m, size_t k)
{
    const size_t d = m->d;
    double *c = m->covs + k * d * d;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++)
            c[i * d + j] = c[j * d + i] = 0.5 * (c[i * d + j] + c[j * d + i]);
}

/* Rejects weights that are negative or do not sum to one. */
static int check_weights(const double *w, size_t K)
{
    double sum = 0.0;
    for (size_t k = 0; k < K; k++) {
        if (w[k] < 0.0)
            return gmmp__fail(GMMP_EINVAL, "weight of component %zu is negative (%g)", k, w[k]);
        sum += w[k];
    }
    if (fabs(sum - 1.0) > 1e-8)
        return gmmp__fail(GMMP_EINVAL, "weights sum to %.17g, not 1", sum);
    return GMMP_OK;
}

int gmmp__model_finish(gmmp_model *m)
{
    const size_t K = m->K, d = m->d;
    const struct {
        const double *x;
        size_t n;
        const char *name;
    } arrays[] = {{m->weights, K, "weights"}, {m->means, K * d, "means"},
                  {m->covs, K * d * d, "covariances"}};
    for (size_t a = 0; a < 3; a++) {
        size_t i = gmmp__first_nonfinite(arrays[a].x, arrays[a].n);
        if (i < arrays[a].n)
            return gmmp__fail(GMMP_ENONFINITE, "%s[%zu] is %g", arrays[a].name, i,
                              arrays[a].x[i]);
    }
    int rc = check_weights(m->weights, K);
    if (rc)
        return rc;
    for (size_t k = 0; k < K; k++) {
        char what[64];
        snprintf(what, sizeof what, "covariance of component %zu", k);
        if ((rc = gmmp__check_symmetric(m->covs + k * d * d, d, what)))
            return rc;
    }
    for (size_t k = 0; k < K; k++)
        symmetrize_component(m, k);
    return gmmp__model_factor(m, NULL, (gmmp__exec_threads){1, false});
}

int gmmp__model_finish_component(gmmp_model *m, size_t k, double *l)
{
    const size_t d = m->d;
    const double *mean = m->means + k * d, *cov = m->covs + k * d * d;
    if (gmmp__first_nonfinite(mean, d) < d || gmmp__first_nonfinite(cov, d * d) < d * d)
        return gmmp__fail(GMMP_ENONFINITE, "component %zu is not finite", k);
    int rc = gmmp__check_symmetric(cov, d, "covariance");
    if (rc)
        return rc;
    symmetrize_component(m, k);
    return factor_one(m, k, l, NULL);
}

int gmmp__model_finish_weights(gmmp_model *m)
{
    if (gmmp__first_nonfinite(m->weights, m->K) < m->K)
        return gmmp__fail(GMMP_ENONFINITE, "weights are not finite");
    return check_weights(m->weights, m->K);
}

int gmmp_model_create(gmmp_model **out, size_t K, size_t d, const double *weights,
                      const double *means, const double *covariances)
{
    if (!out || !weights || !means || !covariances)
        return gmmp__fail(GMMP_EINVAL, "model output, weights, means or covariances is NULL");
    gmmp_model *m;
    int rc = gmmp__model_alloc(&m, K, d); /* checks the sizes first */
    if (rc)
        return rc;
    memcpy(m->weights, weights, K * sizeof *weights);
    memcpy(m->means, means, K * d * sizeof *means);
    memcpy(m->covs, covariances, K * d * d * sizeof *covariances);
    if ((rc = gmmp__model_finish(m))) {
        gmmp_model_destroy(m);
        return rc;
    }
    *out = m;
    return GMMP_OK;
}

size_t gmmp_model_components(const gmmp_model *m)
{
    return m ? m->K : 0;
}

size_t gmmp_model_dim(const gmmp_model *m)
{
    return m ? m->d : 0;
}

int gmmp_model_get(const gmmp_model *m, double *weights, double *means, double *covariances)
{
    if (!m)
        return gmmp__fail(GMMP_EINVAL, "model is NULL");
    if (weights)
        memcpy(weights, m->weights, m->K * sizeof *weights);
    if (means)
        memcpy(means, m->means, m->K * m->d * sizeof *means);
    if (covariances)
        memcpy(covariances, m->covs, m->K * m->d * m->d * sizeof *covariances);
    return GMMP_OK;
}

int gmmp_model_cholesky(const gmmp_model *m, double *factors)
{
    if (!m || !factors)
        return gmmp__fail(GMMP_EINVAL, "model or output is NULL");
    for (size_t k = 0; k < m->K; k++)
        gmmp__model_chol(m, k, factors + k * m->d * m->d);
    return GMMP_OK;
}

size_t gmmp_model_n_parameters(const gmmp_model *m)
{
    if (!m)
        return 0;
    return m->K * m->d * (m->d + 1) / 2 + m->K * m->d + m->K - 1;
}

int gmmp_model_set_patch(gmmp_model *m, size_t patch_h, size_t patch_w, size_t channels,
                         int remove_mean)
{
    if (!m)
        return gmmp__fail(GMMP_EINVAL, "model is NULL");
    if (patch_h == 0 || patch_w == 0 || channels == 0)
        return gmmp__fail(GMMP_EINVAL, "patch %zux%zu with %zu channels is empty", patch_h,
                          patch_w, channels);
    if (remove_mean != 0 && remove_mean != 1)
        return gmmp__fail(GMMP_EINVAL, "remove_mean is %d: it must be 0 or 1", remove_mean);
    size_t hw, d;
    if (!gmmp__mul_ok(patch_h, patch_w, &hw) || !gmmp__mul_ok(hw, channels, &d) || d != m->d)
        return gmmp__fail(GMMP_EDIM,
                          "patches of %zux%zu pixels with %zu channels do not have the "
                          "model's d = %zu values",
                          patch_h, patch_w, channels, m->d);
    m->patch_h = patch_h;
    m->patch_w = patch_w;
    m->channels = channels;
    m->remove_mean = remove_mean;
    return GMMP_OK;
}

int gmmp_model_patch(const gmmp_model *m, size_t *patch_h, size_t *patch_w, size_t *channels,
                     int *remove_mean)
{
    if (!m)
        return gmmp__fail(GMMP_EINVAL, "model is NULL");
    if (m->channels == 0)
        return gmmp__fail(GMMP_EDIM,
                          "the model (d = %zu) has no patch description: set one with "
                          "gmmp_model_set_patch() (or pass the patch size to the tool)",
                          m->d);
    if (patch_h)
        *patch_h = m->patch_h;
    if (patch_w)
        *patch_w = m->patch_w;
    if (channels)
        *channels = m->channels;
    if (remove_mean)
        *remove_mean = m->remove_mean;
    return GMMP_OK;
}

int gmmp_model_set_description(gmmp_model *m, const char *text)
{
    if (!m)
        return gmmp__fail(GMMP_EINVAL, "model is NULL");
    char *copy = NULL;
    if (text && text[0]) {
        size_t len = strnlen(text, GMMP_MODEL_DESCRIPTION_MAX + 1);
        if (len > GMMP_MODEL_DESCRIPTION_MAX)
            return gmmp__fail(GMMP_EINVAL, "description is longer than %d bytes",
                              GMMP_MODEL_DESCRIPTION_MAX);
        if (!(copy = gmmp__alloc(len + 1)))
            return gmmp__fail_nomem();
        memcpy(copy, text, len + 1);
    }
    gmmp__free(m->description);
    m->description = copy;
    return GMMP_OK;
}

const char *gmmp_model_description(const gmmp_model *m)
{
    return m && m->description ? m->description : "";
}

int gmmp_model_set_spectra(gmmp_model *m, size_t rank)
{
    if (!m)
        return gmmp__fail(GMMP_EINVAL, "model is NULL");
    if (rank > m->d)
        return gmmp__fail(GMMP_EDIM, "%zu eigenpairs per component: the model's d is %zu", rank,
                          m->d);
    double *lambda = NULL, *ut = NULL;
    if (rank) {
        lambda = gmmp__alloc_array(m->K * rank, sizeof(double));
        ut = gmmp__alloc_array(m->K * rank, m->d * sizeof(double));
        int rc = lambda && ut ? gmmp__eigen_leading(m, rank, lambda, ut) : gmmp__fail_nomem();
        if (rc) {
            gmmp__free(lambda);
            gmmp__free(ut);
            return rc;
        }
    }
    gmmp__free(m->spectra_lambda);
    gmmp__free(m->spectra_ut);
    m->spectra_rank = rank;
    m->spectra_lambda = lambda;
    m->spectra_ut = ut;
    return GMMP_OK;
}

size_t gmmp_model_spectra(const gmmp_model *m)
{
    return m ? m->spectra_rank : 0;
}
