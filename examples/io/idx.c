/*
 * IDX files (the MNIST format): a magic of two zero bytes, a type byte and
 * a dimension count, then big-endian 32-bit sizes and big-endian data.
 * Compressed files are read through zlib, which passes plain files through.
 * SPDX-License-Identifier: MIT
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "imageio.h"
#include "ioutil.h"

typedef struct idx_header {
    int type;
    size_t element_size;
    size_t count, rows, cols, channels;
} idx_header;

static size_t element_size(int type)
{
    switch (type) {
    case 0x08: /* unsigned byte */
    case 0x09: return 1; /* signed byte */
    case 0x0B: return 2; /* short */
    case 0x0C: return 4; /* int */
    case 0x0D: return 4; /* float */
    case 0x0E: return 8; /* double */
    default: return 0;
    }
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Validates the 4-byte magic; returns the number of dimensions or -1.
 * any_shape: images of 2, 3 or 4 dimensions (grey h x w, n x h x w, RGB
 * n x h x w x 3) instead of images (3) or labels (1). */
static int parse_magic(const unsigned char *m, idx_header *h, int any_shape, char *err,
                       size_t errlen)
{
    if (m[0] != 0 || m[1] != 0)
        return gmmpio__fail(err, errlen, "not an IDX file (magic %02x %02x)", m[0], m[1]);
    h->type = m[2];
    h->element_size = element_size(m[2]);
    if (!h->element_size)
        return gmmpio__fail(err, errlen, "unknown IDX element type 0x%02x", m[2]);
    if (any_shape && (m[3] < 2 || m[3] > 4))
        return gmmpio__fail(err, errlen,
                            "IDX file has %d dimensions; images need 2 (h x w), 3 (n x h x w) "
                            "or 4 (n x h x w x 3, RGB)", m[3]);
    if (!any_shape && m[3] != 1 && m[3] != 3)
        return gmmpio__fail(err, errlen,
                            "IDX file has %d dimensions; images need 3, labels 1", m[3]);
    return m[3];
}

/* Reads the sizes and checks they are plausible. */
static int parse_dims(const unsigned char *p, int ndims, idx_header *h, char *err,
                      size_t errlen)
{
    uint32_t dims[4] = {1, 1, 1, 1};
    for (int i = 0; i < ndims; i++) {
        dims[i] = be32(p + 4 * i);
        if (dims[i] == 0 || dims[i] > GMMPIO_MAX_DIM)
            return gmmpio__fail(err, errlen, "IDX dimension %d is %u: not in 1..%u", i,
                                dims[i], GMMPIO_MAX_DIM);
    }
    if (ndims == 4 && dims[3] != 3)
        return gmmpio__fail(err, errlen, "IDX array of 4 dimensions ends in %u: colour images "
                                         "are n x h x w x 3 (interleaved RGB)",
                            dims[3]);
    if (ndims == 2) { /* one h x w image */
        dims[2] = dims[1];
        dims[1] = dims[0];
        dims[0] = 1;
    }
    h->count = dims[0];
    h->rows = dims[1];
    h->cols = dims[2];
    h->channels = dims[3];
    uint64_t elements = (uint64_t)dims[0] * dims[1] * dims[2] * dims[3];
    if (elements > GMMPIO_MAX_ELEMENTS)
        return gmmpio__fail(err, errlen, "IDX file claims %llu elements: too large",
                            (unsigned long long)elements);
    return 0;
}

/* Big-endian elements to doubles. */
static void decode(const unsigned char *p, const idx_header *h, double *out)
{
    size_t n = h->count * h->rows * h->cols * h->channels;
    for (size_t i = 0; i < n; i++, p += h->element_size) {
        switch (h->type) {
        case 0x08: out[i] = p[0]; break;
        case 0x09: out[i] = (signed char)p[0]; break;
        case 0x0B: out[i] = (int16_t)(uint16_t)(p[0] << 8 | p[1]); break;
        case 0x0C: out[i] = (int32_t)be32(p); break;
        case 0x0D: {
            uint32_t bits = be32(p);
            float f;
            memcpy(&f, &bits, sizeof f);
            out[i] = f;
            break;
        }
        default: {
            uint64_t bits = (uint64_t)be32(p) << 32 | be32(p + 4);
            double v;
            memcpy(&v, &bits, sizeof v);
            out[i] = v;
            break;
        }
        }
    }
}

