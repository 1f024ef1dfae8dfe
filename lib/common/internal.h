/*
 * Private helpers shared by the library's sources. Not installed.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_INTERNAL_H
#define GMMP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gmmprior/common.h"

#if defined(__GNUC__)
#define GMMP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define GMMP_PRINTF(fmt, args)
#endif

/* Monotonic wall time in seconds, for progress reports. */
double gmmp__now(void);

/* log(2 pi), for Gaussian normalising constants. */
#define GMMP__LOG_2PI 1.8378770664093454836

/* Records a message for gmmp_last_error() and returns `code`, so that a
 * failure reads `return gmmp__fail(GMMP_EINVAL, "...", ...);`. */
int gmmp__fail(int code, const char *fmt, ...) GMMP_PRINTF(2, 3);

/* The out-of-memory failure: its message needs no formatting. */
int gmmp__fail_nomem(void);

/* Allocation through the user's allocator. gmmp__alloc_array checks the
 * product n * size for overflow and returns NULL on overflow. Neither sets
 * an error message: callers return gmmp__fail_nomem(). */
void *gmmp__alloc(size_t size);
void *gmmp__alloc_array(size_t n, size_t size);
void *gmmp__calloc_array(size_t n, size_t size);
void gmmp__free(void *ptr);

/* Rows of the block that starts at row `start` of n, blocks of `block`
 * rows: the loop `for (start = 0; start < n; start += block)` uses it. */
static inline size_t gmmp__block_len(size_t n, size_t start, size_t block)
{
    return n - start < block ? n - start : block;
}

/* Overflow-checked product: returns false if a * b does not fit. */
static inline bool gmmp__mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* True when every one of the n values is finite. */
bool gmmp__all_finite(const double *x, size_t n);

/* True when every one of the n values is zero. */
bool gmmp__all_zero(const double *x, size_t n);

/* Index of the first non-finite of n values, or n if all are finite. */
size_t gmmp__first_nonfinite(const double *x, size_t n);

/* Checks that n samples of dimension d (n x d, row-major) are present, of
 * a size that fits, and finite. Sets the message on failure. */
int gmmp__check_samples(const double *X, size_t n, size_t d);

#endif /* GMMP_INTERNAL_H */
