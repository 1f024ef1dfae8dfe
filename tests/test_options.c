/*
 * The options handle: every key's default, range, type, name and bounds,
 * against the table options.h documents.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gmmprior.h"
#include "testutil.h"

typedef struct key_spec {
    gmmp_option key;
    int is_int;
    double def, lo, hi; /* as options.h documents them */
    int has_range;      /* the seed documents none */
} key_spec;

static const key_spec specs[] = {
    {GMMP_OPT_THREADS, 1, 1, 1, 256, 1},
    {GMMP_OPT_BLAS_SERIAL, 1, 0, 0, 1, 1},
    {GMMP_OPT_SKIP, 0, 1e-12, 0, 1e-3, 1},
    {GMMP_OPT_PRECISION, 1, GMMP_PRECISION_DOUBLE, GMMP_PRECISION_DOUBLE, GMMP_PRECISION_SINGLE, 1},
    {GMMP_OPT_MAX_ITER, 1, 100, 1, 1e9, 1},
    {GMMP_OPT_N_INIT, 1, 1, 1, 1e6, 1},
    {GMMP_OPT_INIT, 1, GMMP_INIT_KMEANS, GMMP_INIT_KMEANS, GMMP_INIT_MODEL, 1},
    {GMMP_OPT_SEED, 1, 0, 0, 0, 0},
    {GMMP_OPT_KMEANS_MAX_ITER, 1, 300, 1, 1e9, 1},
    {GMMP_OPT_TOL, 0, 1e-3, 0, INFINITY, 1},
    {GMMP_OPT_REG_COVAR, 0, 1e-6, 0, INFINITY, 1},
    {GMMP_OPT_PLAN_METHOD, 1, GMMP_PLAN_DEFAULT, GMMP_PLAN_DEFAULT, GMMP_PLAN_CHOLESKY, 1},
    {GMMP_OPT_RANK, 1, 0, 0, 32000, 1},
    {GMMP_OPT_CANDIDATES, 1, 0, 0, 1e6, 1},
    {GMMP_OPT_STEP, 1, 1, 1, 4096, 1},
    {GMMP_OPT_ESTIMATOR, 1, GMMP_ESTIMATOR_MMSE, GMMP_ESTIMATOR_MMSE, GMMP_ESTIMATOR_MAP, 1},
    {GMMP_OPT_BATCH, 1, 4096, 1, 1048576, 1},
    {GMMP_OPT_EPLL_STEPS, 1, 5, 1, 64, 1},
    {GMMP_OPT_CHANNEL_BASIS, 1, GMMP_BASIS_PCA, GMMP_BASIS_PCA, GMMP_BASIS_IDENTITY, 1},
    {GMMP_OPT_EPLL_ADAPT, 1, 0, 0, 8, 1},
    {GMMP_OPT_ADAPT_RELEVANCE, 0, 16, 0, 1e12, 1},
    {GMMP_OPT_EPLL_ADAPT_AFTER, 1, 0, 0, 64, 1},
    {GMMP_OPT_EPLL_LAST_GRID, 1, 0, 0, 4096, 1},
};
enum { N_KEYS = sizeof specs / sizeof specs[0] };

static double get(const gmmp_options *o, const key_spec *s)
{
    if (s->is_int) {
        int64_t v = -777;
        ck_assert_ok(gmmp_options_get_int(o, s->key, &v));
        return (double)v;
    }
    double v = -777;
    ck_assert_ok(gmmp_options_get_real(o, s->key, &v));
    return v;
}

static int set(gmmp_options *o, const key_spec *s, double v)
{
    return s->is_int ? gmmp_options_set_int(o, s->key, (int64_t)v)
                     : gmmp_options_set_real(o, s->key, v);
}

START_TEST(defaults_of_every_key)
{
    const key_spec *s = &specs[_i];
    gmmp_options *o = tu_options();
    ck_assert_msg(get(o, s) == s->def, "%s: default %g, documented %g", gmmp_option_name(s->key),
                  get(o, s), s->def);
    ck_assert_msg(get(NULL, s) == s->def, "%s: NULL handle gives %g", gmmp_option_name(s->key),
                  get(NULL, s));
    gmmp_options_destroy(o);
}
END_TEST

START_TEST(bounds_and_name_of_every_key)
{
    const key_spec *s = &specs[_i];
    double lo = NAN, hi = NAN;
    int is_int = -1;
    ck_assert_ok(gmmp_option_bounds(s->key, &lo, &hi, &is_int));
    ck_assert_ok(gmmp_option_bounds(s->key, NULL, NULL, NULL));
    ck_assert_int_eq(is_int, s->is_int);
    if (s->has_range) {
        ck_assert_msg(lo == s->lo && hi == s->hi, "key %d: bounds [%g, %g], documented [%g, %g]",
                      (int)s->key, lo, hi, s->lo, s->hi);
    } else {
        ck_assert(lo <= 0 && hi >= 0);
    }
    const char *name = gmmp_option_name(s->key);
    ck_assert_ptr_nonnull(name);
    ck_assert(name[0] != '\0');
    for (size_t j = 0; j < N_KEYS; j++) /* names are distinct */
        if (specs[j].key != s->key)
            ck_assert_str_ne(name, gmmp_option_name(specs[j].key));
}
END_TEST

