/*
 * Lazily computed, shared eigendecompositions of a model's covariances.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eigen.h"
#include "internal.h"
#include "linalg.h"
#include "model.h"
#include "single.h"
#include "workers.h"

/* One component's decomposition into e (scratch: d x d). */
static int decompose(const gmmp_model *m, size_t k, gmmp__eigen *e, double *scratch)
{
    const size_t d = m->d;
    memcpy(scratch, m->covs + k * d * d, d * d * sizeof *scratch);
    char what[48];
    snprintf(what, sizeof what, "covariance %zu", k);
    int rc = gmmp__eigh(scratch, d, e->lambda + k * d, e->ut + k * d * d, what);
    /* A nearly singular covariance may come back with eigenvalues a
     * rounding error below zero; as variances they are zero, and a
     * negative one would make the posterior variances NaN. */
    for (size_t j = 0; rc == GMMP_OK && j < d; j++)
        e->lambda[k * d + j] = fmax(e->lambda[k * d + j], 0.0);
    return rc;
}

/* Subspace iterations from the hint's eigenvectors before the
 * Rayleigh-Ritz step. An adapted covariance's leading eigenvectors are
 * near its prior's, but patch spectra decay slowly, so iterating to a
 * tight invariance would often take more steps than a full decomposition
 * costs: two, as a fixed part of the approximation, measured where it is
 * used (fast EPLL's adaptation; docs/performance.md). */
#define SUBSPACE_STEPS 2

/* Orthonormalises the r rows of q (r x d) by modified Gram-Schmidt, run
 * twice ("twice is enough": orthogonal to rounding whatever the rows'
 * conditioning). Returns false if a row is (nearly) in the span of the
 * ones before it: what is left of it would be rounding, not a direction. */
static bool orthonormalise(double *q, size_t r, size_t d)
{
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t a = 0; a < r; a++) {
            double *qa = q + a * d;
            double before = cblas_dnrm2((int)d, qa, 1);
            for (size_t b = 0; b < a; b++)
                cblas_daxpy((int)d, -cblas_ddot((int)d, qa, 1, q + b * d, 1), q + b * d, 1, qa,
                            1);
            double norm = cblas_dnrm2((int)d, qa, 1);
            if (!(norm > 1e-8 * before) || !isfinite(norm))
                return false;
            cblas_dscal((int)d, 1.0 / norm, qa, 1);
        }
    return true;
}

/* A partial decomposition's flat tail: with the r kept eigenvalues of a
 * covariance (its trace `trace`) in lambda[d - r .. d), already non-
 * negative, each of the d - r others gets the mean of what the trace
 * leaves, never below zero (rounding). Their eigenvectors are the
 * caller's to zero. */
static void flat_tail(double trace, size_t d, size_t r, double *lambda)
{
    if (r == d)
        return;
    double rest = trace;
    for (size_t a = d - r; a < d; a++)
        rest -= lambda[a];
    rest = fmax(rest / (double)(d - r), 0.0);
    for (size_t j = 0; j < d - r; j++)
        lambda[j] = rest;
}

static double trace_of(const double *cov, size_t d)
{
    double t = 0.0;
    for (size_t j = 0; j < d; j++)
        t += cov[j * d + j];
    return t;
}

/* The `top` largest eigenpairs of component k from the hint's: subspace
 * iteration, then the Rayleigh-Ritz eigenpairs of that subspace; the other
 * eigenvalues get the mean of what the trace leaves (a flat tail needs no
 * more). scratch: 2 top (d + top) doubles. Returns 1 where the
 * subspace collapsed (the caller then decomposes fully). */
static int decompose_top(const gmmp_model *m, size_t k, const gmmp__eigen *hint, size_t top,
                         gmmp__eigen *e, double *scratch)
{
    const size_t d = m->d, r = top;
    const double *cov = m->covs + k * d * d;
    double *q = scratch, *z = q + r * d, *h = z + r * d, *vt = h + r * r;
    memcpy(q, hint->ut + k * d * d + (d - r) * d, r * d * sizeof *q);
    for (size_t it = 0; it < SUBSPACE_STEPS; it++) {
        /* Rows of q times the symmetric covariance: (Sigma Q)^T. */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)r, (int)d, (int)d, 1.0, q,
                    (int)d, cov, (int)d, 0.0, z, (int)d);
        if (!orthonormalise(z, r, d))
            return 1;
        memcpy(q, z, r * d * sizeof *q);
    }
    /* Rayleigh-Ritz: H = Q^T Sigma Q. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)r, (int)d, (int)d, 1.0, q,
                (int)d, cov, (int)d, 0.0, z, (int)d);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)r, (int)d, 1.0, z, (int)d,
                q, (int)d, 0.0, h, (int)r);
    gmmp__symmetrize_lower(h, r);
    char what[48];
    snprintf(what, sizeof what, "covariance %zu (leading subspace)", k);
    double *lambda = e->lambda + k * d, *ut = e->ut + k * d * d;
    int rc = gmmp__eigh(h, r, lambda + (d - r), vt, what);
    if (rc)
        return rc;
    /* Ritz vectors, ascending like the eigenvalues: row a of V^T Q. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)r, (int)d, (int)r, 1.0, vt,
                (int)r, q, (int)d, 0.0, ut + (d - r) * d, (int)d);
    for (size_t a = d - r; a < d; a++)
        lambda[a] = fmax(lambda[a], 0.0);
    flat_tail(trace_of(cov, d), d, r, lambda);
    memset(ut, 0, (d - r) * d * sizeof *ut);
    return GMMP_OK;
}

/* Components are claimed one at a time by whichever thread is free: a
 * fast restoration with EPLL's K = 200 prior spent a fifth of its time
 * here on one core (docs/performance.md). Each component's result does
 * not depend on the thread that computed it. */
