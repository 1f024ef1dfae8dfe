/*
 * The denoiser of the tools and the demo, on the library's whole-image
 * call (restore.h of the library: patches, plan, estimates and averaging
 * in bounded memory), with what a program around it needs: a stack of
 * images, both estimators, and checking that a model's patches fit the
 * images. Shared by gmmp-denoise, gmmp-epll and the demo.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_EXAMPLES_RESTORE_H
#define GMMP_EXAMPLES_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include <time.h>

#include "gmmprior.h"
#include "imageio.h"

typedef struct restore_options {
    double sigma;     /* noise standard deviation */
    unsigned threads; /* library threads; > 1 also makes OpenBLAS serial meanwhile */
    int precision;    /* a gmmp_precision (GMMP_OPT_PRECISION) */
} restore_options;

/* A percentage on stderr for work over a stack of images, once it has
 * taken a second: the progress callback of whole-image calls
 * (restore_progress_report, payload a restore_progress). The work is
 * `count` units; before each call, `image` is set to the units done and
 * `span` to the units the call is worth (1 unless set: one call per
 * image). */
typedef struct restore_progress {
    const char *label; /* printed before the percentage */
    size_t image, count, span;
    struct timespec start;
    int last; /* the last percentage printed, -1 for none */
} restore_progress;

void restore_progress_start(restore_progress *p, const char *label, size_t count);
int restore_progress_report(const gmmp_progress *p, void *payload);

/* Ends the line, at 100%, if anything was printed. */
void restore_progress_end(restore_progress *p);

/* Options for the library's calls that run `threads` threads: the tools
 * are applications, so with several library threads they ask the library
 * to keep OpenBLAS single-threaded meanwhile (GMMP_OPT_BLAS_SERIAL), so
 * that two thread pools do not fight over the cores. NULL if out of
 * memory. Free with gmmp_options_destroy(). */
gmmp_options *restore_threads_options(unsigned threads);

/* Makes sure `model` describes its patches and that they fit images of
 * rows x cols with `channels` values per pixel (what = the images' name,
 * for messages). patch (0: not given) and remove_mean (-1: not given) are
 * the command line's --patch and --remove-mean: with a model that has a
 * patch description they must agree with it; a model without one (a
 * version 1 file) needs patch, and gets it (square patches), with
 * remove_mean (0 if not given). Returns 0, or -1 with a message in err. */
int restore_model_patch(gmmp_model *model, size_t patch, int remove_mean, size_t rows,
                        size_t cols, size_t channels, const char *what, char *err,
                        size_t errlen);

/* Denoises every image of `noisy` with the patch prior `model`, which
 * must describe its patches (restore_model_patch()). Either output may be
 * NULL; each is allocated like `noisy`. One plan serves every image.
 * Returns 0, or -1 with a message in err. */
int restore_denoise(const gmmp_model *model, const restore_options *opt,
                    const gmmpio_stack *noisy, gmmpio_stack *map_out, gmmpio_stack *mmse_out,
                    char *err, size_t errlen);

/* Adds Gaussian noise of standard deviation sigma (seeded, reproducible),
 * then clips to [lo, hi] as an 8-bit image would store it (lo > hi: no
 * clipping). */
void restore_add_noise(gmmpio_stack *img, double sigma, uint64_t seed, double lo, double hi);

/* Peak signal-to-noise ratio in dB of an estimate against a reference,
 * with peak value `peak` (255 for 8-bit images). */
double restore_psnr(const double *estimate, const double *reference, size_t n, double peak);

/* Mean PSNR over the images of two stacks of the same size. */
double restore_mean_psnr(const gmmpio_stack *estimate, const gmmpio_stack *reference,
                         double peak);

#endif
