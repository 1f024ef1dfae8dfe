/*
 * gmmp_group_refine_image(): NL-Bayes' second step on a pilot, against
 * the same written out the slow way here (every distance, a full sort,
 * the covariance by loops, Gaussian elimination for the solve), and its
 * contract: weights, groups of one, threads, aliasing, bad arguments.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "refmath.h"
#include "testutil.h"

typedef struct setting {
    size_t h, w, C, pitch, P, N, S, step;
} setting;

typedef struct ref_cand {
    double dist;
    size_t offset, r, c;
} ref_cand;

/* Nearest first; ties to the candidate nearer the reference, then to the
 * earlier row and column. */
static int by_distance(const void *a, const void *b)
{
    const ref_cand *x = a, *y = b;
    if (x->dist != y->dist)
        return x->dist < y->dist ? -1 : 1;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->r != y->r)
        return x->r < y->r ? -1 : 1;
    return x->c < y->c ? -1 : x->c > y->c;
}

static double px(const double *img, const setting *s, size_t r, size_t c, size_t i, size_t j,
                 size_t ch)
{
    return img[(r + i) * s->pitch + (c + j) * s->C + ch];
}

/* The reference grid along an axis of n positions: 0, step, ... and n - 1. */
static size_t ref_grid(size_t n, size_t step, size_t *at)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i += step)
        at[k++] = i;
    if (at[k - 1] != n - 1)
        at[k++] = n - 1;
    return k;
}