int gmmpio_idx_parse(const unsigned char *data, size_t size, gmmpio_stack *out, char *err,
                     size_t errlen)
{
    idx_header h;
    if (size < 4)
        return gmmpio__fail(err, errlen, "IDX data too short for a header (%zu bytes)", size);
    int ndims = parse_magic(data, &h, 0, err, errlen);
    if (ndims < 0)
        return -1;
    size_t header = 4 + 4 * (size_t)ndims;
    if (size < header)
        return gmmpio__fail(err, errlen, "IDX header truncated");
    if (parse_dims(data + 4, ndims, &h, err, errlen))
        return -1;
    size_t n = h.count * h.rows * h.cols;
    if (n > gmmpio_max_elements())
        return gmmpio__fail(err, errlen, "IDX header declares %zu elements, above the limit of %zu",
                            n, gmmpio_max_elements());
    if (size - header != n * h.element_size)
        return gmmpio__fail(err, errlen, "IDX data is %zu bytes, the header implies %zu",
                            size - header, n * h.element_size);
    gmmpio_stack img;
    if (gmmpio_stack_alloc(&img, h.count, h.rows, h.cols))
        return gmmpio__fail(err, errlen, "out of memory for %zu IDX elements", n);
    decode(data + header, &h, img.pixels);
    *out = img;
    return 0;
}

int gmmpio__idx_read_fd(int fd, long long file_size, const char *path, int images_only,
                        gmmpio_stack *out, char *err, size_t errlen)
{
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        return gmmpio__fail(err, errlen, "%s: out of memory", path);
    }
    unsigned char head[20]; /* magic and up to 4 dimensions */
    idx_header h;
    unsigned char *raw = NULL;
    int rc = -1, errnum = 0;
    const char *zmsg;
    if (gzread(f, head, 4) != 4) {
        zmsg = gzerror(f, &errnum);
        if (errnum < 0)
            gmmpio__fail(err, errlen, "%s: corrupt gzip data (%s)", path, zmsg);
        else
            gmmpio__fail(err, errlen, "%s: too short for an IDX header", path);
        goto done;
    }
    int ndims = parse_magic(head, &h, images_only == 2, err, errlen);
    if (ndims < 0) {
        gmmpio__prefix(err, errlen, path);
        goto done;
    }
    if (images_only == 1 && ndims != 3) {
        gmmpio__fail(err, errlen, "%s: holds %d-dimensional IDX data (labels?), not images", path,
                     ndims);
        goto done;
    }
    if (gzread(f, head + 4, 4u * (unsigned)ndims) != 4 * ndims) {
        zmsg = gzerror(f, &errnum);
        gmmpio__fail(err, errlen, "%s: IDX header truncated%s%s", path,
                     errnum < 0 ? ": corrupt gzip data: " : "", errnum < 0 ? zmsg : "");
        goto done;
    }
    if (parse_dims(head + 4, ndims, &h, err, errlen)) {
        gmmpio__prefix(err, errlen, path);
        goto done;
    }
    size_t n = h.count * h.rows * h.cols * h.channels, bytes = n * h.element_size;
    size_t header = 4 + 4 * (size_t)ndims;
    if (n > gmmpio_max_elements()) {
        gmmpio__fail(err, errlen, "%s: IDX header declares %zu elements (%zu x %zu x %zu x %zu), "
                                  "above the limit of %zu (raise it with --max-elements)",
                     path, n, h.count, h.rows, h.cols, h.channels, gmmpio_max_elements());
        goto done;
    }
    /* Before reading: a plain file must be exactly as long as declared; a
     * gzip file cannot expand more than 1032:1. */
    if (gzdirect(f) && (unsigned long long)file_size != header + bytes) {
        if ((unsigned long long)file_size < header + bytes)
            gmmpio__fail(err, errlen, "%s: truncated: IDX file is %lld bytes, its header implies "
                                      "%zu", path, file_size, header + bytes);
        else
            gmmpio__fail(err, errlen, "%s: data continues past the %zu bytes the header implies "
                                      "(the file is %lld bytes)", path, header + bytes, file_size);
        goto done;
    }
    if (!gzdirect(f) && bytes / 1032 > (unsigned long long)file_size) {
        gmmpio__fail(err, errlen, "%s: truncated: %lld compressed bytes cannot hold the %zu "
                                  "bytes the IDX header declares",
                     path, file_size, bytes);
        goto done;
    }
    /* Grow the buffer as data arrives: a short file that claims a huge
     * size fails as truncated without allocating what it claims; no more
     * than the declared size is ever decompressed. */
    size_t cap = bytes < ((size_t)1 << 20) ? bytes : (size_t)1 << 20, got = 0;
    raw = malloc(cap ? cap : 1);
    while (raw && got < bytes) {
        if (got == cap) {
            size_t bigger = cap * 2 < bytes ? cap * 2 : bytes;
            unsigned char *grown = realloc(raw, bigger);
            if (!grown)
                break;
            raw = grown;
            cap = bigger;
        }
        size_t room = cap - got;
        int r = gzread(f, raw + got, room > (1u << 30) ? (1u << 30) : (unsigned)room);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (!raw || (got < bytes && got == cap)) {
        gmmpio__fail(err, errlen, "%s: out of memory for %zu elements", path, n);
        goto done;
    }
    zmsg = gzerror(f, &errnum);
    if (got < bytes || errnum < 0) {
        gmmpio__fail(err, errlen, "%s: truncated or corrupt: %zu of %zu data bytes (%s)", path,
                     got, bytes, errnum < 0 ? zmsg : "end of file");
        goto done;
    }
    if (gzgetc(f) != -1) {
        gmmpio__fail(err, errlen, "%s: data continues past the %zu bytes the header implies",
                     path, bytes);
        goto done;
    }
    zmsg = gzerror(f, &errnum);
    if (errnum < 0) {
        gmmpio__fail(err, errlen, "%s: corrupt gzip data (%s)", path, zmsg);
        goto done;
    }
    gmmpio_stack img;
    if (gmmpio_stack_alloc_channels(&img, h.count, h.rows, h.cols, h.channels)) {
        gmmpio__fail(err, errlen, "%s: out of memory for %zu elements", path, n);
        goto done;
    }
    decode(raw, &h, img.pixels);
    *out = img;
    rc = 0;
done:
    free(raw);
    gzclose(f);
    return rc;
}

