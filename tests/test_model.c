/*
 * Model handle: validation, accessors, scoring against a slow reference
 * and scikit-learn, information criteria, sampling.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "refmath.h"
#include "testutil.h"

/* A random model with well-conditioned covariances. */
static void random_model(tu_rng *r, size_t K, size_t d, double *w, double *mu, double *cov)
{
    double total = 0.0;
    for (size_t k = 0; k < K; k++)
        total += w[k] = 0.5 + tu_uniform(r);
    for (size_t k = 0; k < K; k++)
        w[k] /= total;
    tu_fill_uniform(r, mu, K * d, -5.0, 5.0);
    for (size_t k = 0; k < K; k++)
        tu_random_spd(r, cov + k * d * d, d, 0.2, 3.0);
}

START_TEST(create_validates_every_parameter)
{
    enum { K = 2, D = 3 };
    double w[K] = {0.25, 0.75}, mu[K * D] = {0}, cov[K * D * D] = {0};
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < D; i++)
            cov[k * D * D + i * D + i] = 1.0 + (double)i;
    gmmp_model *m = NULL;
    ck_assert_fails(gmmp_model_create(NULL, K, D, w, mu, cov), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_create(&m, 0, D, w, mu, cov), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_create(&m, K, 0, w, mu, cov), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_create(&m, K, D, NULL, mu, cov), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_create(&m, K, D, w, NULL, cov), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_create(&m, SIZE_MAX / 2, D, w, mu, cov), GMMP_EOVERFLOW);
    ck_assert_fails(gmmp_model_create(&m, 2, SIZE_MAX / 4, w, mu, cov), GMMP_EOVERFLOW);

    w[0] = NAN;
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, cov), GMMP_ENONFINITE);
    w[0] = -0.25;
    w[1] = 1.25;
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, cov), GMMP_EINVAL);
    w[0] = 0.25;
    w[1] = 0.7;
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, cov), GMMP_EINVAL);
    ck_assert_msg(strstr(gmmp_last_error(), "sum") != NULL, "%s", gmmp_last_error());
    w[1] = 0.75;
    mu[4] = INFINITY;
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, cov), GMMP_ENONFINITE);
    mu[4] = 0.0;
    cov[D * D + 1] = 0.5; /* component 1 not symmetric */
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, cov), GMMP_ENOTSPD);
    ck_assert_msg(strstr(gmmp_last_error(), "component 1") != NULL, "%s", gmmp_last_error());
    cov[D * D + 1] = 0.0;
    cov[D * D + 2 * D + 2] = -1.0; /* component 1 indefinite */
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, cov), GMMP_ENOTSPD);
    ck_assert_msg(strstr(gmmp_last_error(), "component 1") != NULL, "%s", gmmp_last_error());
    cov[D * D + 2 * D + 2] = 0.0; /* singular */
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, cov), GMMP_ENOTSPD);
    cov[D * D + 2 * D + 2] = 3.0;
    cov[2] = NAN;
    ck_assert_fails(gmmp_model_create(&m, K, D, w, mu, cov), GMMP_ENONFINITE);
    cov[2] = 0.0;
    ck_assert_ptr_null(m);

    /* A zero weight is allowed. */
    w[0] = 0.0;
    w[1] = 1.0;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    ck_assert_uint_eq(gmmp_model_components(m), K);
    ck_assert_uint_eq(gmmp_model_dim(m), D);
    ck_assert_uint_eq(gmmp_model_components(NULL), 0);
    ck_assert_uint_eq(gmmp_model_dim(NULL), 0);
    ck_assert_fails(gmmp_model_get(NULL, w, mu, cov), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_cholesky(m, NULL), GMMP_EINVAL);
    double x[D] = {1, 2, 3}, lp;
    ck_assert_ok(gmmp_model_score_samples(m, x, 1, &lp, NULL));
    ck_assert(isfinite(lp));
    gmmp_model_destroy(m);
    gmmp_model_destroy(NULL);
}
END_TEST