/* restore.h's definition, the slow way; weight 1. */
static void ref_refine(const setting *s, double sigma, const double *y, const double *pilot,
                       double *out)
{
    const size_t P = s->P, C = s->C, d = P * P * C, rows = s->h - P + 1, cols = s->w - P + 1;
    double *sum = calloc(s->h * s->w * C, sizeof *sum), *cnt = calloc(s->h * s->w, sizeof *cnt);
    ref_cand *cand = malloc(rows * cols * sizeof *cand);
    double *cov = malloc(d * d * sizeof *cov), *inv = malloc(d * d * sizeof *inv);
    double *mb = malloc(d * sizeof *mb), *my = malloc(d * sizeof *my), *e = malloc(d * sizeof *e);
    size_t *gr = malloc(rows * sizeof *gr), *gc = malloc(cols * sizeof *gc);
    const size_t ngr = ref_grid(rows, s->step, gr), ngc = ref_grid(cols, s->step, gc);
    for (size_t a = 0; a < ngr; a++)
        for (size_t b = 0; b < ngc; b++) {
            const size_t r0 = gr[a], c0 = gc[b];
            size_t n = 0;
            for (size_t r = 0; r < rows; r++)
                for (size_t c = 0; c < cols; c++) {
                    if ((r > r0 ? r - r0 : r0 - r) > s->S || (c > c0 ? c - c0 : c0 - c) > s->S)
                        continue;
                    double dist = 0;
                    for (size_t i = 0; i < P; i++)
                        for (size_t j = 0; j < P; j++)
                            for (size_t ch = 0; ch < C; ch++) {
                                double t = px(pilot, s, r, c, i, j, ch) -
                                           px(pilot, s, r0, c0, i, j, ch);
                                dist += t * t;
                            }
                    const size_t dr = r > r0 ? r - r0 : r0 - r, dc = c > c0 ? c - c0 : c0 - c;
                    cand[n++] = (ref_cand){dist, dr * dr + dc * dc, r, c};
                }
            qsort(cand, n, sizeof *cand, by_distance);
            const size_t k = n < s->N ? n : s->N;
            memset(mb, 0, d * sizeof *mb);
            memset(my, 0, d * sizeof *my);
            for (size_t t = 0; t < k; t++)
                for (size_t i = 0, q = 0; i < P; i++)
                    for (size_t j = 0; j < P; j++)
                        for (size_t ch = 0; ch < C; ch++, q++) {
                            mb[q] += px(pilot, s, cand[t].r, cand[t].c, i, j, ch) / (double)k;
                            my[q] += px(y, s, cand[t].r, cand[t].c, i, j, ch) / (double)k;
                        }
            /* inv = (C + sigma^2 I)^-1, C the pilot patches' covariance. */
            for (size_t p = 0; p < d; p++)
                for (size_t q = 0; q < d; q++) {
                    double acc = 0;
                    for (size_t t = 0; t < k; t++) {
                        const size_t rp = p / (P * C), cp = p / C % P, hp = p % C;
                        const size_t rq = q / (P * C), cq = q / C % P, hq = q % C;
                        acc += (px(pilot, s, cand[t].r, cand[t].c, rp, cp, hp) - mb[p]) *
                               (px(pilot, s, cand[t].r, cand[t].c, rq, cq, hq) - mb[q]);
                    }
                    cov[p * d + q] = (k > 1 ? acc / (double)(k - 1) : 0) + (p == q) * sigma * sigma;
                }
            ref_inverse(cov, d, inv);
            ck_assert_uint_le(d, 512);
            for (size_t t = 0; t < k; t++) {
                /* e = y - sigma^2 inv (y - m_y): the posterior mean. */
                double yv[512];
                for (size_t i = 0, q = 0; i < P; i++)
                    for (size_t j = 0; j < P; j++)
                        for (size_t ch = 0; ch < C; ch++, q++)
                            yv[q] = px(y, s, cand[t].r, cand[t].c, i, j, ch);
                for (size_t p = 0; p < d; p++) {
                    double acc = 0;
                    for (size_t q = 0; q < d; q++)
                        acc += inv[p * d + q] * (yv[q] - my[q]);
                    e[p] = k > 1 ? yv[p] - sigma * sigma * acc : yv[p];
                }
                for (size_t i = 0, q = 0; i < P; i++)
                    for (size_t j = 0; j < P; j++) {
                        const size_t at = (cand[t].r + i) * s->w + cand[t].c + j;
                        cnt[at] += 1;
                        for (size_t ch = 0; ch < C; ch++, q++)
                            sum[at * C + ch] += e[q];
                    }
            }
        }
    for (size_t r = 0; r < s->h; r++)
        for (size_t c = 0; c < s->w; c++)
            for (size_t ch = 0; ch < C; ch++)
                out[r * s->pitch + c * C + ch] =
                    cnt[r * s->w + c] > 0 ? sum[(r * s->w + c) * C + ch] / cnt[r * s->w + c]
                                          : pilot[r * s->pitch + c * C + ch];
    free(sum), free(cnt), free(cand), free(cov), free(inv), free(mb), free(my), free(e);
    free(gr), free(gc);
}

/* A smooth random image and a noisier copy, row pitch s->pitch. */
static void make_pair(const setting *s, uint64_t seed, double **clean_noisy, double **pilot)
{
    tu_rng r = {seed};
    double *y = calloc(s->h * s->pitch, sizeof *y), *b = calloc(s->h * s->pitch, sizeof *b);
    for (size_t i = 0; i < s->h; i++)
        for (size_t j = 0; j < s->w; j++)
            for (size_t ch = 0; ch < s->C; ch++) {
                const double v = 100 + 40 * sin(0.4 * (double)i + (double)ch) *
                                            cos(0.3 * (double)j);
                b[i * s->pitch + j * s->C + ch] = v + 3 * tu_normal(&r);
                y[i * s->pitch + j * s->C + ch] = v + 20 * tu_normal(&r);
            }
    *clean_noisy = y;
    *pilot = b;
}

static gmmp_options *refine_options(const setting *s, double weight, int threads)
{
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_GROUP_PATCH, (int64_t)s->P));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_GROUP_SIZE, (int64_t)s->N));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_GROUP_SEARCH, (int64_t)s->S));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_GROUP_STEP, (int64_t)s->step));
    ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_GROUP_WEIGHT, weight));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, threads));
    return o;
}