int gmmpio_idx_read(const char *path, gmmpio_stack *out, char *err, size_t errlen)
{
    long long size;
    int fd = gmmpio_open_input(path, &size, err, errlen);
    if (fd < 0)
        return -1;
    return gmmpio__idx_read_fd(fd, size, path, 0, out, err, errlen);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

int gmmpio_idx_write(const char *path, const gmmpio_stack *img, enum gmmpio_idx_type type,
                     int gzip, char *err, size_t errlen)
{
    size_t esize = element_size((int)type);
    if (!esize || type == 0x09 || type == 0x0B || type == 0x0C)
        return gmmpio__fail(err, errlen, "cannot write IDX element type 0x%02x", (int)type);
    if (img->count > UINT32_MAX || img->rows > UINT32_MAX || img->cols > UINT32_MAX)
        return gmmpio__fail(err, errlen, "image stack too large for IDX");
    size_t ch = gmmpio_stack_channels(img);
    size_t n = img->count * img->rows * img->cols * ch;
    unsigned char *buf = malloc(20 + n * esize);
    if (!buf)
        return gmmpio__fail(err, errlen, "out of memory");
    unsigned char *p = buf;
    *p++ = 0;
    *p++ = 0;
    *p++ = (unsigned char)type;
    *p++ = ch == 1 ? 3 : 4; /* colour: n x h x w x C */
    put_be32(p, (uint32_t)img->count);
    put_be32(p + 4, (uint32_t)img->rows);
    put_be32(p + 8, (uint32_t)img->cols);
    p += 12;
    if (ch != 1) {
        put_be32(p, (uint32_t)ch);
        p += 4;
    }
    for (size_t i = 0; i < n; i++) {
        double v = img->pixels[i];
        if (type == GMMPIO_IDX_UBYTE) {
            *p++ = gmmpio__to_byte(v);
        } else if (type == GMMPIO_IDX_FLOAT) {
            float f = (float)v;
            uint32_t bits;
            memcpy(&bits, &f, sizeof bits);
            put_be32(p, bits);
            p += 4;
        } else {
            uint64_t bits;
            memcpy(&bits, &v, sizeof bits);
            put_be32(p, (uint32_t)(bits >> 32));
            put_be32(p + 4, (uint32_t)bits);
            p += 8;
        }
    }
    size_t total = (size_t)(p - buf);
    int rc = 0;
    if (gzip) {
        /* Compress in memory (gzip wrapper), then write atomically. */
        z_stream z = {0};
        unsigned char *gz = NULL;
        int zrc = deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
        size_t bound = zrc == Z_OK ? deflateBound(&z, total) : 0;
        gz = zrc == Z_OK ? malloc(bound) : NULL;
        if (!gz) {
            if (zrc == Z_OK)
                deflateEnd(&z);
            free(buf);
            return gmmpio__fail(err, errlen, "cannot write %s: out of memory", path);
        }
        z.next_in = buf, z.next_out = gz;
        size_t in_left = total, out_left = bound;
        while (zrc == Z_OK) {
            if (z.avail_in == 0 && in_left) {
                z.avail_in = in_left > (1u << 30) ? (1u << 30) : (unsigned)in_left;
                in_left -= z.avail_in;
            }
            if (z.avail_out == 0 && out_left) {
                z.avail_out = out_left > (1u << 30) ? (1u << 30) : (unsigned)out_left;
                out_left -= z.avail_out;
            }
            zrc = deflate(&z, in_left == 0 ? Z_FINISH : Z_NO_FLUSH);
            if (zrc == Z_BUF_ERROR &&
                ((z.avail_in == 0 && in_left) || (z.avail_out == 0 && out_left)))
                zrc = Z_OK;
        }
        size_t zsize = (size_t)z.total_out;
        deflateEnd(&z);
        if (zrc != Z_STREAM_END)
            rc = gmmpio__fail(err, errlen, "cannot write %s: compression failed", path);
        else
            rc = gmmpio_atomic_write(path, gz, zsize, err, errlen);
        free(gz);
    } else {
        rc = gmmpio_atomic_write(path, buf, total, err, errlen);
    }
    free(buf);
    return rc;
}
