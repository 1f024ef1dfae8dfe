/*
 * Patch extractor and reconstructor: geometry, order, round trip, errors.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "testutil.h"

/* Patch offsets along one axis, written independently of the library as
 * a set: 0 when there is an offset, offset + j*step while the patch fits,
 * and the border position; sorted, without repeats. */
static size_t reference_positions(size_t size, size_t psize, size_t step, size_t offset,
                                  size_t *pos)
{
    char used[256] = {0};
    if (offset > 0)
        used[0] = 1;
    for (size_t p = offset; p + psize <= size; p += step)
        used[p] = 1;
    used[size - psize] = 1;
    size_t n = 0;
    for (size_t p = 0; p + psize <= size; p++)
        if (used[p])
            pos[n++] = p;
    return n;
}

static double *pixel_image(size_t h, size_t w, size_t pitch)
{
    double *img = malloc(h * pitch * sizeof *img);
    ck_assert_ptr_nonnull(img);
    for (size_t r = 0; r < h; r++)
        for (size_t c = 0; c < pitch; c++)
            img[r * pitch + c] = c < w ? (double)(r * 1000 + c) : NAN;
    return img;
}

START_TEST(count_and_order_match_reference)
{
    const size_t sizes[][2] = {{28, 28}, {10, 28}, {17, 5}, {1, 1}, {33, 64}};
    const size_t patches[][2] = {{1, 1}, {3, 3}, {5, 2}, {8, 8}, {16, 16}};
    const size_t steps[] = {1, 2, 3, 7, 100};
    for (size_t si = 0; si < 5; si++)
        for (size_t pi = 0; pi < 5; pi++)
            for (size_t ti = 0; ti < 5; ti++)
                for (size_t oi = 0; oi < 3; oi++) {
                    size_t h = sizes[si][0], w = sizes[si][1];
                    size_t ph = patches[pi][0], pw = patches[pi][1], step = steps[ti];
                    size_t ro = oi == 0 ? 0 : (oi * 5) % step, co = oi == 0 ? 0 : (oi * 3) % step;
                    if (ph > h || pw > w)
                        continue;
                    gmmp_extractor *ex;
                    ck_assert_ok(gmmp_extractor_create_grid(&ex, ph, pw, 1, step, ro, co));
                    ck_assert_uint_eq(gmmp_extractor_dim(ex), ph * pw);
                    size_t rows[256], cols[256];
                    size_t nr = reference_positions(h, ph, step, ro, rows);
                    size_t nc = reference_positions(w, pw, step, co, cols);
                    size_t n;
                    ck_assert_ok(gmmp_extractor_count(ex, h, w, &n));
                    ck_assert_uint_eq(n, nr * nc);

                    double *img = pixel_image(h, w, w);
                    double *out = malloc(n * ph * pw * sizeof *out);
                    ck_assert_ok(gmmp_extractor_extract(ex, img, h, w, w, 0, n, out, NULL));
                    for (size_t i = 0; i < n; i++) {
                        size_t r0, c0;
                        ck_assert_ok(gmmp_extractor_position(ex, h, w, i, &r0, &c0));
                        ck_assert_uint_eq(r0, rows[i / nc]);
                        ck_assert_uint_eq(c0, cols[i % nc]);
                        for (size_t r = 0; r < ph; r++)
                            for (size_t c = 0; c < pw; c++)
                                ck_assert_double_eq(out[i * ph * pw + r * pw + c],
                                                    (double)((r0 + r) * 1000 + c0 + c));
                    }
                    free(out);
                    free(img);
                    gmmp_extractor_destroy(ex);
                }
}
END_TEST

