/*
 * Multi-channel patches, random patch samples and whole-image restoration,
 * each against a reference written the slow obvious way here.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "testutil.h"

/* Positions along one axis as patches.h describes them (grid offset 0 or
 * `off`): 0 if off > 0, off + j*step while the patch fits, the border. */
static size_t ref_positions(size_t size, size_t ps, size_t step, size_t off, size_t *pos)
{
    char used[512] = {0};
    if (off > 0)
        used[0] = 1;
    for (size_t p = off; p + ps <= size; p += step)
        used[p] = 1;
    used[size - ps] = 1;
    size_t n = 0;
    for (size_t p = 0; p + ps <= size; p++)
        if (used[p])
            pos[n++] = p;
    return n;
}

/* Patch i, naively: value (r*pw + c)*C + ch is image[(r0+r)*pitch + (c0+c)*C + ch],
 * less the patch's channel mean when means != NULL. */
static void ref_patch(const double *img, size_t pitch, size_t C, size_t ph, size_t pw,
                      size_t r0, size_t c0, double *patch, double *means)
{
    for (size_t r = 0; r < ph; r++)
        for (size_t c = 0; c < pw; c++)
            for (size_t ch = 0; ch < C; ch++)
                patch[(r * pw + c) * C + ch] = img[(r0 + r) * pitch + (c0 + c) * C + ch];
    if (!means)
        return;
    for (size_t ch = 0; ch < C; ch++) {
        double s = 0.0;
        for (size_t j = 0; j < ph * pw; j++)
            s += patch[j * C + ch];
        means[ch] = s / (double)(ph * pw);
        for (size_t j = 0; j < ph * pw; j++)
            patch[j * C + ch] -= means[ch];
    }
}

static double *random_image(size_t h, size_t pitch, uint64_t seed)
{
    tu_rng r = {seed};
    double *img = malloc(h * pitch * sizeof *img);
    tu_fill_uniform(&r, img, h * pitch, 0.0, 255.0);
    return img;
}

START_TEST(multichannel_extraction_matches_naive_enumeration)
{
    const size_t shapes[][2] = {{7, 5}, {9, 11}, {13, 6}};
    const size_t psz[][2] = {{3, 3}, {2, 4}, {5, 1}};
    const size_t chans[] = {2, 3};
    for (size_t si = 0; si < 3; si++)
        for (size_t pi = 0; pi < 3; pi++)
            for (size_t ci = 0; ci < 2; ci++)
                for (size_t step = 1; step <= 3; step++)
                    for (size_t off = 0; off < step; off++)
                        for (int mean = 0; mean < 2; mean++) {
                            size_t h = shapes[si][0], w = shapes[si][1], C = chans[ci];
                            size_t ph = psz[pi][0], pw = psz[pi][1], d = ph * pw * C;
                            size_t pitch = w * C + 3, ro = off, co = (off + 1) % step;
                            double *img = random_image(h, pitch, h * 31 + w + C);
                            gmmp_extractor *ex;
                            ck_assert_ok(gmmp_extractor_create_grid(&ex, ph, pw, C, step, ro, co));
                            ck_assert_uint_eq(gmmp_extractor_dim(ex), d);
                            size_t rows[64], cols[64];
                            size_t nr = ref_positions(h, ph, step, ro, rows);
                            size_t nc = ref_positions(w, pw, step, co, cols), n;
                            ck_assert_ok(gmmp_extractor_count(ex, h, w, &n));
                            ck_assert_uint_eq(n, nr * nc);
                            double *got = malloc(n * d * sizeof *got), *want = malloc(d * sizeof *want);
                            double *gm = malloc(n * C * sizeof *gm), wm[3];
                            ck_assert_ok(gmmp_extractor_extract(ex, img, h, w, pitch, 0, n, got,
                                                                mean ? gm : NULL));
                            for (size_t i = 0; i < n; i++) {
                                ref_patch(img, pitch, C, ph, pw, rows[i / nc], cols[i % nc], want,
                                          mean ? wm : NULL);
                                ck_assert_msg(tu_max_abs_diff(got + i * d, want, d) <= 1e-12,
                                              "%zux%zu C=%zu patch %zux%zu step %zu patch %zu",
                                              h, w, C, ph, pw, step, i);
                                if (mean)
                                    ck_assert_double_le(tu_max_abs_diff(gm + i * C, wm, C), 1e-12);
                            }
                            /* Round trip through the reconstructor, means added back
                             * (it needs every pixel covered: step <= patch). */
                            if (step > ph || step > pw) {
                                free(got), free(want), free(gm), free(img);
                                gmmp_extractor_destroy(ex);
                                continue;
                            }
                            gmmp_reconstructor *rc;
                            ck_assert_ok(gmmp_reconstructor_create(&rc, ex, h, w));
                            ck_assert_ok(gmmp_reconstructor_add(rc, 0, n, got, mean ? gm : NULL, NULL));
                            double *out = malloc(h * pitch * sizeof *out);
                            for (size_t i = 0; i < h * pitch; i++)
                                out[i] = -1.0;
                            ck_assert_ok(gmmp_reconstructor_finish(rc, out, pitch));
                            for (size_t r = 0; r < h; r++) {
                                for (size_t c = 0; c < w * C; c++)
                                    ck_assert_double_eq_tol(out[r * pitch + c], img[r * pitch + c],
                                                            1e-12 * 255);
                                for (size_t c = w * C; c < pitch; c++)
                                    ck_assert_double_eq(out[r * pitch + c], -1.0);
                            }
                            free(out), free(got), free(want), free(gm), free(img);
                            gmmp_reconstructor_destroy(rc);
                            gmmp_extractor_destroy(ex);
                        }
}
END_TEST

START_TEST(reconstructor_averages_three_channels)
{
    /* 1 x 3 pixels of 3 channels, 1 x 2 patches: the middle pixel is the
     * mean of its two estimates, channel by channel. */
    gmmp_extractor *ex;
    gmmp_reconstructor *rc;
    ck_assert_ok(gmmp_extractor_create(&ex, 1, 2, 3, 1));
    ck_assert_ok(gmmp_reconstructor_create(&rc, ex, 1, 3));
    const double p[12] = {1, 2, 3, 10, 20, 30, 100, 200, 300, 7, 8, 9};
    const double means[6] = {0.5, 0, -1, 2, 4, 6};
    double out[9];
    ck_assert_ok(gmmp_reconstructor_add(rc, 0, 2, p, means, NULL));
    ck_assert_ok(gmmp_reconstructor_finish(rc, out, 9));
    const double want[9] = {1.5, 2, 2, (10.5 + 102) / 2.0, (20 + 204) / 2.0, (29 + 306) / 2.0,
                            9, 12, 15};
    for (int i = 0; i < 9; i++)
        ck_assert_double_eq_tol(out[i], want[i], 1e-13);
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
}
END_TEST

