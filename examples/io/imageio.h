/*
 * Image input and output for the tools and examples (not part of the
 * library): MNIST IDX files (gzip-compressed or not), PGM, PNG.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMPIO_IMAGEIO_H
#define GMMPIO_IMAGEIO_H

#include <stddef.h>

/* A stack of equally sized grayscale images, row-major doubles; image i
 * starts at pixels + i * rows * cols. A single image has count 1. */
typedef struct gmmpio_stack {
    size_t count, rows, cols;
    double *pixels;
} gmmpio_stack;

/* Element types of IDX files (the IDX type byte). */
enum gmmpio_idx_type {
    GMMPIO_IDX_UBYTE = 0x08,
    GMMPIO_IDX_FLOAT = 0x0D,
    GMMPIO_IDX_DOUBLE = 0x0E
};

/* Sizes beyond which a header is taken as corrupt rather than believed. */
#define GMMPIO_MAX_DIM 1000000u
#define GMMPIO_MAX_ELEMENTS (1u << 31)

/* All functions return 0 on success or -1 with a message in err (which
 * may be NULL). They never leave partial results: on failure *out is
 * untouched. */

/* Reads an IDX file of images (3 dimensions: count x rows x cols) or of
 * labels/values (1 dimension: count, given as count x 1 x 1). Gzip files
 * are recognised by their content. Element types: unsigned byte, signed
 * byte, 16/32-bit integers, float, double. */
int gmmpio_idx_read(const char *path, gmmpio_stack *out, char *err, size_t errlen);

/* Reads an IDX image file from memory (gzip not recognised). */
int gmmpio_idx_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen);

/* Writes a stack as a 3-dimensional IDX file of the given element type;
 * ubyte values are rounded and clamped to 0..255. With gzip non-zero the
 * file is gzip-compressed. */
int gmmpio_idx_write(const char *path, const gmmpio_stack *img, enum gmmpio_idx_type type,
                     int gzip, char *err, size_t errlen);

/* Reads a PGM image (P2 plain or P5 binary, maxval up to 65535) as one
 * image with values on 0..maxval. */
int gmmpio_pgm_read(const char *path, gmmpio_stack *out, char *err, size_t errlen);

/* Parses a PGM image from memory. */
int gmmpio_pgm_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen);

/* Writes image `index` of a stack as PGM, binary (P5) or plain (P2),
 * maxval 255, values rounded and clamped. */
int gmmpio_pgm_write(const char *path, const gmmpio_stack *img, size_t index, int plain,
                     char *err, size_t errlen);

/* Writes a grayscale 8-bit PNG of rows x cols values, rounded and clamped
 * to 0..255. */
int gmmpio_png_write(const char *path, const double *pixels, size_t rows, size_t cols,
                     char *err, size_t errlen);

/* File kinds the tools read and write. */
enum gmmpio_kind { GMMPIO_KIND_IDX, GMMPIO_KIND_PGM };

/* Reads images from an IDX file (gzip-compressed or not) or a PGM file,
 * recognised by their first bytes; *kind (if not NULL) says which. */
int gmmpio_read_images(const char *path, gmmpio_stack *out, enum gmmpio_kind *kind, char *err,
                       size_t errlen);

/* Writes a stack in the given kind: IDX as doubles (gzip-compressed when
 * the name ends in ".gz"), or PGM (one image; values rounded to 0..255). */
int gmmpio_write_images(const char *path, const gmmpio_stack *img, enum gmmpio_kind kind,
                        char *err, size_t errlen);

/* Reads images a batch at a time, so that inputs larger than memory can be
 * streamed: IDX files (gzip or not) are read from disk as needed; a PGM
 * file (one image) is read whole. */
typedef struct gmmpio_reader gmmpio_reader;

int gmmpio_reader_open(gmmpio_reader **out, const char *path, char *err, size_t errlen);

/* Number of images and their size. */
void gmmpio_reader_info(const gmmpio_reader *r, size_t *count, size_t *rows, size_t *cols);

/* Reads up to `max` images into pixels (max * rows * cols doubles).
 * Returns how many were read (0 at the end), or -1 with a message (a
 * truncated or corrupt file). */
long gmmpio_reader_next(gmmpio_reader *r, double *pixels, size_t max, char *err, size_t errlen);

/* Goes back to the first image. */
int gmmpio_reader_rewind(gmmpio_reader *r, char *err, size_t errlen);

void gmmpio_reader_close(gmmpio_reader *r);

/* Frees the pixels of a stack and zeroes it. */
void gmmpio_stack_free(gmmpio_stack *img);

/* Allocates a zeroed stack; returns -1 on overflow or out of memory. */
int gmmpio_stack_alloc(gmmpio_stack *img, size_t count, size_t rows, size_t cols);

#endif /* GMMPIO_IMAGEIO_H */
