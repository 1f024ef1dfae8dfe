/*
 * Cholesky factorisation and symmetric eigendecomposition through LAPACKE.
 * SPDX-License-Identifier: MIT
 */
#include <lapacke.h>
#include <math.h>
#include <string.h>

#include "internal.h"
#include "linalg.h"

/* LAPACKE's row-major interface transposes into a temporary copy. A
 * symmetric row-major matrix is its own column-major transpose, so we call
 * the column-major routine on the opposite triangle instead: no copy, and
 * the factor lands in the row-major lower triangle. */

int gmmp__cholesky(double *a, size_t d)
{
    lapack_int n = (lapack_int)d;
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', n, a, n);
    if (info != 0)
        return info > 0 ? (int)info : -1;
    for (size_t i = 0; i < d; i++)
        memset(a + i * d + i + 1, 0, (d - i - 1) * sizeof *a);
    return 0;
}

int gmmp__tri_inverse(double *l, size_t d)
{
    /* Row-major lower is column-major upper. */
    lapack_int n = (lapack_int)d;
    return LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'U', 'N', n, l, n) != 0;
}

double gmmp__chol_logdet(const double *l, size_t d)
{
    double s = 0.0;
    for (size_t i = 0; i < d; i++)
        s += log(l[i * d + i]);
    return 2.0 * s;
}

int gmmp__check_symmetric(const double *a, size_t d, const char *what)
{
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++) {
            double scale = fmax(fabs(a[i * d + i]), fabs(a[j * d + j]));
            if (fabs(a[i * d + j] - a[j * d + i]) > 1e-10 * scale)
                return gmmp__fail(GMMP_ENOTSPD,
                                  "%s is not symmetric: entry (%zu,%zu) = %.17g but "
                                  "(%zu,%zu) = %.17g",
                                  what, i, j, a[i * d + j], j, i, a[j * d + i]);
        }
    return GMMP_OK;
}

void gmmp__symmetrize_lower(double *a, size_t d)
{
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++)
            a[j * d + i] = a[i * d + j];
}

int gmmp__eigh(double *a, size_t d, double *lambda, double *vectors_t)
{
    /* Column-major on the symmetric input; the column-major eigenvector
     * matrix U, read row-major, is U^T: row j is eigenvector j.
     * Divide and conquer (dsyevd) is the fast choice for all eigenpairs. */
    lapack_int n = (lapack_int)d;
    if (LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, a, n, lambda) != 0)
        return -1;
    memcpy(vectors_t, a, d * d * sizeof *a);
    return 0;
}
