/*
 * Patch placement along an image, shared by the extractor and the
 * reconstructor so that both number patches identically.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_GEOMETRY_H
#define GMMP_GEOMETRY_H

#include <stddef.h>

typedef struct gmmp__geometry {
    size_t patch_h, patch_w, channels, step;
    size_t dim; /* patch_h * patch_w * channels */
    size_t row_offset, col_offset; /* first regular position; < step */
} gmmp__geometry;

/* Positions along one axis: 0 if the offset is not 0, then offset,
 * offset + step, ... while the patch fits, then one flush with the border
 * if the regular ones stop short of it. */
typedef struct gmmp__axis {
    size_t lead;    /* 1 if position 0 precedes the regular ones */
    size_t regular; /* number of regular positions */
    size_t offset, step, span; /* span = size - patch, the last position */
    size_t count;
} gmmp__axis;

/* Patch counts along each axis of an h x w image. */
typedef struct gmmp__grid {
    gmmp__axis row, col;
    size_t rows, cols, count;
} gmmp__grid;

/* Validates the image size against the geometry and fills the grid.
 * Sets the error message and returns a GMMP_E* code on failure. */
int gmmp__grid_init(gmmp__grid *grid, const gmmp__geometry *g, size_t h, size_t w);

/* Offset of the i-th position along an axis. */
static inline size_t gmmp__axis_pos(const gmmp__axis *a, size_t i)
{
    if (i < a->lead)
        return 0;
    i -= a->lead;
    return i < a->regular ? a->offset + i * a->step : a->span;
}

/* Top-left corner of patch `index` (raster order of corners). */
static inline void gmmp__grid_pos(const gmmp__grid *grid, size_t index, size_t *r, size_t *c)
{
    *r = gmmp__axis_pos(&grid->row, index / grid->cols);
    *c = gmmp__axis_pos(&grid->col, index % grid->cols);
}

/* `step` clamped to the patch's height and width: a grid no coarser than
 * the patch gives every pixel an estimate. */
static inline size_t gmmp__step_within_patch(size_t step, size_t patch_h, size_t patch_w)
{
    step = step < patch_h ? step : patch_h;
    return step < patch_w ? step : patch_w;
}

/* Checks an image pointer, sizes and pitch (>= w * channels) shared by
 * several entry points. */
int gmmp__check_image(const double *image, size_t h, size_t w, size_t channels, size_t pitch);

#endif /* GMMP_GEOMETRY_H */
