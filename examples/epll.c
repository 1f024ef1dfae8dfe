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

#include "epll.h"
#include "imageio.h"
#include "restore.h"
#include "util.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: gmmp-epll --model MODEL --sigma S [options] INPUT OUTPUT\n"
            "  --schedule a,b,...     beta = a/sigma^2, b/sigma^2, ... (default 1,4,8,16,32)\n"
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
            "The patch size and mean removal come from the model (gmmp-train stores them).\n");
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
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    const char *model_path = NULL, *degraded_path = NULL, *clean_path = NULL;
    double sigma = -1.0, missing = 0.0, peak = 255.0, schedule[32];
    size_t steps = 5, grid = 1, patch = 0;
    int mmse = 0, remove_mean = -1, simulate = 0, scratches = 0, clip = 0;
    unsigned threads = cores > 0 ? (unsigned)cores : 1;
    uint64_t seed = 1;
    memcpy(schedule, epll_default_schedule, sizeof epll_default_schedule);
    enum { MODEL = 256, SIGMA, SCHED, EST, RMEAN, GRID, THREADS, SIM, MISS, SCR, SEED, PEAK, DEG,
           CLIP, CLEAN, PATCH };
    static const struct option opts[] = {
        {"model", 1, 0, MODEL}, {"sigma", 1, 0, SIGMA}, {"schedule", 1, 0, SCHED},
        {"estimator", 1, 0, EST}, {"remove-mean", 0, 0, RMEAN}, {"grid", 1, 0, GRID},
        {"threads", 1, 0, THREADS}, {"simulate", 0, 0, SIM}, {"missing", 1, 0, MISS},
        {"scratches", 0, 0, SCR}, {"seed", 1, 0, SEED}, {"peak", 1, 0, PEAK},
        {"degraded", 1, 0, DEG}, {"clip", 0, 0, CLIP}, {"clean", 1, 0, CLEAN},
        {"patch", 1, 0, PATCH}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        switch (c) {
        case MODEL: model_path = optarg; break;
        case SIGMA: sigma = strtod(optarg, &end); break;
        case SCHED:
            steps = 0;
            for (char *p = optarg; *p && steps < 32; p = *end ? end + 1 : end)
                schedule[steps++] = strtod(p, &end);
            break;
        case EST: mmse = strcmp(optarg, "mmse") == 0; break;
        case RMEAN: remove_mean = 1; break;
        case GRID: grid = (size_t)strtoul(optarg, &end, 10); break;
        case PATCH: patch = (size_t)strtoul(optarg, &end, 10); break;
        case THREADS: threads = (unsigned)strtoul(optarg, &end, 10); break;
        case SIM: simulate = 1; break;
        case MISS: missing = strtod(optarg, &end); break;
        case SCR: scratches = 1; break;
        case SEED: seed = strtoull(optarg, &end, 10); break;
        case PEAK: peak = strtod(optarg, &end); break;
        case DEG: degraded_path = optarg; break;
        case CLIP: clip = 1; break;
        case CLEAN: clean_path = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!model_path || !(sigma > 0) || argc - optind != 2 || steps == 0 || threads < 1 ||
        missing < 0 || missing >= 1 || ((missing > 0 || scratches) && !simulate)) {
        usage(stderr);
        return 2;
    }
    gmmp_model *model = NULL;
    gmmpio_stack in = {0}, degraded = {0}, out = {0};
    unsigned char *mask = NULL;
    char err[512];
    int status = 1;
    enum gmmpio_kind kind;
    if (gmmp_model_load(&model, model_path)) {
        fprintf(stderr, "gmmp-epll: %s\n", gmmp_last_error());
        goto done;
    }
    if (gmmpio_read_images(argv[optind], &in, &kind, err, sizeof err)) {
        fprintf(stderr, "gmmp-epll: %s\n", err);
        goto done;
    }
    if (restore_model_patch(model, patch, remove_mean, in.rows, in.cols, 1, argv[optind], err,
                            sizeof err)) {
        fprintf(stderr, "gmmp-epll: %s: %s\n", model_path, err);
        goto done;
    }
    gmmp_model_patch(model, NULL, NULL, NULL, &remove_mean);
    const size_t H = in.rows, W = in.cols, pixels = H * W;
    if (gmmpio_stack_alloc(&degraded, in.count, H, W) || gmmpio_stack_alloc(&out, in.count, H, W))
        goto done;
    memcpy(degraded.pixels, in.pixels, in.count * pixels * sizeof(double));
    uint64_t rng = seed * 0x2545F4914F6CDD1Dull + 7;
    if (simulate) {
        restore_add_noise(&degraded, sigma, seed, 0.0, clip ? peak : -1.0);
        if (missing > 0 || scratches) {
            mask = malloc(in.count * pixels);
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
    epll_options eo = {sigma, schedule, steps, mmse, grid, threads, seed, mask};
    double t0 = now(), flops = 0.0;
    if (epll_restore(model, &eo, degraded.pixels, in.count, H, W, out.pixels, &flops, err,
                     sizeof err)) {
        fprintf(stderr, "gmmp-epll: %s\n", err);
        goto done;
    }
    double secs = now() - t0;
    if (gmmpio_write_images(argv[optind + 1], &out, kind, err, sizeof err) ||
        (degraded_path &&
         gmmpio_write_images(degraded_path, &degraded, kind, err, sizeof err))) {
        fprintf(stderr, "gmmp-epll: %s\n", err);
        goto done;
    }
    printf("EPLL: %zu image(s) of %zux%zu, %zu steps, %s%s, grid %zu: %.2f s, %.1f GFLOP/s in "
           "the patch posteriors\n",
           in.count, H, W, steps, mmse ? "MMSE" : "MAP", remove_mean ? ", means removed" : "",
           grid, secs, flops / secs * 1e-9);
    if (simulate)
        printf("PSNR: degraded %.3f dB, restored %.3f dB (mean over %zu image(s))\n",
               restore_mean_psnr(&degraded, &in, peak), restore_mean_psnr(&out, &in, peak),
               in.count);
    if (clean_path) {
        gmmpio_stack clean;
        if (gmmpio_read_images(clean_path, &clean, NULL, err, sizeof err) ||
            clean.count != in.count || clean.rows != H || clean.cols != W) {
            fprintf(stderr, "gmmp-epll: %s does not match the input\n", clean_path);
            gmmpio_stack_free(&clean);
            goto done;
        }
        printf("PSNR: input %.3f dB, restored %.3f dB (mean over %zu image(s))\n",
               restore_mean_psnr(&in, &clean, peak), restore_mean_psnr(&out, &clean, peak),
               in.count);
        gmmpio_stack_free(&clean);
    }
    status = 0;
done:
    gmmp_model_destroy(model);
    gmmpio_stack_free(&in);
    gmmpio_stack_free(&degraded);
    gmmpio_stack_free(&out);
    free(mask);
    return status;
}
