/*
 * gmmp-denoise: removes Gaussian noise from images with a patch prior.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gmmprior.h"
#include "imageio.h"
#include "restore.h"

static const char *prog = "gmmp-denoise";

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gmmp-denoise --model MODEL --sigma S [options] INPUT OUTPUT\n"
            "Denoises every image of INPUT (an IDX file, gzip-compressed or not, or a PGM)\n"
            "with a patch prior: every overlapping patch gets its posterior estimate, and\n"
            "the estimates are averaged. OUTPUT has INPUT's kind (IDX output holds doubles;\n"
            "a name ending in .gz is compressed).\n"
            "\n"
            "  --model MODEL          model file from gmmp-train (required)\n"
            "  --sigma S              noise standard deviation, in pixel units (required)\n"
            "  --estimator mmse|map   posterior mean, or most responsible component (mmse)\n"
            "  --patch M              M x M patches: only for a model that does not say its\n"
            "                         patch size (a version 1 file); otherwise must agree\n"
            "  --remove-mean          the model was trained with --remove-mean: as --patch\n"
            "  --clean REFERENCE      print the mean PSNR against these clean images\n"
            "  --peak P               peak value for PSNR (default 255)\n"
            "  --threads N            threads (default: all cores; with more than one,\n"
            "                         OpenBLAS is kept single-threaded while they run)\n"
            "  -h, --help             this help\n"
            "\n"
            "The patch size and mean removal come from the model (gmmp-train stores them).\n");
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *model_path = NULL, *clean_path = NULL;
    double sigma = -1.0, peak = 255.0;
    int64_t threads = cores > 0 ? cores : 1, patch = 0;
    int map = 0, remove_mean = -1, bad = 0, c;
    enum { MODEL = 256, SIGMA, EST, RMEAN, CLEAN, PEAK, THREADS, PATCH };
    static const struct option longopts[] = {
        {"model", required_argument, 0, MODEL},     {"sigma", required_argument, 0, SIGMA},
        {"estimator", required_argument, 0, EST},   {"remove-mean", no_argument, 0, RMEAN},
        {"clean", required_argument, 0, CLEAN},     {"peak", required_argument, 0, PEAK},
        {"threads", required_argument, 0, THREADS}, {"help", no_argument, 0, 'h'},
        {"patch", required_argument, 0, PATCH},     {0, 0, 0, 0}};
    while (!bad && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case MODEL: model_path = optarg; break;
        case SIGMA: bad = cli_real(prog, "sigma", optarg, 1e-300, 1e300, &sigma); break;
        case PEAK: bad = cli_real(prog, "peak", optarg, 1e-300, 1e300, &peak); break;
        case THREADS: bad = cli_int(prog, "threads", optarg, 1, 256, &threads); break;
        case PATCH: bad = cli_int(prog, "patch", optarg, 1, 4096, &patch); break;
        case CLEAN: clean_path = optarg; break;
        case RMEAN: remove_mean = 1; break;
        case EST:
            if (strcmp(optarg, "mmse") == 0 || strcmp(optarg, "map") == 0) {
                map = strcmp(optarg, "map") == 0;
            } else {
                fprintf(stderr, "%s: bad value '%s' for --estimator: expected mmse or map\n",
                        prog, optarg);
                bad = 1;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: bad = 1; break;
        }
    }
    if (bad)
        return 2;
    if (!model_path || sigma <= 0.0 || argc - optind != 2) {
        fprintf(stderr, "%s: %s\n", prog,
                !model_path ? "--model is required"
                : sigma <= 0.0 ? "--sigma is required"
                               : "expected INPUT and OUTPUT");
        usage(stderr);
        return 2;
    }
    const char *in_path = argv[optind], *out_path = argv[optind + 1];
    gmmp_model *model = NULL;
    char err[512];
    gmmpio_stack noisy = {0}, clean = {0}, out = {0};
    enum gmmpio_kind kind;
    int status = 1;
    if (gmmp_model_load(&model, model_path)) {
        fprintf(stderr, "%s: %s\n", prog, gmmp_last_error());
        goto done;
    }
    if (gmmpio_read_images(in_path, &noisy, &kind, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (restore_model_patch(model, (size_t)patch, remove_mean, noisy.rows, noisy.cols, 1, in_path,
                            err, sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, model_path, err);
        goto done;
    }
    restore_options ro = {sigma, (unsigned)threads};
    if (restore_denoise(model, &ro, &noisy, map ? &out : NULL, map ? NULL : &out, err,
                        sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, in_path, err);
        goto done;
    }
    if (gmmpio_write_images(out_path, &out, kind, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (clean_path) {
        if (gmmpio_read_images(clean_path, &clean, NULL, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", prog, err);
            goto done;
        }
        if (clean.count != noisy.count || clean.rows != noisy.rows || clean.cols != noisy.cols) {
            fprintf(stderr, "%s: %s holds %zu images of %zux%zu, the input %zu of %zux%zu\n",
                    prog, clean_path, clean.count, clean.rows, clean.cols, noisy.count,
                    noisy.rows, noisy.cols);
            goto done;
        }
        printf("mean PSNR over %zu images: noisy %.3f dB, denoised (%s) %.3f dB\n", clean.count,
               restore_mean_psnr(&noisy, &clean, peak), map ? "MAP" : "MMSE",
               restore_mean_psnr(&out, &clean, peak));
    }
    status = 0;
done:
    gmmpio_stack_free(&clean);
    gmmpio_stack_free(&noisy);
    gmmpio_stack_free(&out);
    gmmp_model_destroy(model);
    return status;
}
