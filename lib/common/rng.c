/*
 * xoshiro256** by D. Blackman and S. Vigna (public domain algorithm),
 * seeded with splitmix64.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "rng.h"

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void gmmp__rng_seed(gmmp__rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t gmmp__rng_next(gmmp__rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double gmmp__rng_uniform(gmmp__rng *r)
{
    return (double)(gmmp__rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t gmmp__rng_below(gmmp__rng *r, uint64_t n)
{
    /* Reject the top partial range so every residue is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = gmmp__rng_next(r);
    while (x >= limit);
    return x % n;
}

void gmmp__rng_normals(gmmp__rng *r, double *x, size_t n)
{
    for (size_t i = 0; i < n; i += 2) {
        /* 1 - u lies in (0, 1], so the logarithm is finite. */
        double radius = sqrt(-2.0 * log(1.0 - gmmp__rng_uniform(r)));
        double angle = 6.283185307179586477 * gmmp__rng_uniform(r);
        x[i] = radius * cos(angle);
        if (i + 1 < n)
            x[i + 1] = radius * sin(angle);
    }
}
