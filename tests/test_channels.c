/*
 * gmmp_epll_channels(): a multi-channel image restored with a grey prior
 * channel by channel in a colour basis, against the same written out here:
 * the basis from the slow obvious covariance and Jacobi's eigenvectors,
 * the channels through gmmp_epll_image() one by one, and back.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "refmath.h"
#include "testutil.h"

enum { TILE = 3 }; /* the test model's patch side */

/* Colour with distinct principal axes (else PCA's vectors are not
 * determined): three independent random fields mixed by a fixed matrix,
 * stored with a row pitch wider than the row. */
static double *colour_image(size_t h, size_t w, size_t C, size_t pitch, uint64_t seed)
{
    static const double mix[3][3] = {{60, 25, 8}, {55, 10, -20}, {50, -12, 4}};
    tu_rng r = {seed};
    double *img = calloc(h * pitch, sizeof *img);
    for (size_t i = 0; i < h; i++)
        for (size_t x = 0; x < w; x++) {
            double f[3] = {tu_uniform(&r), tu_uniform(&r), tu_uniform(&r)};
            for (size_t j = 0; j < C; j++)
                img[i * pitch + x * C + j] =
                    100.0 + mix[j % 3][0] * f[0] + mix[j % 3][1] * f[1] + mix[j % 3][2] * f[2];
        }
    return img;
}

/* The PCA basis as restore.h defines it, the slow way: tiles of the
 * patch's size from the corner (partial ones at the edges), deviations
 * of observed pixels from their tile's observed mean. */
static void ref_pca(const double *y, size_t h, size_t w, size_t C, size_t pitch,
                    const unsigned char *obs, double *basis)
{
    double cov[9] = {0}, lambda[3], vt[9];
    for (size_t r0 = 0; r0 < h; r0 += TILE)
        for (size_t c0 = 0; c0 < w; c0 += TILE) {
            double mean[3] = {0};
            size_t n = 0;
            for (size_t r = r0; r < r0 + TILE && r < h; r++)
                for (size_t c = c0; c < c0 + TILE && c < w; c++)
                    if (!obs || obs[r * w + c]) {
                        n++;
                        for (size_t j = 0; j < C; j++)
                            mean[j] += y[r * pitch + c * C + j];
                    }
            if (n < 2)
                continue;
            for (size_t r = r0; r < r0 + TILE && r < h; r++)
                for (size_t c = c0; c < c0 + TILE && c < w; c++)
                    if (!obs || obs[r * w + c])
                        for (size_t i = 0; i < C; i++)
                            for (size_t j = 0; j < C; j++)
                                cov[i * C + j] += (y[r * pitch + c * C + i] - mean[i] / n) *
                                                  (y[r * pitch + c * C + j] - mean[j] / n);
        }
    ref_sym_eigen(cov, C, lambda, vt);
    for (size_t c = 0; c < C; c++) {
        const double *v = vt + (C - 1 - c) * C;
        double sum = 0.0;
        for (size_t j = 0; j < C; j++)
            sum += v[j];
        ck_assert_msg(fabs(sum) > 1e-6, "test image: basis vector %zu sums to 0", c);
        for (size_t j = 0; j < C; j++)
            basis[c * C + j] = sum > 0 ? v[j] : -v[j];
    }
}

static void ref_basis(int which, const double *y, size_t h, size_t w, size_t C, size_t pitch,
                      const unsigned char *obs, double *basis)
{
    const double a = 1 / sqrt(3.0), b = 1 / sqrt(2.0), c = 1 / sqrt(6.0);
    const double opp[9] = {a, a, a, b, 0, -b, c, -2 * c, c};
    if (which == GMMP_BASIS_PCA)
        ref_pca(y, h, w, C, pitch, obs, basis);
    else if (which == GMMP_BASIS_OPPONENT)
        memcpy(basis, opp, sizeof opp);
    else
        for (size_t i = 0; i < C * C; i++)
            basis[i] = i % (C + 1) == 0 ? 1.0 : 0.0;
}

/* Into the basis, each channel by gmmp_epll_image() with seed + c (its
 * own jittered grids), back by the transpose. */
static void ref_channels(const gmmp_model *m, double sigma, const double *y, size_t h, size_t w,
                         size_t C, size_t pitch, const unsigned char *obs, int which,
                         gmmp_options *o, int64_t seed, double *out)
{
    double basis[9];
    ref_basis(which, y, h, w, C, pitch, obs, basis);
    double *plane = malloc(h * w * sizeof *plane);
    memset(out, 0, h * w * C * sizeof *out);
    for (size_t c = 0; c < C; c++) {
        for (size_t i = 0; i < h * w; i++) {
            const double *px = y + (i / w) * pitch + (i % w) * C;
            double v = 0.0;
            for (size_t j = 0; j < C && (!obs || obs[i]); j++)
                v += basis[c * C + j] * px[j];
            plane[i] = v;
        }
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_SEED, seed + (int64_t)c));
        ck_assert_ok(gmmp_epll_image(m, sigma, plane, h, w, w, obs, plane, w, o));
        for (size_t i = 0; i < h * w; i++)
            for (size_t j = 0; j < C; j++)
                out[i * C + j] += basis[c * C + j] * plane[i];
    }
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_SEED, seed));
    free(plane);
}

