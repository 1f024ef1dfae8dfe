/*
 * Posterior plans: against scikit-learn/numpy fixtures for three
 * observation models, against a slow explicit-inverse reference, limits,
 * threads, and bad inputs.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "refmath.h"
#include "testutil.h"

typedef struct fixture {
    size_t K, d, p, n;
    double *W, *noise, *b, *Y, *post_cov, *post_means, *resp, *log_ev, *map, *mmse;
    gmmp_model *model;
} fixture;

static double *load(const char *dir, const char *name, size_t count)
{
    char path[256];
    snprintf(path, sizeof path, "fixtures/%s/%s.f64", dir, name);
    return tu_load_f64(path, count);
}

static fixture load_fixture(const char *dir, size_t p, size_t n)
{
    fixture f = {.K = 6, .d = 64, .p = p, .n = n};
    size_t K = f.K, d = f.d;
    f.W = load(dir, "W", p * d);
    f.noise = load(dir, "noise_cov", p * p);
    f.b = load(dir, "b", p);
    f.Y = load(dir, "Y", n * p);
    f.post_cov = load(dir, "post_covariances", K * d * d);
    f.post_means = load(dir, "post_means", K * n * d);
    f.resp = load(dir, "resp", n * K);
    f.log_ev = load(dir, "log_evidence", n);
    f.map = load(dir, "map", n * d);
    f.mmse = load(dir, "mmse", n * d);
    double *w = load(dir, "weights", K), *mu = load(dir, "means", K * d);
    double *cov = load(dir, "covariances", K * d * d);
    ck_assert_ok(gmmp_model_create(&f.model, K, d, w, mu, cov));
    free(w), free(mu), free(cov);
    return f;
}

static void free_fixture(fixture *f)
{
    free(f->W), free(f->noise), free(f->b), free(f->Y), free(f->post_cov);
    free(f->post_means), free(f->resp), free(f->log_ev), free(f->map), free(f->mmse);
    gmmp_model_destroy(f->model);
}

#define TOL 1e-9

/* Every output of a plan against the fixture, normwise relative: within
 * TOL, or within `tol` for the outputs a single-precision plan computes
 * in float (posterior means, responsibilities, estimates; posterior
 * covariances stay within TOL, the log-evidence within tol / 100). */
static void check_plan_tol(const fixture *f, const gmmp_plan *plan, const char *what,
                           double tol);

static void check_plan(const fixture *f, const gmmp_plan *plan, const char *what)
{
    check_plan_tol(f, plan, what, TOL);
}

static void check_plan_tol(const fixture *f, const gmmp_plan *plan, const char *what,
                           double tol)
{
    const size_t K = f->K, d = f->d, n = f->n;
    ck_assert_uint_eq(gmmp_plan_components(plan), K);
    ck_assert_uint_eq(gmmp_plan_dim(plan), d);
    ck_assert_uint_eq(gmmp_plan_obs_dim(plan), f->p);
    double *cov = malloc(d * d * sizeof *cov), *means = malloc(n * d * sizeof *means);
    for (size_t k = 0; k < K; k++) {
        ck_assert_ok(gmmp_plan_posterior_cov(plan, k, cov));
        double e = tu_rel_diff(cov, f->post_cov + k * d * d, d * d);
        ck_assert_msg(e <= TOL, "%s: posterior covariance %zu off by %g", what, k, e);
        ck_assert_ok(gmmp_plan_component_means(plan, k, f->Y, n, means));
        e = tu_rel_diff(means, f->post_means + k * n * d, n * d);
        if (getenv("GMMP_DEBUG_PARITY"))
            fprintf(stderr, "%s: posterior means %zu: %.3g\n", what, k, e);
        ck_assert_msg(e <= tol, "%s: posterior means %zu off by %g", what, k, e);
    }
    double *resp = malloc(n * K * sizeof *resp), *lev = malloc(n * sizeof *lev);
    double *map = malloc(n * d * sizeof *map), *mmse = malloc(n * d * sizeof *mmse);
    ck_assert_ok(gmmp_plan_execute(plan, f->Y, n, resp, lev, map, mmse));
    const struct {
        const char *name;
        const double *got, *want;
        size_t count;
    } outs[] = {{"responsibilities", resp, f->resp, n * K},
                {"log-evidence", lev, f->log_ev, n},
                {"MAP", map, f->map, n * d},
                {"MMSE", mmse, f->mmse, n * d}};
    for (size_t i = 0; i < 4; i++) {
        double e = tu_rel_diff(outs[i].got, outs[i].want, outs[i].count);
        if (getenv("GMMP_DEBUG_PARITY"))
            fprintf(stderr, "%s: %s: %.3g\n", what, outs[i].name, e);
        ck_assert_msg(e <= (i == 1 ? fmax(tol * 1e-2, TOL) : tol), "%s: %s off by %g", what,
                      outs[i].name, e);
    }
    /* Any subset of outputs gives the same values, to the rounding of the
     * precision the plan computes in: BLAS may block a product of other
     * row counts differently (a float product by 1e-8 relative, seen
     * under valgrind, whose emulated CPU gets other OpenBLAS kernels). */
    const double rounding = tol > TOL ? 1e-7 : 1e-14;
    double *map2 = malloc(n * d * sizeof *map2), *mmse2 = malloc(n * d * sizeof *mmse2);
    ck_assert_ok(gmmp_plan_execute(plan, f->Y, n, NULL, NULL, map2, NULL));
    ck_assert_double_le(tu_rel_diff(map2, map, n * d), rounding);
    ck_assert_ok(gmmp_plan_execute(plan, f->Y, n, NULL, NULL, NULL, mmse2));
    ck_assert_double_le(tu_rel_diff(mmse2, mmse, n * d), rounding);
    free(cov), free(means), free(resp), free(lev), free(map), free(mmse), free(map2),
        free(mmse2);
}

/* Exact options: no MMSE skipping, so the fixture comparison is of the
 * formulas alone (the default skip is checked separately). */
static gmmp_options *exact(void)
{
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_SKIP, 0.0));
    return o;
}

START_TEST(denoise_matches_fixture_on_both_paths)
{
    fixture f = load_fixture("post_denoise", 64, 200);
    gmmp_options *o = exact();
    /* W = I and sigma = 20: the eigenbasis path, and the general path with
     * W and Sigma_y given explicitly. */
    double var = f.noise[0];
    ck_assert_double_eq_tol(var, 400.0, 1e-9);
    gmmp_plan *plan;
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 64, NULL, GMMP_NOISE_SCALAR, &var, f.b, o));
    check_plan(&f, plan, "denoise, eigenbasis");
    gmmp_plan_destroy(plan);
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 64, f.W, GMMP_NOISE_FULL, f.noise, f.b, o));
    check_plan(&f, plan, "denoise, general");
    gmmp_plan_destroy(plan);
    /* The default skip threshold stays within tolerance too. */
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 64, NULL, GMMP_NOISE_SCALAR, &var, f.b, NULL));
    check_plan(&f, plan, "denoise, default skip");
    gmmp_plan_destroy(plan);
    gmmp_options_destroy(o);
    free_fixture(&f);
}
END_TEST

/* Single precision (docs/math.md): the fixture to 1e-6 normwise on
 * posterior means, responsibilities and estimates, 1e-8 on the
 * log-evidence; and the same to 1e-4 of the pixel range (255) in the
 * worst pixel against the double plan, the requirement. */
