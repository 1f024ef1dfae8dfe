/*
 * Posterior plans: every factorisation done once, per (model, W, noise, b).
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "linalg.h"
#include "options_internal.h"
#include "model.h"
#include "plan.h"
#include "single.h"


void gmmp_plan_destroy(gmmp_plan *plan)
{
    if (!plan)
        return;
    gmmp__eigen_release(plan->eig);
    gmmp__model_release(plan->model);
    gmmp__free(plan->log_norm);
    gmmp__free(plan->b);
    gmmp__free(plan->inv_var);
    gmmp__free(plan->gain);
    gmmp__free(plan->obs_means);
    gmmp__free(plan->s_chol_inv);
    gmmp__free(plan->gain_t);
    gmmp__free(plan->noise_diag);
    gmmp__free(plan->single);
    gmmp__free(plan->s_chol_inv_f);
    gmmp__free(plan->gain_t_f);
    gmmp__plan_flat_free(plan);
    gmmp__free(plan);
}

size_t gmmp_plan_components(const gmmp_plan *plan)
{
    return plan ? plan->K : 0;
}

size_t gmmp_plan_dim(const gmmp_plan *plan)
{
    return plan ? plan->d : 0;
}

size_t gmmp_plan_obs_dim(const gmmp_plan *plan)
{
    return plan ? plan->p : 0;
}

/* What a worker may keep of whitened residuals: 2^20 values (8 MB). */
#define WHITENED_BUDGET ((size_t)1 << 20)
/* Rows of a block when they are not kept, at most. */
#define REWHITEN_ROWS 512
/* What a flat plan's block keeps of coordinates: 2^16 values (0.5 MB),
 * so that the product that writes them and the scores that read them
 * meet in the L2 cache (1 MB a core here); 2^20 had cost a sixth of fast
 * EPLL's time, 2^17 and 2^18 measured the same as 2^16 within noise. */
#define FLAT_BUDGET ((size_t)1 << 16)

bool gmmp__plan_keeps_whitened(const gmmp_plan *plan)
{
    size_t width = plan->p > plan->d ? plan->p : plan->d;
    return plan->flat || plan->K * width * 256 <= WHITENED_BUDGET;
}

size_t gmmp__plan_flat_row_values(const gmmp_plan *plan)
{
    /* Preselection keeps the coarse coordinates with every y . mu_k, and
     * the candidates' coordinates. */
    return plan->candidates
               ? plan->K * (plan->pre_rank + 1) + plan->candidates * plan->rank
               : plan->K * plan->rank;
}

size_t gmmp__plan_block_rows(const gmmp_plan *plan)
{
    if (plan->flat) {
        /* A flat plan keeps K r coordinates a row (and M r of its
         * candidates), not K d whitened values. */
        size_t rows = FLAT_BUDGET / gmmp__plan_flat_row_values(plan);
        return rows < 64 ? 64 : rows > 1024 ? 1024 : rows;
    }
    size_t width = plan->p > plan->d ? plan->p : plan->d;
    if (!gmmp__plan_keeps_whitened(plan)) {
        /* The workspace's few row buffers stay within the same budget. */
        size_t rows = WHITENED_BUDGET / width;
        return rows < 64 ? 64 : rows > REWHITEN_ROWS ? REWHITEN_ROWS : rows;
    }
    size_t rows = WHITENED_BUDGET / (plan->K * width);
    return rows < 64 ? 64 : rows > 1024 ? 1024 : rows;
}

/* Checks the noise description; fills `var` (p variances) for diagonal
 * and scalar noise. */
