/*
 * Patch extractor: copies overlapping patches of an image into the rows of
 * a matrix, optionally removing each patch's mean.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "gmmprior/patches.h"

#include "extractor.h"
#include "internal.h"
#include "rng.h"

int gmmp_extractor_create(gmmp_extractor **out, size_t patch_h, size_t patch_w, size_t channels,
                          size_t step)
{
    return gmmp_extractor_create_grid(out, patch_h, patch_w, channels, step, 0, 0);
}

int gmmp_extractor_create_grid(gmmp_extractor **out, size_t patch_h, size_t patch_w,
                               size_t channels, size_t step, size_t row_offset,
                               size_t col_offset)
{
    if (!out)
        return gmmp__fail(GMMP_EINVAL, "output handle pointer is NULL");
    if (patch_h == 0 || patch_w == 0)
        return gmmp__fail(GMMP_EINVAL, "patch size %zux%zu is empty", patch_h, patch_w);
    if (channels == 0)
        return gmmp__fail(GMMP_EINVAL, "number of channels must be at least 1");
    if (step == 0)
        return gmmp__fail(GMMP_EINVAL, "patch step must be at least 1");
    if (row_offset >= step || col_offset >= step)
        return gmmp__fail(GMMP_EINVAL, "grid offsets %zu, %zu must be less than the step %zu",
                          row_offset, col_offset, step);
    size_t pixels, dim;
    if (!gmmp__mul_ok(patch_h, patch_w, &pixels) || !gmmp__mul_ok(pixels, channels, &dim) ||
        dim > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "patch size %zux%zu with %zu channels overflows",
                          patch_h, patch_w, channels);
    gmmp_extractor *ex = gmmp__alloc(sizeof *ex);
    if (!ex)
        return gmmp__fail_nomem();
    ex->geom = (gmmp__geometry){.patch_h = patch_h,
                                .patch_w = patch_w,
                                .channels = channels,
                                .step = step,
                                .dim = dim,
                                .row_offset = row_offset,
                                .col_offset = col_offset};
    *out = ex;
    return GMMP_OK;
}

void gmmp_extractor_destroy(gmmp_extractor *ex)
{
    gmmp__free(ex);
}

size_t gmmp_extractor_dim(const gmmp_extractor *ex)
{
    return ex ? ex->geom.dim : 0;
}

int gmmp_extractor_count(const gmmp_extractor *ex, size_t h, size_t w, size_t *n_patches)
{
    if (!ex || !n_patches)
        return gmmp__fail(GMMP_EINVAL, "extractor or output pointer is NULL");
    gmmp__grid grid;
    int rc = gmmp__grid_init(&grid, &ex->geom, h, w);
    if (rc)
        return rc;
    *n_patches = grid.count;
    return GMMP_OK;
}

int gmmp_extractor_position(const gmmp_extractor *ex, size_t h, size_t w, size_t index,
                            size_t *row, size_t *col)
{
    if (!ex || !row || !col)
        return gmmp__fail(GMMP_EINVAL, "extractor or output pointer is NULL");
    gmmp__grid grid;
    int rc = gmmp__grid_init(&grid, &ex->geom, h, w);
    if (rc)
        return rc;
    if (index >= grid.count)
        return gmmp__fail(GMMP_EDIM, "patch %zu does not exist: a %zux%zu image has %zu",
                          index, h, w, grid.count);
    gmmp__grid_pos(&grid, index, row, col);
    return GMMP_OK;
}

int gmmp__check_range(size_t first, size_t count, size_t total)
{
    if (first > total || count > total - first)
        return gmmp__fail(GMMP_EDIM, "patches %zu..%zu+%zu exceed the image's %zu patches",
                          first, first, count, total);
    return GMMP_OK;
}

/* Copies patch `index` of the grid into dst (d values) and, with means,
 * removes its per-channel means into means[0 .. C-1]. */
static void copy_patch(const gmmp__geometry *g, const gmmp__grid *grid, const double *image,
                       size_t pitch, size_t index, double *dst, double *means)
{
    const size_t C = g->channels, row_len = g->patch_w * C;
    size_t r0, c0;
    gmmp__grid_pos(grid, index, &r0, &c0);
    /* Rows of a few values: a plain loop, which vectorises, costs less
     * than a call to memcpy per row (a tenth of a fast EPLL step's serial
     * time went to those calls). */
    for (size_t r = 0; r < g->patch_h; r++) {
        const double *src = image + (r0 + r) * pitch + c0 * C;
        double *to = dst + r * row_len;
        for (size_t j = 0; j < row_len; j++)
            to[j] = src[j];
    }
    if (!means)
        return;
    const size_t pixels = g->patch_h * g->patch_w;
    if (C == 1) { /* the same sums, with a unit stride the compiler can see */
        double sum = 0.0;
        for (size_t j = 0; j < g->dim; j++)
            sum += dst[j];
        double mean = sum / (double)pixels;
        for (size_t j = 0; j < g->dim; j++)
            dst[j] -= mean;
        means[0] = mean;
        return;
    }
    for (size_t ch = 0; ch < C; ch++) {
        double sum = 0.0;
        for (size_t j = ch; j < g->dim; j += C)
            sum += dst[j];
        double mean = sum / (double)pixels;
        for (size_t j = ch; j < g->dim; j += C)
            dst[j] -= mean;
        means[ch] = mean;
    }
}

int gmmp_extractor_extract(const gmmp_extractor *ex, const double *image, size_t h, size_t w,
                           size_t pitch, size_t first, size_t count, double *patches,
                           double *means)
{
    if (!ex || !patches)
        return gmmp__fail(GMMP_EINVAL, "extractor or patch buffer is NULL");
    const gmmp__geometry *g = &ex->geom;
    int rc = gmmp__check_image(image, h, w, g->channels, pitch);
    if (rc)
        return rc;
    gmmp__grid grid;
    if ((rc = gmmp__grid_init(&grid, g, h, w)) ||
        (rc = gmmp__check_range(first, count, grid.count)))
        return rc;
    for (size_t i = 0; i < count; i++)
        copy_patch(g, &grid, image, pitch, first + i, patches + i * g->dim,
                   means ? means + i * g->channels : NULL);
    return GMMP_OK;
}

int gmmp_extractor_sample(const gmmp_extractor *ex, const double *image, size_t h, size_t w,
                          size_t pitch, size_t count, uint64_t seed, double *patches,
                          double *means, size_t *n_out)
{
    if (!ex || !patches || !n_out)
        return gmmp__fail(GMMP_EINVAL, "extractor, patch buffer or count output is NULL");
    const gmmp__geometry *g = &ex->geom;
    int rc = gmmp__check_image(image, h, w, g->channels, pitch);
    if (rc)
        return rc;
    gmmp__grid grid;
    if ((rc = gmmp__grid_init(&grid, g, h, w)))
        return rc;
    const size_t n = grid.count, take = count < n ? count : n;
    /* Selection sampling (Knuth's algorithm S): one pass over the patch
     * numbers, each kept with probability (still needed) / (still left),
     * gives a uniform subset of exactly `take`, already in order, with
     * no memory beyond the output. */
    gmmp__rng rng;
    gmmp__rng_seed(&rng, seed);
    size_t kept = 0;
    for (size_t i = 0; i < n && kept < take; i++) {
        if (gmmp__rng_below(&rng, n - i) >= take - kept)
            continue;
        copy_patch(g, &grid, image, pitch, i, patches + kept * g->dim,
                   means ? means + kept * g->channels : NULL);
        kept++;
    }
    *n_out = kept;
    return GMMP_OK;
}