START_TEST(channels_equal_epll_of_each_channel_in_the_basis)
{
    const size_t h = 14, w = 13;
    const double sigma = 15.0;
    gmmp_model *m = tu_patch_model(TILE, TILE, 1, 1);
    for (size_t C = 2; C <= 3; C++)
        for (int which = GMMP_BASIS_PCA; which <= GMMP_BASIS_IDENTITY; which++)
            for (int masked = 0; masked < 2; masked++) {
                if (which == GMMP_BASIS_OPPONENT && C != 3)
                    continue;
                const size_t pitch = w * C + 3, row = w * C;
                double *y = colour_image(h, w, C, pitch, 5 + C);
                unsigned char *obs = NULL;
                if (masked) {
                    obs = malloc(h * w);
                    tu_rng r = {17};
                    for (size_t i = 0; i < h * w; i++) {
                        obs[i] = tu_uniform(&r) < 0.75;
                        for (size_t j = 0; !obs[i] && j < C; j++) /* never read */
                            y[(i / w) * pitch + (i % w) * C + j] = NAN;
                    }
                }
                gmmp_options *o = tu_options();
                ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_STEPS, 3));
                ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, 2));
                ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_SEED, 41));
                ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_BATCH, 7));
                ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_CHANNEL_BASIS, which));
                double *ref = malloc(h * row * sizeof *ref), *got = malloc(h * row * sizeof *got);
                ref_channels(m, sigma, y, h, w, C, pitch, obs, which, o, 41, ref);
                ck_assert_ok(gmmp_epll_channels(m, sigma, y, h, w, C, pitch, obs, got, row, o));
                double e = tu_max_abs_diff(got, ref, h * row);
                ck_assert_msg(e <= 1e-8 * 255, "C=%zu basis %d mask %d: off by %g", C, which,
                              masked, e);
                for (size_t i = 0; i < h * row; i++)
                    ck_assert(isfinite(got[i]));
                gmmp_options_destroy(o);
                free(ref), free(got), free(y), free(obs);
            }
    gmmp_model_destroy(m);
}
END_TEST

/* One channel: nothing to decorrelate, gmmp_epll_image() exactly, also
 * in place. */
START_TEST(one_channel_is_epll_image)
{
    const size_t h = 11, w = 12;
    gmmp_model *m = tu_patch_model(TILE, TILE, 1, 1);
    double *y = colour_image(h, w, 1, w, 3), *a = malloc(h * w * sizeof *a);
    double *b = malloc(h * w * sizeof *b);
    ck_assert_ok(gmmp_epll_image(m, 20.0, y, h, w, w, NULL, a, w, NULL));
    ck_assert_ok(gmmp_epll_channels(m, 20.0, y, h, w, 1, w, NULL, b, w, NULL));
    ck_assert_double_eq(tu_max_abs_diff(a, b, h * w), 0.0);
    ck_assert_ok(gmmp_epll_channels(m, 20.0, y, h, w, 1, w, NULL, y, w, NULL));
    ck_assert_double_eq(tu_max_abs_diff(a, y, h * w), 0.0);
    free(y), free(a), free(b);
    gmmp_model_destroy(m);
}
END_TEST

typedef struct seen_progress {
    double last_done, total;
    int calls, stop_at;
} seen_progress;

static int record(const gmmp_progress *p, void *payload)
{
    seen_progress *s = payload;
    ck_assert(p->phase == GMMP_PHASE_IMAGE);
    ck_assert_msg(p->done >= s->last_done, "progress went back: %g after %g", p->done,
                  s->last_done);
    ck_assert(p->done <= p->total);
    ck_assert(s->calls == 0 || p->total == s->total);
    s->last_done = p->done;
    s->total = p->total;
    return ++s->calls == s->stop_at;
}

/* Progress counts the patches of every channel as one run; a cancel
 * stops it with out untouched. */
