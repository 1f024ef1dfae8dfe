/*
 * Concurrency: several threads use one model and one plan at once (plans
 * being created on the model meanwhile, which fills its shared eigenbasis
 * cache, while the first scoring calls invert its Cholesky factors), and
 * get the results a single thread gets. Run under
 * ThreadSanitizer in CI.
 * SPDX-License-Identifier: MIT
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "testutil.h"

enum { T = 6, N = 2000 };

typedef struct shared {
    gmmp_model *model;
    const gmmp_plan *plan;
    const double *Y;
    size_t d, K;
    const double *want_lp, *want_mmse, *want_fresh;
} shared;

typedef struct task {
    const shared *sh;
    int role, rc;
    double err;
} task;

static void *run(void *arg)
{
    task *t = arg;
    const shared *sh = t->sh;
    const size_t d = sh->d;
    double *out = malloc(N * d * sizeof *out);
    for (int rep = 0; rep < 3 && t->rc == 0; rep++) {
        if (t->role == 0) { /* scoring the model */
            t->rc = gmmp_model_score_samples(sh->model, sh->Y, N, out, NULL);
            if (!t->rc)
                t->err = tu_rel_diff(out, sh->want_lp, N);
        } else if (t->role == 1) { /* executing the shared plan */
            t->rc = gmmp_plan_execute(sh->plan, sh->Y, N, NULL, NULL, NULL, out);
            if (!t->rc)
                t->err = tu_rel_diff(out, sh->want_mmse, N * d);
        } else { /* planning on the model: the first fills its eigenbases */
            gmmp_plan *p;
            double var = 50.0;
            t->rc = gmmp_plan_create(&p, sh->model, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL);
            if (!t->rc) {
                t->rc = gmmp_plan_execute(p, sh->Y, N, NULL, NULL, NULL, out);
                t->err = tu_rel_diff(out, sh->want_fresh, N * d);
                gmmp_plan_destroy(p);
            }
        }
        if (t->err > 1e-13)
            break;
    }
    free(out);
    return NULL;
}

START_TEST(model_and_plan_are_shared_safely)
{
    const size_t K = 4, d = 16;
    double w[4] = {0.1, 0.2, 0.3, 0.4}, mu[4 * 16], cov[4 * 256];
    tu_rng r = {77};
    tu_fill_uniform(&r, mu, K * d, -5, 5);
    for (size_t k = 0; k < K; k++)
        tu_random_spd(&r, cov + k * d * d, d, 0.5, 9.0);
    gmmp_model *m, *twin;
    ck_assert_ok(gmmp_model_create(&m, K, d, w, mu, cov));
    ck_assert_ok(gmmp_model_create(&twin, K, d, w, mu, cov));
    double *Y = malloc(N * d * sizeof *Y);
    ck_assert_ok(gmmp_model_sample(m, N, 1, Y, NULL));
    /* Serial references, computed on a twin so that `m`'s caches are
     * still empty when the threads start: two of them score first, and
     * race to invert its factors (gmmp__model_prepare_scoring). */
    double *lp = malloc(N * sizeof *lp), *mmse = malloc(N * d * sizeof *mmse);
    double *fresh = malloc(N * d * sizeof *fresh);
    double var = 25.0, var2 = 50.0;
    gmmp_plan *plan, *ref2;
    ck_assert_ok(gmmp_model_score_samples(twin, Y, N, lp, NULL));
    ck_assert_ok(gmmp_plan_create(&ref2, twin, d, NULL, GMMP_NOISE_SCALAR, &var2, NULL, NULL));
    ck_assert_ok(gmmp_plan_execute(ref2, Y, N, NULL, NULL, NULL, fresh));
    gmmp_plan_destroy(ref2);
    gmmp_options *o = tu_options();
    /* the shared plan does not touch the cache */
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_CHOLESKY));
    ck_assert_ok(gmmp_plan_create(&plan, m, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, o));
    gmmp_options_destroy(o);
    ck_assert_ok(gmmp_plan_execute(plan, Y, N, NULL, NULL, NULL, mmse));

    shared sh = {m, plan, Y, d, K, lp, mmse, fresh};
    task tasks[T];
    pthread_t tids[T];
    for (int i = 0; i < T; i++) {
        tasks[i] = (task){&sh, i % 3, 0, 0.0};
        ck_assert_int_eq(pthread_create(&tids[i], NULL, run, &tasks[i]), 0);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(tids[i], NULL);
        ck_assert_msg(tasks[i].rc == 0, "thread %d: %s", i, gmmp_strerror(tasks[i].rc));
        ck_assert_msg(tasks[i].err <= 1e-13, "thread %d (role %d) differs by %g", i,
                      tasks[i].role, tasks[i].err);
    }
    gmmp_plan_destroy(plan);
    gmmp_model_destroy(m);
    gmmp_model_destroy(twin);
    free(Y), free(lp), free(mmse), free(fresh);
}
END_TEST

