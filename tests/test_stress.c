/*
 * Numerical stress: training on constant coordinates, duplicated points,
 * data scaled by 1e6 and 1e-6 or offset by 1e6; posteriors with noise
 * from 1e-3 to 1e4. Results stay finite and, where an exact answer is
 * known (the scaled or shifted problem), agree with it.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "refmath.h"
#include "testutil.h"

enum { N = 3000, D = 16, K = 4 };

static int all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

/* Fits em_blobs from its initial model after mapping data and model by
 * x -> scale * x + offset, then maps the result back. */
static void fit_transformed(double scale, double offset, double *w, double *mu, double *cov)
{
    double *X = tu_load_f64("fixtures/em_blobs/X.f64", N * D);
    double *iw = tu_load_f64("fixtures/em_blobs/init_weights.f64", K);
    double *imu = tu_load_f64("fixtures/em_blobs/init_means.f64", K * D);
    double *icov = tu_load_f64("fixtures/em_blobs/init_covariances.f64", K * D * D);
    for (size_t i = 0; i < N * D; i++)
        X[i] = scale * X[i] + offset;
    for (size_t i = 0; i < K * D; i++)
        imu[i] = scale * imu[i] + offset;
    for (size_t i = 0; i < K * D * D; i++)
        icov[i] *= scale * scale;
    gmmp_model *init, *m;
    ck_assert_ok(gmmp_model_create(&init, K, D, iw, imu, icov));
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_MAX_ITER, 10));
    ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_TOL, 0.0));
    /* reg_covar is absolute: scale it with the data's variance. */
    ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_REG_COVAR, 1e-6 * scale * scale));
    gmmp_trainer *t;
    ck_assert_ok(gmmp_trainer_create(&t, K, o));
    gmmp_options_destroy(o);
    ck_assert_ok(gmmp_trainer_set_init_model(t, init));
    ck_assert_ok(gmmp_trainer_fit(t, X, N, D, &m, NULL));
    ck_assert_ok(gmmp_model_get(m, w, mu, cov));
    ck_assert(all_finite(mu, K * D) && all_finite(cov, K * D * D));
    for (size_t i = 0; i < K * D; i++)
        mu[i] = (mu[i] - offset) / scale;
    for (size_t i = 0; i < K * D * D; i++)
        cov[i] /= scale * scale;
    gmmp_model_destroy(m);
    gmmp_model_destroy(init);
    gmmp_trainer_destroy(t);
    free(X), free(iw), free(imu), free(icov);
}

START_TEST(scaled_and_shifted_data_give_the_same_model)
{
    double *ref_w = tu_load_f64("fixtures/em_blobs/after10_weights.f64", K);
    double *ref_mu = tu_load_f64("fixtures/em_blobs/after10_means.f64", K * D);
    double *ref_cov = tu_load_f64("fixtures/em_blobs/after10_covariances.f64", K * D * D);
    const double cases[][3] = {/* scale, offset, tolerance */
                               {1e6, 0.0, 1e-8},
                               {1e-6, 0.0, 1e-8},
                               {1.0, 1e6, 1e-8},
                               {1e-3, 1e3, 1e-8}};
    double w[K], mu[K * D], cov[K * D * D];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        fit_transformed(cases[c][0], cases[c][1], w, mu, cov);
        ck_assert_msg(tu_rel_diff(w, ref_w, K) <= cases[c][2] &&
                          tu_rel_diff(mu, ref_mu, K * D) <= cases[c][2] &&
                          tu_rel_diff(cov, ref_cov, K * D * D) <= cases[c][2],
                      "scale %g offset %g: weights %g, means %g, covariances %g", cases[c][0],
                      cases[c][1], tu_rel_diff(w, ref_w, K), tu_rel_diff(mu, ref_mu, K * D),
                      tu_rel_diff(cov, ref_cov, K * D * D));
    }
    free(ref_w), free(ref_mu), free(ref_cov);
}
END_TEST

