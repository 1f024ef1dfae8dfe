/*
 * A restored image refined by groups of similar patches: NL-Bayes'
 * second step (Lebrun, Buades and Morel, SIAM J. Imaging Sciences 6(3),
 * 2013) with another restoration as its pilot (see
 * gmmp_group_refine_image() in restore.h).
 *
 * For every reference patch on a grid, the N patches of the pilot most
 * like it within a search window form a group. The group's clean patches
 * are taken as Gaussian: covariance C that of the pilot's patches, mean
 * that of the noisy ones (the pilot's would carry its bias back). Each
 * noisy patch y of the group is then replaced by its posterior mean,
 *     m + C (C + s^2 I)^-1 (y - m) = y - s^2 (C + s^2 I)^-1 (y - m),
 * the second form computed with one Cholesky factor and two triangular
 * solves for the whole group. The estimates are averaged where they
 * overlap, and blended with the pilot.
 *
 * Threads take rows of reference patches; each row's estimates fall in a
 * band of image rows, kept apart and added to the sums in row order, so
 * that the result does not depend on the number of threads.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "gmmprior/restore.h"

#include "geometry.h"
#include "internal.h"
#include "linalg.h"
#include "options_internal.h"
#include "pass.h"
#include "plan.h"
#include "workers.h"

/* Largest patch dimension d = side^2 C: each thread holds d^2 + 2 N d
 * values (134 MB at most, N <= 4096). */
#define MAX_DIM 4096

/* What the whole refinement shares: inputs, geometry, the sums. */
typedef struct refine {
    const double *y, *pilot; /* h x w x C, row pitch `pitch` */
    size_t h, w, C, pitch;
    double var;              /* sigma^2 */
    size_t P, N, S, step;    /* patch side, group size, search radius, grid step */
    size_t rows, cols;       /* patch positions: h - P + 1, w - P + 1 */
    size_t grid_rows, grid_cols;
    size_t band;             /* image rows a grid row's groups can reach */
    double *sum, *count;     /* h x w x C estimates and h x w counts */
    const gmmp__option_values *options;
    double start;
    size_t reported;
    gmmp__queue queue;
} refine;

/* A candidate of the search window: its distance to the reference, then
 * its squared offset from it and its position, which break ties: the
 * reference first (a flat pilot has many patches at distance 0, and its
 * own group must hold it), and a group that does not depend on the order
 * of the search. */
typedef struct candidate {
    double dist;
    size_t offset, r, c;
} candidate;

typedef struct refine_worker {
    refine *rf;
    bool caller;
    candidate *cand;           /* (2S+1)^2 */
    double *ys, *ps, *cov;     /* N x d noisy and pilot patches; d x d */
    double *mean;              /* d */
    double *bsum, *bcount;     /* this grid row's band: band x w x C and band x w */
    size_t band_top, band_rows; /* this grid row's band of image rows */
} refine_worker;

/* The grid of reference positions along an axis of n positions: every
 * `step`, and the last, so that every pixel is in some reference patch. */
static size_t grid_len(size_t n, size_t step)
{
    return (n - 1) / step + 1 + ((n - 1) % step != 0);
}

static size_t grid_at(size_t i, size_t n, size_t step)
{
    return i * step < n ? i * step : n - 1;
}

static bool before(const candidate *a, const candidate *b)
{
    if (a->dist != b->dist)
        return a->dist < b->dist;
    if (a->offset != b->offset)
        return a->offset < b->offset;
    return a->r != b->r ? a->r < b->r : a->c < b->c;
}

/* Moves the k smallest of n candidates (k >= 1, in the order of
 * `before`, under which no two are equal) to the front, in any order:
 * quickselect with the middle element as pivot. */
