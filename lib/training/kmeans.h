/*
 * k-means for the trainer's default initialisation: k-means++ seeding
 * (greedy, as scikit-learn), then Lloyd iterations.
 * SPDX-License-Identifier: MIT
 */
#ifndef GMMP_KMEANS_H
#define GMMP_KMEANS_H

#include <stddef.h>

#include <stdbool.h>

#include "options_internal.h"
#include "rng.h"

/* Clusters n samples (n x d) into K clusters. Fills centers (K x d) and
 * labels (n). Returns GMMP_OK or GMMP_ENOMEM (message set). Adds the flops of
 * its matrix products to *flops. */
/* Where k-means reports its iterations (GMMP_PHASE_KMEANS); `stopped`
 * is set when the callback asks to stop (the centers are kept as they are). */
typedef struct gmmp__kmeans_report {
    const gmmp__option_values *options;
    int run;
    double start;
    bool stopped;
} gmmp__kmeans_report;

int gmmp__kmeans(const double *X, size_t n, size_t d, size_t K, gmmp__rng *rng, int max_iter,
                 double *centers, size_t *labels, double *flops, gmmp__kmeans_report *report);

#endif /* GMMP_KMEANS_H */
