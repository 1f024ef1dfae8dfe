/*
 * The test helpers that need only Check, not the library: random data,
 * comparisons, suites. Tests of internal routines, linked against the
 * library's parts instead of the shared library, use them too.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double tu_uniform(tu_rng *r)
{
    return (double)(tu_next(r) >> 11) * 0x1.0p-53;
}

double tu_normal(tu_rng *r)
{
    double u1 = tu_uniform(r), u2 = tu_uniform(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586 * u2);
}

void tu_fill_uniform(tu_rng *r, double *x, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * tu_uniform(r);
}

double tu_rel_diff(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num += (a[i] - b[i]) * (a[i] - b[i]);
        den += b[i] * b[i];
    }
    return sqrt(num) / fmax(sqrt(den), 1e-300);
}

double tu_max_abs_diff(const double *a, const double *b, size_t n)
{
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

void tu_orthonormal_columns(double *q, size_t n)
{
    for (size_t j = 0; j < n; j++) { /* columns of q, by Gram-Schmidt */
        for (size_t k = 0; k < j; k++) {
            double dot = 0.0;
            for (size_t i = 0; i < n; i++)
                dot += q[i * n + j] * q[i * n + k];
            for (size_t i = 0; i < n; i++)
                q[i * n + j] -= dot * q[i * n + k];
        }
        double norm = 0.0;
        for (size_t i = 0; i < n; i++)
            norm += q[i * n + j] * q[i * n + j];
        norm = sqrt(norm);
        for (size_t i = 0; i < n; i++)
            q[i * n + j] /= norm;
    }
}

void tu_random_spd(tu_rng *r, double *a, size_t n, double lo, double hi)
{
    /* Q diag(lambda) Q^T with Q from Gram-Schmidt on a random matrix. */
    double *q = malloc(n * n * sizeof *q);
    ck_assert_ptr_nonnull(q);
    for (size_t i = 0; i < n * n; i++)
        q[i] = tu_normal(r);
    tu_orthonormal_columns(q, n);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0.0;
            for (size_t k = 0; k < n; k++) {
                double lambda = n > 1 ? lo + (hi - lo) * (double)k / (double)(n - 1) : lo;
                s += q[i * n + k] * lambda * q[j * n + k];
            }
            a[i * n + j] = s;
        }
    for (size_t i = 0; i < n; i++) /* exact symmetry */
        for (size_t j = 0; j < i; j++)
            a[j * n + i] = a[i * n + j];
    free(q);
}

TCase *tu_tcase(const char *name)
{
    TCase *tc = tcase_create(name);
    tcase_set_timeout(tc, 0); /* 0: no timer; meson's timeout applies */
    return tc;
}

int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

void tu_random_prior(uint64_t seed, size_t K, size_t d, size_t N, int few, double *w, double *mu,
                     double *cov, double *Y)
{
    enum { FEW = 4 };
    tu_rng r = {seed};
    for (size_t k = 0; k < K; k++) {
        w[k] = 1.0 / (double)K;
        tu_random_spd(&r, cov + k * d * d, d, 1.0, few ? 30.0 : 900.0);
        if (few) {
            double big[FEW * FEW];
            tu_random_spd(&r, big, FEW, 400.0, 4000.0);
            for (size_t a = 0; a < FEW; a++)
                for (size_t b = 0; b < FEW; b++)
                    cov[k * d * d + a * d + b] += big[a * FEW + b];
        }
    }
    tu_fill_uniform(&r, mu, K * d, -40, 40);
    for (size_t k = 0; few && k < K; k++)
        for (size_t j = FEW; j < d; j++)
            mu[k * d + j] /= 20.0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < d; j++)
            Y[i * d + j] = mu[(i % K) * d + j] + 20.0 * tu_normal(&r);
}
