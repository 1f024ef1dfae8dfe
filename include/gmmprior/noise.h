/*
 * libgmmprior: Gaussian-mixture patch priors for image restoration.
 * SPDX-License-Identifier: MIT
 */
/**
 * @file noise.h
 * @brief Estimating the level of white Gaussian noise from an image alone.
 */
#ifndef GMMPRIOR_NOISE_H
#define GMMPRIOR_NOISE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Estimates the standard deviation of additive white Gaussian noise (the
 * same in every channel) from the image alone. Patches of weak texture are
 * selected and sigma^2 is the smallest eigenvalue of their covariance
 * (Liu, Tanaka and Okutomi, "Single-image noise level estimation for
 * blind denoising", IEEE TIP 2013): a patch is kept when the energy of its
 * central differences is below the 0.999 quantile of that of pure noise
 * of the current sigma (a gamma law), and selection and estimate alternate
 * until sigma settles. The smallest eigenvalue of a sample covariance
 * falls short of sigma^2 by a known factor, (1 - sqrt(d/n))^2 for n
 * patches of d values (Marchenko-Pastur), which is divided out. The start
 * is the method of Chen, Zhu and Heng ("An efficient statistical method for
 * image noise level estimation", ICCV 2015) on all patches: the mean of
 * the eigenvalue tail whose mean is its median.
 * Patches are 8x8 (8x8xC values): all overlapping ones, or an even grid of
 * them, at most about a million grey ones, or 116,000 RGB ones (their
 * covariance costs 9 times more: a 500x500 RGB image takes every second
 * patch across and down). The estimate is deterministic, exact on pure noise
 * within its spread (0.4% at 512x512), and texture can only raise it; on
 * photographs at sigma = 5 it also includes the image's own noise. A
 * constant image gives 0, as does a clean image with flat regions.
 * Images smaller than about 40x40 (64x64 in RGB) have too few patches for
 * the selection and get Chen et al.'s estimate, which is low on them.
 * @param image     h x w image of C interleaved channels (patches.h),
 *                  pixel scale as the caller's (sigma comes out in it).
 * @param h         height, >= 8.
 * @param w         width, >= 8.
 * @param channels  C, >= 1.
 * @param pitch     elements between row starts, >= w*C.
 * @param[out] sigma  receives the estimate.
 * @return GMMP_OK; GMMP_EINVAL for NULL pointers, zero channels or a bad
 *         pitch; GMMP_EDIM if the image is smaller than 8x8;
 *         GMMP_ENONFINITE for NaN or infinity; GMMP_EOVERFLOW; GMMP_ENOMEM.
 */
GMMP_API int gmmp_estimate_noise(const double *image, size_t h, size_t w, size_t channels,
                                 size_t pitch, double *sigma);

#ifdef __cplusplus
}
#endif

#endif /* GMMPRIOR_NOISE_H */
