/*
 * Flat-tail denoising plans (fast EPLL, Parameswaran, Deledalle, Denis
 * and Nguyen, 2018): each covariance keeps its r largest eigenpairs and
 * its other d - r eigenvalues are replaced by their mean,
 *     Sigma_k ~ U_r diag(lambda_r) U_r^T + lambda_t (I - U_r U_r^T),
 * which keeps the trace. With noise sigma^2 I, a residual e = y - mu_k
 * then needs only its r coordinates z = U_r^T e and its squared norm:
 *     e^T S_k^{-1} e = sum_a z_a^2 / (lambda_a + sigma^2)
 *                      + (||e||^2 - ||z||^2) / (lambda_t + sigma^2),
 * and the posterior mean is
 *     mu_k + g_t e + U_r ((g_a - g_t) z_a)_a,   g = lambda / (lambda + sigma^2).
 * The coordinates of every component come from one product Y [U_r,1 ...
 * U_r,K] (n x d x K r) and ||e||^2 = ||y||^2 - 2 y.mu_k + ||mu_k||^2 from
 * one product Y M^T: about d / r times less work than whitening with full
 * eigenbases, in two large matrix products instead of K small ones.
 *
 * Preselection (GMMP_OPT_CANDIDATES) cuts the K r coordinates further
 * when K is large: a coarser flat tail of rank r0 (the r0 leading
 * eigenpairs, the rest flattened) ranks the components from one product
 * of K r0 columns (through the prior's leading directions where they
 * hold the columns, flat_layout.c), and only the M best get their other
 * coordinates and an exact rank-r log density; the others count as
 * unlikely (responsibility 0). FEPLL selects components by a search
 * tree for the same reason; ranking by the coarse model picks the same
 * most likely component for most patches, and the few it misses are
 * near ties (docs/performance.md).
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "flat_layout.h"
#include "internal.h"
#include "plan.h"
#include "plan_exec.h"
#include "single.h"

/* The coarse scores' constants in float (pre_f), where float holds them
 * all comfortably (a ranking needs no more); else pre_f stays NULL and
 * the scores are computed in double (scales near float's limits: noise
 * or eigenvalues beyond about 1e+-30). */
static int coarse_constants_single(gmmp_plan *plan)
{
    const size_t K = plan->K, r0 = plan->pre_rank, n = (2 * r0 + 2) * K;
    double *values = gmmp__alloc_array(n, sizeof(double));
    if (!values)
        return gmmp__fail_nomem();
    double *pm = values, *half_iv = pm + r0 * K, *tail_iv = half_iv + r0 * K;
    for (size_t i = 0; i < r0 * K; i++) {
        pm[i] = plan->layout->pre_proj_mu[i];
        half_iv[i] = -0.5 * plan->pre_iv[i];
    }
    for (size_t k = 0; k < K; k++) {
        tail_iv[k] = plan->pre_iv[r0 * K + k];
        tail_iv[K + k] = plan->pre_base[k];
    }
    bool fits = true;
    for (size_t i = 0; i < n; i++)
        fits &= fabs(values[i]) <= 0x1p100 && (values[i] == 0.0 || fabs(values[i]) >= 0x1p-100);
    int rc = GMMP_OK;
    if (fits) {
        if ((plan->pre_f = gmmp__alloc_array(n, sizeof(float))))
            gmmp__to_single(values, n, plan->pre_f);
        else
            rc = gmmp__fail_nomem();
    }
    gmmp__free(values);
    return rc;
}

/* Single precision here projects the observations themselves, y U_r (one
 * product for every component), not residuals: rounding errs by about
 * u d max|y| in a coordinate, so a block runs in float only while that is
 * below 1e-3 of the noise's standard deviation, the scale against which
 * the coordinates are weighed (8-bit images pass down to sigma of about
 * 1 for 8 x 8 grey patches), and within float's safe range. The
 * log-density's error grows with ||y - mu|| / sigma as well: measured,
 * 2e-3 (sigma 1) to 4e-5 (sigma 20) absolute on the log-evidence of
 * 8-bit patches, 5e-6 on responsibilities (docs/math.md). The float
 * copies are the layout's (flat_layout.c), which makes none where
 * preselection's means exceed float's safe range: the plan then stays
 * in double (n_single 0). */
static int flat_single(gmmp_plan *plan)
{
    const gmmp__flat_layout *l = plan->layout;
    if (plan->candidates ? !l->pre_u_f : !l->u_all_f)
        return GMMP_OK;
    if (plan->candidates) {
        int rc = coarse_constants_single(plan);
        if (rc)
            return rc;
    }
    double limit = 1e-3 * sqrt(plan->sigma2) / (0x1p-24 * (double)plan->d);
    plan->flat_single_max = fmin(limit, GMMP__SINGLE_MAX_ABS);
    plan->n_single = plan->K;
    return GMMP_OK;
}