typedef struct fit_task {
    const double *X;
    size_t n, d;
    int threads;
    gmmp_model *out;
    int rc;
} fit_task;

static void *fit(void *arg)
{
    fit_task *f = arg;
    gmmp_trainer *t = NULL;
    gmmp_options *o = NULL;
    f->rc = gmmp_options_create(&o);
    if (!f->rc)
        f->rc = gmmp_options_set_int(o, GMMP_OPT_THREADS, f->threads);
    if (!f->rc)
        f->rc = gmmp_options_set_int(o, GMMP_OPT_MAX_ITER, 5);
    if (!f->rc)
        f->rc = gmmp_trainer_create(&t, 3, o);
    gmmp_options_destroy(o);
    if (!f->rc)
        f->rc = gmmp_trainer_fit(t, f->X, f->n, f->d, &f->out, NULL);
    gmmp_trainer_destroy(t);
    return NULL;
}

START_TEST(trainers_run_side_by_side)
{
    /* Two fits at once, each with its own threads (and the process-wide
     * OpenBLAS thread count switched by both), give the serial model. */
    const size_t n = 5000, d = 6;
    double w[3] = {0.3, 0.3, 0.4}, mu[18], cov[108];
    tu_rng r = {9};
    tu_fill_uniform(&r, mu, 18, -10, 10);
    for (int k = 0; k < 3; k++)
        tu_random_spd(&r, cov + k * 36, d, 0.5, 2.0);
    gmmp_model *truth;
    ck_assert_ok(gmmp_model_create(&truth, 3, d, w, mu, cov));
    double *X = malloc(n * d * sizeof *X);
    ck_assert_ok(gmmp_model_sample(truth, n, 2, X, NULL));
    fit_task serial = {X, n, d, 1, NULL, 0};
    fit(&serial);
    ck_assert_ok(serial.rc);
    fit_task tasks[2] = {{X, n, d, 2, NULL, 0}, {X, n, d, 3, NULL, 0}};
    pthread_t tids[2];
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&tids[i], NULL, fit, &tasks[i]), 0);
    double a[3 + 18 + 108], b[3 + 18 + 108];
    ck_assert_ok(gmmp_model_get(serial.out, a, a + 3, a + 21));
    for (int i = 0; i < 2; i++) {
        pthread_join(tids[i], NULL);
        ck_assert_ok(tasks[i].rc);
        ck_assert_ok(gmmp_model_get(tasks[i].out, b, b + 3, b + 21));
        ck_assert_double_le(tu_rel_diff(b, a, 3 + 18 + 108), 1e-12);
        gmmp_model_destroy(tasks[i].out);
    }
    gmmp_model_destroy(serial.out);
    gmmp_model_destroy(truth);
    free(X);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tu_tcase("threads");
    tcase_set_tags(tc, "threads");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, model_and_plan_are_shared_safely);
    tcase_add_test(tc, trainers_run_side_by_side);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