typedef struct eigen_job {
    const gmmp_model *m;
    const gmmp__eigen *hint; /* partial decompositions start here, or NULL */
    gmmp__eigen *e;
    gmmp__queue queue;
} eigen_job;

static void *eigen_worker_run(void *arg)
{
    eigen_job *job = *(eigen_job **)arg;
    /* decompose's d x d, or decompose_top's 2 r (d + r), whichever runs
     * (one after the other at most). */
    const size_t d = job->m->d, r = job->e->top, top = 2 * r * (d + r);
    double *scratch = gmmp__alloc_array(job->hint && top > d * d ? top : d * d, sizeof(double));
    size_t k;
    if (!scratch) {
        gmmp__queue_fail(&job->queue, gmmp__fail_nomem());
        return NULL;
    }
    while (gmmp__queue_claim(&job->queue, &k)) {
        int rc = job->hint ? decompose_top(job->m, k, job->hint, r, job->e, scratch) : 1;
        if (rc == 1)
            rc = decompose(job->m, k, job->e, scratch);
        if (rc)
            gmmp__queue_fail(&job->queue, rc);
    }
    gmmp__free(scratch);
    return NULL;
}

/* Full decompositions, or with a hint the `top` largest (gmmp__eigen_get). */
static int compute(const gmmp_model *m, const gmmp__eigen *hint, size_t top,
                   gmmp__exec_threads threads, gmmp__eigen **out)
{
    const size_t K = m->K, d = m->d;
    gmmp__eigen *e = gmmp__alloc(sizeof *e);
    if (!e)
        return gmmp__fail_nomem();
    atomic_init(&e->refs, 1);
    e->K = K;
    e->d = d;
    e->top = hint ? top : d;
    e->lambda = gmmp__alloc_array(K * d, sizeof(double));
    e->ut = gmmp__alloc_array(K * d * d, sizeof(double));
    e->ut_f = NULL; /* made by the first single-precision plan */
    e->derived = NULL;
    e->derived_release = NULL;
    if (!e->lambda || !e->ut) {
        gmmp__eigen_release(e);
        return gmmp__fail_nomem();
    }
    eigen_job job = {.m = m, .hint = hint, .e = e};
    int rc = gmmp__run_queue(&job.queue, K, eigen_worker_run, &job, threads);
    if (rc) {
        gmmp__eigen_release(e);
        return rc;
    }
    *out = e;
    return GMMP_OK;
}