static void select_smallest(candidate *a, size_t n, size_t k)
{
    size_t lo = 0, hi = n; /* a[0, lo) are among the k smallest, a[hi, n) not */
    while (hi - lo > 1) {
        candidate t = a[lo + (hi - lo) / 2];
        a[lo + (hi - lo) / 2] = a[hi - 1];
        a[hi - 1] = t;
        size_t store = lo;
        for (size_t i = lo; i < hi - 1; i++)
            if (before(&a[i], &a[hi - 1])) {
                t = a[i], a[i] = a[store], a[store] = t;
                store++;
            }
        t = a[store], a[store] = a[hi - 1], a[hi - 1] = t; /* the pivot, of rank `store` */
        if (store == k - 1 || store == k)
            return;
        if (store < k)
            lo = store + 1;
        else
            hi = store;
    }
}

/* Squared distance between the pilot's patches at (r, c) and (r0, c0):
 * P rows of P*C contiguous values each. */
static double patch_distance(const refine *rf, size_t r, size_t c, size_t r0, size_t c0)
{
    const size_t len = rf->P * rf->C;
    const double *a = rf->pilot + r * rf->pitch + c * rf->C;
    const double *b = rf->pilot + r0 * rf->pitch + c0 * rf->C;
    double s = 0.0;
    for (size_t i = 0; i < rf->P; i++, a += rf->pitch, b += rf->pitch)
        for (size_t j = 0; j < len; j++) {
            const double t = a[j] - b[j];
            s += t * t;
        }
    return s;
}

static void gather(const refine *rf, const double *img, size_t r, size_t c, double *patch)
{
    const size_t len = rf->P * rf->C;
    for (size_t i = 0; i < rf->P; i++)
        memcpy(patch + i * len, img + (r + i) * rf->pitch + c * rf->C, len * sizeof *patch);
}

/* Subtracts the column means of an n x d matrix and returns them in mean. */
static void center(double *x, size_t n, size_t d, double *mean)
{
    memset(mean, 0, d * sizeof *mean);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            mean[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++)
        mean[j] /= (double)n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            x[i * d + j] -= mean[j];
}

/* The group of the reference at (r0, c0), estimated and added to the
 * worker's band. */
static int refine_group(refine_worker *wk, size_t r0, size_t c0)
{
    const refine *rf = wk->rf;
    const size_t d = rf->P * rf->P * rf->C, len = rf->P * rf->C;
    const size_t r_lo = r0 > rf->S ? r0 - rf->S : 0, c_lo = c0 > rf->S ? c0 - rf->S : 0;
    const size_t r_hi = r0 + rf->S + 1 < rf->rows ? r0 + rf->S + 1 : rf->rows;
    const size_t c_hi = c0 + rf->S + 1 < rf->cols ? c0 + rf->S + 1 : rf->cols;
    size_t n = 0;
    for (size_t r = r_lo; r < r_hi; r++)
        for (size_t c = c_lo; c < c_hi; c++) {
            const size_t dr = r > r0 ? r - r0 : r0 - r, dc = c > c0 ? c - c0 : c0 - c;
            wk->cand[n++] = (candidate){patch_distance(rf, r, c, r0, c0), dr * dr + dc * dc, r, c};
        }
    const size_t k = n < rf->N ? n : rf->N;
    select_smallest(wk->cand, n, k);
    for (size_t t = 0; t < k; t++) {
        gather(rf, rf->y, wk->cand[t].r, wk->cand[t].c, wk->ys + t * d);
        gather(rf, rf->pilot, wk->cand[t].r, wk->cand[t].c, wk->ps + t * d);
    }
    if (k > 1) {
        /* C + s^2 I, C the pilot patches' covariance. */
        center(wk->ps, k, d, wk->mean);
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)k, 1.0 / (double)(k - 1),
                    wk->ps, (int)d, 0.0, wk->cov, (int)d);
        for (size_t j = 0; j < d; j++)
            wk->cov[j * d + j] += rf->var;
        int rc = gmmp__cholesky(wk->cov, d);
        if (rc < 0)
            return rc;
        if (rc > 0)
            goto add; /* see below */
        /* ps = (y - m) (C + s^2 I)^-1, row by row: (y - m) L^-T L^-1. */
        memcpy(wk->ps, wk->ys, k * d * sizeof *wk->ps);
        center(wk->ps, k, d, wk->mean);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)k,
                    (int)d, 1.0, wk->cov, (int)d, wk->ps, (int)d);
        cblas_dtrsm(CblasRowMajor, CblasRight, CblasLower, CblasNoTrans, CblasNonUnit, (int)k,
                    (int)d, 1.0, wk->cov, (int)d, wk->ps, (int)d);
        cblas_daxpy((int)(k * d), -rf->var, wk->ps, 1, wk->ys, 1);
    }
    /* A group whose C + s^2 I is not numerically positive definite (only
     * when s^2 vanishes beside the pilot's values, or their squares
     * overflow) keeps its noisy patches: the posterior mean's limit as
     * s -> 0. */
