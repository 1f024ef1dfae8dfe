/*
 * EM benchmark: the workload. All overlapping 16x16 patches of the
 * first 300 training digits (N = 50,700, d = 256), K = 11, 10 EM
 * iterations (tol 0) from one initial model, which is written to
 * bench-em-init.f64 so bench/sklearn_em.py can start scikit-learn from it.
 *
 * Usage: bench_em [THREADS [SKIP [INIT_FILE [CONVERGE]]]] (defaults 1,
 * 1e-12, bench-em-init.f64, 1). With THREADS > 1 the trainer runs
 * OpenBLAS single-threaded under its own threads.
 *
 * Both precisions (GMMP_OPT_PRECISION) run in the same process, double
 * first: 10 iterations each for the speed, then (CONVERGE = 1) each to
 * convergence at scikit-learn's default tol 1e-3 from the same initial
 * model, for the iterations and final lower bounds they reach.
 *
 * Flops counted: the E-step's triangular solve (N*d^2 per component) and
 * the M-step's symmetric rank-k update (N*d*(d+1) per component, less with
 * skipping), i.e. the 2*N*K*d^2 an iteration needs; the O(N*K*d) rest is
 * not counted.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "gmmprior.h"

typedef struct fit_result {
    double secs, lower_bound;
    int n_iter;
} fit_result;

/* One fit from the initial model; prints its figures. */
static fit_result run_fit(const gmmp_model *init, const double *X, size_t N, size_t d, size_t K,
                          gmmp_precision precision, int max_iter, double tol, int threads,
                          double skip, bool verbose)
{
    gmmp_options *opt;
    CHECK(gmmp_options_create(&opt));
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_MAX_ITER, max_iter));
    CHECK(gmmp_options_set_real(opt, GMMP_OPT_TOL, tol));
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_THREADS, threads));
    /* As the figures in docs/performance.md were measured: OpenBLAS
     * single-threaded while the trainer's threads run. */
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_BLAS_SERIAL, threads > 1));
    CHECK(gmmp_options_set_real(opt, GMMP_OPT_SKIP, skip));
    CHECK(gmmp_options_set_int(opt, GMMP_OPT_PRECISION, precision));
    gmmp_trainer *t;
    CHECK(gmmp_trainer_create(&t, K, opt));
    gmmp_options_destroy(opt);
    CHECK(gmmp_trainer_set_init_model(t, init));
    gmmp_model *m;
    gmmp_fit_info info;
    double rss_before = bench_rss_mib();
    bench_peak_reset();
    double t0 = bench_now();
    CHECK(gmmp_trainer_fit(t, X, N, d, &m, &info));
    double secs = bench_now() - t0;
    double peak = bench_peak_rss_mib();
    size_t single_passes, double_passes;
    CHECK(gmmp_trainer_precision(t, &single_passes, &double_passes));
    double score;
    CHECK(gmmp_model_score(m, X, N, &score));
    printf("EM: %d iterations in %.2f s: %.3f s/iteration%s\n", info.n_iter, secs,
           secs / info.n_iter, info.converged ? " (converged)" : "");
    printf("  E-step passes: %zu single, %zu double (components that fell back)\n",
           single_passes, double_passes);
    if (verbose) {
        double needed = 2.0 * (double)N * (double)K * (double)d * (double)d * info.n_iter;
        printf("  needed flops (2*N*K*d^2 per iteration): %.1f GFLOP/s\n", needed / secs * 1e-9);
        printf("  flops done (TRMM + SYRK, skipped rows not counted): %.1f GFLOP in all, "
               "%.1f GFLOP/s\n",
               info.flops * 1e-9, info.flops / secs * 1e-9);
        printf("  memory: resident %.1f MiB before the fit, peak %.1f MiB during it: %.2fx the "
               "data\n",
               rss_before, peak, peak / ((double)(N * d * sizeof *X) / 1048576.0));
    }
    printf("  final lower bound %.10f, score (double) %.10f\n", info.mean_loglik, score);
    gmmp_model_destroy(m);
    gmmp_trainer_destroy(t);
    return (fit_result){secs, info.mean_loglik, info.n_iter};
}

int main(int argc, char **argv)
{
    const size_t digits = 300, K = 11, P = 16, d = P * P;
    const int iters = 10;
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    double skip = argc > 2 ? atof(argv[2]) : 1e-12; /* the trainer's default */
    const char *init_out = argc > 3 ? argv[3] : "bench-em-init.f64";
    int converge = argc > 4 ? atoi(argv[4]) : 1;

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

    gmmp_trainer_destroy(t);
    gmmp_options_destroy(opt);

    const gmmp_precision precisions[2] = {GMMP_PRECISION_DOUBLE, GMMP_PRECISION_SINGLE};
    const char *names[2] = {"double", "single"};
    fit_result fixed[2], conv[2];
    for (int p = 0; p < 2; p++) {
        printf("\n== %s precision, %d iterations (tol 0)\n", names[p], iters);
        fixed[p] = run_fit(init, X, N, d, K, precisions[p], iters, 0.0, threads, skip, true);
    }
    double gemm = bench_dgemm_gflops(N, d, d), sgemm = bench_sgemm_gflops(N, d, d);
    printf("\ndgemm %zux%zux%zu on this machine (BLAS's own threads): %.1f GFLOP/s; "
           "sgemm %.1f GFLOP/s (%.2fx)\n",
           N, d, d, gemm, sgemm, sgemm / gemm);
    printf("single vs double, %d iterations: %.2fx faster; final lower bounds differ by "
           "%.2e relative\n",
           iters, fixed[0].secs / fixed[1].secs,
           fabs(fixed[1].lower_bound - fixed[0].lower_bound) / fabs(fixed[0].lower_bound));
    if (converge) {
        for (int p = 0; p < 2; p++) {
            printf("\n== %s precision to convergence (tol 1e-3, at most 1000 iterations)\n",
                   names[p]);
            conv[p] = run_fit(init, X, N, d, K, precisions[p], 1000, 1e-3, threads, skip, false);
        }
        printf("\nto convergence: double %d iterations, single %d (%+.1f%%); final lower bounds "
               "%.10f and %.10f, %.2e relative\n",
               conv[0].n_iter, conv[1].n_iter,
               100.0 * (conv[1].n_iter - conv[0].n_iter) / conv[0].n_iter, conv[0].lower_bound,
               conv[1].lower_bound,
               fabs(conv[1].lower_bound - conv[0].lower_bound) / fabs(conv[0].lower_bound));
    }
    gmmp_model_destroy(init);
    gmmp_extractor_destroy(ex);
    free(X);
    return 0;
}
