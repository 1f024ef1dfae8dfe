/*
 * PGM images, binary (P5) and plain (P2), per the netpbm specification:
 * header fields separated by whitespace, '#' comments up to the end of a
 * line, one whitespace byte before binary data, 2-byte big-endian samples
 * when maxval exceeds 255.
 * SPDX-License-Identifier: MIT
 */
#include <ctype.h>
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

int gmmpio_pgm_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen)
{
    cursor c = {data, data + size};
    if (size < 2 || data[0] != 'P' || (data[1] != '2' && data[1] != '5'))
        return gmmpio__fail(err, errlen, "not a PGM image (no P2 or P5 magic)");
    int plain = data[1] == '2';
    c.p += 2;
    long w = read_number(&c, GMMPIO_MAX_DIM), h = read_number(&c, GMMPIO_MAX_DIM);
    long maxval = read_number(&c, 65535);
    if (w <= 0 || h <= 0)
        return gmmpio__fail(err, errlen, "PGM size missing or not in 1..%u", GMMPIO_MAX_DIM);
    if (maxval <= 0)
        return gmmpio__fail(err, errlen, "PGM maxval missing or not in 1..65535");
    if ((unsigned long long)w * (unsigned long long)h > GMMPIO_MAX_ELEMENTS)
        return gmmpio__fail(err, errlen, "PGM of %ldx%ld pixels is too large", w, h);
    size_t n = (size_t)w * (size_t)h;
    size_t bytes_per = maxval > 255 ? 2 : 1;
    /* Check the data can be there before allocating for it: at least
     * one digit and one separator per plain sample. */
    if (plain && (size_t)(c.end - c.p) < 2 * n - 1)
        return gmmpio__fail(err, errlen, "PGM data truncated: %zu samples need at least %zu "
                                         "bytes, %zu remain",
                            n, 2 * n - 1, (size_t)(c.end - c.p));
    if (!plain) {
        if (c.p >= c.end || !isspace(*c.p))
            return gmmpio__fail(err, errlen, "PGM header not followed by whitespace");
        c.p++;
        if ((size_t)(c.end - c.p) < n * bytes_per)
            return gmmpio__fail(err, errlen, "PGM data truncated: %zu of %zu bytes",
                                (size_t)(c.end - c.p), n * bytes_per);
    }
    gmmpio_stack img;
    if (gmmpio_stack_alloc(&img, 1, (size_t)h, (size_t)w))
        return gmmpio__fail(err, errlen, "out of memory for a %ldx%ld image", w, h);
    for (size_t i = 0; i < n; i++) {
        long v;
        if (plain) {
            v = read_number(&c, maxval);
            if (v < 0) {
                gmmpio_stack_free(&img);
                return gmmpio__fail(err, errlen, "PGM sample %zu missing or above maxval %ld",
                                    i, maxval);
            }
        } else {
            v = bytes_per == 2 ? (c.p[0] << 8 | c.p[1]) : c.p[0];
            c.p += bytes_per;
            if (v > maxval) {
                gmmpio_stack_free(&img);
                return gmmpio__fail(err, errlen, "PGM sample %zu is %ld, above maxval %ld", i,
                                    v, maxval);
            }
        }
        img.pixels[i] = (double)v;
    }
    *out = img;
    return 0;
}

int gmmpio_pgm_read(const char *path, gmmpio_stack *out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return gmmpio__fail(err, errlen, "cannot open %s", path);
    /* Largest sensible file: maximal 16-bit binary data plus a header. */
    const size_t limit = 2 * (size_t)GMMPIO_MAX_ELEMENTS + 4096;
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap || cap >= limit)
            break;
        unsigned char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (!buf)
        return gmmpio__fail(err, errlen, "%s: out of memory", path);
    if (ioerr) {
        free(buf);
        return gmmpio__fail(err, errlen, "%s: read error", path);
    }
    int rc = gmmpio_pgm_parse(buf, len, out, err, errlen);
    if (rc && err) {
        /* Say which file. */
        char inner[256];
        snprintf(inner, sizeof inner, "%s", err);
        snprintf(err, errlen, "%s: %s", path, inner);
    }
    free(buf);
    return rc;
}

int gmmpio_pgm_write(const char *path, const gmmpio_stack *img, size_t index, int plain,
                     char *err, size_t errlen)
{
    if (index >= img->count)
        return gmmpio__fail(err, errlen, "no image %zu in a stack of %zu", index, img->count);
    FILE *f = fopen(path, "wb");
    if (!f)
        return gmmpio__fail(err, errlen, "cannot create %s", path);
    const double *px = img->pixels + index * img->rows * img->cols;
    fprintf(f, "%s\n%zu %zu\n255\n", plain ? "P2" : "P5", img->cols, img->rows);
    for (size_t r = 0; r < img->rows; r++) {
        for (size_t c = 0; c < img->cols; c++) {
            unsigned char b = gmmpio__to_byte(px[r * img->cols + c]);
            if (plain)
                fprintf(f, "%u%c", b, c + 1 == img->cols ? '\n' : ' ');
            else
                fputc(b, f);
        }
    }
    if (fclose(f) != 0)
        return gmmpio__fail(err, errlen, "write error on %s", path);
    return 0;
}
