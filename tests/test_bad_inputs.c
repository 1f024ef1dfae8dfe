/*
 * The bad-input matrix: every public function, fed each of its bad
 * inputs, returns the documented code, leaves a message, and leaves every
 * handle working. One table row per case.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gmmprior.h"
#include "testutil.h"

enum { K = 2, D = 4, N = 40, P = 3 };

/* Valid handles and arrays that the cases break one thing at a time. */
typedef struct fx {
    gmmp_extractor *ex, *sparse, *rgb;
    gmmp_reconstructor *rc;
    gmmp_model *model, *other, *three_d, *pmodel;
    gmmp_options *opts;
    gmmp_stats *stats, *bound_other, *empty;
    gmmp_trainer *trainer;
    gmmp_plan *plan, *wplan, *pplan;
    unsigned char mask[N * D];
    double w[K], mu[K * D], cov[K * D * D];
    double X[N * D], Xbad[N * D], img[10 * 10], out[10 * 10 * 64];
    double W[P * D], noise_full[P * P], diag[P], b[P], buf[4096];
    unsigned char bytes[4096];
    size_t nbytes;
} fx;

static fx f;

static void setup(void)
{
    tu_rng r = {3};
    memset(&f, 0, sizeof f);
    f.w[0] = 0.4, f.w[1] = 0.6;
    tu_fill_uniform(&r, f.mu, K * D, -2, 2);
    for (int k = 0; k < K; k++)
        tu_random_spd(&r, f.cov + k * D * D, D, 0.5, 2.0);
    tu_fill_uniform(&r, f.X, N * D, -3, 3);
    memcpy(f.Xbad, f.X, sizeof f.X);
    f.Xbad[7] = NAN;
    tu_fill_uniform(&r, f.img, 100, 0, 255);
    tu_fill_uniform(&r, f.W, P * D, -1, 1);
    tu_random_spd(&r, f.noise_full, P, 0.5, 1.0);
    for (int i = 0; i < P; i++)
        f.diag[i] = 1.0 + i, f.b[i] = 0.5 * i;
    ck_assert_ok(gmmp_extractor_create(&f.ex, 4, 4, 1, 1));
    ck_assert_ok(gmmp_extractor_create(&f.sparse, 2, 2, 1, 3));
    ck_assert_ok(gmmp_extractor_create(&f.rgb, 2, 2, 3, 1));
    ck_assert_ok(gmmp_reconstructor_create(&f.rc, f.ex, 10, 10));
    ck_assert_ok(gmmp_model_create(&f.model, K, D, f.w, f.mu, f.cov));
    double mu2[K * D];
    memcpy(mu2, f.mu, sizeof mu2);
    mu2[0] += 1.0;
    ck_assert_ok(gmmp_model_create(&f.other, K, D, f.w, mu2, f.cov));
    double w3[3] = {0.2, 0.3, 0.5}, mu3[3 * 3] = {0}, cov3[3 * 9] = {0};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 3; i++)
            cov3[k * 9 + i * 4] = 1.0;
    ck_assert_ok(gmmp_model_create(&f.three_d, 3, 3, w3, mu3, cov3));
    /* The same model as a prior for 2 x 2 grey patches, means removed. */
    ck_assert_ok(gmmp_model_create(&f.pmodel, K, D, f.w, f.mu, f.cov));
    ck_assert_ok(gmmp_model_set_patch(f.pmodel, 2, 2, 1, 1));
    ck_assert_ok(gmmp_options_create(&f.opts));
    ck_assert_ok(gmmp_options_set_int(f.opts, GMMP_OPT_MAX_ITER, 3));
    ck_assert_ok(gmmp_stats_create(&f.stats, K, D, f.opts));
    ck_assert_ok(gmmp_stats_create(&f.bound_other, K, D, NULL));
    ck_assert_ok(gmmp_stats_accumulate(f.bound_other, f.other, f.X, 0));
    ck_assert_ok(gmmp_stats_create(&f.empty, K, D, NULL));
    ck_assert_ok(gmmp_trainer_create(&f.trainer, K, f.opts));
    double var = 0.5;
    ck_assert_ok(gmmp_plan_create(&f.plan, f.model, D, NULL, GMMP_NOISE_SCALAR, &var, NULL, NULL));
    ck_assert_ok(gmmp_plan_create(&f.wplan, f.model, P, f.W, GMMP_NOISE_DIAGONAL, f.diag, NULL,
                                  NULL));
    ck_assert_ok(gmmp_plan_create_denoise(&f.pplan, f.pmodel, 0.7, NULL));
    for (size_t i = 0; i < N * D; i++)
        f.mask[i] = (unsigned char)(i % 3 != 0);
    f.nbytes = gmmp_model_serialized_size(f.model);
    ck_assert_uint_le(f.nbytes, sizeof f.bytes);
    ck_assert_ok(gmmp_model_serialize(f.model, f.bytes, f.nbytes));
}

static void teardown(void)
{
    gmmp_extractor_destroy(f.ex);
    gmmp_extractor_destroy(f.sparse);
    gmmp_extractor_destroy(f.rgb);
    gmmp_model_destroy(f.pmodel);
    gmmp_options_destroy(f.opts);
    gmmp_plan_destroy(f.pplan);
    gmmp_reconstructor_destroy(f.rc);
    gmmp_model_destroy(f.model);
    gmmp_model_destroy(f.other);
    gmmp_model_destroy(f.three_d);
    gmmp_stats_destroy(f.stats);
    gmmp_stats_destroy(f.bound_other);
    gmmp_stats_destroy(f.empty);
    gmmp_trainer_destroy(f.trainer);
    gmmp_plan_destroy(f.plan);
    gmmp_plan_destroy(f.wplan);
}

/* After any failure, every handle still does its job. */
static void check_handles_work(const char *after)
{
    size_t n;
    double patches[49 * 16], est[49 * 16];
    int ok = gmmp_extractor_count(f.ex, 10, 10, &n) == 0 && n == 49 &&
             gmmp_extractor_extract(f.ex, f.img, 10, 10, 10, 0, n, patches, NULL) == 0;
    gmmp_reconstructor_reset(f.rc);
    ok = ok && gmmp_reconstructor_add(f.rc, 0, n, patches, NULL, NULL) == 0 &&
         gmmp_reconstructor_finish(f.rc, est, 10) == 0 && fabs(est[55] - f.img[55]) < 1e-9;
    double score;
    ok = ok && gmmp_model_score(f.model, f.X, N, &score) == 0 && isfinite(score);
    gmmp_stats_reset(f.stats);
    ok = ok && gmmp_stats_accumulate(f.stats, f.model, f.X, N) == 0 &&
         gmmp_stats_count(f.stats) == N;
    gmmp_model *m = NULL;
    ok = ok && gmmp_trainer_fit(f.trainer, f.X, N, D, &m, NULL) == 0;
    gmmp_model_destroy(m);
    ok = ok && gmmp_plan_execute(f.plan, f.X, N, NULL, NULL, NULL, est) == 0 && isfinite(est[3]);
    /* Failed setters change nothing. */
    int64_t iv = 0;
    ok = ok && gmmp_options_get_int(f.opts, GMMP_OPT_MAX_ITER, &iv) == 0 && iv == 3;
    size_t ph = 0, pw = 0, ch = 0;
    int rm = -1;
    ok = ok && gmmp_model_patch(f.pmodel, &ph, &pw, &ch, &rm) == 0 && ph == 2 && pw == 2 &&
         ch == 1 && rm == 1;
    ok = ok && gmmp_denoise_image(f.pmodel, 0.7, f.img, 10, 10, 10, est, 10, NULL) == 0 &&
         isfinite(est[99]);
    ck_assert_msg(ok, "handles broken after: %s (%s)", after, gmmp_last_error());
}

