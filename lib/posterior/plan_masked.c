/*
 * Posteriors of patches with missing pixels: each patch has its own set O
 * of observed pixels (W_i = the rows of the identity for O). Patches are
 * grouped by mask, so the factorisation of each component's marginal
 * covariance Sigma_k[O,O] + Sigma_y[O] is done once per distinct mask;
 * each patch then costs two triangular solves and one matrix-vector
 * product per component.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workers.h"
#include "estep.h"
#include "internal.h"
#include "linalg.h"
#include "plan.h"


typedef struct masked_job {
    const gmmp_plan *plan;
    const double *Y;
    const unsigned char *mask;
    size_t n;
    double *resp, *log_evidence, *map, *mmse;
    const size_t *order;  /* rows sorted by mask */
    const size_t *groups; /* start of each group in order, then n */
    gmmp__queue queue;    /* groups */
} masked_job;

/* qsort has no context argument: the comparator reads these. */
static _Thread_local const unsigned char *sort_mask;
static _Thread_local size_t sort_d;

static int same_mask(const unsigned char *a, const unsigned char *b, size_t d)
{
    for (size_t j = 0; j < d; j++)
        if ((a[j] != 0) != (b[j] != 0))
            return 0;
    return 1;
}

static int compare_rows(const void *pa, const void *pb)
{
    size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
    const unsigned char *ma = sort_mask + a * sort_d, *mb = sort_mask + b * sort_d;
    for (size_t j = 0; j < sort_d; j++) {
        int x = ma[j] != 0, y = mb[j] != 0;
        if (x != y)
            return x - y;
    }
    return a < b ? -1 : a > b; /* stable within a group */
}

/* One worker's buffers, sized for the worst case p = d. */
typedef struct masked_ws {
    size_t *obs;   /* d observed indices */
    double *chol;  /* K x d x d: Cholesky factors of the marginals on O */
    double *cross; /* K x d x d: Sigma_k[:, O] */
    double *norm;  /* K: log pi_k - (p log 2pi + log det)/2 */
    double *w;     /* K x d: S^{-1} (y_O - m_O) per component */
    double *lp;    /* K */
    double *post;  /* d */
} masked_ws;

static void ws_free(masked_ws *w)
{
    gmmp__free(w->obs);
    gmmp__free(w->chol);
    gmmp__free(w->cross);
    gmmp__free(w->norm);
    gmmp__free(w->w);
    gmmp__free(w->lp);
    gmmp__free(w->post);
}

static int ws_alloc(masked_ws *w, size_t K, size_t d)
{
    *w = (masked_ws){0};
    w->obs = gmmp__alloc_array(d, sizeof(size_t));
    w->chol = gmmp__alloc_array(K * d, d * sizeof(double));
    w->cross = gmmp__alloc_array(K * d, d * sizeof(double));
    w->norm = gmmp__alloc_array(K, sizeof(double));
    w->w = gmmp__alloc_array(K, d * sizeof(double));
    w->lp = gmmp__alloc_array(K, sizeof(double));
    w->post = gmmp__alloc_array(d, sizeof(double));
    if (!w->obs || !w->chol || !w->cross || !w->norm || !w->w || !w->lp || !w->post) {
        ws_free(w);
        return gmmp__fail_nomem();
    }
    return GMMP_OK;
}

/* Factors every component's marginal on the group's observed set. */
static int factor_group(const gmmp_plan *pl, const unsigned char *mask, masked_ws *w, size_t *p_out)
{
    const size_t K = pl->K, d = pl->d;
    size_t p = 0;
    for (size_t j = 0; j < d; j++)
        if (mask[j])
            w->obs[p++] = j;
    *p_out = p;
    for (size_t k = 0; k < K; k++) {
        const double *cov = pl->covs + k * d * d;
        double *L = w->chol + k * d * d, *C = w->cross + k * d * d;
        for (size_t a = 0; a < p; a++) {
            for (size_t b = 0; b <= a; b++)
                L[a * p + b] = cov[w->obs[a] * d + w->obs[b]];
            L[a * p + a] += pl->noise_diag[w->obs[a]];
        }
        for (size_t i = 0; i < d; i++)
            for (size_t a = 0; a < p; a++)
                C[i * p + a] = cov[i * d + w->obs[a]];
        double logdet = 0.0;
        if (p > 0) {
            int minor = gmmp__cholesky(L, p);
            if (minor < 0)
                return minor;
            if (minor > 0)
                return gmmp__fail(GMMP_ENOTSPD,
                                  "marginal covariance of component %zu on %zu observed "
                                  "pixels is not positive definite",
                                  k, p);
            logdet = gmmp__chol_logdet(L, p);
        }
        w->norm[k] = pl->log_weights[k] - 0.5 * ((double)p * GMMP__LOG_2PI + logdet);
    }
    return GMMP_OK;
}

