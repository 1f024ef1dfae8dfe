/*
 * Internal: partial eigendecompositions started from a nearby model's
 * (gmmp__eigen_hint, eigen.h), which fast EPLL's adaptation uses and no
 * public call reaches directly, and those a model file carries. Linked against the library's parts, not
 * the shared library, so the internal functions are visible.
 * SPDX-License-Identifier: MIT
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"

#include "eigen.h"
#include "model.h"
#include "plan.h"
#include "testutil.h"

enum { K = 3, D = 16, R = 4 };

static gmmp__exec_threads one_thread = {1, false};

/* K covariances U diag(lambda) U^T with a clear gap after the R largest
 * eigenvalues (at least 10 against at most 1); with `turn` > 0, each
 * basis turned by a rotation near the identity (I + turn G, made
 * orthonormal): a covariance "adapted" from the unturned one. */
static gmmp_model *make_model(double turn)
{
    tu_rng rng = {12345};
    double weights[K], means[K * D], covs[K * D * D], u[D * D], g[D * D], v[D * D];
    for (size_t k = 0; k < K; k++) {
        weights[k] = 1.0 / K;
        for (size_t j = 0; j < D; j++)
            means[k * D + j] = tu_normal(&rng);
        for (size_t i = 0; i < D * D; i++)
            u[i] = tu_normal(&rng);
        tu_orthonormal_columns(u, D); /* square: its rows too */
        for (size_t i = 0; i < D * D; i++)
            g[i] = (i / D == i % D ? 1.0 : 0.0) + turn * tu_normal(&rng);
        tu_orthonormal_columns(g, D);
        /* Rows of v: the rows of u turned by g. */
        for (size_t a = 0; a < D; a++)
            for (size_t j = 0; j < D; j++) {
                double sum = 0.0;
                for (size_t b = 0; b < D; b++)
                    sum += g[a * D + b] * u[b * D + j];
                v[a * D + j] = turn > 0.0 ? sum : u[a * D + j];
            }
        double lambda[D];
        for (size_t a = 0; a < D; a++)
            lambda[a] = a < R ? 10.0 * (double)(R - a + k) : 0.2 + 0.05 * (double)a;
        for (size_t i = 0; i < D; i++)
            for (size_t j = 0; j < D; j++) {
                double sum = 0.0;
                for (size_t a = 0; a < D; a++)
                    sum += v[a * D + i] * lambda[a] * v[a * D + j];
                covs[(k * D + i) * D + j] = sum;
            }
        for (size_t i = 0; i < D; i++) /* exactly symmetric */
            for (size_t j = 0; j < i; j++)
                covs[(k * D + j) * D + i] = covs[(k * D + i) * D + j];
    }
    gmmp_model *m;
    ck_assert_int_eq(gmmp_model_create(&m, K, D, weights, means, covs), GMMP_OK);
    return m;
}

/* Largest entry of |P_a - P_b| for the projectors on the R leading
 * eigenvectors of component k. */
static double projector_diff(const gmmp__eigen *a, const gmmp__eigen *b, size_t k)
{
    double worst = 0.0;
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double pa = 0.0, pb = 0.0;
            for (size_t t = D - R; t < D; t++) {
                pa += a->ut[(k * D + t) * D + i] * a->ut[(k * D + t) * D + j];
                pb += b->ut[(k * D + t) * D + i] * b->ut[(k * D + t) * D + j];
            }
            worst = fmax(worst, fabs(pa - pb));
        }
    return worst;
}

/* The partial result's tail: every other eigenvalue the mean of what the
 * trace leaves, their vectors zero. */
static void check_tail(const gmmp_model *m, const gmmp__eigen *e)
{
    for (size_t k = 0; k < K; k++) {
        double rest = 0.0;
        for (size_t j = 0; j < D; j++)
            rest += m->covs[(k * D + j) * D + j];
        for (size_t a = D - R; a < D; a++)
            rest -= e->lambda[k * D + a];
        for (size_t j = 0; j < D - R; j++) {
            ck_assert_double_eq_tol(e->lambda[k * D + j], rest / (D - R), 1e-12 * rest);
            for (size_t i = 0; i < D; i++)
                ck_assert(e->ut[(k * D + j) * D + i] == 0.0);
        }
    }
}

/* The bases of `to` asked for `top` pairs after a hint from `from`, whose
 * own bases are computed first for from_top pairs (0: not at all); fails
 * the test unless the result holds `want` exact pairs. Release it. */
static gmmp__eigen *after_hint(gmmp_model *to, gmmp_model *from, size_t from_top, size_t top,
                               size_t want)
{
    gmmp__eigen *e;
    if (from_top) {
        ck_assert_int_eq(gmmp__eigen_get(from, one_thread, from_top, &e), GMMP_OK);
        gmmp__eigen_release(e); /* the model and the hint keep theirs */
    }
    gmmp__eigen_hint(to, from);
    ck_assert_int_eq(gmmp__eigen_get(to, one_thread, top, &e), GMMP_OK);
    ck_assert_uint_eq(e->top, want);
    return e;
}