START_TEST(single_precision_plans_match_fixture)
{
    fixture f = load_fixture("post_denoise", 64, 200);
    gmmp_options *o = exact();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PRECISION, GMMP_PRECISION_SINGLE));
    double var = f.noise[0];
    gmmp_plan *plan, *dbl;
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 64, NULL, GMMP_NOISE_SCALAR, &var, f.b, o));
    ck_assert_uint_eq(gmmp_plan_single_components(plan), f.K);
    check_plan_tol(&f, plan, "denoise, single precision", 1e-6);
    ck_assert_ok(gmmp_plan_create_denoise(&dbl, f.model, 20.0, NULL));
    ck_assert_uint_eq(gmmp_plan_single_components(dbl), 0);
    const size_t n = f.n, d = f.d;
    double *a = malloc(n * d * sizeof *a), *b = malloc(n * d * sizeof *b);
    ck_assert_ok(gmmp_plan_execute(plan, f.Y, n, NULL, NULL, NULL, a));
    ck_assert_ok(gmmp_plan_execute(dbl, f.Y, n, NULL, NULL, NULL, b));
    ck_assert_double_le(tu_max_abs_diff(a, b, n * d), 1e-4 * 255.0);
    gmmp_plan_destroy(plan);
    gmmp_plan_destroy(dbl);

    /* The general path (W and a full noise covariance given), and the
     * Cholesky method, in single precision too. */
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 64, f.W, GMMP_NOISE_FULL, f.noise, f.b, o));
    ck_assert_uint_eq(gmmp_plan_single_components(plan), f.K);
    check_plan_tol(&f, plan, "general path, single precision", 1e-6);
    gmmp_plan_destroy(plan);
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_CHOLESKY));
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 64, NULL, GMMP_NOISE_SCALAR, &var, f.b, o));
    ck_assert_uint_eq(gmmp_plan_single_components(plan), f.K);
    check_plan_tol(&f, plan, "Cholesky, single precision", 1e-6);
    gmmp_plan_destroy(plan);
    /* Flat tails project the observations in float: within 1e-6 of the
     * double flat plan; with a noise level so small that u d max|y|
     * exceeds 1e-3 sigma (255 x 64 x 6e-8 = 1e-3 > 1e-3 x 0.5), the block
     * runs in double, exactly as the double plan. */
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_DEFAULT));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_RANK, 8));
    const double sigmas[2] = {20.0, 0.5};
    for (int i = 0; i < 2; i++) {
        gmmp_options *od = exact();
        ck_assert_ok(gmmp_options_set_int(od, GMMP_OPT_RANK, 8));
        ck_assert_ok(gmmp_plan_create_denoise(&plan, f.model, sigmas[i], o));
        ck_assert_ok(gmmp_plan_create_denoise(&dbl, f.model, sigmas[i], od));
        gmmp_options_destroy(od);
        ck_assert_uint_eq(gmmp_plan_single_components(plan), f.K);
        ck_assert_ok(gmmp_plan_execute(plan, f.Y, n, NULL, NULL, a, NULL));
        ck_assert_ok(gmmp_plan_execute(dbl, f.Y, n, NULL, NULL, b, NULL));
        if (i == 0) { /* in float: close, and not bitwise the same */
            ck_assert_double_le(tu_rel_diff(a, b, n * d), 1e-6);
            ck_assert_int_ne(memcmp(a, b, n * d * sizeof *a), 0);
        } else
            ck_assert_mem_eq(a, b, n * d * sizeof *a);
        gmmp_plan_destroy(plan);
        gmmp_plan_destroy(dbl);
    }
    ck_assert_uint_eq(gmmp_plan_single_components(NULL), 0);
    free(a), free(b);
    gmmp_options_destroy(o);
    free_fixture(&f);
}
END_TEST

/* Where float is not accurate enough, the plan computes in double: a
 * noise level so small beside the spectrum that the marginal covariances'
 * condition number passes the limit keeps those components double, and
 * a block with a value beyond 2^40 runs in double (the results are then
 * exactly the double plan's). */
START_TEST(single_precision_plans_fall_back)
{
    fixture f = load_fixture("post_denoise", 64, 200);
    const size_t n = f.n, d = f.d, K = f.K;
    gmmp_options *o = exact();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PRECISION, GMMP_PRECISION_SINGLE));
    /* Mixed: some components single, the others double; the estimates
     * stay within single precision's tolerance of the double plan's. */
    gmmp_plan *tiny, *tiny_dbl;
    ck_assert_ok(gmmp_plan_create_denoise(&tiny, f.model, 1e-6, o));
    ck_assert_uint_lt(gmmp_plan_single_components(tiny), K);
    gmmp_options *od = exact();
    ck_assert_ok(gmmp_plan_create_denoise(&tiny_dbl, f.model, 1e-6, od));
    gmmp_options_destroy(od);
    double *ta = malloc(n * d * sizeof *ta), *tb = malloc(n * d * sizeof *tb);
    ck_assert_ok(gmmp_plan_execute(tiny, f.Y, n, NULL, NULL, ta, NULL));
    ck_assert_ok(gmmp_plan_execute(tiny_dbl, f.Y, n, NULL, NULL, tb, NULL));
    ck_assert_double_le(tu_rel_diff(ta, tb, n * d), 1e-6);
    free(ta), free(tb);
    gmmp_plan_destroy(tiny);
    gmmp_plan_destroy(tiny_dbl);

    gmmp_plan *sgl, *dbl;
    ck_assert_ok(gmmp_plan_create_denoise(&sgl, f.model, 20.0, o));
    ck_assert_uint_eq(gmmp_plan_single_components(sgl), K);
    gmmp_options_destroy(o);
    o = exact();
    ck_assert_ok(gmmp_plan_create_denoise(&dbl, f.model, 20.0, o));
    double *Y = malloc(n * d * sizeof *Y);
    memcpy(Y, f.Y, n * d * sizeof *Y);
    Y[5] = 0x1p41;
    double *a = malloc(n * d * sizeof *a), *b = malloc(n * d * sizeof *b);
    double *ra = malloc(n * K * sizeof *ra), *rb = malloc(n * K * sizeof *rb);
    ck_assert_ok(gmmp_plan_execute(sgl, Y, n, ra, NULL, NULL, a));
    ck_assert_ok(gmmp_plan_execute(dbl, Y, n, rb, NULL, NULL, b));
    ck_assert_mem_eq(a, b, n * d * sizeof *a);
    ck_assert_mem_eq(ra, rb, n * K * sizeof *ra);
    gmmp_plan_destroy(sgl);
    gmmp_plan_destroy(dbl);

    /* A flat plan with preselection carries the means into its float
     * product: means beyond 2^40 keep the whole plan double, exactly the
     * double plan. */
    double *w = malloc(K * sizeof *w), *mu = malloc(K * d * sizeof *mu);
    double *cov = malloc(K * d * d * sizeof *cov);
    ck_assert_ok(gmmp_model_get(f.model, w, mu, cov));
    for (size_t i = 0; i < K * d; i++)
        mu[i] += 0x1p41;
    gmmp_model *far;
    ck_assert_ok(gmmp_model_create(&far, K, d, w, mu, cov));
    gmmp_options *of = exact();
    ck_assert_ok(gmmp_options_set_int(of, GMMP_OPT_RANK, 8));
    ck_assert_ok(gmmp_options_set_int(of, GMMP_OPT_CANDIDATES, 1));
    ck_assert_ok(gmmp_plan_create_denoise(&dbl, far, 20.0, of));
    ck_assert_ok(gmmp_options_set_int(of, GMMP_OPT_PRECISION, GMMP_PRECISION_SINGLE));
    ck_assert_ok(gmmp_plan_create_denoise(&sgl, far, 20.0, of));
    ck_assert_uint_eq(gmmp_plan_single_components(sgl), 0);
    ck_assert_ok(gmmp_plan_execute(sgl, f.Y, n, ra, NULL, a, NULL));
    ck_assert_ok(gmmp_plan_execute(dbl, f.Y, n, rb, NULL, b, NULL));
    ck_assert_mem_eq(a, b, n * d * sizeof *a);
    ck_assert_mem_eq(ra, rb, n * K * sizeof *ra);
    gmmp_plan_destroy(sgl);
    gmmp_plan_destroy(dbl);
    gmmp_options_destroy(of);
    gmmp_model_destroy(far);
    free(w), free(mu), free(cov);
    free(Y), free(a), free(b), free(ra), free(rb);
    gmmp_options_destroy(o);
    free_fixture(&f);
}
END_TEST

/* With many components (K = 70, d = 64) a worker does not keep every
 * component's whitened residuals: it whitens again the rows each
 * component's posterior means need. The estimates must be those built
 * from gmmp_plan_component_means() (which whitens every row) and the
 * responsibilities: MMSE = sum_k r_k mu_{k|y}, MAP = mu_{top|y}, over
 * several blocks of rows, for both methods and both precisions. */
