/*
 * The BLAS the tests run on is the one the build was configured for: a
 * netlib build must not silently run on OpenBLAS (on Debian the generic
 * libblas.so.3 is an alternative, usually OpenBLAS). OpenBLAS announces
 * itself through openblas_get_config; the reference BLAS does not.
 * SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

#include "gmmprior.h"

#ifndef EXPECT_OPENBLAS
#error "EXPECT_OPENBLAS must be 0 or 1"
#endif

int main(void)
{
    /* Make sure the library (and its BLAS) is loaded and used. */
    double w = 1.0, mu = 0.0, var = 2.0, x = 1.0, lp;
    gmmp_model *m;
    if (gmmp_model_create(&m, 1, 1, &w, &mu, &var) || gmmp_model_score(m, &x, 1, &lp))
        return 1;
    gmmp_model_destroy(m);
    int openblas = dlsym(RTLD_DEFAULT, "openblas_get_config") != NULL;
    printf("BLAS loaded: %s (configured: %s)\n", openblas ? "OpenBLAS" : "not OpenBLAS",
           EXPECT_OPENBLAS ? "openblas" : "netlib");
    return openblas == EXPECT_OPENBLAS ? 0 : 1;
}
