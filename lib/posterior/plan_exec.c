/*
 * Executing a posterior plan on a batch of observations, a block of rows
 * at a time: one matrix product per component whitens the residuals (for
 * the responsibilities), one more maps them to posterior means (for the
 * estimates), only for the rows that need that component.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "workers.h"
#include "density.h"
#include "estep.h"
#include "internal.h"
#include "plan.h"
#include "plan_exec.h"
#include "single.h"

void gmmp__workspace_free(workspace *w)
{
    gmmp__free(w->dev);
    gmmp__free(w->z);
    gmmp__free(w->ygat);
    gmmp__free(w->lp);
    gmmp__free(w->lpdf);
    gmmp__free(w->top);
    gmmp__free(w->sel);
    gmmp__free(w->cand);
    gmmp__free(w->cand_lp);
    gmmp__free(w->cand_lp_f);
    gmmp__free(w->cand_count);
    gmmp__free(w->cand_order);
    gmmp__free(w->gat);
    gmmp__free(w->post);
    gmmp__free(w->dev_f);
    gmmp__free(w->z_f);
    gmmp__free(w->gat_f);
    gmmp__free(w->post_f);
}

int gmmp__workspace_alloc(workspace *w, const gmmp_plan *pl, size_t B)
{
    const size_t K = pl->K;
    *w = (workspace){.rows = B,
                     .width = pl->eigen_path ? pl->d : pl->p,
                     .zcols = pl->flat ? gmmp__plan_flat_row_values(pl) : 0,
                     .keep = gmmp__plan_keeps_whitened(pl)};
    const size_t slots = w->keep ? K : 1;
    /* Per row: a flat plan's coordinates, or `slots` whitened residuals. */
    const size_t zrow = pl->flat ? w->zcols : slots * w->width;
    w->dev = gmmp__alloc_array(B * w->width, sizeof(double));
    w->z = gmmp__alloc_array(B, zrow * sizeof(double));
    if (pl->candidates &&
        (!(w->cand = gmmp__alloc_array(B, pl->candidates * sizeof(size_t))) ||
         !(w->cand_lp = gmmp__alloc_array(K + pl->candidates, sizeof(double))) ||
         !(w->cand_count = gmmp__alloc_array(K + 1, sizeof(size_t))) ||
         !(w->cand_order = gmmp__alloc_array(B, pl->candidates * sizeof(size_t))))) {
        gmmp__workspace_free(w);
        return gmmp__fail_nomem();
    }
    w->ygat = w->keep ? NULL : gmmp__alloc_array(B, pl->p * sizeof(double));
    w->lp = gmmp__alloc_array(B * K, sizeof(double));
    w->lpdf = gmmp__alloc_array(B, sizeof(double));
    w->top = gmmp__alloc_array(B, sizeof(size_t));
    w->sel = gmmp__alloc_array(B, sizeof(size_t));
    w->gat = gmmp__alloc_array(B * w->width, sizeof(double));
    w->post = gmmp__alloc_array(B * pl->d, sizeof(double));
    if (!w->dev || !w->z || !w->lp || !w->lpdf || !w->top || !w->sel || !w->gat || !w->post ||
        (!w->keep && !w->ygat)) {
        gmmp__workspace_free(w);
        return gmmp__fail_nomem();
    }
    if (pl->n_single > 0) {
        const size_t d = pl->d, width = w->width;
        w->dev_f = gmmp__alloc_array(B, width * sizeof(float));
        w->z_f = gmmp__alloc_array(B, zrow * sizeof(float));
        w->gat_f = gmmp__alloc_array(B, width * sizeof(float));
        w->post_f = gmmp__alloc_array(B, d * sizeof(float));
        if (pl->candidates)
            w->cand_lp_f = gmmp__alloc_array(K, sizeof(float));
        if (!w->dev_f || !w->z_f || !w->gat_f || !w->post_f || (pl->candidates && !w->cand_lp_f)) {
            gmmp__workspace_free(w);
            return gmmp__fail_nomem();
        }
    }
    return GMMP_OK;
}

/* Whitened residuals of component k for n rows of Y into z (n x width):
 * U_k^T (y - b - mu_k) on the denoising path, L_S^{-1} (y - W mu_k - b)
 * otherwise. Returns nothing; rows of z feed both the responsibilities
 * and the posterior means. */
