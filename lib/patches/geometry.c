/*
 * Patch grid of an image: how many patches, and where.
 * SPDX-License-Identifier: MIT
 */
#include "geometry.h"
#include "internal.h"

static gmmp__axis make_axis(size_t size, size_t psize, size_t step, size_t offset)
{
    gmmp__axis a = {.offset = offset, .step = step, .span = size - psize};
    a.lead = offset > 0;
    if (offset <= a.span) {
        a.regular = (a.span - offset) / step + 1;
        size_t last = offset + (a.regular - 1) * step;
        /* One flush with the border if the steps stop short of it. */
        a.count = a.lead + a.regular + (last < a.span);
    } else {
        /* No regular position fits: 0 and the border. */
        a.regular = 0;
        a.count = a.span > 0 ? 2 : 1;
    }
    return a;
}

int gmmp__grid_init(gmmp__grid *grid, const gmmp__geometry *g, size_t h, size_t w)
{
    if (h == 0 || w == 0)
        return gmmp__fail(GMMP_EINVAL, "image size %zux%zu is empty", h, w);
    if (g->patch_h > h || g->patch_w > w)
        return gmmp__fail(GMMP_EDIM, "patch %zux%zu does not fit a %zux%zu image",
                          g->patch_h, g->patch_w, h, w);
    size_t pixels;
    if (!gmmp__mul_ok(h, w, &pixels) || pixels > SIZE_MAX / sizeof(double))
        return gmmp__fail(GMMP_EOVERFLOW, "image size %zux%zu overflows", h, w);
    grid->row = make_axis(h, g->patch_h, g->step, g->row_offset);
    grid->col = make_axis(w, g->patch_w, g->step, g->col_offset);
    grid->rows = grid->row.count;
    grid->cols = grid->col.count;
    /* rows*cols <= h*w, which fits, so the product cannot overflow. */
    grid->count = grid->rows * grid->cols;
    return GMMP_OK;
}

int gmmp__check_image(const double *image, size_t h, size_t w, size_t channels, size_t pitch)
{
    if (!image)
        return gmmp__fail(GMMP_EINVAL, "image is NULL");
    if (h == 0 || w == 0)
        return gmmp__fail(GMMP_EINVAL, "image size %zux%zu is empty", h, w);
    size_t row;
    const size_t max_elems = SIZE_MAX / sizeof(double);
    if (!gmmp__mul_ok(w, channels, &row) || row > max_elems)
        return gmmp__fail(GMMP_EOVERFLOW, "image width %zu with %zu channels overflows", w,
                          channels);
    if (pitch < row)
        return gmmp__fail(GMMP_EINVAL,
                          "row pitch %zu is less than the width %zu times the %zu channels",
                          pitch, w, channels);
    size_t span;
    if (!gmmp__mul_ok(h - 1, pitch, &span) || span > max_elems || row > max_elems - span)
        return gmmp__fail(GMMP_EOVERFLOW, "image of %zu rows with pitch %zu overflows", h,
                          pitch);
    return GMMP_OK;
}