add:;
    const size_t wC = rf->w * rf->C;
    for (size_t t = 0; t < k; t++) {
        const size_t r = wk->cand[t].r - wk->band_top, c = wk->cand[t].c;
        const double *e = wk->ys + t * d;
        for (size_t i = 0; i < rf->P; i++) {
            double *s = wk->bsum + (r + i) * wC + c * rf->C;
            double *n_ = wk->bcount + (r + i) * rf->w + c;
            for (size_t j = 0; j < len; j++)
                s[j] += e[i * len + j];
            for (size_t j = 0; j < rf->P; j++)
                n_[j] += 1.0;
        }
    }
    return GMMP_OK;
}

static void add_band(void *arg)
{
    refine_worker *wk = arg;
    refine *rf = wk->rf;
    const size_t wC = rf->w * rf->C;
    double *s = rf->sum + wk->band_top * wC, *n = rf->count + wk->band_top * rf->w;
    for (size_t i = 0; i < wk->band_rows * wC; i++)
        s[i] += wk->bsum[i];
    for (size_t i = 0; i < wk->band_rows * rf->w; i++)
        n[i] += wk->bcount[i];
}

static int report(refine *rf, size_t done)
{
    gmmp_progress p = {.mean_loglik = NAN,
                       .change = NAN,
                       .seconds = gmmp__now() - rf->start,
                       .phase = GMMP_PHASE_IMAGE,
                       .done = (double)done * (double)rf->grid_cols,
                       .total = (double)rf->grid_rows * (double)rf->grid_cols};
    rf->reported = done;
    if (gmmp__report(rf->options, &p) != 0)
        return gmmp__fail(GMMP_ECANCELED, "the progress callback stopped the refinement");
    return GMMP_OK;
}

static void *refine_run(void *arg)
{
    refine_worker *wk = arg;
    refine *rf = wk->rf;
    size_t g;
    while (gmmp__queue_claim(&rf->queue, &g)) {
        const size_t r0 = grid_at(g, rf->rows, rf->step);
        wk->band_top = r0 > rf->S ? r0 - rf->S : 0;
        const size_t bottom = r0 + rf->S + rf->P < rf->h ? r0 + rf->S + rf->P : rf->h;
        wk->band_rows = bottom - wk->band_top;
        memset(wk->bsum, 0, wk->band_rows * rf->w * rf->C * sizeof *wk->bsum);
        memset(wk->bcount, 0, wk->band_rows * rf->w * sizeof *wk->bcount);
        int rc = GMMP_OK;
        for (size_t j = 0; j < rf->grid_cols && rc == GMMP_OK; j++)
            rc = refine_group(wk, r0, grid_at(j, rf->cols, rf->step));
        if (rc == GMMP_OK && !gmmp__queue_commit(&rf->queue, g, add_band, wk))
            break; /* another thread failed */
        if (rc == GMMP_OK && wk->caller)
            rc = report(rf, g + 1);
        if (rc) {
            gmmp__queue_fail(&rf->queue, rc);
            break;
        }
    }
    return NULL;
}

