/*
 * Helpers shared by the unit tests.
 * SPDX-License-Identifier: MIT
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"

#ifndef GMMP_TEST_DIR
#error "GMMP_TEST_DIR must name the tests/ source directory"
#endif

const char *tu_path(const char *relpath)
{
    static _Thread_local char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", GMMP_TEST_DIR, relpath);
    return buf;
}

double *tu_load_f64(const char *relpath, size_t count)
{
    const char *path = tu_path(relpath);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open fixture %s", path);
    double *x = malloc(count * sizeof *x + 1);
    ck_assert_ptr_nonnull(x);
    size_t got = fread(x, sizeof *x, count, f);
    int extra = fgetc(f);
    fclose(f);
    ck_assert_msg(got == count && extra == EOF, "fixture %s: expected %zu doubles", path, count);
    /* Fixtures are little-endian; so is every machine this runs on, but
     * say so instead of silently reading garbage elsewhere. */
    const uint16_t probe = 1;
    ck_assert_msg(*(const uint8_t *)&probe == 1, "tests assume a little-endian host");
    return x;
}

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

void tu_random_spd(tu_rng *r, double *a, size_t n, double lo, double hi)
{
    /* Q diag(lambda) Q^T with Q from Gram-Schmidt on a random matrix. */
    double *q = malloc(n * n * sizeof *q);
    ck_assert_ptr_nonnull(q);
    for (size_t i = 0; i < n * n; i++)
        q[i] = tu_normal(r);
    for (size_t j = 0; j < n; j++) {     /* columns of q */
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

struct gmmp_options *tu_options(void)
{
    gmmp_options *o = NULL;
    int rc = gmmp_options_create(&o);
    ck_assert_msg(rc == 0 && o != NULL, "gmmp_options_create: %s", gmmp_last_error());
    return o;
}

struct gmmp_model *tu_patch_model(size_t ph, size_t pw, size_t C, int remove_mean)
{
    enum { K = 3 };
    size_t d = ph * pw * C;
    double w[K] = {0.2, 0.5, 0.3}, *mu = malloc(K * d * sizeof *mu);
    double *cov = malloc(K * d * d * sizeof *cov);
    tu_rng r = {d * 7 + (size_t)remove_mean};
    tu_fill_uniform(&r, mu, K * d, remove_mean ? -20 : 40, remove_mean ? 20 : 200);
    for (size_t k = 0; k < K; k++)
        tu_random_spd(&r, cov + k * d * d, d, 5.0, 900.0);
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, K, d, w, mu, cov));
    ck_assert_ok(gmmp_model_set_patch(m, ph, pw, C, remove_mean));
    free(mu), free(cov);
    return m;
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
