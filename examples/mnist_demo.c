/*
 * The main job: MNIST denoising with a Gaussian-mixture patch prior, the
 * original report's configuration (K = 11 components, 16x16 patches).
 *
 * Trains on a random subset of the patches of the 8,500 shipped training
 * digits (or loads the cached model from an earlier run), adds Gaussian
 * noise with sigma = 20 (on 0..255, fixed seed) to the 1,000 test digits,
 * denoises them with the MAP and MMSE estimators, prints mean PSNR and
 * timings, writes a figure, and ends with one machine-readable line:
 *
 *   RESULT noisy_psnr=... map_psnr=... mmse_psnr=... images=1000
 *
 * Only the public API is used: this is how a downstream program builds a
 * denoiser from the library's parts.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "gmmprior.h"
#include "imageio.h"
#include "restore.h"

#ifndef GMMP_DATA_DIR
#define GMMP_DATA_DIR "data"
#endif

typedef struct config {
    const char *data, *cache, *figure;
    size_t train_patches;
    unsigned threads;
    double sigma;
    int retrain;
    int precision; /* a gmmp_precision, for training and denoising */
} config;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gmmp-mnist-demo [options]\n"
            "  --data DIR            MNIST directory (default %s/mnist)\n"
            "  --cache FILE          trained model, reused if present (default "
            "gmmp-mnist-k11-p16.gmmp)\n"
            "  --retrain             train even if the cache exists\n"
            "  --train-patches N     random training patches (default 40000)\n"
            "  --threads N           threads (default: all cores)\n"
            "  --precision P         double (default) or single: the heavy products of\n"
            "                        training and denoising in float where accurate enough\n"
            "  --figure FILE         PNG figure (default mnist-denoise.png)\n",
            GMMP_DATA_DIR);
}

static int on_progress(const gmmp_progress *p, void *payload)
{
    (void)payload;
    if (p->phase == GMMP_PHASE_EM && (p->iteration == 1 || p->iteration % 10 == 0))
        fprintf(stderr, "  EM iteration %3d: mean log-likelihood %.4f (change %.2e), %.1f s\n",
                p->iteration, p->mean_loglik, p->change, p->seconds);
    return 0;
}

/* Digits of any size of at least 16x16 (16x16 patches), finite values. */
static gmmpio_stack load_digits(const config *c, const char *name)
{
    char path[1024], err[600];
    if (snprintf(path, sizeof path, "%s/%s-images-idx3-ubyte.gz", c->data, name) >=
        (int)sizeof path) {
        fprintf(stderr, "gmmp-mnist-demo: --data %s: name too long\n", c->data);
        exit(1);
    }
    gmmpio_stack s;
    if (gmmpio_read_images(path, &s, NULL, err, sizeof err) ||
        gmmpio_check_values(&s, CLI_VALUE_LIMIT, path, err, sizeof err)) {
        fprintf(stderr, "gmmp-mnist-demo: %s\n", err);
        exit(1);
    }
    if (s.rows < 16 || s.cols < 16) {
        fprintf(stderr, "gmmp-mnist-demo: %s: images of %zux%zu are smaller than the 16x16 "
                        "patches\n",
                path, s.rows, s.cols);
        exit(1);
    }
    return s;
}

