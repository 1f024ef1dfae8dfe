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


void tu_model_fix_crc(unsigned char *buf, size_t size)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i + 4 < size; i++) {
        crc ^= buf[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc = ~crc;
    for (int i = 0; i < 4; i++)
        buf[size - 4 + i] = (unsigned char)(crc >> (8 * i));
}

static size_t largest_request;

static void *counting_alloc(size_t size, void *payload)
{
    (void)payload;
    if (size > largest_request)
        largest_request = size;
    return malloc(size);
}

static void counting_release(void *p, void *payload)
{
    (void)payload;
    free(p);
}

void tu_count_allocations(void)
{
    static const gmmp_allocator counting = {counting_alloc, counting_release, NULL};
    largest_request = 0;
    ck_assert_int_eq(gmmp_set_allocator(&counting), GMMP_OK);
}

size_t tu_largest_allocation(void)
{
    ck_assert_int_eq(gmmp_set_allocator(NULL), GMMP_OK);
    return largest_request;
}