static void whiten(const gmmp_plan *pl, size_t k, const double *Y, size_t n, workspace *w,
                   double *z)
{
    const size_t d = pl->d, p = pl->p;
    if (pl->eigen_path) {
        const double *mu = pl->means + k * d;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++)
                w->dev[i * d + j] = Y[i * d + j] - pl->b[j] - mu[j];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)d, (int)d, 1.0, w->dev,
                    (int)d, pl->eig->ut + k * d * d, (int)d, 0.0, z, (int)d);
    } else {
        gmmp__whiten_tri(Y, n, p, pl->obs_means + k * p, pl->s_chol_inv + k * p * p, z);
    }
}

/* whiten() in single precision: residuals formed in double, rounded,
 * whitened in float (z_f, n x width). */
static void whiten_single(const gmmp_plan *pl, size_t k, const double *Y, size_t n,
                          workspace *w, float *z_f)
{
    const size_t d = pl->d, p = pl->p;
    if (!pl->eigen_path) {
        gmmp__whiten_tri_single(Y, n, p, pl->obs_means + k * p, pl->s_chol_inv_f + k * p * p,
                                z_f);
        return;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            w->dev_f[i * d + j] = (float)(Y[i * d + j] - pl->b[j] - pl->means[k * d + j]);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)d, (int)d, 1.0f, w->dev_f,
                (int)d, pl->ut_f + k * d * d, (int)d, 0.0f, z_f, (int)d);
}

/* Log of pi_k N(y; W mu_k + b, S_k) from whitened residuals (on the
 * denoising path, scaled by the inverse variances of the eigenbasis),
 * from z or, in single precision, z_f. */
static void log_densities(const gmmp_plan *pl, size_t k, const double *z, const float *z_f,
                          size_t n, double *lp)
{
    const size_t width = pl->eigen_path ? pl->d : pl->p;
    const double *iv = pl->eigen_path ? pl->inv_var + k * pl->d : NULL;
    double base = pl->log_weights[k] + pl->log_norm[k];
    if (z_f)
        gmmp__log_density_single(z_f, n, width, iv, base, lp + k, pl->K);
    else
        gmmp__log_density(z, n, width, iv, base, lp + k, pl->K);
}

/* posterior_means for a component in single precision: the Wiener map
 * (or the gain G_k) in float, the mean added in double. */
static void posterior_means_single(const gmmp_plan *pl, size_t k, const float *z_f,
                                   const size_t *rows, size_t count, workspace *w)
{
    const size_t d = pl->d, width = w->width;
    const double *gain = pl->eigen_path ? pl->gain + k * d : NULL;
    for (size_t s = 0; s < count; s++) {
        const float *zi = z_f + (rows ? rows[s] : s) * width;
        float *g = w->gat_f + s * width;
        if (gain)
            for (size_t j = 0; j < width; j++)
                g[j] = (float)(zi[j] * gain[j]);
        else
            memcpy(g, zi, width * sizeof *g);
    }
    const float *map = pl->eigen_path ? pl->ut_f + k * d * d : pl->gain_t_f + k * pl->p * d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)count, (int)d, (int)width, 1.0f,
                w->gat_f, (int)width, map, (int)d, 0.0f, w->post_f, (int)d);
    const double *mu = pl->means + k * d;
    for (size_t s = 0; s < count; s++)
        for (size_t j = 0; j < d; j++)
            w->post[s * d + j] = mu[j] + (double)w->post_f[s * d + j];
}

/* Posterior means of component k for `count` rows, from their whitened
 * residuals (row rows[s] of z, or row s when rows is NULL), into w->post
 * (count x d). */
static void posterior_means(const gmmp_plan *pl, size_t k, const double *z, const size_t *rows,
                            size_t count, workspace *w)
{
    const size_t d = pl->d, width = w->width;
    const double *gain = pl->eigen_path ? pl->gain + k * d : NULL;
    for (size_t s = 0; s < count; s++) {
        const double *zi = z + (rows ? rows[s] : s) * width;
        double *g = w->gat + s * width;
        if (gain) /* Wiener filter in the eigenbasis */
            for (size_t j = 0; j < width; j++)
                g[j] = zi[j] * gain[j];
        else
            memcpy(g, zi, width * sizeof *g);
    }
    const double *map = pl->eigen_path ? pl->eig->ut + k * d * d : pl->gain_t + k * pl->p * d;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)count, (int)d, (int)width, 1.0,
                w->gat, (int)width, map, (int)d, 0.0, w->post, (int)d);
    const double *mu = pl->means + k * d;
    for (size_t s = 0; s < count; s++)
        for (size_t j = 0; j < d; j++)
            w->post[s * d + j] += mu[j];
}

