/*
 * PNG through libpng: grey and RGB, 8 and 16-bit, encoded in memory and
 * written atomically; read from memory with libpng's error longjmp caught
 * (a truncated or corrupt file is refused, never half-read).
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

/* libpng reports errors by longjmp: the message is kept here. */
typedef struct png_ctx {
    char message[200];
    char warning[100]; /* the last warning: libpng explains "Invalid IHDR data" there */
} png_ctx;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_ctx *ctx = png_get_error_ptr(png);
    if (ctx && ctx->warning[0])
        snprintf(ctx->message, sizeof ctx->message, "%s: %s", msg, ctx->warning);
    else if (ctx)
        snprintf(ctx->message, sizeof ctx->message, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    /* Ancillary trouble (a bad gAMA, say) is not fatal: only kept. */
    png_ctx *ctx = png_get_error_ptr(png);
    if (ctx)
        snprintf(ctx->warning, sizeof ctx->warning, "%s", msg);
}

/* Encodes rows x cols pixels of `channels` (1 or 3) values, 8 or 16 bits
 * (values already on 0..255 or 0..65535 after `scale`), in memory, then
 * writes the file atomically. */
static int png_encode(const char *path, const double *pixels, size_t rows, size_t cols,
                      size_t channels, int bits, double scale, char *err, size_t errlen)
{
    if (rows == 0 || cols == 0 || rows > PNG_UINT_31_MAX || cols > PNG_UINT_31_MAX / 6)
        return gmmpio__fail(err, errlen, "cannot write a %zux%zu PNG", rows, cols);
    if (channels != 1 && channels != 3)
        return gmmpio__fail(err, errlen, "cannot write %s: a PNG holds 1 or 3 channels, not %zu",
                            path, channels);
    const size_t per = channels * (bits == 16 ? 2 : 1), values = cols * channels;
    const unsigned top = bits == 16 ? 65535u : 255u;
    unsigned char *row = malloc(cols * per);
    membuf mem = {0};
    png_ctx ctx = {{0}, {0}};
    png_structp png = row ? png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, on_png_error,
                                                    on_png_warning)
                          : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    /* libpng reports errors by longjmp; the volatile status survives it. */
    volatile int rc = -1;
    if (png && info && !setjmp(png_jmpbuf(png))) {
        png_set_write_fn(png, &mem, mem_write, mem_flush);
        png_set_IHDR(png, info, (png_uint_32)cols, (png_uint_32)rows, bits,
                     channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
                     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                     PNG_FILTER_TYPE_DEFAULT);
        /* zlib's default level, 6, took 15 ms of a 0.25 s fast restoration
         * of a 481x321 photograph for files 8% smaller than level 3's. */
        png_set_compression_level(png, 3);
        png_write_info(png, info);
        for (size_t r = 0; r < rows; r++) {
            const double *src = pixels + r * values;
            for (size_t i = 0; i < values; i++) {
                unsigned v = gmmpio__to_level(src[i] * scale, top);
                if (bits == 16) {
                    row[2 * i] = (unsigned char)(v >> 8); /* PNG samples are big-endian */
                    row[2 * i + 1] = (unsigned char)v;
                } else {
                    row[i] = (unsigned char)v;
                }
            }
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

int gmmpio_png_write(const char *path, const double *pixels, size_t rows, size_t cols,
                     char *err, size_t errlen)
{
    return png_encode(path, pixels, rows, cols, 1, 8, 1.0, err, errlen);
}

int gmmpio_png_write_stack(const char *path, const gmmpio_stack *img, size_t index, char *err,
                           size_t errlen)
{
    if (index >= img->count)
        return gmmpio__fail(err, errlen, "no image %zu in a stack of %zu", index, img->count);
    size_t ch = gmmpio_stack_channels(img);
    unsigned maxval = img->maxval ? img->maxval : 255;
    int bits = maxval > 255 ? 16 : 8;
    double scale = (bits == 16 ? 65535.0 : 255.0) / maxval;
    return png_encode(path, img->pixels + index * img->rows * img->cols * ch, img->rows,
                      img->cols, ch, bits, scale, err, errlen);
}

typedef struct membuf_in {
    const unsigned char *data;
    size_t size, pos;
} membuf_in;

static void mem_read(png_structp png, png_bytep p, png_size_t n)
{
    membuf_in *m = png_get_io_ptr(png);
    if (n > m->size - m->pos)
        png_error(png, "file truncated");
    memcpy(p, m->data + m->pos, n);
    m->pos += n;
}

/* What the decoder allocates, freed whatever happens (the longjmp of a
 * libpng error included). */
typedef struct png_read_state {
    png_ctx ctx;
    unsigned char *buf;
    png_bytep *rows;
    gmmpio_stack img;
    const char *why; /* refusal after the header, with the sizes */
    unsigned width, height;
} png_read_state;

int gmmpio_png_parse_ex(const unsigned char *data, size_t size, unsigned flags,
                        gmmpio_stack *out, char *err, size_t errlen)
{
    if (size < 8 || png_sig_cmp(data, 0, 8))
        return gmmpio__fail(err, errlen, "not a readable PNG (no PNG signature)");
    /* On the heap: what is changed between setjmp and libpng's longjmp
     * must not live in this frame's (indeterminate) automatic objects. */
    png_read_state *st = calloc(1, sizeof *st);
    membuf_in in = {data, size, 0};
    png_structp png = st ? png_create_read_struct(PNG_LIBPNG_VER_STRING, &st->ctx, on_png_error,
                                                  on_png_warning)
                         : NULL;
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        if (png)
            png_destroy_read_struct(&png, NULL, NULL);
        free(st);
        return gmmpio__fail(err, errlen, "out of memory for a PNG decoder");
    }
    volatile int rc = -1;
    if (!setjmp(png_jmpbuf(png))) {
        png_set_read_fn(png, &in, mem_read);
        png_set_user_limits(png, GMMPIO_MAX_DIM, GMMPIO_MAX_DIM);
        png_read_info(png, info);
        png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
        int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
        st->width = (unsigned)w, st->height = (unsigned)h;
        size_t ch = (type & PNG_COLOR_MASK_COLOR) ? 3 : 1;
        if (type & PNG_COLOR_MASK_ALPHA)
            st->why = "with an alpha channel; flatten it first (gmmp-restore does not guess "
                     "what is behind transparent pixels)";
        else if (ch == 3 && !(flags & GMMPIO_READ_COLOUR))
            st->why = "in colour; only grayscale PNGs are read here";
        else if ((unsigned long long)w * h * ch > gmmpio_max_elements())
            st->why = "above the limit of --max-elements values";
        if (!st->why) {
            if (type == PNG_COLOR_TYPE_PALETTE)
                png_set_palette_to_rgb(png);
            if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
                png_set_expand_gray_1_2_4_to_8(png);
            /* The expansions above turn a tRNS chunk into an alpha
             * channel; transparency is ignored (imageio.h), so drop it. */
            if (png_get_valid(png, info, PNG_INFO_tRNS))
                png_set_strip_alpha(png);
            png_set_interlace_handling(png);
            png_read_update_info(png, info);
            size_t rowbytes = png_get_rowbytes(png, info);
            int outdepth = png_get_bit_depth(png, info);
            if (png_get_channels(png, info) != ch ||
                rowbytes != (size_t)w * ch * (outdepth == 16 ? 2 : 1))
                png_error(png, "unexpected row layout");
            st->buf = malloc(rowbytes * h);
            st->rows = malloc(sizeof *st->rows * h);
            if (!st->buf || !st->rows || gmmpio_stack_alloc_channels(&st->img, 1, h, w, ch))
                png_error(png, "out of memory");
            for (png_uint_32 r = 0; r < h; r++)
                st->rows[r] = st->buf + r * rowbytes;
            png_read_image(png, st->rows);
            png_read_end(png, NULL);
            size_t n = (size_t)w * h * ch;
            for (size_t i = 0; i < n; i++)
                st->img.pixels[i] = outdepth == 16 ? (double)(st->buf[2 * i] << 8 | st->buf[2 * i + 1])
                                                  : (double)st->buf[i];
            st->img.maxval = outdepth == 16 ? 65535 : 0;
            rc = 0;
        }
    }
    png_destroy_read_struct(&png, &info, NULL);
    free(st->buf);
    free(st->rows);
    if (rc) {
        gmmpio_stack_free(&st->img);
        if (st->why)
            gmmpio__fail(err, errlen, "PNG of %ux%u is %s", st->width, st->height, st->why);
        else
            gmmpio__fail(err, errlen, "not a readable PNG (%s)",
                         st->ctx.message[0] ? st->ctx.message : "corrupt");
        free(st);
        return -1;
    }
    *out = st->img;
    free(st);
    return 0;
}

int gmmpio_png_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen)
{
    return gmmpio_png_parse_ex(data, size, 0, out, err, errlen);
}

int gmmpio__png_read_fd(int fd, long long size, const char *path, unsigned flags,
                        gmmpio_stack *out, char *err, size_t errlen)
{
    /* Compressed data: allow generously more than raw pixels. */
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
    int rc = gmmpio_png_parse_ex(buf, (size_t)size, flags, out, err, errlen);
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
    return gmmpio__png_read_fd(fd, size, path, 0, out, err, errlen);
}
