/*
 * Lazily computed, shared eigendecompositions of a model's covariances.
 * SPDX-License-Identifier: MIT
 */
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

/* Components are claimed one at a time by whichever thread is free: a
 * fast restoration with EPLL's K = 200 prior spent a fifth of its time
 * here on one core (docs/performance.md). Each component's result does
 * not depend on the thread that computed it. */
typedef struct eigen_job {
    const gmmp_model *m;
    gmmp__eigen *e;
    gmmp__queue queue;
} eigen_job;

typedef struct eigen_worker {
    eigen_job *job;
} eigen_worker;

static void *eigen_worker_run(void *arg)
{
    eigen_job *job = ((eigen_worker *)arg)->job;
    const size_t d = job->m->d;
    double *scratch = gmmp__alloc_array(d * d, sizeof(double));
    size_t k;
    if (!scratch) {
        gmmp__queue_fail(&job->queue, gmmp__fail_nomem());
        return NULL;
    }
    while (gmmp__queue_claim(&job->queue, &k)) {
        int rc = decompose(job->m, k, job->e, scratch);
        if (rc)
            gmmp__queue_fail(&job->queue, rc);
    }
    gmmp__free(scratch);
    return NULL;
}

static int compute(const gmmp_model *m, gmmp__exec_threads threads, gmmp__eigen **out)
{
    const size_t K = m->K, d = m->d;
    gmmp__eigen *e = gmmp__alloc(sizeof *e);
    if (!e)
        return gmmp__fail_nomem();
    atomic_init(&e->refs, 1);
    e->K = K;
    e->d = d;
    e->lambda = gmmp__alloc_array(K * d, sizeof(double));
    e->ut = gmmp__alloc_array(K * d * d, sizeof(double));
    e->ut_f = NULL; /* made by the first single-precision plan */
    if (!e->lambda || !e->ut) {
        gmmp__eigen_release(e);
        return gmmp__fail_nomem();
    }
    size_t T = threads.count > 1 ? threads.count : 1;
    T = T < K ? T : K;
    T = T < 256 ? T : 256;
    eigen_job job = {.m = m, .e = e};
    eigen_worker workers[256];
    for (size_t t = 0; t < T; t++)
        workers[t].job = &job;
    gmmp__queue_init(&job.queue, K);
    gmmp__run_workers(eigen_worker_run, workers, sizeof workers[0], T, threads.blas_serial);
    int rc = gmmp__queue_status(&job.queue);
    gmmp__queue_destroy(&job.queue);
    if (rc) {
        gmmp__eigen_release(e);
        return rc;
    }
    *out = e;
    return GMMP_OK;
}

int gmmp__eigen_get(const gmmp_model *cm, gmmp__exec_threads threads, gmmp__eigen **out)
{
    /* The cache is logically part of the immutable model; the lock makes
     * filling it safe when several threads plan on one model at once. */
    gmmp_model *m = (gmmp_model *)cm;
    int rc = GMMP_OK;
    pthread_mutex_lock(&m->lock);
    if (!m->eigen)
        rc = compute(m, threads, &m->eigen);
    if (rc == GMMP_OK) {
        atomic_fetch_add(&m->eigen->refs, 1);
        *out = m->eigen;
    }
    pthread_mutex_unlock(&m->lock);
    return rc;
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
    gmmp__free(e);
}