START_TEST(parameters_and_factors_round_trip)
{
    enum { K = 3, D = 5 };
    tu_rng r = {7};
    double w[K], mu[K * D], cov[K * D * D];
    random_model(&r, K, D, w, mu, cov);
    /* Rounding-level asymmetry is accepted and symmetrised. */
    cov[1] *= 1.0 + 1e-15;
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    double w2[K], mu2[K * D], cov2[K * D * D], l[K * D * D], llt[D * D], lt[D * D];
    ck_assert_ok(gmmp_model_get(m, w2, mu2, cov2));
    ck_assert_ok(gmmp_model_get(m, NULL, NULL, NULL));
    ck_assert_mem_eq(w, w2, sizeof w);
    ck_assert_mem_eq(mu, mu2, sizeof mu);
    ck_assert_double_le(tu_rel_diff(cov2, cov, K * D * D), 1e-15);
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < D; i++)
            for (size_t j = 0; j < i; j++)
                ck_assert_double_eq(cov2[k * D * D + i * D + j], cov2[k * D * D + j * D + i]);
    ck_assert_ok(gmmp_model_cholesky(m, l));
    for (size_t k = 0; k < K; k++) {
        const double *lk = l + k * D * D;
        for (size_t i = 0; i < D; i++)
            for (size_t j = i + 1; j < D; j++)
                ck_assert_double_eq(lk[i * D + j], 0.0);
        ref_transpose(lk, D, D, lt);
        ref_matmul(lk, lt, D, D, D, llt);
        ck_assert_double_le(tu_rel_diff(llt, cov2 + k * D * D, D * D), 1e-14);
    }
    ck_assert_uint_eq(gmmp_model_n_parameters(m), K * D * (D + 1) / 2 + K * D + K - 1);
    ck_assert_uint_eq(gmmp_model_n_parameters(NULL), 0);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(scores_match_slow_reference)
{
    /* Several block boundaries: n above the 2048-row block. */
    enum { K = 4, D = 6, N = 4500 };
    tu_rng r = {11};
    double w[K], mu[K * D], cov[K * D * D];
    random_model(&r, K, D, w, mu, cov);
    double *X = malloc(N * D * sizeof *X), *lp = malloc(N * sizeof *lp);
    double *resp = malloc(N * K * sizeof *resp);
    tu_fill_uniform(&r, X, N * D, -8.0, 8.0);
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    ck_assert_ok(gmmp_model_score_samples(m, X, N, lp, resp));
    double total = 0.0;
    for (size_t i = 0; i < N; i++) {
        double ref_resp[K];
        double ref_lp = ref_mixture(X + i * D, K, D, w, mu, cov, ref_resp);
        total += ref_lp;
        ck_assert_double_eq_tol(lp[i], ref_lp, 1e-10 * fabs(ref_lp));
        double sum = 0.0;
        for (size_t k = 0; k < K; k++) {
            ck_assert_double_eq_tol(resp[i * K + k], ref_resp[k], 1e-10);
            sum += resp[i * K + k];
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-12);
    }
    double score, bic, aic;
    ck_assert_ok(gmmp_model_score(m, X, N, &score));
    ck_assert_double_eq_tol(score, total / N, 1e-10 * fabs(score));
    ck_assert_ok(gmmp_model_bic(m, X, N, &bic));
    ck_assert_ok(gmmp_model_aic(m, X, N, &aic));
    double p = (double)gmmp_model_n_parameters(m);
    ck_assert_double_eq_tol(bic, -2.0 * total + p * log((double)N), 1e-9 * fabs(bic));
    ck_assert_double_eq_tol(aic, -2.0 * total + 2.0 * p, 1e-9 * fabs(aic));

    /* Only one output requested, and errors. */
    ck_assert_ok(gmmp_model_score_samples(m, X, N, NULL, resp));
    ck_assert_ok(gmmp_model_score_samples(m, X, 0, NULL, NULL));
    ck_assert_fails(gmmp_model_score(m, X, 0, &score), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_score(m, X, N, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_score_samples(NULL, X, N, lp, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_score_samples(m, NULL, N, lp, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_bic(m, X, N, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_aic(NULL, X, N, &aic), GMMP_EINVAL);
    X[3 * D + 2] = NAN;
    ck_assert_fails(gmmp_model_score_samples(m, X, N, lp, NULL), GMMP_ENONFINITE);
    ck_assert_msg(strstr(gmmp_last_error(), "sample 3") != NULL, "%s", gmmp_last_error());
    gmmp_model_destroy(m);
    free(X);
    free(lp);
    free(resp);
}
END_TEST

/* Two tied components, far from a sample: log-densities of -5e15 and
 * beyond, where top + log(sum) rounds the sum away. By symmetry each
 * responsibility is 1/2 exactly. */
START_TEST(tied_responsibilities_sum_to_one_far_from_the_means)
{
    const double w[2] = {0.5, 0.5}, mu[4] = {-1.0, 0.0, 1.0, 0.0};
    const double cov[8] = {1e-6, 0, 0, 1e-6, 1e-6, 0, 0, 1e-6};
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, 2, 2, w, mu, cov));
    const double far[4] = {0.0, 1e5, 0.0, 1e7};
    for (size_t i = 0; i < 2; i++) {
        double lp, resp[2];
        ck_assert_ok(gmmp_model_score_samples(m, far + 2 * i, 1, &lp, resp));
        ck_assert_msg(resp[0] == 0.5 && resp[1] == 0.5, "x = (0, %g): responsibilities %.17g %.17g",
                      far[2 * i + 1], resp[0], resp[1]);
        /* log p = log N(x; mu_k, 1e-6 I), the same for both */
        const double r2 = 1.0 + far[2 * i + 1] * far[2 * i + 1];
        const double two_pi = 6.283185307179586;
        const double ref = -log(two_pi * 1e-6) - 0.5 * r2 / 1e-6;
        ck_assert_double_eq_tol(lp, ref, 1e-15 * fabs(ref));
    }
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(scores_match_scikit_learn_on_blobs)
{
    enum { N = 3000, D = 16, K = 4 };
    double *X = tu_load_f64("fixtures/em_blobs/X.f64", N * D);
    double *w = tu_load_f64("fixtures/em_blobs/final_weights.f64", K);
    double *mu = tu_load_f64("fixtures/em_blobs/final_means.f64", K * D);
    double *cov = tu_load_f64("fixtures/em_blobs/final_covariances.f64", K * D * D);
    double *ref_lp = tu_load_f64("fixtures/em_blobs/final_logpdf.f64", N);
    double *ref_resp = tu_load_f64("fixtures/em_blobs/final_resp.f64", N * K);
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    double *lp = malloc(N * sizeof *lp), *resp = malloc(N * K * sizeof *resp);
    ck_assert_ok(gmmp_model_score_samples(m, X, N, lp, resp));
    ck_assert_double_le(tu_rel_diff(lp, ref_lp, N), 1e-12);
    ck_assert_double_le(tu_max_abs_diff(resp, ref_resp, N * K), 1e-10);
    double score, bic, aic;
    ck_assert_ok(gmmp_model_score(m, X, N, &score));
    ck_assert_ok(gmmp_model_bic(m, X, N, &bic));
    ck_assert_ok(gmmp_model_aic(m, X, N, &aic));
    /* meta.txt: final_score, final_bic, final_aic */
    ck_assert_double_eq_tol(score, -26.719719518954584, 1e-12 * 26.72);
    ck_assert_double_eq_tol(bic, 165210.2076975618, 1e-6);
    ck_assert_double_eq_tol(aic, 161540.31711372751, 1e-6);
    gmmp_model_destroy(m);
    free(X), free(w), free(mu), free(cov), free(ref_lp), free(ref_resp), free(lp), free(resp);
}
END_TEST

START_TEST(samples_follow_the_model)
{
    enum { K = 3, D = 2, N = 300000 };
    const double w[K] = {0.2, 0.5, 0.3};
    const double mu[K * D] = {-10, 0, 0, 10, 10, 0};
    const double cov[K * D * D] = {1, 0.5, 0.5, 2, 3, -1, -1, 1, 0.5, 0, 0, 0.5};
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, K, D, w, mu, cov));
    double *X = malloc(N * D * sizeof *X), *X2 = malloc(N * D * sizeof *X2);
    size_t *labels = malloc(N * sizeof *labels);
    ck_assert_ok(gmmp_model_sample(m, N, 42, X, labels));
    ck_assert_ok(gmmp_model_sample(m, N, 42, X2, NULL));
    ck_assert_mem_eq(X, X2, N * D * sizeof *X); /* same seed, same samples */
    ck_assert_ok(gmmp_model_sample(m, N, 43, X2, NULL));
    ck_assert(memcmp(X, X2, N * D * sizeof *X) != 0);
    for (size_t k = 0; k < K; k++) {
        double n = 0, s[D] = {0}, ss[D * D] = {0};
        for (size_t i = 0; i < N; i++) {
            if (labels[i] != k)
                continue;
            n++;
            for (size_t a = 0; a < D; a++) {
                s[a] += X[i * D + a];
                for (size_t b = 0; b < D; b++)
                    ss[a * D + b] += X[i * D + a] * X[i * D + b];
            }
        }
        /* Tolerances are about five standard errors. */
        double se_w = sqrt(w[k] * (1 - w[k]) / N);
        ck_assert_double_eq_tol(n / N, w[k], 5 * se_w);
        for (size_t a = 0; a < D; a++) {
            double mean = s[a] / n;
            ck_assert_double_eq_tol(mean, mu[k * D + a], 5 * sqrt(cov[k * D * D + a * D + a] / n));
            for (size_t b = 0; b < D; b++) {
                double c = ss[a * D + b] / n - mean * (s[b] / n);
                ck_assert_double_eq_tol(c, cov[k * D * D + a * D + b], 0.09);
            }
        }
    }
    ck_assert_fails(gmmp_model_sample(NULL, 1, 0, X, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_sample(m, 1, 0, NULL, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_model_sample(m, SIZE_MAX / 2, 0, X, NULL), GMMP_EOVERFLOW);
    ck_assert_ok(gmmp_model_sample(m, 0, 0, NULL, NULL));
    gmmp_model_destroy(m);
    free(X);
    free(X2);
    free(labels);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tu_tcase("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, create_validates_every_parameter);
    tcase_add_test(tc, parameters_and_factors_round_trip);
    tcase_add_test(tc, scores_match_slow_reference);
    tcase_add_test(tc, tied_responsibilities_sum_to_one_far_from_the_means);
    tcase_add_test(tc, scores_match_scikit_learn_on_blobs);
    tcase_add_test(tc, samples_follow_the_model);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