static void one_row(const gmmp_plan *pl, const masked_job *jb, size_t row, size_t p,
                    masked_ws *w)
{
    const size_t K = pl->K, d = pl->d;
    const double *y = jb->Y + row * d;
    for (size_t k = 0; k < K; k++) {
        const double *mu = pl->means + k * d, *L = w->chol + k * d * d;
        double *z = w->w + k * d, q = 0.0;
        for (size_t a = 0; a < p; a++)
            z[a] = y[w->obs[a]] - pl->b[w->obs[a]] - mu[w->obs[a]];
        if (p > 0) {
            /* z = L^{-1} r, its squared norm for the density, then
             * L^{-T} z = S^{-1} r for the posterior mean. */
            cblas_dtrsv(CblasRowMajor, CblasLower, CblasNoTrans, CblasNonUnit, (int)p, L,
                        (int)p, z, 1);
            for (size_t a = 0; a < p; a++)
                q += z[a] * z[a];
            cblas_dtrsv(CblasRowMajor, CblasLower, CblasTrans, CblasNonUnit, (int)p, L, (int)p,
                        z, 1);
        }
        w->lp[k] = w->norm[k] - 0.5 * q;
    }
    double lev;
    gmmp__log_normalize(w->lp, 1, K, &lev);
    size_t top = 0;
    for (size_t k = 0; k < K; k++) {
        w->lp[k] = exp(w->lp[k]);
        if (w->lp[k] > w->lp[top])
            top = k;
    }
    if (jb->log_evidence)
        jb->log_evidence[row] = lev;
    if (jb->resp)
        memcpy(jb->resp + row * K, w->lp, K * sizeof(double));
    double *mmse = jb->mmse ? jb->mmse + row * d : NULL;
    if (mmse)
        memset(mmse, 0, d * sizeof *mmse);
    for (size_t k = 0; k < K; k++) {
        int for_map = jb->map && k == top, for_mmse = mmse && w->lp[k] > pl->skip;
        if (!for_map && !for_mmse)
            continue;
        /* mu_{k|y} = mu_k + Sigma_k[:, O] S^{-1} (y_O - m_O). */
        memcpy(w->post, pl->means + k * d, d * sizeof(double));
        if (p > 0)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)p, 1.0, w->cross + k * d * d,
                        (int)p, w->w + k * d, 1, 1.0, w->post, 1);
        if (for_map)
            memcpy(jb->map + row * d, w->post, d * sizeof(double));
        if (for_mmse)
            for (size_t j = 0; j < d; j++)
                mmse[j] += w->lp[k] * w->post[j];
    }
}

typedef struct masked_worker_args {
    masked_job *job;
    masked_ws ws;
} masked_worker_args;

static void *masked_worker(void *arg)
{
    masked_worker_args *a = arg;
    masked_job *jb = a->job;
    const gmmp_plan *pl = jb->plan;
    size_t g;
    while (gmmp__queue_claim(&jb->queue, &g)) {
        size_t first = jb->groups[g], last = jb->groups[g + 1], p;
        int rc = factor_group(pl, jb->mask + jb->order[first] * pl->d, &a->ws, &p);
        if (rc) {
            gmmp__queue_fail(&jb->queue, rc);
            break;
        }
        for (size_t i = first; i < last; i++)
            one_row(pl, jb, jb->order[i], p, &a->ws);
    }
    return NULL;
}

/* The outputs a call asked for, or buffers of the same sizes. */
typedef struct outputs {
    double *resp, *log_evidence, *map, *mmse;
} outputs;

static void outputs_free(outputs *o)
{
    gmmp__free(o->resp);
    gmmp__free(o->log_evidence);
    gmmp__free(o->map);
    gmmp__free(o->mmse);
}

/* Buffers for the requested outputs: results go there first and reach
 * the caller's arrays only once every group has succeeded, so that a
 * failure (a marginal that is numerically not positive definite) leaves
 * them untouched, as common.h promises. */
