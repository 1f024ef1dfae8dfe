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
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "estep.h"
#include "internal.h"
#include "plan.h"
#include "plan_exec.h"
#include "single.h"

/* Single precision here projects the observations themselves, y U_r (one
 * product for every component), not residuals: rounding errs by about
 * u d max|y| in a coordinate, so a block runs in float only while that is
 * below 1e-3 of the noise's standard deviation, the scale against which
 * the coordinates are weighed (8-bit images pass down to sigma of about
 * 1 for 8 x 8 grey patches), and within float's safe range. The
 * log-density's error grows with ||y - mu|| / sigma as well: measured,
 * 2e-3 (sigma 1) to 4e-5 (sigma 20) absolute on the log-evidence of
 * 8-bit patches, 5e-6 on responsibilities (docs/math.md). */
static int flat_single(gmmp_plan *plan)
{
    const size_t d = plan->d, n = d * plan->K * plan->rank;
    if (!(plan->u_all_f = gmmp__alloc_array(n, sizeof(float))))
        return gmmp__fail_nomem();
    gmmp__to_single(plan->u_all, n, plan->u_all_f);
    double limit = 1e-3 * sqrt(plan->sigma2) / (0x1p-24 * (double)d);
    plan->flat_single_max = fmin(limit, GMMP__SINGLE_MAX_ABS);
    plan->n_single = plan->K;
    return GMMP_OK;
}

int gmmp__plan_flat(gmmp_plan *plan, size_t rank, bool single)
{
    const size_t K = plan->K, d = plan->d, r = rank, tail = d - r;
    const gmmp__eigen *e = plan->eig;
    plan->flat = true;
    plan->rank = r;
    plan->u_all = gmmp__alloc_array(d * K, r * sizeof(double));
    plan->proj_mu = gmmp__alloc_array(K, r * sizeof(double));
    plan->mu_norm2 = gmmp__alloc_array(K, sizeof(double));
    plan->flat_iv = gmmp__alloc_array(K, (r + 1) * sizeof(double));
    plan->flat_gain = gmmp__alloc_array(K, (r + 1) * sizeof(double));
    if (!plan->u_all || !plan->proj_mu || !plan->mu_norm2 || !plan->flat_iv || !plan->flat_gain)
        return gmmp__fail_nomem();
    const size_t Kr = K * r;
    for (size_t k = 0; k < K; k++) {
        const double *lambda = e->lambda + k * d, *ut = e->ut + k * d * d;
        const double *mu = plan->means + k * d;
        /* Eigenvalues ascend: the tail is the first d - r. */
        double lt = 0.0, logdet = 0.0, mm = 0.0;
        for (size_t j = 0; j < tail; j++)
            lt += lambda[j] / (double)tail;
        for (size_t a = 0; a < r; a++) {
            const double *u = ut + (tail + a) * d; /* eigenvector a of the kept ones */
            double lam = lambda[tail + a], pm = 0.0;
            for (size_t j = 0; j < d; j++) {
                plan->u_all[j * Kr + k * r + a] = u[j];
                pm += u[j] * mu[j];
            }
            plan->proj_mu[k * r + a] = pm;
            plan->flat_iv[k * (r + 1) + a] = 1.0 / (lam + plan->sigma2);
            plan->flat_gain[k * (r + 1) + a] = lam / (lam + plan->sigma2);
            logdet += log(lam + plan->sigma2);
        }
        plan->flat_iv[k * (r + 1) + r] = 1.0 / (lt + plan->sigma2);
        plan->flat_gain[k * (r + 1) + r] = lt / (lt + plan->sigma2);
        logdet += (double)tail * log(lt + plan->sigma2);
        for (size_t j = 0; j < d; j++)
            mm += mu[j] * mu[j];
        plan->mu_norm2[k] = mm;
        plan->log_norm[k] = -0.5 * ((double)d * GMMP__LOG_2PI + logdet);
    }
    return single ? flat_single(plan) : GMMP_OK;
}

void gmmp__plan_flat_free(gmmp_plan *plan)
{
    gmmp__free(plan->u_all);
    gmmp__free(plan->u_all_f);
    gmmp__free(plan->proj_mu);
    gmmp__free(plan->mu_norm2);
    gmmp__free(plan->flat_iv);
    gmmp__free(plan->flat_gain);
}

/* Posterior mean of component k for observation y, with coordinates z. */
static void flat_mean(const gmmp_plan *pl, size_t k, const double *y, const double *z,
                      double *post)
{
    const size_t d = pl->d, r = pl->rank, tail = d - r;
    const double *mu = pl->means + k * d, *g = pl->flat_gain + k * (r + 1);
    const double *ut = pl->eig->ut + k * d * d + tail * d; /* the r kept eigenvectors */
    const double gt = g[r];
    for (size_t j = 0; j < d; j++)
        post[j] = mu[j] + gt * (y[j] - mu[j]);
    for (size_t a = 0; a < r; a++) {
        double c = (g[a] - gt) * z[a];
        const double *u = ut + a * d;
        for (size_t j = 0; j < d; j++)
            post[j] += c * u[j];
    }
}

