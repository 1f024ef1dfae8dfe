/*
 * gmmp-epll: whole-image restoration with a patch prior by EPLL (Zoran and
 * Weiss, 2011), built from the library's parts (examples/common/epll.c):
 * denoising, and inpainting of missing pixels.
 *
 *   gmmp-epll --model M --sigma S [options] INPUT OUTPUT
 *
 * INPUT is an IDX stack (every image restored) or a PGM. With --simulate,
 * INPUT holds clean images: noise (and with --missing or --scratches,
 * missing pixels) is added here, seeded, and the PSNR of the degraded and
 * restored images against the clean ones is printed.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "epll.h"
#include "imageio.h"
#include "restore.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gmmp-epll --model MODEL --sigma S [options] INPUT OUTPUT\n"
            "  --steps N              half-quadratic steps, beta = 1, 4, 8, 16, 32, 64, ...\n"
            "                         times 1/sigma^2 (default 5, the paper's schedule)\n"
            "  --estimator map|mmse   patch estimate (default map, as EPLL)\n"
            "  --patch M              M x M patches: only for a model that does not say its\n"
            "                         patch size (a version 1 file); otherwise must agree\n"
            "  --remove-mean          the model is on zero-mean patches: as --patch\n"
            "  --grid S               jittered grid of step S instead of every patch (fast EPLL)\n"
            "  --threads N            threads (default: all cores; with more than one,\n"
            "                         OpenBLAS is kept single-threaded while they run)\n"
            "  --simulate             INPUT is clean: add noise (seed --seed), restore, print PSNR\n"
            "  --missing F            with --simulate: remove a fraction F of the pixels\n"
            "  --scratches            with --simulate: remove pixels under random scratches\n"
            "  --seed N               seed of the simulation and the jitter (default 1)\n"
            "  --peak P               peak value for PSNR (default 255)\n"
            "  --clip                 with --simulate: clip the noisy values to 0..peak\n"
            "  --degraded FILE        with --simulate: also write the degraded input\n"
            "  --clean REFERENCE      without --simulate: print PSNR against these images\n"
            "  --max-elements N       refuse inputs of more pixels than N (default 2^27)\n"
            "The patch size and mean removal come from the model (gmmp-train stores them).\n"
            "Inputs: IDX (3-dimensional), PGM (8 or 16-bit; outputs keep the maxval, the\n"
            "default --peak is that maxval) or 8-bit grayscale PNG; pixel values finite\n"
            "and within +-1e30. Outputs are replaced atomically. Usage errors exit 2.\n");
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Thick random line segments, like scratches or strokes of text. */
static void scratch_mask(unsigned char *mask, size_t h, size_t w, uint64_t *rng)
{
    size_t lines = 3 + (h * w) / 4000;
    for (size_t l = 0; l < lines; l++) {
        double y0 = (double)(util_next_random(rng) % h), x0 = (double)(util_next_random(rng) % w);
        double angle = (double)(util_next_random(rng) % 6283) / 1000.0;
        double len = (double)(h < w ? h : w) * (0.3 + (double)(util_next_random(rng) % 50) / 100.0);
        for (double t = 0; t < len; t += 0.5)
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    long yy = lround(y0 + t * sin(angle)) + dy, xx = lround(x0 + t * cos(angle)) + dx;
                    if (yy >= 0 && xx >= 0 && (size_t)yy < h && (size_t)xx < w)
                        mask[(size_t)yy * w + (size_t)xx] = 0;
                }
    }
}

