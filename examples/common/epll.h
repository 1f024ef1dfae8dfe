/*
 * EPLL (Zoran and Weiss, ICCV 2011) assembled from the library's parts:
 * half-quadratic splitting between the image and its overlapping patches,
 * with the patch step done by a posterior plan at a noise level that
 * shrinks along a schedule. Denoising, and inpainting when a mask of
 * observed pixels is given; optionally on a jittered subset of patches
 * (fast EPLL, Parameswaran et al. 2018).
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_EXAMPLES_EPLL_H
#define GMMP_EXAMPLES_EPLL_H

#include <stddef.h>
#include <stdint.h>

#include "gmmprior.h"

typedef struct epll_options {
    double sigma;                 /* noise standard deviation of the observation */
    const double *schedule;       /* beta = schedule[i] / sigma^2 */
    size_t steps;
    int mmse;                     /* 1: MMSE patch estimates; 0: MAP component */
    size_t grid;                  /* <= 1: every patch; > 1: jittered grid of this step */
    unsigned threads;
    uint64_t seed;                /* for the jitter */
    const unsigned char *observed; /* NULL, or h*w flags: inpainting */
} epll_options;

/* The schedule of the paper: 1, 4, 8, 16, 32. */
extern const double epll_default_schedule[5];

/* Restores `count` grey images of h x w (y, row-major, one after the
 * other) into x. The model must describe its patches (one channel; its
 * mean removal is used): see restore_model_patch(). Passes over every
 * patch are the library's whole-image call (gmmp_restore_image()); the
 * jittered grids and, with a mask (opt->observed, count*h*w flags), the
 * first estimate from the observed pixels alone by the masked posterior
 * are streamed here. Returns 0, or -1 with a message in err. Adds to
 * *flops (if not NULL) the flops of the patch posteriors, for benchmarks. */
int epll_restore(const gmmp_model *model, const epll_options *opt, const double *y,
                 size_t count, size_t h, size_t w, double *x, double *flops, char *err,
                 size_t errlen);

#endif
