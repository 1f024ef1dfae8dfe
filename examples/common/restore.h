/*
 * The denoiser assembled from the library's four parts, as any program
 * using libgmmprior would write it (public headers only): extract every
 * overlapping patch, run the posterior plan on large batches, average the
 * patch estimates back into images. Shared by gmmp-denoise and the demo.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_EXAMPLES_RESTORE_H
#define GMMP_EXAMPLES_RESTORE_H

#include <stddef.h>
#include <stdint.h>

#include "gmmprior.h"
#include "imageio.h"

typedef struct restore_options {
    double sigma;     /* noise standard deviation */
    unsigned threads; /* threads of the posterior plan */
    int remove_mean;  /* the model was trained on patches with their mean removed */
} restore_options;

/* Denoises every image of `noisy` with the patch prior `model` (d = m*m
 * for m x m patches). Either output may be NULL; each is allocated like
 * `noisy`. Returns 0, or -1 with a message in err. */
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

/* Side of the square patch of a model, or 0 if d is not a square. */
size_t restore_patch_side(const gmmp_model *model);

#endif
