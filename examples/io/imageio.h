/*
 * Image input and output for the tools and examples (not part of the
 * library): MNIST IDX files (gzip-compressed or not), PGM, PPM, PNG.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMPIO_IMAGEIO_H
#define GMMPIO_IMAGEIO_H

#include <stddef.h>

/* A stack of equally sized images, row-major doubles with `channels`
 * values per pixel interleaved (RGB as R, G, B; the library's layout);
 * image i starts at pixels + i * rows * cols * channels. A single image
 * has count 1. channels 0 means 1 (grey), so a zero-initialised stack and
 * every reader called without GMMPIO_READ_COLOUR give grey images;
 * gmmpio_stack_channels() reads it. */
typedef struct gmmpio_stack {
    size_t count, rows, cols;
    double *pixels;
    unsigned maxval;   /* a PGM/PPM's maxval, 65535 for a 16-bit PNG (the depth, kept
                          on output); 0 otherwise (8-bit PNG, IDX: 0..255) */
    unsigned channels; /* values per pixel: 1 (or 0) grey, 3 RGB */
} gmmpio_stack;

/* The stack's values per pixel: its channels, 1 when 0. */
size_t gmmpio_stack_channels(const gmmpio_stack *img);

/* Flags of the readers that take them. GMMPIO_READ_COLOUR accepts colour
 * images as 3-channel stacks: RGB and palette PNGs, PPM (P6, P3), and IDX
 * arrays of 4 dimensions n x h x w x 3 (interleaved RGB); it also accepts
 * 2-dimensional IDX arrays (one h x w grey image). Without it, colour is
 * refused with a reason, as before. */
#define GMMPIO_READ_COLOUR 1u

/* Element types of IDX files (the IDX type byte). */
enum gmmpio_idx_type {
    GMMPIO_IDX_UBYTE = 0x08,
    GMMPIO_IDX_FLOAT = 0x0D,
    GMMPIO_IDX_DOUBLE = 0x0E
};

/* Sizes beyond which a header is taken as corrupt rather than believed. */
#define GMMPIO_MAX_DIM 1000000u
#define GMMPIO_MAX_ELEMENTS (1u << 31)

/* The readers' memory bound: a file whose header declares more elements
 * (pixels over all its images) than this limit is refused before anything
 * is allocated or decompressed, and reading stops at the declared size
 * (gzip bombs). The default, 2^27 elements, is 1 GiB of doubles; the tools
 * raise it with --max-elements, up to GMMPIO_MAX_ELEMENTS. A PGM file may
 * also be at most 8 bytes per element (plus 64 KiB) long. The streaming
 * reader applies the limit to one image. */
#define GMMPIO_DEFAULT_MAX_ELEMENTS ((size_t)1 << 27)
void gmmpio_set_max_elements(size_t n); /* clamped to 1..GMMPIO_MAX_ELEMENTS */
size_t gmmpio_max_elements(void);

/* Output files of the tools and examples, written atomically: a unique
 * temporary in the target's directory, fsync'ed, renamed over the target.
 * Symlinks are written through, an existing file's mode is kept, targets
 * that are not regular files (devices, FIFOs, directories) are refused; on
 * failure the old file is untouched and no temporary is left. The same
 * code as the library's model files (lib/atomic_file.c). */
int gmmpio_atomic_write(const char *path, const void *data, size_t size, char *err,
                        size_t errlen);

/* Checks early, before long work, that gmmpio_atomic_write(path) can succeed. */
int gmmpio_atomic_check(const char *path, char *err, size_t errlen);

/* Opens an input without blocking on a FIFO; refuses anything but a
 * regular file with a message saying what it is. Returns a descriptor
 * or -1; *size (if not NULL) receives the file's size. */
int gmmpio_open_input(const char *path, long long *size, char *err, size_t errlen);

/* True when every value is finite and of magnitude at most `limit`; else
 * -1 with a message naming `path`, the image and the value. */
int gmmpio_check_values(const gmmpio_stack *img, double limit, const char *path, char *err,
                        size_t errlen);

/* All functions return 0 on success or -1 with a message in err (which
 * may be NULL). They never leave partial results: on failure *out is
 * untouched. */

/* Reads an IDX file of images (3 dimensions: count x rows x cols) or of
 * labels/values (1 dimension: count, given as count x 1 x 1). Files,
 * never FIFOs or devices; sizes within gmmpio_max_elements(). Gzip files
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
 * image with values on 0..maxval (out->maxval says which). Data after the
 * image (a second image, or garbage) is refused. */
int gmmpio_pgm_read(const char *path, gmmpio_stack *out, char *err, size_t errlen);

/* Parses a PGM image from memory. */
int gmmpio_pgm_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen);

