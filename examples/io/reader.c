/*
 * Streaming image reader: IDX files a batch of images at a time (through
 * zlib, which reads gzip and plain files alike), PGM files whole.
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "imageio.h"
#include "ioutil.h"

struct gmmpio_reader {
    gzFile f;          /* IDX: the open file; NULL for a PGM */
    gmmpio_stack pgm;  /* PGM: the image */
    char path[1024];
    int type;          /* IDX element type byte */
    size_t esize, header, count, rows, cols, next;
    unsigned char *raw; /* one batch of raw elements */
    size_t raw_cap;
};

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int gmmpio_reader_open(gmmpio_reader **out, const char *path, char *err, size_t errlen)
{
    gmmpio_reader *r = calloc(1, sizeof *r);
    if (!r)
        return gmmpio__fail(err, errlen, "out of memory");
    snprintf(r->path, sizeof r->path, "%s", path);
    /* One open (a FIFO, directory or device is refused without blocking);
     * a PGM or PNG is small enough to read whole. */
    long long size;
    int fd = gmmpio_open_input(path, &size, err, errlen);
    if (fd < 0) {
        free(r);
        return -1;
    }
    unsigned char head[16] = {0};
    ssize_t got = pread(fd, head, 4, 0);
    int is_pgm = got >= 2 && head[0] == 'P' && (head[1] == '2' || head[1] == '5');
    int is_png = got == 4 && memcmp(head, "\x89PNG", 4) == 0;
    if (is_pgm || is_png) {
        if (is_pgm ? gmmpio__pgm_read_fd(fd, size, path, 0, &r->pgm, err, errlen)
                   : gmmpio__png_read_fd(fd, size, path, 0, &r->pgm, err, errlen)) {
            free(r);
            return -1;
        }
        r->count = 1, r->rows = r->pgm.rows, r->cols = r->pgm.cols;
        *out = r;
        return 0;
    }
    r->f = gzdopen(fd, "rb");
    if (!r->f) {
        close(fd);
        free(r);
        return gmmpio__fail(err, errlen, "%s: out of memory", path);
    }
    if (gzread(r->f, head, 4) != 4 || head[0] != 0 || head[1] != 0 || head[3] != 3) {
        int errnum = 0;
        const char *zmsg = gzerror(r->f, &errnum);
        if (errnum < 0)
            gmmpio__fail(err, errlen, "%s: corrupt gzip data (%s)", path, zmsg);
        else if (head[0] == 0 && head[1] == 0 && head[3] == 1)
            gmmpio__fail(err, errlen, "%s: holds 1-dimensional IDX data (labels?), not images",
                         path);
        else
            gmmpio__fail(err, errlen, "%s: neither a 3-dimensional IDX image file, a PGM nor a "
                                      "PNG",
                         path);
        gmmpio_reader_close(r);
        return -1;
    }
    r->type = head[2];
    r->esize = r->type == 0x08 || r->type == 0x09 ? 1
               : r->type == 0x0B                  ? 2
               : r->type == 0x0C || r->type == 0x0D ? 4
               : r->type == 0x0E                  ? 8
                                                  : 0;
    if (!r->esize) {
        gmmpio_reader_close(r);
        return gmmpio__fail(err, errlen, "%s: unknown IDX element type 0x%02x", path, head[2]);
    }
    if (gzread(r->f, head + 4, 12) != 12) {
        gmmpio_reader_close(r);
        return gmmpio__fail(err, errlen, "%s: IDX header truncated", path);
    }
    r->count = be32(head + 4), r->rows = be32(head + 8), r->cols = be32(head + 12);
    if (!r->count || !r->rows || !r->cols || r->count > GMMPIO_MAX_DIM ||
        r->rows > GMMPIO_MAX_DIM || r->cols > GMMPIO_MAX_DIM) {
        gmmpio__fail(err, errlen, "%s: impossible IDX sizes %zu x %zu x %zu (each must be in "
                                  "1..%u)",
                     path, r->count, r->rows, r->cols, GMMPIO_MAX_DIM);
        gmmpio_reader_close(r);
        return -1;
    }
    if (r->rows * r->cols > gmmpio_max_elements()) {
        gmmpio__fail(err, errlen, "%s: IDX images of %zu x %zu pixels are too large: above the "
                                  "limit of %zu (raise it with --max-elements)",
                     path, r->rows, r->cols, gmmpio_max_elements());
        gmmpio_reader_close(r);
        return -1;
    }
    if (gzdirect(r->f) &&
        (unsigned long long)size != 16 + (unsigned long long)r->count * r->rows * r->cols * r->esize) {
        gmmpio__fail(err, errlen, "%s: IDX file is %lld bytes, its header implies %llu", path,
                     size, 16 + (unsigned long long)r->count * r->rows * r->cols * r->esize);
        gmmpio_reader_close(r);
        return -1;
    }
    r->header = 16;
    *out = r;
    return 0;
}