int gmmp__eigen_get(const gmmp_model *cm, gmmp__exec_threads threads, size_t top,
                    gmmp__eigen **out)
{
    /* The cache is logically part of the immutable model; the lock makes
     * filling it safe when several threads plan on one model at once. */
    gmmp_model *m = (gmmp_model *)cm;
    int rc = GMMP_OK;
    top = top < m->d ? top : m->d;
    pthread_mutex_lock(&m->lock);
    if (!m->eigen || m->eigen->top < top) {
        /* A partial decomposition needs a hint whose own leading
         * eigenvectors are at least as many; plans holding a previous one
         * keep their reference. */
        const gmmp__eigen *hint =
            top < m->d && m->eigen_hint && m->eigen_hint->top >= top ? m->eigen_hint : NULL;
        gmmp__eigen *e = NULL;
        if ((rc = compute(m, hint, top, threads, &e)) == GMMP_OK) {
            gmmp__eigen_release(m->eigen);
            m->eigen = e;
        }
    }
    if (rc == GMMP_OK) {
        atomic_fetch_add(&m->eigen->refs, 1);
        *out = m->eigen;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
}

void gmmp__eigen_hint(gmmp_model *to, const gmmp_model *cfrom)
{
    gmmp_model *from = (gmmp_model *)cfrom; /* its lock guards its cache */
    if (to->K != from->K || to->d != from->d)
        return;
    pthread_mutex_lock(&from->lock);
    gmmp__eigen *e = from->eigen;
    if (e)
        atomic_fetch_add(&e->refs, 1);
    pthread_mutex_unlock(&from->lock);
    pthread_mutex_lock(&to->lock);
    gmmp__eigen_release(to->eigen_hint);
    to->eigen_hint = e;
    pthread_mutex_unlock(&to->lock);
}

int gmmp__eigen_leading(const gmmp_model *m, size_t r, double *lambda, double *ut)
{
    const size_t K = m->K, d = m->d;
    gmmp__eigen *e = NULL;
    /* top = d: a full decomposition, never a hint's approximation. */
    int rc = gmmp__eigen_get(m, (gmmp__exec_threads){1, false}, d, &e);
    if (rc)
        return rc;
    for (size_t k = 0; k < K; k++) {
        memcpy(lambda + k * r, e->lambda + k * d + (d - r), r * sizeof *lambda);
        memcpy(ut + k * r * d, e->ut + k * d * d + (d - r) * d, r * d * sizeof *ut);
    }
    gmmp__eigen_release(e);
    return GMMP_OK;
}

/* How far stored eigenpairs may be from the covariance's, relative to
 * its scale: a decomposition is accurate to a few d x 1e-16, so anything
 * beyond this is a different matrix or a writer's mistake, not rounding. */
#define ADOPT_TOLERANCE 1e-8

/* Component k's r stored eigenpairs (lambda ascending, rows of ut)
 * against its covariance: finite, non-negative and ascending eigenvalues;
 * orthonormal rows (exactly, U U^T = I); Sigma U^T w = U^T (lambda w) for
 * two fixed probe vectors w (Freivalds' check of the eigen-equations,
 * O(d^2) instead of O(r d^2)); and leading, as far as cheap bounds tell:
 * their sum at least that of the r largest diagonal entries (Ky Fan's
 * maximum principle) and the smallest at least the mean of the rest. */
static int adopt_check(const gmmp_model *m, size_t k, size_t r, const double *lambda,
                       const double *ut, double *scratch)
{
    const size_t d = m->d;
    const double *cov = m->covs + k * d * d;
    for (size_t a = 0; a < r; a++)
        if (!isfinite(lambda[a]) || lambda[a] < 0.0 || (a > 0 && lambda[a] < lambda[a - 1]))
            return gmmp__fail(GMMP_EFORMAT,
                              "stored eigenvalue %zu of component %zu is %g: they must be "
                              "finite, non-negative and ascending",
                              a, k, lambda[a]);
    for (size_t i = 0; i < r * d; i++)
        if (!isfinite(ut[i]))
            return gmmp__fail(GMMP_EFORMAT, "stored eigenvectors of component %zu are not finite",
                              k);
    double trace = 0.0, scale = lambda[r - 1], sum = 0.0;
    for (size_t j = 0; j < d; j++) {
        trace += cov[j * d + j];
        scale = fmax(scale, cov[j * d + j]);
    }
    double *gram = scratch, *v = gram + r * r, *cv = v + d, *w = cv + d, *diag = w + r;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)r, (int)r, (int)d, 1.0, ut, (int)d,
                ut, (int)d, 0.0, gram, (int)r);
    for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++)
            if (fabs(gram[a * r + b] - (a == b)) > ADOPT_TOLERANCE)
                return gmmp__fail(GMMP_EFORMAT,
                                  "stored eigenvectors of component %zu are not orthonormal "
                                  "(rows %zu and %zu: %g)",
                                  k, a, b, gram[a * r + b]);
    for (int probe = 0; probe < 2; probe++) {
        double wnorm = 0.0;
        for (size_t a = 0; a < r; a++) {
            /* Signs and sizes without a pattern an error could follow. */
            w[a] = probe == 0 ? 1.0 + 0.5 * sin(1.0 + (double)a) : cos(0.7 * (double)a * a);
            wnorm += w[a] * w[a];
        }
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)r, (int)d, 1.0, ut, (int)d, w, 1, 0.0, v, 1);
        cblas_dsymv(CblasRowMajor, CblasUpper, (int)d, 1.0, cov, (int)d, v, 1, 0.0, cv, 1);
        for (size_t a = 0; a < r; a++)
            w[a] *= lambda[a];
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)r, (int)d, -1.0, ut, (int)d, w, 1, 1.0, cv,
                    1);
        double residual = cblas_dnrm2((int)d, cv, 1);
        if (!(residual <= ADOPT_TOLERANCE * scale * sqrt(wnorm)))
            return gmmp__fail(GMMP_EFORMAT,
                              "stored eigenpairs of component %zu do not fit its covariance "
                              "(residual %g of %g)",
                              k, residual, scale * sqrt(wnorm));
    }
    /* The r largest diagonal entries, by selection (r passes over d). */
    for (size_t j = 0; j < d; j++)
        diag[j] = cov[j * d + j];
    double diag_sum = 0.0;
    for (size_t a = 0; a < r; a++) {
        size_t best = a;
        for (size_t j = a + 1; j < d; j++)
            if (diag[j] > diag[best])
                best = j;
        double t = diag[a];
        diag[a] = diag[best];
        diag[best] = t;
        diag_sum += diag[a];
        sum += lambda[a];
    }
    double slack = ADOPT_TOLERANCE * trace;
    bool leading = sum >= diag_sum - slack;
    if (leading && r < d)
        leading = (trace - sum) / (double)(d - r) <= lambda[0] + slack;
    if (!leading)
        return gmmp__fail(GMMP_EFORMAT,
                          "stored eigenpairs of component %zu are not its %zu largest", k, r);
    return GMMP_OK;
}

