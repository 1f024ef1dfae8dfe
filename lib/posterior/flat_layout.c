/*
 * Flat-tail layouts, kept with the model's eigenbases (flat_layout.h).
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <pthread.h>
#include <string.h>

#include "flat_layout.h"
#include "internal.h"
#include "linalg.h"
#include "single.h"

void gmmp__flat_layout_release(gmmp__flat_layout *l)
{
    if (!l || atomic_fetch_sub(&l->refs, 1) != 1)
        return;
    gmmp__free(l->u_all);
    gmmp__free(l->u_all_f);
    gmmp__free(l->proj_mu);
    gmmp__free(l->mu_norm2);
    gmmp__free(l->pre_basis);
    gmmp__free(l->pre_basis_f);
    gmmp__free(l->pre_means_f);
    gmmp__free(l->pre_u);
    gmmp__free(l->pre_rest);
    gmmp__free(l->pre_u_f);
    gmmp__free(l->pre_rest_f);
    gmmp__free(l->pre_proj_mu);
    gmmp__free(l);
}

/* The eigenbases' derived slot holds a layout (eigen.h). */
static void release_kept(void *layout)
{
    gmmp__flat_layout_release(layout);
}

/* Every component's r kept eigenvectors as columns (eigenvalues ascend:
 * they are the last r rows of U_k^T), their projections of the mean,
 * and the mean's squared norm. */
static void lay_out_kept(const gmmp_model *m, const gmmp__eigen *e, gmmp__flat_layout *l)
{
    const size_t K = m->K, d = m->d, r = l->rank, tail = d - r, Kr = K * r;
    for (size_t k = 0; k < K; k++) {
        const double *ut = e->ut + k * d * d, *mu = m->means + k * d;
        for (size_t a = 0; a < r; a++) {
            const double *u = ut + (tail + a) * d; /* eigenvector a of the kept ones */
            double pm = 0.0;
            for (size_t j = 0; j < d; j++) {
                l->u_all[j * Kr + k * r + a] = u[j];
                pm += u[j] * mu[j];
            }
            l->proj_mu[k * r + a] = pm;
        }
        double mm = 0.0;
        for (size_t j = 0; j < d; j++)
            mm += mu[j] * mu[j];
        l->mu_norm2[k] = mm;
    }
}

/* Preselection's columns (into `full`, d x (r0 + 1) K): the r0 leading
 * kept eigenvectors laid out component-fastest (column a K + k), so that
 * scoring runs over the components in vectorisable lanes (flat_block.c),
 * then the means as K more columns, so that the same product gives every
 * y . mu_k the ranking needs; and their projections of the means. */
static void coarse_columns(const gmmp_model *m, gmmp__flat_layout *l, double *full)
{
    const size_t K = m->K, d = m->d, r = l->rank, r0 = l->pre_rank, rest = r - r0;
    const size_t Kr = K * r, Kr0 = K * r0, cols = Kr0 + K;
    for (size_t k = 0; k < K; k++) {
        for (size_t a = 0; a < r0; a++) {
            size_t from = k * r + rest + a; /* the leading r0: the last columns */
            for (size_t j = 0; j < d; j++)
                full[j * cols + a * K + k] = l->u_all[j * Kr + from];
            l->pre_proj_mu[a * K + k] = l->proj_mu[from];
        }
        for (size_t j = 0; j < d; j++)
            full[j * cols + Kr0 + k] = m->means[k * d + j];
    }
}

/* The kept eigenvectors a candidate projects itself (the first pre_exact
 * of its r) as columns of each component, so that a candidate's
 * coordinates are summed across them in independent lanes. */
static void candidate_columns(const gmmp_model *m, gmmp__flat_layout *l)
{
    const size_t K = m->K, d = m->d, r = l->rank, Kr = K * r, exact = l->pre_exact;
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < d; j++)
            for (size_t a = 0; a < exact; a++)
                l->pre_rest[(k * d + j) * exact + a] = l->u_all[j * Kr + k * r + a];
}

/* The coarse product through a basis: patches and the components'
 * leading eigenvectors mostly lie in the few directions in which the
 * prior varies most, the leading eigenvectors of its second moment
 * sum_k w_k (Sigma_k + mu_k mu_k^T). The fewest m of them that keep
 * BASIS_COVERAGE of the coarse eigenvector columns' squared norm
 * (weighted by w_k) carry those columns: a row's coarse coordinates cost
 * d m + m r0 K products instead of d r0 K. The means stay whole (d K
 * more): a prior's means may lie well outside the directions its
 * covariances favour, and an error in y . mu_k enters every score with
 * the tail's inverse variance. The ranking then errs only in the coarse
 * coordinates, which the candidates compute again themselves (all r of
 * theirs, M r0 d more products). For EPLL's K = 200 8 x 8 prior at rank
 * 16, m = 23 of 64; with r0 = 5 instead of 4 the candidates then hold the
 * most likely component more often than before at every noise level,
 * for 0.6 of the product (docs/performance.md). Not worth it where m
 * comes near d: pre_dim stays 0 and the columns are taken whole. */