void gmmpio_reader_info(const gmmpio_reader *r, size_t *count, size_t *rows, size_t *cols)
{
    *count = r->count, *rows = r->rows, *cols = r->cols;
}

static double decode_one(const unsigned char *p, int type)
{
    switch (type) {
    case 0x08: return p[0];
    case 0x09: return (signed char)p[0];
    case 0x0B: return (int16_t)(uint16_t)(p[0] << 8 | p[1]);
    case 0x0C: return (int32_t)be32(p);
    case 0x0D: {
        uint32_t bits = be32(p);
        float f;
        memcpy(&f, &bits, sizeof f);
        return f;
    }
    default: {
        uint64_t bits = (uint64_t)be32(p) << 32 | be32(p + 4);
        double v;
        memcpy(&v, &bits, sizeof v);
        return v;
    }
    }
}

long gmmpio_reader_next(gmmpio_reader *r, double *pixels, size_t max, char *err, size_t errlen)
{
    size_t left = r->count - r->next, n = max < left ? max : left, pixels_per = r->rows * r->cols;
    if (n == 0)
        return 0;
    if (!r->f) {
        memcpy(pixels, r->pgm.pixels, pixels_per * sizeof *pixels);
        r->next = 1;
        return 1;
    }
    size_t bytes = n * pixels_per * r->esize;
    if (bytes > r->raw_cap) {
        unsigned char *grown = realloc(r->raw, bytes);
        if (!grown)
            return gmmpio__fail(err, errlen, "%s: out of memory for %zu images", r->path, n);
        r->raw = grown, r->raw_cap = bytes;
    }
    size_t got = 0;
    while (got < bytes) {
        size_t want = bytes - got > (1u << 30) ? (1u << 30) : bytes - got;
        int k = gzread(r->f, r->raw + got, (unsigned)want);
        if (k <= 0) {
            int errnum = 0;
            const char *zmsg = gzerror(r->f, &errnum);
            return gmmpio__fail(err, errlen, "%s: truncated or corrupt at image %zu (%s)", r->path,
                                r->next + got / (pixels_per * r->esize),
                                errnum < 0 ? zmsg : "end of file");
        }
        got += (size_t)k;
    }
    for (size_t i = 0; i < n * pixels_per; i++)
        pixels[i] = decode_one(r->raw + i * r->esize, r->type);
    r->next += n;
    return (long)n;
}

int gmmpio_reader_rewind(gmmpio_reader *r, char *err, size_t errlen)
{
    r->next = 0;
    if (!r->f)
        return 0;
    if (gzrewind(r->f) != 0 || gzseek(r->f, (z_off_t)r->header, SEEK_SET) < 0)
        return gmmpio__fail(err, errlen, "%s: cannot rewind", r->path);
    return 0;
}

void gmmpio_reader_close(gmmpio_reader *r)
{
    if (!r)
        return;
    if (r->f)
        gzclose(r->f);
    gmmpio_stack_free(&r->pgm);
    free(r->raw);
    free(r);
}
