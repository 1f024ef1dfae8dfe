/*
 * Out of memory: every allocating function, with its n-th allocation
 * made to fail for every n, returns GMMP_ENOMEM with the fixed message and
 * leaks nothing, until n is large enough for it to succeed.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gmmprior.h"
#include "testutil.h"

static long budget = -1; /* allocations left; -1: unlimited */
static long live;        /* allocations not yet released */

static void *limited_alloc(size_t size, void *payload)
{
    (void)payload;
    if (budget == 0)
        return NULL;
    if (budget > 0)
        budget--;
    live++;
    return malloc(size);
}

static void limited_release(void *ptr, void *payload)
{
    (void)payload;
    live--;
    free(ptr);
}

enum { K = 3, D = 5, N = 3000 };
static double w[K] = {0.2, 0.3, 0.5}, mu[K * D], cov[K * D * D], X[N * D];
static double img[20 * 20], out[N * D];
static gmmp_model *model;
static char path[256];

static void setup(void)
{
    gmmp_allocator a = {limited_alloc, limited_release, NULL};
    ck_assert_ok(gmmp_set_allocator(&a));
    budget = -1;
    tu_rng r = {5};
    tu_fill_uniform(&r, mu, K * D, -4, 4);
    for (int k = 0; k < K; k++)
        tu_random_spd(&r, cov + k * D * D, D, 0.5, 2.0);
    ck_assert_ok(gmmp_model_create(&model, K, D, w, mu, cov));
    ck_assert_ok(gmmp_model_sample(model, N, 1, X, NULL));
    tu_fill_uniform(&r, img, 400, 0, 1);
    snprintf(path, sizeof path, "/tmp/gmmp-oom-%d.gmmp", (int)getpid());
    ck_assert_ok(gmmp_model_save(model, path));
}

static void teardown(void)
{
    budget = -1;
    gmmp_model_destroy(model);
    remove(path);
    ck_assert_int_eq(live, 0);
    gmmp_set_allocator(NULL);
}

/* Each operation creates what it needs, does its call, and destroys all
 * it created, whatever happened; it returns the first failure. */
typedef int (*operation)(void);

static int op_extract_reconstruct(void)
{
    gmmp_extractor *ex = NULL;
    gmmp_reconstructor *rc = NULL;
    int e = gmmp_extractor_create(&ex, 4, 4, 2);
    if (!e)
        e = gmmp_reconstructor_create(&rc, ex, 20, 20);
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
    return e;
}

static int op_model_create(void)
{
    gmmp_model *m = NULL;
    int e = gmmp_model_create(&m, K, D, w, mu, cov);
    gmmp_model_destroy(m);
    return e;
}

static int op_score(void)
{
    double score;
    int e = gmmp_model_score_samples(model, X, N, out, NULL);
    return e ? e : gmmp_model_score(model, X, N, &score);
}

static int op_sample(void)
{
    return gmmp_model_sample(model, 100, 3, out, NULL);
}

static int op_save_load(void)
{
    gmmp_model *m = NULL;
    int e = gmmp_model_save(model, path);
    if (!e)
        e = gmmp_model_load(&m, path);
    gmmp_model_destroy(m);
    return e;
}

static int op_stats(void)
{
    gmmp_stats *a = NULL, *b = NULL;
    gmmp_model *m = NULL;
    int e = gmmp_stats_create(&a, K, D);
    if (!e)
        e = gmmp_stats_create(&b, K, D);
    if (!e)
        e = gmmp_stats_accumulate(a, model, X, N / 2);
    if (!e)
        e = gmmp_stats_accumulate(b, model, X + (N / 2) * D, N / 2);
    if (!e)
        e = gmmp_stats_merge(a, b);
    if (!e)
        e = gmmp_stats_m_step(a, 1e-6, &m, NULL);
    gmmp_model_destroy(m);
    gmmp_stats_destroy(a);
    gmmp_stats_destroy(b);
    return e;
}