static int check_noise(gmmp_noise_kind kind, const double *noise, size_t p)
{
    if (!noise)
        return gmmp__fail(GMMP_EINVAL, "noise is NULL");
    size_t count = kind == GMMP_NOISE_SCALAR ? 1 : kind == GMMP_NOISE_DIAGONAL ? p : p * p;
    if (kind != GMMP_NOISE_SCALAR && kind != GMMP_NOISE_DIAGONAL && kind != GMMP_NOISE_FULL)
        return gmmp__fail(GMMP_EINVAL, "unknown noise kind %d", (int)kind);
    size_t bad = gmmp__first_nonfinite(noise, count);
    if (bad < count)
        return gmmp__fail(GMMP_ENONFINITE, "noise[%zu] is %g", bad, noise[bad]);
    if (kind == GMMP_NOISE_FULL) {
        int rc = gmmp__check_symmetric(noise, p, "noise covariance");
        if (rc)
            return rc;
        /* Positive definite on its own, as promised, even where W Sigma_k
         * W^T + Sigma_y would happen to be. */
        double *copy = gmmp__alloc_array(p * p, sizeof(double));
        if (!copy)
            return gmmp__fail_nomem();
        memcpy(copy, noise, p * p * sizeof *copy);
        int minor = gmmp__cholesky(copy, p);
        gmmp__free(copy);
        if (minor < 0)
            return minor;
        if (minor > 0)
            return gmmp__fail(GMMP_ENOTSPD,
                              "noise covariance is not positive definite (leading minor of "
                              "order %d)",
                              minor);
        return GMMP_OK;
    }
    for (size_t i = 0; i < count; i++)
        if (!(noise[i] > 0.0))
            return gmmp__fail(GMMP_EINVAL, "noise variance %zu is %g: variances must be "
                                           "positive",
                              i, noise[i]);
    return GMMP_OK;
}

/* The denoising plan: the model's eigenbases (at least the `top` largest
 * eigenpairs: gmmp__eigen_get) and the Wiener gains of this noise level;
 * O(K d) once the bases exist. */
static int plan_eigen(gmmp_plan *plan, const gmmp_model *m, double sigma2, size_t top)
{
    const size_t K = plan->K, d = plan->d;
    int rc = gmmp__eigen_get(m, (gmmp__exec_threads){plan->threads, plan->blas_serial}, top,
                             &plan->eig);
    if (rc)
        return rc;
    plan->eigen_path = true;
    plan->sigma2 = sigma2;
    plan->inv_var = gmmp__alloc_array(K * d, sizeof(double));
    plan->gain = gmmp__alloc_array(K * d, sizeof(double));
    if (!plan->inv_var || !plan->gain)
        return gmmp__fail_nomem();
    for (size_t k = 0; k < K; k++) {
        double logdet = 0.0;
        for (size_t j = 0; j < d; j++) {
            double lambda = plan->eig->lambda[k * d + j];
            double var = lambda + sigma2;
            if (!(var > 0.0))
                return gmmp__fail(GMMP_ENOTSPD,
                                  "marginal covariance of component %zu is not positive "
                                  "definite (eigenvalue %g + noise %g)",
                                  k, lambda, sigma2);
            plan->inv_var[k * d + j] = 1.0 / var;
            plan->gain[k * d + j] = lambda / var;
            logdet += log(var);
        }
        plan->log_norm[k] = -0.5 * ((double)d * GMMP__LOG_2PI + logdet);
    }
    return GMMP_OK;
}

/* Single precision on the denoising path: whitening is by an orthogonal
 * U_k^T, whose float rounding is relative to the residual's norm; the
 * log-density then weighs coordinates by 1 / (lambda + sigma2), so its
 * relative error grows with kappa = sqrt(max / min of lambda + sigma2),
 * the whitening's condition number. The Wiener map's error is relative
 * to the residual's norm whatever kappa. Means beyond float's safe range
 * keep a component double; data are checked per block at execution. */