START_TEST(duplicated_points_and_constant_coordinates)
{
    /* Five distinct points, each repeated 300 times, two coordinates
     * constant: covariances are reg_covar in most directions. */
    enum { M = 1500, DD = 6 };
    double *X = malloc(M * DD * sizeof *X);
    tu_rng r = {12};
    double base[5][DD];
    tu_fill_uniform(&r, &base[0][0], 5 * DD, -10, 10);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < DD; j++)
            X[i * DD + j] = j < 2 ? 42.0 : base[i % 5][j];
    for (int init = GMMP_INIT_KMEANS; init <= GMMP_INIT_RANDOM; init++) {
        gmmp_trainer *t;
        gmmp_model *m;
        gmmp_fit_info info;
        gmmp_options *o = tu_options();
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_INIT, init));
        ck_assert_ok(gmmp_trainer_create(&t, 3, o));
        gmmp_options_destroy(o);
        ck_assert_ok(gmmp_trainer_fit(t, X, M, DD, &m, &info));
        double w[3], mu[3 * DD], cov[3 * DD * DD], lp[M];
        ck_assert_ok(gmmp_model_get(m, w, mu, cov));
        ck_assert(all_finite(w, 3) && all_finite(mu, 3 * DD) && all_finite(cov, 3 * DD * DD));
        ck_assert(isfinite(info.mean_loglik));
        ck_assert_ok(gmmp_model_score_samples(m, X, M, lp, NULL));
        ck_assert(all_finite(lp, M));
        for (int k = 0; k < 3; k++)
            ck_assert_double_eq_tol(mu[k * DD], 42.0, 1e-9);
        gmmp_model_destroy(m);
        gmmp_trainer_destroy(t);
    }
    /* All points equal: one cluster of zero spread. */
    for (size_t i = 0; i < M * DD; i++)
        X[i] = 7.0;
    gmmp_trainer *t;
    gmmp_model *m;
    ck_assert_ok(gmmp_trainer_create(&t, 2, NULL));
    ck_assert_ok(gmmp_trainer_fit(t, X, M, DD, &m, NULL));
    double cov[2 * DD * DD];
    ck_assert_ok(gmmp_model_get(m, NULL, NULL, cov));
    ck_assert(all_finite(cov, 2 * DD * DD));
    ck_assert_double_eq_tol(cov[0], 1e-6, 1e-12);
    gmmp_model_destroy(m);
    gmmp_trainer_destroy(t);
    free(X);
}
END_TEST

START_TEST(posterior_across_noise_levels)
{
    /* The mnist8 model (condition numbers up to 1e11) and noisy patches;
     * sigma from 1e-3 to 1e4 on both plan methods: finite everywhere, the
     * two methods agree, responsibilities sum to one, and the estimate
     * moves from the observation to the prior mean. */
    const size_t k6 = 6, d = 64, n = 200;
    double *w = tu_load_f64("fixtures/post_denoise/weights.f64", k6);
    double *mu = tu_load_f64("fixtures/post_denoise/means.f64", k6 * d);
    double *cov = tu_load_f64("fixtures/post_denoise/covariances.f64", k6 * d * d);
    double *Y = tu_load_f64("fixtures/post_denoise/Y.f64", n * d);
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, k6, d, w, mu, cov));
    double *a = malloc(n * d * sizeof *a), *b = malloc(n * d * sizeof *b);
    double *resp = malloc(n * k6 * sizeof *resp), *lev = malloc(n * sizeof *lev);
    double prior_mean[64] = {0};
    for (size_t k = 0; k < k6; k++)
        for (size_t j = 0; j < d; j++)
            prior_mean[j] += w[k] * mu[k * d + j];
    const double sigmas[] = {1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1e3, 1e4};
    for (size_t s = 0; s < sizeof sigmas / sizeof sigmas[0]; s++) {
        double var = sigmas[s] * sigmas[s];
        gmmp_plan *pe, *pc;
        gmmp_options *o = tu_options();
        ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_SKIP, 0.0));
        ck_assert_ok(gmmp_plan_create(&pe, m, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, o));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_CHOLESKY));
        ck_assert_ok(gmmp_plan_create(&pc, m, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, o));
        gmmp_options_destroy(o);
        ck_assert_ok(gmmp_plan_execute(pe, Y, n, resp, lev, NULL, a));
        ck_assert_ok(gmmp_plan_execute(pc, Y, n, NULL, NULL, NULL, b));
        ck_assert_msg(all_finite(a, n * d) && all_finite(b, n * d) && all_finite(lev, n),
                      "sigma %g: not finite", sigmas[s]);
        for (size_t i = 0; i < n; i++) {
            double sum = 0.0;
            for (size_t k = 0; k < k6; k++)
                sum += resp[i * k6 + k];
            ck_assert_double_eq_tol(sum, 1.0, 1e-12);
        }
        /* The methods agree to what the conditioning allows. */
        ck_assert_msg(tu_rel_diff(a, b, n * d) <= 1e-8, "sigma %g: methods differ by %g",
                      sigmas[s], tu_rel_diff(a, b, n * d));
        if (sigmas[s] <= 1e-3)
            ck_assert_double_le(tu_rel_diff(a, Y, n * d), 1e-6);
        if (sigmas[s] >= 1e4)
            for (size_t i = 0; i < n; i++)
                ck_assert_double_le(tu_rel_diff(a + i * d, prior_mean, d), 0.05);
        gmmp_plan_destroy(pe);
        gmmp_plan_destroy(pc);
    }
    gmmp_model_destroy(m);
    free(w), free(mu), free(cov), free(Y), free(a), free(b), free(resp), free(lev);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tu_tcase("stress");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, scaled_and_shifted_data_give_the_same_model);
    tcase_add_test(tc, duplicated_points_and_constant_coordinates);
    tcase_add_test(tc, posterior_across_noise_levels);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