/* gmmp_group_refine_image() with the setting's sizes, asserted to succeed. */
static void refine_ok(const setting *s, double sigma, double weight, int threads,
                      const double *y, const double *b, double *out)
{
    gmmp_options *o = refine_options(s, weight, threads);
    ck_assert_ok(gmmp_group_refine_image(sigma, y, b, s->h, s->w, s->C, s->pitch, out, s->pitch,
                                         o));
    gmmp_options_destroy(o);
}

/* Settings that reach every edge: groups larger than the window, a grid
 * step beyond the image, patches as large as the image, channels 1 to 4,
 * padded rows. */
static const setting settings[] = {
    {12, 15, 1, 15, 3, 10, 4, 2},  {11, 9, 3, 30, 2, 7, 3, 3},  {9, 10, 2, 20, 4, 40, 2, 1},
    {7, 8, 1, 9, 7, 5, 5, 5},      {10, 10, 4, 41, 2, 6, 9, 20}, {13, 6, 3, 18, 3, 12, 16, 3},
};

/* Each setting twice: a pilot of random values, then one of few levels,
 * whose many patches at equal distances test the ties (to the earlier
 * row, then column, whatever the order of the search). */
START_TEST(equals_the_slow_definition)
{
    const int n_settings = (int)(sizeof settings / sizeof settings[0]);
    const setting *s = &settings[_i % n_settings];
    double *y, *b;
    make_pair(s, 100 + (uint64_t)_i, &y, &b);
    if (_i >= n_settings)
        for (size_t i = 0; i < s->h * s->pitch; i++)
            b[i] = 40.0 * round(b[i] / 40.0);
    double *got = calloc(s->h * s->pitch, sizeof *got), *want = calloc(s->h * s->pitch, sizeof *want);
    refine_ok(s, 17.0, 1.0, 1, y, b, got);
    ref_refine(s, 17.0, y, b, want);
    double worst = 0;
    for (size_t i = 0; i < s->h; i++)
        for (size_t j = 0; j < s->w * s->C; j++)
            worst = fmax(worst, fabs(got[i * s->pitch + j] - want[i * s->pitch + j]));
    ck_assert_msg(worst < 1e-9, "case %d: max difference %g", _i, worst);
    /* It did something: the pilot is not the answer. */
    ck_assert_double_gt(tu_max_abs_diff(got, b, s->h * s->pitch), 0.1);
    free(y), free(b), free(got), free(want);
}
END_TEST

START_TEST(weight_blends_with_the_pilot)
{
    const setting s = {14, 13, 3, 39, 3, 9, 5, 2};
    double *y, *b;
    make_pair(&s, 7, &y, &b);
    const size_t n = s.h * s.pitch;
    double *full = calloc(n, sizeof *full), *part = calloc(n, sizeof *part),
           *none = calloc(n, sizeof *none);
    refine_ok(&s, 25, 1.0, 1, y, b, full);
    refine_ok(&s, 25, 0.3, 1, y, b, part);
    refine_ok(&s, 25, 0.0, 1, y, b, none);
    for (size_t i = 0; i < s.h; i++)
        for (size_t j = 0; j < s.w * s.C; j++) {
            const size_t at = i * s.pitch + j;
            ck_assert_double_eq_tol(part[at], 0.3 * full[at] + 0.7 * b[at], 1e-9);
            ck_assert_double_eq(none[at], b[at]);
        }
    free(y), free(b), free(full), free(part), free(none);
}
END_TEST

/* Two ways a group keeps its noisy patches, so that every pixel is the
 * noisy one: a group of one patch, which has no covariance; noise that
 * vanishes beside the values, where C + sigma^2 I is singular in double
 * (groups of fewer patches than values) and the posterior mean's limit is
 * the observation. */