static int worker_alloc(refine_worker *wk, const refine *rf)
{
    const size_t d = rf->P * rf->P * rf->C, side = 2 * rf->S + 1;
    wk->cand = gmmp__alloc_array(side * side, sizeof *wk->cand);
    wk->ys = gmmp__alloc_array(2 * rf->N * d + d * d + d, sizeof(double));
    wk->bsum = gmmp__alloc_array(rf->band * rf->w, (rf->C + 1) * sizeof(double));
    if (!wk->cand || !wk->ys || !wk->bsum)
        return gmmp__fail_nomem();
    wk->ps = wk->ys + rf->N * d;
    wk->cov = wk->ps + rf->N * d;
    wk->mean = wk->cov + d * d;
    wk->bcount = wk->bsum + rf->band * rf->w * rf->C;
    return GMMP_OK;
}

static void worker_free(refine_worker *wk)
{
    gmmp__free(wk->cand);
    gmmp__free(wk->ys);
    gmmp__free(wk->bsum);
}

/* What the options leave to the library, by the noise: patch side, group
 * size and the group estimate's weight. Chosen on held-out Kodak RGB crops
 * at sigma 15, 25 and 50 (docs/performance.md): patches of 5 as good as 7
 * up to sigma 25 for a third of the time, 7 better at 50; larger groups
 * as the noise grows; the blend's best weight falling from 0.5 to 0.75 at
 * sigma 15 to 0.25 to 0.35 at 50, where the groups' Gaussians, fitted to
 * fewer samples than the prior, lose to it alone. */
static void default_settings(double sigma, size_t h, size_t w, size_t *P, size_t *N,
                             double *weight)
{
    if (*P == 0) {
        *P = sigma < 40.0 ? 5 : 7;
        *P = *P < h ? *P : h; /* a small image: the patches that fit */
        *P = *P < w ? *P : w;
    }
    if (*N == 0)
        *N = sigma < 20.0 ? 60 : sigma < 40.0 ? 90 : 150;
    if (*weight < 0.0)
        *weight = fmax(0.25, 0.75 - sigma / 100.0);
}

static int check_arguments(double sigma, const double *noisy, const double *pilot, size_t h,
                           size_t w, size_t C, size_t pitch, const double *out, size_t out_pitch,
                           size_t P)
{
    if (!noisy || !pilot || !out)
        return gmmp__fail(GMMP_EINVAL, "noisy image, pilot or output is NULL");
    if (C == 0 || C > GMMP__MAX_CHANNELS)
        return gmmp__fail(GMMP_EINVAL, "%zu channels: gmmp_group_refine_image takes 1 to %d",
                          C, GMMP__MAX_CHANNELS);
    int rc;
    if ((rc = gmmp__check_sigma(sigma)) || (rc = gmmp__check_image(noisy, h, w, C, pitch)) ||
        (rc = gmmp__check_image(pilot, h, w, C, pitch)) ||
        (rc = gmmp__check_image(out, h, w, C, out_pitch)))
        return rc;
    if (h < P || w < P)
        return gmmp__fail(GMMP_EDIM, "a %zux%zu image is smaller than the groups' %zux%zu "
                                     "patches (GMMP_OPT_GROUP_PATCH)",
                          w, h, P, P);
    if (P * P * C > MAX_DIM)
        return gmmp__fail(GMMP_EDIM, "patches of %zux%zu pixels of %zu channels have %zu "
                                     "values, more than the %d a group's covariance may have "
                                     "(GMMP_OPT_GROUP_PATCH)",
                          P, P, C, P * P * C, MAX_DIM);
    if ((rc = gmmp__check_finite_image(noisy, h, w, C, pitch, NULL)))
        return rc;
    return gmmp__check_finite_image(pilot, h, w, C, pitch, NULL);
}