/* Trains the K = 11, 16x16 model on a seeded random subset of patches. */
static gmmp_model *train(const config *c, double *seconds)
{
    gmmpio_stack digits = load_digits(c, "train");
    const size_t m = 16, d = m * m;
    gmmp_extractor *ex;
    size_t per;
    const size_t rows = digits.rows, cols = digits.cols;
    if (gmmp_extractor_create(&ex, m, m, 1, 1) || gmmp_extractor_count(ex, rows, cols, &per)) {
        fprintf(stderr, "%s\n", gmmp_last_error());
        exit(1);
    }
    size_t total = digits.count * per, n = c->train_patches < total ? c->train_patches : total;
    if (n < 11) {
        fprintf(stderr, "gmmp-mnist-demo: %zu training patches cannot train 11 components\n", n);
        exit(1);
    }
    double *X = malloc(n * d * sizeof *X);
    size_t *order = malloc(total * sizeof *order);
    if (!X || !order) {
        fprintf(stderr, "out of memory for %zu training patches\n", n);
        exit(1);
    }
    /* Every patch is equally likely (a Floyd-free draw with replacement
     * would repeat some; this walks a random permutation's prefix). */
    uint64_t s = 2011;
    for (size_t i = 0; i < total; i++)
        order[i] = i;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = i + (size_t)((s >> 33) % (total - i));
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
        size_t img = order[i] / per, idx = order[i] % per;
        gmmp_extractor_extract(ex, digits.pixels + img * rows * cols, rows, cols, cols, idx, 1,
                               X + i * d, NULL);
    }
    free(order);
    gmmpio_stack_free(&digits);
    gmmp_extractor_destroy(ex);

    printf("training: K = 11, 16x16 patches, %zu of the %zu patches of the training digits, "
           "%u threads\n",
           n, total, c->threads);
    gmmp_trainer *t;
    gmmp_model *model;
    gmmp_fit_info info;
    gmmp_options *opt = restore_threads_options(c->threads);
    char description[256];
    snprintf(description, sizeof description,
             "gmmp-mnist-demo: K = 11, 16x16 patches, %zu random patches of the %zu "
             "training digits (seed 2011), EM seed 1",
             n, total / per);
    double t0 = now();
    if (!opt || gmmp_options_set_int(opt, GMMP_OPT_SEED, 1) ||
        gmmp_options_set_int(opt, GMMP_OPT_PRECISION, c->precision) ||
        gmmp_options_set_progress(opt, on_progress, NULL) || gmmp_trainer_create(&t, 11, opt) ||
        gmmp_trainer_fit(t, X, n, d, &model, &info) ||
        /* The model says what it is a prior for: 16x16 grey patches, means kept. */
        gmmp_model_set_patch(model, m, m, 1, 0) ||
        gmmp_model_set_description(model, description)) {
        fprintf(stderr, "training failed: %s\n", gmmp_last_error());
        exit(1);
    }
    gmmp_options_destroy(opt);
    *seconds = now() - t0;
    printf("  %d EM iterations, %s, mean log-likelihood %.4f, %.1f s\n", info.n_iter,
           info.converged ? "converged" : "not converged", info.mean_loglik, *seconds);
    gmmp_trainer_destroy(t);
    free(X);
    return model;
}

/* Up to five digits: original, noisy, MAP and MMSE side by side, 4x
 * enlarged. Returns 0, or -1 after saying why. */