static int plan_single_eigen(gmmp_plan *plan)
{
    const size_t K = plan->K, d = plan->d;
    if (!(plan->single = gmmp__calloc_array(K, sizeof(bool))))
        return gmmp__fail_nomem();
    if (!(plan->ut_f = gmmp__eigen_single(plan->model, plan->eig)))
        return GMMP_ENOMEM;
    for (size_t k = 0; k < K; k++) {
        const double *iv = plan->inv_var + k * d;
        double lo = iv[0], hi = iv[0];
        for (size_t j = 1; j < d; j++) {
            lo = fmin(lo, iv[j]);
            hi = fmax(hi, iv[j]);
        }
        double var_lo = 1.0 / hi, var_hi = 1.0 / lo;
        double range[2] = {var_lo, var_hi};
        /* The residual is y - b - mu_k: the observation mean is b + mu_k. */
        double top = 0.0;
        for (size_t j = 0; j < d; j++)
            top = fmax(top, fabs(plan->b[j] + plan->means[k * d + j]));
        plan->single[k] =
            gmmp__single_ok(sqrt(hi / lo), range, 2, 1) && top <= GMMP__SINGLE_MAX_ABS;
        plan->n_single += plan->single[k];
    }
    return GMMP_OK;
}

/* Single precision on the general path: the model's E-step test
 * (single.h) on S_k's whitening L_S^{-1}, whose diagonal `s_diag` (K x p)
 * plan_general kept before factoring, and observation means in range. */
static int plan_single_general(gmmp_plan *plan, const double *s_diag)
{
    const size_t K = plan->K, d = plan->d, p = plan->p;
    plan->single = gmmp__calloc_array(K, sizeof(bool));
    plan->s_chol_inv_f = gmmp__alloc_array(K * p, p * sizeof(float));
    plan->gain_t_f = gmmp__alloc_array(K * p, d * sizeof(float));
    if (!plan->single || !plan->s_chol_inv_f || !plan->gain_t_f)
        return gmmp__fail_nomem();
    for (size_t k = 0; k < K; k++) {
        const double *l_inv = plan->s_chol_inv + k * p * p;
        double kappa = gmmp__whitening_kappa(s_diag + k * p, 1, l_inv, p);
        bool ok = gmmp__single_ok(kappa, s_diag + k * p, p, 1) &&
                  gmmp__max_abs(plan->obs_means + k * p, p) <= GMMP__SINGLE_MAX_ABS;
        plan->single[k] = ok;
        if (ok) {
            gmmp__to_single(l_inv, p * p, plan->s_chol_inv_f + k * p * p);
            gmmp__to_single(plan->gain_t + k * p * d, p * d, plan->gain_t_f + k * p * d);
            plan->n_single++;
        }
    }
    return GMMP_OK;
}

size_t gmmp_plan_single_components(const gmmp_plan *plan)
{
    return plan ? plan->n_single : 0;
}

/* Any W and noise: S_k = W Sigma_k W^T + Sigma_y, its Cholesky factor
 * L_S (inverted for fast whitening, as the model does), and the gain
 * G_k = L_S^{-1} W Sigma_k, p x d. s_diag (K x p, or NULL) receives the
 * diagonals of the S_k, for the single-precision test. */
