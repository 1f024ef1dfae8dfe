/*
 * The shortest complete denoiser: load a model, read a noisy image, and
 * denoise it in one call. gmmp_denoise_image() runs the library's four
 * parts: it cuts the image into overlapping patches (of the size the
 * model was trained on, removing their means if it was trained so), takes
 * each patch's posterior mean under the prior, and averages the patches
 * back, a batch at a time.
 *
 *   usage: minimal MODEL SIGMA NOISY.pgm OUT.pgm   (8 or 16-bit PGM)
 *   build: with Meson (examples/meson.build): it links the tools' image I/O
 *          (examples/io) and option parser (examples/common/cli.c)
 *
 * docs/guide.md walks through it, and assembles the same denoiser from
 * the parts. Every library function returns 0 or a negative code, and
 * gmmp_last_error() says what went wrong. The image file and the option
 * come through the tools' own strict readers (examples/io, cli.h): a
 * truncated or hostile PGM, or a SIGMA such as "-5" or "12abc", is refused.
 * SPDX-License-Identifier: MIT
 */
#include <gmmprior.h>
#include <stdio.h>

#include "cli.h"
#include "imageio.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: minimal MODEL SIGMA NOISY.pgm OUT.pgm\n");
        return 2;
    }
    double sigma;
    if (cli_real("minimal", "sigma (SIGMA)", argv[2], CLI_SIGMA_MIN, CLI_SIGMA_MAX, &sigma))
        return 2;
    char err[600];
    gmmpio_stack image;
    if (gmmpio_atomic_check(argv[4], err, sizeof err) ||
        gmmpio_pgm_read(argv[3], &image, err, sizeof err)) {
        fprintf(stderr, "minimal: %s\n", err);
        return 1;
    }
    gmmp_model *model = NULL;
    int status = 1;
    size_t h = image.rows, w = image.cols;
    /* MMSE estimate of every overlapping patch, averaged; in place. */
    if (gmmp_model_load(&model, argv[1]) ||
        gmmp_denoise_image(model, sigma, image.pixels, h, w, w, image.pixels, w, NULL)) {
        fprintf(stderr, "minimal: %s\n", gmmp_last_error());
    } else if (gmmpio_pgm_write(argv[4], &image, 0, 0, err, sizeof err)) {
        fprintf(stderr, "minimal: %s\n", err);
    } else {
        printf("denoised %zux%zu image\n", h, w);
        status = 0;
    }
    gmmp_model_destroy(model);
    gmmpio_stack_free(&image);
    return status;
}
