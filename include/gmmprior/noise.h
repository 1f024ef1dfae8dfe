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
 * same in every channel) from the image alone, by the method of Chen, Zhu
 * and Heng ("An efficient statistical method for image noise level
 * estimation", ICCV 2015): the covariance of the image's 8x8 patches
 * (8x8xC values) has, besides the few large eigenvalues of the image's
 * structure, a tail of eigenvalues that belong to the noise alone, all
 * near sigma^2. The tail is found as the largest set of smallest
 * eigenvalues whose mean is also their median, and sigma^2 is that mean.
 * The patches are all overlapping ones, or an even subset of about a
 * million for large images. Clean images with flat regions give a small
 * positive sigma, not 0.
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