#define BASIS_COVERAGE 0.98
#define BASIS_MOST_WORK 0.75

/* The prior's second moment's eigenvectors, leading first, as rows of
 * vt (d x d). */
static int leading_directions(const gmmp_model *m, double *vt)
{
    const size_t K = m->K, d = m->d;
    double *second = gmmp__alloc_array(d * d, sizeof(double));
    double *lambda = gmmp__alloc_array(d, sizeof(double));
    int rc = second && lambda ? GMMP_OK : gmmp__fail_nomem();
    if (rc == GMMP_OK) {
        memset(second, 0, d * d * sizeof *second);
        for (size_t k = 0; k < K; k++) {
            const double *cov = m->covs + k * d * d, *mu = m->means + k * d;
            for (size_t i = 0; i < d; i++)
                for (size_t j = 0; j <= i; j++)
                    second[i * d + j] += m->weights[k] * (cov[i * d + j] + mu[i] * mu[j]);
        }
        rc = gmmp__eigh(second, d, lambda, vt, "the prior's second moment");
    }
    if (rc == GMMP_OK) /* eigenvalues ascend: reversed, the leading first */
        for (size_t i = 0; i < d / 2; i++)
            for (size_t j = 0; j < d; j++) {
                double t = vt[i * d + j];
                vt[i * d + j] = vt[(d - 1 - i) * d + j];
                vt[(d - 1 - i) * d + j] = t;
            }
    gmmp__free(second);
    gmmp__free(lambda);
    return rc;
}

/* pre_dim, and with a basis pre_basis (d x m), pre_u (m x r0 K, the
 * coarse eigenvector columns in its coordinates), from the columns
 * `full` (d x (r0 + 1) K). */
static int choose_basis(const gmmp_model *m, gmmp__flat_layout *l, const double *full)
{
    const size_t K = m->K, d = m->d, r0 = l->pre_rank, Kr0 = r0 * K, cols = Kr0 + K;
    /* Even one direction would not save enough: no decomposition. */
    if ((double)(Kr0 + d + d * K) > BASIS_MOST_WORK * (double)(d * cols))
        return GMMP_OK;
    double *vt = gmmp__alloc_array(d * d, sizeof(double));
    double *in_basis = gmmp__alloc_array(d, Kr0 * sizeof(double));
    int rc = vt && in_basis ? leading_directions(m, vt) : gmmp__fail_nomem();
    if (rc == GMMP_OK) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)Kr0, (int)d, 1.0,
                    vt, (int)d, full, (int)cols, 0.0, in_basis, (int)Kr0);
        double total = 0.0, kept = 0.0;
        for (size_t k = 0; k < K; k++)
            total += m->weights[k] * (double)r0;
        size_t dim = 0;
        while (dim < d && kept < BASIS_COVERAGE * total) {
            for (size_t c = 0; c < Kr0; c++) {
                double v = in_basis[dim * Kr0 + c];
                kept += m->weights[c % K] * v * v;
            }
            dim++;
        }
        if ((double)(dim * (Kr0 + d) + d * K) <= BASIS_MOST_WORK * (double)(d * cols)) {
            l->pre_basis = gmmp__alloc_array(d * dim, sizeof(double));
            l->pre_u = gmmp__alloc_array(dim * Kr0, sizeof(double));
            if (l->pre_basis && l->pre_u) {
                for (size_t j = 0; j < d; j++)
                    for (size_t c = 0; c < dim; c++)
                        l->pre_basis[j * dim + c] = vt[c * d + j];
                memcpy(l->pre_u, in_basis, dim * Kr0 * sizeof(double));
                l->pre_dim = dim;
            } else {
                rc = gmmp__fail_nomem();
            }
        }
    }
    gmmp__free(vt);
    gmmp__free(in_basis);
    return rc;
}

/* Preselection's parts: its columns (through a basis where one serves),
 * the candidates' own columns and the coarse eigenvectors' projections. */
static int lay_out_preselection(const gmmp_model *m, gmmp__flat_layout *l)
{
    const size_t K = m->K, d = m->d, r = l->rank, r0 = l->pre_rank, cols = (r0 + 1) * K;
    double *full = gmmp__alloc_array(d * cols, sizeof(double));
    l->pre_proj_mu = gmmp__alloc_array(K, r0 * sizeof(double));
    int rc = full && l->pre_proj_mu ? GMMP_OK : gmmp__fail_nomem();
    if (rc == GMMP_OK) {
        coarse_columns(m, l, full);
        rc = choose_basis(m, l, full);
    }
    if (rc == GMMP_OK) {
        l->pre_exact = l->pre_dim ? r : r - r0;
        l->pre_rest = gmmp__alloc_array(K * d, l->pre_exact * sizeof(double));
        if (l->pre_rest)
            candidate_columns(m, l);
        else
            rc = gmmp__fail_nomem();
    }
    if (rc == GMMP_OK && !l->pre_dim) { /* the columns whole */
        l->pre_u = full;
        full = NULL;
    }
    gmmp__free(full);
    return rc;
}

