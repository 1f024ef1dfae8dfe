/*
 * Out of memory: every allocating function, with its n-th allocation
 * made to fail for every n, returns GMMP_ENOMEM with the fixed message and
 * leaks nothing, until n is large enough for it to succeed.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gmmprior.h"
#include "testutil.h"

static long budget = -1; /* allocations left; -1: unlimited */
static long live;        /* allocations not yet released */
static size_t bytes;     /* bytes handed out since last reset */
/* The library's worker threads allocate at the same time: the counts are
 * updated under a lock (a lost update had shown as a leak of one). */
static pthread_mutex_t counts = PTHREAD_MUTEX_INITIALIZER;

static void *limited_alloc(size_t size, void *payload)
{
    (void)payload;
    pthread_mutex_lock(&counts);
    bool refuse = budget == 0;
    if (!refuse) {
        if (budget > 0)
            budget--;
        live++;
        bytes += size;
    }
    pthread_mutex_unlock(&counts);
    return refuse ? NULL : malloc(size);
}

static void limited_release(void *ptr, void *payload)
{
    (void)payload;
    pthread_mutex_lock(&counts);
    live--;
    pthread_mutex_unlock(&counts);
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
    int e = gmmp_extractor_create(&ex, 4, 4, 1, 2);
    if (!e)
        e = gmmp_reconstructor_create(&rc, ex, 20, 20);
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
    return e;
}

static int op_extract_sample(void)
{
    /* 2 channels: img is 20 x 10 pixels of 2 values. */
    gmmp_extractor *ex = NULL;
    size_t got = 0;
    double means[30 * 2];
    int e = gmmp_extractor_create(&ex, 3, 2, 2, 1);
    if (!e)
        e = gmmp_extractor_sample(ex, img, 20, 10, 20, 30, 9, out, means, &got);
    gmmp_extractor_destroy(ex);
    return e;
}

static int op_options(void)
{
    gmmp_options *o = NULL;
    int e = gmmp_options_create(&o);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_THREADS, 2);
    if (!e)
        e = gmmp_options_set_real(o, GMMP_OPT_SKIP, 0.0);
    gmmp_options_destroy(o);
    return e;
}

/* A patch model: 2 x 2 patches of 1 channel from 4 of the D values is not
 * possible (D = 5), so these use a model of their own, d = 4. */
static gmmp_model *patch_model(int *e)
{
    double w4[2] = {0.4, 0.6}, mu4[8], cov4[32];
    tu_rng r = {8};
    tu_fill_uniform(&r, mu4, 8, 0, 1);
    for (int k = 0; k < 2; k++)
        tu_random_spd(&r, cov4 + k * 16, 4, 0.01, 0.1);
    gmmp_model *m = NULL;
    *e = gmmp_model_create(&m, 2, 4, w4, mu4, cov4);
    if (!*e)
        *e = gmmp_model_set_patch(m, 2, 2, 1, 1);
    if (!*e)
        *e = gmmp_model_set_description(m, "four pixels, for the allocation test");
    if (*e) {
        gmmp_model_destroy(m);
        m = NULL;
    }
    return m;
}

static int op_model_description(void)
{
    int e;
    gmmp_model *m = patch_model(&e), *back = NULL;
    gmmp_extractor *ex = NULL;
    if (!e)
        e = gmmp_extractor_create_for_model(&ex, m, 1);
    if (!e)
        e = gmmp_model_save(m, path);
    if (!e)
        e = gmmp_model_load(&back, path);
    gmmp_extractor_destroy(ex);
    gmmp_model_destroy(back);
    gmmp_model_destroy(m);
    return e;
}

static int restore_with(int threads, int estimator)
{
    int e;
    gmmp_model *m = patch_model(&e);
    gmmp_options *o = NULL;
    gmmp_plan *p = NULL;
    static double res[20 * 20];
    if (!e)
        e = gmmp_options_create(&o);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_THREADS, threads);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_ESTIMATOR, estimator);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_BATCH, 50);
    if (!e)
        e = gmmp_denoise_image(m, 0.1, img, 20, 20, 20, res, 20, o);
    if (!e)
        e = gmmp_plan_create_denoise(&p, m, 0.2, o);
    if (!e)
        e = gmmp_restore_image(p, img, 20, 20, 20, res, 20, o);
    gmmp_plan_destroy(p);
    gmmp_options_destroy(o);
    gmmp_model_destroy(m);
    return e;
}

static int op_restore_mmse(void) { return restore_with(1, GMMP_ESTIMATOR_MMSE); }
static int op_restore_map_threads(void) { return restore_with(2, GMMP_ESTIMATOR_MAP); }