START_TEST(sample_draws_distinct_patches_in_order)
{
    const size_t h = 12, w = 10, C = 3, pitch = w * C + 2, ph = 3, pw = 2, d = ph * pw * C;
    double *img = random_image(h, pitch, 77);
    gmmp_extractor *ex;
    ck_assert_ok(gmmp_extractor_create(&ex, ph, pw, C, 1));
    size_t n;
    ck_assert_ok(gmmp_extractor_count(ex, h, w, &n));
    double *all = malloc(n * d * sizeof *all), *allm = malloc(n * C * sizeof *allm);
    ck_assert_ok(gmmp_extractor_extract(ex, img, h, w, pitch, 0, n, all, allm));
    double *s = malloc(n * d * sizeof *s), *sm = malloc(n * C * sizeof *sm);
    double *s2 = malloc(n * d * sizeof *s2);
    const size_t counts[] = {0, 1, 17, n - 1, n, n + 5};
    for (size_t ci = 0; ci < 6; ci++) {
        size_t got = 12345;
        ck_assert_ok(gmmp_extractor_sample(ex, img, h, w, pitch, counts[ci], 42, s, sm, &got));
        ck_assert_uint_eq(got, counts[ci] < n ? counts[ci] : n);
        /* Each sampled patch is one of the image's, in increasing order,
         * without repeats: match it to its index. */
        size_t prev = 0;
        for (size_t i = 0; i < got; i++) {
            size_t idx = n;
            for (size_t j = (i ? prev + 1 : 0); j < n; j++)
                if (memcmp(s + i * d, all + j * d, d * sizeof *s) == 0 &&
                    memcmp(sm + i * C, allm + j * C, C * sizeof *sm) == 0) {
                    idx = j;
                    break;
                }
            ck_assert_msg(idx < n, "sample %zu of %zu is no later patch of the image", i, got);
            prev = idx;
        }
        if (got == n) /* all of them: exactly the extraction */
            ck_assert_mem_eq(s, all, n * d * sizeof *s);
        /* The same seed gives the same patches; without means, the raw ones. */
        size_t got2;
        ck_assert_ok(gmmp_extractor_sample(ex, img, h, w, pitch, counts[ci], 42, s2, NULL, &got2));
        ck_assert_uint_eq(got2, got);
        for (size_t i = 0; i < got; i++)
            for (size_t j = 0; j < d; j++)
                ck_assert_double_eq_tol(s2[i * d + j], s[i * d + j] + sm[i * C + j % C], 1e-12);
    }
    /* Another seed gives another subset (17 of 90 patches). */
    size_t g1, g2;
    ck_assert_ok(gmmp_extractor_sample(ex, img, h, w, pitch, 17, 1, s, NULL, &g1));
    ck_assert_ok(gmmp_extractor_sample(ex, img, h, w, pitch, 17, 2, s2, NULL, &g2));
    ck_assert(memcmp(s, s2, 17 * d * sizeof *s) != 0);
    free(all), free(allm), free(s), free(sm), free(s2), free(img);
    gmmp_extractor_destroy(ex);
}
END_TEST

/* A K = 3 model of ph x pw x C patches, with its patch description. */
/* The four parts by hand: all patches, one execution, the reconstructor. */
static void ref_restore(const gmmp_plan *plan, const gmmp_model *m, const double *img, size_t h,
                        size_t w, size_t pitch, size_t step, int map, double *out,
                        size_t out_pitch)
{
    size_t ph, pw, C;
    int rm;
    ck_assert_ok(gmmp_model_patch(m, &ph, &pw, &C, &rm));
    gmmp_extractor *ex;
    ck_assert_ok(gmmp_extractor_create(&ex, ph, pw, C, step));
    size_t n, d = ph * pw * C;
    ck_assert_ok(gmmp_extractor_count(ex, h, w, &n));
    double *p = malloc(n * d * sizeof *p), *e = malloc(n * d * sizeof *e);
    double *means = rm ? malloc(n * C * sizeof *means) : NULL;
    ck_assert_ok(gmmp_extractor_extract(ex, img, h, w, pitch, 0, n, p, means));
    ck_assert_ok(gmmp_plan_execute(plan, p, n, NULL, NULL, map ? e : NULL, map ? NULL : e));
    gmmp_reconstructor *rc;
    ck_assert_ok(gmmp_reconstructor_create(&rc, ex, h, w));
    ck_assert_ok(gmmp_reconstructor_add(rc, 0, n, e, means, NULL));
    ck_assert_ok(gmmp_reconstructor_finish(rc, out, out_pitch));
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
    free(p), free(e), free(means);
}

static double image_diff(const double *a, size_t pa, const double *b, size_t pb, size_t h,
                         size_t wc)
{
    double m = 0.0;
    for (size_t r = 0; r < h; r++)
        for (size_t c = 0; c < wc; c++)
            m = fmax(m, fabs(a[r * pa + c] - b[r * pb + c]));
    return m;
}

