/*
 * The shortest complete denoiser: load a model, read a noisy image, and
 * denoise it in one call. gmmp_denoise_image() runs the library's four
 * parts: it cuts the image into overlapping patches (of the size the
 * model was trained on, removing their means if it was trained so), takes
 * each patch's posterior mean under the prior, and averages the patches
 * back, a batch at a time.
 *
 *   usage: minimal MODEL SIGMA NOISY.pgm OUT.pgm   (8-bit binary PGM)
 *   build: cc minimal.c $(pkg-config --cflags --libs gmmprior) -lm
 *
 * docs/guide.md walks through it, and assembles the same denoiser from
 * the parts. Every library function returns 0 or a negative code, and
 * gmmp_last_error() says what went wrong.
 * SPDX-License-Identifier: MIT
 */
#include <gmmprior.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* Reads an 8-bit binary PGM ("P5 W H 255", no comments) into doubles. */
static double *read_pgm(const char *path, size_t *h, size_t *w)
{
    FILE *f = fopen(path, "rb");
    unsigned max;
    if (!f || fscanf(f, "P5 %zu %zu %u", w, h, &max) != 3 || max != 255 || fgetc(f) == EOF) {
        if (f)
            fclose(f);
        return NULL;
    }
    double *img = malloc(*h * *w * sizeof *img);
    for (size_t i = 0; img && i < *h * *w; i++) {
        int c = fgetc(f);
        img[i] = c == EOF ? 0.0 : c;
    }
    fclose(f);
    return img;
}

static int write_pgm(const char *path, const double *img, size_t h, size_t w)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fprintf(f, "P5\n%zu %zu\n255\n", w, h);
    for (size_t i = 0; i < h * w; i++)
        fputc(img[i] < 0 ? 0 : img[i] > 255 ? 255 : (int)lround(img[i]), f);
    return fclose(f);
}

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
    double sigma = atof(argv[2]);
    size_t h, w;
    double *image = read_pgm(argv[3], &h, &w);
    if (!image) {
        fprintf(stderr, "cannot read %s as an 8-bit binary PGM\n", argv[3]);
        return 1;
    }
    gmmp_model *model;
    CHECK(gmmp_model_load(&model, argv[1]));
    /* MMSE estimate of every overlapping patch, averaged; in place. */
    CHECK(gmmp_denoise_image(model, sigma, image, h, w, w, image, w, NULL));
    if (write_pgm(argv[4], image, h, w) != 0) {
        fprintf(stderr, "cannot write %s\n", argv[4]);
        return 1;
    }
    printf("denoised %zux%zu image\n", h, w);
    gmmp_model_destroy(model);
    free(image);
    return 0;
}
