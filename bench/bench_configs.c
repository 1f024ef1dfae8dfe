/*
 * Denoising quality and speed across configurations, for the guide's
 * tables: patch size, number of components K and the estimator (MAP or
 * MMSE), on MNIST at sigma = 20 (noise clipped to 0..255 as in the demo).
 * Each configuration trains on 40,000 random training patches (seeded),
 * then denoises the 1,000 test digits.
 *
 * Usage: bench_configs [THREADS]
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "benchutil.h"
#include "gmmprior.h"
#include "imageio.h"
#include "restore.h"

static gmmp_model *train(const gmmpio_stack *digits, size_t m, size_t K, unsigned threads,
                         size_t n, double *secs, int *iters)
{
    gmmp_extractor *ex;
    size_t per, d = m * m;
    gmmp_extractor_create(&ex, m, m, 1, 1);
    gmmp_extractor_count(ex, 28, 28, &per);
    size_t total = digits->count * per;
    double *X = malloc(n * d * sizeof *X);
    uint64_t s = 99;
    for (size_t i = 0; i < n; i++) { /* patches drawn with replacement, seeded */
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t pick = (size_t)((s >> 33) % total);
        gmmp_extractor_extract(ex, digits->pixels + (pick / per) * 784, 28, 28, 28, pick % per,
                               1, X + i * d, NULL);
    }
    gmmp_extractor_destroy(ex);
    gmmp_trainer *t;
    gmmp_model *model = NULL;
    gmmp_fit_info info;
    gmmp_options *opt = NULL;
    if (gmmp_options_create(&opt) || gmmp_options_set_int(opt, GMMP_OPT_SEED, 1) ||
        gmmp_options_set_int(opt, GMMP_OPT_THREADS, threads) ||
        gmmp_options_set_int(opt, GMMP_OPT_BLAS_SERIAL, threads > 1) ||
        gmmp_trainer_create(&t, K, opt)) {
        fprintf(stderr, "trainer: %s\n", gmmp_last_error());
        exit(1);
    }
    gmmp_options_destroy(opt);
    double t0 = bench_now();
    if (gmmp_trainer_fit(t, X, n, d, &model, &info)) {
        fprintf(stderr, "training failed: %s\n", gmmp_last_error());
        exit(1);
    }
    *secs = bench_now() - t0;
    *iters = info.n_iter;
    gmmp_trainer_destroy(t);
    free(X);
    return model;
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : (unsigned)(cores > 0 ? cores : 1);
    bench_print_machine();
    gmmpio_stack train_set = {8500, 28, 28, bench_load_digits("train", 8500), 0, 1};
    gmmpio_stack clean = {1000, 28, 28, bench_load_digits("t10k", 1000), 0, 1}, noisy;
    gmmpio_stack_alloc(&noisy, 1000, 28, 28);
    memcpy(noisy.pixels, clean.pixels, 1000 * 784 * sizeof(double));
    restore_add_noise(&noisy, 20.0, 20, 0.0, 255.0);
    printf("MNIST, sigma = 20 (clipped), 1,000 test digits, noisy PSNR %.2f dB; "
           "training on 40,000 patches; %u threads\n\n",
           restore_mean_psnr(&noisy, &clean, 255.0), threads);
    printf("| patch | K | train s | EM iters | MAP dB | MMSE dB | denoise s | images/s |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    const size_t configs[][2] = {{8, 11}, {12, 11}, {16, 11}, {16, 5}, {16, 20}, {8, 20}};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        size_t m = configs[c][0], K = configs[c][1];
        double t_train;
        int iters;
        gmmp_model *model = train(&train_set, m, K, threads, 40000, &t_train, &iters);
        gmmpio_stack map, mmse;
        char err[256];
        if (gmmp_model_set_patch(model, m, m, 1, 0)) {
            fprintf(stderr, "%s\n", gmmp_last_error());
            return 1;
        }
        restore_options ro = {20.0, threads, GMMP_PRECISION_DOUBLE};
        double t0 = bench_now();
        if (restore_denoise(model, &ro, &noisy, &map, &mmse, err, sizeof err)) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        double t_den = bench_now() - t0;
        printf("| %zux%zu | %zu | %.1f | %d | %.2f | %.2f | %.2f | %.0f |\n", m, m, K, t_train,
               iters, restore_mean_psnr(&map, &clean, 255.0),
               restore_mean_psnr(&mmse, &clean, 255.0), t_den, 1000.0 / t_den);
        fflush(stdout);
        gmmpio_stack_free(&map);
        gmmpio_stack_free(&mmse);
        gmmp_model_destroy(model);
    }
    return 0;
}