START_TEST(many_components_whiten_again)
{
    enum { K = 70, D = 64, N = 700 };
    tu_rng r = {77};
    double *w = malloc(K * sizeof *w), *mu = malloc(K * D * sizeof *mu);
    double *cov = malloc(K * D * D * sizeof *cov), *Y = malloc(N * D * sizeof *Y);
    for (size_t k = 0; k < K; k++)
        w[k] = 1.0 / K;
    tu_fill_uniform(&r, mu, K * D, -2, 2);
    for (size_t k = 0; k < K; k++)
        tu_random_spd(&r, cov + k * D * D, D, 0.05, 4.0);
    tu_fill_uniform(&r, Y, N * D, -3, 3);
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    double *resp = malloc(N * K * sizeof *resp), *map = malloc(N * D * sizeof *map);
    double *mmse = malloc(N * D * sizeof *mmse), *means = malloc((size_t)K * N * D * sizeof *means);
    double *ref = malloc(N * D * sizeof *ref), *ref_map = malloc(N * D * sizeof *ref_map);
    for (int variant = 0; variant < 4; variant++) {
        gmmp_options *o = exact();
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD,
                                          variant & 1 ? GMMP_PLAN_CHOLESKY : GMMP_PLAN_DEFAULT));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PRECISION,
                                          variant & 2 ? GMMP_PRECISION_SINGLE
                                                      : GMMP_PRECISION_DOUBLE));
        gmmp_plan *plan;
        ck_assert_ok(gmmp_plan_create_denoise(&plan, m, 1.0, o));
        gmmp_options_destroy(o);
        ck_assert_uint_eq(gmmp_plan_single_components(plan), variant & 2 ? K : 0);
        ck_assert_ok(gmmp_plan_execute(plan, Y, N, resp, NULL, map, mmse));
        for (size_t k = 0; k < K; k++)
            ck_assert_ok(gmmp_plan_component_means(plan, k, Y, N, means + k * N * D));
        memset(ref, 0, N * D * sizeof *ref);
        for (size_t i = 0; i < N; i++) {
            size_t top = 0;
            for (size_t k = 0; k < K; k++) {
                if (resp[i * K + k] > resp[i * K + top])
                    top = k;
                for (size_t j = 0; j < D; j++)
                    ref[i * D + j] += resp[i * K + k] * means[(k * N + i) * D + j];
            }
            memcpy(ref_map + i * D, means + (top * N + i) * D, D * sizeof *ref_map);
        }
        double tol = variant & 2 ? 1e-6 : 1e-12;
        ck_assert_double_le(tu_rel_diff(mmse, ref, N * D), tol);
        ck_assert_double_le(tu_rel_diff(map, ref_map, N * D), tol);
        gmmp_plan_destroy(plan);
    }
    free(w), free(mu), free(cov), free(Y), free(resp), free(map), free(mmse), free(means);
    free(ref), free(ref_map);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(mask_matches_fixture)
{
    fixture f = load_fixture("post_mask", 40, 150);
    gmmp_options *o = exact();
    double diag[40];
    for (size_t i = 0; i < 40; i++) {
        diag[i] = f.noise[i * 40 + i];
        for (size_t j = 0; j < 40; j++)
            if (j != i)
                ck_assert_double_eq(f.noise[i * 40 + j], 0.0);
    }
    gmmp_plan *plan;
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 40, f.W, GMMP_NOISE_DIAGONAL, diag, f.b, o));
    check_plan(&f, plan, "mask, diagonal noise");
    gmmp_plan_destroy(plan);
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 40, f.W, GMMP_NOISE_FULL, f.noise, f.b, o));
    check_plan(&f, plan, "mask, full noise");
    gmmp_plan_destroy(plan);
    gmmp_options_destroy(o);
    free_fixture(&f);
}
END_TEST

START_TEST(blur_matches_fixture)
{
    fixture f = load_fixture("post_blur", 16, 100);
    gmmp_options *o = exact();
    gmmp_plan *plan;
    ck_assert_ok(gmmp_plan_create(&plan, f.model, 16, f.W, GMMP_NOISE_FULL, f.noise, f.b, o));
    check_plan(&f, plan, "blur");
    gmmp_plan_destroy(plan);
    gmmp_options_destroy(o);
    free_fixture(&f);
}
END_TEST

/* The closed forms of the issue, computed the slow way: explicit inverses
 * by Gauss-Jordan, no Cholesky, no BLAS. */
static void slow_posterior(size_t K, size_t d, size_t p, const double *w, const double *mu,
                           const double *cov, const double *W, const double *noise,
                           const double *b, const double *y, double *post_cov,
                           double *post_mean, double *resp, double *lev)
{
    double *ninv = malloc(p * p * sizeof *ninv), *wt = malloc(d * p * sizeof *wt);
    double *wtn = malloc(d * p * sizeof *wtn), *prec = malloc(d * d * sizeof *prec);
    double *cinv = malloc(d * d * sizeof *cinv), *tmp = malloc(d * d * sizeof *tmp);
    double *s = malloc(p * p * sizeof *s), *ws = malloc(p * d * sizeof *ws);
    double *m = malloc(p * sizeof *m), *rhs = malloc(d * sizeof *rhs), lp[16];
    ref_inverse(noise, p, ninv);
    ref_transpose(W, p, d, wt);
    ref_matmul(wt, ninv, d, p, p, wtn);
    ref_matmul(wtn, W, d, p, d, tmp); /* W^T Sy^-1 W */
    for (size_t k = 0; k < K; k++) {
        const double *ck = cov + k * d * d, *mk = mu + k * d;
        ref_inverse(ck, d, cinv);
        for (size_t i = 0; i < d * d; i++)
            prec[i] = cinv[i] + tmp[i];
        ref_inverse(prec, d, post_cov + k * d * d);
        for (size_t i = 0; i < d; i++) {
            double acc = 0.0;
            for (size_t j = 0; j < p; j++)
                acc += wtn[i * p + j] * (y[j] - b[j]);
            for (size_t j = 0; j < d; j++)
                acc += cinv[i * d + j] * mk[j];
            rhs[i] = acc;
        }
        ref_matmul(post_cov + k * d * d, rhs, d, d, 1, post_mean + k * d);
        /* Marginal N(y; W mu + b, W S W^T + Sy). */
        ref_matmul(W, ck, p, d, d, ws);
        double *wtT = wt;
        ref_matmul(ws, wtT, p, d, p, s);
        for (size_t i = 0; i < p * p; i++)
            s[i] += noise[i];
        ref_matmul(W, mk, p, d, 1, m);
        for (size_t i = 0; i < p; i++)
            m[i] += b[i];
        lp[k] = log(w[k]) + ref_log_gauss(y, m, s, p);
    }
    double top = -INFINITY, sum = 0.0;
    for (size_t k = 0; k < K; k++)
        top = fmax(top, lp[k]);
    for (size_t k = 0; k < K; k++)
        sum += exp(lp[k] - top);
    *lev = top + log(sum);
    for (size_t k = 0; k < K; k++)
        resp[k] = exp(lp[k] - *lev);
    free(ninv), free(wt), free(wtn), free(prec), free(cinv), free(tmp), free(s), free(ws),
        free(m), free(rhs);
}

START_TEST(random_problems_match_slow_reference)
{
    tu_rng r = {2024};
    for (int trial = 0; trial < 12; trial++) {
        size_t K = 1 + trial % 4, d = 2 + trial % 5, p = 1 + (trial * 7) % 6, n = 9;
        int identity = trial % 3 == 0;
        if (identity)
            p = d;
        double w[4], mu[4 * 6], cov[4 * 36], W[6 * 6], noise[36], b[6], Y[9 * 6];
        double tot = 0.0;
        for (size_t k = 0; k < K; k++)
            tot += w[k] = 0.2 + tu_uniform(&r);
        for (size_t k = 0; k < K; k++)
            w[k] /= tot;
        tu_fill_uniform(&r, mu, K * d, -3, 3);
        for (size_t k = 0; k < K; k++)
            tu_random_spd(&r, cov + k * d * d, d, 0.05, 4.0);
        tu_fill_uniform(&r, W, p * d, -1, 1);
        if (identity)
            for (size_t i = 0; i < d * d; i++)
                W[i] = i / d == i % d;
        tu_random_spd(&r, noise, p, 0.1, 2.0);
        tu_fill_uniform(&r, b, p, -1, 1);
        tu_fill_uniform(&r, Y, n * p, -4, 4);
        gmmp_model *m;
        ck_assert_ok(gmmp_model_create(&m, K, d, w, mu, cov));
        gmmp_options *o = exact();
        gmmp_plan *plan;
        ck_assert_ok(gmmp_plan_create(&plan, m, p, identity ? NULL : W, GMMP_NOISE_FULL, noise,
                                      b, o));
        gmmp_options_destroy(o); /* the plan copied what it read */
        double resp[9 * 4], lev[9], mmse[9 * 6], map[9 * 6], pc[36], pm[9 * 6];
        ck_assert_ok(gmmp_plan_execute(plan, Y, n, resp, lev, map, mmse));
        double ref_cov[4 * 36], ref_mean[4 * 6], ref_resp[4], ref_lev;
        for (size_t i = 0; i < n; i++) {
            slow_posterior(K, d, p, w, mu, cov, W, noise, b, Y + i * p, ref_cov, ref_mean,
                           ref_resp, &ref_lev);
            ck_assert_double_eq_tol(lev[i], ref_lev, 1e-10 * fmax(1.0, fabs(ref_lev)));
            size_t top = 0;
            double ref_mmse[6] = {0};
            for (size_t k = 0; k < K; k++) {
                ck_assert_double_eq_tol(resp[i * K + k], ref_resp[k], 1e-10);
                if (ref_resp[k] > ref_resp[top])
                    top = k;
                for (size_t j = 0; j < d; j++)
                    ref_mmse[j] += ref_resp[k] * ref_mean[k * d + j];
            }
            ck_assert_double_le(tu_rel_diff(mmse + i * d, ref_mmse, d), 1e-9);
            ck_assert_double_le(tu_rel_diff(map + i * d, ref_mean + top * d, d), 1e-9);
        }
        for (size_t k = 0; k < K; k++) {
            ck_assert_ok(gmmp_plan_posterior_cov(plan, k, pc));
            ck_assert_double_le(tu_rel_diff(pc, ref_cov + k * d * d, d * d), 1e-9);
            ck_assert_ok(gmmp_plan_component_means(plan, k, Y, n, pm));
            for (size_t i = 0; i < n; i++) {
                slow_posterior(K, d, p, w, mu, cov, W, noise, b, Y + i * p, ref_cov, ref_mean,
                               ref_resp, &ref_lev);
                ck_assert_double_le(tu_rel_diff(pm + i * d, ref_mean + k * d, d), 1e-9);
            }
        }
        gmmp_plan_destroy(plan);
        gmmp_model_destroy(m);
    }
}
END_TEST