static int outputs_alloc(outputs *o, const outputs *want, size_t n, size_t K, size_t d)
{
    *o = (outputs){0};
    if ((want->resp && !(o->resp = gmmp__alloc_array(n * K, sizeof(double)))) ||
        (want->log_evidence && !(o->log_evidence = gmmp__alloc_array(n, sizeof(double)))) ||
        (want->map && !(o->map = gmmp__alloc_array(n * d, sizeof(double)))) ||
        (want->mmse && !(o->mmse = gmmp__alloc_array(n * d, sizeof(double))))) {
        outputs_free(o);
        return gmmp__fail_nomem();
    }
    return GMMP_OK;
}

static void outputs_deliver(const outputs *o, const outputs *want, size_t n, size_t K, size_t d)
{
    if (want->resp)
        memcpy(want->resp, o->resp, n * K * sizeof(double));
    if (want->log_evidence)
        memcpy(want->log_evidence, o->log_evidence, n * sizeof(double));
    if (want->map)
        memcpy(want->map, o->map, n * d * sizeof(double));
    if (want->mmse)
        memcpy(want->mmse, o->mmse, n * d * sizeof(double));
}

int gmmp_plan_execute_masked(const gmmp_plan *plan, const double *Y,
                             const unsigned char *observed, size_t n, double *resp,
                             double *log_evidence, double *map, double *mmse)
{
    if (!plan)
        return gmmp__fail(GMMP_EINVAL, "plan is NULL");
    if (!plan->noise_diag)
        return gmmp__fail(GMMP_EINVAL, "masked execution needs a plan made with W = NULL and "
                                       "scalar or diagonal noise");
    if (n > 0 && (!Y || !observed))
        return gmmp__fail(GMMP_EINVAL, "observations or mask are NULL");
    if (!resp && !log_evidence && !map && !mmse)
        return gmmp__fail(GMMP_EINVAL, "no output requested");
    const size_t d = plan->d, K = plan->K;
    size_t nd;
    if (!gmmp__mul_ok(n, d, &nd) || nd > SIZE_MAX / sizeof(double) ||
        n > SIZE_MAX / (2 * sizeof(size_t)) || !gmmp__mul_ok(n, K, &nd) ||
        nd > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "%zu observations overflow", n);
    /* Only observed values must be finite: missing ones may be anything. */
    for (size_t i = 0; i < n * d; i++)
        if (observed[i] && !isfinite(Y[i]))
            return gmmp__fail(GMMP_ENONFINITE, "observation %zu, value %zu is %g", i / d, i % d,
                              Y[i]);
    if (n == 0)
        return GMMP_OK;
    const outputs want = {resp, log_evidence, map, mmse};
    outputs staged;
    size_t *order = gmmp__alloc_array(n, sizeof(size_t));
    size_t *groups = gmmp__alloc_array(n + 1, sizeof(size_t));
    if (!order || !groups || outputs_alloc(&staged, &want, n, K, d)) {
        gmmp__free(order);
        gmmp__free(groups);
        return gmmp__fail_nomem();
    }
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    sort_mask = observed;
    sort_d = d;
    qsort(order, n, sizeof *order, compare_rows);
    size_t n_groups = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || !same_mask(observed + order[i] * d, observed + order[i - 1] * d, d))
            groups[n_groups++] = i;
    groups[n_groups] = n;

    masked_job jb = {.plan = plan,
                     .Y = Y,
                     .mask = observed,
                     .n = n,
                     .resp = staged.resp,
                     .log_evidence = staged.log_evidence,
                     .map = staged.map,
                     .mmse = staged.mmse,
                     .order = order,
                     .groups = groups};
    size_t T = plan->threads < n_groups ? plan->threads : n_groups;
    masked_worker_args args[256];
    size_t ready = 0;
    int rc = GMMP_OK;
    for (; ready < T; ready++) {
        args[ready].job = &jb;
        if ((rc = ws_alloc(&args[ready].ws, K, d)))
            break;
    }
    if (rc == GMMP_OK) {
        gmmp__queue_init(&jb.queue, n_groups);
        gmmp__run_workers(masked_worker, args, sizeof args[0], T, plan->blas_serial);
        rc = gmmp__queue_status(&jb.queue);
        gmmp__queue_destroy(&jb.queue);
    }
    if (rc == GMMP_OK)
        outputs_deliver(&staged, &want, n, K, d);
    for (size_t t = 0; t < ready; t++)
        ws_free(&args[t].ws);
    outputs_free(&staged);
    gmmp__free(order);
    gmmp__free(groups);
    return rc;
}
