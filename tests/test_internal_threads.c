/*
 * Internal: the steps of an adaptation that share their components among
 * threads (the factorisation check, gmmp__stats_adapt_on, the labelled
 * moments) must give the same bits as one thread, and name the same
 * failing component. No public call chooses their threads alone: EPLL's
 * adaptation within its steps runs them on its own (test_restore.c checks
 * that whole path). Linked against the library's parts.
 * SPDX-License-Identifier: MIT
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"

#include "model.h"
#include "stats.h"
#include "testutil.h"
#include "workers.h"

enum { K = 7, D = 6 };

static gmmp__exec_threads on(unsigned count)
{
    return (gmmp__exec_threads){count, false};
}

/* A K-component model with random means and covariances (not yet
 * factored: its normalising constants zero). */
static gmmp_model *raw_model(unsigned seed)
{
    tu_rng r = {seed};
    gmmp_model *m;
    ck_assert_ok(gmmp__model_alloc(&m, K, D));
    for (size_t k = 0; k < K; k++) {
        m->weights[k] = (1.0 + (double)k) / (K * (K + 1) / 2.0);
        tu_fill_uniform(&r, m->means + k * D, D, -5, 5);
        tu_random_spd(&r, m->covs + k * D * D, D, 0.5, 20.0);
    }
    return m;
}

START_TEST(factor_on_threads_is_the_serial_factor)
{
    gmmp_model *one = raw_model(3), *many = raw_model(3);
    ck_assert_ok(gmmp__model_factor(one, NULL, on(1)));
    for (unsigned T = 2; T <= 5; T++) {
        memset(many->log_norm, 0, K * sizeof(double));
        memset(many->log_weights, 0, K * sizeof(double));
        ck_assert_ok(gmmp__model_factor(many, NULL, on(T)));
        ck_assert_mem_eq(many->log_norm, one->log_norm, K * sizeof(double));
        ck_assert_mem_eq(many->log_weights, one->log_weights, K * sizeof(double));
    }
    gmmp_model_destroy(one);
    gmmp_model_destroy(many);
}
END_TEST

START_TEST(factor_on_threads_names_the_first_bad_component)
{
    /* Components 3 and 4 indefinite, claimed at about the same time by
     * two threads: whichever meets its failure first, the message names
     * component 3, as one thread's does (repeated, for the threads'
     * orders to vary). */
    for (int rep = 0; rep < 40; rep++)
        for (unsigned T = 1; T <= 4; T++) {
            gmmp_model *m = raw_model(9);
            m->covs[3 * D * D + (D - 1) * D + (D - 1)] = -1.0; /* found last */
            m->covs[4 * D * D] = -3.0;                         /* found first */
            ck_assert_int_eq(gmmp__model_factor(m, "a hint", on(T)), GMMP_ENOTSPD);
            ck_assert_msg(strstr(gmmp_last_error(), "component 3 ") != NULL, "%u threads: %s",
                          T, gmmp_last_error());
            ck_assert_ptr_nonnull(strstr(gmmp_last_error(), "a hint"));
            gmmp_model_destroy(m);
        }
}
END_TEST

/* Statistics of n labelled rows accumulated with T threads, in chunks of
 * `chunk` rows (as EPLL's adaptation adds them; a multiple of the
 * moments' blocks, whose sums are then those of the whole). */
static gmmp_stats *labelled(const gmmp_model *m, const double *X, const size_t *labels, size_t n,
                            size_t chunk, unsigned T)
{
    gmmp_stats *st;
    ck_assert_ok(gmmp__stats_new(&st, K, D, true, false, false));
    ck_assert_ok(gmmp__stats_bind(st, m->means));
    for (size_t first = 0; first < n; first += chunk) {
        size_t count = n - first < chunk ? n - first : chunk;
        ck_assert_ok(gmmp__stats_add_labelled(st, X + first * D, count, labels + first, on(T)));
    }
    return st;
}

START_TEST(labelled_moments_and_adaptation_on_threads_are_the_serial_ones)
{
    /* Labels skewed towards a few components, in more rows than a block
     * (GMMP__BLOCK_ROWS), so that the threads' shares of a block differ
     * from block to block. */
    const size_t n = 2 * GMMP__BLOCK_ROWS + 777;
    gmmp_model *m = raw_model(5);
    ck_assert_ok(gmmp__model_factor(m, NULL, on(1)));
    double *X = malloc(n * D * sizeof *X);
    size_t *labels = malloc(n * sizeof *labels);
    tu_rng r = {77};
    tu_fill_uniform(&r, X, n * D, -40, 40);
    for (size_t i = 0; i < n; i++) {
        double u = tu_uniform(&r);
        labels[i] = u < 0.5 ? 1 : u < 0.7 ? 4 : (size_t)(tu_uniform(&r) * K) % K;
    }
    gmmp_stats *one = labelled(m, X, labels, n, n, 1);
    gmmp_model *adapted_one;
    ck_assert_ok(gmmp__stats_adapt_on(one, m, 16.0, 1e-6, on(1), &adapted_one));
    for (unsigned T = 2; T <= 4; T++)
        for (size_t chunk = GMMP__BLOCK_ROWS; chunk <= n; chunk += n - GMMP__BLOCK_ROWS) {
            gmmp_stats *many = labelled(m, X, labels, n, chunk, T);
            ck_assert(many->total.count == one->total.count);
            ck_assert_mem_eq(many->total.nk, one->total.nk, K * sizeof(double));
            ck_assert_mem_eq(many->total.s1, one->total.s1, K * D * sizeof(double));
            /* The lower triangles: dsyrk leaves the upper ones alone. */
            for (size_t k = 0; k < K; k++)
                for (size_t i = 0; i < D; i++)
                    ck_assert_mem_eq(many->total.s2 + (k * D + i) * D,
                                     one->total.s2 + (k * D + i) * D, (i + 1) * sizeof(double));
            gmmp_model *adapted;
            ck_assert_ok(gmmp__stats_adapt_on(many, m, 16.0, 1e-6, on(T), &adapted));
            ck_assert_mem_eq(adapted->weights, adapted_one->weights, K * sizeof(double));
            ck_assert_mem_eq(adapted->means, adapted_one->means, K * D * sizeof(double));
            ck_assert_mem_eq(adapted->covs, adapted_one->covs, K * D * D * sizeof(double));
            ck_assert_mem_eq(adapted->log_norm, adapted_one->log_norm, K * sizeof(double));
            gmmp_model_destroy(adapted);
            gmmp_stats_destroy(many);
        }
    /* The public call is the one-thread one. */
    gmmp_model *public_adapted;
    ck_assert_ok(gmmp_stats_adapt(one, m, 16.0, 1e-6, &public_adapted));
    ck_assert_mem_eq(public_adapted->covs, adapted_one->covs, K * D * D * sizeof(double));
    gmmp_model_destroy(public_adapted);
    gmmp_model_destroy(adapted_one);
    gmmp_stats_destroy(one);
    gmmp_model_destroy(m);
    free(X);
    free(labels);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("internal_threads");
    TCase *tc = tu_tcase("threads");
    tcase_set_tags(tc, "threads"); /* ThreadSanitizer's stage (scripts/test-all.sh) */
    tcase_add_test(tc, factor_on_threads_is_the_serial_factor);
    tcase_add_test(tc, factor_on_threads_names_the_first_bad_component);
    tcase_add_test(tc, labelled_moments_and_adaptation_on_threads_are_the_serial_ones);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