static int op_group_refine(void)
{
    gmmp_options *o = NULL;
    static double res[20 * 20];
    int e = gmmp_options_create(&o);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_THREADS, 2);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_GROUP_PATCH, 3);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_GROUP_SIZE, 10);
    if (!e)
        e = gmmp_group_refine_image(10.0, img, img, 20, 20, 1, 20, res, 20, o);
    gmmp_options_destroy(o);
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

/* A model file that carries eigenpairs (format 3), written and read back,
 * and a fast plan from it. */
static int op_spectra(void)
{
    int e;
    gmmp_model *m = patch_model(&e), *back = NULL;
    gmmp_options *o = NULL;
    gmmp_plan *plan = NULL;
    if (!e)
        e = gmmp_model_set_spectra(m, 2);
    if (!e)
        e = gmmp_model_save(m, path);
    if (!e)
        e = gmmp_model_load(&back, path);
    if (!e)
        e = gmmp_options_create(&o);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_RANK, 2);
    if (!e)
        e = gmmp_plan_create_denoise(&plan, back, 0.1, o);
    gmmp_plan_destroy(plan);
    gmmp_options_destroy(o);
    gmmp_model_destroy(back);
    gmmp_model_destroy(m);
    return e;
}

static int op_stats(void)
{
    gmmp_stats *a = NULL, *b = NULL;
    gmmp_model *m = NULL;
    int e = gmmp_stats_create(&a, K, D, NULL);
    if (!e)
        e = gmmp_stats_create(&b, K, D, NULL);
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

static int fit_with(int init, int threads, int precision)
{
    gmmp_trainer *t = NULL;
    gmmp_model *m = NULL;
    gmmp_options *o = NULL;
    int e = gmmp_options_create(&o);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_INIT, init);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_THREADS, threads);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_MAX_ITER, 3);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_N_INIT, 2);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_PRECISION, precision);
    if (!e)
        e = gmmp_trainer_create(&t, K, o);
    if (!e && init == GMMP_INIT_MODEL)
        e = gmmp_trainer_set_init_model(t, model);
    if (!e)
        e = gmmp_trainer_fit(t, X, N, D, &m, NULL);
    gmmp_model_destroy(m);
    gmmp_trainer_destroy(t);
    gmmp_options_destroy(o);
    return e;
}

static int op_fit_kmeans(void) { return fit_with(GMMP_INIT_KMEANS, 1, GMMP_PRECISION_DOUBLE); }
static int op_fit_random(void) { return fit_with(GMMP_INIT_RANDOM, 2, GMMP_PRECISION_DOUBLE); }
static int op_fit_model(void) { return fit_with(GMMP_INIT_MODEL, 1, GMMP_PRECISION_DOUBLE); }
static int op_fit_single(void) { return fit_with(GMMP_INIT_KMEANS, 2, GMMP_PRECISION_SINGLE); }

/* rank > 0: a flat-tail plan (eigenbasis only); candidates > 0: with
 * preselection. */
static int plan_with(int cholesky, unsigned threads, int precision, int rank, int candidates)
{
    gmmp_plan *p = NULL;
    gmmp_model *m = NULL; /* a fresh model: its eigenbasis cache is empty */
    gmmp_options *o = NULL;
    double var = 2.0, c[D * D];
    int e = gmmp_options_create(&o);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD,
                                 cholesky ? GMMP_PLAN_CHOLESKY : GMMP_PLAN_DEFAULT);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_THREADS, threads);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_PRECISION, precision);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_RANK, rank);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_CANDIDATES, candidates);
    if (!e)
        e = gmmp_model_create(&m, K, D, w, mu, cov);
    if (!e)
        e = gmmp_plan_create(&p, m, D, NULL, GMMP_NOISE_SCALAR, &var, NULL, o);
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
    gmmp_options_destroy(o);
    return e;
}

static int op_plan_denoise(void)
{
    gmmp_plan *p = NULL;
    gmmp_model *m = NULL; /* fresh: the eigenbasis cache is filled here */
    int e = gmmp_model_create(&m, K, D, w, mu, cov);
    if (!e)
        e = gmmp_plan_create_denoise(&p, m, 1.5, NULL);
    gmmp_plan_destroy(p);
    p = NULL;
    if (!e) /* and a second sigma from the cache */
        e = gmmp_plan_create_denoise(&p, m, 2.5, NULL);
    if (!e)
        e = gmmp_plan_execute(p, X, 100, NULL, NULL, NULL, out);
    gmmp_plan_destroy(p);
    gmmp_model_destroy(m);
    return e;
}