START_TEST(groups_keep_the_observation)
{
    const setting cases[2] = {{9, 11, 2, 22, 3, 1, 4, 1}, {12, 14, 3, 42, 3, 6, 4, 2}};
    const double sigmas[2] = {10, 1e-150};
    const setting *s = &cases[_i];
    double *y, *b;
    make_pair(s, 8 + (uint64_t)_i, &y, &b);
    double *out = calloc(s->h * s->pitch, sizeof *out);
    refine_ok(s, sigmas[_i], 1.0, 1, y, b, out);
    ck_assert_double_lt(tu_max_abs_diff(out, y, s->h * s->pitch), 1e-9);
    free(y), free(b), free(out);
}
END_TEST

/* Any number of threads, and the output written over either input: the
 * same bits. */
START_TEST(threads_and_aliasing_change_nothing)
{
    const setting s = {40, 37, 3, 111, 5, 20, 6, 2};
    double *y, *b;
    make_pair(&s, 9, &y, &b);
    const size_t n = s.h * s.pitch;
    double *one = calloc(n, sizeof *one), *many = calloc(n, sizeof *many);
    double *yc = malloc(n * sizeof *yc), *bc = malloc(n * sizeof *bc);
    memcpy(yc, y, n * sizeof *y);
    memcpy(bc, b, n * sizeof *b);
    refine_ok(&s, 20, 0.6, 1, y, b, one);
    refine_ok(&s, 20, 0.6, 3, y, b, many);
    ck_assert_mem_eq(one, many, n * sizeof *one);
    refine_ok(&s, 20, 0.6, 3, y, bc, bc);
    refine_ok(&s, 20, 0.6, 3, yc, b, yc);
    for (size_t i = 0; i < s.h; i++) {
        ck_assert_mem_eq(bc + i * s.pitch, one + i * s.pitch, s.w * s.C * sizeof *one);
        ck_assert_mem_eq(yc + i * s.pitch, one + i * s.pitch, s.w * s.C * sizeof *one);
    }
    free(y), free(b), free(one), free(many), free(yc), free(bc);
}
END_TEST

/* The defaults by the noise, as if given: patches of 5 below sigma 40 and
 * 7 from there, groups of 60, 90 and 150, weights 0.75 - sigma / 100
 * at least 0.25. */
START_TEST(default_settings_follow_sigma)
{
    const setting s = {24, 26, 3, 78, 0, 0, 16, 3};
    double *y, *b;
    make_pair(&s, 10, &y, &b);
    const size_t n = s.h * s.pitch;
    double *dflt = calloc(n, sizeof *dflt), *given = calloc(n, sizeof *given);
    enum { CASES = 7 };
    const double sigmas[CASES] = {5, 15, 19.99, 20, 39.99, 40, 80};
    const double weights[CASES] = {0.7, 0.6, 0.5501, 0.55, 0.3501, 0.35, 0.25};
    const size_t sides[CASES] = {5, 5, 5, 5, 5, 7, 7}, groups[CASES] = {60, 60, 60, 90, 90, 150,
                                                                        150};
    for (int k = 0; k < CASES; k++) {
        ck_assert_ok(gmmp_group_refine_image(sigmas[k], y, b, s.h, s.w, s.C, s.pitch, dflt,
                                             s.pitch, NULL));
        const setting sized = {24, 26, 3, 78, sides[k], groups[k], 16, 3};
        refine_ok(&sized, sigmas[k], weights[k], 1, y, b, given);
        ck_assert_msg(tu_max_abs_diff(dflt, given, n) < 1e-12, "sigma %g: %g", sigmas[k],
                      tu_max_abs_diff(dflt, given, n));
    }
    /* An image narrower than the default patch: patches as wide as it. */
    const setting narrow = {24, 6, 3, 78, 6, 150, 16, 3};
    ck_assert_ok(gmmp_group_refine_image(45, y, b, narrow.h, narrow.w, 3, 78, dflt, 78, NULL));
    refine_ok(&narrow, 45, -1, 1, y, b, given);
    ck_assert_double_lt(tu_max_abs_diff(dflt, given, n), 1e-12);
    free(y), free(b), free(dflt), free(given);
}
END_TEST