static int write_figure(const char *path, const gmmpio_stack *cols[4])
{
    const size_t shown = cols[0]->count < 5 ? cols[0]->count : 5, zoom = 4, gap = 8;
    const size_t ih = cols[0]->rows, iw = cols[0]->cols, ch = ih * zoom, cw = iw * zoom;
    size_t W = 4 * cw + 3 * gap, H = shown * ch + (shown - 1) * gap;
    double *fig = malloc(W * H * sizeof *fig);
    if (!fig) {
        fprintf(stderr, "gmmp-mnist-demo: figure %s: out of memory\n", path);
        return -1;
    }
    for (size_t i = 0; i < W * H; i++)
        fig[i] = 255.0;
    for (size_t r = 0; r < shown; r++)
        for (size_t c = 0; c < 4; c++) {
            const double *src = cols[c]->pixels + r * ih * iw;
            for (size_t y = 0; y < ch; y++)
                for (size_t x = 0; x < cw; x++)
                    fig[(r * (ch + gap) + y) * W + c * (cw + gap) + x] =
                        255.0 - src[(y / zoom) * iw + x / zoom]; /* dark digits on white */
        }
    char err[600];
    int rc = gmmpio_png_write(path, fig, H, W, err, sizeof err);
    if (rc)
        fprintf(stderr, "gmmp-mnist-demo: figure: %s\n", err);
    else
        printf("figure: %s (rows: %zu test digits; columns: original, noisy, MAP, MMSE)\n", path,
               shown);
    free(fig);
    return rc;
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    static const char *prog = "gmmp-mnist-demo";
    config c = {GMMP_DATA_DIR "/mnist", "gmmp-mnist-k11-p16.gmmp", "mnist-denoise.png",
                40000, cores > 0 ? (unsigned)cores : 1, 20.0, 0, GMMP_PRECISION_DOUBLE};
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                          {"cache", required_argument, 0, 'c'},
                                          {"retrain", no_argument, 0, 'r'},
                                          {"train-patches", required_argument, 0, 'n'},
                                          {"threads", required_argument, 0, 't'},
                                          {"precision", required_argument, 0, 'p'},
                                          {"figure", required_argument, 0, 'f'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};
    int opt, bad = 0;
    int64_t v = 0;
    while (!bad && (opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'd': c.data = optarg; break;
        case 'c': c.cache = optarg; break;
        case 'r': c.retrain = 1; break;
        case 'f': c.figure = optarg; break;
        case 'n':
            bad = cli_int(prog, "train-patches", optarg, 11, 100000000, &v);
            c.train_patches = (size_t)v;
            break;
        case 't':
            bad = cli_int(prog, "threads", optarg, 1, 256, &v);
            c.threads = (unsigned)v;
            break;
        case 'p': bad = cli_choice(prog, "precision", optarg, cli_precisions, &c.precision); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (bad)
        return CLI_USAGE;
    if (optind != argc) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (cli_same_file(c.cache, c.figure))
        return cli_usage_error(prog, "--cache and --figure name the same file");
    /* Outputs writable, and a cache that is not ours left alone: checked
     * before the long work. */
    char err[600];
    if (gmmpio_atomic_check(c.figure, err, sizeof err) ||
        gmmpio_atomic_check(c.cache, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return 1;
    }
    gmmp_model *model = NULL;
    int cached = 0;
    if (access(c.cache, F_OK) == 0) {
        if (gmmp_model_load(&model, c.cache) != GMMP_OK) {
            fprintf(stderr, "%s: --cache %s exists but is not a model (%s); not overwriting it: "
                            "remove it or choose another --cache\n",
                    prog, c.cache, gmmp_last_error());
            return 1;
        }
        if (gmmp_model_components(model) != 11 || gmmp_model_dim(model) != 256) {
            fprintf(stderr, "%s: --cache %s holds another model (K = %zu, d = %zu, not K = 11, "
                            "d = 256); not overwriting it: remove it or choose another --cache\n",
                    prog, c.cache, gmmp_model_components(model), gmmp_model_dim(model));
            gmmp_model_destroy(model);
            return 1;
        }
        /* It must be this demo's prior: 16x16 patches of one channel, means
         * kept (a version 1 cache, which does not say, is given that). */
        if (restore_model_patch(model, 16, 0, 16, 16, 1, "the MNIST digits", err, sizeof err)) {
            fprintf(stderr, "%s: --cache %s holds another model (%s); not overwriting it: "
                            "remove it or choose another --cache\n",
                    prog, c.cache, err);
            gmmp_model_destroy(model);
            return 1;
        }
        cached = !c.retrain;
    }
    printf("libgmmprior %s: MNIST denoising demo (K = 11, 16x16 patches, sigma = %g)\n",
           gmmp_version_string(), c.sigma);

    double t_train = 0.0;
    if (cached) {
        printf("training: skipped, model loaded from %s (delete it or pass --retrain to "
               "train again)\n",
               c.cache);
    } else {
        gmmp_model_destroy(model);
        model = train(&c, &t_train);
        if (gmmp_model_save(model, c.cache) == GMMP_OK) {
            printf("  model cached in %s: the next run skips training\n", c.cache);
        } else {
            fprintf(stderr, "%s: could not cache the model: %s\n", prog, gmmp_last_error());
            return 1;
        }
    }

    gmmpio_stack clean = load_digits(&c, "t10k"), noisy, map, mmse;
    const size_t pixels = clean.rows * clean.cols;
    if (gmmpio_stack_alloc(&noisy, clean.count, clean.rows, clean.cols)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    memcpy(noisy.pixels, clean.pixels, clean.count * pixels * sizeof(double));
    /* Noisy digits are stored as images are, on 0..255: clipped. */
    restore_add_noise(&noisy, c.sigma, 20, 0.0, 255.0);
    double t0 = now();
    restore_options ro = {c.sigma, c.threads, c.precision};
    if (restore_denoise(model, &ro, &noisy, &map, &mmse, err, sizeof err)) {
        fprintf(stderr, "denoising failed: %s\n", err);
        return 1;
    }
    double t_denoise = now() - t0;
    double p_noisy = restore_mean_psnr(&noisy, &clean, 255.0);
    double p_map = restore_mean_psnr(&map, &clean, 255.0);
    double p_mmse = restore_mean_psnr(&mmse, &clean, 255.0);
    printf("\ndenoising %zu test digits (all %zu overlapping 16x16 patches each, MAP and MMSE "
           "passes, one plan): %.2f s, %.0f images/s\n\n",
           clean.count, (clean.rows - 15) * (clean.cols - 15), t_denoise,
           (double)clean.count / t_denoise);
    printf("  %-28s %9s\n", "", "PSNR (dB)");
    printf("  %-28s %9.3f\n", "noisy input", p_noisy);
    printf("  %-28s %9.3f\n", "MAP (most responsible comp.)", p_map);
    printf("  %-28s %9.3f\n", "MMSE (posterior mean)", p_mmse);
    printf("\n  time: training %.1f s%s, denoising %.2f s\n", t_train,
           t_train == 0.0 ? " (cached)" : "", t_denoise);
    const gmmpio_stack *cols[4] = {&clean, &noisy, &map, &mmse};
    if (write_figure(c.figure, cols))
        return 1;
    printf("RESULT noisy_psnr=%.2f map_psnr=%.2f mmse_psnr=%.2f images=%zu\n", p_noisy, p_map,
           p_mmse, clean.count);
    gmmpio_stack_free(&clean);
    gmmpio_stack_free(&noisy);
    gmmpio_stack_free(&map);
    gmmpio_stack_free(&mmse);
    gmmp_model_destroy(model);
    return cli_flush_stdout(prog) ? 1 : 0;
}