static int op_plan_eigen(void) { return plan_with(0, 1, GMMP_PRECISION_DOUBLE, 0, 0); }
static int op_plan_cholesky(void) { return plan_with(1, 2, GMMP_PRECISION_DOUBLE, 0, 0); }
static int op_plan_eigen_single(void) { return plan_with(0, 2, GMMP_PRECISION_SINGLE, 0, 0); }
static int op_plan_cholesky_single(void) { return plan_with(1, 1, GMMP_PRECISION_SINGLE, 0, 0); }
static int op_plan_flat_single(void) { return plan_with(0, 1, GMMP_PRECISION_SINGLE, 2, 0); }
static int op_plan_preselect(void) { return plan_with(0, 2, GMMP_PRECISION_DOUBLE, 2, 1); }
static int op_plan_preselect_single(void)
{
    return plan_with(0, 1, GMMP_PRECISION_SINGLE, 2, 1);
}

/* Preselection through a basis of the prior's leading directions
 * (flat_layout.c): a prior of 24 components in 27 dimensions whose
 * variance and means lie mostly in the first 4 (as test_internal_flat's,
 * where the basis is asserted), and rows near its means. */
static int preselect_through_basis(int precision)
{
    enum { KB = 24, DB = 27, NB = 200 };
    static double wb[KB], mub[KB * DB], covb[KB * DB * DB], Yb[NB * DB];
    static bool made;
    if (!made) { /* the same data whatever the budget */
        tu_random_prior(4242, KB, DB, NB, 1, wb, mub, covb, Yb);
        made = true;
    }
    static double outb[NB * DB];
    gmmp_plan *p = NULL;
    gmmp_model *m = NULL;
    gmmp_options *o = NULL;
    int e = gmmp_options_create(&o);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_THREADS, 2);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_PRECISION, precision);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_RANK, 13);
    if (!e)
        e = gmmp_options_set_int(o, GMMP_OPT_CANDIDATES, 4);
    if (!e)
        e = gmmp_model_create(&m, KB, DB, wb, mub, covb);
    if (!e)
        e = gmmp_plan_create_denoise(&p, m, 20.0, o);
    if (!e)
        e = gmmp_plan_execute(p, Yb, NB, NULL, NULL, outb, outb);
    gmmp_plan_destroy(p);
    gmmp_model_destroy(m);
    gmmp_options_destroy(o);
    return e;
}

static int op_plan_preselect_basis(void)
{
    return preselect_through_basis(GMMP_PRECISION_DOUBLE);
}

static int op_plan_preselect_basis_single(void)
{
    return preselect_through_basis(GMMP_PRECISION_SINGLE);
}

static const struct {
    const char *name;
    operation op;
} ops[] = {
    {"options", op_options},
    {"extractor and reconstructor", op_extract_reconstruct},
    {"extractor sample, 2 channels", op_extract_sample},
    {"patch description, save and load", op_model_description},
    {"denoise and restore image, MMSE", op_restore_mmse},
    {"denoise and restore image, MAP, 2 threads", op_restore_map_threads},
    {"denoising plan", op_plan_denoise},
    {"group refinement, 2 threads", op_group_refine},
    {"model creation", op_model_create},
    {"scoring", op_score},
    {"sampling", op_sample},
    {"save and load", op_save_load},
    {"eigenpairs: set, save, load, plan", op_spectra},
    {"streaming statistics", op_stats},
    {"fit, k-means init", op_fit_kmeans},
    {"fit, random init, 2 threads", op_fit_random},
    {"fit, model init", op_fit_model},
    {"eigenbasis plan", op_plan_eigen},
    {"Cholesky plan, 2 threads", op_plan_cholesky},
    {"fit in single precision, 2 threads", op_fit_single},
    {"eigenbasis plan in single precision, 2 threads", op_plan_eigen_single},
    {"Cholesky plan in single precision", op_plan_cholesky_single},
    {"flat-tail plan in single precision", op_plan_flat_single},
    {"flat-tail plan with preselection, 2 threads", op_plan_preselect},
    {"flat-tail plan with preselection in single precision", op_plan_preselect_single},
    {"preselection through a basis, 2 threads", op_plan_preselect_basis},
    {"preselection through a basis in single precision, 2 threads",
     op_plan_preselect_basis_single},
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

START_TEST(masked_execution_leaves_outputs_untouched_on_failure)
{
    /* posterior.h and common.h: on failure nothing is written. Whatever
     * allocation of a masked execution fails (2 threads, so a worker's
     * failure too), every output keeps its sentinel. */
    enum { NP = 60 };
    gmmp_options *o;
    ck_assert_ok(gmmp_options_create(&o));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, 2));
    double noise[D] = {1.0, 1.5, 2.0, 2.5, 3.0};
    gmmp_plan *p;
    ck_assert_ok(gmmp_plan_create(&p, model, D, NULL, GMMP_NOISE_DIAGONAL, noise, NULL, o));
    gmmp_options_destroy(o);
    unsigned char mask[NP * D];
    for (size_t i = 0; i < NP * D; i++)
        mask[i] = (unsigned char)((i * 7) % 5 < 3 || i % 11 == 0);
    static double resp[NP * K], lev[NP], map[NP * D], mmse[NP * D];
    const double sentinel = -12345.0;
    for (long allowed = 0;; allowed++) {
        ck_assert_msg(allowed < 1000, "masked execution never succeeded");
        for (size_t i = 0; i < NP * K; i++)
            resp[i] = sentinel;
        for (size_t i = 0; i < NP; i++)
            lev[i] = sentinel;
        for (size_t i = 0; i < NP * D; i++)
            map[i] = mmse[i] = sentinel;
        budget = allowed;
        int e = gmmp_plan_execute_masked(p, X, mask, NP, resp, lev, map, mmse);
        budget = -1;
        if (e == GMMP_OK)
            break;
        ck_assert_int_eq(e, GMMP_ENOMEM);
        for (size_t i = 0; i < NP * K; i++)
            ck_assert_msg(resp[i] == sentinel, "allocation %ld failed: resp[%zu] written",
                          allowed, i);
        for (size_t i = 0; i < NP; i++)
            ck_assert_msg(lev[i] == sentinel, "allocation %ld failed: log_evidence[%zu] written",
                          allowed, i);
        for (size_t i = 0; i < NP * D; i++) {
            ck_assert_msg(map[i] == sentinel, "allocation %ld failed: map[%zu] written",
                          allowed, i);
            ck_assert_msg(mmse[i] == sentinel, "allocation %ld failed: mmse[%zu] written",
                          allowed, i);
        }
    }
    gmmp_plan_destroy(p);
}
END_TEST