/* The coarse model of preselection: rank r0 = max(1, r / 3) (r = 16: 5).
 * Rank 4 had measured within 0.02 dB of every component exact with 8
 * candidates of 200, where rank 2 lost 0.07; since the coarse product runs
 * through the prior's leading directions (flat_layout.c), rank 5 costs
 * 0.6 of rank 4's whole product and its 8 candidates hold the most likely
 * component more often (docs/performance.md). Only where it saves work:
 * the coarse coordinates and the candidates' own must cost less than
 * every component's r. Returns r0, or 0 for none. */
static size_t coarse_rank(size_t K, size_t r, size_t candidates)
{
    const size_t r0 = r / 3 > 0 ? r / 3 : 1;
    if (candidates == 0 || candidates >= K || K * r0 + candidates * r >= K * r)
        return 0;
    return r0;
}

/* Preselection's noise-dependent constants: the coarse model's inverse
 * variances (the tail's last) and each component's base score. */
static int flat_preselect(gmmp_plan *plan)
{
    const size_t K = plan->K, d = plan->d, r0 = plan->pre_rank;
    plan->pre_iv = gmmp__alloc_array(K, (r0 + 1) * sizeof(double));
    plan->pre_base = gmmp__alloc_array(K, sizeof(double));
    if (!plan->pre_iv || !plan->pre_base)
        return gmmp__fail_nomem();
    double *tail_iv = plan->pre_iv + r0 * K;
    for (size_t k = 0; k < K; k++) {
        const double *lambda = plan->eig->lambda + k * d;
        double lt = 0.0, logdet = 0.0;
        for (size_t j = 0; j < d - r0; j++)
            lt += lambda[j] / (double)(d - r0);
        tail_iv[k] = 1.0 / (lt + plan->sigma2);
        for (size_t a = 0; a < r0; a++) {
            double var = lambda[d - r0 + a] + plan->sigma2;
            plan->pre_iv[a * K + k] = 1.0 / var - tail_iv[k];
            logdet += log(var);
        }
        logdet += (double)(d - r0) * log(lt + plan->sigma2);
        plan->pre_base[k] = plan->log_weights[k] -
                            0.5 * ((double)d * GMMP__LOG_2PI + logdet) -
                            0.5 * plan->layout->mu_norm2[k] * tail_iv[k];
    }
    return GMMP_OK;
}

#if defined(GMMP_HAVE_FLAT_AVX2)
/* Whether this processor runs flat_block.c's AVX2 build. */
static bool has_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

int gmmp__plan_flat(gmmp_plan *plan, size_t rank, size_t candidates, bool single)
{
    const size_t K = plan->K, d = plan->d, r = rank, tail = d - r;
    const gmmp__eigen *e = plan->eig;
    plan->flat = true;
#if defined(GMMP_HAVE_FLAT_AVX2)
    plan->flat_avx2 = has_avx2();
#endif
    plan->rank = r;
    const size_t r0 = coarse_rank(K, r, candidates);
    plan->candidates = r0 ? candidates : 0;
    plan->pre_rank = r0;
    int rc = gmmp__flat_layout_get(plan->model, plan->eig, r, r0, single, &plan->layout);
    if (rc)
        return rc;
    plan->flat_iv = gmmp__alloc_array(K, (r + 1) * sizeof(double));
    plan->flat_gain = gmmp__alloc_array(K, (r + 1) * sizeof(double));
    if (!plan->flat_iv || !plan->flat_gain)
        return gmmp__fail_nomem();
    for (size_t k = 0; k < K; k++) {
        const double *lambda = e->lambda + k * d;
        /* Eigenvalues ascend: the tail is the first d - r. */
        double lt = 0.0, logdet = 0.0;
        for (size_t j = 0; j < tail; j++)
            lt += lambda[j] / (double)tail;
        for (size_t a = 0; a < r; a++) {
            double lam = lambda[tail + a];
            plan->flat_iv[k * (r + 1) + a] = 1.0 / (lam + plan->sigma2);
            plan->flat_gain[k * (r + 1) + a] = lam / (lam + plan->sigma2);
            logdet += log(lam + plan->sigma2);
        }
        plan->flat_iv[k * (r + 1) + r] = 1.0 / (lt + plan->sigma2);
        plan->flat_gain[k * (r + 1) + r] = lt / (lt + plan->sigma2);
        logdet += (double)tail * log(lt + plan->sigma2);
        plan->log_norm[k] = -0.5 * ((double)d * GMMP__LOG_2PI + logdet);
    }
    if (r0 && (rc = flat_preselect(plan)))
        return rc;
    return single ? flat_single(plan) : GMMP_OK;
}

void gmmp__plan_flat_free(gmmp_plan *plan)
{
    gmmp__flat_layout_release(plan->layout);
    gmmp__free(plan->flat_iv);
    gmmp__free(plan->flat_gain);
    gmmp__free(plan->pre_f);
    gmmp__free(plan->pre_iv);
    gmmp__free(plan->pre_base);
}

void gmmp__flat_block(const gmmp_plan *pl, const request *rq, size_t first, size_t n,
                      workspace *w)
{
#if defined(GMMP_HAVE_FLAT_AVX2)
    if (pl->flat_avx2) {
        gmmp__flat_block_avx2(pl, rq, first, n, w);
        return;
    }
#endif
    gmmp__flat_block_base(pl, rq, first, n, w);
}