static int plan_general(gmmp_plan *plan, const gmmp_model *m, const double *W,
                        gmmp_noise_kind kind, const double *noise, double *s_diag)
{
    const size_t K = plan->K, d = plan->d, p = plan->p;
    plan->obs_means = gmmp__alloc_array(K * p, sizeof(double));
    plan->s_chol_inv = gmmp__alloc_array(K * p * p, sizeof(double));
    plan->gain_t = gmmp__alloc_array(K * p * d, sizeof(double));
    double *ws = gmmp__alloc_array(p * d, sizeof(double)); /* W Sigma_k */
    if (!plan->obs_means || !plan->s_chol_inv || !plan->gain_t || !ws) {
        gmmp__free(ws);
        return gmmp__fail_nomem();
    }
    int rc = GMMP_OK;
    for (size_t k = 0; k < K && rc == GMMP_OK; k++) {
        const double *sigma = m->covs + k * d * d, *mu = m->means + k * d;
        double *s = plan->s_chol_inv + k * p * p, *g = plan->gain_t + k * p * d;
        double *om = plan->obs_means + k * p;
        if (W) {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)p, (int)d, (int)d, 1.0,
                        W, (int)d, sigma, (int)d, 0.0, ws, (int)d);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)p, (int)p, (int)d, 1.0, ws,
                        (int)d, W, (int)d, 0.0, s, (int)p);
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)p, (int)d, 1.0, W, (int)d, mu, 1, 0.0,
                        om, 1);
        } else {
            memcpy(ws, sigma, d * d * sizeof *ws);
            memcpy(s, sigma, d * d * sizeof *s);
            memcpy(om, mu, d * sizeof *om);
        }
        for (size_t i = 0; i < p; i++) {
            om[i] += plan->b[i];
            if (kind == GMMP_NOISE_FULL)
                for (size_t j = 0; j < p; j++)
                    s[i * p + j] += 0.5 * (noise[i * p + j] + noise[j * p + i]);
            else
                s[i * p + i] += noise[kind == GMMP_NOISE_SCALAR ? 0 : i];
        }
        for (size_t i = 0; s_diag && i < p; i++)
            s_diag[k * p + i] = s[i * p + i];
        int minor = gmmp__cholesky(s, p);
        if (minor < 0) {
            rc = minor;
            break;
        }
        if (minor != 0) {
            rc = gmmp__fail(GMMP_ENOTSPD,
                            "marginal covariance W Sigma_k W^T + Sigma_y of component %zu is "
                            "not positive definite (leading minor %d)%s",
                            k, minor,
                            kind == GMMP_NOISE_FULL ? ": is the noise covariance positive "
                                                      "definite?"
                                                    : "");
            break;
        }
        plan->log_norm[k] = -0.5 * ((double)p * GMMP__LOG_2PI + gmmp__chol_logdet(s, p));
        int zero = gmmp__tri_inverse(s, p);
        if (zero != 0) {
            rc = zero < 0 ? zero
                          : gmmp__fail(GMMP_ENOTSPD,
                                       "marginal covariance of component %zu is singular", k);
            break;
        }
        /* G_k = L_S^{-1} (W Sigma_k): a triangular multiply of p x d. */
        memcpy(g, ws, p * d * sizeof *g);
        cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)p,
                    (int)d, 1.0, s, (int)p, g, (int)d);
    }
    gmmp__free(ws);
    return rc;
}

/* Keeps what gmmp_plan_execute_masked needs besides the model's
 * covariances (which the plan references): the noise variance of every
 * pixel. */
static int enable_masks(gmmp_plan *plan, gmmp_noise_kind kind, const double *noise)
{
    const size_t d = plan->d;
    plan->noise_diag = gmmp__alloc_array(d, sizeof(double));
    if (!plan->noise_diag)
        return gmmp__fail_nomem();
    for (size_t j = 0; j < d; j++)
        plan->noise_diag[j] = noise[kind == GMMP_NOISE_SCALAR ? 0 : j];
    return GMMP_OK;
}

