/*
 * Patch placement along an image, shared by the extractor and the
 * reconstructor so that both number patches identically.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_GEOMETRY_H
#define GMMP_GEOMETRY_H

#include <stddef.h>

typedef struct gmmp__geometry {
    size_t patch_h, patch_w, step, dim;
} gmmp__geometry;

/* Patch counts along each axis of an h x w image. */
typedef struct gmmp__grid {
    size_t rows, cols, count;
} gmmp__grid;

/* Validates the image size against the geometry and fills the grid.
 * Sets the error message and returns a GMMP_E* code on failure. */
int gmmp__grid_init(gmmp__grid *grid, const gmmp__geometry *g, size_t h, size_t w);

/* Offset of the i-th patch along an axis of `size` pixels where `count`
 * patches of `psize` pixels are placed every `step` pixels. */
static inline size_t gmmp__axis_pos(size_t i, size_t count, size_t size, size_t psize,
                                    size_t step)
{
    /* Regular positions, except that the last patch is flush with the
     * border so that every pixel is covered. */
    return i + 1 == count ? size - psize : i * step;
}

/* Checks an image pointer, sizes and pitch shared by several entry points. */
int gmmp__check_image(const double *image, size_t h, size_t w, size_t pitch);

#endif /* GMMP_GEOMETRY_H */