/* One component of a block, in the precision it computes in (`single`:
 * the plan's choice for it, and a block float can hold). Its whitened
 * residuals go to slot `slot` of the workspace (of the double or the
 * float array). */
typedef struct component_pass {
    const gmmp_plan *pl;
    workspace *w;
    size_t k, slot;
    bool single;
} component_pass;

static double *slot_z(const component_pass *c)
{
    return c->w->z + c->slot * c->w->rows * c->w->width;
}

static float *slot_z_f(const component_pass *c)
{
    return c->w->z_f + c->slot * c->w->rows * c->w->width;
}

/* Points the pass at component k, whitened residuals in `slot`. */
static void select_component(component_pass *c, size_t k, size_t slot, bool single_block)
{
    c->k = k;
    c->slot = slot;
    c->single = single_block && c->pl->single[k];
}

/* Whitens n rows of Y; with lp, their log densities too. */
static void pass_whiten(const component_pass *c, const double *Y, size_t n, double *lp)
{
    if (c->single)
        whiten_single(c->pl, c->k, Y, n, c->w, slot_z_f(c));
    else
        whiten(c->pl, c->k, Y, n, c->w, slot_z(c));
    if (lp)
        log_densities(c->pl, c->k, c->single ? NULL : slot_z(c), c->single ? slot_z_f(c) : NULL,
                      n, lp);
}

/* Posterior means into w->post for the rows of the slot (rows as for
 * posterior_means). */
static void pass_means(const component_pass *c, const size_t *rows, size_t count)
{
    if (c->single)
        posterior_means_single(c->pl, c->k, slot_z_f(c), rows, count, c->w);
    else
        posterior_means(c->pl, c->k, slot_z(c), rows, count, c->w);
}

/* Posterior means of component k for the count rows listed in w->sel:
 * from the kept whitened residuals, or by whitening those rows again. */
static void selected_means(const component_pass *c, const double *Y, size_t count)
{
    workspace *w = c->w;
    if (w->keep) {
        pass_means(c, w->sel, count);
        return;
    }
    const size_t p = c->pl->p;
    for (size_t s = 0; s < count; s++)
        memcpy(w->ygat + s * p, Y + w->sel[s] * p, p * sizeof *w->ygat);
    pass_whiten(c, w->ygat, count, NULL);
    pass_means(c, NULL, count);
}

/* Rows first .. first+n-1 of a request. */
static void run_block(const gmmp_plan *pl, const request *rq, size_t first, size_t n,
                      workspace *w)
{
    const size_t K = pl->K, d = pl->d, p = pl->p;
    const double *Y = rq->Y + first * p;
    if (pl->flat) {
        gmmp__flat_block(pl, rq, first, n, w);
        return;
    }
    /* Single precision for the plan's single components, unless this
     * block holds values float cannot square safely. */
    bool single_block = pl->n_single > 0 && gmmp__max_abs(Y, n * p) <= GMMP__SINGLE_MAX_ABS;
    component_pass c = {.pl = pl, .w = w};
    if (rq->only_component < K) {
        select_component(&c, rq->only_component, 0, single_block);
        pass_whiten(&c, Y, n, NULL);
        pass_means(&c, NULL, n);
        memcpy(rq->means + first * d, w->post, n * d * sizeof(double));
        return;
    }
    for (size_t k = 0; k < K; k++) {
        select_component(&c, k, w->keep ? k : 0, single_block);
        pass_whiten(&c, Y, n, w->lp);
    }
    /* MAP alone (or labels) needs only the largest log density of each row. */
    bool map_only = (rq->map || rq->labels) && !rq->mmse && !rq->resp && !rq->log_evidence;
    if (!map_only) {
        gmmp__log_normalize(w->lp, n, K, w->lpdf);
        if (rq->log_evidence)
            memcpy(rq->log_evidence + first, w->lpdf, n * sizeof(double));
        for (size_t i = 0; i < n * K; i++)
            w->lp[i] = exp(w->lp[i]);
        if (rq->resp)
            memcpy(rq->resp + first * K, w->lp, n * K * sizeof(double));
    }
    if (!rq->map && !rq->mmse && !rq->labels)
        return;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t k = 1; k < K; k++)
            if (w->lp[i * K + k] > w->lp[i * K + best])
                best = k;
        w->top[i] = best;
        if (rq->labels)
            rq->labels[first + i] = best;
    }
    if (!rq->map && !rq->mmse)
        return;
    double *mmse = rq->mmse ? rq->mmse + first * d : NULL;
    double *map = rq->map ? rq->map + first * d : NULL;
    if (mmse)
        memset(mmse, 0, n * d * sizeof *mmse);
    for (size_t k = 0; k < K; k++) {
        /* Rows that need component k: those it weighs in the MMSE sum,
         * and those whose MAP component it is. */
        size_t count = 0;
        for (size_t i = 0; i < n; i++)
            if ((mmse && w->lp[i * K + k] > pl->skip) || (map && w->top[i] == k))
                w->sel[count++] = i;
        if (count == 0)
            continue;
        select_component(&c, k, w->keep ? k : 0, single_block);
        selected_means(&c, Y, count);
        for (size_t s = 0; s < count; s++) {
            size_t i = w->sel[s];
            const double *post = w->post + s * d;
            if (mmse) {
                double r = w->lp[i * K + k];
                for (size_t j = 0; j < d; j++)
                    mmse[i * d + j] += r * post[j];
            }
            if (map && w->top[i] == k)
                memcpy(map + i * d, post, d * sizeof *post);
        }
    }
}