START_TEST(mnist_geometry_counts)
{
    /* The reference workflow: 16x16 patches of 28x28 digits, step 1. */
    gmmp_extractor *ex;
    ck_assert_ok(gmmp_extractor_create(&ex, 16, 16, 1, 1));
    size_t n;
    ck_assert_ok(gmmp_extractor_count(ex, 28, 28, &n));
    ck_assert_uint_eq(n, 13 * 13);
    ck_assert_ok(gmmp_extractor_count(ex, 16, 16, &n));
    ck_assert_uint_eq(n, 1);
    gmmp_extractor_destroy(ex);
    /* Step 5 on 28 pixels: 0, 5, 10, then 12 flush with the border. */
    ck_assert_ok(gmmp_extractor_create(&ex, 16, 16, 1, 5));
    ck_assert_ok(gmmp_extractor_count(ex, 28, 28, &n));
    ck_assert_uint_eq(n, 4 * 4);
    size_t r, c;
    ck_assert_ok(gmmp_extractor_position(ex, 28, 28, 3, &r, &c));
    ck_assert_uint_eq(r, 0);
    ck_assert_uint_eq(c, 12);
    ck_assert_ok(gmmp_extractor_position(ex, 28, 28, 4, &r, &c));
    ck_assert_uint_eq(r, 5);
    ck_assert_uint_eq(c, 0);
    gmmp_extractor_destroy(ex);
}
END_TEST

/* Extracts every patch of a sub-rectangle, possibly removing means, feeds
 * them back in two ranges and checks the image comes back. */
static void check_round_trip(size_t h, size_t w, size_t ph, size_t pw, size_t step,
                             int remove_mean, size_t pad, size_t offset)
{
    tu_rng rng = {h * 131 + w * 17 + ph * 7 + step};
    size_t pitch = w + pad;
    double *img = malloc(h * pitch * sizeof *img);
    tu_fill_uniform(&rng, img, h * pitch, 0.0, 255.0);
    gmmp_extractor *ex;
    gmmp_reconstructor *rc;
    ck_assert_ok(gmmp_extractor_create_grid(&ex, ph, pw, 1, step, offset % step,
                                            (offset + 1) % step));
    ck_assert_ok(gmmp_reconstructor_create(&rc, ex, h, w));
    size_t n, d = ph * pw;
    ck_assert_ok(gmmp_extractor_count(ex, h, w, &n));
    ck_assert_uint_eq(gmmp_reconstructor_count(rc), n);
    double *p = malloc(n * d * sizeof *p);
    double *means = remove_mean ? malloc(n * sizeof *means) : NULL;
    ck_assert_ok(gmmp_extractor_extract(ex, img, h, w, pitch, 0, n, p, means));
    if (remove_mean)
        for (size_t i = 0; i < n; i++) {
            double s = 0.0;
            for (size_t j = 0; j < d; j++)
                s += p[i * d + j];
            ck_assert_double_le(fabs(s), 1e-9 * (double)d);
        }
    size_t half = n / 2;
    ck_assert_ok(gmmp_reconstructor_add(rc, 0, half, p, means, NULL));
    ck_assert_ok(gmmp_reconstructor_add(rc, half, n - half, p + half * d,
                                        means ? means + half : NULL, NULL));
    double *out = malloc(h * pitch * sizeof *out);
    for (size_t i = 0; i < h * pitch; i++)
        out[i] = -1.0;
    ck_assert_ok(gmmp_reconstructor_finish(rc, out, pitch));
    double max_rel = 0.0;
    for (size_t r = 0; r < h; r++) {
        for (size_t c = 0; c < w; c++)
            max_rel = fmax(max_rel, fabs(out[r * pitch + c] - img[r * pitch + c]) /
                                        fmax(fabs(img[r * pitch + c]), 1.0));
        for (size_t c = w; c < pitch; c++)
            ck_assert_double_eq(out[r * pitch + c], -1.0); /* padding untouched */
    }
    ck_assert_msg(max_rel <= 1e-12, "round trip %zux%zu patch %zux%zu step %zu mean %d: %g",
                  h, w, ph, pw, step, remove_mean, max_rel);
    free(out);
    free(means);
    free(p);
    free(img);
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
}