int gmmp__eigen_adopt_begin(const gmmp_model *m, size_t r, gmmp__eigen **out)
{
    const size_t K = m->K, d = m->d;
    *out = NULL;
    if (r == 0 || r > d)
        return gmmp__fail(GMMP_EFORMAT, "%zu stored eigenpairs per component; d is %zu", r, d);
    gmmp__eigen *e = gmmp__alloc(sizeof *e);
    if (e) {
        *e = (gmmp__eigen){.K = K, .d = d, .top = r};
        atomic_init(&e->refs, 1);
        e->lambda = gmmp__alloc_array(K * d, sizeof(double));
        e->ut = gmmp__calloc_array(K * d * d, sizeof(double));
    }
    if (!e || !e->lambda || !e->ut) {
        gmmp__eigen_release(e);
        return gmmp__fail_nomem();
    }
    *out = e;
    return GMMP_OK;
}

size_t gmmp__eigen_adopt_scratch(size_t r, size_t d)
{
    return r * r + 2 * d + r + d;
}

int gmmp__eigen_adopt_one(const gmmp_model *m, gmmp__eigen *e, size_t k, const double *lk,
                          const double *uk, double *scratch)
{
    const size_t d = m->d, r = e->top;
    int rc = adopt_check(m, k, r, lk, uk, scratch);
    if (rc)
        return rc;
    /* decompose_top's layout: the kept pairs last, a flat tail before
     * them, its vectors zero (the allocation's). */
    double *el = e->lambda + k * d;
    memcpy(el + (d - r), lk, r * sizeof *el);
    flat_tail(trace_of(m->covs + k * d * d, d), d, r, el);
    memcpy(e->ut + k * d * d + (d - r) * d, uk, r * d * sizeof *uk);
    return GMMP_OK;
}

void gmmp__eigen_adopt_end(gmmp_model *m, gmmp__eigen *e)
{
    pthread_mutex_lock(&m->lock);
    if (!m->eigen) {
        m->eigen = e;
        e = NULL;
    }
    pthread_mutex_unlock(&m->lock);
    gmmp__eigen_release(e);
}

int gmmp__eigen_adopt(gmmp_model *m, size_t r, const double *lambda, const double *ut)
{
    gmmp__eigen *e;
    int rc = gmmp__eigen_adopt_begin(m, r, &e);
    if (rc)
        return rc;
    const size_t d = m->d;
    double *scratch = gmmp__alloc_array(gmmp__eigen_adopt_scratch(r, d), sizeof(double));
    if (!scratch)
        rc = gmmp__fail_nomem();
    for (size_t k = 0; k < m->K && rc == GMMP_OK; k++)
        rc = gmmp__eigen_adopt_one(m, e, k, lambda + k * r, ut + k * r * d, scratch);
    gmmp__free(scratch);
    if (rc) {
        gmmp__eigen_release(e);
        return rc;
    }
    gmmp__eigen_adopt_end(m, e);
    return GMMP_OK;
}

const float *gmmp__eigen_single(const gmmp_model *cm, gmmp__eigen *e)
{
    gmmp_model *m = (gmmp_model *)cm; /* the lock guards the cache, as above */
    const size_t n = e->K * e->d * e->d;
    pthread_mutex_lock(&m->lock);
    if (!e->ut_f && (e->ut_f = gmmp__alloc_array(n, sizeof(float))))
        gmmp__to_single(e->ut, n, e->ut_f);
    const float *ut_f = e->ut_f;
    pthread_mutex_unlock(&m->lock);
    if (!ut_f)
        gmmp__fail_nomem();
    return ut_f;
}

void gmmp__eigen_release(gmmp__eigen *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    gmmp__free(e->lambda);
    gmmp__free(e->ut);
    gmmp__free(e->ut_f);
    if (e->derived_release)
        e->derived_release(e->derived);
    gmmp__free(e);
}
