/*
 * Patch extractor: copies overlapping patches of an image into the rows of
 * a matrix, optionally removing each patch's mean.
 * SPDX-License-Identifier: MIT
 */
#include "gmmprior/patches.h"

#include "extractor.h"
#include "internal.h"

int gmmp_extractor_create(gmmp_extractor **out, size_t patch_h, size_t patch_w, size_t step)
{
    return gmmp_extractor_create_grid(out, patch_h, patch_w, step, 0, 0);
}

int gmmp_extractor_create_grid(gmmp_extractor **out, size_t patch_h, size_t patch_w,
                               size_t step, size_t row_offset, size_t col_offset)
{
    if (!out)
        return gmmp__fail(GMMP_EINVAL, "output handle pointer is NULL");
    if (patch_h == 0 || patch_w == 0)
        return gmmp__fail(GMMP_EINVAL, "patch size %zux%zu is empty", patch_h, patch_w);
    if (step == 0)
        return gmmp__fail(GMMP_EINVAL, "patch step must be at least 1");
    if (row_offset >= step || col_offset >= step)
        return gmmp__fail(GMMP_EINVAL, "grid offsets %zu, %zu must be less than the step %zu",
                          row_offset, col_offset, step);
    size_t dim;
    if (!gmmp__mul_ok(patch_h, patch_w, &dim) || dim > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "patch size %zux%zu overflows", patch_h, patch_w);
    gmmp_extractor *ex = gmmp__alloc(sizeof *ex);
    if (!ex)
        return gmmp__fail_nomem();
    ex->geom = (gmmp__geometry){patch_h, patch_w, step, dim, row_offset, col_offset};
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

int gmmp_extractor_extract(const gmmp_extractor *ex, const double *image, size_t h, size_t w,
                           size_t pitch, size_t first, size_t count, double *patches,
                           double *means)
{
    if (!ex || !patches)
        return gmmp__fail(GMMP_EINVAL, "extractor or patch buffer is NULL");
    int rc = gmmp__check_image(image, h, w, pitch);
    if (rc)
        return rc;
    gmmp__grid grid;
    if ((rc = gmmp__grid_init(&grid, &ex->geom, h, w)) ||
        (rc = gmmp__check_range(first, count, grid.count)))
        return rc;

    const gmmp__geometry *g = &ex->geom;
    for (size_t i = 0; i < count; i++) {
        size_t r0, c0;
        gmmp__grid_pos(&grid, first + i, &r0, &c0);
        double *dst = patches + i * g->dim;
        double sum = 0.0;
        for (size_t r = 0; r < g->patch_h; r++) {
            const double *src = image + (r0 + r) * pitch + c0;
            for (size_t c = 0; c < g->patch_w; c++) {
                dst[r * g->patch_w + c] = src[c];
                sum += src[c];
            }
        }
        if (means) {
            double mean = sum / (double)g->dim;
            for (size_t j = 0; j < g->dim; j++)
                dst[j] -= mean;
            means[i] = mean;
        }
    }
    return GMMP_OK;
}
