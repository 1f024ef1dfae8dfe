/*
 * Private helpers of the image readers and writers.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMPIO_IOUTIL_H
#define GMMPIO_IOUTIL_H

#include <stddef.h>

#include "imageio.h"

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int gmmpio__fail(char *err, size_t errlen, const char *fmt, ...);

/* Rounds to 0..255, NaN to 0. */
unsigned char gmmpio__to_byte(double v);

/* Rounds to 0..maxval, NaN to 0. */
unsigned gmmpio__to_level(double v, unsigned maxval);

/* Puts "path: " before the message in err; returns -1. */
int gmmpio__prefix(char *err, size_t errlen, const char *path);

/* Reads the whole of an open input of `size` bytes (from gmmpio_open_input)
 * into *buf (malloc'ed); closes fd. Refuses a file that changed size. */
int gmmpio__slurp(int fd, long long size, const char *path, unsigned char **buf, char *err,
                  size_t errlen);

/* Readers of an input already opened by gmmpio_open_input (of `size`
 * bytes); they take the descriptor and close it. */
/* images_only: 0 any IDX (1 or 3 dimensions), 1 images (3 dimensions),
 * 2 images of any shape (2, 3, or 4 dimensions ending in 3: RGB). */
int gmmpio__idx_read_fd(int fd, long long size, const char *path, int images_only,
                        gmmpio_stack *out, char *err, size_t errlen);
/* flags: GMMPIO_READ_COLOUR or 0. */
int gmmpio__pgm_read_fd(int fd, long long size, const char *path, unsigned flags,
                        gmmpio_stack *out, char *err, size_t errlen);
int gmmpio__png_read_fd(int fd, long long size, const char *path, unsigned flags,
                        gmmpio_stack *out, char *err, size_t errlen);

#endif /* GMMPIO_IOUTIL_H */