START_TEST(round_trip_is_exact)
{
    const size_t cases[][6] = {
        /* h, w, ph, pw, step, pad */
        {28, 28, 16, 16, 1, 0}, {28, 28, 8, 8, 3, 0},  {10, 28, 4, 7, 2, 5},
        {31, 9, 5, 5, 4, 3},    {64, 48, 8, 8, 8, 16}, {7, 7, 7, 7, 1, 0},
        {20, 30, 1, 1, 1, 1},   {13, 40, 6, 3, 3, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int mean = 0; mean < 2; mean++)
            for (size_t offset = 0; offset < 3; offset++)
                check_round_trip(cases[i][0], cases[i][1], cases[i][2], cases[i][3],
                                 cases[i][4], mean, cases[i][5], offset);
}
END_TEST

START_TEST(weights_give_weighted_mean_and_reset_reuses)
{
    /* 1x3 image, 1x2 patches: pixel 1 is covered by both patches. */
    gmmp_extractor *ex;
    gmmp_reconstructor *rc;
    ck_assert_ok(gmmp_extractor_create(&ex, 1, 2, 1, 1));
    ck_assert_ok(gmmp_reconstructor_create(&rc, ex, 1, 3));
    const double patches[] = {10.0, 20.0, 40.0, 50.0};
    const double weights[] = {1.0, 3.0};
    double out[3];
    ck_assert_ok(gmmp_reconstructor_add(rc, 0, 2, patches, NULL, weights));
    ck_assert_ok(gmmp_reconstructor_finish(rc, out, 3));
    ck_assert_double_eq_tol(out[0], 10.0, 1e-15);
    ck_assert_double_eq_tol(out[1], (20.0 * 1 + 40.0 * 3) / 4.0, 1e-15);
    ck_assert_double_eq_tol(out[2], 50.0, 1e-15);

    gmmp_reconstructor_reset(rc);
    ck_assert_fails(gmmp_reconstructor_finish(rc, out, 3), GMMP_EDIM);
    const double means[] = {1.0, 2.0};
    ck_assert_ok(gmmp_reconstructor_add(rc, 0, 2, patches, means, NULL));
    ck_assert_ok(gmmp_reconstructor_finish(rc, out, 3));
    ck_assert_double_eq_tol(out[1], (21.0 + 42.0) / 2.0, 1e-15);
    gmmp_reconstructor_reset(NULL);
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
}
END_TEST

START_TEST(bad_arguments_are_refused)
{
    gmmp_extractor *ex = NULL;
    ck_assert_fails(gmmp_extractor_create(NULL, 4, 4, 1, 1), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_create(&ex, 0, 4, 1, 1), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_create(&ex, 4, 0, 1, 1), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_create(&ex, 4, 4, 1, 0), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_create(&ex, SIZE_MAX / 2, 3, 1, 1), GMMP_EOVERFLOW);
    ck_assert_fails(gmmp_extractor_create(&ex, SIZE_MAX / 16, 4, 1, 1), GMMP_EOVERFLOW);
    ck_assert_fails(gmmp_extractor_create_grid(&ex, 4, 4, 1, 3, 3, 0), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_create_grid(&ex, 4, 4, 1, 3, 0, 5), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_create_grid(NULL, 4, 4, 1, 3, 1, 1), GMMP_EINVAL);
    ck_assert_ptr_null(ex);

    ck_assert_ok(gmmp_extractor_create(&ex, 16, 16, 1, 1));
    size_t n = 12345;
    ck_assert_fails(gmmp_extractor_count(ex, 10, 28, &n), GMMP_EDIM);
    ck_assert_str_eq(gmmp_last_error(), "patch 16x16 does not fit a 10x28 image");
    ck_assert_uint_eq(n, 12345);
    ck_assert_fails(gmmp_extractor_count(ex, 0, 28, &n), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_count(NULL, 28, 28, &n), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_count(ex, 28, 28, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_count(ex, SIZE_MAX / 2, SIZE_MAX / 2, &n), GMMP_EOVERFLOW);
    size_t r, c;
    ck_assert_fails(gmmp_extractor_position(ex, 28, 28, 169, &r, &c), GMMP_EDIM);
    ck_assert_fails(gmmp_extractor_position(ex, 28, 28, 0, NULL, &c), GMMP_EINVAL);

    double img[28 * 28] = {0};
    double out[16 * 16 * 2];
    ck_assert_fails(gmmp_extractor_extract(ex, NULL, 28, 28, 28, 0, 1, out, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_extract(ex, img, 28, 28, 28, 0, 1, NULL, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_extract(ex, img, 28, 28, 27, 0, 1, out, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_extractor_extract(ex, img, 28, 28, 28, 168, 2, out, NULL), GMMP_EDIM);
    ck_assert_fails(gmmp_extractor_extract(ex, img, 28, 28, 28, 170, 0, out, NULL), GMMP_EDIM);
    ck_assert_fails(gmmp_extractor_extract(ex, img, 28, 28, 28, SIZE_MAX, 2, out, NULL),
                    GMMP_EDIM);
    ck_assert_fails(gmmp_extractor_extract(ex, img, 16, SIZE_MAX / 4, SIZE_MAX / 4, 0, 1, out,
                                           NULL),
                    GMMP_EOVERFLOW);
    /* An empty range is fine. */
    ck_assert_ok(gmmp_extractor_extract(ex, img, 28, 28, 28, 169, 0, out, NULL));

    gmmp_reconstructor *rc = NULL;
    ck_assert_fails(gmmp_reconstructor_create(NULL, ex, 28, 28), GMMP_EINVAL);
    ck_assert_fails(gmmp_reconstructor_create(&rc, NULL, 28, 28), GMMP_EINVAL);
    ck_assert_fails(gmmp_reconstructor_create(&rc, ex, 15, 28), GMMP_EDIM);
    ck_assert_fails(gmmp_reconstructor_create(&rc, ex, 28, 0), GMMP_EINVAL);
    ck_assert_fails(gmmp_reconstructor_create(&rc, ex, SIZE_MAX / 4, SIZE_MAX / 4),
                    GMMP_EOVERFLOW);
    gmmp_extractor *sparse;
    ck_assert_ok(gmmp_extractor_create(&sparse, 4, 6, 1, 5));
    ck_assert_fails(gmmp_reconstructor_create(&rc, sparse, 28, 28), GMMP_EDIM);
    gmmp_extractor_destroy(sparse);
    ck_assert_ptr_null(rc);
    ck_assert_ok(gmmp_reconstructor_create(&rc, ex, 28, 28));
    double patch[16 * 16] = {0};
    const double bad_weights[][1] = {{0.0}, {-1.0}, {NAN}, {INFINITY}};
    for (size_t i = 0; i < 4; i++)
        ck_assert_fails(gmmp_reconstructor_add(rc, 0, 1, patch, NULL, bad_weights[i]),
                        GMMP_EINVAL);
    ck_assert_fails(gmmp_reconstructor_add(rc, 169, 1, patch, NULL, NULL), GMMP_EDIM);
    ck_assert_fails(gmmp_reconstructor_add(NULL, 0, 1, patch, NULL, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_reconstructor_add(rc, 0, 1, NULL, NULL, NULL), GMMP_EINVAL);
    ck_assert_fails(gmmp_reconstructor_finish(rc, img, 28), GMMP_EDIM); /* nothing added */
    ck_assert_fails(gmmp_reconstructor_finish(rc, img, 20), GMMP_EINVAL);
    ck_assert_fails(gmmp_reconstructor_finish(rc, NULL, 28), GMMP_EINVAL);
    ck_assert_fails(gmmp_reconstructor_finish(NULL, img, 28), GMMP_EINVAL);
    ck_assert_uint_eq(gmmp_reconstructor_count(NULL), 0);
    ck_assert_uint_eq(gmmp_extractor_dim(NULL), 0);

    /* The handles still work after all those failures. */
    for (size_t i = 0; i < 169; i++)
        ck_assert_ok(gmmp_reconstructor_add(rc, i, 1, patch, NULL, NULL));
    ck_assert_ok(gmmp_reconstructor_finish(rc, img, 28));
    gmmp_reconstructor_destroy(rc);
    gmmp_extractor_destroy(ex);
    gmmp_extractor_destroy(NULL);
    gmmp_reconstructor_destroy(NULL);
}
END_TEST

Suite *patches_suite(void)
{
    Suite *s = suite_create("patches");
    TCase *tc = tu_tcase("core");
    tcase_add_test(tc, count_and_order_match_reference);
    tcase_add_test(tc, mnist_geometry_counts);
    tcase_add_test(tc, round_trip_is_exact);
    tcase_add_test(tc, weights_give_weighted_mean_and_reset_reuses);
    tcase_add_test(tc, bad_arguments_are_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return tu_run(patches_suite());
}
