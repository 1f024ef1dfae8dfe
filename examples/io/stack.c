/*
 * Image stacks and the error-message helper shared by the readers.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

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

int gmmpio_stack_alloc(gmmpio_stack *img, size_t count, size_t rows, size_t cols)
{
    if (count == 0 || rows == 0 || cols == 0 || rows > SIZE_MAX / cols ||
        count > SIZE_MAX / sizeof(double) / (rows * cols))
        return -1;
    double *p = calloc(count * rows * cols, sizeof *p);
    if (!p)
        return -1;
    *img = (gmmpio_stack){count, rows, cols, p};
    return 0;
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