int gmmp_plan_create(gmmp_plan **out, const gmmp_model *m, size_t p, const double *W,
                     gmmp_noise_kind kind, const double *noise, const double *b,
                     const gmmp_options *options)
{
    if (!out || !m)
        return gmmp__fail(GMMP_EINVAL, "output handle pointer or model is NULL");
    gmmp__option_values opt;
    gmmp__options_read(options, &opt);
    const size_t K = m->K, d = m->d;
    if (p == 0)
        return gmmp__fail(GMMP_EINVAL, "observation dimension p is 0");
    if (!W && p != d)
        return gmmp__fail(GMMP_EDIM,
                          "without W the observations are the patch: p = %zu must equal d = %zu",
                          p, d);
    size_t pd, kpp, kpd;
    if (p > GMMP__MAX_ORDER)
        return gmmp__fail(GMMP_EOVERFLOW,
                          "observation dimension p=%zu exceeds %u: LAPACK's workspace would "
                          "overflow its 32-bit sizes",
                          p, GMMP__MAX_ORDER);
    if (!gmmp__mul_ok(p, d, &pd) || !gmmp__mul_ok(K, p * p, &kpp) ||
        !gmmp__mul_ok(K, pd, &kpd) || kpp > SIZE_MAX / sizeof(double) ||
        kpd > SIZE_MAX / sizeof(double) || p > SIZE_MAX / p)
        return gmmp__fail(GMMP_EOVERFLOW, "a plan for p = %zu observations of d = %zu is too "
                                          "large",
                          p, d);
    int rc;
    size_t bad;
    if (W && (bad = gmmp__first_nonfinite(W, pd)) < pd)
        return gmmp__fail(GMMP_ENONFINITE, "W[%zu][%zu] is %g", bad / d, bad % d, W[bad]);
    if (b && (bad = gmmp__first_nonfinite(b, p)) < p)
        return gmmp__fail(GMMP_ENONFINITE, "b[%zu] is %g", bad, b[bad]);
    if ((rc = check_noise(kind, noise, p)))
        return rc;

    gmmp_plan *plan = gmmp__alloc(sizeof *plan);
    if (!plan)
        return gmmp__fail_nomem();
    *plan = (gmmp_plan){.K = K,
                        .d = d,
                        .p = p,
                        .threads = (unsigned)gmmp__opt_int(&opt, GMMP_OPT_THREADS),
                        .blas_serial = gmmp__opt_int(&opt, GMMP_OPT_BLAS_SERIAL) != 0,
                        .skip = gmmp__opt_real(&opt, GMMP_OPT_SKIP),
                        .model = gmmp__model_retain(m),
                        .identity_obs = !W && (!b || gmmp__all_zero(b, p))};
    /* The model's parameters are shared, not copied (a plan for a new
     * sigma must cost O(K d)); the model keeps them alive. */
    plan->log_weights = m->log_weights;
    plan->means = m->means;
    plan->covs = m->covs;
    plan->log_norm = gmmp__alloc_array(K, sizeof(double));
    plan->b = gmmp__calloc_array(p, sizeof(double));
    if (!plan->log_norm || !plan->b) {
        gmmp_plan_destroy(plan);
        return gmmp__fail_nomem();
    }
    if (b)
        memcpy(plan->b, b, p * sizeof(double));
    bool eigen = !W && kind == GMMP_NOISE_SCALAR &&
                 gmmp__opt_int(&opt, GMMP_OPT_PLAN_METHOD) == GMMP_PLAN_DEFAULT;
    bool single = gmmp__opt_int(&opt, GMMP_OPT_PRECISION) == GMMP_PRECISION_SINGLE;
    double *s_diag = NULL;
    if (single && !eigen && !(s_diag = gmmp__alloc_array(K, p * sizeof(double)))) {
        gmmp_plan_destroy(plan);
        return gmmp__fail_nomem();
    }
    /* Flat tails only where they are what the caller asked for: a
     * denoising plan without offsets, and a rank below d. They need only
     * the rank's leading eigenpairs. */
    size_t rank = (size_t)gmmp__opt_int(&opt, GMMP_OPT_RANK);
    bool flat = eigen && plan->identity_obs && rank > 0 && rank < d;
    rc = eigen ? plan_eigen(plan, m, noise[0], flat ? rank : d)
               : plan_general(plan, m, W, kind, noise, s_diag);
    if (rc == GMMP_OK && s_diag)
        rc = plan_single_general(plan, s_diag);
    gmmp__free(s_diag);
    if (rc == GMMP_OK && flat)
        rc = gmmp__plan_flat(plan, rank, (size_t)gmmp__opt_int(&opt, GMMP_OPT_CANDIDATES),
                             single);
    if (rc == GMMP_OK && eigen && !flat && single)
        rc = plan_single_eigen(plan);
    if (rc == GMMP_OK && !W && kind != GMMP_NOISE_FULL)
        rc = enable_masks(plan, kind, noise);
    if (rc) {
        gmmp_plan_destroy(plan);
        return rc;
    }
    *out = plan;
    return GMMP_OK;
}

int gmmp__check_sigma(double sigma)
{
    /* sigma^2 must be a normal number: a subnormal or infinite variance
     * would make the gains 0/0 or lose every digit. */
    if (!(sigma > 0.0) || !isfinite(sigma) || !isnormal(sigma * sigma) ||
        !isfinite(sigma * sigma))
        return gmmp__fail(GMMP_EINVAL,
                          "noise standard deviation sigma = %g is out of range: it must be "
                          "positive with sigma^2 a finite normal number",
                          sigma);
    return GMMP_OK;
}