START_TEST(whole_image_equals_the_four_parts)
{
    const size_t chans[] = {1, 3};
    const int64_t batches[] = {1, 7, 0 /* default */};
    const size_t h = 11, w = 9;
    const double sigma = 15.0;
    for (size_t ci = 0; ci < 2; ci++)
        for (int rm = 0; rm < 2; rm++) {
            size_t C = chans[ci], pitch = w * C + 3, op = w * C + 1;
            gmmp_model *m = tu_patch_model(3, 2, C, rm);
            gmmp_plan *plan;
            ck_assert_ok(gmmp_plan_create_denoise(&plan, m, sigma, NULL));
            double *img = random_image(h, pitch, 5 + C);
            double *ref = malloc(h * op * sizeof *ref), *got = malloc(h * op * sizeof *got);
            for (size_t step = 1; step <= 2; step++)
                for (int map = 0; map < 2; map++) {
                    ref_restore(plan, m, img, h, w, pitch, step, map, ref, op);
                    for (size_t bi = 0; bi < 3; bi++) {
                        gmmp_options *o = tu_options();
                        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, (int64_t)step));
                        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_ESTIMATOR,
                                                          map ? GMMP_ESTIMATOR_MAP
                                                              : GMMP_ESTIMATOR_MMSE));
                        if (batches[bi])
                            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_BATCH, batches[bi]));
                        ck_assert_ok(gmmp_denoise_image(m, sigma, img, h, w, pitch, got, op, o));
                        double e = image_diff(got, op, ref, op, h, w * C);
                        ck_assert_msg(e <= 1e-12 * 255, "denoise C=%zu mean %d step %zu map %d "
                                      "batch %lld: off by %g", C, rm, step, map,
                                      (long long)batches[bi], e);
                        memset(got, 0, h * op * sizeof *got);
                        ck_assert_ok(gmmp_restore_image(plan, img, h, w, pitch, got, op, o));
                        e = image_diff(got, op, ref, op, h, w * C);
                        ck_assert_msg(e <= 1e-12 * 255, "restore C=%zu mean %d step %zu map %d "
                                      "batch %lld: off by %g", C, rm, step, map,
                                      (long long)batches[bi], e);
                        gmmp_options_destroy(o);
                    }
                }
            /* In place: out is the input. */
            ref_restore(plan, m, img, h, w, pitch, 1, 0, ref, op);
            double *inplace = malloc(h * pitch * sizeof *inplace);
            memcpy(inplace, img, h * pitch * sizeof *inplace);
            gmmp_options *o = tu_options();
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_BATCH, 7));
            ck_assert_ok(gmmp_denoise_image(m, sigma, inplace, h, w, pitch, inplace, pitch, o));
            ck_assert_double_le(image_diff(inplace, pitch, ref, op, h, w * C), 1e-12 * 255);
            memcpy(inplace, img, h * pitch * sizeof *inplace);
            ck_assert_ok(gmmp_restore_image(plan, inplace, h, w, pitch, inplace, pitch, NULL));
            ck_assert_double_le(image_diff(inplace, pitch, ref, op, h, w * C), 1e-12 * 255);
            gmmp_options_destroy(o);
            free(inplace), free(ref), free(got), free(img);
            gmmp_plan_destroy(plan);
            gmmp_model_destroy(m);
        }
}
END_TEST


/* One EPLL pass by hand: every patch of src (its observed pixels only,
 * with a mask), a Cholesky plan at variance var, the reconstructor. */
static void ref_epll_pass(const gmmp_model *m, double var, const double *src, size_t h,
                          size_t w, size_t pitch, const unsigned char *observed, int map,
                          double *avg)
{
    size_t ph, pw, C;
    int rm;
    ck_assert_ok(gmmp_model_patch(m, &ph, &pw, &C, &rm));
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PLAN_METHOD, GMMP_PLAN_CHOLESKY));
    gmmp_plan *plan;
    size_t d = ph * pw * C;
    ck_assert_ok(gmmp_plan_create(&plan, m, d, NULL, GMMP_NOISE_SCALAR, &var, NULL, o));
    gmmp_options_destroy(o);
    gmmp_extractor *ex;
    ck_assert_ok(gmmp_extractor_create(&ex, ph, pw, C, 1));
    size_t n;
    ck_assert_ok(gmmp_extractor_count(ex, h, w, &n));
    double *p = malloc(n * d * sizeof *p), *e = malloc(n * d * sizeof *e);
    double *means = calloc(n * C, sizeof *means);
    unsigned char *mask = malloc(n * d);
    ck_assert_ok(gmmp_extractor_extract(ex, src, h, w, pitch, 0, n, p, NULL));
    for (size_t i = 0; i < n; i++) {
        size_t r0, c0, seen = 0;
        ck_assert_ok(gmmp_extractor_position(ex, h, w, i, &r0, &c0));
        for (size_t j = 0; j < d; j++) {
            size_t r = j / (pw * C), c = j / C % pw;
            mask[i * d + j] = !observed || observed[(r0 + r) * w + c0 + c];
        }
        for (size_t ch = 0; ch < C; ch++) {
            double sum = 0.0;
            seen = 0;
            for (size_t j = ch; j < d; j += C)
                if (mask[i * d + j])
                    sum += p[i * d + j], seen++;
            means[i * C + ch] = rm && seen ? sum / (double)seen : 0.0;
            for (size_t j = ch; j < d; j += C)
                p[i * d + j] = mask[i * d + j] ? p[i * d + j] - means[i * C + ch] : 0.0;
        }
    }
    if (observed)
        ck_assert_ok(gmmp_plan_execute_masked(plan, p, mask, n, NULL, NULL, map ? e : NULL,
                                              map ? NULL : e));
    else
        ck_assert_ok(gmmp_plan_execute(plan, p, n, NULL, NULL, map ? e : NULL, map ? NULL : e));
    gmmp_reconstructor *rc;
    ck_assert_ok(gmmp_reconstructor_create(&rc, ex, h, w));
    ck_assert_ok(gmmp_reconstructor_add(rc, 0, n, e, means, NULL));
    ck_assert_ok(gmmp_reconstructor_finish(rc, avg, w * C));
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
    gmmp_plan_destroy(plan);
    free(p), free(e), free(means), free(mask);
}

/* EPLL as Zoran and Weiss write it, with the schedule 1, 4, 8, 16, 32. */
static void ref_epll(const gmmp_model *m, double sigma, const double *y, size_t h, size_t w,
                     size_t pitch, size_t C, const unsigned char *observed, int map,
                     size_t steps, double *x)
{
    const double sched[] = {1, 4, 8, 16, 32, 64};
    const size_t row = w * C;
    double *avg = malloc(h * row * sizeof *avg);
    for (size_t r = 0; r < h; r++)
        memcpy(x + r * row, y + r * pitch, row * sizeof *x);
    if (observed) {
        ref_epll_pass(m, sigma * sigma, y, h, w, pitch, observed, map, avg);
        for (size_t i = 0; i < h * row; i++)
            if (!observed[i / C])
                x[i] = avg[i];
    }
    for (size_t s = 0; s < steps; s++) {
        double bs2 = sched[s];
        ref_epll_pass(m, sigma * sigma / bs2, x, h, w, row, NULL, map, avg);
        for (size_t r = 0; r < h; r++)
            for (size_t i = 0; i < row; i++) {
                size_t k = r * row + i;
                x[k] = !observed || observed[r * w + i / C]
                           ? (y[r * pitch + i] + bs2 * avg[k]) / (1.0 + bs2)
                           : avg[k];
            }
    }
    free(avg);
}

