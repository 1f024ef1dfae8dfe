/*
 * The shortest complete denoiser built from libgmmprior's four parts:
 * load a model, cut a noisy image into overlapping patches, take each
 * patch's posterior mean under the prior, average the patches back.
 *
 *   usage: minimal MODEL SIGMA NOISY.pgm OUT.pgm   (8 or 16-bit PGM)
 *   build: with Meson (examples/meson.build): it links the tools' image I/O
 *          (examples/io) and option parser (examples/common/cli.c)
 *
 * docs/guide.md walks through it. Error handling is kept to one check per
 * call: every library function returns 0 or a negative code, and
 * gmmp_last_error() says what went wrong. The image file and the option
 * come through the tools' own strict readers (examples/io, cli.h): a
 * truncated or hostile PGM, or a SIGMA such as "-5" or "12abc", is refused.
 * SPDX-License-Identifier: MIT
 */
#include <gmmprior.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "imageio.h"

#define CHECK(call)                                                                      \
    if ((call) != 0) {                                                                   \
        fprintf(stderr, "%s failed: %s\n", #call, gmmp_last_error());                    \
        return 1;                                                                        \
    }

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: minimal MODEL SIGMA NOISY.pgm OUT.pgm\n");
        return 2;
    }
    double sigma, variance;
    if (cli_real("minimal", "sigma (SIGMA)", argv[2], CLI_SIGMA_MIN, CLI_SIGMA_MAX, &sigma))
        return 2;
    variance = sigma * sigma;
    char err[600];
    gmmpio_stack noisy;
    if (gmmpio_atomic_check(argv[4], err, sizeof err) ||
        gmmpio_pgm_read(argv[3], &noisy, err, sizeof err)) {
        fprintf(stderr, "minimal: %s\n", err);
        return 1;
    }
    size_t h = noisy.rows, w = noisy.cols, n;
    double *image = noisy.pixels;

    /* The prior: a Gaussian mixture over m x m patches. */
    gmmp_model *model;
    CHECK(gmmp_model_load(&model, argv[1]));
    size_t d = gmmp_model_dim(model), m = (size_t)lround(sqrt((double)d));
    if (m * m != d) {
        fprintf(stderr, "minimal: %s is on patches of %zu pixels, not m x m\n", argv[1], d);
        return 1;
    }

    /* 1. Patch extractor: every overlapping m x m patch (step 1). */
    gmmp_extractor *extractor;
    CHECK(gmmp_extractor_create(&extractor, m, m, 1));
    CHECK(gmmp_extractor_count(extractor, h, w, &n));
    double *patches = malloc(n * d * sizeof *patches);
    double *estimates = malloc(n * d * sizeof *estimates);
    if (!patches || !estimates) {
        fprintf(stderr, "minimal: out of memory for %zu patches\n", n);
        return 1;
    }
    CHECK(gmmp_extractor_extract(extractor, image, h, w, w, 0, n, patches, NULL));

    /* 2. Posterior plan for y = z + n, n ~ N(0, sigma^2 I): W = identity
     *    (NULL), scalar noise, no offset, default options. */
    gmmp_plan *plan;
    CHECK(gmmp_plan_create(&plan, model, d, NULL, GMMP_NOISE_SCALAR, &variance, NULL, NULL));

    /* 3. MMSE estimate of every patch, in one batch. */
    CHECK(gmmp_plan_execute(plan, patches, n, NULL, NULL, NULL, estimates));

    /* 4. Reconstructor: average the overlapping estimates into the image. */
    gmmp_reconstructor *reconstructor;
    CHECK(gmmp_reconstructor_create(&reconstructor, extractor, h, w));
    CHECK(gmmp_reconstructor_add(reconstructor, 0, n, estimates, NULL, NULL));
    CHECK(gmmp_reconstructor_finish(reconstructor, image, w));

    if (gmmpio_pgm_write(argv[4], &noisy, 0, 0, err, sizeof err) != 0) {
        fprintf(stderr, "minimal: %s\n", err);
        return 1;
    }
    printf("denoised %zux%zu image: %zu patches of %zux%zu\n", h, w, n, m, m);
    gmmp_reconstructor_destroy(reconstructor);
    gmmp_plan_destroy(plan);
    gmmp_extractor_destroy(extractor);
    gmmp_model_destroy(model);
    free(patches);
    free(estimates);
    gmmpio_stack_free(&noisy);
    return cli_flush_stdout("minimal") ? 1 : 0;
}
