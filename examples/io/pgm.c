/*
 * PGM images, binary (P5) and plain (P2), and PPM colour images (P6, P3;
 * three interleaved samples a pixel), per the netpbm specification:
 * header fields separated by whitespace, '#' comments up to the end of a
 * line, one whitespace byte before binary data, 2-byte big-endian samples
 * when maxval exceeds 255.
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
#include <stdint.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imageio.h"
#include "ioutil.h"

typedef struct cursor {
    const unsigned char *p, *end;
} cursor;

static void skip_space_and_comments(cursor *c)
{
    while (c->p < c->end) {
        if (*c->p == '#') {
            while (c->p < c->end && *c->p != '\n')
                c->p++;
        } else if (isspace(*c->p)) {
            c->p++;
        } else {
            break;
        }
    }
}

/* Reads a decimal number of at most `limit`; returns -1 if absent or larger. */
static long read_number(cursor *c, long limit)
{
    skip_space_and_comments(c);
    if (c->p >= c->end || !isdigit(*c->p))
        return -1;
    long v = 0;
    while (c->p < c->end && isdigit(*c->p)) {
        v = v * 10 + (*c->p++ - '0');
        if (v > limit)
            return -1;
    }
    return v;
}

int gmmpio_pnm_parse(const unsigned char *data, size_t size, unsigned flags, gmmpio_stack *out,
                     char *err, size_t errlen)
{
    cursor c = {data, data + size};
    int ppm = size >= 2 && data[0] == 'P' && (data[1] == '3' || data[1] == '6');
    if (ppm && !(flags & GMMPIO_READ_COLOUR))
        return gmmpio__fail(err, errlen, "a colour PPM image; only grayscale (PGM) is read here");
    if (size < 2 || data[0] != 'P' || (data[1] != '2' && data[1] != '5' && !ppm))
        return gmmpio__fail(err, errlen, (flags & GMMPIO_READ_COLOUR)
                                             ? "not a PGM or PPM image (no P2, P3, P5 or P6 magic)"
                                             : "not a PGM image (no P2 or P5 magic)");
    const char *kind = ppm ? "PPM" : "PGM";
    size_t ch = ppm ? 3 : 1;
    int plain = data[1] == '2' || data[1] == '3';
    c.p += 2;
    long w = read_number(&c, GMMPIO_MAX_DIM), h = read_number(&c, GMMPIO_MAX_DIM);
    long maxval = read_number(&c, 65535);
    if (w <= 0 || h <= 0)
        return gmmpio__fail(err, errlen, "%s size missing or not in 1..%u", kind, GMMPIO_MAX_DIM);
    if (maxval <= 0)
        return gmmpio__fail(err, errlen, "%s maxval missing or not in 1..65535", kind);
    if ((unsigned long long)w * (unsigned long long)h * ch > gmmpio_max_elements())
        return gmmpio__fail(err, errlen, "%s of %ldx%ld pixels is above the limit of %zu "
                                         "values (raise it with --max-elements)",
                            kind, w, h, gmmpio_max_elements());
    size_t n = (size_t)w * (size_t)h * ch;
    size_t bytes_per = maxval > 255 ? 2 : 1;
    /* Check the data can be there before allocating for it: at least
     * one digit and one separator per plain sample. */
    if (plain && (size_t)(c.end - c.p) < 2 * n - 1)
        return gmmpio__fail(err, errlen, "%s data truncated: %zu samples need at least %zu "
                                         "bytes, %zu remain",
                            kind, n, 2 * n - 1, (size_t)(c.end - c.p));
    if (!plain) {
        if (c.p >= c.end || !isspace(*c.p))
            return gmmpio__fail(err, errlen, "%s header not followed by whitespace", kind);
        c.p++;
        if ((size_t)(c.end - c.p) < n * bytes_per)
            return gmmpio__fail(err, errlen, "%s data truncated: %zu of %zu bytes", kind,
                                (size_t)(c.end - c.p), n * bytes_per);
        if ((size_t)(c.end - c.p) > n * bytes_per)
            return gmmpio__fail(err, errlen, "%s has %zu bytes of trailing data after the "
                                             "image (only single-image files are read)",
                                kind, (size_t)(c.end - c.p) - n * bytes_per);
    }
    gmmpio_stack img;
    if (gmmpio_stack_alloc_channels(&img, 1, (size_t)h, (size_t)w, ch))
        return gmmpio__fail(err, errlen, "out of memory for a %ldx%ld image", w, h);
    for (size_t i = 0; i < n; i++) {
        long v;
        if (plain) {
            v = read_number(&c, maxval);
            if (v < 0) {
                gmmpio_stack_free(&img);
                return gmmpio__fail(err, errlen, "%s sample %zu missing or above maxval %ld",
                                    kind, i, maxval);
            }
        } else {
            v = bytes_per == 2 ? (c.p[0] << 8 | c.p[1]) : c.p[0];
            c.p += bytes_per;
            if (v > maxval) {
                gmmpio_stack_free(&img);
                return gmmpio__fail(err, errlen, "%s sample %zu is %ld, above maxval %ld", kind,
                                    i, v, maxval);
            }
        }
        img.pixels[i] = (double)v;
    }
    if (plain) {
        skip_space_and_comments(&c);
        if (c.p != c.end) {
            gmmpio_stack_free(&img);
            return gmmpio__fail(err, errlen, "%s has trailing data after its %zu samples "
                                             "(only single-image files are read)",
                                kind, n);
        }
    }
    img.maxval = (unsigned)maxval;
    *out = img;
    return 0;
}