START_TEST(a_new_sigma_allocates_o_of_k_d)
{
    /* posterior.h: a plan references the model's cached eigenbases; a
     * denoising plan for a new sigma allocates O(K d), not a copy of the
     * K d^2 covariances or eigenbases. */
    enum { KK = 12, DD = 64 };
    double *wk = malloc(KK * sizeof *wk), *muk = malloc(KK * DD * sizeof *muk);
    double *covk = malloc((size_t)KK * DD * DD * sizeof *covk);
    tu_rng r = {21};
    for (size_t k = 0; k < KK; k++) {
        wk[k] = 1.0 / KK;
        tu_random_spd(&r, covk + k * DD * DD, DD, 1.0, 100.0);
    }
    tu_fill_uniform(&r, muk, KK * DD, 0, 255);
    /* Both precisions: single precision shares the float eigenbases with
     * the model's cache too. */
    for (int precision = 0; precision < 2; precision++) {
        gmmp_options *o = tu_options();
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PRECISION, precision));
        gmmp_model *m;
        ck_assert_ok(gmmp_model_create(&m, KK, DD, wk, muk, covk));
        gmmp_plan *first, *second;
        ck_assert_ok(gmmp_plan_create_denoise(&first, m, 20.0, o)); /* fills the cache */
        bytes = 0;
        ck_assert_ok(gmmp_plan_create_denoise(&second, m, 25.0, o));
        gmmp_options_destroy(o);
        size_t used = bytes;
        const size_t kd2 = (size_t)KK * DD * DD * sizeof(double);
        ck_assert_msg(used < kd2 / 4,
                      "a plan for a new sigma (precision %d) allocated %zu bytes; K d^2 doubles "
                      "are %zu",
                      precision, used, kd2);
        ck_assert_uint_eq(gmmp_plan_single_components(second), precision ? KK : 0);
        /* Both work, and the second still works without the first or the model. */
        gmmp_plan_destroy(first);
        gmmp_model_destroy(m);
        double y[DD], est[DD];
        tu_fill_uniform(&r, y, DD, 0, 255);
        ck_assert_ok(gmmp_plan_execute(second, y, 1, NULL, NULL, NULL, est));
        gmmp_plan_destroy(second);
    }
    free(wk), free(muk), free(covk);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tu_tcase("oom");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, every_allocation_failure_is_clean, 0,
                        (int)(sizeof ops / sizeof ops[0]));
    suite_add_tcase(s, tc);
    TCase *contract = tu_tcase("contract");
    tcase_add_checked_fixture(contract, setup, teardown);
    tcase_add_test(contract, masked_execution_leaves_outputs_untouched_on_failure);
    tcase_add_test(contract, a_new_sigma_allocates_o_of_k_d);
    suite_add_tcase(s, contract);
    return tu_run(s);
}