/* Blocks are claimed by whichever worker is free; outputs of different
 * rows never overlap, so the order does not matter. */
typedef struct job {
    const gmmp_plan *plan;
    const request *rq;
    size_t block;
    gmmp__queue queue;
} job;

typedef struct worker {
    job *job;
    workspace ws;
} worker;

static void *worker_run(void *arg)
{
    worker *wk = arg;
    job *jb = wk->job;
    size_t b;
    while (gmmp__queue_claim(&jb->queue, &b)) {
        size_t first = b * jb->block;
        size_t n = gmmp__block_len(jb->rq->n, first, jb->block);
        run_block(jb->plan, jb->rq, first, n, &wk->ws);
    }
    return NULL;
}

/* Workspaces kept from one execution to the next (gmmp__executor in
 * plan.h): `count` of them, all for blocks of `rows` rows of plans of
 * this shape. */
struct gmmp__executor {
    worker workers[256];
    size_t count;
    size_t rows, width, K, d, p, zcols, candidates;
    bool keep, single;
};

int gmmp__executor_create(gmmp__executor **out)
{
    *out = gmmp__alloc_array(1, sizeof **out);
    if (!*out)
        return gmmp__fail_nomem();
    (*out)->count = 0;
    return GMMP_OK;
}

static void executor_release(gmmp__executor *ex)
{
    for (size_t t = 0; t < ex->count; t++)
        gmmp__workspace_free(&ex->workers[t].ws);
    ex->count = 0;
}

void gmmp__executor_destroy(gmmp__executor *ex)
{
    if (!ex)
        return;
    executor_release(ex);
    gmmp__free(ex);
}

/* Whether the kept workspaces serve pl: the same shape, and blocks of
 * at least B rows (a pass's shorter last batch keeps the full batches'
 * workspaces; their blocks are simply not filled). */
static bool executor_fits(const gmmp__executor *ex, const gmmp_plan *pl, size_t B)
{
    size_t width = pl->eigen_path ? pl->d : pl->p;
    size_t zcols = pl->flat ? gmmp__plan_flat_row_values(pl) : 0;
    return ex->count > 0 && ex->rows >= B && ex->width == width && ex->K == pl->K &&
           ex->d == pl->d && ex->p == pl->p && ex->zcols == zcols &&
           ex->candidates == pl->candidates && ex->keep == gmmp__plan_keeps_whitened(pl) &&
           ex->single == (pl->n_single > 0);
}

/* Every workspace is allocated before any output is written, so a
 * failure leaves the outputs untouched. */