static int stop_at_once(const gmmp_progress *p, void *payload)
{
    int *calls = payload;
    ck_assert_int_eq(p->phase, GMMP_PHASE_IMAGE);
    ck_assert(p->done > 0 && p->done <= p->total);
    return ++*calls >= 1;
}

static int record(const gmmp_progress *p, void *payload)
{
    gmmp_progress *last = payload;
    ck_assert(p->done > last->done && p->done <= p->total);
    *last = *p;
    return 0;
}

START_TEST(progress_ends_at_the_total)
{
    const setting s = {30, 21, 3, 63, 4, 12, 5, 3};
    double *y, *b;
    make_pair(&s, 14, &y, &b);
    double *out = calloc(s.h * s.pitch, sizeof *out);
    for (int threads = 1; threads <= 3; threads += 2) {
        gmmp_options *o = refine_options(&s, 0.5, threads);
        gmmp_progress last = {.done = 0};
        ck_assert_ok(gmmp_options_set_progress(o, record, &last));
        ck_assert_ok(gmmp_group_refine_image(9, y, b, s.h, s.w, s.C, s.pitch, out, s.pitch, o));
        /* 27 x 18 positions, references every 3 and the last: 10 x 7 */
        ck_assert_double_eq(last.total, 70.0);
        ck_assert_double_eq(last.done, 70.0);
        ck_assert_int_eq(last.phase, GMMP_PHASE_IMAGE);
        gmmp_options_destroy(o);
    }
    free(y), free(b), free(out);
}
END_TEST