int gmmp_group_refine_image(double sigma, const double *noisy, const double *pilot, size_t h,
                            size_t w, size_t channels, size_t pitch, double *out,
                            size_t out_pitch, const gmmp_options *options)
{
    gmmp__option_values v;
    gmmp__options_read(options, &v);
    size_t P = (size_t)gmmp__opt_int(&v, GMMP_OPT_GROUP_PATCH);
    size_t N = (size_t)gmmp__opt_int(&v, GMMP_OPT_GROUP_SIZE);
    double weight = gmmp__opt_real(&v, GMMP_OPT_GROUP_WEIGHT);
    default_settings(sigma, h, w, &P, &N, &weight);
    int rc = check_arguments(sigma, noisy, pilot, h, w, channels, pitch, out, out_pitch, P);
    if (rc)
        return rc;
    if (weight == 0.0) { /* the pilot as it is */
        for (size_t r = 0; r < h && out != pilot; r++)
            memmove(out + r * out_pitch, pilot + r * pitch, w * channels * sizeof *out);
        return GMMP_OK;
    }
    refine rf = {.y = noisy, .pilot = pilot, .h = h, .w = w, .C = channels, .pitch = pitch,
                 .var = sigma * sigma, .P = P, .N = N,
                 .S = (size_t)gmmp__opt_int(&v, GMMP_OPT_GROUP_SEARCH),
                 .step = (size_t)gmmp__opt_int(&v, GMMP_OPT_GROUP_STEP),
                 .rows = h - P + 1, .cols = w - P + 1, .options = &v, .start = gmmp__now()};
    rf.grid_rows = grid_len(rf.rows, rf.step);
    rf.grid_cols = grid_len(rf.cols, rf.step);
    rf.band = 2 * rf.S + P < h ? 2 * rf.S + P : h;
    size_t hw;
    if (!gmmp__mul_ok(h, w, &hw))
        return gmmp__fail(GMMP_EOVERFLOW, "a %zux%zu image is too large", h, w);
    rf.sum = gmmp__alloc_array(hw, (channels + 1) * sizeof(double));
    size_t T = (size_t)gmmp__opt_int(&v, GMMP_OPT_THREADS);
    T = T < rf.grid_rows ? T : rf.grid_rows;
    refine_worker workers[256];
    memset(workers, 0, sizeof workers);
    rc = rf.sum ? GMMP_OK : gmmp__fail_nomem();
    for (size_t t = 0; t < T && rc == GMMP_OK; t++) {
        workers[t] = (refine_worker){.rf = &rf, .caller = t == 0};
        rc = worker_alloc(&workers[t], &rf);
    }
    if (rc == GMMP_OK) {
        memset(rf.sum, 0, hw * (channels + 1) * sizeof(double));
        rf.count = rf.sum + hw * channels;
        gmmp__queue_init(&rf.queue, rf.grid_rows);
        gmmp__run_workers(refine_run, workers, sizeof workers[0], T,
                          gmmp__opt_int(&v, GMMP_OPT_BLAS_SERIAL) != 0);
        rc = gmmp__queue_status(&rf.queue);
        gmmp__queue_destroy(&rf.queue);
        if (rc == GMMP_OK && rf.reported < rf.grid_rows)
            rc = report(&rf, rf.grid_rows);
    }
    if (rc == GMMP_OK) {
        /* A pixel in no group (possible only with a step beyond the patch
         * side) keeps the pilot's value. */
        for (size_t r = 0; r < h; r++)
            for (size_t c = 0; c < w; c++)
                for (size_t j = 0; j < channels; j++) {
                    double *e = &rf.sum[(r * w + c) * channels + j];
                    const double n = rf.count[r * w + c], p = pilot[r * pitch + c * channels + j];
                    *e = n > 0 ? weight * (*e / n) + (1.0 - weight) * p : p;
                    if (!isfinite(*e) && rc == GMMP_OK)
                        rc = gmmp__fail(GMMP_ENONFINITE,
                                        "the refinement of pixel (%zu, %zu) is not finite: "
                                        "values too large for their squares",
                                        r, c);
                }
    }
    for (size_t r = 0; rc == GMMP_OK && r < h; r++)
        memcpy(out + r * out_pitch, rf.sum + r * w * channels, w * channels * sizeof *out);
    for (size_t t = 0; t < T; t++)
        worker_free(&workers[t]);
    gmmp__free(rf.sum);
    return rc;
}
