/*
 * 8-bit grayscale PNG through libpng: output for figures (encoded in
 * memory, then written atomically), and input of grayscale images.
 * SPDX-License-Identifier: MIT
 */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imageio.h"
#include "ioutil.h"

typedef struct membuf {
    unsigned char *data;
    size_t len, cap;
    int failed;
} membuf;

static void mem_write(png_structp png, png_bytep p, png_size_t n)
{
    membuf *m = png_get_io_ptr(png);
    if (m->failed)
        return;
    if (n > m->cap - m->len) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap - m->len < n && cap <= SIZE_MAX / 2)
            cap *= 2;
        unsigned char *grown = cap - m->len >= n ? realloc(m->data, cap) : NULL;
        if (!grown) {
            m->failed = 1;
            png_error(png, "out of memory");
        }
        m->data = grown, m->cap = cap;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
}

static void mem_flush(png_structp png)
{
    (void)png;
}

int gmmpio_png_write(const char *path, const double *pixels, size_t rows, size_t cols,
                     char *err, size_t errlen)
{
    if (rows == 0 || cols == 0 || rows > PNG_UINT_31_MAX || cols > PNG_UINT_31_MAX)
        return gmmpio__fail(err, errlen, "cannot write a %zux%zu PNG", rows, cols);
    unsigned char *row = malloc(cols);
    membuf mem = {0};
    png_structp png = row ? png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL)
                          : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    /* libpng reports errors by longjmp; the volatile status survives it. */
    volatile int rc = -1;
    if (png && info && !setjmp(png_jmpbuf(png))) {
        png_set_write_fn(png, &mem, mem_write, mem_flush);
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
    if (png)
        png_destroy_write_struct(&png, info ? &info : NULL);
    free(row);
    if (rc) {
        free(mem.data);
        return gmmpio__fail(err, errlen, "cannot write %s: PNG encoding failed%s", path,
                            mem.failed || !png ? " (out of memory)" : "");
    }
    rc = gmmpio_atomic_write(path, mem.data, mem.len, err, errlen);
    free(mem.data);
    return rc;
}

int gmmpio_png_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&image, data, size))
        return gmmpio__fail(err, errlen, "not a readable PNG (%s)", image.message);
    const char *why = NULL;
    if (image.format & PNG_FORMAT_FLAG_COLOR)
        why = "in colour; only grayscale PNGs are read";
    else if (image.format & PNG_FORMAT_FLAG_ALPHA)
        why = "with an alpha channel; only plain grayscale PNGs are read";
    else if (image.format & PNG_FORMAT_FLAG_LINEAR)
        why = "16-bit; only 8-bit PNGs are read (use a 16-bit PGM)";
    else if ((unsigned long long)image.width * image.height > gmmpio_max_elements())
        why = "above the limit of --max-elements pixels";
    if (why) {
        png_image_free(&image);
        return gmmpio__fail(err, errlen, "PNG of %ux%u is %s", (unsigned)image.width,
                            (unsigned)image.height, why);
    }
    image.format = PNG_FORMAT_GRAY;
    size_t rows = image.height, cols = image.width;
    unsigned char *buf = malloc(PNG_IMAGE_SIZE(image));
    gmmpio_stack img;
    if (!buf || gmmpio_stack_alloc(&img, 1, rows, cols)) {
        free(buf);
        png_image_free(&image);
        return gmmpio__fail(err, errlen, "out of memory for a %zux%zu PNG", rows, cols);
    }
    if (!png_image_finish_read(&image, NULL, buf, (png_int_32)cols, NULL)) {
        free(buf);
        gmmpio_stack_free(&img);
        return gmmpio__fail(err, errlen, "corrupt PNG (%s)", image.message);
    }
    for (size_t i = 0; i < rows * cols; i++)
        img.pixels[i] = buf[i];
    free(buf);
    img.maxval = 0;
    *out = img;
    return 0;
}

int gmmpio__png_read_fd(int fd, long long size, const char *path, gmmpio_stack *out, char *err,
                        size_t errlen)
{
    /* Compressed data: allow generously more than raw 8-bit pixels. */
    const unsigned long long limit = 8ull * gmmpio_max_elements() + 65536;
    if ((unsigned long long)size > limit) {
        close(fd);
        return gmmpio__fail(err, errlen, "%s: PNG file of %lld bytes is above the limit of %llu "
                                         "(raise it with --max-elements)",
                            path, size, limit);
    }
    unsigned char *buf;
    if (gmmpio__slurp(fd, size, path, &buf, err, errlen))
        return -1;
    int rc = gmmpio_png_parse(buf, (size_t)size, out, err, errlen);
    if (rc)
        gmmpio__prefix(err, errlen, path);
    free(buf);
    return rc;
}

int gmmpio_png_read(const char *path, gmmpio_stack *out, char *err, size_t errlen)
{
    long long size;
    int fd = gmmpio_open_input(path, &size, err, errlen);
    if (fd < 0)
        return -1;
    return gmmpio__png_read_fd(fd, size, path, out, err, errlen);
}
