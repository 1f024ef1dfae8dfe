/*
 * Internal: the two builds of a flat-tail plan's blocks (flat_block.c),
 * for the baseline target and with AVX2, give the same results bit for
 * bit; plans share their model's flat layout (flat_layout.c) and give
 * the same bits as plans that built their own. The plan takes the AVX2
 * build wherever the processor has it, so the other tests check that one
 * against their references; this test makes the baseline one answer to
 * it. Linked against the library's parts, not the shared library, so
 * that the plan's choice can be set.
 * SPDX-License-Identifier: MIT
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"

#include "flat_layout.h"
#include "plan.h"
#include "testutil.h"

/* Every output of one execution, then MAP alone (the path that skips the
 * normalisation) into map_only. */
typedef struct {
    double *resp, *lev, *map, *mmse, *map_only;
} outputs;

static outputs run(gmmp_plan *plan, bool avx2, const double *Y, size_t n, size_t K, size_t d)
{
    outputs o = {malloc(n * K * sizeof(double)), malloc(n * sizeof(double)),
                 malloc(n * d * sizeof(double)), malloc(n * d * sizeof(double)),
                 malloc(n * d * sizeof(double))};
    ck_assert(o.resp && o.lev && o.map && o.mmse && o.map_only);
    plan->flat_avx2 = avx2;
    ck_assert_int_eq(gmmp_plan_execute(plan, Y, n, o.resp, o.lev, o.map, o.mmse), GMMP_OK);
    ck_assert_int_eq(gmmp_plan_execute(plan, Y, n, NULL, NULL, o.map_only, NULL), GMMP_OK);
    return o;
}

