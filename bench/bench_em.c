/*
 * EM benchmark: the workload. All overlapping 16x16 patches of the
 * first 300 training digits (N = 50,700, d = 256), K = 11, 10 EM
 * iterations (tol 0) from one initial model, which is written to
 * bench-em-init.f64 so bench/sklearn_em.py can start scikit-learn from it.
 *
 * Usage: bench_em [THREADS [SKIP [INIT_FILE]]] (defaults 1, 1e-12,
 * bench-em-init.f64). With THREADS > 1 the trainer runs OpenBLAS
 * single-threaded under its own threads.
 *
 * Flops counted: the E-step's triangular solve (N*d^2 per component) and
 * the M-step's symmetric rank-k update (N*d*(d+1) per component, less with
 * skipping), i.e. the 2*N*K*d^2 an iteration needs; the O(N*K*d) rest is
 * not counted.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "gmmprior.h"

int main(int argc, char **argv)
{
    const size_t digits = 300, K = 11, P = 16, d = P * P;
    const int iters = 10;
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double skip = argc > 2 ? atof(argv[2]) : 1e-12; /* the trainer's default */
    const char *init_out = argc > 3 ? argv[3] : "bench-em-init.f64";

    bench_print_machine();
    double *img = bench_load_digits("train", digits);
    gmmp_extractor *ex;
    CHECK(gmmp_extractor_create(&ex, P, P, 1, 1));
    size_t N;
    double *X = bench_digit_patches(img, digits, ex, &N);
    free(img);
    printf("workload: N = %zu patches, d = %zu, K = %zu, %d iterations, threads %d, skip %g\n",
           N, d, K, iters, threads, skip);
    printf("data: %.1f MiB\n", (double)(N * d * sizeof *X) / 1048576.0);

    /* The initial model: k-means initialisation and one EM iteration. */
    gmmp_options *opt;
    CHECK(gmmp_options_create(&opt));
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_MAX_ITER, 1));
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_SEED, 1));
    gmmp_trainer *t;
    CHECK(gmmp_trainer_create(&t, K, opt));
    gmmp_model *init;
    double t0 = bench_now();
    CHECK(gmmp_trainer_fit(t, X, N, d, &init, NULL));
    printf("k-means initialisation + 1 iteration: %.2f s\n", bench_now() - t0);
    double *params = malloc((K + K * d + K * d * d) * sizeof *params);
    CHECK(gmmp_model_get(init, params, params + K, params + K + K * d));
    FILE *f = fopen(init_out, "wb");
    if (f) {
        fwrite(params, sizeof *params, K + K * d + K * d * d, f);
        fclose(f);
    }
    free(params);

    /* A trainer copies its options at creation: a new one for the run. */
    gmmp_trainer_destroy(t);
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_MAX_ITER, iters));
    CHECK(gmmp_options_set_real(opt, GMMP_OPT_TOL, 0.0));
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_THREADS, threads));
    /* As the figures in docs/performance.md were measured: OpenBLAS
     * single-threaded while the trainer's threads run. */
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_BLAS_SERIAL, threads > 1));
    CHECK(gmmp_options_set_real(opt, GMMP_OPT_SKIP, skip));
    CHECK(gmmp_trainer_create(&t, K, opt));
    gmmp_options_destroy(opt);
    CHECK(gmmp_trainer_set_init_model(t, init));
    gmmp_model_destroy(init); /* the trainer keeps its own copy */
    gmmp_model *m;
    gmmp_fit_info info;
    double rss_before = bench_rss_mib();
    bench_peak_reset();
    t0 = bench_now();
    CHECK(gmmp_trainer_fit(t, X, N, d, &m, &info));
    double secs = bench_now() - t0;
    double peak = bench_peak_rss_mib();
    double needed = 2.0 * (double)N * (double)K * (double)d * (double)d * iters;
    double gemm = bench_dgemm_gflops(N, d, d);
    double score;
    CHECK(gmmp_model_score(m, X, N, &score));
    printf("EM: %d iterations in %.2f s: %.3f s/iteration\n", info.n_iter, secs, secs / iters);
    printf("  needed flops (2*N*K*d^2 per iteration): %.1f GFLOP/s\n", needed / secs * 1e-9);
    printf("  flops done (TRMM + SYRK, skipped rows not counted): %.1f GFLOP in all, "
           "%.1f GFLOP/s\n",
           info.flops * 1e-9, info.flops / secs * 1e-9);
    printf("dgemm %zux%zux%zu on this machine (BLAS's own threads): %.1f GFLOP/s; EM does "
           "%.0f%% of it on the flops done\n",
           N, d, d, gemm, 100.0 * info.flops / secs * 1e-9 / gemm);
    printf("final lower bound %.10f, score %.10f\n", info.mean_loglik, score);
    printf("memory: resident %.1f MiB before the fit (data %.1f MiB, initial model, "
           "libraries), peak %.1f MiB during it: %.2fx the data\n",
           rss_before, (double)(N * d * sizeof *X) / 1048576.0, peak,
           peak / ((double)(N * d * sizeof *X) / 1048576.0));
    gmmp_model_destroy(m);
    gmmp_trainer_destroy(t);
    gmmp_extractor_destroy(ex);
    free(X);
    return 0;
}
