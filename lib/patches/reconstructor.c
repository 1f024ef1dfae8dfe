/*
 * Reconstructor: sums weighted patch estimates into an image and divides by
 * the weight each pixel received.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <string.h>

#include "gmmprior/patches.h"

#include "extractor.h"
#include "internal.h"

struct gmmp_reconstructor {
    gmmp__geometry geom;
    gmmp__grid grid;
    size_t h, w;
    double *sum;    /* h*w*C weighted sums of patch values */
    double *weight; /* h*w sums of weights (the same for every channel) */
};

int gmmp_reconstructor_create(gmmp_reconstructor **out, const gmmp_extractor *ex, size_t h,
                              size_t w)
{
    if (!out || !ex)
        return gmmp__fail(GMMP_EINVAL, "output handle pointer or extractor is NULL");
    gmmp__grid grid;
    int rc = gmmp__grid_init(&grid, &ex->geom, h, w);
    if (rc)
        return rc;
    const gmmp__geometry *g = &ex->geom;
    if (g->step > g->patch_h || g->step > g->patch_w)
        return gmmp__fail(GMMP_EDIM,
                          "step %zu exceeds the %zux%zu patch: some pixels would get no "
                          "estimate",
                          g->step, g->patch_h, g->patch_w);
    size_t pixels = h * w, values; /* h * w checked by gmmp__grid_init */
    if (!gmmp__mul_ok(pixels, g->channels, &values) || values > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "image of %zux%zu pixels with %zu channels overflows",
                          h, w, g->channels);
    gmmp_reconstructor *r = gmmp__alloc(sizeof *r);
    if (!r)
        return gmmp__fail_nomem();
    *r = (gmmp_reconstructor){.geom = ex->geom, .grid = grid, .h = h, .w = w};
    r->sum = gmmp__calloc_array(values, sizeof(double));
    r->weight = gmmp__calloc_array(pixels, sizeof(double));
    if (!r->sum || !r->weight) {
        gmmp_reconstructor_destroy(r);
        return gmmp__fail_nomem();
    }
    *out = r;
    return GMMP_OK;
}

void gmmp_reconstructor_destroy(gmmp_reconstructor *rc)
{
    if (!rc)
        return;
    gmmp__free(rc->sum);
    gmmp__free(rc->weight);
    gmmp__free(rc);
}

size_t gmmp_reconstructor_count(const gmmp_reconstructor *rc)
{
    return rc ? rc->grid.count : 0;
}

int gmmp_reconstructor_add(gmmp_reconstructor *rc, size_t first, size_t count,
                           const double *patches, const double *means, const double *weights)
{
    if (!rc || !patches)
        return gmmp__fail(GMMP_EINVAL, "reconstructor or patch buffer is NULL");
    int err = gmmp__check_range(first, count, rc->grid.count);
    if (err)
        return err;
    /* Validate every weight before adding anything, so that a failed call
     * leaves the sums as they were. */
    if (weights)
        for (size_t i = 0; i < count; i++)
            if (!(weights[i] > 0.0) || !isfinite(weights[i]))
                return gmmp__fail(GMMP_EINVAL, "weight of patch %zu is %g, not positive",
                                  first + i, weights[i]);

    const gmmp__geometry *g = &rc->geom;
    const size_t C = g->channels, row_len = g->patch_w * C;
    for (size_t i = 0; i < count; i++) {
        size_t r0, c0;
        gmmp__grid_pos(&rc->grid, first + i, &r0, &c0);
        const double *src = patches + i * g->dim;
        const double *offset = means ? means + i * C : NULL;
        double wt = weights ? weights[i] : 1.0;
        for (size_t r = 0; r < g->patch_h; r++) {
            double *sum = rc->sum + ((r0 + r) * rc->w + c0) * C;
            double *weight = rc->weight + (r0 + r) * rc->w + c0;
            const double *row = src + r * row_len;
            if (C == 1) { /* grey: unit strides, which vectorise */
                const double off = offset ? offset[0] : 0.0;
                for (size_t c = 0; c < g->patch_w; c++) {
                    sum[c] += wt * (row[c] + off);
                    weight[c] += wt;
                }
                continue;
            }
            for (size_t c = 0; c < g->patch_w; c++) {
                for (size_t ch = 0; ch < C; ch++)
                    sum[c * C + ch] += wt * (row[c * C + ch] + (offset ? offset[ch] : 0.0));
                weight[c] += wt;
            }
        }
    }
    return GMMP_OK;
}

int gmmp_reconstructor_finish(const gmmp_reconstructor *rc, double *image, size_t pitch)
{
    if (!rc)
        return gmmp__fail(GMMP_EINVAL, "reconstructor is NULL");
    const size_t C = rc->geom.channels;
    int err = gmmp__check_image(image, rc->h, rc->w, C, pitch);
    if (err)
        return err;
    for (size_t i = 0; i < rc->h * rc->w; i++)
        if (rc->weight[i] == 0.0)
            return gmmp__fail(GMMP_EDIM, "pixel (%zu, %zu) received no patch", i / rc->w,
                              i % rc->w);
    for (size_t r = 0; r < rc->h; r++)
        for (size_t c = 0; c < rc->w; c++) {
            double wt = rc->weight[r * rc->w + c];
            for (size_t ch = 0; ch < C; ch++)
                image[r * pitch + c * C + ch] = rc->sum[(r * rc->w + c) * C + ch] / wt;
        }
    return GMMP_OK;
}

void gmmp_reconstructor_reset(gmmp_reconstructor *rc)
{
    if (!rc)
        return;
    memset(rc->sum, 0, rc->h * rc->w * rc->geom.channels * sizeof(double));
    memset(rc->weight, 0, rc->h * rc->w * sizeof(double));
}