int gmmp_plan_create_denoise(gmmp_plan **out, const gmmp_model *model, double sigma,
                             const gmmp_options *options)
{
    int rc = gmmp__check_sigma(sigma);
    if (rc)
        return rc;
    if (!model)
        return gmmp__fail(GMMP_EINVAL, "model is NULL");
    double var = sigma * sigma;
    return gmmp_plan_create(out, model, gmmp_model_dim(model), NULL, GMMP_NOISE_SCALAR, &var,
                            NULL, options);
}

/* Sigma_k - Sigma_k (Sigma_k + sigma2 I)^{-1} Sigma_k by a Cholesky
 * factor: for a flat plan whose eigenbases hold only the leading
 * eigenvectors (gmmp__eigen_get), the exact covariance all the same. */
static int posterior_cov_solve(const gmmp_plan *plan, size_t k, double *cov)
{
    const size_t d = plan->d;
    const double *sigma = plan->covs + k * d * d;
    double *l = gmmp__alloc_array(d * d, sizeof(double));
    if (!l)
        return gmmp__fail_nomem();
    memcpy(l, sigma, d * d * sizeof *l);
    for (size_t j = 0; j < d; j++)
        l[j * d + j] += plan->sigma2;
    int minor = gmmp__cholesky(l, d);
    if (minor != 0) {
        gmmp__free(l);
        return minor < 0 ? minor
                         : gmmp__fail(GMMP_ENOTSPD,
                                      "marginal covariance of component %zu is not positive "
                                      "definite (leading minor of order %d)",
                                      k, minor);
    }
    /* X = L^{-1} Sigma_k into cov, then Sigma_k - X^T X. */
    memcpy(cov, sigma, d * d * sizeof *cov);
    cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, (int)d, (int)d,
                1.0, l, (int)d, cov, (int)d);
    memcpy(l, cov, d * d * sizeof *l);
    memcpy(cov, sigma, d * d * sizeof *cov);
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)d, -1.0, l, (int)d, 1.0, cov,
                (int)d);
    gmmp__free(l);
    gmmp__symmetrize_lower(cov, d);
    return GMMP_OK;
}

int gmmp_plan_posterior_cov(const gmmp_plan *plan, size_t k, double *cov)
{
    if (!plan || !cov)
        return gmmp__fail(GMMP_EINVAL, "plan or output is NULL");
    if (k >= plan->K)
        return gmmp__fail(GMMP_EDIM, "component %zu does not exist: the plan has %zu", k,
                          plan->K);
    const size_t d = plan->d, p = plan->p;
    if (plan->eigen_path && plan->eig->top < d)
        return posterior_cov_solve(plan, k, cov);
    if (plan->eigen_path) {
        /* U diag(lambda sigma2 / (lambda + sigma2)) U^T as (D U^T)^T (D U^T)
         * with D the square roots: a SYRK, symmetric by construction. */
        double *scaled = gmmp__alloc_array(d * d, sizeof(double));
        if (!scaled)
            return gmmp__fail_nomem();
        const double *ut = plan->eig->ut + k * d * d;
        for (size_t j = 0; j < d; j++) {
            double c = sqrt(plan->gain[k * d + j] * plan->sigma2);
            for (size_t i = 0; i < d; i++)
                scaled[j * d + i] = c * ut[j * d + i];
        }
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)d, 1.0, scaled, (int)d,
                    0.0, cov, (int)d);
        gmmp__free(scaled);
    } else {
        /* Sigma_k - G_k^T G_k. */
        memcpy(cov, plan->covs + k * d * d, d * d * sizeof *cov);
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)p, -1.0,
                    plan->gain_t + k * p * d, (int)d, 1.0, cov, (int)d);
    }
    gmmp__symmetrize_lower(cov, d);
    return GMMP_OK;
}