static int execute_in(gmmp__executor *ex, const gmmp_plan *pl, const request *rq,
                      gmmp__exec_threads threads)
{
    /* Blocks no larger than the request: a small batch must not pay for
     * (and page in) a workspace sized for large ones. */
    size_t B = gmmp__block_len(rq->n, 0, gmmp__plan_block_rows(pl));
    if (B == 0)
        return GMMP_OK;
    if (!executor_fits(ex, pl, B)) {
        executor_release(ex);
        *ex = (gmmp__executor){.rows = B,
                               .width = pl->eigen_path ? pl->d : pl->p,
                               .K = pl->K,
                               .d = pl->d,
                               .p = pl->p,
                               .zcols = pl->flat ? gmmp__plan_flat_row_values(pl) : 0,
                               .candidates = pl->candidates,
                               .keep = gmmp__plan_keeps_whitened(pl),
                               .single = pl->n_single > 0};
    }
    B = ex->rows; /* never more than the plan's block rows: the shape fixes them */
    size_t n_blocks = (rq->n + B - 1) / B;
    size_t T = threads.count < n_blocks ? threads.count : n_blocks;
    if (T > sizeof ex->workers / sizeof ex->workers[0])
        T = sizeof ex->workers / sizeof ex->workers[0];
    for (; ex->count < T; ex->count++) {
        int rc = gmmp__workspace_alloc(&ex->workers[ex->count].ws, pl, B);
        if (rc)
            return rc;
    }
    job jb = {.plan = pl, .rq = rq, .block = B};
    for (size_t t = 0; t < T; t++)
        ex->workers[t].job = &jb;
    gmmp__queue_init(&jb.queue, n_blocks);
    gmmp__run_workers(worker_run, ex->workers, sizeof ex->workers[0], T, threads.blas_serial);
    gmmp__queue_destroy(&jb.queue);
    return GMMP_OK;
}

/* One execution with workspaces of its own. */
static int execute(const gmmp_plan *pl, const request *rq, gmmp__exec_threads threads)
{
    gmmp__executor ex = {.count = 0};
    int rc = execute_in(&ex, pl, rq, threads);
    executor_release(&ex);
    return rc;
}

static gmmp__exec_threads own_threads(const gmmp_plan *plan)
{
    return (gmmp__exec_threads){plan->threads, plan->blas_serial};
}

static int check_observations(const gmmp_plan *pl, const double *Y, size_t n)
{
    if (!pl)
        return gmmp__fail(GMMP_EINVAL, "plan is NULL");
    if (n > 0 && !Y)
        return gmmp__fail(GMMP_EINVAL, "observations are NULL");
    size_t np;
    if (!gmmp__mul_ok(n, pl->p, &np) || np > SIZE_MAX / sizeof(double) ||
        !gmmp__mul_ok(n, pl->d > pl->K ? pl->d : pl->K, &np) || np > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "%zu observations overflow", n);
    size_t bad = gmmp__first_nonfinite(Y, n * pl->p);
    if (bad < n * pl->p)
        return gmmp__fail(GMMP_ENONFINITE, "observation %zu, value %zu is %g", bad / pl->p,
                          bad % pl->p, Y[bad]);
    return GMMP_OK;
}

int gmmp_plan_execute(const gmmp_plan *plan, const double *Y, size_t n, double *resp,
                      double *log_evidence, double *map, double *mmse)
{
    int rc = check_observations(plan, Y, n);
    if (rc)
        return rc;
    if (!resp && !log_evidence && !map && !mmse)
        return gmmp__fail(GMMP_EINVAL, "no output requested");
    request rq = {Y, n, resp, log_evidence, map, mmse, plan->K, NULL, NULL};
    return execute(plan, &rq, own_threads(plan));
}

int gmmp_plan_component_means(const gmmp_plan *plan, size_t k, const double *Y, size_t n,
                              double *means)
{
    int rc = check_observations(plan, Y, n);
    if (rc)
        return rc;
    if (!means)
        return gmmp__fail(GMMP_EINVAL, "output is NULL");
    if (k >= plan->K)
        return gmmp__fail(GMMP_EDIM, "component %zu does not exist: the plan has %zu", k,
                          plan->K);
    request rq = {Y, n, NULL, NULL, NULL, NULL, k, means, NULL};
    return execute(plan, &rq, own_threads(plan));
}

int gmmp__plan_run(gmmp__executor *ex, const gmmp_plan *plan, const double *Y, size_t n,
                   double *map, double *mmse, gmmp__exec_threads threads)
{
    request rq = {Y, n, NULL, NULL, map, mmse, plan->K, NULL, NULL};
    return ex ? execute_in(ex, plan, &rq, threads) : execute(plan, &rq, threads);
}

int gmmp__plan_labels(gmmp__executor *ex, const gmmp_plan *plan, const double *Y, size_t n,
                      size_t *labels, gmmp__exec_threads threads)
{
    request rq = {Y, n, NULL, NULL, NULL, NULL, plan->K, NULL, labels};
    return ex ? execute_in(ex, plan, &rq, threads) : execute(plan, &rq, threads);
}