START_TEST(epll_equals_the_paper_by_hand)
{
    const size_t h = 12, w = 10;
    const double sigma = 20.0;
    for (size_t C = 1; C <= 3; C += 2)
        for (int rm = 0; rm < 2; rm++)
            for (int masked = 0; masked < 2; masked++) {
                size_t pitch = w * C + 2, row = w * C;
                gmmp_model *m = tu_patch_model(3, 3, C, rm);
                double *y = random_image(h, pitch, 11 + C);
                unsigned char *obs = NULL;
                if (masked) {
                    obs = malloc(h * w);
                    tu_rng r = {99};
                    for (size_t i = 0; i < h * w; i++) {
                        obs[i] = tu_uniform(&r) < 0.7;
                        if (!obs[i]) /* missing values must never be read */
                            for (size_t ch = 0; ch < C; ch++)
                                y[(i / w) * pitch + (i % w) * C + ch] = NAN;
                    }
                }
                double *ref = malloc(h * row * sizeof *ref), *got = malloc(h * row * sizeof *got);
                for (int map = 0; map < 2; map++)
                    for (size_t steps = 1; steps <= 5; steps += 4) {
                        ref_epll(m, sigma, y, h, w, pitch, C, obs, map, steps, ref);
                        gmmp_options *o = tu_options();
                        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_STEPS, (int64_t)steps));
                        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_ESTIMATOR,
                                                          map ? GMMP_ESTIMATOR_MAP
                                                              : GMMP_ESTIMATOR_MMSE));
                        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_BATCH, 5));
                        ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, pitch, obs, got, row, o));
                        double e = image_diff(got, row, ref, row, h, row);
                        ck_assert_msg(e <= 1e-9 * 255, "EPLL C=%zu mean %d mask %d map %d "
                                      "steps %zu: off by %g", C, rm, masked, map, steps, e);
                        gmmp_options_destroy(o);
                    }
                free(ref), free(got), free(y), free(obs);
                gmmp_model_destroy(m);
            }
}
END_TEST

/* Records the last progress report and whether any went past its total. */
typedef struct progress_seen {
    double done, total;
    int over;
} progress_seen;

static int record_progress(const gmmp_progress *p, void *payload)
{
    progress_seen *s = payload;
    s->done = p->done;
    s->total = p->total;
    s->over |= p->done > p->total * (1.0 + 1e-12);
    return 0;
}

static double mse(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (a[i] - b[i]) * (a[i] - b[i]);
    return s / (double)n;
}

/* Diagonal stripes (h x w, period 9) that a random prior knows nothing
 * about, and the same plus noise of sigma, drawn from r. */
static void noisy_stripes(size_t h, size_t w, double sigma, tu_rng *r, double *clean, double *y)
{
    for (size_t i = 0; i < h * w; i++) {
        clean[i] = 128.0 + 70.0 * sin(6.283185307179586 * (double)(i / w + 2 * (i % w)) / 9.0);
        y[i] = clean[i] + sigma * tu_normal(r);
    }
}

START_TEST(epll_adapts_the_prior_to_the_image)
{
    /* Diagonal stripes the random prior knows nothing about: adapting it
     * to a first restoration's patches must restore them better. */
    const size_t h = 40, w = 36, n = h * w;
    const double sigma = 20.0;
    gmmp_model *m = tu_patch_model(4, 4, 1, 1);
    double *clean = malloc(n * sizeof *clean), *y = malloc(n * sizeof *y);
    double *plain = malloc(n * sizeof *plain), *adapted = malloc(n * sizeof *adapted);
    double *kept = malloc(n * sizeof *kept);
    tu_rng r = {5};
    noisy_stripes(h, w, sigma, &r, clean, y);
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_ESTIMATOR, GMMP_ESTIMATOR_MAP));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, 2));
    ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, plain, w, o));
    progress_seen seen = {0};
    ck_assert_ok(gmmp_options_set_progress(o, record_progress, &seen));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT, 2));
    ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, adapted, w, o));
    double before = mse(plain, clean, n), after = mse(adapted, clean, n);
    ck_assert_msg(after < 0.8 * before, "adapted MSE %g against %g without", after, before);
    ck_assert(!seen.over);
    ck_assert_double_eq_tol(seen.done, seen.total, 1e-9 * seen.total);

    /* A prior worth 1e12 samples does not move: the last round is then
     * the plain restoration (all patches, from the noisy image). */
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT, 1));
    ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_ADAPT_RELEVANCE, 1e12));
    ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, kept, w, o));
    ck_assert_double_le(tu_max_abs_diff(kept, plain, n), 1e-6 * 255);

    /* Inpainting adapts too, and never reads a missing pixel. */
    unsigned char *obs = malloc(n);
    for (size_t i = 0; i < n; i++) {
        obs[i] = tu_uniform(&r) < 0.8;
        if (!obs[i])
            y[i] = NAN;
    }
    ck_assert_ok(gmmp_options_set_real(o, GMMP_OPT_ADAPT_RELEVANCE, 16));
    ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, obs, adapted, w, o));
    for (size_t i = 0; i < n; i++)
        ck_assert(isfinite(adapted[i]));
    ck_assert(!seen.over);
    ck_assert_double_eq_tol(seen.done, seen.total, 1e-9 * seen.total);
    ck_assert_fails(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT, 9), GMMP_EINVAL);
    ck_assert_fails(gmmp_options_set_real(o, GMMP_OPT_ADAPT_RELEVANCE, -1.0), GMMP_EINVAL);
    gmmp_options_destroy(o);
    free(clean), free(y), free(plain), free(adapted), free(kept), free(obs);
    gmmp_model_destroy(m);
}
END_TEST

/* The prior adapted by hand to the patches of img on a grid of step 3, as
 * gmmp_stats_adapt does (relevance 16, reg_covar 1e-6); for a
 * one-component prior, whose responsibilities are 1 under any plan. */
static gmmp_model *ref_adapt_one(const gmmp_model *m, const double *img, size_t h, size_t w)
{
    gmmp_extractor *ex;
    ck_assert_ok(gmmp_extractor_create_for_model(&ex, m, 3));
    size_t n, d = gmmp_model_dim(m);
    ck_assert_ok(gmmp_extractor_count(ex, h, w, &n));
    double *p = malloc(n * d * sizeof *p), *means = malloc(n * sizeof *means);
    ck_assert_ok(gmmp_extractor_extract(ex, img, h, w, w, 0, n, p, means));
    gmmp_stats *st;
    ck_assert_ok(gmmp_stats_create(&st, 1, d, NULL));
    ck_assert_ok(gmmp_stats_accumulate(st, m, p, n));
    gmmp_model *out;
    ck_assert_ok(gmmp_stats_adapt(st, m, 16.0, 1e-6, &out));
    ck_assert_ok(gmmp_model_set_patch(out, 3, 3, 1, 1));
    gmmp_stats_destroy(st);
    gmmp_extractor_destroy(ex);
    free(p), free(means);
    return out;
}