/* Writes image `index` of a stack as PGM, binary (P5) or plain (P2),
 * values rounded and clamped to 0..maxval: img->maxval (2-byte samples
 * above 255), or 255 when it is 0. */
int gmmpio_pgm_write(const char *path, const gmmpio_stack *img, size_t index, int plain,
                     char *err, size_t errlen);

/* Parses a PGM, or with GMMPIO_READ_COLOUR also a PPM (P6 binary, P3
 * plain; 3 channels), from memory; as gmmpio_pgm_parse() otherwise. */
int gmmpio_pnm_parse(const unsigned char *data, size_t size, unsigned flags, gmmpio_stack *out,
                     char *err, size_t errlen);

/* Writes image `index` of a 3-channel stack as a binary PPM (P6), values
 * rounded and clamped to 0..maxval as gmmpio_pgm_write(). */
int gmmpio_ppm_write(const char *path, const gmmpio_stack *img, size_t index, char *err,
                     size_t errlen);

/* Writes a grayscale 8-bit PNG of rows x cols values, rounded and clamped
 * to 0..255. */
int gmmpio_png_write(const char *path, const double *pixels, size_t rows, size_t cols,
                     char *err, size_t errlen);

/* Writes image `index` of a stack as PNG: grey (1 channel) or RGB (3),
 * 16-bit when img->maxval exceeds 255 (values scaled by 65535 / maxval),
 * else 8-bit (values on 0..maxval, or 0..255 when maxval is 0, scaled to
 * 0..255); rounded and clamped. */
int gmmpio_png_write_stack(const char *path, const gmmpio_stack *img, size_t index, char *err,
                           size_t errlen);

/* Reads a PNG from memory or a file as one image. Grey PNGs of 1, 2, 4 or
 * 8 bits give values on 0..255 (maxval 0), 16-bit ones values on 0..65535
 * (maxval 65535). RGB and palette PNGs (read as RGB, 8 or 16-bit) only
 * with GMMPIO_READ_COLOUR (gmmpio_png_parse_ex); without it they are
 * refused with a reason. PNGs with an alpha channel are always refused
 * (restoring transparent pixels has no meaning: flatten the image first);
 * a tRNS transparency chunk is ignored. Interlaced PNGs are read. */
int gmmpio_png_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen);
int gmmpio_png_parse_ex(const unsigned char *data, size_t size, unsigned flags,
                        gmmpio_stack *out, char *err, size_t errlen);
int gmmpio_png_read(const char *path, gmmpio_stack *out, char *err, size_t errlen);

/* File kinds the tools read and write. */
enum gmmpio_kind { GMMPIO_KIND_IDX, GMMPIO_KIND_PGM, GMMPIO_KIND_PNG, GMMPIO_KIND_PPM };

/* The kind an output name asks for by its suffix (case-insensitive):
 * .png, .pgm, .ppm, .idx (and .idx.gz). Returns 0, or -1 with a message
 * listing the suffixes. */
int gmmpio_kind_from_name(const char *path, enum gmmpio_kind *kind, char *err, size_t errlen);

/* Reads images from an IDX image file (3 dimensions; gzip-compressed or
 * not), a PGM or a PNG file, recognised by their first bytes (opened once);
 * *kind (if not NULL) says which. 1-dimensional IDX data (labels) is
 * refused: it holds no images. Grey only: colour is refused with a reason. */
int gmmpio_read_images(const char *path, gmmpio_stack *out, enum gmmpio_kind *kind, char *err,
                       size_t errlen);

/* gmmpio_read_images() with flags: GMMPIO_READ_COLOUR also reads PPM
 * (*kind GMMPIO_KIND_PPM), RGB PNGs and IDX arrays of shape h x w or
 * n x h x w x 3. */
int gmmpio_read_images_ex(const char *path, unsigned flags, gmmpio_stack *out,
                          enum gmmpio_kind *kind, char *err, size_t errlen);

/* Writes a stack atomically, in the format its name's suffix says
 * (gmmpio_kind_from_name()), else in the given kind: IDX as doubles
 * (gzip-compressed when the name ends in ".gz"; 4 dimensions n x h x w x 3
 * for RGB), PGM (one grey image, at the stack's maxval), PPM (one RGB
 * image, at the stack's maxval) or PNG (one image, grey or RGB, 16-bit
 * when maxval exceeds 255: gmmpio_png_write_stack()). */
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

/* Allocates a zeroed grey stack; returns -1 on overflow or out of memory. */
int gmmpio_stack_alloc(gmmpio_stack *img, size_t count, size_t rows, size_t cols);

/* Allocates a zeroed stack of `channels` values per pixel (>= 1). */
int gmmpio_stack_alloc_channels(gmmpio_stack *img, size_t count, size_t rows, size_t cols,
                                size_t channels);

#endif /* GMMPIO_IMAGEIO_H */
