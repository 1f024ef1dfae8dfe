/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file patches.h
 * @brief Patch extractor and reconstructor.
 *
 * An image is a row-major array of `double` with a height h, a width w,
 * C channels interleaved (pixel (r, c) holds its C values at
 * r*pitch + c*C + 0 .. C-1: RGB as R, G, B) and a row pitch (elements from
 * one row's start to the next, >= w*C). C = 1 is a grey image. The library
 * assumes no pixel scale; the shipped models and the tools use 0..255.
 *
 * **Patch geometry.** A patch of ph x pw pixels is placed at the row
 * positions 0, step, 2*step, ... while it fits, and, if the last of those
 * does not reach the bottom border, once more at h - ph; the same for
 * columns with w and pw. So every pixel is covered when the step does not
 * exceed the patch size (a larger step samples the image sparsely, which
 * suits training but not reconstruction). With step 1 there are
 * (h - ph + 1) * (w - pw + 1) patches.
 *
 * **Patch order.** Patches are numbered in raster order of their top-left
 * corner: all patches of the first patch row left to right, then the next
 * row. Patch i is row i of an n x d matrix (d = ph * pw * C), its pixels in
 * row-major order and each pixel's C values together: value
 * (r * pw + c) * C + ch of a patch is channel ch of the pixel at row r,
 * column c of the patch. gmmp_extractor_position() gives patch i's corner.
 *
 * **Mean removal.** gmmp_extractor_extract() can remove each patch's mean,
 * one per channel (the mean of the ph*pw values of that channel), and
 * gmmp_reconstructor_add() adds them back. A model says whether it was
 * trained that way (gmmp_model_patch()).
 *
 * **Threading.** An extractor is never modified after creation: any number
 * of threads may use one at once. A reconstructor is modified by
 * gmmp_reconstructor_add() and gmmp_reconstructor_reset(); use one per
 * thread (or serialise the calls).
 */
#ifndef GMMPRIOR_PATCHES_H
#define GMMPRIOR_PATCHES_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A Gaussian mixture model (model.h); declared here for
 * gmmp_extractor_create_for_model(). */
typedef struct gmmp_model gmmp_model;

/** Patch geometry: patch size and step. Opaque. */
typedef struct gmmp_extractor gmmp_extractor;

/** Accumulates overlapping patch estimates into an image. Opaque. */
typedef struct gmmp_reconstructor gmmp_reconstructor;

/**
 * Creates an extractor for patches of patch_h x patch_w pixels of
 * `channels` values each, placed every `step` pixels (step 1 gives all
 * overlapping patches).
 * @param[out] out  receives the new handle, owned by the caller; free it
 *                  with gmmp_extractor_destroy().
 * @param patch_h   patch height in pixels, >= 1.
 * @param patch_w   patch width in pixels, >= 1.
 * @param channels  values per pixel, >= 1 (1 for grey images).
 * @param step      distance between neighbouring patch positions, >= 1.
 * @return GMMP_OK; GMMP_EINVAL if out is NULL or a size, the channels or
 *         the step is 0; GMMP_EOVERFLOW if patch_h * patch_w * channels
 *         overflows; GMMP_ENOMEM.
 */
GMMP_API int gmmp_extractor_create(gmmp_extractor **out, size_t patch_h, size_t patch_w,
                                   size_t channels, size_t step);

/**
 * Creates an extractor whose regular positions start at an offset: rows
 * 0, row_offset, row_offset + step, ..., and once more flush with the
 * bottom border (likewise for columns). With step <= the patch size every
 * pixel is still covered. A new random offset at each pass over an image
 * gives the jittered grids of fast EPLL (Parameswaran et al., 2018): a
 * fraction of the patches, with no fixed grid artefacts.
 * gmmp_extractor_create() is this function with offsets 0.
 * @param[out] out    receives the new handle, owned by the caller.
 * @param patch_h     patch height, >= 1.
 * @param patch_w     patch width, >= 1.
 * @param channels    values per pixel, >= 1.
 * @param step        distance between regular positions, >= 1.
 * @param row_offset  first regular row, < step.
 * @param col_offset  first regular column, < step.
 * @return GMMP_OK; GMMP_EINVAL for a NULL out, zero sizes, channels or
 *         step, or an offset >= step; GMMP_EOVERFLOW; GMMP_ENOMEM.
 */
GMMP_API int gmmp_extractor_create_grid(gmmp_extractor **out, size_t patch_h, size_t patch_w,
                                        size_t channels, size_t step, size_t row_offset,
                                        size_t col_offset);

/**
 * Creates an extractor for the patches a model describes
 * (gmmp_model_patch()): its height, width and channels.
 * @param[out] out  receives the new handle, owned by the caller.
 * @param model     a model with a patch description.
 * @param step      distance between patch positions, >= 1.
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments or step 0; GMMP_EDIM if
 *         the model has no patch description; GMMP_ENOMEM.
 */
GMMP_API int gmmp_extractor_create_for_model(gmmp_extractor **out, const gmmp_model *model,
                                             size_t step);

/** Destroys an extractor. Accepts NULL. */
GMMP_API void gmmp_extractor_destroy(gmmp_extractor *ex);

/** Returns the number of values of a patch, d = patch_h * patch_w * channels
 * (0 if ex is NULL). */
GMMP_API size_t gmmp_extractor_dim(const gmmp_extractor *ex);

/**
 * Counts the patches of an h x w image.
 * @param ex              the extractor.
 * @param h               image height.
 * @param w               image width.
 * @param[out] n_patches  receives the count.
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments or a zero size; GMMP_EDIM if
 *         the patch does not fit the image; GMMP_EOVERFLOW if the count overflows.
 */
GMMP_API int gmmp_extractor_count(const gmmp_extractor *ex, size_t h, size_t w,
                                  size_t *n_patches);

/**
 * Gives the top-left corner of patch `index` of an h x w image.
 * @param ex        the extractor.
 * @param h         image height.
 * @param w         image width.
 * @param index     patch number, in the order described above.
 * @param[out] row  receives the row of the patch's top-left pixel.
 * @param[out] col  receives its column.
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments or zero sizes; GMMP_EDIM if
 *         the patch does not fit or index >= the patch count.
 */
GMMP_API int gmmp_extractor_position(const gmmp_extractor *ex, size_t h, size_t w,
                                     size_t index, size_t *row, size_t *col);

/**
 * Copies patches first .. first+count-1 of an image into `patches`
 * (count x d, row-major). Extracting in ranges lets a caller process a
 * large image in batches of bounded size.
 *
 * @param ex       the extractor.
 * @param image    h x w image of C channels, row pitch `pitch`; only read.
 * @param h        image height.
 * @param w        image width.
 * @param pitch    elements from one row's start to the next, >= w*C.
 * @param first    number of the first patch to extract.
 * @param count    how many patches to extract (0 is allowed).
 * @param patches  output, count * d doubles, owned by the caller.
 * @param means    NULL to copy the pixels as they are; otherwise receives
 *                 each patch's C channel means (count * C doubles, patch
 *                 by patch), and each is subtracted from its channel's
 *                 values (the patch's DC component removed).
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers, zero sizes, or pitch < w*C;
 *         GMMP_EDIM if the patch does not fit or the range exceeds the count;
 *         GMMP_EOVERFLOW if the image size overflows. Pixels are copied as
 *         they are: NaN in gives NaN out.
 */
GMMP_API int gmmp_extractor_extract(const gmmp_extractor *ex, const double *image,
                                    size_t h, size_t w, size_t pitch, size_t first,
                                    size_t count, double *patches, double *means);

/**
 * Copies `count` patches drawn at random, without replacement, from the
 * image's patches (all of them when count >= their number), in
 * increasing patch order: the random subset a trainer needs when an
 * image has more patches than it wants. The same seed gives the same
 * patches on every platform.
 * @param ex           the extractor.
 * @param image        the image, as for gmmp_extractor_extract().
 * @param h            image height.
 * @param w            image width.
 * @param pitch        elements from one row's start to the next, >= w*C.
 * @param count        how many patches are wanted.
 * @param seed         seed of the library's generator.
 * @param patches      output, min(count, n) * d doubles.
 * @param means        NULL, or per-channel means as for gmmp_extractor_extract().
 * @param[out] n_out   receives min(count, n), the number written.
 * @return as gmmp_extractor_extract(); GMMP_ENOMEM.
 */
GMMP_API int gmmp_extractor_sample(const gmmp_extractor *ex, const double *image, size_t h,
                                   size_t w, size_t pitch, size_t count, uint64_t seed,
                                   double *patches, double *means, size_t *n_out);

/**
 * Creates a reconstructor for h x w images and the geometry of `ex` (which
 * is copied: the extractor may be destroyed afterwards).
 * @param[out] out  receives the new handle, owned by the caller; free it
 *                  with gmmp_reconstructor_destroy().
 * @param ex        patch geometry.
 * @param h         image height.
 * @param w         image width.
 * @return GMMP_OK; GMMP_EINVAL for NULL arguments or zero sizes; GMMP_EDIM if
 *         the patch does not fit the image, or if the step exceeds the patch
 *         height or width (pixels between patches would get no estimate);
 *         GMMP_EOVERFLOW; GMMP_ENOMEM.
 */
GMMP_API int gmmp_reconstructor_create(gmmp_reconstructor **out,
                                       const gmmp_extractor *ex, size_t h, size_t w);

/** Destroys a reconstructor. Accepts NULL. */
GMMP_API void gmmp_reconstructor_destroy(gmmp_reconstructor *rc);

/** Returns the number of patches the reconstructor's image has (0 if rc is NULL). */
GMMP_API size_t gmmp_reconstructor_count(const gmmp_reconstructor *rc);

/**
 * Adds the estimates of patches first .. first+count-1 (numbered as the
 * extractor numbers them) to the image being assembled.
 *
 * @param rc       the reconstructor.
 * @param first    number of the first patch given.
 * @param count    how many patches are given.
 * @param patches  count x d patch estimates; only read.
 * @param means    NULL, or count * C means to add back to the patches'
 *                 channels (the values gmmp_extractor_extract() removed).
 * @param weights  NULL for weight 1, or count positive finite weights.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers or a weight that is not
 *         positive and finite; GMMP_EDIM if the range exceeds the count.
 *         Nothing is added if an error is returned.
 */
GMMP_API int gmmp_reconstructor_add(gmmp_reconstructor *rc, size_t first, size_t count,
                                    const double *patches, const double *means,
                                    const double *weights);

/**
 * Writes the image: at each pixel, the weighted mean of the patch estimates
 * added so far that cover it. Does not reset the accumulators.
 * @param rc     the reconstructor.
 * @param image  output h x w image of C channels with row pitch `pitch`,
 *               owned by the caller; elements between w*C and pitch are
 *               not touched.
 * @param pitch  elements from one row's start to the next, >= w*C.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers or pitch < w*C; GMMP_EDIM if
 *         some pixel received no patch (its position is in the message).
 */
GMMP_API int gmmp_reconstructor_finish(const gmmp_reconstructor *rc, double *image,
                                       size_t pitch);

/** Clears the accumulated sums, so the reconstructor can assemble the next
 * image of the same size without allocating. Accepts NULL. */
GMMP_API void gmmp_reconstructor_reset(gmmp_reconstructor *rc);

#ifdef __cplusplus
}
#endif

#endif /* GMMPRIOR_PATCHES_H */