START_TEST(limits_behave)
{
    fixture f = load_fixture("post_denoise", 64, 200);
    const size_t n = f.n, d = f.d, K = f.K;
    double *out = malloc(n * d * sizeof *out), *resp = malloc(n * K * sizeof *resp);
    gmmp_plan *plan;
    /* Noise -> 0 with W = I: the estimate is the observation. */
    double tiny = 1e-9;
    ck_assert_ok(gmmp_plan_create(&plan, f.model, d, NULL, GMMP_NOISE_SCALAR, &tiny, NULL, NULL));
    ck_assert_ok(gmmp_plan_execute(plan, f.Y, n, NULL, NULL, NULL, out));
    ck_assert_double_le(tu_rel_diff(out, f.Y, n * d), 1e-9);
    gmmp_plan_destroy(plan);
    /* Noise -> infinity: responsibilities -> weights, estimate -> prior mean. */
    double huge = 1e14, w[6], mu[6 * 64], prior_mean[64] = {0};
    ck_assert_ok(gmmp_model_get(f.model, w, mu, NULL));
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < d; j++)
            prior_mean[j] += w[k] * mu[k * d + j];
    ck_assert_ok(gmmp_plan_create(&plan, f.model, d, NULL, GMMP_NOISE_SCALAR, &huge, NULL, NULL));
    ck_assert_ok(gmmp_plan_execute(plan, f.Y, n, resp, NULL, NULL, out));
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < K; k++)
            ck_assert_double_eq_tol(resp[i * K + k], w[k], 1e-6);
        ck_assert_double_le(tu_rel_diff(out + i * d, prior_mean, d), 1e-6);
    }
    gmmp_plan_destroy(plan);
    /* K = 1 is the Wiener filter mu + S (S + s2 I)^{-1} (y - mu). */
    double one = 1.0, s2 = 400.0, *inv = malloc(d * d * sizeof *inv);
    double *cov1 = malloc(d * d * sizeof *cov1), *sum = malloc(d * d * sizeof *sum);
    ck_assert_ok(gmmp_model_get(f.model, NULL, mu, NULL));
    double *allcov = malloc(K * d * d * sizeof *allcov);
    ck_assert_ok(gmmp_model_get(f.model, NULL, NULL, allcov));
    memcpy(cov1, allcov, d * d * sizeof *cov1);
    gmmp_model *single;
    ck_assert_ok(gmmp_model_create(&single, 1, d, &one, mu, cov1));
    ck_assert_ok(gmmp_plan_create(&plan, single, d, NULL, GMMP_NOISE_SCALAR, &s2, NULL, NULL));
    ck_assert_ok(gmmp_plan_execute(plan, f.Y, n, NULL, NULL, out, NULL));
    for (size_t i = 0; i < d * d; i++)
        sum[i] = cov1[i] + (i / d == i % d ? s2 : 0.0);
    ref_inverse(sum, d, inv);
    double *gain = malloc(d * d * sizeof *gain), dev[64], wiener[64];
    ref_matmul(cov1, inv, d, d, d, gain);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            dev[j] = f.Y[i * d + j] - mu[j];
        ref_matmul(gain, dev, d, d, 1, wiener);
        for (size_t j = 0; j < d; j++)
            wiener[j] += mu[j];
        ck_assert_double_le(tu_rel_diff(out + i * d, wiener, d), 1e-9);
    }
    gmmp_plan_destroy(plan);
    gmmp_model_destroy(single);
    /* Different observations select different components (the rule of
     * the original code gave every patch the same one). */
    double var = 400.0;
    ck_assert_ok(gmmp_plan_create(&plan, f.model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL));
    ck_assert_ok(gmmp_plan_execute(plan, f.Y, n, resp, NULL, NULL, NULL));
    int used[6] = {0}, distinct = 0;
    for (size_t i = 0; i < n; i++) {
        size_t top = 0;
        for (size_t k = 1; k < K; k++)
            if (resp[i * K + k] > resp[i * K + top])
                top = k;
        distinct += !used[top];
        used[top] = 1;
    }
    ck_assert_int_ge(distinct, 3);
    gmmp_plan_destroy(plan);
    free(out), free(resp), free(inv), free(cov1), free(sum), free(allcov), free(gain);
    free_fixture(&f);
}
END_TEST

typedef struct thread_arg {
    const gmmp_plan *plan;
    const double *Y;
    size_t n, d, K;
    double *resp, *mmse, *map;
    int rc;
} thread_arg;

static void *execute_in_thread(void *arg)
{
    thread_arg *a = arg;
    for (int rep = 0; rep < 3 && a->rc == 0; rep++)
        a->rc = gmmp_plan_execute(a->plan, a->Y, a->n, a->resp, NULL, a->map, a->mmse);
    return NULL;
}

START_TEST(threads_share_one_plan)
{
    /* Several threads execute one plan at once, and one plan runs with
     * internal threads: results equal the serial ones. Equal to rounding,
     * not bitwise: OpenBLAS splits a product among its own threads
     * differently when it is called from several threads at once. */
    enum { T = 4, N = 3000 };
    fixture f = load_fixture("post_denoise", 64, 200);
    const size_t d = f.d, K = f.K;
    double *Y = malloc(N * d * sizeof *Y);
    ck_assert_ok(gmmp_model_sample(f.model, N, 3, Y, NULL));
    tu_rng r = {5};
    for (size_t i = 0; i < N * d; i++)
        Y[i] += 20.0 * tu_normal(&r);
    double var = 400.0;
    gmmp_plan *plans[2];
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_plan_create(&plans[0], f.model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL,
                                  o));
    ck_assert_ok(gmmp_plan_create(&plans[1], f.model, d, f.W, GMMP_NOISE_FULL, f.noise, NULL,
                                  o));
    for (int pi = 0; pi < 2; pi++) {
        double *resp = malloc(N * K * sizeof *resp), *mmse = malloc(N * d * sizeof *mmse);
        double *map = malloc(N * d * sizeof *map);
        ck_assert_ok(gmmp_plan_execute(plans[pi], Y, N, resp, NULL, map, mmse));
        thread_arg args[T];
        pthread_t tids[T];
        for (int t = 0; t < T; t++) {
            args[t] = (thread_arg){plans[pi], Y, N, d, K, malloc(N * K * sizeof(double)),
                                   malloc(N * d * sizeof(double)), malloc(N * d * sizeof(double)),
                                   0};
            ck_assert_int_eq(pthread_create(&tids[t], NULL, execute_in_thread, &args[t]), 0);
        }
        for (int t = 0; t < T; t++) {
            pthread_join(tids[t], NULL);
            ck_assert_int_eq(args[t].rc, 0);
            ck_assert_double_le(tu_rel_diff(args[t].resp, resp, N * K), 1e-13);
            ck_assert_double_le(tu_rel_diff(args[t].mmse, mmse, N * d), 1e-13);
            ck_assert_double_le(tu_rel_diff(args[t].map, map, N * d), 1e-13);
            free(args[t].resp), free(args[t].mmse), free(args[t].map);
        }
        /* Internal threads. */
        gmmp_plan *threaded;
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, 3));
        ck_assert_ok(gmmp_plan_create(&threaded, f.model, d, pi ? f.W : NULL,
                                      pi ? GMMP_NOISE_FULL : GMMP_NOISE_SCALAR,
                                      pi ? f.noise : &var, NULL, o));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, 1));
        double *mmse2 = malloc(N * d * sizeof *mmse2);
        ck_assert_ok(gmmp_plan_execute(threaded, Y, N, NULL, NULL, NULL, mmse2));
        ck_assert_double_le(tu_rel_diff(mmse2, mmse, N * d), 1e-13);
        gmmp_plan_destroy(threaded);
        free(mmse2), free(resp), free(mmse), free(map);
    }
    gmmp_plan_destroy(plans[0]);
    gmmp_plan_destroy(plans[1]);
    free(Y);
    gmmp_options_destroy(o);
    free_fixture(&f);
}
END_TEST