/* Whether this processor runs the AVX2 build (as plan_flat.c decides). */
static bool cpu_has_avx2(void)
{
#if defined(GMMP_HAVE_FLAT_AVX2)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

static gmmp_options *new_options(void)
{
    gmmp_options *o = NULL;
    ck_assert_int_eq(gmmp_options_create(&o), GMMP_OK);
    return o;
}

static void release(outputs *o)
{
    free(o->resp), free(o->lev), free(o->map), free(o->mmse), free(o->map_only);
}

/* A random prior (tu_random_prior), its arrays kept for more models like
 * it, and its N rows. */
typedef struct {
    double *w, *mu, *cov, *Y;
    gmmp_model *m;
} random_prior;

static random_prior make_prior(size_t K, size_t d, size_t N, uint64_t seed, bool few)
{
    random_prior p = {malloc(K * sizeof(double)), malloc(K * d * sizeof(double)),
                      malloc(K * d * d * sizeof(double)), malloc(N * d * sizeof(double)), NULL};
    ck_assert(p.w && p.mu && p.cov && p.Y);
    tu_random_prior(seed, K, d, N, few, p.w, p.mu, p.cov, p.Y);
    ck_assert_int_eq(gmmp_model_create(&p.m, K, d, p.w, p.mu, p.cov), GMMP_OK);
    return p;
}

static void free_prior(random_prior *p)
{
    gmmp_model_destroy(p->m);
    free(p->w), free(p->mu), free(p->cov), free(p->Y);
}

/* A flat plan of this rank, candidates and precision, every component
 * computed (no skipping). */
static gmmp_plan *flat_plan(gmmp_model *m, double sigma, size_t rank, size_t candidates,
                            bool single)
{
    gmmp_options *o = new_options();
    ck_assert_int_eq(gmmp_options_set_int(o, GMMP_OPT_RANK, (long long)rank), GMMP_OK);
    ck_assert_int_eq(gmmp_options_set_int(o, GMMP_OPT_CANDIDATES, (long long)candidates),
                     GMMP_OK);
    ck_assert_int_eq(gmmp_options_set_real(o, GMMP_OPT_SKIP, 0.0), GMMP_OK);
    ck_assert_int_eq(gmmp_options_set_int(o, GMMP_OPT_PRECISION,
                                          single ? GMMP_PRECISION_SINGLE : GMMP_PRECISION_DOUBLE),
                     GMMP_OK);
    gmmp_plan *plan;
    ck_assert_int_eq(gmmp_plan_create_denoise(&plan, m, sigma, o), GMMP_OK);
    ck_assert(plan->flat);
    gmmp_options_destroy(o);
    return plan;
}

/* d = 6, 27 and 64 (no full eight lanes, a row not a multiple of them,
 * and EPLL's); with preselection (rank 5 or 13, of which 1 or 4 coarse:
 * 4 or 9 exact coordinates a candidate) and without; double and single
 * precision; and (cases 12 to 15, d 27 and 64) priors mostly in a few
 * directions, whose preselection ranks through a basis of them (all 13
 * coordinates exact). */
START_TEST(both_builds_of_the_flat_blocks_agree_bit_for_bit)
{
    static const size_t dims[] = {6, 27, 64, 27, 64};
    enum { K = 24, N = 300 };
    const bool few = _i >= 12;
    size_t d = few ? dims[3 + _i % 2] : dims[_i / 4];
    size_t candidates = few ? 4 : (size_t)(_i % 2) * 4, rank = d < 16 ? 5 : 13;
    bool single = (_i / 2) % 2;
    random_prior pr = make_prior(K, d, N, 4242 + (uint64_t)_i, few);
    gmmp_model *m = pr.m;
    const double *Y = pr.Y;
    gmmp_plan *plan = flat_plan(m, 20.0, rank, candidates, single);
    ck_assert(plan->flat);
    ck_assert_uint_eq(plan->candidates, candidates);
    /* A basis only where the prior lies in few directions: 4 here, at
     * most a few more to hold 98% of the coarse columns. */
    if (few)
        ck_assert(plan->layout->pre_dim >= 4 && plan->layout->pre_dim <= 8);
    else
        ck_assert_uint_eq(plan->layout->pre_dim, 0);
    ck_assert_uint_eq(plan->layout->pre_exact, candidates ? (few ? rank : rank - rank / 3) : 0);
    ck_assert(plan->flat_avx2 == cpu_has_avx2()); /* the plan's own choice */
    ck_assert_uint_eq(gmmp_plan_single_components(plan), single ? K : 0);
    outputs base = run(plan, false, Y, N, K, d);
    if (cpu_has_avx2()) {
        outputs wide = run(plan, true, Y, N, K, d);
        ck_assert_mem_eq(wide.resp, base.resp, N * K * sizeof(double));
        ck_assert_mem_eq(wide.lev, base.lev, N * sizeof(double));
        ck_assert_mem_eq(wide.map, base.map, N * d * sizeof(double));
        ck_assert_mem_eq(wide.mmse, base.mmse, N * d * sizeof(double));
        ck_assert_mem_eq(wide.map_only, base.map_only, N * d * sizeof(double));
        release(&wide);
    } else if (_i == 0) {
        printf("internal_flat: no AVX2 build or processor here: the baseline build alone\n");
    }
    ck_assert_mem_eq(base.map_only, base.map, N * d * sizeof(double));
    if (candidates) {
        /* The candidates' log densities are exact (rank r): their
         * responsibilities and log-sum-exp are those a plan without
         * preselection gives over the same components (in single
         * precision to float's accuracy), with or without a basis for
         * the ranking; and the ranking finds the most likely component
         * nearly always. */
        gmmp_plan *all = flat_plan(m, 20.0, rank, 0, single);
        outputs every = run(all, cpu_has_avx2(), Y, N, K, d);
        const double tol = single ? 1e-5 : 1e-9;
        size_t missed = 0;
        for (size_t i = 0; i < N; i++) {
            const double *pre = base.resp + i * K, *ref = every.resp + i * K;
            double sum = 0.0;
            size_t held = 0, top = 0, ref_top = 0;
            for (size_t k = 0; k < K; k++) {
                sum += pre[k] > 0.0 ? ref[k] : 0.0;
                held += pre[k] > 0.0;
                top = pre[k] > pre[top] ? k : top;
                ref_top = ref[k] > ref[ref_top] ? k : ref_top;
            }
            ck_assert(held >= 1 && held <= candidates);
            for (size_t k = 0; k < K; k++)
                if (pre[k] > 0.0)
                    ck_assert_double_eq_tol(pre[k], ref[k] / sum, tol);
            double want = log(sum) + every.lev[i];
            ck_assert_double_eq_tol(base.lev[i], want, tol * fabs(want) + tol);
            missed += top != ref_top;
        }
        ck_assert_msg(missed <= N / 50, "case %d: the most likely component missed in %zu of %d rows",
                      _i, missed, N);
        release(&every);
        gmmp_plan_destroy(all);
    }
    /* The baseline build against the exact plan (no flat tail), loosely:
     * the flat tail changes the prior, not the bookkeeping. */
    gmmp_options *exact = new_options();
    gmmp_plan *full;
    ck_assert_int_eq(gmmp_plan_create_denoise(&full, m, 20.0, exact), GMMP_OK);
    double *map = malloc(N * d * sizeof *map);
    ck_assert_int_eq(gmmp_plan_execute(full, Y, N, NULL, NULL, map, NULL), GMMP_OK);
    ck_assert_double_le(tu_rel_diff(base.map, map, N * d), 0.2);
    free(map);
    gmmp_plan_destroy(full);
    gmmp_options_destroy(exact);
    release(&base);
    gmmp_plan_destroy(plan);
    free_prior(&pr);
}
END_TEST

/* A plan for another noise level, or after plans of another rank or
 * precision, takes the model's kept layout when it serves (flat_layout.c)
 * and gives the same bits as a plan of a model that never had one. */
static void assert_same_outputs(gmmp_plan *a, gmmp_plan *b, const double *Y, size_t n,
                                size_t K, size_t d)
{
    outputs x = run(a, cpu_has_avx2(), Y, n, K, d), y = run(b, cpu_has_avx2(), Y, n, K, d);
    ck_assert_mem_eq(x.resp, y.resp, n * K * sizeof(double));
    ck_assert_mem_eq(x.lev, y.lev, n * sizeof(double));
    ck_assert_mem_eq(x.map, y.map, n * d * sizeof(double));
    ck_assert_mem_eq(x.mmse, y.mmse, n * d * sizeof(double));
    release(&x);
    release(&y);
}

START_TEST(plans_share_the_models_flat_layout)
{
    enum { K = 24, N = 200 };
    const bool few = _i >= 8; /* preselection through a basis, double and single */
    const size_t d = few || _i / 4 ? 64 : 27, rank = d < 32 ? 9 : 13;
    const size_t candidates = few ? 4 : (size_t)(_i % 2) * 4;
    const bool single = few ? _i % 2 : (_i / 2) % 2;
    random_prior pr = make_prior(K, d, N, 77 + (uint64_t)_i, few);
    gmmp_model *m = pr.m, *fresh;
    const double *Y = pr.Y;
    ck_assert_int_eq(gmmp_model_create(&fresh, K, d, pr.w, pr.mu, pr.cov), GMMP_OK);
    gmmp_plan *reference = flat_plan(fresh, 20.0, rank, candidates, single);
    /* A double-precision plan at another sigma first: a single one needs
     * a layout with float copies, a double one takes it as it is. */
    gmmp_plan *first = flat_plan(m, 5.0, rank, candidates, false);
    gmmp_plan *second = flat_plan(m, 20.0, rank, candidates, single);
    ck_assert(single ? second->layout != first->layout : second->layout == first->layout);
    ck_assert_uint_eq(second->candidates, candidates);
    ck_assert(few ? second->layout->pre_dim > 0 : second->layout->pre_dim == 0);
    assert_same_outputs(second, reference, Y, N, K, d);
    gmmp_plan *again = flat_plan(m, 20.0, rank, candidates, false);
    ck_assert(again->layout == second->layout);
    /* Another rank replaces the kept layout; plans holding the old one
     * keep theirs, and the next plan of the first rank builds it anew. */
    gmmp_plan *other = flat_plan(m, 20.0, rank - 1, candidates, single);
    ck_assert(other->layout != second->layout);
    gmmp_plan *last = flat_plan(m, 20.0, rank, candidates, single);
    ck_assert(last->layout != second->layout && last->layout != other->layout);
    gmmp_model_destroy(m); /* the plans hold the model, and so its layouts */
    pr.m = NULL;
    assert_same_outputs(last, reference, Y, N, K, d);
    assert_same_outputs(second, reference, Y, N, K, d);
    gmmp_plan_destroy(first);
    gmmp_plan_destroy(second);
    gmmp_plan_destroy(again);
    gmmp_plan_destroy(other);
    gmmp_plan_destroy(last);
    gmmp_plan_destroy(reference);
    gmmp_model_destroy(fresh);
    free_prior(&pr);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("internal_flat");
    TCase *tc = tu_tcase("builds");
    tcase_add_loop_test(tc, both_builds_of_the_flat_blocks_agree_bit_for_bit, 0, 16);
    tcase_add_loop_test(tc, plans_share_the_models_flat_layout, 0, 10);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
