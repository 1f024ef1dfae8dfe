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

#include "blas_threads.h"
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
            "                         OpenBLAS runs single-threaded)\n"
            "  --precision P          double (default) or single: the heavy products in\n"
            "                         float where that is accurate enough (about 1.8x faster)\n"
            "  --max-elements N       refuse inputs of more pixels than N (default 2^27)\n"
            "  --version              print the version\n"
            "  -h, --help             this help\n"
            "\n"
            "The patch size and mean removal come from the model (gmmp-train stores them).\n"
            "Inputs: IDX (3-dimensional), PGM (8 or 16-bit; the output keeps the input's\n"
            "maxval, the default --peak is that maxval) or 8-bit grayscale PNG. Pixel\n"
            "values must be finite and within +-1e30. OUTPUT is replaced atomically.\n"
            "Usage errors exit with status 2.\n");
}

int main(int argc, char **argv)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *model_path = NULL, *clean_path = NULL;
    double sigma = -1.0, peak = 255.0;
    int64_t threads = cores > 0 ? cores : 1, patch = 0;
    int64_t max_elements = (int64_t)GMMPIO_DEFAULT_MAX_ELEMENTS;
    int map = 0, remove_mean = -1, bad = 0, peak_given = 0, precision = 0, c;
    static const char *const estimators[] = {"mmse", "map", NULL};
    enum { MODEL = 256, SIGMA, EST, RMEAN, CLEAN, PEAK, THREADS, PATCH, MAXEL, PREC };
    static const struct option longopts[] = {
        {"model", required_argument, 0, MODEL},     {"sigma", required_argument, 0, SIGMA},
        {"estimator", required_argument, 0, EST},   {"remove-mean", no_argument, 0, RMEAN},
        {"clean", required_argument, 0, CLEAN},     {"peak", required_argument, 0, PEAK},
        {"threads", required_argument, 0, THREADS}, {"max-elements", required_argument, 0, MAXEL},
        {"precision", required_argument, 0, PREC},
        {"patch", required_argument, 0, PATCH},     {"help", no_argument, 0, 'h'},             {"version", no_argument, 0, 'V'},
        {0, 0, 0, 0}};
    while (!bad && (c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case MODEL: model_path = optarg; break;
        case SIGMA:
            bad = cli_real(prog, "sigma", optarg, CLI_SIGMA_MIN, CLI_SIGMA_MAX, &sigma);
            break;
        case PEAK:
            bad = cli_real(prog, "peak", optarg, CLI_PEAK_MIN, CLI_PEAK_MAX, &peak);
            peak_given = 1;
            break;
        case THREADS: bad = cli_int(prog, "threads", optarg, 1, 256, &threads); break;
        case PREC: bad = cli_choice(prog, "precision", optarg, cli_precisions, &precision); break;
        case PATCH: bad = cli_int(prog, "patch", optarg, 1, 4096, &patch); break;
        case MAXEL:
            bad = cli_int(prog, "max-elements", optarg, 1, GMMPIO_MAX_ELEMENTS, &max_elements);
            break;
        case CLEAN: clean_path = optarg; break;
        case RMEAN: remove_mean = 1; break;
        case EST: bad = cli_choice(prog, "estimator", optarg, estimators, &map); break;
        case 'h': usage(stdout); return 0;
        case 'V': return cli_print_version(prog);
        default: bad = 1; break;
        }
    }
    if (bad)
        return CLI_USAGE;
    if (!model_path || sigma <= 0.0 || argc - optind != 2) {
        fprintf(stderr, "%s: %s\n", prog,
                !model_path ? "--model is required"
                : sigma <= 0.0 ? "--sigma is required"
                               : "expected INPUT and OUTPUT");
        usage(stderr);
        return CLI_USAGE;
    }
    const char *in_path = argv[optind], *out_path = argv[optind + 1];
    if (clean_path && cli_same_file(clean_path, out_path))
        return cli_usage_error(prog, "--clean %s is the output file: it would be compared with "
                                     "itself",
                               clean_path);
    if (cli_same_file(model_path, out_path))
        return cli_usage_error(prog, "the output %s is the model file: it would be replaced by "
                                     "images",
                               out_path);
    gmmpio_set_max_elements((size_t)max_elements);
    if (threads > 1)
        blas_threads_single(); /* blas_threads.h says why */
    gmmp_model *model = NULL;
    char err[600];
    gmmpio_stack noisy = {0}, clean = {0}, out = {0};
    enum gmmpio_kind kind;
    int status = 1;
    if (gmmpio_atomic_check(out_path, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (gmmp_model_load(&model, model_path)) {
        fprintf(stderr, "%s: %s\n", prog, gmmp_last_error());
        goto done;
    }
    if (gmmpio_read_images(in_path, &noisy, &kind, err, sizeof err) ||
        gmmpio_check_values(&noisy, CLI_VALUE_LIMIT, in_path, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (restore_model_patch(model, (size_t)patch, remove_mean, noisy.rows, noisy.cols, 1, in_path,
                            err, sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, model_path, err);
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
    }
    if (!peak_given && noisy.maxval)
        peak = noisy.maxval; /* a PGM's own scale */
    restore_options ro = {sigma, (unsigned)threads, precision};
    if (restore_denoise(model, &ro, &noisy, map ? &out : NULL, map ? NULL : &out, err,
                        sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, in_path, err);
        goto done;
    }
    out.maxval = noisy.maxval; /* a 16-bit PGM stays 16-bit */
    if (gmmpio_check_values(&out, CLI_VALUE_LIMIT * 1e3, out_path, err, sizeof err) ||
        gmmpio_write_images(out_path, &out, kind, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (clean_path)
        printf("mean PSNR over %zu images: noisy %.3f dB, denoised (%s) %.3f dB\n", clean.count,
               restore_mean_psnr(&noisy, &clean, peak), map ? "MAP" : "MMSE",
               restore_mean_psnr(&out, &clean, peak));
    status = cli_flush_stdout(prog) ? 1 : 0;
done:
    gmmpio_stack_free(&clean);
    gmmpio_stack_free(&noisy);
    gmmpio_stack_free(&out);
    gmmp_model_destroy(model);
    return status;
}
