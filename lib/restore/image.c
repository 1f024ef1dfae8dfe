/*
 * Whole images through the four parts: patches extracted a batch at a
 * time, a plan applied to each batch, estimates put back together. The
 * only part that knows both patches and posteriors, so that neither of
 * those parts depends on the other.
 * SPDX-License-Identifier: MIT
 */
#include <math.h>

#include "gmmprior/patches.h"
#include "gmmprior/restore.h"

#include "geometry.h"
#include "internal.h"
#include "model.h"
#include "options_internal.h"
#include "plan.h"

int gmmp_extractor_create_for_model(gmmp_extractor **out, const gmmp_model *model, size_t step)
{
    if (!out || !model)
        return gmmp__fail(GMMP_EINVAL, "output handle pointer or model is NULL");
    size_t ph, pw, channels;
    int rc = gmmp_model_patch(model, &ph, &pw, &channels, NULL);
    if (rc)
        return rc;
    return gmmp_extractor_create(out, ph, pw, channels, step);
}

/* Rejects NaN or infinity anywhere in the image, naming the pixel, before
 * any work is done. */
static int check_finite_image(const double *image, size_t h, size_t w, size_t C, size_t pitch)
{
    for (size_t r = 0; r < h; r++) {
        size_t bad = gmmp__first_nonfinite(image + r * pitch, w * C);
        if (bad < w * C)
            return gmmp__fail(GMMP_ENONFINITE, "pixel (%zu, %zu), channel %zu is %g", r,
                              bad / C, bad % C, image[r * pitch + bad]);
    }
    return GMMP_OK;
}

/* The buffers of one batch. */
typedef struct batch {
    double *patches;   /* B x d */
    double *means;     /* B x C, or NULL without mean removal */
    double *estimates; /* B x d */
} batch;

static void batch_free(batch *b)
{
    gmmp__free(b->patches);
    gmmp__free(b->means);
    gmmp__free(b->estimates);
    *b = (batch){0};
}

static int batch_alloc(batch *b, size_t B, size_t d, size_t C, bool with_means)
{
    *b = (batch){0};
    b->patches = gmmp__alloc_array(B, d * sizeof(double));
    b->estimates = gmmp__alloc_array(B, d * sizeof(double));
    if (with_means)
        b->means = gmmp__alloc_array(B, C * sizeof(double));
    if (!b->patches || !b->estimates || (with_means && !b->means)) {
        batch_free(b);
        return gmmp__fail_nomem();
    }
    return GMMP_OK;
}

int gmmp_restore_image(const gmmp_plan *plan, const double *observed, size_t h, size_t w,
                       size_t pitch, double *out, size_t out_pitch, const gmmp_options *options)
{
    if (!plan || !observed || !out)
        return gmmp__fail(GMMP_EINVAL, "plan, image or output is NULL");
    size_t ph, pw, C;
    int remove_mean;
    int rc = gmmp_model_patch(plan->model, &ph, &pw, &C, &remove_mean);
    if (rc)
        return rc;
    if (plan->p != plan->d)
        return gmmp__fail(GMMP_EDIM,
                          "the plan observes p = %zu values of d = %zu: whole images need "
                          "observed patches of the model's geometry (p = d)",
                          plan->p, plan->d);
    if (remove_mean && !plan->identity_obs)
        return gmmp__fail(GMMP_EINVAL,
                          "the model removes patch means, which only a denoising plan (W the "
                          "identity, no offset) can restore");
    gmmp__option_values opt;
    gmmp__options_read(options, &opt);
    const size_t step = (size_t)gmmp__opt_int(&opt, GMMP_OPT_STEP);
    const size_t B = (size_t)gmmp__opt_int(&opt, GMMP_OPT_BATCH);
    const bool map = gmmp__opt_int(&opt, GMMP_OPT_ESTIMATOR) == GMMP_ESTIMATOR_MAP;
    const gmmp__exec_threads threads = {(unsigned)gmmp__opt_int(&opt, GMMP_OPT_THREADS),
                                        gmmp__opt_int(&opt, GMMP_OPT_BLAS_SERIAL) != 0};
    if (step > ph || step > pw)
        return gmmp__fail(GMMP_EDIM,
                          "step %zu exceeds the model's %zux%zu patch: some pixels would get "
                          "no estimate",
                          step, ph, pw);
    if ((rc = gmmp__check_image(observed, h, w, C, pitch)) ||
        (rc = gmmp__check_image(out, h, w, C, out_pitch)) ||
        (rc = check_finite_image(observed, h, w, C, pitch)))
        return rc;

    gmmp_extractor *ex = NULL;
    gmmp_reconstructor *rec = NULL;
    batch bt = {0};
    if ((rc = gmmp_extractor_create(&ex, ph, pw, C, step)) ||
        (rc = gmmp_reconstructor_create(&rec, ex, h, w)) ||
        (rc = batch_alloc(&bt, gmmp__block_len(gmmp_reconstructor_count(rec), 0, B), plan->d,
                          C, remove_mean)))
        goto done;
    const size_t n = gmmp_reconstructor_count(rec);
    const double start = gmmp__now();
    for (size_t first = 0; first < n && rc == GMMP_OK; first += B) {
        size_t count = gmmp__block_len(n, first, B);
        if ((rc = gmmp_extractor_extract(ex, observed, h, w, pitch, first, count, bt.patches,
                                         bt.means)) ||
            (rc = gmmp__plan_run(plan, bt.patches, count, map ? bt.estimates : NULL,
                                 map ? NULL : bt.estimates, threads)))
            break;
        rc = gmmp_reconstructor_add(rec, first, count, bt.estimates, bt.means, NULL);
        gmmp_progress p = {.mean_loglik = NAN,
                           .change = NAN,
                           .seconds = gmmp__now() - start,
                           .phase = GMMP_PHASE_IMAGE,
                           .done = (double)(first + count),
                           .total = (double)n};
        if (rc == GMMP_OK && gmmp__report(&opt, &p) != 0)
            rc = gmmp__fail(GMMP_ECANCELED, "the progress callback stopped the restoration");
    }
    /* Written only now, when nothing can fail any more: `out` may be the
     * input, and stays untouched on failure. */
    if (rc == GMMP_OK)
        rc = gmmp_reconstructor_finish(rec, out, out_pitch);
done:
    batch_free(&bt);
    gmmp_reconstructor_destroy(rec);
    gmmp_extractor_destroy(ex);
    return rc;
}

int gmmp_denoise_image(const gmmp_model *model, double sigma, const double *noisy, size_t h,
                       size_t w, size_t pitch, double *out, size_t out_pitch,
                       const gmmp_options *options)
{
    if (!model || !noisy || !out)
        return gmmp__fail(GMMP_EINVAL, "model, image or output is NULL");
    int rc = gmmp_model_patch(model, NULL, NULL, NULL, NULL);
    if (rc)
        return rc;
    gmmp_plan *plan;
    if ((rc = gmmp_plan_create_denoise(&plan, model, sigma, options)))
        return rc;
    rc = gmmp_restore_image(plan, noisy, h, w, pitch, out, out_pitch, options);
    gmmp_plan_destroy(plan);
    return rc;
}