START_TEST(a_hint_that_is_exact_gives_the_exact_leading_pairs)
{
    gmmp_model *prior = make_model(0.0), *same = make_model(0.0);
    gmmp__eigen *full, *part = after_hint(same, prior, D, R, R);
    ck_assert_int_eq(gmmp__eigen_get(prior, one_thread, D, &full), GMMP_OK);
    ck_assert_uint_eq(full->top, D);
    for (size_t k = 0; k < K; k++) {
        for (size_t a = D - R; a < D; a++)
            ck_assert_double_eq_tol(part->lambda[k * D + a], full->lambda[k * D + a],
                                    1e-11 * full->lambda[k * D + a]);
        ck_assert_double_le(projector_diff(part, full, k), 1e-11);
    }
    check_tail(same, part);
    gmmp__eigen_release(full);
    gmmp__eigen_release(part);
    gmmp_model_destroy(prior);
    gmmp_model_destroy(same);
}
END_TEST

START_TEST(subspace_iteration_follows_a_turned_basis)
{
    /* The bases turned by about 0.05 rad: the hint's own vectors are that
     * far off (a projector error near 0.05), two iterations with a gap
     * ratio of at most 0.1 bring it below 1e-3. */
    gmmp_model *prior = make_model(0.0), *adapted = make_model(0.05), *copy = make_model(0.05);
    gmmp__eigen *hint, *part = after_hint(adapted, prior, D, R, R), *exact;
    ck_assert_int_eq(gmmp__eigen_get(prior, one_thread, D, &hint), GMMP_OK);
    ck_assert_int_eq(gmmp__eigen_get(copy, one_thread, R, &exact), GMMP_OK);
    ck_assert_uint_eq(exact->top, D); /* no hint: a full decomposition */
    double start = 0.0;
    for (size_t k = 0; k < K; k++) {
        start = fmax(start, projector_diff(hint, exact, k));
        ck_assert_double_le(projector_diff(part, exact, k), 1e-3);
        for (size_t a = D - R; a < D; a++) /* Ritz values err quadratically */
            ck_assert_double_eq_tol(part->lambda[k * D + a], exact->lambda[k * D + a],
                                    1e-5 * exact->lambda[k * D + a]);
    }
    ck_assert_double_ge(start, 1e-2); /* the test needs a start that is off */
    check_tail(adapted, part);

    /* A flat plan on the partial bases gives the exact posterior
     * covariance all the same. */
    gmmp_options *o;
    ck_assert_int_eq(gmmp_options_create(&o), GMMP_OK);
    ck_assert_int_eq(gmmp_options_set_int(o, GMMP_OPT_RANK, R), GMMP_OK);
    ck_assert_int_eq(gmmp_options_set_int(o, GMMP_OPT_THREADS, 1), GMMP_OK);
    gmmp_plan *flat, *whole, *flat_full;
    ck_assert_int_eq(gmmp_plan_create_denoise(&flat, adapted, 0.7, o), GMMP_OK);
    ck_assert_uint_eq(flat->eig->top, R); /* the partial bases */
    ck_assert_int_eq(gmmp_plan_create_denoise(&whole, copy, 0.7, NULL), GMMP_OK);
    for (size_t k = 0; k < K; k++) {
        double a[D * D], b[D * D];
        ck_assert_int_eq(gmmp_plan_posterior_cov(flat, k, a), GMMP_OK);
        ck_assert_int_eq(gmmp_plan_posterior_cov(whole, k, b), GMMP_OK);
        for (size_t i = 0; i < D * D; i++)
            ck_assert_double_eq_tol(a[i], b[i], 1e-10);
    }
    /* The flat plan itself on the partial bases: log-evidence, MAP and
     * labels against the same flat plan on full ones. */
    ck_assert_int_eq(gmmp_plan_create_denoise(&flat_full, copy, 0.7, o), GMMP_OK);
    ck_assert_uint_eq(flat_full->eig->top, D);
    enum { N = 300 };
    static double y[N * D], lev[2][N], map[2][N * D];
    ck_assert_int_eq(gmmp_model_sample(copy, N, 99, y, NULL), GMMP_OK);
    tu_rng noise = {5};
    for (size_t i = 0; i < N * D; i++)
        y[i] += 0.7 * tu_normal(&noise);
    ck_assert_int_eq(gmmp_plan_execute(flat, y, N, NULL, lev[0], map[0], NULL), GMMP_OK);
    ck_assert_int_eq(gmmp_plan_execute(flat_full, y, N, NULL, lev[1], map[1], NULL), GMMP_OK);
    double e_lev = tu_rel_diff(lev[0], lev[1], N), e_map = tu_rel_diff(map[0], map[1], N * D);
    if (getenv("GMMP_DEBUG_PARITY"))
        fprintf(stderr, "flat on partial bases: log-evidence %.3g, MAP %.3g\n", e_lev, e_map);
    /* Measured 5e-5 and 6e-5: the bases' own error (projectors within
     * 1e-3) carried through; a wrong tail or vector is off by far more. */
    ck_assert_double_le(e_lev, 5e-4);
    ck_assert_double_le(e_map, 5e-4);
    gmmp_plan_destroy(flat);
    gmmp_plan_destroy(whole);
    gmmp_plan_destroy(flat_full);
    gmmp_options_destroy(o);

    /* Asked for every pair, the model decomposes in full: the copy's,
     * bitwise. */
    gmmp__eigen *again;
    ck_assert_int_eq(gmmp__eigen_get(adapted, one_thread, D, &again), GMMP_OK);
    ck_assert_uint_eq(again->top, D);
    ck_assert_mem_eq(again->lambda, exact->lambda, K * D * sizeof(double));
    ck_assert_mem_eq(again->ut, exact->ut, K * D * D * sizeof(double));
    gmmp__eigen_release(again);
    gmmp__eigen_release(hint);
    gmmp__eigen_release(part);
    gmmp__eigen_release(exact);
    gmmp_model_destroy(prior);
    gmmp_model_destroy(adapted);
    gmmp_model_destroy(copy);
}
END_TEST