static int fit_with(int init, int threads)
{
    gmmp_trainer *t = NULL;
    gmmp_model *m = NULL;
    int e = gmmp_trainer_create(&t, K);
    if (!e && init == GMMP_INIT_MODEL)
        e = gmmp_trainer_set_init_model(t, model);
    if (!e)
        e = gmmp_trainer_set_int(t, GMMP_TRAIN_INIT, init);
    if (!e)
        e = gmmp_trainer_set_int(t, GMMP_TRAIN_THREADS, threads);
    if (!e)
        e = gmmp_trainer_set_int(t, GMMP_TRAIN_MAX_ITER, 3);
    if (!e)
        e = gmmp_trainer_set_int(t, GMMP_TRAIN_N_INIT, 2);
    if (!e)
        e = gmmp_trainer_fit(t, X, N, D, &m, NULL);
    gmmp_model_destroy(m);
    gmmp_trainer_destroy(t);
    return e;
}

static int op_fit_kmeans(void) { return fit_with(GMMP_INIT_KMEANS, 1); }
static int op_fit_random(void) { return fit_with(GMMP_INIT_RANDOM, 2); }
static int op_fit_model(void) { return fit_with(GMMP_INIT_MODEL, 1); }

static int plan_with(int cholesky, unsigned threads)
{
    gmmp_plan *p = NULL;
    gmmp_model *m = NULL; /* a fresh model: its eigenbasis cache is empty */
    gmmp_plan_options o;
    gmmp_plan_options_default(&o);
    o.method = cholesky ? GMMP_PLAN_CHOLESKY : GMMP_PLAN_DEFAULT;
    o.threads = threads;
    double var = 2.0, c[D * D];
    int e = gmmp_model_create(&m, K, D, w, mu, cov);
    if (!e)
        e = gmmp_plan_create(&p, m, D, NULL, GMMP_NOISE_SCALAR, &var, NULL, &o);
    if (!e)
        e = gmmp_plan_execute(p, X, N, NULL, NULL, out, out);
    if (!e)
        e = gmmp_plan_component_means(p, 1, X, N, out);
    if (!e)
        e = gmmp_plan_posterior_cov(p, 2, c);
    if (!e) {
        unsigned char mask[40 * D];
        for (size_t i = 0; i < 40 * D; i++)
            mask[i] = (unsigned char)((i * 7) % 5 < 3);
        e = gmmp_plan_execute_masked(p, X, mask, 40, NULL, NULL, out, out + 40 * D);
    }
    gmmp_plan_destroy(p);
    gmmp_model_destroy(m);
    return e;
}

static int op_plan_eigen(void) { return plan_with(0, 1); }
static int op_plan_cholesky(void) { return plan_with(1, 2); }

static const struct {
    const char *name;
    operation op;
} ops[] = {
    {"extractor and reconstructor", op_extract_reconstruct},
    {"model creation", op_model_create},
    {"scoring", op_score},
    {"sampling", op_sample},
    {"save and load", op_save_load},
    {"streaming statistics", op_stats},
    {"fit, k-means init", op_fit_kmeans},
    {"fit, random init, 2 threads", op_fit_random},
    {"fit, model init", op_fit_model},
    {"eigenbasis plan", op_plan_eigen},
    {"Cholesky plan, 2 threads", op_plan_cholesky},
};

START_TEST(every_allocation_failure_is_clean)
{
    long failures = 0;
    for (long allowed = 0;; allowed++) {
        ck_assert_msg(allowed < 1000, "%s never succeeded", ops[_i].name);
        budget = allowed;
        long before = live;
        int e = ops[_i].op();
        budget = -1;
        ck_assert_msg(live == before, "%s leaked %ld allocations when allocation %ld failed",
                      ops[_i].name, live - before, allowed);
        if (e == GMMP_OK)
            break;
        ck_assert_msg(e == GMMP_ENOMEM, "%s with %ld allocations: %d (%s)", ops[_i].name,
                      allowed, e, gmmp_last_error());
        ck_assert_str_eq(gmmp_last_error(), "out of memory");
        failures++;
    }
    printf("%s: %ld allocation failures handled\n", ops[_i].name, failures);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("oom");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, every_allocation_failure_is_clean, 0,
                        (int)(sizeof ops / sizeof ops[0]));
    suite_add_tcase(s, tc);
    return tu_run(s);
}