#define X f.X
typedef int (*case_fn)(void);
typedef struct bad_case {
    const char *name;
    case_fn call;
    int expect;
} bad_case;

/* Each case is one call; the table below lists its expected code. */
#define CASE(id, expr)                                                                     \
    static int id(void)                                                                    \
    {                                                                                      \
        gmmp_extractor *ex = NULL;                                                         \
        gmmp_reconstructor *rc = NULL;                                                     \
        gmmp_model *m = NULL;                                                              \
        gmmp_stats *st = NULL;                                                             \
        gmmp_trainer *tr = NULL;                                                           \
        gmmp_plan *pl = NULL;                                                              \
        size_t n = 0, r0 = 0, c0 = 0;                                                      \
        int64_t iv = 0;                                                                    \
        double rv = 0.0, vneg = -1.0, vzero = 0.0, vnan = NAN, vinf = INFINITY, vone = 1.0; \
        double wbad[K], mubad[K * D], covbad[K * D * D], wts[49];                          \
        gmmp_options *po = NULL;                                                           \
        memcpy(wbad, f.w, sizeof wbad);                                                    \
        memcpy(mubad, f.mu, sizeof mubad);                                                 \
        memcpy(covbad, f.cov, sizeof covbad);                                              \
        for (int i = 0; i < 49; i++)                                                       \
            wts[i] = 1.0;                                                                  \
        int rc_ = (expr);                                                                  \
        (void)ex, (void)rc, (void)n, (void)r0, (void)c0, (void)iv, (void)rv, (void)vneg;   \
        (void)vzero, (void)vnan, (void)vinf, (void)vone, (void)wts, (void)po;              \
        /* A failed call must not hand out a handle. */                                   \
        ck_assert_msg(!ex && !rc && !m && !st && !tr && !pl && !po, "%s returned a handle", \
                      #id);                                                                \
        return rc_;                                                                        \
    }

/* ---- common ---- */
static void *never(size_t s, void *p) { (void)s, (void)p; return NULL; }
CASE(allocator_missing_release, gmmp_set_allocator(&(gmmp_allocator){never, NULL, NULL}))
/* ---- extractor ---- */
CASE(ex_create_null_out, gmmp_extractor_create(NULL, 4, 4, 1, 1))
CASE(ex_create_zero_height, gmmp_extractor_create(&ex, 0, 4, 1, 1))
CASE(ex_create_zero_width, gmmp_extractor_create(&ex, 4, 0, 1, 1))
CASE(ex_create_zero_step, gmmp_extractor_create(&ex, 4, 4, 1, 0))
CASE(ex_create_overflow, gmmp_extractor_create(&ex, SIZE_MAX / 2, 4, 1, 1))
CASE(ex_grid_null_out, gmmp_extractor_create_grid(NULL, 4, 4, 1, 2, 1, 1))
CASE(ex_grid_row_offset, gmmp_extractor_create_grid(&ex, 4, 4, 1, 2, 2, 0))
CASE(ex_grid_col_offset, gmmp_extractor_create_grid(&ex, 4, 4, 1, 3, 0, 7))
CASE(ex_grid_zero_step, gmmp_extractor_create_grid(&ex, 4, 4, 1, 0, 0, 0))
CASE(ex_count_null_ex, gmmp_extractor_count(NULL, 10, 10, &n))
CASE(ex_count_null_out, gmmp_extractor_count(f.ex, 10, 10, NULL))
CASE(ex_count_zero_h, gmmp_extractor_count(f.ex, 0, 10, &n))
CASE(ex_count_zero_w, gmmp_extractor_count(f.ex, 10, 0, &n))
CASE(ex_count_too_small, gmmp_extractor_count(f.ex, 3, 10, &n))
CASE(ex_count_overflow, gmmp_extractor_count(f.ex, SIZE_MAX / 2, SIZE_MAX / 2, &n))
CASE(ex_position_null, gmmp_extractor_position(f.ex, 10, 10, 0, NULL, &c0))
CASE(ex_position_past_end, gmmp_extractor_position(f.ex, 10, 10, 49, &r0, &c0))
CASE(ex_position_too_small, gmmp_extractor_position(f.ex, 2, 2, 0, &r0, &c0))
CASE(ex_extract_null_ex, gmmp_extractor_extract(NULL, f.img, 10, 10, 10, 0, 1, f.out, NULL))
CASE(ex_extract_null_image, gmmp_extractor_extract(f.ex, NULL, 10, 10, 10, 0, 1, f.out, NULL))
CASE(ex_extract_null_out, gmmp_extractor_extract(f.ex, f.img, 10, 10, 10, 0, 1, NULL, NULL))
CASE(ex_extract_small_pitch, gmmp_extractor_extract(f.ex, f.img, 10, 10, 9, 0, 1, f.out, NULL))
CASE(ex_extract_zero_h, gmmp_extractor_extract(f.ex, f.img, 0, 10, 10, 0, 1, f.out, NULL))
CASE(ex_extract_range, gmmp_extractor_extract(f.ex, f.img, 10, 10, 10, 40, 10, f.out, NULL))
CASE(ex_extract_first_past, gmmp_extractor_extract(f.ex, f.img, 10, 10, 10, 50, 0, f.out, NULL))
CASE(ex_extract_range_wrap,
     gmmp_extractor_extract(f.ex, f.img, 10, 10, 10, 1, SIZE_MAX, f.out, NULL))
CASE(ex_extract_overflow,
     gmmp_extractor_extract(f.ex, f.img, 8, SIZE_MAX / 4, SIZE_MAX / 4, 0, 1, f.out, NULL))
CASE(ex_extract_too_small, gmmp_extractor_extract(f.ex, f.img, 3, 3, 10, 0, 1, f.out, NULL))
/* ---- reconstructor ---- */
CASE(rc_create_null_out, gmmp_reconstructor_create(NULL, f.ex, 10, 10))
CASE(rc_create_null_ex, gmmp_reconstructor_create(&rc, NULL, 10, 10))
CASE(rc_create_zero, gmmp_reconstructor_create(&rc, f.ex, 0, 10))
CASE(rc_create_too_small, gmmp_reconstructor_create(&rc, f.ex, 10, 3))
CASE(rc_create_overflow, gmmp_reconstructor_create(&rc, f.ex, SIZE_MAX / 2, SIZE_MAX / 2))
CASE(rc_create_sparse_step, gmmp_reconstructor_create(&rc, f.sparse, 10, 10))
CASE(rc_add_null_rc, gmmp_reconstructor_add(NULL, 0, 1, f.out, NULL, NULL))
CASE(rc_add_null_patches, gmmp_reconstructor_add(f.rc, 0, 1, NULL, NULL, NULL))
CASE(rc_add_range, gmmp_reconstructor_add(f.rc, 48, 2, f.out, NULL, NULL))
CASE(rc_add_zero_weight, (wts[3] = 0.0, gmmp_reconstructor_add(f.rc, 0, 5, f.out, NULL, wts)))
CASE(rc_add_negative_weight,
     (wts[0] = -2.0, gmmp_reconstructor_add(f.rc, 0, 5, f.out, NULL, wts)))
CASE(rc_add_nan_weight, (wts[4] = NAN, gmmp_reconstructor_add(f.rc, 0, 5, f.out, NULL, wts)))
CASE(rc_add_inf_weight,
     (wts[1] = INFINITY, gmmp_reconstructor_add(f.rc, 0, 5, f.out, NULL, wts)))
CASE(rc_finish_null_rc, gmmp_reconstructor_finish(NULL, f.out, 10))
CASE(rc_finish_null_image, gmmp_reconstructor_finish(f.rc, NULL, 10))
CASE(rc_finish_small_pitch, gmmp_reconstructor_finish(f.rc, f.out, 5))
CASE(rc_finish_uncovered, (gmmp_reconstructor_reset(f.rc), gmmp_reconstructor_finish(f.rc, f.out, 10)))
/* ---- model ---- */
CASE(m_create_null_out, gmmp_model_create(NULL, K, D, f.w, f.mu, f.cov))
/* d beyond LAPACK's 32-bit workspace (dsyevd needs 1 + 6d + 2d^2), refused
 * from the sizes alone: the small arrays are never read. */
CASE(m_create_d_beyond_lapack, gmmp_model_create((gmmp_model *[1]){NULL}, 1, 40000, f.w, f.mu, f.cov))
CASE(m_create_null_w, gmmp_model_create(&m, K, D, NULL, f.mu, f.cov))
CASE(m_create_null_mu, gmmp_model_create(&m, K, D, f.w, NULL, f.cov))
CASE(m_create_null_cov, gmmp_model_create(&m, K, D, f.w, f.mu, NULL))
CASE(m_create_zero_k, gmmp_model_create(&m, 0, D, f.w, f.mu, f.cov))
CASE(m_create_zero_d, gmmp_model_create(&m, K, 0, f.w, f.mu, f.cov))
CASE(m_create_overflow, gmmp_model_create(&m, SIZE_MAX / 8, SIZE_MAX / 8, f.w, f.mu, f.cov))
CASE(m_create_nan_weight, (wbad[1] = NAN, gmmp_model_create(&m, K, D, wbad, f.mu, f.cov)))
CASE(m_create_inf_mean, (mubad[5] = -INFINITY, gmmp_model_create(&m, K, D, f.w, mubad, f.cov)))
CASE(m_create_nan_cov, (covbad[20] = NAN, gmmp_model_create(&m, K, D, f.w, f.mu, covbad)))
CASE(m_create_negative_weight,
     (wbad[0] = -0.1, wbad[1] = 1.1, gmmp_model_create(&m, K, D, wbad, f.mu, f.cov)))
CASE(m_create_weights_sum, (wbad[0] = 0.3, gmmp_model_create(&m, K, D, wbad, f.mu, f.cov)))
CASE(m_create_asymmetric, (covbad[1] += 0.5, gmmp_model_create(&m, K, D, f.w, f.mu, covbad)))
CASE(m_create_indefinite,
     (covbad[D * D + 5] = -3.0, gmmp_model_create(&m, K, D, f.w, f.mu, covbad)))
CASE(m_create_singular, (memset(covbad + D * D, 0, D * D * sizeof(double)),
                         gmmp_model_create(&m, K, D, f.w, f.mu, covbad)))
CASE(m_get_null, gmmp_model_get(NULL, f.buf, NULL, NULL))
CASE(m_cholesky_null_out, gmmp_model_cholesky(f.model, NULL))
CASE(m_cholesky_null_model, gmmp_model_cholesky(NULL, f.buf))
CASE(m_score_samples_null_model, gmmp_model_score_samples(NULL, X, N, f.buf, NULL))
CASE(m_score_samples_null_x, gmmp_model_score_samples(f.model, NULL, N, f.buf, NULL))
CASE(m_score_samples_nan, gmmp_model_score_samples(f.model, f.Xbad, N, f.buf, NULL))
CASE(m_score_samples_overflow, gmmp_model_score_samples(f.model, X, SIZE_MAX / 2, f.buf, NULL))
CASE(m_score_no_samples, gmmp_model_score(f.model, X, 0, &rv))
CASE(m_score_null_out, gmmp_model_score(f.model, X, N, NULL))
CASE(m_score_nan, gmmp_model_score(f.model, f.Xbad, N, &rv))
CASE(m_bic_null_out, gmmp_model_bic(f.model, X, N, NULL))
CASE(m_bic_nan, gmmp_model_bic(f.model, f.Xbad, N, &rv))
CASE(m_aic_null_model, gmmp_model_aic(NULL, X, N, &rv))
CASE(m_sample_null_model, gmmp_model_sample(NULL, 3, 1, f.buf, NULL))
CASE(m_sample_null_out, gmmp_model_sample(f.model, 3, 1, NULL, NULL))
CASE(m_sample_overflow, gmmp_model_sample(f.model, SIZE_MAX / 2, 1, f.buf, NULL))
CASE(m_serialize_small, gmmp_model_serialize(f.model, f.bytes, f.nbytes - 1))
CASE(m_serialize_null, gmmp_model_serialize(NULL, f.bytes, f.nbytes))
CASE(m_deserialize_truncated, gmmp_model_deserialize(&m, f.bytes, f.nbytes - 1))
CASE(m_deserialize_null, gmmp_model_deserialize(&m, NULL, f.nbytes))
CASE(m_deserialize_garbage, gmmp_model_deserialize(&m, "not a model at all, not at all...", 33))
CASE(m_save_null_path, gmmp_model_save(f.model, NULL))
CASE(m_save_bad_dir, gmmp_model_save(f.model, "/nonexistent-dir/x.gmmp"))
CASE(m_load_missing, gmmp_model_load(&m, "/nonexistent-dir/x.gmmp"))
CASE(m_load_null, gmmp_model_load(NULL, "/nonexistent-dir/x.gmmp"))
/* ---- statistics ---- */
CASE(st_create_null, gmmp_stats_create(NULL, K, D, NULL))
CASE(st_create_zero, gmmp_stats_create(&st, 0, D, NULL))
CASE(st_create_overflow, gmmp_stats_create(&st, SIZE_MAX / 4, SIZE_MAX / 4, f.opts))
CASE(st_accumulate_null_stats, gmmp_stats_accumulate(NULL, f.model, X, N))
CASE(st_accumulate_null_model, gmmp_stats_accumulate(f.stats, NULL, X, N))
CASE(st_accumulate_null_x, gmmp_stats_accumulate(f.stats, f.model, NULL, N))
CASE(st_accumulate_dims, gmmp_stats_accumulate(f.stats, f.three_d, X, N))
CASE(st_accumulate_nan, gmmp_stats_accumulate(f.stats, f.model, f.Xbad, N))
CASE(st_accumulate_other_model,
     (gmmp_stats_accumulate(f.stats, f.model, X, 1), gmmp_stats_accumulate(f.stats, f.other, X, 1)))
CASE(st_merge_null, gmmp_stats_merge(f.stats, NULL))
CASE(st_merge_bound_elsewhere,
     (gmmp_stats_accumulate(f.stats, f.model, X, 1), gmmp_stats_merge(f.stats, f.bound_other)))
CASE(st_m_step_null_out, gmmp_stats_m_step(f.bound_other, 1e-6, NULL, NULL))
CASE(st_m_step_empty, gmmp_stats_m_step(f.empty, 1e-6, &m, NULL))
CASE(st_m_step_no_samples, gmmp_stats_m_step(f.bound_other, 1e-6, &m, NULL))
CASE(st_m_step_negative_reg,
     (gmmp_stats_accumulate(f.stats, f.model, X, N), gmmp_stats_m_step(f.stats, -1.0, &m, NULL)))
CASE(st_m_step_nan_reg,
     (gmmp_stats_accumulate(f.stats, f.model, X, N), gmmp_stats_m_step(f.stats, NAN, &m, NULL)))
CASE(st_pack_null, gmmp_stats_pack(f.stats, NULL))
CASE(st_unpack_null, gmmp_stats_unpack(NULL, f.buf))
CASE(st_unpack_unbound, gmmp_stats_unpack(f.empty, f.buf))
CASE(st_unpack_nan,
     (memset(f.buf, 0, sizeof f.buf), f.buf[2] = NAN, gmmp_stats_unpack(f.bound_other, f.buf)))
/* ---- trainer ---- */
CASE(tr_create_null, gmmp_trainer_create(NULL, K, NULL))
CASE(tr_create_zero, gmmp_trainer_create(&tr, 0, f.opts))
CASE(tr_init_model_null, gmmp_trainer_set_init_model(f.trainer, NULL))
CASE(tr_init_model_k, gmmp_trainer_set_init_model(f.trainer, f.three_d))
CASE(tr_progress_null, gmmp_options_set_progress(NULL, NULL, NULL))
CASE(tr_fit_null_trainer, gmmp_trainer_fit(NULL, X, N, D, &m, NULL))
CASE(tr_fit_null_out, gmmp_trainer_fit(f.trainer, X, N, D, NULL, NULL))
CASE(tr_fit_null_x, gmmp_trainer_fit(f.trainer, NULL, N, D, &m, NULL))
CASE(tr_fit_zero_d, gmmp_trainer_fit(f.trainer, X, N, 0, &m, NULL))
CASE(tr_fit_k_above_n, gmmp_trainer_fit(f.trainer, X, 1, D, &m, NULL))
CASE(tr_fit_nan, gmmp_trainer_fit(f.trainer, f.Xbad, N, D, &m, NULL))
CASE(tr_fit_overflow, gmmp_trainer_fit(f.trainer, X, SIZE_MAX / 2, D, &m, NULL))
/* GMMP_INIT_MODEL by option, but no model given (was refused by the setter). */
static int fit_init_model_unset(void)
{
    gmmp_options *o = NULL;
    gmmp_trainer *t = NULL;
    gmmp_model *m = NULL;
    ck_assert_ok(gmmp_options_create(&o));
    ck_assert_ok(gmmp_options_set_int(o, GMMP_OPT_INIT, GMMP_INIT_MODEL));
    ck_assert_ok(gmmp_trainer_create(&t, K, o));
    gmmp_options_destroy(o);
    int rc = gmmp_trainer_fit(t, X, N, D, &m, NULL);
    ck_assert_ptr_null(m);
    gmmp_trainer_destroy(t);
    return rc;
}
CASE(tr_fit_init_model_unset, fit_init_model_unset())
/* ---- options (the trainer's and plans' old range checks, and the rest) ---- */
CASE(opt_create_null, gmmp_options_create(NULL))
CASE(opt_set_null, gmmp_options_set_int(NULL, GMMP_OPT_SEED, 1))
CASE(opt_set_real_null, gmmp_options_set_real(NULL, GMMP_OPT_TOL, 1.0))
CASE(opt_set_unknown, gmmp_options_set_int(f.opts, (gmmp_option)12345, 1))
CASE(opt_set_real_unknown, gmmp_options_set_real(f.opts, (gmmp_option)0, 1.0))
CASE(opt_set_int_as_real, gmmp_options_set_real(f.opts, GMMP_OPT_MAX_ITER, 5.0))
CASE(opt_set_real_as_int, gmmp_options_set_int(f.opts, GMMP_OPT_TOL, 1))
CASE(opt_set_threads_zero, gmmp_options_set_int(f.opts, GMMP_OPT_THREADS, 0))
CASE(opt_set_threads_huge, gmmp_options_set_int(f.opts, GMMP_OPT_THREADS, 100000))
CASE(opt_set_blas_serial_two, gmmp_options_set_int(f.opts, GMMP_OPT_BLAS_SERIAL, 2))
CASE(opt_set_skip_big, gmmp_options_set_real(f.opts, GMMP_OPT_SKIP, 0.5))
CASE(opt_set_skip_range, gmmp_options_set_real(f.opts, GMMP_OPT_SKIP, 0.01))
CASE(opt_set_skip_negative, gmmp_options_set_real(f.opts, GMMP_OPT_SKIP, -1e-12))
CASE(opt_set_skip_nan, gmmp_options_set_real(f.opts, GMMP_OPT_SKIP, NAN))
CASE(opt_set_max_iter_zero, gmmp_options_set_int(f.opts, GMMP_OPT_MAX_ITER, 0))
CASE(opt_set_n_init_zero, gmmp_options_set_int(f.opts, GMMP_OPT_N_INIT, 0))
CASE(opt_set_init_unknown, gmmp_options_set_int(f.opts, GMMP_OPT_INIT, 9))
CASE(opt_set_kmeans_zero, gmmp_options_set_int(f.opts, GMMP_OPT_KMEANS_MAX_ITER, 0))
CASE(opt_set_tol_negative, gmmp_options_set_real(f.opts, GMMP_OPT_TOL, -1.0))
CASE(opt_set_tol_nan, gmmp_options_set_real(f.opts, GMMP_OPT_TOL, NAN))
CASE(opt_set_reg_inf, gmmp_options_set_real(f.opts, GMMP_OPT_REG_COVAR, INFINITY))
CASE(opt_set_bad_method, gmmp_options_set_int(f.opts, GMMP_OPT_PLAN_METHOD, 5))
CASE(opt_set_step_zero, gmmp_options_set_int(f.opts, GMMP_OPT_STEP, 0))
CASE(opt_set_step_huge, gmmp_options_set_int(f.opts, GMMP_OPT_STEP, 4097))
CASE(opt_set_bad_estimator, gmmp_options_set_int(f.opts, GMMP_OPT_ESTIMATOR, 2))
CASE(opt_set_batch_zero, gmmp_options_set_int(f.opts, GMMP_OPT_BATCH, 0))
CASE(opt_set_batch_huge, gmmp_options_set_int(f.opts, GMMP_OPT_BATCH, 1048577))
CASE(opt_get_null_out, gmmp_options_get_int(f.opts, GMMP_OPT_SEED, NULL))
CASE(opt_get_real_null_out, gmmp_options_get_real(f.opts, GMMP_OPT_TOL, NULL))
CASE(opt_get_wrong_kind, gmmp_options_get_real(f.opts, GMMP_OPT_SEED, &rv))
CASE(opt_get_int_wrong_kind, gmmp_options_get_int(f.opts, GMMP_OPT_TOL, &iv))
CASE(opt_get_unknown, gmmp_options_get_int(NULL, (gmmp_option)999, &iv))
CASE(opt_bounds_unknown, gmmp_option_bounds((gmmp_option)999, &rv, &rv, NULL))
/* ---- patch description ---- */
CASE(m_set_patch_null, gmmp_model_set_patch(NULL, 2, 2, 1, 0))
CASE(m_set_patch_zero_h, gmmp_model_set_patch(f.pmodel, 0, 2, 1, 0))
CASE(m_set_patch_zero_channels, gmmp_model_set_patch(f.pmodel, 2, 2, 0, 0))
CASE(m_set_patch_product, gmmp_model_set_patch(f.pmodel, 2, 3, 1, 0))
CASE(m_set_patch_remove_mean_2, gmmp_model_set_patch(f.pmodel, 2, 2, 1, 2))
CASE(m_set_patch_remove_mean_neg, gmmp_model_set_patch(f.pmodel, 4, 1, 1, -1))
CASE(m_patch_null, gmmp_model_patch(NULL, &n, &n, &n, NULL))
CASE(m_patch_none, gmmp_model_patch(f.model, &n, &n, &n, NULL))
CASE(m_set_description_null, gmmp_model_set_description(NULL, "x"))
static char long_text[GMMP_MODEL_DESCRIPTION_MAX + 2];
CASE(m_set_description_long, (memset(long_text, 'a', GMMP_MODEL_DESCRIPTION_MAX + 1),
                              gmmp_model_set_description(f.pmodel, long_text)))
/* ---- extractor, new entry points ---- */
CASE(ex_create_zero_channels, gmmp_extractor_create(&ex, 4, 4, 0, 1))
CASE(ex_create_overflow_channels, gmmp_extractor_create(&ex, 4, 4, SIZE_MAX / 8, 1))
CASE(ex_grid_zero_channels, gmmp_extractor_create_grid(&ex, 4, 4, 0, 2, 1, 1))
CASE(ex_for_model_null_out, gmmp_extractor_create_for_model(NULL, f.pmodel, 1))
CASE(ex_for_model_null_model, gmmp_extractor_create_for_model(&ex, NULL, 1))
CASE(ex_for_model_zero_step, gmmp_extractor_create_for_model(&ex, f.pmodel, 0))
CASE(ex_for_model_no_patch, gmmp_extractor_create_for_model(&ex, f.model, 1))
CASE(ex_extract_rgb_small_pitch, gmmp_extractor_extract(f.rgb, f.img, 5, 5, 14, 0, 1, f.out, NULL))
CASE(ex_sample_null_ex, gmmp_extractor_sample(NULL, f.img, 10, 10, 10, 3, 1, f.out, NULL, &n))
CASE(ex_sample_null_image, gmmp_extractor_sample(f.ex, NULL, 10, 10, 10, 3, 1, f.out, NULL, &n))
CASE(ex_sample_null_out, gmmp_extractor_sample(f.ex, f.img, 10, 10, 10, 3, 1, NULL, NULL, &n))
CASE(ex_sample_null_count, gmmp_extractor_sample(f.ex, f.img, 10, 10, 10, 3, 1, f.out, NULL, NULL))
CASE(ex_sample_small_pitch, gmmp_extractor_sample(f.ex, f.img, 10, 10, 9, 3, 1, f.out, NULL, &n))
CASE(ex_sample_zero_w, gmmp_extractor_sample(f.ex, f.img, 10, 0, 10, 3, 1, f.out, NULL, &n))
CASE(ex_sample_too_small, gmmp_extractor_sample(f.ex, f.img, 3, 3, 10, 3, 1, f.out, NULL, &n))
CASE(ex_sample_overflow,
     gmmp_extractor_sample(f.ex, f.img, 8, SIZE_MAX / 4, SIZE_MAX / 4, 1, 1, f.out, NULL, &n))
/* ---- denoising plan and whole images ---- */
static double vtiny = 1e-200, vhuge = 1e200, img_nan[100], img_out[100];
CASE(pl_denoise_null_out, gmmp_plan_create_denoise(NULL, f.pmodel, 1.0, NULL))
CASE(pl_denoise_null_model, gmmp_plan_create_denoise(&pl, NULL, 1.0, NULL))
CASE(pl_denoise_zero_sigma, gmmp_plan_create_denoise(&pl, f.pmodel, 0.0, NULL))
CASE(pl_denoise_negative_sigma, gmmp_plan_create_denoise(&pl, f.pmodel, -2.0, NULL))
CASE(pl_denoise_subnormal_var, gmmp_plan_create_denoise(&pl, f.pmodel, vtiny, NULL))
CASE(pl_denoise_var_overflows, gmmp_plan_create_denoise(&pl, f.pmodel, vhuge, NULL))
CASE(im_denoise_null_model, gmmp_denoise_image(NULL, 1.0, f.img, 10, 10, 10, img_out, 10, NULL))
CASE(im_denoise_null_image, gmmp_denoise_image(f.pmodel, 1.0, NULL, 10, 10, 10, img_out, 10, NULL))
CASE(im_denoise_null_out, gmmp_denoise_image(f.pmodel, 1.0, f.img, 10, 10, 10, NULL, 10, NULL))
CASE(im_denoise_zero_sigma, gmmp_denoise_image(f.pmodel, 0.0, f.img, 10, 10, 10, img_out, 10, NULL))
CASE(im_denoise_small_pitch, gmmp_denoise_image(f.pmodel, 1.0, f.img, 10, 10, 9, img_out, 10, NULL))
CASE(im_denoise_small_out_pitch,
     gmmp_denoise_image(f.pmodel, 1.0, f.img, 10, 10, 10, img_out, 9, NULL))
CASE(im_denoise_no_patch, gmmp_denoise_image(f.model, 1.0, f.img, 10, 10, 10, img_out, 10, NULL))
CASE(im_denoise_image_too_small, gmmp_denoise_image(f.pmodel, 1.0, f.img, 1, 10, 10, img_out, 10, NULL))
CASE(im_denoise_step_too_big, (gmmp_options_set_int(f.opts, GMMP_OPT_STEP, 3),
                               gmmp_denoise_image(f.pmodel, 1.0, f.img, 10, 10, 10, img_out, 10, f.opts)))
CASE(im_denoise_nan, (memcpy(img_nan, f.img, sizeof img_nan), img_nan[42] = NAN,
                      gmmp_denoise_image(f.pmodel, 1.0, img_nan, 10, 10, 10, img_out, 10, NULL)))
CASE(im_denoise_overflow,
     gmmp_denoise_image(f.pmodel, 1.0, f.img, SIZE_MAX / 4, SIZE_MAX / 4, SIZE_MAX / 4, img_out,
                        SIZE_MAX / 4, NULL))
CASE(im_restore_null_plan, gmmp_restore_image(NULL, f.img, 10, 10, 10, img_out, 10, NULL))
CASE(im_restore_null_image, gmmp_restore_image(f.pplan, NULL, 10, 10, 10, img_out, 10, NULL))
CASE(im_restore_null_out, gmmp_restore_image(f.pplan, f.img, 10, 10, 10, NULL, 10, NULL))
CASE(im_restore_small_pitch, gmmp_restore_image(f.pplan, f.img, 10, 10, 9, img_out, 10, NULL))
CASE(im_restore_no_patch, gmmp_restore_image(f.plan, f.img, 10, 10, 10, img_out, 10, NULL))
CASE(im_restore_p_not_d, gmmp_restore_image(f.wplan, f.img, 10, 10, 10, img_out, 10, NULL))
CASE(im_restore_image_too_small, gmmp_restore_image(f.pplan, f.img, 10, 1, 10, img_out, 10, NULL))
CASE(im_restore_nan, (memcpy(img_nan, f.img, sizeof img_nan), img_nan[0] = INFINITY,
                      gmmp_restore_image(f.pplan, img_nan, 10, 10, 10, img_out, 10, NULL)))
/* A mean-removing model with a plan that is not a denoising one. */
static int restore_mean_removing_with_w(void)
{
    double Wid[D * D] = {0}, var = 0.5;
    for (int i = 0; i < D; i++)
        Wid[i * D + i] = 1.0;
    Wid[1] = 0.25; /* W != I */
    gmmp_plan *p = NULL;
    ck_assert_ok(gmmp_plan_create(&p, f.pmodel, D, Wid, GMMP_NOISE_SCALAR, &var, NULL, NULL));
    int rc = gmmp_restore_image(p, f.img, 10, 10, 10, img_out, 10, NULL);
    gmmp_plan_destroy(p);
    return rc;
}
CASE(im_restore_mean_removing_not_denoising, restore_mean_removing_with_w())
/* ---- posterior ---- */
CASE(pl_create_null_out, gmmp_plan_create(NULL, f.model, D, NULL, GMMP_NOISE_SCALAR, &vone, NULL, NULL))
CASE(pl_create_null_model, gmmp_plan_create(&pl, NULL, D, NULL, GMMP_NOISE_SCALAR, &vone, NULL, NULL))
CASE(pl_create_zero_p, gmmp_plan_create(&pl, f.model, 0, f.W, GMMP_NOISE_SCALAR, &vone, NULL, NULL))
CASE(pl_create_p_not_d, gmmp_plan_create(&pl, f.model, P, NULL, GMMP_NOISE_SCALAR, &vone, NULL, NULL))
CASE(pl_create_null_noise, gmmp_plan_create(&pl, f.model, D, NULL, GMMP_NOISE_SCALAR, NULL, NULL, NULL))
CASE(pl_create_bad_kind,
     gmmp_plan_create(&pl, f.model, D, NULL, (gmmp_noise_kind)7, &vone, NULL, NULL))
CASE(pl_create_negative_var,
     gmmp_plan_create(&pl, f.model, D, NULL, GMMP_NOISE_SCALAR, &vneg, NULL, NULL))
CASE(pl_create_zero_var,
     gmmp_plan_create(&pl, f.model, D, NULL, GMMP_NOISE_SCALAR, &vzero, NULL, NULL))
CASE(pl_create_nan_var, gmmp_plan_create(&pl, f.model, D, NULL, GMMP_NOISE_SCALAR, &vnan, NULL, NULL))
CASE(pl_create_inf_var, gmmp_plan_create(&pl, f.model, D, NULL, GMMP_NOISE_SCALAR, &vinf, NULL, NULL))
CASE(pl_create_negative_diag, (f.diag[1] = -1.0, gmmp_plan_create(&pl, f.model, P, f.W,
                               GMMP_NOISE_DIAGONAL, f.diag, NULL, NULL)))
CASE(pl_create_asymmetric, (f.noise_full[1] += 1.0, gmmp_plan_create(&pl, f.model, P, f.W,
                            GMMP_NOISE_FULL, f.noise_full, NULL, NULL)))
CASE(pl_create_indefinite, (f.noise_full[0] = -50.0, gmmp_plan_create(&pl, f.model, P, f.W,
                            GMMP_NOISE_FULL, f.noise_full, NULL, NULL)))
CASE(pl_create_nan_w, (f.W[2] = NAN, gmmp_plan_create(&pl, f.model, P, f.W, GMMP_NOISE_DIAGONAL,
                                                      f.diag, NULL, NULL)))
CASE(pl_create_nan_b, (f.b[2] = NAN, gmmp_plan_create(&pl, f.model, P, f.W, GMMP_NOISE_DIAGONAL,
                                                      f.diag, f.b, NULL)))
CASE(pl_create_overflow, gmmp_plan_create(&pl, f.model, SIZE_MAX / 2, f.W, GMMP_NOISE_SCALAR,
                                          &vone, NULL, NULL))
CASE(pl_cov_null, gmmp_plan_posterior_cov(f.plan, 0, NULL))
CASE(pl_cov_component, gmmp_plan_posterior_cov(f.plan, K, f.buf))
CASE(pl_execute_null_plan, gmmp_plan_execute(NULL, X, N, NULL, NULL, NULL, f.out))
CASE(pl_execute_null_y, gmmp_plan_execute(f.plan, NULL, N, NULL, NULL, NULL, f.out))
CASE(pl_execute_no_output, gmmp_plan_execute(f.plan, X, N, NULL, NULL, NULL, NULL))
CASE(pl_execute_nan, gmmp_plan_execute(f.plan, f.Xbad, N, NULL, NULL, NULL, f.out))
CASE(pl_execute_overflow, gmmp_plan_execute(f.plan, X, SIZE_MAX / 2, NULL, NULL, NULL, f.out))
CASE(pl_means_component, gmmp_plan_component_means(f.plan, K, X, N, f.out))
CASE(pl_means_null_out, gmmp_plan_component_means(f.plan, 0, X, N, NULL))
CASE(pl_means_nan, gmmp_plan_component_means(f.plan, 0, f.Xbad, N, f.out))
CASE(pl_masked_null_plan, gmmp_plan_execute_masked(NULL, X, f.mask, N, NULL, NULL, NULL, f.out))
CASE(pl_masked_with_w, gmmp_plan_execute_masked(f.wplan, X, f.mask, N, NULL, NULL, NULL, f.out))
CASE(pl_masked_null_mask, gmmp_plan_execute_masked(f.plan, X, NULL, N, NULL, NULL, NULL, f.out))
CASE(pl_masked_null_y, gmmp_plan_execute_masked(f.plan, NULL, f.mask, N, NULL, NULL, NULL, f.out))
CASE(pl_masked_no_output, gmmp_plan_execute_masked(f.plan, X, f.mask, N, NULL, NULL, NULL, NULL))
CASE(pl_masked_nan_observed,
     (f.mask[7] = 1, gmmp_plan_execute_masked(f.plan, f.Xbad, f.mask, N, NULL, NULL, NULL, f.out)))
CASE(pl_masked_overflow,
     gmmp_plan_execute_masked(f.plan, X, f.mask, SIZE_MAX / 4, NULL, NULL, NULL, f.out))
#undef X

#define ROW(id, code) {#id, id, code}
static const bad_case cases[] = {
    ROW(allocator_missing_release, GMMP_EINVAL),
    ROW(ex_create_null_out, GMMP_EINVAL), ROW(ex_create_zero_height, GMMP_EINVAL),
    ROW(ex_create_zero_width, GMMP_EINVAL), ROW(ex_create_zero_step, GMMP_EINVAL),
    ROW(ex_create_overflow, GMMP_EOVERFLOW), ROW(ex_grid_null_out, GMMP_EINVAL),
    ROW(ex_grid_row_offset, GMMP_EINVAL), ROW(ex_grid_col_offset, GMMP_EINVAL),
    ROW(ex_grid_zero_step, GMMP_EINVAL), ROW(ex_count_null_ex, GMMP_EINVAL),
    ROW(ex_count_null_out, GMMP_EINVAL), ROW(ex_count_zero_h, GMMP_EINVAL),
    ROW(ex_count_zero_w, GMMP_EINVAL), ROW(ex_count_too_small, GMMP_EDIM),
    ROW(ex_count_overflow, GMMP_EOVERFLOW), ROW(ex_position_null, GMMP_EINVAL),
    ROW(ex_position_past_end, GMMP_EDIM), ROW(ex_position_too_small, GMMP_EDIM),
    ROW(ex_extract_null_ex, GMMP_EINVAL), ROW(ex_extract_null_image, GMMP_EINVAL),
    ROW(ex_extract_null_out, GMMP_EINVAL), ROW(ex_extract_small_pitch, GMMP_EINVAL),
    ROW(ex_extract_zero_h, GMMP_EINVAL), ROW(ex_extract_range, GMMP_EDIM),
    ROW(ex_extract_first_past, GMMP_EDIM), ROW(ex_extract_range_wrap, GMMP_EDIM),
    ROW(ex_extract_overflow, GMMP_EOVERFLOW), ROW(ex_extract_too_small, GMMP_EDIM),
    ROW(rc_create_null_out, GMMP_EINVAL), ROW(rc_create_null_ex, GMMP_EINVAL),
    ROW(rc_create_zero, GMMP_EINVAL), ROW(rc_create_too_small, GMMP_EDIM),
    ROW(rc_create_overflow, GMMP_EOVERFLOW), ROW(rc_create_sparse_step, GMMP_EDIM),
    ROW(rc_add_null_rc, GMMP_EINVAL), ROW(rc_add_null_patches, GMMP_EINVAL),
    ROW(rc_add_range, GMMP_EDIM), ROW(rc_add_zero_weight, GMMP_EINVAL),
    ROW(rc_add_negative_weight, GMMP_EINVAL), ROW(rc_add_nan_weight, GMMP_EINVAL),
    ROW(rc_add_inf_weight, GMMP_EINVAL), ROW(rc_finish_null_rc, GMMP_EINVAL),
    ROW(rc_finish_null_image, GMMP_EINVAL), ROW(rc_finish_small_pitch, GMMP_EINVAL),
    ROW(rc_finish_uncovered, GMMP_EDIM),
    ROW(m_create_null_out, GMMP_EINVAL), ROW(m_create_d_beyond_lapack, GMMP_EOVERFLOW),
    ROW(m_create_null_w, GMMP_EINVAL),
    ROW(m_create_null_mu, GMMP_EINVAL), ROW(m_create_null_cov, GMMP_EINVAL),
    ROW(m_create_zero_k, GMMP_EINVAL), ROW(m_create_zero_d, GMMP_EINVAL),
    ROW(m_create_overflow, GMMP_EOVERFLOW), ROW(m_create_nan_weight, GMMP_ENONFINITE),
    ROW(m_create_inf_mean, GMMP_ENONFINITE), ROW(m_create_nan_cov, GMMP_ENONFINITE),
    ROW(m_create_negative_weight, GMMP_EINVAL), ROW(m_create_weights_sum, GMMP_EINVAL),
    ROW(m_create_asymmetric, GMMP_ENOTSPD), ROW(m_create_indefinite, GMMP_ENOTSPD),
    ROW(m_create_singular, GMMP_ENOTSPD), ROW(m_get_null, GMMP_EINVAL),
    ROW(m_cholesky_null_out, GMMP_EINVAL), ROW(m_cholesky_null_model, GMMP_EINVAL),
    ROW(m_score_samples_null_model, GMMP_EINVAL), ROW(m_score_samples_null_x, GMMP_EINVAL),
    ROW(m_score_samples_nan, GMMP_ENONFINITE), ROW(m_score_samples_overflow, GMMP_EOVERFLOW),
    ROW(m_score_no_samples, GMMP_EINVAL), ROW(m_score_null_out, GMMP_EINVAL),
    ROW(m_score_nan, GMMP_ENONFINITE), ROW(m_bic_null_out, GMMP_EINVAL),
    ROW(m_bic_nan, GMMP_ENONFINITE), ROW(m_aic_null_model, GMMP_EINVAL),
    ROW(m_sample_null_model, GMMP_EINVAL), ROW(m_sample_null_out, GMMP_EINVAL),
    ROW(m_sample_overflow, GMMP_EOVERFLOW), ROW(m_serialize_small, GMMP_EDIM),
    ROW(m_serialize_null, GMMP_EINVAL), ROW(m_deserialize_truncated, GMMP_EFORMAT),
    ROW(m_deserialize_null, GMMP_EINVAL), ROW(m_deserialize_garbage, GMMP_EFORMAT),
    ROW(m_save_null_path, GMMP_EINVAL), ROW(m_save_bad_dir, GMMP_EIO),
    ROW(m_load_missing, GMMP_EIO), ROW(m_load_null, GMMP_EINVAL),
    ROW(st_create_null, GMMP_EINVAL), ROW(st_create_zero, GMMP_EINVAL),
    ROW(st_create_overflow, GMMP_EOVERFLOW), ROW(st_accumulate_null_stats, GMMP_EINVAL),
    ROW(st_accumulate_null_model, GMMP_EINVAL), ROW(st_accumulate_null_x, GMMP_EINVAL),
    ROW(st_accumulate_dims, GMMP_EDIM), ROW(st_accumulate_nan, GMMP_ENONFINITE),
    ROW(st_accumulate_other_model, GMMP_EINVAL), ROW(st_merge_null, GMMP_EINVAL),
    ROW(st_merge_bound_elsewhere, GMMP_EINVAL), ROW(st_m_step_null_out, GMMP_EINVAL),
    ROW(st_m_step_empty, GMMP_EINVAL), ROW(st_m_step_no_samples, GMMP_EINVAL),
    ROW(st_m_step_negative_reg, GMMP_EINVAL), ROW(st_m_step_nan_reg, GMMP_EINVAL),
    ROW(st_pack_null, GMMP_EINVAL), ROW(st_unpack_null, GMMP_EINVAL),
    ROW(st_unpack_unbound, GMMP_EINVAL), ROW(st_unpack_nan, GMMP_ENONFINITE),
    ROW(tr_create_null, GMMP_EINVAL), ROW(tr_create_zero, GMMP_EINVAL),
    ROW(tr_init_model_null, GMMP_EINVAL), ROW(tr_init_model_k, GMMP_EDIM),
    ROW(tr_progress_null, GMMP_EINVAL), ROW(tr_fit_null_trainer, GMMP_EINVAL),
    ROW(tr_fit_null_out, GMMP_EINVAL), ROW(tr_fit_null_x, GMMP_EINVAL),
    ROW(tr_fit_zero_d, GMMP_EINVAL), ROW(tr_fit_k_above_n, GMMP_EDIM),
    ROW(tr_fit_nan, GMMP_ENONFINITE), ROW(tr_fit_overflow, GMMP_EOVERFLOW),
    ROW(tr_fit_init_model_unset, GMMP_EINVAL),
    ROW(opt_create_null, GMMP_EINVAL), ROW(opt_set_null, GMMP_EINVAL),
    ROW(opt_set_real_null, GMMP_EINVAL), ROW(opt_set_unknown, GMMP_EINVAL),
    ROW(opt_set_real_unknown, GMMP_EINVAL), ROW(opt_set_int_as_real, GMMP_EINVAL),
    ROW(opt_set_real_as_int, GMMP_EINVAL), ROW(opt_set_threads_zero, GMMP_EINVAL),
    ROW(opt_set_threads_huge, GMMP_EINVAL), ROW(opt_set_blas_serial_two, GMMP_EINVAL),
    ROW(opt_set_skip_big, GMMP_EINVAL), ROW(opt_set_skip_range, GMMP_EINVAL),
    ROW(opt_set_skip_negative, GMMP_EINVAL), ROW(opt_set_skip_nan, GMMP_EINVAL),
    ROW(opt_set_max_iter_zero, GMMP_EINVAL), ROW(opt_set_n_init_zero, GMMP_EINVAL),
    ROW(opt_set_init_unknown, GMMP_EINVAL), ROW(opt_set_kmeans_zero, GMMP_EINVAL),
    ROW(opt_set_tol_negative, GMMP_EINVAL), ROW(opt_set_tol_nan, GMMP_EINVAL),
    ROW(opt_set_reg_inf, GMMP_EINVAL), ROW(opt_set_bad_method, GMMP_EINVAL),
    ROW(opt_set_step_zero, GMMP_EINVAL), ROW(opt_set_step_huge, GMMP_EINVAL),
    ROW(opt_set_bad_estimator, GMMP_EINVAL), ROW(opt_set_batch_zero, GMMP_EINVAL),
    ROW(opt_set_batch_huge, GMMP_EINVAL), ROW(opt_get_null_out, GMMP_EINVAL),
    ROW(opt_get_real_null_out, GMMP_EINVAL), ROW(opt_get_wrong_kind, GMMP_EINVAL),
    ROW(opt_get_int_wrong_kind, GMMP_EINVAL), ROW(opt_get_unknown, GMMP_EINVAL),
    ROW(opt_bounds_unknown, GMMP_EINVAL),
    ROW(m_set_patch_null, GMMP_EINVAL), ROW(m_set_patch_zero_h, GMMP_EINVAL),
    ROW(m_set_patch_zero_channels, GMMP_EINVAL), ROW(m_set_patch_product, GMMP_EDIM),
    ROW(m_set_patch_remove_mean_2, GMMP_EINVAL), ROW(m_set_patch_remove_mean_neg, GMMP_EINVAL),
    ROW(m_patch_null, GMMP_EINVAL), ROW(m_patch_none, GMMP_EDIM),
    ROW(m_set_description_null, GMMP_EINVAL), ROW(m_set_description_long, GMMP_EINVAL),
    ROW(ex_create_zero_channels, GMMP_EINVAL), ROW(ex_create_overflow_channels, GMMP_EOVERFLOW),
    ROW(ex_grid_zero_channels, GMMP_EINVAL), ROW(ex_for_model_null_out, GMMP_EINVAL),
    ROW(ex_for_model_null_model, GMMP_EINVAL), ROW(ex_for_model_zero_step, GMMP_EINVAL),
    ROW(ex_for_model_no_patch, GMMP_EDIM), ROW(ex_extract_rgb_small_pitch, GMMP_EINVAL),
    ROW(ex_sample_null_ex, GMMP_EINVAL), ROW(ex_sample_null_image, GMMP_EINVAL),
    ROW(ex_sample_null_out, GMMP_EINVAL), ROW(ex_sample_null_count, GMMP_EINVAL),
    ROW(ex_sample_small_pitch, GMMP_EINVAL), ROW(ex_sample_zero_w, GMMP_EINVAL),
    ROW(ex_sample_too_small, GMMP_EDIM), ROW(ex_sample_overflow, GMMP_EOVERFLOW),
    ROW(pl_denoise_null_out, GMMP_EINVAL), ROW(pl_denoise_null_model, GMMP_EINVAL),
    ROW(pl_denoise_zero_sigma, GMMP_EINVAL), ROW(pl_denoise_negative_sigma, GMMP_EINVAL),
    ROW(pl_denoise_subnormal_var, GMMP_EINVAL), ROW(pl_denoise_var_overflows, GMMP_EINVAL),
    ROW(im_denoise_null_model, GMMP_EINVAL), ROW(im_denoise_null_image, GMMP_EINVAL),
    ROW(im_denoise_null_out, GMMP_EINVAL), ROW(im_denoise_zero_sigma, GMMP_EINVAL),
    ROW(im_denoise_small_pitch, GMMP_EINVAL), ROW(im_denoise_small_out_pitch, GMMP_EINVAL),
    ROW(im_denoise_no_patch, GMMP_EDIM), ROW(im_denoise_image_too_small, GMMP_EDIM),
    ROW(im_denoise_step_too_big, GMMP_EDIM), ROW(im_denoise_nan, GMMP_ENONFINITE),
    ROW(im_denoise_overflow, GMMP_EOVERFLOW), ROW(im_restore_null_plan, GMMP_EINVAL),
    ROW(im_restore_null_image, GMMP_EINVAL), ROW(im_restore_null_out, GMMP_EINVAL),
    ROW(im_restore_small_pitch, GMMP_EINVAL), ROW(im_restore_no_patch, GMMP_EDIM),
    ROW(im_restore_p_not_d, GMMP_EDIM), ROW(im_restore_image_too_small, GMMP_EDIM),
    ROW(im_restore_nan, GMMP_ENONFINITE),
    ROW(im_restore_mean_removing_not_denoising, GMMP_EINVAL),
    ROW(pl_create_null_out, GMMP_EINVAL), ROW(pl_create_null_model, GMMP_EINVAL),
    ROW(pl_create_zero_p, GMMP_EINVAL), ROW(pl_create_p_not_d, GMMP_EDIM),
    ROW(pl_create_null_noise, GMMP_EINVAL), ROW(pl_create_bad_kind, GMMP_EINVAL),
    ROW(pl_create_negative_var, GMMP_EINVAL), ROW(pl_create_zero_var, GMMP_EINVAL),
    ROW(pl_create_nan_var, GMMP_ENONFINITE), ROW(pl_create_inf_var, GMMP_ENONFINITE),
    ROW(pl_create_negative_diag, GMMP_EINVAL), ROW(pl_create_asymmetric, GMMP_ENOTSPD),
    ROW(pl_create_indefinite, GMMP_ENOTSPD), ROW(pl_create_nan_w, GMMP_ENONFINITE),
    ROW(pl_create_nan_b, GMMP_ENONFINITE), ROW(pl_create_overflow, GMMP_EOVERFLOW), ROW(pl_cov_null, GMMP_EINVAL),
    ROW(pl_cov_component, GMMP_EDIM), ROW(pl_execute_null_plan, GMMP_EINVAL),
    ROW(pl_execute_null_y, GMMP_EINVAL), ROW(pl_execute_no_output, GMMP_EINVAL),
    ROW(pl_execute_nan, GMMP_ENONFINITE), ROW(pl_execute_overflow, GMMP_EOVERFLOW),
    ROW(pl_means_component, GMMP_EDIM), ROW(pl_means_null_out, GMMP_EINVAL),
    ROW(pl_means_nan, GMMP_ENONFINITE), ROW(pl_masked_null_plan, GMMP_EINVAL),
    ROW(pl_masked_with_w, GMMP_EINVAL), ROW(pl_masked_null_mask, GMMP_EINVAL),
    ROW(pl_masked_null_y, GMMP_EINVAL), ROW(pl_masked_no_output, GMMP_EINVAL),
    ROW(pl_masked_nan_observed, GMMP_ENONFINITE), ROW(pl_masked_overflow, GMMP_EOVERFLOW),
};
#define N_CASES (sizeof cases / sizeof cases[0])

START_TEST(bad_input)
{
    const bad_case *c = &cases[_i];
    /* A stale message must not pass for the case's own. */
    gmmp_extractor *probe;
    ck_assert_int_eq(gmmp_extractor_create(&probe, 0, 1, 1, 1), GMMP_EINVAL);
    char stale[512];
    snprintf(stale, sizeof stale, "%s", gmmp_last_error());
    ck_assert_msg(stale[0] != '\0', "the probe left no message");
    int rc = c->call();
    ck_assert_msg(rc == c->expect, "%s: returned %d (%s), expected %d (%s): %s", c->name, rc,
                  gmmp_strerror(rc), c->expect, gmmp_strerror(c->expect), gmmp_last_error());
    ck_assert_msg(strcmp(gmmp_last_error(), stale) != 0 && gmmp_last_error()[0],
                  "%s: no message of its own", c->name);
    check_handles_work(c->name);
}
END_TEST

START_TEST(matrix_size)
{
    printf("bad-input matrix: %zu cases\n", N_CASES);
    ck_assert_uint_ge(N_CASES, 230);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bad_inputs");
    TCase *tc = tu_tcase("matrix");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, matrix_size);
    tcase_add_loop_test(tc, bad_input, 0, (int)N_CASES);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