START_TEST(bad_arguments_are_refused_and_leave_out_untouched)
{
    const setting s = {10, 12, 3, 36, 3, 8, 4, 2};
    double *y, *b;
    make_pair(&s, 11, &y, &b);
    const size_t n = s.h * s.pitch;
    double *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = -7.0;
#define UNTOUCHED()                                                                            \
    for (size_t i_ = 0; i_ < n; i_++)                                                          \
        ck_assert_double_eq(out[i_], -7.0);
    gmmp_options *o = refine_options(&s, 0.5, 2);
    ck_assert_fails(gmmp_group_refine_image(10, NULL, b, s.h, s.w, 3, s.pitch, out, s.pitch, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(10, y, NULL, s.h, s.w, 3, s.pitch, out, s.pitch, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(10, y, b, s.h, s.w, 3, s.pitch, NULL, s.pitch, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(0, y, b, s.h, s.w, 3, s.pitch, out, s.pitch, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(NAN, y, b, s.h, s.w, 3, s.pitch, out, s.pitch, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(10, y, b, s.h, s.w, 0, s.pitch, out, s.pitch, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(10, y, b, s.h, s.w, 65, 65 * s.w, out, 65 * s.w, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(10, y, b, s.h, s.w, 3, 3 * s.w - 1, out, s.pitch, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(10, y, b, s.h, s.w, 3, s.pitch, out, 3 * s.w - 1, o),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_group_refine_image(10, y, b, 2, s.w, 3, s.pitch, out, s.pitch, o),
                    GMMP_EDIM);
    ck_assert_ptr_nonnull(strstr(gmmp_last_error(), "GMMP_OPT_GROUP_PATCH"));
    /* 32 x 32 patches of 5 channels: 5120 values, beyond 4096. */
    {
        const size_t hh = 33, ww = 33, C5 = 5;
        double *big = calloc(hh * ww * C5, sizeof *big), *bo = calloc(hh * ww * C5, sizeof *bo);
        gmmp_options *o32 = tu_options();
        ck_assert_ok(gmmp_options_set_int(o32, GMMP_OPT_GROUP_PATCH, 32));
        ck_assert_fails(gmmp_group_refine_image(10, big, big, hh, ww, C5, ww * C5, bo, ww * C5,
                                                o32),
                        GMMP_EDIM);
        ck_assert_ptr_nonnull(strstr(gmmp_last_error(), "5120 values"));
        gmmp_options_destroy(o32);
        free(big), free(bo);
    }
    b[4 * s.pitch + 5] = INFINITY;
    ck_assert_fails(gmmp_group_refine_image(10, y, b, s.h, s.w, 3, s.pitch, out, s.pitch, o),
                    GMMP_ENONFINITE);
    b[4 * s.pitch + 5] = 100;
    y[2] = NAN;
    ck_assert_fails(gmmp_group_refine_image(10, y, b, s.h, s.w, 3, s.pitch, out, s.pitch, o),
                    GMMP_ENONFINITE);
    y[2] = 100;
    int calls = 0;
    ck_assert_ok(gmmp_options_set_progress(o, stop_at_once, &calls));
    ck_assert_fails(gmmp_group_refine_image(10, y, b, s.h, s.w, 3, s.pitch, out, s.pitch, o),
                    GMMP_ECANCELED);
    ck_assert_int_eq(calls, 1);
    UNTOUCHED();
    /* Option values out of range are refused by the options themselves. */
    ck_assert_int_ne(gmmp_options_set_real(o, GMMP_OPT_GROUP_WEIGHT, 1.5), GMMP_OK);
    ck_assert_int_ne(gmmp_options_set_real(o, GMMP_OPT_GROUP_WEIGHT, -1.5), GMMP_OK);
    ck_assert_int_ne(gmmp_options_set_int(o, GMMP_OPT_GROUP_SEARCH, 0), GMMP_OK);
    ck_assert_int_ne(gmmp_options_set_int(o, GMMP_OPT_GROUP_STEP, 0), GMMP_OK);
#undef UNTOUCHED
    gmmp_options_destroy(o);
    free(y), free(b), free(out);
}
END_TEST

/* Values whose squares overflow: a clear error with out untouched, or a
 * finite result, never garbage. */
START_TEST(huge_values_fail_cleanly)
{
    const setting s = {10, 12, 3, 36, 3, 8, 4, 2};
    double *y, *b;
    make_pair(&s, 12, &y, &b);
    const size_t n = s.h * s.pitch;
    double *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        y[i] *= 1e160, b[i] *= 1e160;
        out[i] = -7.0;
    }
    gmmp_options *o = refine_options(&s, 0.5, 1);
    int rc = gmmp_group_refine_image(1.0, y, b, s.h, s.w, 3, s.pitch, out, s.pitch, o);
    for (size_t i = 0; i < s.h; i++)
        for (size_t j = 0; j < s.w * s.C; j++)
            ck_assert_msg(rc == GMMP_OK ? isfinite(out[i * s.pitch + j])
                                        : out[i * s.pitch + j] == -7.0,
                          "rc %d, out[%zu] = %g", rc, i, out[i * s.pitch + j]);
    ck_assert(rc == GMMP_OK || gmmp_last_error()[0] != '\0');
    gmmp_options_destroy(o);
    free(y), free(b), free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("refine");
    TCase *tc = tu_tcase("core");
    tcase_add_loop_test(tc, equals_the_slow_definition, 0,
                        2 * (int)(sizeof settings / sizeof settings[0]));
    tcase_add_test(tc, weight_blends_with_the_pilot);
    tcase_add_loop_test(tc, groups_keep_the_observation, 0, 2);
    tcase_add_test(tc, threads_and_aliasing_change_nothing);
    tcase_add_test(tc, default_settings_follow_sigma);
    tcase_add_test(tc, progress_ends_at_the_total);
    tcase_add_test(tc, bad_arguments_are_refused_and_leave_out_untouched);
    tcase_add_test(tc, huge_values_fail_cleanly);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