START_TEST(epll_adapts_within_its_steps_as_by_hand)
{
    /* GMMP_OPT_EPLL_ADAPT_AFTER = s: EPLL's first s steps with the prior,
     * the prior adapted to step s's patch average (recovered here from
     * x_s = (y + b avg) / (1 + b)), the remaining steps with it. */
    const size_t h = 14, w = 13, n = h * w, d = 9, steps = 5;
    const double sigma = 15.0, sched[] = {1, 4, 8, 16, 32};
    double mu[9], cov[81], one = 1.0;
    tu_rng r = {41};
    tu_fill_uniform(&r, mu, d, -3, 3);
    tu_random_spd(&r, cov, d, 10.0, 600.0);
    gmmp_model *m;
    ck_assert_ok(gmmp_model_create(&m, 1, d, &one, mu, cov));
    ck_assert_ok(gmmp_model_set_patch(m, 3, 3, 1, 1));
    double *y = random_image(h, w, 8), *x = malloc(n * sizeof *x), *avg = malloc(n * sizeof *avg);
    double *got = malloc(n * sizeof *got), *plain = malloc(n * sizeof *plain);
    for (size_t after = 1; after < steps; after += 2)
        for (int map = 0; map < 2; map++) {
            ref_epll(m, sigma, y, h, w, w, 1, NULL, map, after, x);
            for (size_t i = 0; i < n; i++)
                avg[i] = ((1.0 + sched[after - 1]) * x[i] - y[i]) / sched[after - 1];
            gmmp_model *adapted = ref_adapt_one(m, avg, h, w);
            for (size_t s = after; s < steps; s++) {
                ref_epll_pass(adapted, sigma * sigma / sched[s], x, h, w, w, NULL, map, avg);
                for (size_t i = 0; i < n; i++)
                    x[i] = (y[i] + sched[s] * avg[i]) / (1.0 + sched[s]);
            }
            gmmp_options *o = tu_options();
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_STEPS, (int64_t)steps));
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT_AFTER, (int64_t)after));
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_ESTIMATOR,
                                              map ? GMMP_ESTIMATOR_MAP : GMMP_ESTIMATOR_MMSE));
            ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, got, w, o));
            double e = image_diff(got, w, x, w, h, w);
            ck_assert_msg(e <= 1e-9 * 255, "after %zu, map %d: off by %g", after, map, e);
            /* After the last step (or later) there is nothing to adapt. */
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT_AFTER, (int64_t)steps));
            ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, got, w, o));
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT_AFTER, 0));
            ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, plain, w, o));
            ck_assert_mem_eq(got, plain, n * sizeof *got);
            gmmp_options_destroy(o);
            gmmp_model_destroy(adapted);
        }
    free(y), free(x), free(avg), free(got), free(plain);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(fast_epll_with_adaptation_is_the_same_on_any_threads)
{
    /* Fast EPLL adapting within its steps, on an image whose passes have
     * many pieces and whose adaptation labels thousands of patches: the
     * threads share the pieces (added in order, whichever finishes
     * first), the labelled moments, the adapted components and their
     * check, and the result must be the same bits on any number. */
    const size_t h = 96, w = 90, n = h * w; /* 899 labelled patches, 9 pieces a pass */
    const double sigma = 20.0;
    gmmp_model *m = tu_patch_model(4, 4, 1, 1);
    double *clean = malloc(n * sizeof *clean), *y = malloc(n * sizeof *y);
    double *one = malloc(n * sizeof *one), *got = malloc(n * sizeof *got);
    tu_rng r = {8};
    noisy_stripes(h, w, sigma, &r, clean, y);
    for (int threads = 1; threads <= 3; threads++) {
        gmmp_options *o = tu_options();
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_ESTIMATOR, GMMP_ESTIMATOR_MAP));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, threads));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_STEPS, 4));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, 2));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_RANK, 8));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_CANDIDATES, 1));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PRECISION, GMMP_PRECISION_SINGLE));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT_AFTER, 1));
        ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, threads == 1 ? one : got, w, o));
        if (threads > 1)
            ck_assert_mem_eq(got, one, n * sizeof *got);
        gmmp_options_destroy(o);
    }
    ck_assert_double_lt(mse(one, clean, n), mse(y, clean, n));
    free(clean), free(y), free(one), free(got);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(epll_adapting_within_its_steps_helps)
{
    /* Diagonal stripes a random three-component prior knows nothing
     * about, as in epll_adapts_the_prior_to_the_image: adapting within
     * the steps must restore them better, with exact plans and with fast
     * EPLL's (jittered grid, flat tails, preselection, single precision),
     * on two threads, and progress must still end at its total. */
    const size_t h = 40, w = 36, n = h * w;
    const double sigma = 20.0;
    gmmp_model *m = tu_patch_model(4, 4, 1, 1);
    double *clean = malloc(n * sizeof *clean), *y = malloc(n * sizeof *y);
    double *plain = malloc(n * sizeof *plain), *adapted = malloc(n * sizeof *adapted);
    tu_rng r = {6};
    noisy_stripes(h, w, sigma, &r, clean, y);
    for (int fast = 0; fast < 2; fast++) {
        gmmp_options *o = tu_options();
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_ESTIMATOR, GMMP_ESTIMATOR_MAP));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_THREADS, 2));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_STEPS, 6));
        if (fast) {
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, 2));
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_RANK, 8));
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_CANDIDATES, 1));
            ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_PRECISION, GMMP_PRECISION_SINGLE));
        }
        ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, plain, w, o));
        progress_seen seen = {0};
        ck_assert_ok(gmmp_options_set_progress(o, record_progress, &seen));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT_AFTER, 1));
        ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, adapted, w, o));
        double before = mse(plain, clean, n), after = mse(adapted, clean, n);
        ck_assert_msg(after < 0.8 * before, "fast %d: adapted MSE %g against %g without", fast,
                      after, before);
        ck_assert(!seen.over);
        ck_assert_double_eq_tol(seen.done, seen.total, 1e-9 * seen.total);
        /* With a round of adaptation too, only the final restoration
         * adapts within its steps: the progress count, which the rounds
         * fix, still ends at its total. */
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT, 1));
        ck_assert_ok(gmmp_epll_image(m, sigma, y, h, w, w, NULL, adapted, w, o));
        ck_assert_double_le(mse(adapted, clean, n), 0.8 * before);
        ck_assert(!seen.over);
        ck_assert_double_eq_tol(seen.done, seen.total, 1e-9 * seen.total);
        ck_assert_fails(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT_AFTER, 65), GMMP_EINVAL);
        gmmp_options_destroy(o);
    }
    free(clean), free(y), free(plain), free(adapted);
    gmmp_model_destroy(m);
}
END_TEST

