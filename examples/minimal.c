/*
 * The shortest complete denoiser built from libgmmprior's four parts:
 * load a model, cut a noisy image into overlapping patches, take each
 * patch's posterior mean under the prior, average the patches back.
 *
 *   usage: minimal MODEL SIGMA NOISY.pgm OUT.pgm   (8-bit binary PGM)
 *   build: cc minimal.c $(pkg-config --cflags --libs gmmprior) -lm
 *
 * docs/guide.md walks through it. Error handling is kept to one check per
 * call: every library function returns 0 or a negative code, and
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
    double sigma = atof(argv[2]), variance = sigma * sigma;
    size_t h, w, n;
    double *image = read_pgm(argv[3], &h, &w);
    if (!image) {
        fprintf(stderr, "cannot read %s as an 8-bit binary PGM\n", argv[3]);
        return 1;
    }

    /* The prior: a Gaussian mixture over m x m patches. */
    gmmp_model *model;
    CHECK(gmmp_model_load(&model, argv[1]));
    size_t d = gmmp_model_dim(model), m = (size_t)lround(sqrt((double)d));

    /* 1. Patch extractor: every overlapping m x m patch (step 1). */
    gmmp_extractor *extractor;
    CHECK(gmmp_extractor_create(&extractor, m, m, 1));
    CHECK(gmmp_extractor_count(extractor, h, w, &n));
    double *patches = malloc(n * d * sizeof *patches);
    double *estimates = malloc(n * d * sizeof *estimates);
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

    if (write_pgm(argv[4], image, h, w) != 0) {
        fprintf(stderr, "cannot write %s\n", argv[4]);
        return 1;
    }
    printf("denoised %zux%zu image: %zu patches of %zux%zu\n", h, w, n, m, m);
    gmmp_reconstructor_destroy(reconstructor);
    gmmp_plan_destroy(plan);
    gmmp_extractor_destroy(extractor);
    gmmp_model_destroy(model);
    free(patches);
    free(estimates);
    free(image);
    return 0;
}
