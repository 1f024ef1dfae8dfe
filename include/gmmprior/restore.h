/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file restore.h
 * @brief Whole images through the four parts in one call.
 *
 * These calls do what a caller would otherwise write around the parts:
 * extract the overlapping patches of the image a batch at a time (removing
 * their means if the model says so), apply a posterior plan to each
 * batch, and put the estimates back together. Memory is bounded: besides
 * the output, two accumulators of the image's size and one batch of
 * #GMMP_OPT_BATCH patches (with its K-wide responsibilities). The image's
 * channels and the patch size come from the model (gmmp_model_patch()),
 * so the model must have a patch description.
 *
 * They read #GMMP_OPT_STEP, #GMMP_OPT_ESTIMATOR, #GMMP_OPT_BATCH,
 * #GMMP_OPT_THREADS, #GMMP_OPT_BLAS_SERIAL and the progress callback
 * (#GMMP_PHASE_IMAGE after each batch; a non-zero return cancels with
 * #GMMP_ECANCELED). gmmp_denoise_image() makes its plan with the same
 * options (#GMMP_OPT_PLAN_METHOD, #GMMP_OPT_SKIP); gmmp_restore_image()
 * uses the plan as it was made.
 */
#ifndef GMMPRIOR_RESTORE_H
#define GMMPRIOR_RESTORE_H

#include "common.h"
#include "model.h"
#include "options.h"
#include "posterior.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Denoises an image with additive white Gaussian noise of standard
 * deviation sigma: one pass of MMSE (or MAP-component) patch estimates,
 * averaged where patches overlap.
 * @param model      the prior, with a patch description.
 * @param sigma      the noise's standard deviation, in pixel units.
 * @param noisy      h x w image of the model's C channels, row pitch `pitch`.
 * @param h          image height, >= the patch height.
 * @param w          image width, >= the patch width.
 * @param pitch      elements between row starts of `noisy`, >= w*C.
 * @param out        output image, h x w x C; may be `noisy` itself.
 * @param out_pitch  elements between row starts of `out`, >= w*C.
 * @param options    NULL for the defaults.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers, a sigma that is not
 *         positive and finite with a normal square (NaN included), or a
 *         pitch too small; GMMP_EDIM if the model has no patch description or
 *         its patch does not fit the image, or the step exceeds the patch;
 *         GMMP_ENONFINITE if the image holds NaN or infinity;
 *         GMMP_EOVERFLOW; GMMP_ENOMEM. On failure `out` is untouched.
 */
GMMP_API int gmmp_denoise_image(const gmmp_model *model, double sigma, const double *noisy,
                                size_t h, size_t w, size_t pitch, double *out,
                                size_t out_pitch, const gmmp_options *options);

/**
 * Restores an image observed through a plan's observation model, applied
 * patch by patch: each observed patch y (the plan's p = d values, same
 * geometry as the model's patches) gives an estimate of the clean patch,
 * and the estimates are averaged where patches overlap. With a model that
 * removes patch means, the plan must be a denoising one (W the identity,
 * no offset), since only then does the observed mean estimate the clean
 * one.
 * @param plan       a plan made from a model with a patch description.
 * @param observed   h x w image of C channels, row pitch `pitch`.
 * @param h          image height.
 * @param w          image width.
 * @param pitch      elements between row starts of `observed`, >= w*C.
 * @param out        output image, h x w x C; may be `observed` itself.
 * @param out_pitch  elements between row starts of `out`, >= w*C.
 * @param options    NULL for the defaults.
 * @return as gmmp_denoise_image(); GMMP_EDIM also if the plan's p differs
 *         from d; GMMP_EINVAL for a mean-removing model with a plan that is
 *         not a denoising one.
 */
GMMP_API int gmmp_restore_image(const gmmp_plan *plan, const double *observed, size_t h,
                                size_t w, size_t pitch, double *out, size_t out_pitch,
                                const gmmp_options *options);

/**
 * Restores an image by EPLL, expected patch log-likelihood (Zoran and
 * Weiss, ICCV 2011): the image x that balances fidelity to the
 * observation against the prior's likelihood of all its overlapping
 * patches, found by half-quadratic splitting. Each of #GMMP_OPT_EPLL_STEPS
 * steps estimates every patch of the current x under the prior with
 * noise of variance 1/beta (a denoising plan), averages the estimates
 * into x^, and sets, pixel by pixel,
 *     x = (a y + beta sigma^2 x^) / (a + beta sigma^2),
 * with a = 1 where y is observed and 0 where it is missing; beta grows
 * along the schedule 1, 4, 8, 16, 32 (/ sigma^2).
 *
 * With #GMMP_OPT_STEP > 1 each step uses a grid of patches every `step`
 * pixels at a random offset (#GMMP_OPT_SEED), a different one at every
 * step: fast EPLL's jittered subsets (Parameswaran et al., 2018), about
 * step^2 times less work for a small loss. #GMMP_OPT_EPLL_LAST_GRID
 * gives the last step a grid of its own.
 *
 * With a mask (inpainting), missing pixels' values are never read; the
 * first estimate comes from every patch's posterior given its observed
 * pixels alone (gmmp_plan_execute_masked()), then the steps follow.
 *
 * @param model      the prior, with a patch description.
 * @param sigma      standard deviation of the noise on observed pixels
 *                   (pixel units); for inpainting without noise, a small
 *                   value such as 1 for 0..255 images.
 * @param y          h x w image of the model's C channels, row pitch `pitch`.
 * @param h          image height.
 * @param w          image width.
 * @param pitch      elements between row starts of y, >= w*C.
 * @param observed   NULL (every pixel observed), or h x w flags, row by
 *                   row without padding: non-zero where the pixel (all
 *                   its channels) is observed.
 * @param out        output image; may be y itself.
 * @param out_pitch  elements between row starts of out, >= w*C.
 * @param options    NULL for the defaults; reads #GMMP_OPT_EPLL_STEPS,
 *                   #GMMP_OPT_STEP, #GMMP_OPT_EPLL_LAST_GRID, #GMMP_OPT_SEED,
 *                   #GMMP_OPT_ESTIMATOR, #GMMP_OPT_BATCH, #GMMP_OPT_THREADS,
 *                   #GMMP_OPT_BLAS_SERIAL, #GMMP_OPT_SKIP, the plans'
 *                   #GMMP_OPT_PLAN_METHOD, #GMMP_OPT_RANK,
 *                   #GMMP_OPT_CANDIDATES and #GMMP_OPT_PRECISION, the
 *                   adaptation's #GMMP_OPT_EPLL_ADAPT,
 *                   #GMMP_OPT_EPLL_ADAPT_AFTER and #GMMP_OPT_ADAPT_RELEVANCE,
 *                   and the progress callback.
 * @return as gmmp_denoise_image(); GMMP_ENONFINITE only for observed
 *         pixels. On failure `out` is untouched.
 */
GMMP_API int gmmp_epll_image(const gmmp_model *model, double sigma, const double *y, size_t h,
                             size_t w, size_t pitch, const unsigned char *observed, double *out,
                             size_t out_pitch, const gmmp_options *options);

/**
 * Restores a multi-channel image (colour) by EPLL with a one-channel
 * (grey) prior: the channels are taken to an orthonormal basis
 * (#GMMP_OPT_CHANNEL_BASIS: by default the principal axes of the image's
 * own colour detail, a luminance first), each channel of the basis is
 * restored with gmmp_epll_image() as a grey image, and the result is
 * taken back. An orthonormal basis keeps white noise white with the same
 * sigma, so each channel sees the noise the prior expects. Decorrelating
 * first is colour BM3D's approach; with the shipped priors it measured
 * about 1 dB better than a joint RGB prior on McMaster
 * (docs/performance.md).
 *
 * The arguments are gmmp_epll_image()'s, with the image's number of
 * channels given (the model's must be 1), and the same options; every
 * channel runs all of #GMMP_OPT_EPLL_STEPS, and progress counts the
 * patches of all channels. A mask marks pixels missing in all channels;
 * the basis is then computed from the observed pixels. Memory: the image
 * twice more (in the basis, one plane per channel, and its PCA).
 *
 * @param model      a one-channel prior with a patch description.
 * @param sigma      standard deviation of the noise in every channel
 *                   (pixel units), as for gmmp_epll_image().
 * @param y          h x w image of `channels` interleaved channels, row
 *                   pitch `pitch`.
 * @param h          image height.
 * @param w          image width.
 * @param channels   channels of y and out, in [1, 64]; with one channel
 *                   this is gmmp_epll_image().
 * @param pitch      elements between row starts of y, >= w*channels.
 * @param observed   NULL, or h x w flags (row by row, no padding):
 *                   non-zero where the pixel (all its channels) is observed.
 * @param out        output image, h x w x channels; may be y itself.
 * @param out_pitch  elements between row starts of out, >= w*channels.
 * @param options    NULL for the defaults; reads #GMMP_OPT_CHANNEL_BASIS
 *                   and everything gmmp_epll_image() reads.
 * @return as gmmp_epll_image(); GMMP_EDIM also if the model is not a
 *         one-channel prior with a patch description; GMMP_EINVAL for 0 or
 *         more than 64 channels, or #GMMP_BASIS_OPPONENT with other than
 *         three. On failure `out` is untouched.
 * @since 1.1
 */
GMMP_API int gmmp_epll_channels(const gmmp_model *model, double sigma, const double *y,
                                size_t h, size_t w, size_t channels, size_t pitch,
                                const unsigned char *observed, double *out, size_t out_pitch,
                                const gmmp_options *options);

/**
 * Refines a restored image by groups of similar patches: NL-Bayes'
 * second step (Lebrun, Buades and Morel, SIAM J. Imaging Sciences, 2013)
 * with `pilot`, a restoration of `noisy` (gmmp_epll_image()'s or
 * gmmp_epll_channels()'s), as its basic estimate. For every reference
 * patch on a grid of step #GMMP_OPT_GROUP_STEP, the #GMMP_OPT_GROUP_SIZE
 * patches of the pilot nearest it (squared distance over all channels)
 * within #GMMP_OPT_GROUP_SEARCH pixels form a group; the group's clean
 * patches are taken as Gaussian, with the covariance C of its pilot
 * patches and the mean m of its noisy ones, and each noisy patch y of the
 * group is replaced by its posterior mean m + C (C + sigma^2 I)^-1 (y - m).
 * The estimates are averaged where they overlap, and the output is
 * w * that average + (1 - w) * pilot, w = #GMMP_OPT_GROUP_WEIGHT; a pixel
 * in no group (possible only with a grid step beyond the patch side)
 * keeps the pilot's value.
 *
 * A pilot from the patch prior gives groups that noise would not have
 * chosen, and a covariance the prior has already cleaned; the groups
 * then model each structure of this image more closely than the prior's
 * components, which are shared by all images. On McMaster's colour
 * photographs this measured above colour BM3D where EPLL alone fell
 * short (docs/performance.md).
 *
 * For denoising: every pixel of `noisy` must be observed, with white
 * Gaussian noise of standard deviation sigma in every channel. Patches
 * are #GMMP_OPT_GROUP_PATCH pixels square, all channels together: d =
 * side^2 channels values, at most 4096. Ties in distance go to the
 * candidate nearer the reference, then to the earlier row and column, so
 * a reference is always in its own group. A group whose covariance plus
 * sigma^2 I is not numerically positive definite (sigma vanishing beside
 * the pixel values) keeps its noisy patches. Work: about
 * (h w / step^2) ((2 search + 1)^2 d + N d^2 + d^3 / 3), on
 * #GMMP_OPT_THREADS threads; the result does not depend on their number.
 * Memory: h w (channels + 1) values for the sums, and per thread
 * (2 N + d + 1) d values, (2 search + 1)^2 candidates and a band of
 * 2 search + side image rows of channels + 1 values per pixel.
 *
 * @param sigma      the noise's standard deviation, in pixel units.
 * @param noisy      h x w image of `channels` interleaved channels, row
 *                   pitch `pitch`.
 * @param pilot      its restoration, same shape and pitch.
 * @param h          image height, >= the patch side.
 * @param w          image width, >= the patch side.
 * @param channels   in [1, 64].
 * @param pitch      elements between row starts of noisy and pilot, >= w*channels.
 * @param out        output image; may be noisy or pilot itself when
 *                   out_pitch is pitch.
 * @param out_pitch  elements between row starts of out, >= w*channels.
 * @param options    NULL for the defaults; reads the #GMMP_OPT_GROUP_PATCH,
 *                   #GMMP_OPT_GROUP_SIZE, #GMMP_OPT_GROUP_SEARCH,
 *                   #GMMP_OPT_GROUP_STEP, #GMMP_OPT_GROUP_WEIGHT,
 *                   #GMMP_OPT_THREADS and #GMMP_OPT_BLAS_SERIAL options and the
 *                   progress callback (#GMMP_PHASE_IMAGE; done and total
 *                   count reference patches).
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers, a sigma that is not
 *         positive and finite, 0 or more than 64 channels, or a pitch too
 *         small; GMMP_EDIM if the image is smaller than the patches or
 *         these have more than 4096 values; GMMP_ENONFINITE if noisy or
 *         pilot holds NaN or infinity, or the result overflows;
 *         GMMP_ECANCELED; GMMP_EOVERFLOW; GMMP_ENOMEM; GMMP_EINTERNAL if
 *         LAPACK fails. On failure `out` is untouched.
 * @since 1.1
 */
GMMP_API int gmmp_group_refine_image(double sigma, const double *noisy, const double *pilot,
                                     size_t h, size_t w, size_t channels, size_t pitch,
                                     double *out, size_t out_pitch,
                                     const gmmp_options *options);

#ifdef __cplusplus
}
#endif

#endif /* GMMPRIOR_RESTORE_H */
