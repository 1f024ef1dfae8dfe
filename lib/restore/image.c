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
#include "pass.h"
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

int gmmp_restore_image(const gmmp_plan *plan, const double *observed, size_t h, size_t w,
                       size_t pitch, double *out, size_t out_pitch, const gmmp_options *options)
{
    if (!plan || !observed || !out)
        return gmmp__fail(GMMP_EINVAL, "plan, image or output is NULL");
    gmmp__option_values opt;
    gmmp__options_read(options, &opt);
    gmmp__pass pass;
    int rc = gmmp__pass_init(&pass, plan->model, &opt, observed, h, w, pitch, NULL, out,
                             out_pitch);
    if (rc)
        return rc;
    if (plan->p != plan->d)
        return gmmp__fail(GMMP_EDIM,
                          "the plan observes p = %zu values of d = %zu: whole images need "
                          "observed patches of the model's geometry (p = d)",
                          plan->p, plan->d);
    if (pass.remove_mean && !plan->identity_obs)
        return gmmp__fail(GMMP_EINVAL,
                          "the model removes patch means, which only a denoising plan (W the "
                          "identity, no offset) can restore");
    pass.plan = plan;
    if ((rc = gmmp__count_patches(&pass, &pass.total)))
        return rc;
    return gmmp__run_pass(&pass, out, out_pitch, NULL);
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
