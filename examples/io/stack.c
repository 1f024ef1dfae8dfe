/*
 * Image stacks and the error-message helper shared by the readers.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "imageio.h"
#include "ioutil.h"

int gmmpio__fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int gmmpio_stack_alloc_channels(gmmpio_stack *img, size_t count, size_t rows, size_t cols,
                                size_t channels)
{
    if (count == 0 || rows == 0 || cols == 0 || channels == 0 || channels > 4 ||
        rows > SIZE_MAX / cols / channels ||
        count > SIZE_MAX / sizeof(double) / (rows * cols * channels))
        return -1;
    double *p = calloc(count * rows * cols * channels, sizeof *p);
    if (!p)
        return -1;
    *img = (gmmpio_stack){count, rows, cols, p, 0, (unsigned)channels};
    return 0;
}

int gmmpio_stack_alloc(gmmpio_stack *img, size_t count, size_t rows, size_t cols)
{
    return gmmpio_stack_alloc_channels(img, count, rows, cols, 1);
}

size_t gmmpio_stack_channels(const gmmpio_stack *img)
{
    return img->channels ? img->channels : 1;
}

void gmmpio_stack_free(gmmpio_stack *img)
{
    if (!img)
        return;
    free(img->pixels);
    *img = (gmmpio_stack){0};
}

unsigned char gmmpio__to_byte(double v)
{
    if (!(v > 0.0)) /* also NaN */
        return 0;
    if (v >= 255.0)
        return 255;
    return (unsigned char)(v + 0.5);
}

static size_t max_elements = GMMPIO_DEFAULT_MAX_ELEMENTS;

void gmmpio_set_max_elements(size_t n)
{
    max_elements = n < 1 ? 1 : n > GMMPIO_MAX_ELEMENTS ? GMMPIO_MAX_ELEMENTS : n;
}

size_t gmmpio_max_elements(void)
{
    return max_elements;
}

unsigned gmmpio__to_level(double v, unsigned maxval)
{
    if (!(v > 0.0))
        return 0;
    if (v >= (double)maxval)
        return maxval;
    return (unsigned)(v + 0.5);
}

int gmmpio__prefix(char *err, size_t errlen, const char *path)
{
    if (err && errlen) {
        char inner[512];
        snprintf(inner, sizeof inner, "%s", err);
        snprintf(err, errlen, "%s: %s", path, inner);
    }
    return -1;
}

int gmmpio__slurp(int fd, long long size, const char *path, unsigned char **out, char *err,
                  size_t errlen)
{
    unsigned char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (!buf) {
        close(fd);
        return gmmpio__fail(err, errlen, "%s: out of memory for %lld bytes", path, size);
    }
    size_t got = 0;
    while (got < (size_t)size) {
        ssize_t r = read(fd, buf + got, (size_t)size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? errno : 0;
            close(fd);
            free(buf);
            if (e)
                return gmmpio__fail(err, errlen, "%s: read error: %s", path, strerror(e));
            return gmmpio__fail(err, errlen, "%s: file shrank while being read", path);
        }
        got += (size_t)r;
    }
    unsigned char extra;
    ssize_t more = read(fd, &extra, 1);
    close(fd);
    if (more != 0) {
        free(buf);
        return gmmpio__fail(err, errlen, "%s: file grew while being read", path);
    }
    *out = buf;
    return 0;
}

int gmmpio_check_values(const gmmpio_stack *img, double limit, const char *path, char *err,
                        size_t errlen)
{
    size_t per = img->rows * img->cols * gmmpio_stack_channels(img), n = img->count * per;
    for (size_t i = 0; i < n; i++) {
        double v = img->pixels[i];
        if (!(v >= -limit && v <= limit))
            return gmmpio__fail(err, errlen, "%s: image %zu, pixel %zu is %g: pixel values must "
                                             "be finite and within +-%g",
                                path, i / per, i % per, v, limit);
    }
    return 0;
}
