/*
 * Small helpers shared by the example code: error messages into a caller's
 * buffer, and a seedable generator (splitmix64) for reproducible
 * simulations.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_EXAMPLES_UTIL_H
#define GMMP_EXAMPLES_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Writes a printf-style message into err (if not NULL) and returns -1. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int util_fail(char *err, size_t errlen, const char *fmt, ...);

/* The next number of a splitmix64 stream whose state is *s. */
uint64_t util_next_random(uint64_t *s);

#endif