/* gmmp_epll_image with these grids (GMMP_OPT_STEP, GMMP_OPT_EPLL_LAST_GRID). */
static void epll_on_grids(const gmmp_model *m, const double *y, size_t h, size_t w,
                          gmmp_options *o, int64_t step, int64_t last, double *out)
{
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, step));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_LAST_GRID, last));
    ck_assert_ok(gmmp_epll_image(m, 10.0, y, h, w, w, NULL, out, w, o));
}

START_TEST(epll_last_grid_is_the_last_steps)
{
    /* GMMP_OPT_EPLL_LAST_GRID: the last half-quadratic step's grid. */
    const size_t h = 23, w = 21, n = h * w;
    gmmp_model *m = tu_patch_model(4, 4, 1, 1);
    double *y = random_image(h, w, 5);
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_SEED, 3));
    /* One step is the last: its grid is the last grid, drawn alike. With
     * a round of adaptation first, that round keeps its own grid (4, for
     * 4x4 patches and grids of at most 4): the same bits again. */
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_STEPS, 1));
    for (int rounds = 0; rounds < 2; rounds++) {
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT, rounds));
        epll_on_grids(m, y, h, w, o, 3, 0, a);
        epll_on_grids(m, y, h, w, o, 2, 3, b);
        ck_assert_mem_eq(a, b, n * sizeof *a);
    }
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT, 0));
    /* Several steps: a last grid equal to the others' is no change;
     * another changes the last step's grid only, not every step's; one
     * beyond the patch would leave pixels without estimates. */
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_STEPS, 3));
    epll_on_grids(m, y, h, w, o, 2, 0, a);
    epll_on_grids(m, y, h, w, o, 2, 2, b);
    ck_assert_mem_eq(a, b, n * sizeof *a);
    epll_on_grids(m, y, h, w, o, 2, 4, a);
    ck_assert(image_diff(a, w, b, w, h, w) > 0.0);
    epll_on_grids(m, y, h, w, o, 4, 0, c); /* every step on a grid of 4 */
    ck_assert(image_diff(a, w, c, w, h, w) > 0.0);
    memcpy(b, a, n * sizeof *b);
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, 2));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_LAST_GRID, 5));
    ck_assert_fails(gmmp_epll_image(m, 10.0, y, h, w, w, NULL, b, w, o), GMMP_EDIM);
    ck_assert_mem_eq(a, b, n * sizeof *a); /* untouched */
    ck_assert_fails(gmmp_options_set_int(o, GMMP_OPT_EPLL_LAST_GRID, 4097), GMMP_EINVAL);
    /* Progress counts the passes as they run, with rounds of adaptation
     * (which keep their own grids) or without. */
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_LAST_GRID, 4));
    for (int rounds = 0; rounds < 2; rounds++) {
        progress_seen seen = {0};
        ck_assert_ok(gmmp_options_set_progress(o, record_progress, &seen));
        ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_EPLL_ADAPT, rounds));
        ck_assert_ok(gmmp_epll_image(m, 10.0, y, h, w, w, NULL, a, w, o));
        ck_assert(!seen.over);
        ck_assert_double_eq_tol(seen.done, seen.total, 1e-9 * seen.total);
    }
    gmmp_options_destroy(o);
    free(y), free(a), free(b), free(c);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(epll_jittered_grids_are_seeded)
{
    const size_t h = 16, w = 15, C = 1;
    gmmp_model *m = tu_patch_model(4, 4, C, 1);
    double *y = random_image(h, w, 3);
    double *a = malloc(h * w * sizeof *a), *b = malloc(h * w * sizeof *b);
    double *c = malloc(h * w * sizeof *c);
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, 3));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_SEED, 7));
    ck_assert_ok(gmmp_epll_image(m, 10.0, y, h, w, w, NULL, a, w, o));
    ck_assert_ok(gmmp_epll_image(m, 10.0, y, h, w, w, NULL, b, w, o));
    ck_assert_double_eq(image_diff(a, w, b, w, h, w), 0.0); /* same seed, same result */
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_SEED, 8));
    ck_assert_ok(gmmp_epll_image(m, 10.0, y, h, w, w, NULL, c, w, o));
    ck_assert(image_diff(a, w, c, w, h, w) > 0.0); /* other offsets, other result */
    for (size_t i = 0; i < h * w; i++)
        ck_assert(isfinite(c[i]));
    /* A step larger than the patch leaves pixels without estimates. */
    memcpy(b, a, h * w * sizeof *b);
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, 5));
    ck_assert_fails(gmmp_epll_image(m, 10.0, y, h, w, w, NULL, b, w, o), GMMP_EDIM);
    ck_assert_double_eq(image_diff(a, w, b, w, h, w), 0.0); /* untouched */
    ck_assert_fails(gmmp_epll_image(m, 0.0, y, h, w, w, NULL, b, w, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_epll_image(m, NAN, y, h, w, w, NULL, b, w, NULL), GMMP_EINVAL);
    y[5] = NAN;
    ck_assert_fails(gmmp_epll_image(m, 10.0, y, h, w, w, NULL, b, w, NULL), GMMP_ENONFINITE);
    gmmp_options_destroy(o);
    free(a), free(b), free(c), free(y);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(noise_level_of_white_noise_on_a_smooth_image)
{
    /* A smooth image (a ramp and a slow wave, no texture) plus white
     * Gaussian noise of known sigma, grey and RGB: the estimate is within
     * 10% (the method's tail then holds noise alone). */
    const size_t h = 96, w = 80;
    const double sigmas[] = {5.0, 20.0};
    for (size_t C = 1; C <= 3; C += 2)
        for (size_t k = 0; k < 2; k++) {
            tu_rng r = {31 + C + k};
            double *img = malloc(h * w * C * sizeof *img), est = -1.0;
            for (size_t y = 0; y < h; y++)
                for (size_t x = 0; x < w; x++)
                    for (size_t c = 0; c < C; c++)
                        img[(y * w + x) * C + c] = 60.0 + 0.8 * (double)x + 20.0 * c +
                                                   30.0 * sin(0.05 * (double)y) +
                                                   sigmas[k] * tu_normal(&r);
            ck_assert_ok(gmmp_estimate_noise(img, h, w, C, w * C, &est));
            ck_assert_msg(fabs(est - sigmas[k]) <= 0.1 * sigmas[k],
                          "C=%zu sigma %g estimated %g", C, sigmas[k], est);
            free(img);
        }
    /* Bad input: each with its code, the output untouched. */
    double img[10 * 10], est = -1.0;
    for (size_t i = 0; i < 100; i++)
        img[i] = (double)(i % 7);
    ck_assert_fails(gmmp_estimate_noise(img, 10, 10, 1, 10, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_estimate_noise(NULL, 10, 10, 1, 10, &est), GMMP_EINVAL);
    ck_assert_fails(gmmp_estimate_noise(img, 10, 10, 0, 10, &est), GMMP_EINVAL);
    ck_assert_fails(gmmp_estimate_noise(img, 10, 10, 1, 9, &est), GMMP_EINVAL);
    ck_assert_fails(gmmp_estimate_noise(img, 7, 10, 1, 10, &est), GMMP_EDIM);
    img[42] = NAN;
    ck_assert_fails(gmmp_estimate_noise(img, 10, 10, 1, 10, &est), GMMP_ENONFINITE);
    ck_assert_double_eq(est, -1.0);
}
END_TEST

/* An image whose left half is texture, a 2x2 box average of white noise
 * (standard deviation 30 per channel; broadband, so it reaches every
 * eigenvalue of the patch covariance), and whose right half is smooth,
 * plus white noise of the given sigma. */
static double *textured_image(size_t h, size_t w, size_t C, double sigma, uint64_t seed)
{
    tu_rng r = {seed};
    double *field = malloc((h + 1) * (w + 1) * C * sizeof *field);
    double *img = malloc(h * w * C * sizeof *img);
    for (size_t i = 0; i < (h + 1) * (w + 1) * C; i++)
        field[i] = tu_normal(&r);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++)
            for (size_t c = 0; c < C; c++) {
                const double *f = field + (y * (w + 1) + x) * C + c;
                double box = f[0] + f[C] + f[(w + 1) * C] + f[(w + 2) * C];
                double smooth = 60.0 + 0.8 * (double)x + 20.0 * c + 30.0 * sin(0.05 * (double)y);
                img[(y * w + x) * C + c] = (x < w / 2 ? 128.0 + 15.0 * box : smooth) +
                                           sigma * tu_normal(&r);
            }
    free(field);
    return img;
}

START_TEST(noise_level_with_many_channels)
{
    /* Pure noise in 1 to 8 channels. Where the patches are few for their
     * dimension (60x60 with 8 channels: 2,809 patches of 512 values) the
     * estimate must still stand on all of them: a start from a quarter of
     * them, fewer than the dimensions, had read 2.7 for 10 there, and 0 at
     * 50x50. Where they are many (120x120) it is within 5%. */
    const double sigma = 10.0;
    const size_t sides[] = {60, 120};
    for (size_t C = 1; C <= 8; C++)
        for (size_t k = 0; k < 2; k++) {
            const size_t n = sides[k];
            tu_rng r = {77 + C * 3 + k};
            double *img = malloc(n * n * C * sizeof *img), est = -1.0;
            for (size_t i = 0; i < n * n * C; i++)
                img[i] = 128.0 + sigma * tu_normal(&r);
            ck_assert_ok(gmmp_estimate_noise(img, n, n, C, n * C, &est));
            double tol = k == 0 ? 0.25 : 0.05;
            ck_assert_msg(fabs(est - sigma) <= tol * sigma, "%zux%zu, %zu channels: %g", n, n,
                          C, est);
            free(img);
        }
}
END_TEST

START_TEST(noise_level_beside_texture_at_low_noise)
{
    /* Half texture, half smooth: the weak-texture selection finds the
     * smooth half. The eigenvalue tail of all patches (Chen et al., the
     * previous method) gave +35% to +58% at sigma 5 on this image. */
    const size_t h = 96, w = 96;
    const double sigmas[] = {5.0, 15.0};
    for (size_t C = 1; C <= 3; C += 2)
        for (size_t k = 0; k < 2; k++)
            for (uint64_t seed = 1; seed <= 2; seed++) {
                double *img = textured_image(h, w, C, sigmas[k], 100 * C + 10 * k + seed);
                double est = -1.0;
                ck_assert_ok(gmmp_estimate_noise(img, h, w, C, w * C, &est));
                ck_assert_msg(fabs(est / sigmas[k] - 1.0) <= 0.06,
                              "C=%zu sigma %g seed %d estimated %g", C, sigmas[k], (int)seed,
                              est);
                free(img);
            }
}
END_TEST

START_TEST(noise_level_follows_the_image_scale)
{
    /* sigma(a x + b) = |a| sigma(x): the pixels are read centred and
     * scaled by a power of two, so a huge, tiny or far-offset image gives
     * the same estimate to rounding (squares of 1e280 would overflow, an
     * offset of 1e12 would cancel a noise variance of 100). A constant
     * image gives 0, whatever its value. */
    const size_t h = 64, w = 72, C = 3, n = h * w * C;
    double *img = textured_image(h, w, C, 10.0, 7), *y = malloc(n * sizeof *y), base = -1.0;
    ck_assert_ok(gmmp_estimate_noise(img, h, w, C, w * C, &base));
    ck_assert_msg(base > 5.0 && base < 20.0, "estimated %g", base);
    const double scale[] = {1e280, 1e-300, -3.0, 1.0}, offset[] = {0.0, 0.0, 0.0, 1e12};
    for (size_t k = 0; k < 4; k++) {
        for (size_t i = 0; i < n; i++)
            y[i] = scale[k] * img[i] + offset[k];
        double est = -1.0;
        ck_assert_ok(gmmp_estimate_noise(y, h, w, C, w * C, &est));
        double want = fabs(scale[k]) * base, tol = k < 3 ? 1e-9 : 1e-3;
        ck_assert_msg(fabs(est - want) <= tol * want, "scale %g offset %g: %g, want %g",
                      scale[k], offset[k], est, want);
    }
    const double level[] = {0.0, -7.5, 1e300};
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++)
            y[i] = level[k];
        double est = -1.0;
        ck_assert_ok(gmmp_estimate_noise(y, h, w, C, w * C, &est));
        ck_assert_double_eq(est, 0.0);
    }
    free(img), free(y);
}
END_TEST

