/*
 * Test helper: compares two model files. Prints the normwise relative
 * differences of weights, means and covariances; exits 0 if all are at
 * most TOL. usage: compare_models A.gmmp B.gmmp TOL
 * SPDX-License-Identifier: MIT
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gmmprior.h"

static double rel(const double *a, const double *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++)
        num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
    return sqrt(num) / fmax(sqrt(den), 1e-300);
}

int main(int argc, char **argv)
{
    if (argc != 4)
        return 2;
    gmmp_model *a = NULL, *b = NULL;
    if (gmmp_model_load(&a, argv[1]) || gmmp_model_load(&b, argv[2])) {
        fprintf(stderr, "%s\n", gmmp_last_error());
        gmmp_model_destroy(a);
        return 2;
    }
    size_t K = gmmp_model_components(a), d = gmmp_model_dim(a);
    if (gmmp_model_components(b) != K || gmmp_model_dim(b) != d) {
        printf("different sizes\n");
        gmmp_model_destroy(a);
        gmmp_model_destroy(b);
        return 1;
    }
    size_t n = K + K * d + K * d * d;
    double *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
    gmmp_model_get(a, pa, pa + K, pa + K + K * d);
    gmmp_model_get(b, pb, pb + K, pb + K + K * d);
    double ew = rel(pa, pb, K), em = rel(pa + K, pb + K, K * d);
    double ec = rel(pa + K + K * d, pb + K + K * d, K * d * d), tol = atof(argv[3]);
    printf("relative differences: weights %.3g, means %.3g, covariances %.3g (tolerance %g)\n",
           ew, em, ec, tol);
    free(pa);
    free(pb);
    gmmp_model_destroy(a);
    gmmp_model_destroy(b);
    return ew <= tol && em <= tol && ec <= tol ? 0 : 1;
}
