/*
 * A small, fast, seedable generator (xoshiro256**), so that results are
 * reproducible across platforms and independent of the C library's rand().
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_RNG_H
#define GMMP_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct gmmp__rng {
    uint64_t s[4];
} gmmp__rng;

/* Seeds the four words from one 64-bit seed through splitmix64, as the
 * generator's authors recommend. */
void gmmp__rng_seed(gmmp__rng *r, uint64_t seed);
uint64_t gmmp__rng_next(gmmp__rng *r);
/* Uniform in [0, 1), 53 random bits. */
double gmmp__rng_uniform(gmmp__rng *r);
/* Uniform integer in [0, n), without modulo bias. n > 0. */
uint64_t gmmp__rng_below(gmmp__rng *r, uint64_t n);
/* Fills x with n standard normal values (Box-Muller on pairs). */
void gmmp__rng_normals(gmmp__rng *r, double *x, size_t n);

#endif /* GMMP_RNG_H */