START_TEST(progress_spans_all_channels)
{
    const size_t h = 10, w = 9, C = 3;
    gmmp_model *m = tu_patch_model(TILE, TILE, 1, 1);
    double *y = colour_image(h, w, C, w * C, 9), *out = malloc(h * w * C * sizeof *out);
    gmmp_options *o = tu_options();
    seen_progress one = {0}, all = {0};
    ck_assert_ok(gmmp_options_set_progress(o, record, &one));
    double *plane = malloc(h * w * sizeof *plane);
    for (size_t i = 0; i < h * w; i++)
        plane[i] = y[i * C];
    ck_assert_ok(gmmp_epll_image(m, 10.0, plane, h, w, w, NULL, plane, w, o));
    ck_assert_ok(gmmp_options_set_progress(o, record, &all));
    ck_assert_ok(gmmp_epll_channels(m, 10.0, y, h, w, C, w * C, NULL, out, w * C, o));
    ck_assert_double_eq(all.total, C * one.total);
    ck_assert_double_eq(all.last_done, all.total);
    ck_assert_int_eq(all.calls, (int)C * one.calls);
    for (size_t i = 0; i < h * w * C; i++)
        out[i] = -1.0;
    seen_progress stop = {.stop_at = one.calls + 1}; /* in the second channel */
    ck_assert_ok(gmmp_options_set_progress(o, record, &stop));
    ck_assert_fails(gmmp_epll_channels(m, 10.0, y, h, w, C, w * C, NULL, out, w * C, o),
                    GMMP_ECANCELED);
    for (size_t i = 0; i < h * w * C; i++)
        ck_assert_msg(out[i] == -1.0, "out[%zu] written on a cancel", i);
    gmmp_options_destroy(o);
    free(y), free(out), free(plane);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(bad_arguments_are_refused_and_leave_out_untouched)
{
    const size_t h = 8, w = 8, C = 3, n = h * w * C;
    gmmp_model *grey = tu_patch_model(TILE, TILE, 1, 1);
    gmmp_model *colour = tu_patch_model(TILE, TILE, 3, 1);
    double *y = colour_image(h, w, C, w * C, 4), *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = -7.0;
#define UNTOUCHED()                                                                      \
    for (size_t i_ = 0; i_ < n; i_++)                                                     \
    ck_assert_msg(out[i_] == -7.0, "out[%zu] written on failure", i_)
    ck_assert_fails(gmmp_epll_channels(colour, 10, y, h, w, C, w * C, NULL, out, w * C, NULL),
                    GMMP_EDIM);
    ck_assert_ptr_nonnull(strstr(gmmp_last_error(), "one-channel"));
    ck_assert_fails(gmmp_epll_channels(grey, 10, y, h, w, 0, w * C, NULL, out, w * C, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_epll_channels(grey, 10, y, 1, 1, 65, 65, NULL, out, 65, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_epll_channels(NULL, 10, y, h, w, C, w * C, NULL, out, w * C, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_epll_channels(grey, 10, NULL, h, w, C, w * C, NULL, out, w * C, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_epll_channels(grey, 0.0, y, h, w, C, w * C, NULL, out, w * C, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_epll_channels(grey, 10, y, h, w, C, w * C - 1, NULL, out, w * C, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_epll_channels(grey, 10, y, h, w, C, w * C, NULL, out, w * C - 1, NULL),
                    GMMP_EINVAL);
    ck_assert_fails(gmmp_epll_channels(grey, 10, y, 2, w, C, w * C, NULL, out, w * C, NULL),
                    GMMP_EDIM); /* the patch does not fit */
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_CHANNEL_BASIS, GMMP_BASIS_OPPONENT));
    ck_assert_fails(gmmp_epll_channels(grey, 10, y, h, w, 2, w * 2, NULL, out, w * 2, o),
                    GMMP_EINVAL);
    ck_assert_ptr_nonnull(strstr(gmmp_last_error(), "opponent"));
    ck_assert_int_ne(gmmp_options_set_int(o, GMMP_OPT_CHANNEL_BASIS, 3), GMMP_OK);
    y[5 * w * C + 2] = NAN;
    ck_assert_fails(gmmp_epll_channels(grey, 10, y, h, w, C, w * C, NULL, out, w * C, NULL),
                    GMMP_ENONFINITE);
    ck_assert_ptr_nonnull(strstr(gmmp_last_error(), "pixel (5, 0), channel 2"));
    UNTOUCHED();
    /* Missing there: fine. */
    unsigned char obs[8 * 8];
    memset(obs, 1, sizeof obs);
    obs[5 * w] = 0;
    ck_assert_ok(gmmp_epll_channels(grey, 10, y, h, w, C, w * C, obs, out, w * C, o));
    for (size_t i = 0; i < n; i++)
        ck_assert(isfinite(out[i]));
#undef UNTOUCHED
    gmmp_options_destroy(o);
    free(y), free(out);
    gmmp_model_destroy(grey);
    gmmp_model_destroy(colour);
}
END_TEST

/* Values whose squares overflow: a clear error with out untouched, or a
 * finite result, never garbage. */
START_TEST(huge_values_fail_cleanly)
{
    const size_t h = 9, w = 9, C = 3, n = h * w * C;
    gmmp_model *m = tu_patch_model(TILE, TILE, 1, 1);
    double *y = colour_image(h, w, C, w * C, 12), *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        y[i] *= 1e160;
        out[i] = -7.0;
    }
    int rc = gmmp_epll_channels(m, 1.0, y, h, w, C, w * C, NULL, out, w * C, NULL);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(rc == GMMP_OK ? isfinite(out[i]) : out[i] == -7.0,
                      "rc %d, out[%zu] = %g", rc, i, out[i]);
    ck_assert(rc == GMMP_OK || gmmp_last_error()[0] != '\0');
    free(y), free(out);
    gmmp_model_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("channels");
    TCase *tc = tu_tcase("core");
    tcase_add_test(tc, channels_equal_epll_of_each_channel_in_the_basis);
    tcase_add_test(tc, one_channel_is_epll_image);
    tcase_add_test(tc, progress_spans_all_channels);
    tcase_add_test(tc, bad_arguments_are_refused_and_leave_out_untouched);
    tcase_add_test(tc, huge_values_fail_cleanly);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
