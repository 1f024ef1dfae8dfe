/*
 * Writes a small synthetic patch prior for the tool tests: K components,
 * P x P patches of C channels, zero means, smooth covariances (correlation
 * exp(-distance / scale), channels correlated 0.8), with the patch
 * description set (mean removal on). Not a good prior; a valid one.
 * usage: make_test_model OUT.gmmp PATCH CHANNELS [K]   (K <= 128)
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gmmprior.h"

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: make_test_model OUT.gmmp PATCH CHANNELS [K]\n");
        return 2;
    }
    size_t p = (size_t)atoi(argv[2]), ch = (size_t)atoi(argv[3]);
    size_t k = argc > 4 ? (size_t)atoi(argv[4]) : 3;
    if (p < 1 || p > 16 || ch < 1 || ch > 4 || k < 1 || k > 128) {
        fprintf(stderr, "make_test_model: sizes out of range\n");
        return 2;
    }
    size_t d = p * p * ch;
    double *w = malloc(k * sizeof *w), *mu = calloc(k * d, sizeof *mu),
           *cov = malloc(k * d * d * sizeof *cov);
    if (!w || !mu || !cov)
        return 1;
    for (size_t c = 0; c < k; c++) {
        w[c] = 1.0 / (double)k;
        /* Past 8 components, the first eight's shapes again (a prior of
         * 100 or more exercises the tool's choices for large K). */
        double e = (double)(c % 8), var = 20.0 * pow(6.0, e), scale = 1.0 + e;
        for (size_t i = 0; i < d; i++) {
            size_t ri = i / ch / p, ci = i / ch % p, chi = i % ch;
            for (size_t j = 0; j < d; j++) {
                size_t rj = j / ch / p, cj = j / ch % p, chj = j % ch;
                double dist = hypot((double)ri - (double)rj, (double)ci - (double)cj);
                cov[(c * d + i) * d + j] = var * exp(-dist / scale) * (chi == chj ? 1.0 : 0.8) +
                                           (i == j ? 1.0 : 0.0);
            }
        }
    }
    gmmp_model *m = NULL;
    int rc = gmmp_model_create(&m, k, d, w, mu, cov);
    if (!rc)
        rc = gmmp_model_set_patch(m, p, p, ch, 1);
    if (!rc)
        rc = gmmp_model_set_description(m, "synthetic test prior (tests/make_test_model.c)");
    if (!rc)
        rc = gmmp_model_save(m, argv[1]);
    if (rc)
        fprintf(stderr, "make_test_model: %s\n", gmmp_last_error());
    gmmp_model_destroy(m);
    free(w), free(mu), free(cov);
    return rc ? 1 : 0;
}