int gmmpio_pgm_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen)
{
    return gmmpio_pnm_parse(data, size, 0, out, err, errlen);
}

int gmmpio__pgm_read_fd(int fd, long long size, const char *path, unsigned flags,
                        gmmpio_stack *out, char *err, size_t errlen)
{
    /* Largest sensible file, checked before reading: 8 bytes a sample
     * (plain "65535 " with room to spare) plus a header. */
    const unsigned long long limit = 8ull * gmmpio_max_elements() + 65536;
    if ((unsigned long long)size > limit) {
        close(fd);
        return gmmpio__fail(err, errlen, "%s: PNM file of %lld bytes is above the limit of %llu "
                                         "(raise it with --max-elements)",
                            path, size, limit);
    }
    unsigned char *buf;
    if (gmmpio__slurp(fd, size, path, &buf, err, errlen))
        return -1;
    int rc = gmmpio_pnm_parse(buf, (size_t)size, flags, out, err, errlen);
    if (rc)
        gmmpio__prefix(err, errlen, path);
    free(buf);
    return rc;
}

int gmmpio_pgm_read(const char *path, gmmpio_stack *out, char *err, size_t errlen)
{
    long long size;
    int fd = gmmpio_open_input(path, &size, err, errlen);
    if (fd < 0)
        return -1;
    return gmmpio__pgm_read_fd(fd, size, path, 0, out, err, errlen);
}

static int pnm_write(const char *path, const gmmpio_stack *img, size_t index, int plain,
                     size_t ch, char *err, size_t errlen)
{
    if (gmmpio_stack_channels(img) != ch)
        return gmmpio__fail(err, errlen, "cannot write %s: a %s holds %s images, this one has "
                                         "%zu channel%s",
                            path, ch == 3 ? "PPM" : "PGM", ch == 3 ? "RGB" : "grey",
                            gmmpio_stack_channels(img), gmmpio_stack_channels(img) == 1 ? "" : "s");
    if (index >= img->count)
        return gmmpio__fail(err, errlen, "no image %zu in a stack of %zu", index, img->count);
    unsigned maxval = img->maxval ? img->maxval : 255;
    if (maxval > 65535)
        return gmmpio__fail(err, errlen, "cannot write %s: maxval %u above 65535", path,
                            maxval);
    const size_t values = img->cols * ch;
    const double *px = img->pixels + index * img->rows * values;
    size_t n = img->rows * values, per = plain ? 6 : maxval > 255 ? 2 : 1;
    if (n > (SIZE_MAX - 128) / per)
        return gmmpio__fail(err, errlen, "cannot write %s: image too large", path);
    unsigned char *buf = malloc(128 + n * per), *p = buf;
    if (!buf)
        return gmmpio__fail(err, errlen, "cannot write %s: out of memory", path);
    p += sprintf((char *)p, "%s\n%zu %zu\n%u\n",
                 ch == 3 ? (plain ? "P3" : "P6") : (plain ? "P2" : "P5"), img->cols, img->rows,
                 maxval);
    for (size_t r = 0; r < img->rows; r++) {
        for (size_t c = 0; c < values; c++) {
            unsigned v = gmmpio__to_level(px[r * values + c], maxval);
            if (plain) {
                p += sprintf((char *)p, "%u%c", v, c + 1 == values ? '\n' : ' ');
            } else if (maxval > 255) {
                *p++ = (unsigned char)(v >> 8);
                *p++ = (unsigned char)v;
            } else {
                *p++ = (unsigned char)v;
            }
        }
    }
    int rc = gmmpio_atomic_write(path, buf, (size_t)(p - buf), err, errlen);
    free(buf);
    return rc;
}

int gmmpio_pgm_write(const char *path, const gmmpio_stack *img, size_t index, int plain,
                     char *err, size_t errlen)
{
    return pnm_write(path, img, index, plain, 1, err, errlen);
}

int gmmpio_ppm_write(const char *path, const gmmpio_stack *img, size_t index, char *err,
                     size_t errlen)
{
    return pnm_write(path, img, index, 0, 3, err, errlen);
}
