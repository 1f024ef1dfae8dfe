/*
 * The Gaussian log-density kernel (see density.h).
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>

#include "density.h"

void gmmp__whiten_tri(const double *X, size_t n, size_t d, const double *m, const double *l_inv,
                      double *z)
{
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            z[i * d + j] = X[i * d + j] - m[j];
    /* A triangular multiply runs at nearly GEMM speed, a triangular solve
     * at half: hence the inverse factor, computed once per model or plan. */
    cblas_dtrmm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)d,
                1.0, l_inv, (int)d, z, (int)d);
}

void gmmp__log_density(const double *z, size_t n, size_t d, const double *iv, double base,
                       double *lp, size_t stride)
{
    for (size_t i = 0; i < n; i++) {
        const double *zi = z + i * d;
        double q = 0.0;
        if (iv)
            for (size_t j = 0; j < d; j++)
                q += zi[j] * zi[j] * iv[j];
        else
            for (size_t j = 0; j < d; j++)
                q += zi[j] * zi[j];
        lp[i * stride] = base - 0.5 * q;
    }
}
