/*
 * Private helpers of the image readers and writers.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMPIO_IOUTIL_H
#define GMMPIO_IOUTIL_H

#include <stddef.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int gmmpio__fail(char *err, size_t errlen, const char *fmt, ...);

/* Rounds to 0..255, NaN to 0. */
unsigned char gmmpio__to_byte(double v);

#endif /* GMMPIO_IOUTIL_H */