int main(int argc, char **argv)
{
    static const char *prog = "gmmp-epll";
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *model_path = NULL, *degraded_path = NULL, *clean_path = NULL;
    double sigma = -1.0, missing = 0.0, peak = 255.0;
    size_t steps = 5, grid = 1, patch = 0;
    int mmse = 0, remove_mean = -1, simulate = 0, scratches = 0, clip = 0, peak_given = 0;
    int64_t threads = cores > 0 ? cores : 1, v = 0, max_elements = (int64_t)GMMPIO_DEFAULT_MAX_ELEMENTS;
    uint64_t seed = 1;
    static const char *const estimators[] = {"map", "mmse", NULL};
    enum { MODEL = 256, SIGMA, SCHED, EST, RMEAN, GRID, THREADS, SIM, MISS, SCR, SEED, PEAK, DEG,
           CLIP, CLEAN, PATCH, MAXEL };
    static const struct option opts[] = {
        {"model", 1, 0, MODEL}, {"sigma", 1, 0, SIGMA}, {"steps", 1, 0, SCHED},
        {"estimator", 1, 0, EST}, {"remove-mean", 0, 0, RMEAN}, {"grid", 1, 0, GRID},
        {"threads", 1, 0, THREADS}, {"simulate", 0, 0, SIM}, {"missing", 1, 0, MISS},
        {"scratches", 0, 0, SCR}, {"seed", 1, 0, SEED}, {"peak", 1, 0, PEAK},
        {"degraded", 1, 0, DEG}, {"clip", 0, 0, CLIP}, {"clean", 1, 0, CLEAN},
        {"patch", 1, 0, PATCH}, {"max-elements", 1, 0, MAXEL}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c, bad = 0;
    while (!bad && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case MODEL: model_path = optarg; break;
        case SIGMA:
            bad = cli_real(prog, "sigma", optarg, CLI_SIGMA_MIN, CLI_SIGMA_MAX, &sigma);
            break;
        case SCHED:
            bad = cli_int(prog, "steps", optarg, 1, 64, &v);
            steps = (size_t)v;
            break;
        case EST: bad = cli_choice(prog, "estimator", optarg, estimators, &mmse); break;
        case RMEAN: remove_mean = 1; break;
        case GRID:
            bad = cli_int(prog, "grid", optarg, 1, 1024, &v);
            grid = (size_t)v;
            break;
        case PATCH:
            bad = cli_int(prog, "patch", optarg, 1, 4096, &v);
            patch = (size_t)v;
            break;
        case THREADS: bad = cli_int(prog, "threads", optarg, 1, 256, &threads); break;
        case SIM: simulate = 1; break;
        case MISS: bad = cli_real(prog, "missing", optarg, 0.0, 0.99, &missing); break;
        case SCR: scratches = 1; break;
        case SEED:
            bad = cli_int(prog, "seed", optarg, 0, INT64_MAX, &v);
            seed = (uint64_t)v;
            break;
        case PEAK:
            bad = cli_real(prog, "peak", optarg, CLI_PEAK_MIN, CLI_PEAK_MAX, &peak);
            peak_given = 1;
            break;
        case DEG: degraded_path = optarg; break;
        case CLIP: clip = 1; break;
        case CLEAN: clean_path = optarg; break;
        case MAXEL:
            bad = cli_int(prog, "max-elements", optarg, 1, GMMPIO_MAX_ELEMENTS, &max_elements);
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (bad)
        return CLI_USAGE;
    if (!model_path || !(sigma > 0) || argc - optind != 2) {
        fprintf(stderr, "%s: %s\n", prog,
                !model_path ? "--model is required"
                : !(sigma > 0) ? "--sigma is required"
                               : "expected INPUT and OUTPUT");
        usage(stderr);
        return CLI_USAGE;
    }
    if ((missing > 0 || scratches || clip || degraded_path) && !simulate)
        return cli_usage_error(prog, "--missing, --scratches, --clip and --degraded need "
                                     "--simulate");
    if (clean_path && simulate)
        return cli_usage_error(prog, "--clean does not apply with --simulate (INPUT is the "
                                     "clean reference)");
    const char *in_path = argv[optind], *out_path = argv[optind + 1];
    if (clean_path && cli_same_file(clean_path, out_path))
        return cli_usage_error(prog, "--clean %s is the output file: it would be compared with "
                                     "itself",
                               clean_path);
    if (degraded_path && cli_same_file(degraded_path, out_path))
        return cli_usage_error(prog, "--degraded and OUTPUT name the same file");
    if (simulate && (cli_same_file(in_path, out_path) ||
                     (degraded_path && cli_same_file(in_path, degraded_path))))
        return cli_usage_error(prog, "with --simulate INPUT is the clean reference: OUTPUT and "
                                     "--degraded must not replace it");
    if (cli_same_file(model_path, out_path))
        return cli_usage_error(prog, "the output %s is the model file: it would be replaced by "
                                     "images",
                               out_path);
    gmmpio_set_max_elements((size_t)max_elements);
    gmmp_model *model = NULL;
    gmmpio_stack in = {0}, degraded = {0}, out = {0}, clean = {0};
    unsigned char *mask = NULL;
    char err[600];
    int status = 1;
    enum gmmpio_kind kind;
    if (gmmpio_atomic_check(out_path, err, sizeof err) ||
        (degraded_path && gmmpio_atomic_check(degraded_path, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (gmmp_model_load(&model, model_path)) {
        fprintf(stderr, "%s: %s\n", prog, gmmp_last_error());
        goto done;
    }
    if (gmmpio_read_images(in_path, &in, &kind, err, sizeof err) ||
        gmmpio_check_values(&in, CLI_VALUE_LIMIT, in_path, err, sizeof err)) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    if (restore_model_patch(model, patch, remove_mean, in.rows, in.cols, 1, in_path, err,
                            sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, model_path, err);
        goto done;
    }
    gmmp_model_patch(model, NULL, NULL, NULL, &remove_mean);
    if (clean_path) {
        if (gmmpio_read_images(clean_path, &clean, NULL, err, sizeof err)) {
            fprintf(stderr, "%s: %s\n", prog, err);
            goto done;
        }
        if (clean.count != in.count || clean.rows != in.rows || clean.cols != in.cols) {
            fprintf(stderr, "%s: %s holds %zu images of %zux%zu, the input %zu of %zux%zu\n",
                    prog, clean_path, clean.count, clean.rows, clean.cols, in.count, in.rows,
                    in.cols);
            goto done;
        }
    }
    if (!peak_given && in.maxval)
        peak = in.maxval; /* a PGM's own scale */
    const size_t H = in.rows, W = in.cols, pixels = H * W;
    if (gmmpio_stack_alloc(&degraded, in.count, H, W) || gmmpio_stack_alloc(&out, in.count, H, W) ||
        (simulate && (missing > 0 || scratches) && !(mask = malloc(in.count * pixels)))) {
        fprintf(stderr, "%s: out of memory for %zu images of %zux%zu\n", prog, in.count, H, W);
        goto done;
    }
    degraded.maxval = out.maxval = in.maxval; /* a 16-bit PGM stays 16-bit */
    memcpy(degraded.pixels, in.pixels, in.count * pixels * sizeof(double));
    uint64_t rng = seed * 0x2545F4914F6CDD1Dull + 7;
    if (simulate) {
        restore_add_noise(&degraded, sigma, seed, 0.0, clip ? peak : -1.0);
        if (missing > 0 || scratches) {
            memset(mask, 1, in.count * pixels);
            for (size_t i = 0; i < in.count; i++) {
                unsigned char *mk = mask + i * pixels;
                if (scratches)
                    scratch_mask(mk, H, W, &rng);
                for (size_t j = 0; missing > 0 && j < pixels; j++)
                    if ((double)(util_next_random(&rng) >> 11) * 0x1.0p-53 < missing)
                        mk[j] = 0;
                for (size_t j = 0; j < pixels; j++)
                    if (!mk[j])
                        degraded.pixels[i * pixels + j] = 0.0; /* shown black */
            }
        }
    }
    epll_options eo = {sigma, steps, mmse, grid, (unsigned)threads, seed, mask};
    double t0 = now();
    if (epll_restore(model, &eo, degraded.pixels, in.count, H, W, out.pixels, err,
                     sizeof err)) {
        fprintf(stderr, "%s: %s: %s\n", prog, in_path, err);
        goto done;
    }
    double secs = now() - t0;
    if (gmmpio_check_values(&out, CLI_VALUE_LIMIT * 1e3, out_path, err, sizeof err) ||
        gmmpio_write_images(out_path, &out, kind, err, sizeof err) ||
        (degraded_path &&
         gmmpio_write_images(degraded_path, &degraded, kind, err, sizeof err))) {
        fprintf(stderr, "%s: %s\n", prog, err);
        goto done;
    }
    printf("EPLL: %zu image(s) of %zux%zu, %zu steps, %s%s, grid %zu: %.2f s\n", in.count, H,
           W, steps, mmse ? "MMSE" : "MAP", remove_mean ? ", means removed" : "", grid, secs);
    if (simulate)
        printf("PSNR: degraded %.3f dB, restored %.3f dB (mean over %zu image(s))\n",
               restore_mean_psnr(&degraded, &in, peak), restore_mean_psnr(&out, &in, peak),
               in.count);
    if (clean_path)
        printf("PSNR: input %.3f dB, restored %.3f dB (mean over %zu image(s))\n",
               restore_mean_psnr(&in, &clean, peak), restore_mean_psnr(&out, &clean, peak),
               in.count);
    status = cli_flush_stdout(prog) ? 1 : 0;
done:
    gmmp_model_destroy(model);
    gmmpio_stack_free(&in);
    gmmpio_stack_free(&degraded);
    gmmpio_stack_free(&out);
    gmmpio_stack_free(&clean);
    free(mask);
    return status;
}
