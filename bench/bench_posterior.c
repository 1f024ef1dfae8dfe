/*
 * Posterior benchmark: the workload. K = 11, d = 256 (16x16
 * patches), W = I, sigma = 20, one batch of all 16,900 patches of 100 test
 * digits, MMSE output; patches per second and GFLOP/s against dgemm.
 *
 * The model is trained here (seeded: k-means + 30 EM iterations on 20,000
 * training patches) and written to bench-posterior-model.f64 with the
 * noisy patches (bench-posterior-patches.f64), so bench/numpy_posterior.py
 * runs the numpy versions on the same numbers.
 *
 * Flops done are counted from the responsibilities: the whitening product
 * (2 d^2 per patch and component in the eigenbasis, d^2 with Cholesky
 * factors) and the posterior-mean product (2 d^2 per patch and component
 * that is not skipped).
 *
 * Usage: bench_posterior [THREADS [SKIP [eigen|cholesky]]] (defaults 1,
 * 1e-12, eigen: the plan's default method for W = I).
 *
 * The same batch then runs on a single-precision plan of the same method
 * (GMMP_OPT_PRECISION) in the same process: its rate against double's,
 * and its estimates' largest difference from double's, relative to the
 * pixel range 255.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "benchutil.h"
#include "gmmprior.h"

/* Best of five MMSE executions of the batch, in seconds. */
static double time_mmse(const gmmp_plan *plan, const double *Y, size_t n, double *mmse)
{
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = bench_now();
        CHECK(gmmp_plan_execute(plan, Y, n, NULL, NULL, NULL, mmse));
        double secs = bench_now() - t0;
        best = secs < best ? secs : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    const size_t K = 11, P = 16, d = P * P;
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 1;
    double skip = argc > 2 ? atof(argv[2]) : 1e-12;
    int cholesky = argc > 3 && argv[3][0] == 'c';
    bench_print_machine();

    gmmp_extractor *ex;
    CHECK(gmmp_extractor_create(&ex, P, P, 1, 1));
    /* Training patches: a seeded subset of the first 1,000 digits. */
    double *train = bench_load_digits("train", 1000);
    size_t n_all;
    double *all = bench_digit_patches(train, 1000, ex, &n_all);
    free(train);
    const size_t n_train = 20000;
    double *X = malloc(n_train * d * sizeof *X);
    for (size_t i = 0; i < n_train; i++) {
        size_t src = (i * 7919) % n_all; /* a fixed spread-out subset */
        for (size_t j = 0; j < d; j++)
            X[i * d + j] = all[src * d + j];
    }
    free(all);
    gmmp_options *topt;
    CHECK(gmmp_options_create(&topt));
    CHECK(gmmp_options_set_int(topt, GMMP_OPT_MAX_ITER, 30));
    CHECK(gmmp_options_set_int(topt, GMMP_OPT_SEED, 7));
    gmmp_trainer *t;
    CHECK(gmmp_trainer_create(&t, K, topt));
    gmmp_options_destroy(topt);
    gmmp_model *model;
    double t0 = bench_now();
    CHECK(gmmp_trainer_fit(t, X, n_train, d, &model, NULL));
    printf("model: K = %zu, d = %zu, trained in %.1f s\n", K, d, bench_now() - t0);
    free(X);

    /* The batch: all patches of the first 100 test digits, with noise. */
    double *test = bench_load_digits("t10k", 100);
    size_t n;
    double *Y = bench_digit_patches(test, 100, ex, &n);
    free(test);
    uint64_t s = 12345;
    for (size_t i = 0; i < n * d; i += 2) { /* Box-Muller, sigma = 20 */
        double u1, u2;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        u1 = ((double)(s >> 11) + 0.5) * 0x1.0p-53;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        u2 = (double)(s >> 11) * 0x1.0p-53;
        double r = 20.0 * sqrt(-2.0 * log(u1));
        Y[i] += r * cos(6.283185307179586 * u2);
        if (i + 1 < n * d)
            Y[i + 1] += r * sin(6.283185307179586 * u2);
    }
    double *params = malloc((K + K * d + K * d * d) * sizeof *params);
    CHECK(gmmp_model_get(model, params, params + K, params + K + K * d));
    FILE *f = fopen("bench-posterior-model.f64", "wb");
    if (f) {
        fwrite(params, sizeof *params, K + K * d + K * d * d, f);
        fclose(f);
    }
    f = fopen("bench-posterior-patches.f64", "wb");
    if (f) {
        fwrite(Y, sizeof *Y, n * d, f);
        fclose(f);
    }
    free(params);

    gmmp_options *opt;
    CHECK(gmmp_options_create(&opt));
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_THREADS, threads));
    /* As the figures in docs/performance.md were measured: OpenBLAS
     * single-threaded while the plan's own threads run (no longer the
     * library's default, GMMP_OPT_BLAS_SERIAL). */
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_BLAS_SERIAL, threads > 1));
    CHECK(gmmp_options_set_real(opt, GMMP_OPT_SKIP, skip));
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_PLAN_METHOD,
                               cholesky ? GMMP_PLAN_CHOLESKY : GMMP_PLAN_DEFAULT));
    double var = 400.0;
    gmmp_plan *plan;
    t0 = bench_now();
    CHECK(gmmp_plan_create(&plan, model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, opt));
    double first_plan = bench_now() - t0;
    t0 = bench_now();
    gmmp_plan *plan2;
    var = 401.0;
    CHECK(gmmp_plan_create(&plan2, model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, opt));
    double next_plan = bench_now() - t0;
    gmmp_plan_destroy(plan2);
    printf("plan (%s): %.4f s for the first sigma%s, %.6f s for another\n",
           cholesky ? "Cholesky" : "eigenbasis", first_plan,
           cholesky ? "" : " (the model's eigendecompositions)", next_plan);

    double *mmse = malloc(n * d * sizeof *mmse), *resp = malloc(n * K * sizeof *resp);
    CHECK(gmmp_plan_execute(plan, Y, n, resp, NULL, NULL, NULL));
    double wiener = 0.0;
    for (size_t i = 0; i < n * K; i++)
        wiener += resp[i] > skip;
    /* Whitening: a full product (2 d^2 per patch and component) in the
     * eigenbasis, a triangular one (d^2) with Cholesky factors. */
    double whiten = (cholesky ? 1.0 : 2.0) * (double)d * (double)d * (double)n * (double)K;
    double flops = whiten + 2.0 * (double)d * (double)d * wiener;
    double best = time_mmse(plan, Y, n, mmse);
    f = fopen("bench-posterior-mmse.f64", "wb");
    if (f) {
        fwrite(mmse, sizeof *mmse, n * d, f);
        fclose(f);
    }
    double gemm = bench_dgemm_gflops(n, d, d);
    printf("batch: %zu patches, MMSE, threads %u, skip %g: %.3f s (best of 5)\n", n, threads,
           skip, best);
    printf("  %.0f patches/s; %.2f components per patch get a Wiener product (of %zu)\n",
           (double)n / best, wiener / (double)n, K);
    printf("  flops done %.2f MFLOP/patch (exact MMSE: %.2f): %.1f GFLOP/s\n",
           flops / (double)n * 1e-6, 4.0 * (double)K * (double)d * (double)d * 1e-6,
           flops / best * 1e-9);
    printf("dgemm %zux%zux%zu (BLAS's own threads): %.1f GFLOP/s; the posterior does %.0f%% "
           "of it\n",
           n, d, d, gemm, 100.0 * flops / best * 1e-9 / gemm);
    printf("peak memory: %.1f MiB\n", bench_peak_rss_mib());
    {
        CHECK(gmmp_options_set_int(opt, GMMP_OPT_PRECISION, GMMP_PRECISION_SINGLE));
        gmmp_plan *single;
        var = 400.0;
        CHECK(gmmp_plan_create(&single, model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, opt));
        double *mmse_s = malloc(n * d * sizeof *mmse_s);
        double best_s = time_mmse(single, Y, n, mmse_s);
        double worst = 0.0;
        for (size_t i = 0; i < n * d; i++)
            worst = fmax(worst, fabs(mmse_s[i] - mmse[i]));
        printf("single precision (%zu of %zu components): %.3f s (best of 5), %.0f patches/s, "
               "%.2fx double's rate; sgemm %zux%zux%zu %.1f GFLOP/s\n",
               gmmp_plan_single_components(single), K, best_s, (double)n / best_s,
               best / best_s, n, d, d, bench_sgemm_gflops(n, d, d));
        printf("  estimates differ from double's by %.2e at most: %.2e of the pixel range\n",
               worst, worst / 255.0);
        free(mmse_s);
        gmmp_plan_destroy(single);
    }
    gmmp_options_destroy(opt);
    free(mmse);
    free(resp);
    free(Y);
    gmmp_plan_destroy(plan);
    gmmp_model_destroy(model);
    gmmp_trainer_destroy(t);
    gmmp_extractor_destroy(ex);
    return 0;
}