START_TEST(bad_inputs_are_refused)
{
    fixture f = load_fixture("post_mask", 40, 150);
    const size_t d = 64, p = 40;
    gmmp_plan *plan = NULL;
    double var = 4.0, neg = -1.0, nan_v = NAN, zero = 0.0;
    double diag[40];
    for (size_t i = 0; i < p; i++)
        diag[i] = 1.0 + (double)i;
    ck_assert_fails(gmmp_plan_create(NULL, f.model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_create(&plan, NULL, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_create(&plan, f.model, 0, f.W, GMMP_NOISE_SCALAR, &var, NULL, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_create(&plan, f.model, p, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL),
                    GMMP_EDIM);
    ck_assert_fails(gmmp_plan_create(&plan, f.model, d, NULL, GMMP_NOISE_SCALAR, NULL, NULL, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_create(&plan, f.model, d, NULL, (gmmp_noise_kind)9, &var, NULL,
                                     NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_create(&plan, f.model, d, NULL, GMMP_NOISE_SCALAR, &neg, NULL, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_create(&plan, f.model, d, NULL, GMMP_NOISE_SCALAR, &zero, NULL,
                                     NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_create(&plan, f.model, d, NULL, GMMP_NOISE_SCALAR, &nan_v, NULL,
                                     NULL),
                    GMMP_ENONFINITE);
    diag[7] = -2.0;
    ck_assert_fails(gmmp_plan_create(&plan, f.model, p, f.W, GMMP_NOISE_DIAGONAL, diag, NULL,
                                     NULL),
                    GMMP_EINVAL);
    diag[7] = 8.0;
    double *noise = malloc(p * p * sizeof *noise);
    memcpy(noise, f.noise, p * p * sizeof *noise);
    noise[1] = 3.0; /* asymmetric */
    ck_assert_fails(gmmp_plan_create(&plan, f.model, p, f.W, GMMP_NOISE_FULL, noise, NULL, NULL),
                    GMMP_ENOTSPD);
    memcpy(noise, f.noise, p * p * sizeof *noise);
    noise[5 * p + 5] = -1e6; /* indefinite: S_k fails too */
    ck_assert_fails(gmmp_plan_create(&plan, f.model, p, f.W, GMMP_NOISE_FULL, noise, NULL, NULL),
                    GMMP_ENOTSPD);
    /* The message names what is not positive definite: the noise (checked
     * first now) or a component. */
    ck_assert_msg(strstr(gmmp_last_error(), "noise") != NULL ||
                      strstr(gmmp_last_error(), "component") != NULL,
                  "%s", gmmp_last_error());
    double *W = malloc(p * d * sizeof *W);
    memcpy(W, f.W, p * d * sizeof *W);
    W[100] = INFINITY;
    ck_assert_fails(gmmp_plan_create(&plan, f.model, p, W, GMMP_NOISE_DIAGONAL, diag, NULL, NULL),
                    GMMP_ENONFINITE);
    double b[40] = {0};
    b[3] = NAN;
    ck_assert_fails(gmmp_plan_create(&plan, f.model, p, f.W, GMMP_NOISE_DIAGONAL, diag, b, NULL),
                    GMMP_ENONFINITE);
    /* Bad thread counts and skip thresholds, once plan options, are
     * refused by the options handle; a plan reads only valid ones. */
    gmmp_options *o = tu_options();
    ck_assert_fails(gmmp_options_set_int(o, GMMP_OPT_THREADS, 0), GMMP_EINVAL);
    ck_assert_fails(gmmp_options_set_real(o, GMMP_OPT_SKIP, 0.5), GMMP_EINVAL);
    ck_assert_fails(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD, 5), GMMP_EINVAL);
    gmmp_options_destroy(o);
    ck_assert_fails(gmmp_plan_create(&plan, f.model, SIZE_MAX / 4, f.W, GMMP_NOISE_SCALAR, &var,
                                     NULL, NULL),
                    GMMP_EOVERFLOW);
    ck_assert_ptr_null(plan);

    ck_assert_ok(gmmp_plan_create(&plan, f.model, p, f.W, GMMP_NOISE_DIAGONAL, diag, NULL, NULL));
    double *out = malloc(150 * d * sizeof *out), cov[64 * 64];
    ck_assert_fails(gmmp_plan_execute(NULL, f.Y, 150, NULL, NULL, NULL, out), GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_execute(plan, NULL, 150, NULL, NULL, NULL, out), GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_execute(plan, f.Y, 150, NULL, NULL, NULL, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_execute(plan, f.Y, SIZE_MAX / 8, NULL, NULL, NULL, out),
                    GMMP_EOVERFLOW);
    double *Y = malloc(150 * p * sizeof *Y);
    memcpy(Y, f.Y, 150 * p * sizeof *Y);
    Y[77 * p + 3] = NAN;
    out[0] = 12345.0;
    ck_assert_fails(gmmp_plan_execute(plan, Y, 150, NULL, NULL, NULL, out), GMMP_ENONFINITE);
    ck_assert_msg(strstr(gmmp_last_error(), "observation 77") != NULL, "%s", gmmp_last_error());
    ck_assert_double_eq(out[0], 12345.0); /* nothing written */
    ck_assert_fails(gmmp_plan_component_means(plan, 6, f.Y, 150, out), GMMP_EDIM);
    ck_assert_fails(gmmp_plan_component_means(plan, 0, f.Y, 150, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_posterior_cov(plan, 6, cov), GMMP_EDIM);
    ck_assert_fails(gmmp_plan_posterior_cov(plan, 0, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_posterior_cov(NULL, 0, cov), GMMP_EINVAL);
    ck_assert_uint_eq(gmmp_plan_components(NULL), 0);
    ck_assert_uint_eq(gmmp_plan_dim(NULL), 0);
    ck_assert_uint_eq(gmmp_plan_obs_dim(NULL), 0);
    /* Still works after all that; zero observations are fine. */
    ck_assert_ok(gmmp_plan_execute(plan, f.Y, 150, NULL, NULL, NULL, out));
    ck_assert_ok(gmmp_plan_execute(plan, NULL, 0, NULL, NULL, NULL, out));
    gmmp_plan_destroy(plan);
    gmmp_plan_destroy(NULL);
    free(noise), free(W), free(out), free(Y);
    free_fixture(&f);
}
END_TEST

START_TEST(plan_outlives_its_model)
{
    fixture f = load_fixture("post_denoise", 64, 200);
    double var = 400.0;
    gmmp_plan *a, *b;
    ck_assert_ok(gmmp_plan_create(&a, f.model, 64, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL));
    var = 100.0; /* a second sigma reuses the model's eigenbases */
    ck_assert_ok(gmmp_plan_create(&b, f.model, 64, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL));
    gmmp_model_destroy(f.model);
    f.model = NULL;
    double *out = malloc(200 * 64 * sizeof *out);
    ck_assert_ok(gmmp_plan_execute(a, f.Y, 200, NULL, NULL, NULL, out));
    ck_assert_double_le(tu_rel_diff(out, f.mmse, 200 * 64), 1e-9);
    ck_assert_ok(gmmp_plan_execute(b, f.Y, 200, NULL, NULL, NULL, out));
    gmmp_plan_destroy(a);
    gmmp_plan_destroy(b);
    free(out);
    free_fixture(&f);
}
END_TEST

START_TEST(masked_posterior_matches_general_plan)
{
    /* Each patch with its own missing pixels, against a general plan with
     * W = the rows of the identity for the observed pixels, the same
     * noise and offset. Some masks repeat (grouped factorisations), one
     * patch is complete, one has nothing observed. */
    fixture f = load_fixture("post_denoise", 64, 200);
    const size_t n = 40, d = 64, K = 6;
    tu_rng r = {31};
    unsigned char *mask = malloc(n * d);
    double *Y = malloc(n * d * sizeof *Y), noise[64], b[64];
    for (size_t j = 0; j < d; j++)
        noise[j] = 100.0 + 300.0 * tu_uniform(&r), b[j] = 10.0 * tu_uniform(&r) - 5.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            size_t src = i < 30 ? i : i % 7; /* rows 30.. repeat masks of rows 0..6 */
            mask[i * d + j] = i == 0 ? 1 : i == 1 ? 0 : (unsigned char)((src * 2654435761u + j * 40503u) % 97 < 55);
            Y[i * d + j] = mask[i * d + j] ? f.Y[(i % 200) * d + j] : NAN;
        }
    gmmp_options *o = exact();
    gmmp_plan *plan;
    ck_assert_ok(gmmp_plan_create(&plan, f.model, d, NULL, GMMP_NOISE_DIAGONAL, noise, b, o));
    double *resp = malloc(n * K * sizeof *resp), *lev = malloc(n * sizeof *lev);
    double *map = malloc(n * d * sizeof *map), *mmse = malloc(n * d * sizeof *mmse);
    ck_assert_ok(gmmp_plan_execute_masked(plan, Y, mask, n, resp, lev, map, mmse));
    double w[6], mu[6 * 64];
    ck_assert_ok(gmmp_model_get(f.model, w, mu, NULL));
    for (size_t i = 0; i < n; i++) {
        size_t p = 0, obs[64];
        for (size_t j = 0; j < d; j++)
            if (mask[i * d + j])
                obs[p++] = j;
        if (p == 0) { /* the prior */
            for (size_t k = 0; k < K; k++)
                ck_assert_double_eq_tol(resp[i * K + k], w[k], 1e-15);
            ck_assert_double_eq(lev[i], 0.0);
            continue;
        }
        double *W = calloc(p * d, sizeof *W), yo[64], no[64], bo[64];
        for (size_t a = 0; a < p; a++) {
            W[a * d + obs[a]] = 1.0;
            yo[a] = Y[i * d + obs[a]], no[a] = noise[obs[a]], bo[a] = b[obs[a]];
        }
        gmmp_plan *g;
        ck_assert_ok(gmmp_plan_create(&g, f.model, p, W, GMMP_NOISE_DIAGONAL, no, bo, o));
        double gr[6], gl, gm[64], ge[64];
        ck_assert_ok(gmmp_plan_execute(g, yo, 1, gr, &gl, gm, ge));
        ck_assert_double_le(tu_max_abs_diff(resp + i * K, gr, K), 1e-10);
        ck_assert_double_eq_tol(lev[i], gl, 1e-10 * fabs(gl));
        ck_assert_msg(tu_rel_diff(map + i * d, gm, d) <= 1e-10, "row %zu MAP", i);
        ck_assert_msg(tu_rel_diff(mmse + i * d, ge, d) <= 1e-10, "row %zu MMSE", i);
        gmmp_plan_destroy(g);
        free(W);
    }
    /* The complete patch equals the ordinary execution. */
    double full[64];
    ck_assert_ok(gmmp_plan_execute(plan, Y, 1, NULL, NULL, NULL, full));
    ck_assert_double_le(tu_rel_diff(mmse, full, d), 1e-12);
    /* Internal threads give the same rows. */
    gmmp_plan *threaded;
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, 2));
    ck_assert_ok(gmmp_plan_create(&threaded, f.model, d, NULL, GMMP_NOISE_DIAGONAL, noise, b, o));
    double *mmse2 = malloc(n * d * sizeof *mmse2);
    ck_assert_ok(gmmp_plan_execute_masked(threaded, Y, mask, n, NULL, NULL, NULL, mmse2));
    ck_assert_double_le(tu_rel_diff(mmse2, mmse, n * d), 1e-14);
    gmmp_plan_destroy(threaded);
    gmmp_options_destroy(o);
    /* Errors: NaN where observed, no output, plans that cannot take masks. */
    Y[5 * d + 3] = NAN;
    mask[5 * d + 3] = 1;
    ck_assert_fails(gmmp_plan_execute_masked(plan, Y, mask, n, NULL, NULL, NULL, mmse),
                    GMMP_ENONFINITE);
    ck_assert_fails(gmmp_plan_execute_masked(plan, Y, mask, n, NULL, NULL, NULL, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_execute_masked(plan, NULL, mask, n, NULL, NULL, NULL, mmse),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_plan_execute_masked(NULL, Y, mask, n, NULL, NULL, NULL, mmse),
                    GMMP_EINVAL);
    gmmp_plan *with_w;
    ck_assert_ok(gmmp_plan_create(&with_w, f.model, d, f.W, GMMP_NOISE_FULL, f.noise, NULL, NULL));
    ck_assert_fails(gmmp_plan_execute_masked(with_w, Y, mask, n, NULL, NULL, NULL, mmse),
                    GMMP_EINVAL);
    gmmp_plan_destroy(with_w);
    /* The eigenbasis plan takes masks too. */
    double var = 300.0;
    gmmp_plan *eig;
    ck_assert_ok(gmmp_plan_create(&eig, f.model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL));
    mask[5 * d + 3] = 0;
    ck_assert_ok(gmmp_plan_execute_masked(eig, Y, mask, n, NULL, NULL, NULL, mmse2));
    gmmp_plan_destroy(eig);
    gmmp_plan_destroy(plan);
    free(mask), free(Y), free(resp), free(lev), free(map), free(mmse), free(mmse2);
    free_fixture(&f);
}
END_TEST


/* A random orthogonal d x d matrix (Gram-Schmidt on normal columns), rows
 * as the basis vectors. */
static void random_orthogonal(tu_rng *r, double *q, size_t d)
{
    for (size_t i = 0; i < d; i++) {
        double *v = q + i * d;
        for (;;) {
            for (size_t j = 0; j < d; j++)
                v[j] = tu_normal(r);
            for (size_t k = 0; k < i; k++) {
                double dot = 0.0;
                for (size_t j = 0; j < d; j++)
                    dot += v[j] * q[k * d + j];
                for (size_t j = 0; j < d; j++)
                    v[j] -= dot * q[k * d + j];
            }
            double norm = 0.0;
            for (size_t j = 0; j < d; j++)
                norm += v[j] * v[j];
            if (norm > 1e-6) {
                for (size_t j = 0; j < d; j++)
                    v[j] /= sqrt(norm);
                break;
            }
        }
    }
}

/* Q^T diag(lambda) Q for rows of Q as eigenvectors. */
static void from_spectrum(const double *q, const double *lambda, size_t d, double *cov)
{
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) {
            double s = 0.0;
            for (size_t j = 0; j < d; j++)
                s += q[j * d + a] * lambda[j] * q[j * d + b];
            cov[a * d + b] = s;
        }
}

START_TEST(flat_tail_plan_equals_the_flattened_prior)
{
    /* A rank-r plan on a prior must be the exact plan of the prior whose
     * spectra are flattened beyond their r largest eigenvalues: built
     * here from known eigenbases, independently of the library's. */
    enum { K = 4, D = 12, N = 40 };
    tu_rng r = {2024};
    double w[K] = {0.1, 0.2, 0.3, 0.4}, mu[K * D], cov[K * D * D], flat[K * D * D];
    double q[D * D], lambda[D], lflat[D];
    tu_fill_uniform(&r, mu, K * D, -30, 30);
    for (size_t rank = 1; rank < D; rank += 4) {
        for (size_t k = 0; k < K; k++) {
            random_orthogonal(&r, q, D);
            for (size_t j = 0; j < D; j++) /* distinct, spread over four decades */
                lambda[j] = pow(10.0, 4.0 * (double)j / (D - 1)) * (1.0 + 0.1 * (double)k);
            /* Ascending: the tail is the D - rank smallest. */
            double tail = 0.0;
            for (size_t j = 0; j < D - rank; j++)
                tail += lambda[j] / (double)(D - rank);
            for (size_t j = 0; j < D; j++)
                lflat[j] = j < D - rank ? tail : lambda[j];
            from_spectrum(q, lambda, D, cov + k * D * D);
            from_spectrum(q, lflat, D, flat + k * D * D);
        }
        gmmp_model *m, *mf;
        ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
        ck_assert_ok(gmmp_model_create(&mf, K, D, w, mu, flat));
        gmmp_options *o = tu_options();
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_RANK, (int64_t)rank));
        ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_SKIP, 0.0));
        gmmp_options *exact = tu_options();
        ck_assert_ok(gmmp_options_set_real(exact, GMMP_OPT_SKIP, 0.0));
        gmmp_plan *fast, *ref;
        ck_assert_ok(gmmp_plan_create_denoise(&fast, m, 7.0, o));
        ck_assert_ok(gmmp_plan_create_denoise(&ref, mf, 7.0, exact));
        double Y[N * D], a[4][N * D], b[4][N * D];
        for (size_t i = 0; i < N; i++) /* near a component, so all terms matter */
            for (size_t j = 0; j < D; j++)
                Y[i * D + j] = mu[(i % K) * D + j] + 40.0 * tu_normal(&r);
        ck_assert_ok(gmmp_plan_execute(fast, Y, N, a[0], a[1], a[2], a[3]));
        ck_assert_ok(gmmp_plan_execute(ref, Y, N, b[0], b[1], b[2], b[3]));
        const size_t sizes[4] = {N * K, N, N * D, N * D};
        for (int t = 0; t < 4; t++)
            ck_assert_msg(tu_rel_diff(a[t], b[t], sizes[t]) < 1e-9,
                          "rank %zu output %d differs by %g", rank, t,
                          tu_rel_diff(a[t], b[t], sizes[t]));
        ck_assert_ok(gmmp_plan_component_means(fast, 2, Y, N, a[0]));
        ck_assert_ok(gmmp_plan_component_means(ref, 2, Y, N, b[0]));
        ck_assert(tu_rel_diff(a[0], b[0], N * D) < 1e-9);
        gmmp_plan_destroy(fast);
        gmmp_plan_destroy(ref);
        gmmp_options_destroy(o);
        gmmp_options_destroy(exact);
        gmmp_model_destroy(m);
        gmmp_model_destroy(mf);
    }
}
END_TEST

/* Spectrum lambda (ascending) flattened beyond its `rank` largest values. */
static void flatten(const double *lambda, size_t d, size_t rank, double *out)
{
    double tail = 0.0;
    for (size_t j = 0; j < d - rank; j++)
        tail += lambda[j] / (double)(d - rank);
    for (size_t j = 0; j < d; j++)
        out[j] = j < d - rank ? tail : lambda[j];
}

/* Eigenvectors (rows of q) of a component whose 4 largest eigenvalues
 * belong to directions within the span of g's first 4 rows and the
 * others to the span of its other rows (g: D x D orthogonal). */
static void within_subspace(tu_rng *r, const double *g, size_t d, double *q)
{
    enum { V = 4 };
    double a[V * V], b[(16 - V) * (16 - V)];
    ck_assert_uint_eq(d, 16);
    random_orthogonal(r, a, V);
    random_orthogonal(r, b, d - V);
    memset(q, 0, d * d * sizeof *q);
    for (size_t j = 0; j < d; j++) {
        const bool leading = j >= d - V;
        for (size_t c = 0; c < (leading ? V : d - V); c++) {
            double coef = leading ? a[(j - (d - V)) * V + c] : b[j * (d - V) + c];
            const double *row = g + (leading ? c : V + c) * d;
            for (size_t t = 0; t < d; t++)
                q[j * d + t] += coef * row[t];
        }
    }
}

/* With GMMP_OPT_CANDIDATES, a rank-r plan ranks the components by the
 * prior flattened beyond r0 = r/3 eigenvalues and computes only the M
 * best exactly (rank r); the others get responsibility 0. Reference:
 * both flattened priors built here from known eigenbases, their
 * densities by an explicit inverse (refmath), the candidates' posterior
 * means from an exact plan of the rank-r prior. `in_subspace`: the
 * components' leading eigenvectors and their means lie in one
 * 4-dimensional subspace, in which the plan then ranks (through the
 * basis of the prior's leading directions, test_internal_flat.c): the
 * same ranking, for the parts of the rows outside it do not enter it. */
static void check_preselection(bool in_subspace)
{
    enum { K = 12, D = 16, N = 60, RANK = 8, R0 = 2, M = 3 };
    const double sigma = 6.0, var = sigma * sigma;
    tu_rng r = {77};
    double w[K], mu[K * D], cov[K * D * D], coarse[K * D * D], fine[K * D * D];
    double q[D * D], lambda[D], lf[D], noisy[D * D], g[D * D];
    double wsum = 0.0;
    for (size_t k = 0; k < K; k++)
        wsum += w[k] = 1.0 + (double)(k % 5);
    for (size_t k = 0; k < K; k++)
        w[k] /= wsum;
    tu_fill_uniform(&r, mu, K * D, -20, 20);
    random_orthogonal(&r, g, D);
    if (in_subspace) /* mu_k = sum of v_c g_c over g's first 4 rows */
        for (size_t k = 0; k < K; k++) {
            double v[4];
            memcpy(v, mu + k * D, sizeof v);
            for (size_t t = 0; t < D; t++)
                mu[k * D + t] = v[0] * g[t] + v[1] * g[D + t] + v[2] * g[2 * D + t] +
                                v[3] * g[3 * D + t];
        }
    for (size_t k = 0; k < K; k++) {
        if (in_subspace)
            within_subspace(&r, g, D, q);
        else
            random_orthogonal(&r, q, D);
        for (size_t j = 0; j < D; j++)
            lambda[j] = pow(10.0, 3.5 * (double)j / (D - 1)) * (1.0 + 0.2 * (double)k);
        from_spectrum(q, lambda, D, cov + k * D * D);
        flatten(lambda, D, R0, lf);
        from_spectrum(q, lf, D, coarse + k * D * D);
        flatten(lambda, D, RANK, lf);
        from_spectrum(q, lf, D, fine + k * D * D);
    }
    gmmp_model *m, *mf;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    ck_assert_ok(gmmp_model_create(&mf, K, D, w, mu, fine));
    gmmp_options *o = tu_options(), *exact = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_RANK, RANK));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_CANDIDATES, M));
    ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_SKIP, 0.0));
    ck_assert_ok(gmmp_options_set_real(exact, GMMP_OPT_SKIP, 0.0));
    gmmp_plan *pre, *ref;
    ck_assert_ok(gmmp_plan_create_denoise(&pre, m, sigma, o));
    ck_assert_ok(gmmp_plan_create_denoise(&ref, mf, sigma, exact));
    double Y[N * D];
    for (size_t i = 0; i < N; i++) /* between components, so that rankings vary */
        for (size_t j = 0; j < D; j++)
            Y[i * D + j] = 0.5 * (mu[(i % K) * D + j] + mu[((i + 3) % K) * D + j]) +
                           15.0 * tu_normal(&r);
    double *resp = malloc(N * K * sizeof *resp), lev[N], *map = malloc(N * D * sizeof *map);
    double *mmse = malloc(N * D * sizeof *mmse), *means = malloc(K * N * D * sizeof *means);
    ck_assert_ok(gmmp_plan_execute(pre, Y, N, resp, lev, map, mmse));
    for (size_t k = 0; k < K; k++)
        ck_assert_ok(gmmp_plan_component_means(ref, k, Y, N, means + k * N * D));
    size_t checked = 0;
    for (size_t i = 0; i < N; i++) {
        const double *y = Y + i * D;
        double lc[K], lfine[K];
        size_t order[K];
        for (size_t k = 0; k < K; k++) {
            for (size_t a = 0; a < D * D; a++)
                noisy[a] = coarse[k * D * D + a] + (a % (D + 1) == 0 ? var : 0.0);
            lc[k] = log(w[k]) + ref_log_gauss(y, mu + k * D, noisy, D);
            for (size_t a = 0; a < D * D; a++)
                noisy[a] = fine[k * D * D + a] + (a % (D + 1) == 0 ? var : 0.0);
            lfine[k] = log(w[k]) + ref_log_gauss(y, mu + k * D, noisy, D);
            order[k] = k;
        }
        for (size_t a = 0; a < K; a++) /* by coarse log density, descending */
            for (size_t b = a + 1; b < K; b++)
                if (lc[order[b]] > lc[order[a]]) {
                    size_t t = order[a];
                    order[a] = order[b];
                    order[b] = t;
                }
        if (lc[order[M - 1]] - lc[order[M]] < 1e-6)
            continue; /* a tie at the cut: either choice is right */
        checked++;
        double top = -INFINITY, s = 0.0;
        size_t best = order[0];
        for (size_t c = 0; c < M; c++) {
            top = fmax(top, lfine[order[c]]);
            if (lfine[order[c]] > lfine[best])
                best = order[c];
        }
        for (size_t c = 0; c < M; c++)
            s += exp(lfine[order[c]] - top);
        ck_assert_double_eq_tol(lev[i], top + log(s), 1e-8 * fabs(top + log(s)) + 1e-9);
        double want_mmse[D] = {0};
        for (size_t k = 0; k < K; k++) {
            bool candidate = false;
            for (size_t c = 0; c < M; c++)
                candidate |= order[c] == k;
            double want = candidate ? exp(lfine[k] - top) / s : 0.0;
            ck_assert_msg(fabs(resp[i * K + k] - want) <= 1e-9,
                          "row %zu component %zu: responsibility %g, want %g", i, k,
                          resp[i * K + k], want);
            for (size_t j = 0; j < D; j++)
                want_mmse[j] += want * means[(k * N + i) * D + j];
        }
        ck_assert(tu_rel_diff(map + i * D, means + (best * N + i) * D, D) < 1e-9);
        ck_assert(tu_rel_diff(mmse + i * D, want_mmse, D) < 1e-9);
    }
    ck_assert_uint_ge(checked, N - 2);
    /* MAP alone, and single precision (its projections in float), pick
     * the same components here. */
    double *map2 = malloc(N * D * sizeof *map2);
    ck_assert_ok(gmmp_plan_execute(pre, Y, N, NULL, NULL, map2, NULL));
    ck_assert(tu_rel_diff(map2, map, N * D) < 1e-14);
    gmmp_plan *pre_f;
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PRECISION, GMMP_PRECISION_SINGLE));
    ck_assert_ok(gmmp_plan_create_denoise(&pre_f, m, sigma, o));
    ck_assert_ok(gmmp_plan_execute(pre_f, Y, N, NULL, NULL, map2, NULL));
    ck_assert_double_le(tu_rel_diff(map2, map, N * D), 1e-6);
    /* Candidates that would not save work (here M = K - 1) leave the
     * plan exact: the same outputs as without them, bit for bit. */
    gmmp_plan *all, *none;
    gmmp_options *o2 = tu_options();
    ck_assert_ok(gmmp_options_set_int(o2, GMMP_OPT_RANK, RANK));
    ck_assert_ok(gmmp_plan_create_denoise(&none, m, sigma, o2));
    ck_assert_ok(gmmp_options_set_int(o2, GMMP_OPT_CANDIDATES, K - 1));
    ck_assert_ok(gmmp_plan_create_denoise(&all, m, sigma, o2));
    double *a = malloc(N * K * sizeof *a), *b = malloc(N * K * sizeof *b);
    ck_assert_ok(gmmp_plan_execute(all, Y, N, a, NULL, NULL, NULL));
    ck_assert_ok(gmmp_plan_execute(none, Y, N, b, NULL, NULL, NULL));
    ck_assert_mem_eq(a, b, N * K * sizeof *a);
    free(a), free(b), free(resp), free(map), free(map2), free(mmse), free(means);
    gmmp_plan_destroy(all);
    gmmp_plan_destroy(none);
    gmmp_plan_destroy(pre);
    gmmp_plan_destroy(pre_f);
    gmmp_plan_destroy(ref);
    gmmp_options_destroy(o);
    gmmp_options_destroy(o2);
    gmmp_options_destroy(exact);
    gmmp_model_destroy(m);
    gmmp_model_destroy(mf);
}