START_TEST(whole_image_errors_leave_out_untouched)
{
    const size_t h = 8, w = 7;
    gmmp_model *m = tu_patch_model(3, 3, 1, 1);
    double *img = random_image(h, w, 3), out[8 * 7];
    const double sentinel = -4242.0;
#define RESET() for (size_t i_ = 0; i_ < h * w; i_++) out[i_] = sentinel
#define UNTOUCHED()                                                                      \
    for (size_t i_ = 0; i_ < h * w; i_++)                                                 \
    ck_assert_msg(out[i_] == sentinel, "out[%zu] written on failure", i_)
    /* No patch description. */
    double wk[1] = {1.0}, mu[9] = {0}, cov[81] = {0};
    for (int i = 0; i < 9; i++)
        cov[i * 10] = 100.0;
    gmmp_model *plain;
    ck_assert_ok(gmmp_model_create(&plain, 1, 9, wk, mu, cov));
    RESET();
    ck_assert_fails(gmmp_denoise_image(plain, 10.0, img, h, w, w, out, w, NULL), GMMP_EDIM);
    UNTOUCHED();
    gmmp_plan *pp;
    ck_assert_ok(gmmp_plan_create_denoise(&pp, plain, 10.0, NULL));
    ck_assert_fails(gmmp_restore_image(pp, img, h, w, w, out, w, NULL), GMMP_EDIM);
    UNTOUCHED();
    gmmp_plan_destroy(pp);
    gmmp_model_destroy(plain);
    /* Patch larger than the image. */
    ck_assert_fails(gmmp_denoise_image(m, 10.0, img, 2, w, w, out, w, NULL), GMMP_EDIM);
    ck_assert_fails(gmmp_denoise_image(m, 10.0, img, h, 2, w, out, w, NULL), GMMP_EDIM);
    UNTOUCHED();
    /* Step larger than the patch. */
    gmmp_options *o = tu_options();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, 4));
    ck_assert_fails(gmmp_denoise_image(m, 10.0, img, h, w, w, out, w, o), GMMP_EDIM);
    UNTOUCHED();
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_STEP, 3)); /* = the patch: fine */
    ck_assert_ok(gmmp_denoise_image(m, 10.0, img, h, w, w, out, w, o));
    gmmp_options_destroy(o);
    /* NaN or infinity anywhere, also in place. */
    RESET();
    img[5 * w + 6] = NAN;
    ck_assert_fails(gmmp_denoise_image(m, 10.0, img, h, w, w, out, w, NULL), GMMP_ENONFINITE);
    UNTOUCHED();
    img[5 * w + 6] = INFINITY;
    double copy[8 * 7];
    memcpy(copy, img, sizeof copy);
    ck_assert_fails(gmmp_denoise_image(m, 10.0, img, h, w, w, img, w, NULL), GMMP_ENONFINITE);
    ck_assert_mem_eq(copy, img, sizeof copy);
    img[5 * w + 6] = 10.0;
    /* Bad sigma and pitches. */
    ck_assert_fails(gmmp_denoise_image(m, 0.0, img, h, w, w, out, w, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_denoise_image(m, 10.0, img, h, w, w - 1, out, w, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_denoise_image(m, 10.0, img, h, w, w, out, w - 1, NULL), GMMP_EINVAL);
    UNTOUCHED();
    /* A non-finite sigma: the header says EINVAL (out of range) or, as
     * gmmp_plan_create() for a NaN variance, ENONFINITE. */
    int rc = gmmp_plan_create_denoise(&pp, m, NAN, NULL);
    ck_assert_msg(rc == GMMP_EINVAL || rc == GMMP_ENONFINITE, "NaN sigma: %d", rc);
    rc = gmmp_denoise_image(m, INFINITY, img, h, w, w, out, w, NULL);
    ck_assert_msg(rc == GMMP_EINVAL || rc == GMMP_ENONFINITE, "infinite sigma: %d", rc);
    UNTOUCHED();
#undef RESET
#undef UNTOUCHED
    free(img);
    gmmp_model_destroy(m);
}
END_TEST

START_TEST(extractor_for_model_matches_its_description)
{
    gmmp_model *m = tu_patch_model(3, 2, 3, 0);
    gmmp_extractor *a, *b;
    ck_assert_ok(gmmp_extractor_create_for_model(&a, m, 2));
    ck_assert_ok(gmmp_extractor_create(&b, 3, 2, 3, 2));
    ck_assert_uint_eq(gmmp_extractor_dim(a), 18);
    size_t na, nb;
    ck_assert_ok(gmmp_extractor_count(a, 9, 8, &na));
    ck_assert_ok(gmmp_extractor_count(b, 9, 8, &nb));
    ck_assert_uint_eq(na, nb);
    double *img = random_image(9, 24, 1), pa[64 * 18], pb[64 * 18];
    ck_assert_ok(gmmp_extractor_extract(a, img, 9, 8, 24, 0, na, pa, NULL));
    ck_assert_ok(gmmp_extractor_extract(b, img, 9, 8, 24, 0, nb, pb, NULL));
    ck_assert_mem_eq(pa, pb, na * 18 * sizeof *pa);
    free(img);
    gmmp_extractor_destroy(a);
    gmmp_extractor_destroy(b);
    gmmp_model_destroy(m);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("restore");
    TCase *tc = tu_tcase("restore");
    tcase_add_test(tc, multichannel_extraction_matches_naive_enumeration);
    tcase_add_test(tc, reconstructor_averages_three_channels);
    tcase_add_test(tc, sample_draws_distinct_patches_in_order);
    tcase_add_test(tc, extractor_for_model_matches_its_description);
    tcase_add_test(tc, whole_image_equals_the_four_parts);
    tcase_add_test(tc, whole_image_errors_leave_out_untouched);
    tcase_add_test(tc, epll_equals_the_paper_by_hand);
    tcase_add_test(tc, epll_jittered_grids_are_seeded);
    tcase_add_test(tc, epll_last_grid_is_the_last_steps);
    tcase_add_test(tc, epll_adapts_the_prior_to_the_image);
    tcase_add_test(tc, epll_adapts_within_its_steps_as_by_hand);
    tcase_add_test(tc, epll_adapting_within_its_steps_helps);
    tcase_add_test(tc, noise_level_of_white_noise_on_a_smooth_image);
    tcase_add_test(tc, noise_level_with_many_channels);
    tcase_add_test(tc, noise_level_beside_texture_at_low_noise);
    tcase_add_test(tc, noise_level_follows_the_image_scale);
    suite_add_tcase(s, tc);
    TCase *threads = tu_tcase("threads");
    tcase_set_tags(threads, "threads"); /* ThreadSanitizer's stage (scripts/test-all.sh) */
    tcase_add_test(threads, fast_epll_with_adaptation_is_the_same_on_any_threads);
    suite_add_tcase(s, threads);
    return tu_run(s);
}
