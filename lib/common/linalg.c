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

/* A LAPACKE result that is not about the matrix: its own workspace could
 * not be allocated, or an argument was invalid (a bug of ours). */
static int lapack_failure(const char *routine, lapack_int info)
{
    if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR)
        return gmmp__fail_nomem();
    return gmmp__fail(GMMP_EINTERNAL, "%s rejected argument %d (a bug: please report)", routine,
                      (int)-info);
}

int gmmp__cholesky(double *a, size_t d)
{
    lapack_int n = (lapack_int)d;
    lapack_int info = LAPACKE_dpotrf_work(LAPACK_COL_MAJOR, 'U', n, a, n);
    if (info < 0)
        return lapack_failure("dpotrf", info);
    if (info > 0)
        return (int)info;
    for (size_t i = 0; i < d; i++)
        memset(a + i * d + i + 1, 0, (d - i - 1) * sizeof *a);
    return 0;
}

int gmmp__tri_inverse(double *l, size_t d)
{
    /* Row-major lower is column-major upper. */
    lapack_int n = (lapack_int)d;
    lapack_int info = LAPACKE_dtrtri_work(LAPACK_COL_MAJOR, 'U', 'N', n, l, n);
    if (info < 0)
        return lapack_failure("dtrtri", info);
    return info > 0 ? (int)info : 0;
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

/* dsyevd/dsyevr fail to converge on matrices whose entries span more
 * than the floating-point range allows: say so, it is not a bug. */
static int eigen_failure(const char *routine, lapack_int info, const char *what)
{
    if (info < 0)
        return lapack_failure(routine, info);
    return gmmp__fail(GMMP_EINVAL,
                      "eigendecomposition of %s did not converge (%s info %d): its entries "
                      "are too large or span too wide a range; rescale the data",
                      what, routine, (int)info);
}

int gmmp__eigh(double *a, size_t d, double *lambda, double *vectors_t, const char *what)
{
    /* Column-major on the symmetric input; the column-major eigenvector
     * matrix U, read row-major, is U^T: row j is eigenvector j.
     * Divide and conquer (dsyevd) is the fast choice for all eigenpairs. */
    lapack_int n = (lapack_int)d;
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'V', 'U', n, a, n, lambda);
    if (info != 0)
        return eigen_failure("dsyevd", info, what);
    memcpy(vectors_t, a, d * d * sizeof *a);
    return GMMP_OK;
}

int gmmp__eigvalsh(double *a, size_t d, double *lambda, const char *what)
{
    lapack_int n = (lapack_int)d;
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'U', n, a, n, lambda);
    if (info != 0)
        return eigen_failure("dsyevd", info, what);
    return GMMP_OK;
}

int gmmp__eigh_top(const double *a, size_t d, double *lambda, double *u, double *scratch,
                   const char *what)
{
    double *values = scratch + d * d;
    memcpy(scratch, a, d * d * sizeof *a);
    lapack_int n = (lapack_int)d, found = 0, support[2];
    /* Column-major 'U' reads the row-major lower triangle. */
    lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'U', n, scratch, n, 0.0, 0.0,
                                     n, n, 0.0, &found, values, u, n, support);
    if (info != 0)
        return eigen_failure("dsyevr", info, what);
    if (found != 1)
        return gmmp__fail(GMMP_EINTERNAL, "dsyevr returned %d eigenpairs of %s, not 1",
                          (int)found, what);
    *lambda = values[0];
    return GMMP_OK;
}
