/*
 * 8-bit grayscale PNG output through libpng, for figures.
 * SPDX-License-Identifier: MIT
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>

#include "imageio.h"
#include "ioutil.h"

int gmmpio_png_write(const char *path, const double *pixels, size_t rows, size_t cols,
                     char *err, size_t errlen)
{
    if (rows == 0 || cols == 0 || rows > PNG_UINT_31_MAX || cols > PNG_UINT_31_MAX)
        return gmmpio__fail(err, errlen, "cannot write a %zux%zu PNG", rows, cols);
    unsigned char *row = malloc(cols);
    FILE *f = row ? fopen(path, "wb") : NULL;
    if (!f) {
        free(row);
        return gmmpio__fail(err, errlen, "cannot create %s", path);
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    /* libpng reports errors by longjmp; the volatile status survives it. */
    volatile int rc = -1;
    if (png && info && !setjmp(png_jmpbuf(png))) {
        png_init_io(png, f);
        png_set_IHDR(png, info, (png_uint_32)cols, (png_uint_32)rows, 8, PNG_COLOR_TYPE_GRAY,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                     PNG_FILTER_TYPE_DEFAULT);
        png_write_info(png, info);
        for (size_t r = 0; r < rows; r++) {
            for (size_t c = 0; c < cols; c++)
                row[c] = gmmpio__to_byte(pixels[r * cols + c]);
            png_write_row(png, row);
        }
        png_write_end(png, NULL);
        rc = 0;
    }
    png_destroy_write_struct(png ? &png : NULL, info ? &info : NULL);
    if (fclose(f) != 0)
        rc = -1;
    free(row);
    if (rc)
        return gmmpio__fail(err, errlen, "could not write PNG %s", path);
    return 0;
}
