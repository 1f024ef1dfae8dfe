/*
 * Noise level from the image alone (Chen, Zhu and Heng, ICCV 2015; see
 * noise.h): the eigenvalues of the patch covariance whose mean equals
 * their median are the noise's.
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "gmmprior/noise.h"
#include "gmmprior/patches.h"

#include "geometry.h"
#include "internal.h"
#include "linalg.h"

/* The patch side of the method's paper. */
#define SIDE 8
/* At most about this many patches: beyond, the estimate does not improve. */
#define MAX_PATCHES 1000000
/* Patches per block of the covariance's products. */
#define BLOCK 4096

/* Sum of the patches and of their outer products (lower triangle), over
 * the patches of a grid with the given step. */
static int patch_moments(const double *image, size_t h, size_t w, size_t C, size_t pitch,
                         size_t step, double *sum, double *outer, size_t *count)
{
    gmmp_extractor *ex;
    int rc = gmmp_extractor_create(&ex, SIDE, SIDE, C, step);
    if (rc)
        return rc;
    const size_t d = gmmp_extractor_dim(ex);
    size_t n = 0;
    double *block = gmmp__alloc_array(BLOCK, d * sizeof(double));
    if (!block) {
        gmmp_extractor_destroy(ex);
        return gmmp__fail_nomem();
    }
    if ((rc = gmmp_extractor_count(ex, h, w, &n)) == GMMP_OK) {
        memset(sum, 0, d * sizeof *sum);
        memset(outer, 0, d * d * sizeof *outer);
        for (size_t first = 0; first < n && rc == GMMP_OK; first += BLOCK) {
            size_t rows = gmmp__block_len(n, first, BLOCK);
            if ((rc = gmmp_extractor_extract(ex, image, h, w, pitch, first, rows, block, NULL)))
                break;
            /* Moments about the first patch's mean keep the covariance
             * free of cancellation on images far from zero. */
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < d; j++)
                    sum[j] += block[i * d + j];
            cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, (int)d, (int)rows, 1.0, block,
                        (int)d, 1.0, outer, (int)d);
        }
    }
    *count = n;
    gmmp__free(block);
    gmmp_extractor_destroy(ex);
    return rc;
}

/* The method's tail search on ascending eigenvalues: drop the largest
 * while as many exceed the mean of those left as fall below it. */
static double noise_variance(const double *lambda, size_t d)
{
    double mean = 0.0;
    for (size_t m = d; m >= 1; m--) {
        double s = 0.0;
        for (size_t j = 0; j < m; j++)
            s += lambda[j];
        mean = s / (double)m;
        size_t above = 0, below = 0;
        for (size_t j = 0; j < m; j++) {
            above += lambda[j] > mean;
            below += lambda[j] < mean;
        }
        if (above == below)
            break;
    }
    return fmax(mean, 0.0);
}

int gmmp_estimate_noise(const double *image, size_t h, size_t w, size_t channels, size_t pitch,
                        double *sigma)
{
    if (!sigma)
        return gmmp__fail(GMMP_EINVAL, "output pointer is NULL");
    if (channels == 0)
        return gmmp__fail(GMMP_EINVAL, "number of channels must be at least 1");
    int rc = gmmp__check_image(image, h, w, channels, pitch);
    if (rc)
        return rc;
    if (h < SIDE || w < SIDE)
        return gmmp__fail(GMMP_EDIM, "a %zux%zu image is too small to estimate noise: it "
                                     "needs at least %dx%d pixels",
                          h, w, SIDE, SIDE);
    for (size_t r = 0; r < h; r++) {
        size_t bad = gmmp__first_nonfinite(image + r * pitch, w * channels);
        if (bad < w * channels)
            return gmmp__fail(GMMP_ENONFINITE, "pixel (%zu, %zu), channel %zu is %g", r,
                              bad / channels, bad % channels, image[r * pitch + bad]);
    }
    size_t d;
    if (!gmmp__mul_ok(SIDE * SIDE, channels, &d) || d > GMMP__MAX_ORDER)
        return gmmp__fail(GMMP_EOVERFLOW, "%zu channels are too many for noise estimation",
                          channels);
    /* A step that keeps about MAX_PATCHES patches. */
    double all = (double)(h - SIDE + 1) * (double)(w - SIDE + 1);
    size_t step = all > MAX_PATCHES ? (size_t)ceil(sqrt(all / MAX_PATCHES)) : 1;
    double *buf = gmmp__alloc_array(d * d + 2 * d + d * d, sizeof(double));
    if (!buf)
        return gmmp__fail_nomem();
    double *outer = buf, *sum = buf + d * d, *lambda = sum + d, *vectors = lambda + d;
    size_t n = 0;
    if ((rc = patch_moments(image, h, w, channels, pitch, step, sum, outer, &n)) == GMMP_OK) {
        /* Covariance = (outer - n mean mean^T) / n, lower triangle. */
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++)
                outer[i * d + j] = (outer[i * d + j] - sum[i] * sum[j] / (double)n) / (double)n;
        if ((rc = gmmp__eigh(outer, d, lambda, vectors, "the patch covariance")) == GMMP_OK)
            *sigma = sqrt(noise_variance(lambda, d));
    }
    gmmp__free(buf);
    return rc;
}