START_TEST(no_usable_hint_means_a_full_decomposition)
{
    /* A hint with fewer leading pairs than asked for is no hint either. */
    gmmp_model *first = make_model(0.0), *second = make_model(0.05), *third = make_model(0.1);
    gmmp__eigen_release(after_hint(second, first, D, R - 1, R - 1));
    gmmp__eigen_release(after_hint(third, second, 0, R, D)); /* R - 1 pairs, R asked for */
    gmmp_model_destroy(first);
    gmmp_model_destroy(second);
    gmmp_model_destroy(third);

    /* A prior whose bases were never computed, or of another size, is no
     * hint. */
    gmmp_model *prior = make_model(0.0), *adapted = make_model(0.05);
    gmmp__eigen_release(after_hint(adapted, prior, 0, R, D)); /* prior->eigen is NULL */
    gmmp_model_destroy(adapted);

    double w = 1.0, mu[D] = {0}, cov[D * D] = {0};
    for (size_t j = 0; j < D; j++)
        cov[j * D + j] = 1.0 + (double)j;
    gmmp_model *other;
    ck_assert_int_eq(gmmp_model_create(&other, 1, D, &w, mu, cov), GMMP_OK);
    adapted = make_model(0.05);
    gmmp__eigen_release(after_hint(adapted, other, D, R, D)); /* K differs */
    gmmp_model_destroy(adapted);
    gmmp_model_destroy(other);
    gmmp_model_destroy(prior);
}
END_TEST

START_TEST(a_file_with_eigenpairs_loads_its_bases_without_decomposing)
{
    /* Saved with R pairs, read back: the bases are there before any plan
     * asks, hold the file's R pairs (the full decomposition's, to
     * rounding) and the flat tail, and serve a plan of rank R as they
     * are, and a later adaptation as a hint. */
    gmmp_model *m = make_model(0.0), *back;
    ck_assert_int_eq(gmmp_model_set_spectra(m, R), GMMP_OK);
    size_t size = gmmp_model_serialized_size(m);
    unsigned char *buf = malloc(size);
    ck_assert_int_eq(gmmp_model_serialize(m, buf, size), GMMP_OK);
    ck_assert_int_eq(gmmp_model_deserialize(&back, buf, size), GMMP_OK);
    free(buf);
    ck_assert_ptr_nonnull(back->eigen);
    ck_assert_uint_eq(back->eigen->top, R);
    check_tail(back, back->eigen);
    gmmp__eigen *full, *got;
    ck_assert_int_eq(gmmp__eigen_get(m, one_thread, D, &full), GMMP_OK);
    for (size_t k = 0; k < K; k++) {
        for (size_t a = D - R; a < D; a++)
            ck_assert_double_eq_tol(back->eigen->lambda[k * D + a], full->lambda[k * D + a],
                                    1e-12 * full->lambda[k * D + a]);
        ck_assert_double_le(projector_diff(back->eigen, full, k), 1e-12);
    }
    const gmmp__eigen *stored = back->eigen;
    ck_assert_int_eq(gmmp__eigen_get(back, one_thread, R, &got), GMMP_OK);
    ck_assert_ptr_eq(got, stored); /* nothing computed */
    gmmp__eigen_release(got);
    gmmp_model *adapted = make_model(0.05);
    gmmp__eigen_release(after_hint(adapted, back, 0, R, R));
    /* More pairs than the file holds: a full decomposition. */
    ck_assert_int_eq(gmmp__eigen_get(back, one_thread, R + 1, &got), GMMP_OK);
    ck_assert_uint_eq(got->top, D);
    gmmp__eigen_release(got);
    gmmp__eigen_release(full);
    gmmp_model_destroy(adapted);
    gmmp_model_destroy(back);
    gmmp_model_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("internal_eigen");
    TCase *tc = tu_tcase("partial");
    tcase_add_test(tc, a_hint_that_is_exact_gives_the_exact_leading_pairs);
    tcase_add_test(tc, subspace_iteration_follows_a_turned_basis);
    tcase_add_test(tc, no_usable_hint_means_a_full_decomposition);
    tcase_add_test(tc, a_file_with_eigenpairs_loads_its_bases_without_decomposing);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
