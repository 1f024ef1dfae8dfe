/*
 * --sigma auto without waiting for it: the noise estimate of an image runs
 * in a thread of its own while the caller loads and prepares its model.
 * Both are single-threaded, so on two cores this hides most of the
 * estimator's time (0.03 to 0.04 s of a 0.3 s fast restoration of a
 * 481 x 321 photograph; docs/performance.md).
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_NOISE_AHEAD_H
#define GMMP_NOISE_AHEAD_H

#include <stddef.h>

typedef struct noise_ahead noise_ahead;

/* Starts gmmp_estimate_noise() on the h x w x c image y (row pitch in
 * values), which must stay unchanged until noise_ahead_finish(). Returns
 * NULL when no thread could be started: the caller then estimates in
 * line. */
noise_ahead *noise_ahead_start(const double *y, size_t h, size_t w, size_t c, size_t pitch);

/* Waits for the estimate, frees the job, and returns gmmp_estimate_noise's
 * code, with its estimate in *sigma or its message in err. */
int noise_ahead_finish(noise_ahead *job, double *sigma, char *err, size_t len);

#endif /* GMMP_NOISE_AHEAD_H */