START_TEST(ranges_are_checked_and_named)
{
    const key_spec *s = &specs[_i];
    gmmp_options *o = tu_options();
    const char *name = gmmp_option_name(s->key);
    if (!s->has_range) { /* the seed: any integer */
        ck_assert_ok(set(o, s, -5));
        ck_assert(get(o, s) == -5);
        ck_assert_ok(set(o, s, 123456789));
        ck_assert(get(o, s) == 123456789);
        gmmp_options_destroy(o);
        return;
    }
    /* The ends are accepted and read back. */
    ck_assert_ok(set(o, s, s->lo));
    ck_assert(get(o, s) == s->lo);
    if (isfinite(s->hi)) {
        ck_assert_ok(set(o, s, s->hi));
        ck_assert(get(o, s) == s->hi);
    } else {
        ck_assert_ok(set(o, s, 1e300));
        ck_assert_fails(set(o, s, INFINITY), GMMP_EINVAL);
    }
    ck_assert_ok(set(o, s, s->def));
    /* Just outside is refused, names the option, and changes nothing. */
    double below = s->is_int ? s->lo - 1 : (s->lo == 0 ? -1e-300 : s->lo * 0.5);
    ck_assert_fails(set(o, s, below), GMMP_EINVAL);
    ck_assert_msg(strstr(gmmp_last_error(), name) != NULL, "message '%s' does not name %s",
                  gmmp_last_error(), name);
    ck_assert(get(o, s) == s->def);
    if (isfinite(s->hi)) {
        double above = s->is_int ? s->hi + 1 : s->hi * 1.5;
        ck_assert_fails(set(o, s, above), GMMP_EINVAL);
        ck_assert_msg(strstr(gmmp_last_error(), name) != NULL, "message '%s' does not name %s",
                      gmmp_last_error(), name);
        ck_assert(get(o, s) == s->def);
    }
    if (!s->is_int) {
        ck_assert_fails(gmmp_options_set_real(o, s->key, NAN), GMMP_EINVAL);
        ck_assert(get(o, s) == s->def);
    }
    /* The other kind's setter and getter refuse the key. */
    int64_t iv;
    double rv;
    if (s->is_int) {
        ck_assert_fails(gmmp_options_set_real(o, s->key, s->def), GMMP_EINVAL);
        ck_assert_fails(gmmp_options_get_real(o, s->key, &rv), GMMP_EINVAL);
        ck_assert_fails(gmmp_options_get_real(NULL, s->key, &rv), GMMP_EINVAL);
    } else {
        ck_assert_fails(gmmp_options_set_int(o, s->key, 0), GMMP_EINVAL);
        ck_assert_fails(gmmp_options_get_int(o, s->key, &iv), GMMP_EINVAL);
        ck_assert_fails(gmmp_options_get_int(NULL, s->key, &iv), GMMP_EINVAL);
    }
    ck_assert(get(o, s) == s->def);
    gmmp_options_destroy(o);
}
END_TEST

START_TEST(unknown_keys_and_null_arguments)
{
    gmmp_options *o = tu_options();
    const gmmp_option unknown[] = {(gmmp_option)0, (gmmp_option)5, (gmmp_option)18,
                                   (gmmp_option)39, (gmmp_option)-1, (gmmp_option)999};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        int64_t iv;
        double rv;
        ck_assert_fails(gmmp_options_set_int(o, unknown[i], 1), GMMP_EINVAL);
        ck_assert_fails(gmmp_options_set_real(o, unknown[i], 1.0), GMMP_EINVAL);
        ck_assert_fails(gmmp_options_get_int(o, unknown[i], &iv), GMMP_EINVAL);
        ck_assert_fails(gmmp_options_get_real(o, unknown[i], &rv), GMMP_EINVAL);
        ck_assert_fails(gmmp_options_get_int(NULL, unknown[i], &iv), GMMP_EINVAL);
        ck_assert_fails(gmmp_option_bounds(unknown[i], &rv, &rv, NULL), GMMP_EINVAL);
        ck_assert_ptr_null(gmmp_option_name(unknown[i]));
    }
    ck_assert_fails(gmmp_options_create(NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_options_set_int(NULL, GMMP_OPT_THREADS, 2), GMMP_EINVAL);
    ck_assert_fails(gmmp_options_set_real(NULL, GMMP_OPT_TOL, 0.5), GMMP_EINVAL);
    ck_assert_fails(gmmp_options_get_int(o, GMMP_OPT_THREADS, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_options_get_real(o, GMMP_OPT_TOL, NULL), GMMP_EINVAL);
    ck_assert_str_eq(gmmp_option_name(GMMP_OPT_THREADS), "threads");
    ck_assert_str_eq(gmmp_option_name(GMMP_OPT_REG_COVAR), "reg_covar");
    gmmp_options_destroy(o);
    gmmp_options_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("options");
    TCase *tc = tu_tcase("options");
    tcase_add_loop_test(tc, defaults_of_every_key, 0, N_KEYS);
    tcase_add_loop_test(tc, bounds_and_name_of_every_key, 0, N_KEYS);
    tcase_add_loop_test(tc, ranges_are_checked_and_named, 0, N_KEYS);
    tcase_add_test(tc, unknown_keys_and_null_arguments);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
