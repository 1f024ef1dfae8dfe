/*
 * EPLL for a stack of images: the library's gmmp_epll_image() on each,
 * with the options of gmmp-epll and the benchmarks.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_EXAMPLES_EPLL_H
#define GMMP_EXAMPLES_EPLL_H

#include <stddef.h>
#include <stdint.h>

#include "gmmprior.h"

typedef struct epll_options {
    double sigma;                  /* noise standard deviation of the observation */
    size_t steps;                  /* half-quadratic steps (GMMP_OPT_EPLL_STEPS) */
    int mmse;                      /* 1: MMSE patch estimates; 0: MAP component */
    size_t grid;                   /* <= 1: every patch; > 1: jittered grid of this step */
    unsigned threads;
    uint64_t seed;                 /* for the jitter */
    const unsigned char *observed; /* NULL, or count*h*w flags: inpainting */
} epll_options;

/* Restores `count` grey images of h x w (y, row-major, one after the
 * other) into x, each by gmmp_epll_image(). The model must describe its
 * patches (see restore_model_patch()). Returns 0, or -1 with a message in
 * err. */
int epll_restore(const gmmp_model *model, const epll_options *opt, const double *y,
                 size_t count, size_t h, size_t w, double *x, char *err, size_t errlen);

#endif
