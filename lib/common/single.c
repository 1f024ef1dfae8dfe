/*
 * Single-precision kernels and their safety tests (see single.h).
 * SPDX-License-Identifier: MIT
 */
#include <cblas.h>
#include <math.h>

#include "single.h"

void gmmp__residual_single(const double *restrict X, size_t n, size_t d,
                           const double *restrict m, float *restrict z)
{
    /* Eight values per step with restrict pointers: straight-line code
     * the compiler vectorises at -O2 (a loop of unknown length it does
     * not), and this pass runs once per component over every sample. */
    for (size_t i = 0; i < n; i++) {
        const double *restrict x = X + i * d;
        float *restrict zi = z + i * d;
        size_t j = 0;
        if (m)
            for (; j + 8 <= d; j += 8)
                for (size_t l = 0; l < 8; l++)
                    zi[j + l] = (float)(x[j + l] - m[j + l]);
        for (; j < d; j++)
            zi[j] = (float)(x[j] - (m ? m[j] : 0.0));
    }
}

/* sum_j z_j^2 iv_j in double, in eight independent lanes: a
 * floating-point sum in one accumulator is a dependency chain the
 * compiler may not reorder, eight lanes vectorise. */
static double weighted_norm(const float *restrict z, const double *restrict iv, size_t d)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t j = 0;
    for (; j + 8 <= d; j += 8)
        for (size_t l = 0; l < 8; l++) {
            double v = (double)z[j + l];
            acc[l] += v * v * iv[j + l];
        }
    for (; j < d; j++) {
        double v = (double)z[j];
        acc[0] += v * v * iv[j];
    }
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

void gmmp__whiten_tri_single(const double *X, size_t n, size_t d, const double *m,
                             const float *l_inv_f, float *z)
{
    gmmp__residual_single(X, n, d, m, z);
    cblas_strmm(CblasRowMajor, CblasRight, CblasLower, CblasTrans, CblasNonUnit, (int)n, (int)d,
                1.0f, l_inv_f, (int)d, z, (int)d);
}

void gmmp__log_density_single(const float *z, size_t n, size_t d, const double *iv, double base,
                              double *lp, size_t stride)
{
    /* dsdot: BLAS's float dot product accumulated in double. */
    for (size_t i = 0; i < n; i++)
        lp[i * stride] = base - 0.5 * (iv ? weighted_norm(z + i * d, iv, d)
                                          : cblas_dsdot((int)d, z + i * d, 1, z + i * d, 1));
}

void gmmp__to_single(const double *x, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)x[i];
}

double gmmp__max_abs(const double *x, size_t n)
{
    /* Comparisons in four independent maxima, not fmax: fmax stayed a
     * call per value (1.7% of a fast EPLL run's instructions, callgrind),
     * and one chain of maxima waits on each. NaN is skipped either way. */
    double top[4] = {0.0, 0.0, 0.0, 0.0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (size_t l = 0; l < 4; l++) {
            double a = fabs(x[i + l]);
            top[l] = a > top[l] ? a : top[l];
        }
    for (; i < n; i++) {
        double a = fabs(x[i]);
        top[0] = a > top[0] ? a : top[0];
    }
    double t01 = top[0] > top[1] ? top[0] : top[1], t23 = top[2] > top[3] ? top[2] : top[3];
    return t01 > t23 ? t01 : t23;
}

double gmmp__whitening_kappa(const double *diag, size_t diag_stride, const double *l_inv,
                             size_t d)
{
    /* (Sigma^{-1})_ii = sum_j (L^{-1})_ji^2, column i of the lower
     * triangular inverse: rows j >= i. */
    double trace = 0.0;
    for (size_t i = 0; i < d; i++) {
        double col = 0.0;
        for (size_t j = i; j < d; j++)
            col += l_inv[j * d + i] * l_inv[j * d + i];
        trace += diag[i * diag_stride] * col;
    }
    return sqrt((double)d * trace);
}

bool gmmp__single_ok(double kappa, const double *cov_diag, size_t d, size_t diag_stride)
{
    if (!(kappa <= GMMP__SINGLE_MAX_KAPPA))
        return false;
    const double lo = GMMP__SINGLE_MIN_SCALE * GMMP__SINGLE_MIN_SCALE;
    const double hi = GMMP__SINGLE_MAX_ABS * GMMP__SINGLE_MAX_ABS;
    for (size_t i = 0; i < d; i++) {
        double v = cov_diag[i * diag_stride];
        if (!(v >= lo && v <= hi))
            return false;
    }
    return true;
}