START_TEST(preselection_keeps_the_coarse_models_best_candidates)
{
    check_preselection(false);
}
END_TEST

START_TEST(preselection_through_the_priors_leading_directions)
{
    check_preselection(true);
}
END_TEST

START_TEST(contract_fixes)
{
    enum { K = 2, D = 6 };
    tu_rng r = {31};
    double w[K] = {0.4, 0.6}, mu[K * D], cov[K * D * D];
    tu_fill_uniform(&r, mu, K * D, -3, 3);
    for (size_t k = 0; k < K; k++)
        tu_random_spd(&r, cov + k * D * D, D, 2.0, 5.0);
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    /* A full noise covariance with a negative eigenvalue, although
     * Sigma_k + Sigma_y is positive definite for every k: GMMP_ENOTSPD. */
    double noise[D * D] = {0}, Wid[D * D] = {0};
    for (size_t i = 0; i < D; i++)
        noise[i * D + i] = 1.0, Wid[i * D + i] = 1.0;
    noise[D * D - 1] = -0.05;
    gmmp_plan *plan = NULL;
    ck_assert_fails(gmmp_plan_create(&plan, m, D, NULL, GMMP_NOISE_FULL, noise, NULL, NULL),
                    GMMP_ENOTSPD);
    ck_assert_fails(gmmp_plan_create(&plan, m, D, Wid, GMMP_NOISE_FULL, noise, NULL, NULL),
                    GMMP_ENOTSPD);
    ck_assert_ptr_null(plan);
    /* The short denoising plan is the scalar-noise plan. */
    double var = 2.25, Y[5 * D], a[5 * D], b[5 * D];
    tu_fill_uniform(&r, Y, 5 * D, -5, 5);
    gmmp_plan *p1, *p2;
    ck_assert_ok(gmmp_plan_create(&p1, m, D, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL));
    ck_assert_ok(gmmp_plan_create_denoise(&p2, m, 1.5, NULL));
    ck_assert_ok(gmmp_plan_execute(p1, Y, 5, NULL, NULL, NULL, a));
    ck_assert_ok(gmmp_plan_execute(p2, Y, 5, NULL, NULL, NULL, b));
    ck_assert_double_le(tu_rel_diff(b, a, 5 * D), 1e-14);
    gmmp_plan_destroy(p1);
    gmmp_plan_destroy(p2);
    gmmp_model_destroy(m);

    /* A nearly singular Sigma_k (rank 3 of 6, plus 1e-14 on the diagonal):
     * the posterior covariance is finite and equals the slow
     * Sigma - Sigma (Sigma + s2 I)^{-1} Sigma. */
    double B[D * 3], sing[D * D], ws = 1.0, mus[D] = {0};
    int made = 0;
    for (int scale = 0; scale < 3; scale++) {
        double sc = pow(10.0, scale);
        for (size_t i = 0; i < D * 3; i++)
            B[i] = sc * tu_normal(&r);
        for (size_t i = 0; i < D; i++)
            for (size_t j = 0; j <= i; j++) {
                double t = 0.0;
                for (size_t q = 0; q < 3; q++)
                    t += B[i * 3 + q] * B[j * 3 + q];
                sing[i * D + j] = sing[j * D + i] = t + (i == j ? 1e-14 : 0.0);
            }
        gmmp_model *ms = NULL;
        if (gmmp_model_create(&ms, 1, D, &ws, mus, sing) != GMMP_OK)
            continue; /* Cholesky refused it: not this case */
        made++;
        for (int method = 0; method < 2; method++) {
            gmmp_options *o = tu_options();
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD, method));
            gmmp_plan *ps;
            ck_assert_ok(gmmp_plan_create_denoise(&ps, ms, 2.0, o));
            gmmp_options_destroy(o);
            double pc[D * D], sum[D * D], inv[D * D], t1[D * D], want[D * D];
            ck_assert_ok(gmmp_plan_posterior_cov(ps, 0, pc));
            for (size_t i = 0; i < D * D; i++)
                ck_assert_msg(isfinite(pc[i]), "scale %g, method %d: entry %zu is %g", sc,
                              method, i, pc[i]);
            for (size_t i = 0; i < D * D; i++)
                sum[i] = sing[i] + (i / D == i % D ? 4.0 : 0.0);
            ref_inverse(sum, D, inv);
            ref_matmul(sing, inv, D, D, D, t1);
            ref_matmul(t1, sing, D, D, D, want);
            for (size_t i = 0; i < D * D; i++)
                want[i] = sing[i] - want[i];
            ck_assert_double_le(tu_max_abs_diff(pc, want, D * D), 1e-9 * sc * sc);
            double yy[D], est[D];
            tu_fill_uniform(&r, yy, D, -3, 3);
            ck_assert_ok(gmmp_plan_execute(ps, yy, 1, NULL, NULL, NULL, est));
            for (size_t i = 0; i < D; i++)
                ck_assert(isfinite(est[i]));
            gmmp_plan_destroy(ps);
        }
        gmmp_model_destroy(ms);
    }
    ck_assert_int_ge(made, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("posterior");
    TCase *tc = tu_tcase("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, denoise_matches_fixture_on_both_paths);
    tcase_add_test(tc, single_precision_plans_match_fixture);
    tcase_add_test(tc, single_precision_plans_fall_back);
    tcase_add_test(tc, mask_matches_fixture);
    tcase_add_test(tc, blur_matches_fixture);
    tcase_add_test(tc, random_problems_match_slow_reference);
    tcase_add_test(tc, limits_behave);
    tcase_add_test(tc, bad_inputs_are_refused);
    tcase_add_test(tc, plan_outlives_its_model);
    tcase_add_test(tc, masked_posterior_matches_general_plan);
    tcase_add_test(tc, contract_fixes);
    tcase_add_test(tc, flat_tail_plan_equals_the_flattened_prior);
    tcase_add_test(tc, preselection_keeps_the_coarse_models_best_candidates);
    tcase_add_test(tc, preselection_through_the_priors_leading_directions);
    suite_add_tcase(s, tc);
    /* Tagged slow: minutes under valgrind, which runs with
     * CK_EXCLUDE_TAGS=slow (AddressSanitizer runs it). */
    TCase *large = tu_tcase("large");
    tcase_set_tags(large, "slow");
    tcase_set_timeout(large, 600);
    tcase_add_test(large, many_components_whiten_again);
    suite_add_tcase(s, large);
    TCase *threads = tu_tcase("threads");
    tcase_set_tags(threads, "threads");
    tcase_set_timeout(threads, 300);
    tcase_add_test(threads, threads_share_one_plan);
    suite_add_tcase(s, threads);
    return tu_run(s);
}