void gmmp__flat_block(const gmmp_plan *pl, const request *rq, size_t first, size_t n,
                      workspace *w)
{
    const size_t K = pl->K, d = pl->d, r = pl->rank, Kr = K * r;
    const double *Y = rq->Y + first * d;
    double *P = w->z;     /* n x K r: coordinates of y in every component's basis */
    double *lp = w->lp;   /* n x K: first y . mu_k, then log densities */
    double *yy = w->gat;  /* n: ||y||^2 */
    if (pl->u_all_f && gmmp__max_abs(Y, n * d) <= pl->flat_single_max) {
        gmmp__residual_single(Y, n, d, NULL, w->dev_f);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)Kr, (int)d, 1.0f,
                    w->dev_f, (int)d, pl->u_all_f, (int)Kr, 0.0f, w->z_f, (int)Kr);
        for (size_t i = 0; i < n * Kr; i++)
            P[i] = (double)w->z_f[i];
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)Kr, (int)d, 1.0, Y,
                    (int)d, pl->u_all, (int)Kr, 0.0, P, (int)Kr);
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, (int)d, 1.0, Y, (int)d,
                pl->means, (int)d, 0.0, lp, (int)K);
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t j = 0; j < d; j++)
            s += Y[i * d + j] * Y[i * d + j];
        yy[i] = s;
    }
    for (size_t i = 0; i < n; i++) {
        double *row = P + i * Kr;
        /* Coordinates of y - mu_k: one subtraction over the row, which
         * vectorises, then per component the two sums in four lanes (a
         * floating-point reduction does not vectorise by itself). */
        for (size_t j = 0; j < Kr; j++)
            row[j] -= pl->proj_mu[j];
        for (size_t k = 0; k < K; k++) {
            const double *z = row + k * r, *iv = pl->flat_iv + k * (r + 1);
            double zz[4] = {0, 0, 0, 0}, qq[4] = {0, 0, 0, 0};
            size_t a = 0;
            for (; a + 4 <= r; a += 4)
                for (size_t l = 0; l < 4; l++) {
                    double z2 = z[a + l] * z[a + l];
                    zz[l] += z2;
                    qq[l] += z2 * iv[a + l];
                }
            for (; a < r; a++) {
                double z2 = z[a] * z[a];
                zz[0] += z2;
                qq[0] += z2 * iv[a];
            }
            double sz = (zz[0] + zz[1]) + (zz[2] + zz[3]), q = (qq[0] + qq[1]) + (qq[2] + qq[3]);
            /* The tail's energy, never negative (rounding). */
            double e2 = yy[i] - 2.0 * lp[i * K + k] + pl->mu_norm2[k];
            q += (e2 > sz ? e2 - sz : 0.0) * iv[r];
            lp[i * K + k] = pl->log_weights[k] + pl->log_norm[k] - 0.5 * q;
        }
    }
    if (rq->only_component < K) {
        for (size_t i = 0; i < n; i++)
            flat_mean(pl, rq->only_component, Y + i * d, P + i * Kr + rq->only_component * r,
                      rq->means + (first + i) * d);
        return;
    }
    /* MAP alone needs the most responsible component, the largest log
     * density: no normalisation and no exponentials (K per patch, the
     * larger cost of a fast plan). */
    bool map_only = rq->map && !rq->mmse && !rq->resp && !rq->log_evidence;
    if (!map_only) {
        gmmp__log_normalize(lp, n, K, w->lpdf);
        if (rq->log_evidence)
            memcpy(rq->log_evidence + first, w->lpdf, n * sizeof(double));
        for (size_t i = 0; i < n * K; i++)
            lp[i] = exp(lp[i]);
        if (rq->resp)
            memcpy(rq->resp + first * K, lp, n * K * sizeof(double));
    }
    if (!rq->map && !rq->mmse)
        return;
    double *post = w->post; /* d */
    for (size_t i = 0; i < n; i++) {
        const double *y = Y + i * d, *resp = lp + i * K;
        size_t top = 0;
        for (size_t k = 1; k < K; k++)
            if (resp[k] > resp[top])
                top = k;
        double *mmse = rq->mmse ? rq->mmse + (first + i) * d : NULL;
        if (mmse)
            memset(mmse, 0, d * sizeof *mmse);
        for (size_t k = 0; k < K; k++) {
            bool for_map = rq->map && k == top, for_mmse = mmse && resp[k] > pl->skip;
            if (!for_map && !for_mmse)
                continue;
            flat_mean(pl, k, y, P + i * Kr + k * r, post);
            if (for_map)
                memcpy(rq->map + (first + i) * d, post, d * sizeof *post);
            if (for_mmse)
                for (size_t j = 0; j < d; j++)
                    mmse[j] += resp[k] * post[j];
        }
    }
}