/* The float copies single precision uses (plan_flat.c says when): all
 * K r columns without preselection; with it, its columns, and each
 * component's remaining eigenvectors as rows, for dot products of the
 * whole row y in eight-lane sums. Preselection's product carries the
 * means too: beyond float's safe range none is made. */
static int lay_out_single(const gmmp_model *m, gmmp__flat_layout *l)
{
    const size_t K = m->K, d = m->d, r = l->rank, r0 = l->pre_rank;
    if (!r0) {
        if (!(l->u_all_f = gmmp__alloc_array(d * K * r, sizeof(float))))
            return gmmp__fail_nomem();
        gmmp__to_single(l->u_all, d * K * r, l->u_all_f);
        return GMMP_OK;
    }
    if (gmmp__max_abs(m->means, K * d) > GMMP__SINGLE_MAX_ABS)
        return GMMP_OK;
    const size_t rest = l->pre_exact, dim = l->pre_dim;
    const size_t n0 = dim ? dim * K * r0 : d * K * (r0 + 1), n1 = d * K * rest;
    if (!(l->pre_u_f = gmmp__alloc_array(n0, sizeof(float))) ||
        !(l->pre_rest_f = gmmp__alloc_array(n1, sizeof(float))) ||
        (dim && (!(l->pre_basis_f = gmmp__alloc_array(d * dim, sizeof(float))) ||
                 !(l->pre_means_f = gmmp__alloc_array(K * d, sizeof(float))))))
        return gmmp__fail_nomem();
    gmmp__to_single(l->pre_u, n0, l->pre_u_f);
    if (dim) {
        gmmp__to_single(l->pre_basis, d * dim, l->pre_basis_f);
        gmmp__to_single(m->means, K * d, l->pre_means_f);
    }
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < d; j++)
            for (size_t a = 0; a < rest; a++)
                l->pre_rest_f[(k * rest + a) * d + j] = (float)l->pre_rest[(k * d + j) * rest + a];
    return GMMP_OK;
}

static int build(const gmmp_model *m, const gmmp__eigen *e, size_t r, size_t r0, bool single,
                 gmmp__flat_layout **out)
{
    const size_t K = m->K, d = m->d;
    gmmp__flat_layout *l = gmmp__alloc(sizeof *l);
    if (!l)
        return gmmp__fail_nomem();
    *l = (gmmp__flat_layout){.rank = r, .pre_rank = r0, .single = single};
    atomic_init(&l->refs, 1);
    l->u_all = gmmp__alloc_array(d * K, r * sizeof(double));
    l->proj_mu = gmmp__alloc_array(K, r * sizeof(double));
    l->mu_norm2 = gmmp__alloc_array(K, sizeof(double));
    int rc = GMMP_OK;
    if (!l->u_all || !l->proj_mu || !l->mu_norm2)
        rc = gmmp__fail_nomem();
    if (rc == GMMP_OK) {
        lay_out_kept(m, e, l);
        if (r0)
            rc = lay_out_preselection(m, l);
        if (rc == GMMP_OK && single)
            rc = lay_out_single(m, l);
    }
    if (rc) {
        gmmp__flat_layout_release(l);
        return rc;
    }
    *out = l;
    return GMMP_OK;
}

int gmmp__flat_layout_get(const gmmp_model *cm, gmmp__eigen *e, size_t r, size_t r0,
                          bool single, gmmp__flat_layout **out)
{
    gmmp_model *m = (gmmp_model *)cm; /* the lock guards the caches (eigen.h) */
    pthread_mutex_lock(&m->lock);
    gmmp__flat_layout *l = e->derived_release == release_kept ? e->derived : NULL;
    if (l && l->rank == r && l->pre_rank == r0 && (l->single || !single))
        atomic_fetch_add(&l->refs, 1);
    else
        l = NULL;
    pthread_mutex_unlock(&m->lock);
    if (l) {
        *out = l;
        return GMMP_OK;
    }
    /* Built outside the lock, so that the model's other cached parts
     * stay available meanwhile. The newest layout is the one kept (one at
     * a time: EPLL's plans all ask for the same). */
    int rc = build(m, e, r, r0, single, &l);
    if (rc)
        return rc;
    atomic_fetch_add(&l->refs, 1); /* the slot's */
    pthread_mutex_lock(&m->lock);
    void *old = e->derived;
    void (*old_release)(void *) = e->derived_release;
    e->derived = l;
    e->derived_release = release_kept;
    pthread_mutex_unlock(&m->lock);
    if (old_release)
        old_release(old);
    *out = l;
    return GMMP_OK;
}
